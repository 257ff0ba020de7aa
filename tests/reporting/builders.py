"""A demo-like patient built directly from core objects (no importer, loader or model needed):
a chest image with two saliency maps, a CT slice the gate refused, a notes finding with token
scores, a structured-data finding with feature scores, treatments and clinician notes."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from medassist.hashing import sha256_file
from medassist.imaging.image import MedicalImage, WindowLevel
from medassist.inference.card import ModelCard
from medassist.domain.clinical import FilmContext, FilmIdentity, FilmRelation
from medassist.domain.prediction import Explanation, GateVerdict, Prediction, SubtypeSplit
from medassist.records.schema import PatientRecords
from medassist.domain.decisions import FindingReview, TreatmentDecision
from medassist.session import Session

PATIENT = "P-000417"
GIVEN, FAMILY = "Maria", "Lopez-Garrido"
BIRTH = "1958-04-17"
CXR_SHA = "3f1a9c0d2b4e6f8a" + "0" * 48
CXR_WEIGHTS = "9d2c4a7e51b3f08c6a1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778"
NOTES_WEIGHTS = "ab" * 32
HEART_WEIGHTS = "cd" * 32
RUN_DATE = "2024-03-05T10:42:00+00:00"


def chest_pixels(size: int = 384) -> np.ndarray:
    """A radiograph-like frame: dark lungs in a bright body outline (values like CT numbers)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    body = np.exp(-(((x - 0.5) / 0.42) ** 6 + ((y - 0.55) / 0.5) ** 6)) * 900
    lungs = sum(np.exp(-(((x - cx) / 0.15) ** 2 + ((y - 0.5) / 0.28) ** 2)) for cx in (0.32, 0.68)) * 700
    return (body - lungs - 200).astype(np.float32)


def blob(shape: tuple[int, int], cy: float, cx: float) -> np.ndarray:
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    return np.exp(-(((y / shape[0] - cy) ** 2 + (x / shape[1] - cx) ** 2) / 0.01)).astype(np.float32)


def write_png(path: Path, frame: np.ndarray) -> None:
    lo, hi = float(frame.min()), float(frame.max())
    Image.fromarray(((frame - lo) / (hi - lo) * 255).astype(np.uint8)).save(path)


def make_records() -> PatientRecords:
    patients = pd.DataFrame([
        {"patient_id": PATIENT, "given_name": GIVEN, "family_name": FAMILY, "birth_date": BIRTH, "sex": "female",
         "city": "Springfield", "state": "Massachusetts", "country": "US", "weight_kg": 71.0},
        {"patient_id": "P-000999", "given_name": "John", "family_name": "Other", "birth_date": "1990-01-01", "sex": "male"},
    ])
    conditions = pd.DataFrame([
        {"patient_id": PATIENT, "code": "38341003", "system": "SNOMED-CT", "description": "Hypertension", "onset": "2015-06-01"},
        {"patient_id": PATIENT, "code": "44054006", "system": "SNOMED-CT", "description": "Type 2 diabetes mellitus", "onset": "2019-09-12"},
    ])
    medications = pd.DataFrame([
        {"patient_id": PATIENT, "code": "314076", "system": "RxNorm", "description": "Lisinopril 10 MG Oral Tablet", "start": "2015-06-02"},
    ])
    allergies = pd.DataFrame([
        {"patient_id": PATIENT, "code": "91936005", "system": "SNOMED-CT", "description": "Allergy to penicillin", "start": "2010-02-01"},
    ])
    notes = pd.DataFrame([
        {"note_id": "N-1", "patient_id": PATIENT, "date": "2024-03-04", "title": "Admission note",
         "text": "Maria Lopez-Garrido, 65F, productive cough and fever for 4 days."},
    ])
    return PatientRecords.from_frames(patients=patients, conditions=conditions, medications=medications,
                                      allergies=allergies, notes=notes)


