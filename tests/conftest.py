"""Test set-up: headless Qt, user folders in a temp dir, and the shared datasets when present."""

from __future__ import annotations

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
