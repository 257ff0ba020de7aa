"""Shared pieces for the chest X-ray tests: the bundled model, real radiographs as MedicalImages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medassist.imaging.image import MedicalImage
from medassist.imaging.loader import load_image
from medassist.inference.service import InferenceService
from medassist.paths import bundled_models_dir
from tests.services import cpu_service

MODEL = "cxr-pneumonia"


def radiograph(data: Path, file: str) -> MedicalImage:
    """A labels.csv ``file`` (relative to shared/) opened by the app's own loader."""
    return load_image(data.parent / file)


@pytest.fixture(scope="session")
def load_radiograph(shared_data):
    """``load_radiograph(file)``: a labels.csv path as a MedicalImage."""
    return lambda file: radiograph(shared_data, file)


@pytest.fixture(scope="session")
def model_folder() -> Path:
    return bundled_models_dir() / MODEL


@pytest.fixture(scope="session")
def card_json(model_folder) -> dict:
    return json.loads((model_folder / "metadata.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def service() -> InferenceService:
    return cpu_service(threads=2)


@pytest.fixture(scope="session")
def kermany_image(shared_data) -> MedicalImage:
    return radiograph(shared_data, "data/cxr/images/kermany/test/PNEUMONIA/person100_bacteria_475.jpg")