def make_images(folder: Path) -> list[MedicalImage]:
    chest = chest_pixels()
    ct = (np.random.default_rng(3).normal(40, 300, (256, 256))).astype(np.float32)
    write_png(folder / "maria_lopez_chest_pa.png", chest)
    write_png(folder / "ct_slice_042.png", ct)
    return [
        MedicalImage(path=folder / "maria_lopez_chest_pa.png", frames=chest[None], modality="DX",
                     window=WindowLevel(200, 1400), sha256=sha256_file(folder / "maria_lopez_chest_pa.png"),
                     metadata={"BodyPartExamined": "CHEST"}),
        MedicalImage(path=folder / "ct_slice_042.png", frames=ct[None], modality="CT", window=WindowLevel(40, 400),
                     sha256=sha256_file(folder / "ct_slice_042.png")),
    ]


def make_predictions(images: list[MedicalImage]) -> list[Prediction]:
    chest, ct = images
    gradcam = Explanation("Grad-CAM", "pneumonia", "image_map", blob(chest.shape, 0.55, 0.3) * 0.8,
                          faithfulness={"deletion_auc": 0.25, "insertion_auc": 0.61, "random_deletion_auc": 0.25,
                                        "random_insertion_auc": 0.42, "score": 0.19}, elapsed_ms=41.0)
    integrated = Explanation("Integrated Gradients", "pneumonia", "image_map",
                             blob(chest.shape, 0.6, 0.32) - 0.3 * blob(chest.shape, 0.3, 0.7),
                             faithfulness={"deletion_auc": 0.118, "insertion_auc": 0.804, "random_deletion_auc": 0.30,
                                           "random_insertion_auc": 0.45, "score": 0.536}, elapsed_ms=910.0)
    cxr = Prediction(
        model="cxr-pneumonia", version="1.2.0", weights_sha256=CXR_WEIGHTS, task="image-classification", device="CPU, 2 threads",
        source=str(chest.path), input_sha256=chest.sha256,
        outputs={"pneumonia": 0.873, "bacterial pneumonia": 0.62, "viral pneumonia": 0.253}, thresholds={"pneumonia": 0.41},
        positive=["pneumonia"], gate=GateVerdict(0.021, 0.065, True, "frontal chest radiograph"),
        elapsed_ms=38.0, explanations=[gradcam, integrated], patient_id=PATIENT, created=RUN_DATE,
        film=FilmContext(_dt.date(2024, 3, 5), FilmRelation.CURRENT, FilmIdentity.NOT_CHECKED, episode_start=_dt.date(2024, 3, 4)),
        subtypes=[SubtypeSplit("pneumonia", {"bacterial pneumonia": 0.71, "viral pneumonia": 0.29}, False, 65.9, 1, 5)],
    )
    refused = Prediction(
        model="cxr-pneumonia", version="1.2.0", weights_sha256=CXR_WEIGHTS, task="image-classification", device="CPU, 2 threads",
        source=str(ct.path), input_sha256=ct.sha256, outputs={"pneumonia": 0.9317}, thresholds={"pneumonia": 0.41},
        positive=["pneumonia"], gate=GateVerdict(0.412, 0.065, False, "not a chest radiograph"),
        patient_id=PATIENT, created=RUN_DATE,
    )
    tokens = ["Maria", "productive", "cough", "fever", "for", "4", "days", "crackles", "right", "base"]
    notes = Prediction(
        model="notes-problems", version="0.3.1", weights_sha256=NOTES_WEIGHTS, task="text-classification", device="CPU, 2 threads",
        source="Admission note N-1", input_sha256="e" * 64, outputs={"pneumonia": 0.781, "heart failure": 0.094},
        thresholds={"pneumonia": 0.5, "heart failure": 0.5}, positive=["pneumonia"], patient_id=PATIENT, created=RUN_DATE,
        extra={"label_names": {"pneumonia": "Pneumonia", "heart failure": "Heart failure"},
               "suggestions": [{"problem": "pneumonia", "name": "Pneumonia", "probability": 0.781, "assertion": "affirmed",
                                "evidence": [{"sentence": "Maria Lopez-Garrido, 65F, productive cough and fever for 4 days.",
                                              "assertion": "affirmed"}]}]},
        explanations=[Explanation("Integrated Gradients", "pneumonia", "token_scores",
                                  np.array([0.05, 0.31, 0.42, 0.38, 0.0, 0.01, 0.02, 0.27, 0.08, 0.11], dtype=np.float32),
                                  labels=tokens)],
    )
    heart = Prediction(
        model="heart-disease", version="1.0.0", weights_sha256=HEART_WEIGHTS, task="tabular-classification", device="CPU, 2 threads",
        source="patient record", input_sha256="f" * 64, outputs={"heart disease": 0.334}, thresholds={"heart disease": 0.5},
        positive=[], missing_inputs=["max heart rate"], patient_id=PATIENT, created=RUN_DATE,
        explanations=[Explanation("Integrated Gradients", "heart disease", "feature_scores",
                                  np.array([0.12, 0.09, -0.04], dtype=np.float32), labels=["age", "systolic blood pressure", "cholesterol"],
                                  inputs={"age": 65.0, "systolic blood pressure": 148.0, "cholesterol": 251.0},
                                  faithfulness={"completeness_gap": 0.002})],
    )
    return [cxr, refused, notes, heart]


