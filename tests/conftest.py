"""Test set-up: headless Qt, user folders in a temp dir, and the shared datasets when present."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_HOME = tempfile.mkdtemp(prefix="medassist-test-home-")
os.environ["MEDASSIST_HOME"] = _HOME
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests that need it are skipped cleanly when it is absent."""
    from medassist.paths import shared_data_dir

    data = shared_data_dir()
    if data is None:
        pytest.skip("../shared/data is not available")
    return data


@pytest.fixture()
def user_home(tmp_path, monkeypatch) -> Path:
    """A fresh, empty user-data folder for one test."""
    monkeypatch.setenv("MEDASSIST_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture()
def window(qtbot, user_home):
    """The real main window, shown offscreen, with its own empty user folder; workers drained after."""
    from medassist.ui.app import create_window

    win = create_window()
    qtbot.addWidget(win)
    win.show()
    yield win
    win.context.runner.shutdown(5000)


# Chest X-ray model tests (tests/inference, tests/explain, tests/ui): the bundled model and real radiographs.
CXR_MODEL = "cxr-pneumonia"


def radiograph(data: Path, file: str):
    """A labels.csv ``file`` (relative to shared/) opened by the app's own loader."""
    from medassist.imaging.loader import load_image

    return load_image(data.parent / file)


@pytest.fixture(scope="session")
def load_radiograph(shared_data):
    """``load_radiograph(file)``: a labels.csv path as a MedicalImage."""
    return lambda file: radiograph(shared_data, file)


@pytest.fixture(scope="session")
def model_folder() -> Path:
    """The bundled chest X-ray model's folder."""
    from medassist.paths import bundled_models_dir

    return bundled_models_dir() / CXR_MODEL


@pytest.fixture(scope="session")
def card_json(model_folder) -> dict:
    return json.loads((model_folder / "metadata.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def service():
    """One CPU model service (two threads) for the whole run; a test module may define its own."""
    from tests.services import cpu_service

    return cpu_service(threads=2)


@pytest.fixture(scope="session")
def kermany_image(shared_data):
    return radiograph(shared_data, "data/cxr/images/kermany/test/PNEUMONIA/person100_bacteria_475.jpg")
