"""The typed model card (format 2): the bundled cards are typed throughout and their weights still
verify; what MedAssist acts on is read from typed sections, so a misspelled key is refused, never
ignored; a user's card of format 1 is read through the migration (or refused where format 1 let
MedAssist guess); a card of a newer format is refused with a message saying so."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from medassist.domain.features import FeatureSpec
from medassist.domain.figures import Figures
from medassist.domain.tasks import Task
from medassist.errors import ModelError
from medassist.hospital.scoring import image_model_for
from medassist.imaging.image import MedicalImage
from medassist.inference.card import SCHEMA_VERSION, image_applies, read_card
from medassist.inference.registry import ModelRegistry
from medassist.paths import bundled_models_dir

BUNDLED = bundled_models_dir()
CXR = json.loads((BUNDLED / "cxr-pneumonia" / "metadata.json").read_text(encoding="utf-8"))
HEART = json.loads((BUNDLED / "heart-disease" / "metadata.json").read_text(encoding="utf-8"))


def test_every_bundled_card_is_format_2_typed_and_its_weights_still_verify():
    entries = {entry.name: entry for entry in ModelRegistry([BUNDLED]).scan()}
    assert len(entries) == 6 and all(entry.available for entry in entries.values()), {
        name: entry.error for name, entry in entries.items()}
    for entry in entries.values():
        raw = json.loads((entry.folder / "metadata.json").read_text(encoding="utf-8"))
        assert raw["schema_version"] == SCHEMA_VERSION, entry.name
    cxr = entries["cxr-pneumonia"].card
    assert cxr is not None and cxr.task is Task.IMAGE and cxr.modality == ["CR", "DX", "OT"]
    assert cxr.image is not None and cxr.image.preprocessing.size == (128, 128) and cxr.image.gate is not None
    assert cxr.image.subtypes == {"pneumonia": ["bacterial pneumonia", "viral pneumonia"]}
    assert cxr.subtype_populations["pneumonia"].age_max_years == 5
    figures = cxr.validated_populations[0].metrics["kermany_official_test"]
    assert isinstance(figures, Figures) and figures.n_positive == 390 and figures.auroc_ci95 == (0.9714, 0.9885)
    heart = entries["heart-disease"].card
    assert heart is not None and heart.record is not None and isinstance(heart.record.features[0], FeatureSpec)
    assert heart.modality == [] and heart.validated_populations[0].metrics["test"] == Figures(n=61, auroc=0.9329)
    assert heart.metrics["test"]["n_positive"] == 28
    recommender = entries["med-recommender"].card
    assert recommender is not None and recommender.recommender is not None
    assert len(recommender.recommender.features.items) == 63
    notes = entries["notes-problems"].card
    assert notes is not None and notes.text is not None and notes.text.label_names["copd"] == "COPD/emphysema"


def _write(folder: Path, card: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("weights.pt", "gate.pt"):
        (folder / name).write_bytes(b"")
    (folder / "metadata.json").write_text(json.dumps(card), encoding="utf-8")
    return folder


def _v2_image_card() -> dict:
    card = copy.deepcopy(CXR)
    card.pop("history", None)
    return card


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: c["image"].update(temprature=1.2), r"image\.temprature: Extra inputs are not permitted"),
    (lambda c: c["image"]["preprocessing"].pop("std"), r"image\.preprocessing\.std: Field required"),
    (lambda c: c["image"]["preprocessing"].update(size=[0, 128]), "size must be two whole numbers"),
    (lambda c: c["image"]["outputs"].update(pneumonia=["bacterial", "fungal"]), "names classes the network does not have"),
    (lambda c: c["image"]["gate"].update(sha256="abc"), "sha256 must be 64 hexadecimal characters"),
    (lambda c: c.update(gate=c["image"]["gate"]), r"gate: Extra inputs are not permitted"),
    (lambda c: c.update(modality="CR/DX frontal chest radiograph"), r"modality: Input should be a valid list"),
    (lambda c: c.update(modality=["cr"]), "are not DICOM modality codes"),
    (lambda c: c.update(modality=[]), "an image model names the DICOM modalities it reads"),
    (lambda c: c.update(task="segmentation"), r"task: Input should be"),
    (lambda c: c.pop("image"), "needs its 'image' section"),
    (lambda c: c.update(record=HEART["record"]), "has no 'record' section"),
    (lambda c: c["metrics"]["kermany_official_test"].update(positives=390), "spelled 'n_positive'"),
    (lambda c: c["metrics"]["kermany_official_test"].update(auroc=98.1), "must be a proportion between 0 and 1"),
    (lambda c: c["metrics"]["kermany_official_test"].update(n=624.5), "must be a whole number of cases"),
    (lambda c: c["validated_populations"][0]["metrics"]["kermany_official_test"].update(auroc_95ci=[0.9, 1.0]),
     "auroc_95ci"),
    (lambda c: c["training_data"].update(frameworks={"torch": "2.5"}), r"training_data\.frameworks\.python: Field required"),
    (lambda c: c.update(schema_version="3"), "card format 3 is newer than this MedAssist reads \\(format 2\\): update"),
])
def test_a_card_that_misspells_or_mistypes_what_medassist_acts_on_is_refused(tmp_path, change, message):
    card = _v2_image_card()
    change(card)
    with pytest.raises(ModelError, match=message):
        read_card(_write(tmp_path / "user-model", card))


def _v1_image_card() -> dict:
    """The previous card format: modality as text, preprocessing, gate and heads under ``extra``."""
    card = _v2_image_card()
    image = card.pop("image")
    card.update(schema_version="1", modality="CR/DX frontal chest radiograph", extra={**card.get("extra", {}), **image})
    card.pop("subtype_populations")
    card["metrics"]["kermany_official_test"]["positives"] = card["metrics"]["kermany_official_test"].pop("n_positive")
    return card


def test_a_format_1_card_is_read_through_the_migration(tmp_path):
    folder = _write(tmp_path / "user-cxr", _v1_image_card())
    card = read_card(folder)
    assert card.schema_version == SCHEMA_VERSION and card.modality == ["CR", "DX", "OT"]  # ordinary pictures, as before
    assert card.image is not None and card.image.temperature == 1.094541 and card.image.gate is not None
    assert card.image.gate.file == "gate.pt" and card.metrics["kermany_official_test"]["n_positive"] == 390
    assert set(card.extra) == {"reliability_plot", "reference_outputs"}  # what MedAssist acts on left extra
    assert json.loads((folder / "metadata.json").read_text())["schema_version"] == "1"  # never rewritten


def test_a_format_1_image_card_without_preprocessing_is_refused_not_guessed(tmp_path):
    v1 = _v1_image_card()
    del v1["extra"]["preprocessing"]
    with pytest.raises(ModelError, match="no longer guesses an image model's input size and normalisation"):
        read_card(_write(tmp_path / "user-cxr", v1))


def test_a_format_1_record_card_moves_its_features_to_the_typed_section(tmp_path):
    v2 = json.loads((BUNDLED / "heart-disease" / "metadata.json").read_text(encoding="utf-8"))
    record = v2.pop("record")
    v2.update(schema_version="1", modality="vitals, labs and findings from the patient record", extra=record)
    (tmp_path / "user-heart").mkdir()
    (tmp_path / "user-heart" / "model.pt").write_bytes(b"")
    (tmp_path / "user-heart" / "metadata.json").write_text(json.dumps(v2), encoding="utf-8")
    card = read_card(tmp_path / "user-heart")
    assert card.modality == [] and card.record is not None and card.record.features[0].name == "age"
    assert card.record.positive_class == record["positive_class"] and card.extra == {}
    v2["extra"]["features"][0]["kind"] = "numerical"  # a typo format 1 never checked
    (tmp_path / "user-heart" / "metadata.json").write_text(json.dumps(v2), encoding="utf-8")
    with pytest.raises(ModelError, match=r"record\.features\.0\.kind"):
        read_card(tmp_path / "user-heart")


def test_the_modalities_a_card_names_decide_which_images_it_reads():
    card = read_card(BUNDLED / "cxr-pneumonia")
    pixels = np.zeros((1, 8, 8), dtype=np.float32)
    picture = MedicalImage(path=Path("film.png"), frames=pixels, modality="CT")  # a picture file claims nothing
    ct = MedicalImage(path=Path("ct.dcm"), frames=pixels, modality="CT", is_dicom=True)
    dx = MedicalImage(path=Path("dx.dcm"), frames=pixels, modality="DX", is_dicom=True)
    assert image_applies(card, picture) and image_applies(card, dx) and not image_applies(card, ct)
    registry = ModelRegistry([BUNDLED])
    assert image_model_for(registry, "CR") == "cxr-pneumonia" and image_model_for(registry, "CT") is None
    assert image_model_for(registry, "OT") is None  # the node keeps secondary captures, it scores acquisitions