def make_session(folder: Path, session: Session | None = None) -> Session:
    """The demo-like patient in ``session`` (a new one by default), with its files under ``folder``."""
    session = session if session is not None else Session()
    (folder / "records.csv").write_text("patient_id\nP-000417\n", encoding="utf-8")
    session.set_records(make_records(), [str(folder / "records.csv")])
    session.set_current_patient(PATIENT)
    images = make_images(folder)
    session.add_images(images, PATIENT)
    for prediction in make_predictions(images):
        session.add_prediction(prediction)
    session.set_decision(TreatmentDecision("amoxicillin", "Amoxicillin 1 g three times daily, 5 days", "rejected",
                                           "Penicillin allergy: Maria Lopez-Garrido reported a rash in 2019."), PATIENT)
    session.set_decision(TreatmentDecision("doxycycline", "Doxycycline 100 mg twice daily, 5 days", "accepted",
                                           "Discussed with Mrs Lopez-Garrido on 2024-03-05; MRN 88412093, call 555-201-7788."), PATIENT)
    session.set_decision(TreatmentDecision("azithromycin", "Azithromycin 500 mg day 1, then 250 mg daily", "pending"), PATIENT)
    session.set_clinician_note("Maria seen in clinic 2024-03-05 (patient P-000417, born 17 April 1958). "
                               "Crackles right base; SpO2 94%. Review in 48 h.", PATIENT)
    session.review_finding(FindingReview("Pneumonia", "confirmed", "Crackles right base match the film.", "cxr-pneumonia"), PATIENT)
    session.review_finding(FindingReview("Heart failure", "rejected", "Normal BNP, no oedema.", "notes-problems"), PATIENT)
    session.clinician_name = "Dr Anna Weber"
    return session


def make_cards() -> dict[str, ModelCard]:
    card = ModelCard.model_validate({
        "schema_version": "2", "name": "cxr-pneumonia", "version": "1.2.0", "display_name": "Chest X-ray pneumonia",
        "task": "image-classification", "modality": ["CR", "DX", "OT"], "description": "Pneumonia on frontal chest radiographs.",
        "image": {"preprocessing": {"size": [224, 224], "mean": 0.5, "std": 0.25}, "classes": ["normal", "pneumonia"],
                  "outputs": {"pneumonia": ["pneumonia"]}, "temperature": 1.0},
        "weights": {"file": "model.pt", "format": "torchscript", "sha256": CXR_WEIGHTS},
        "inputs": [{"name": "image", "type": "image"}], "outputs": [{"name": "p", "type": "probabilities"}],
        "labels": ["pneumonia"], "intended_use": "Flag likely pneumonia on frontal chest radiographs for clinician review.",
        "limitations": ["Trained mostly on paediatric radiographs.", "Not validated on portable AP films."],
        "training_data": {}, "metrics": {},
    })
    return {card.name: card}


class FakeReaders:
    """Stand-in for the records importer: records come from :func:`make_records` when the file exists."""

    def __init__(self) -> None:
        self.records_calls: list[str] = []

    def import_records(self, path, mapping=None, remembered=None):
        from medassist.errors import InputError

        if not Path(path).exists():
            raise InputError("file not found", path)
        self.records_calls.append(str(path))
        return make_records()
