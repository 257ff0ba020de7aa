"""Report and session-file timings: a typical patient and a 20-image patient.

``python -m medassist.bench.reporting`` prints the numbers. The patients are synthetic (so the
benchmark runs anywhere) but sized like real work: 2048 x 2048 radiographs, saliency maps at
image resolution, a notes result, a record-based result and three treatment options.
"""

from __future__ import annotations

import json
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from medassist.imaging.image import MedicalImage, WindowLevel
from medassist.domain.prediction import Explanation, GateVerdict, Prediction
from medassist.jobs import run_job
from medassist.app.sessions import open_session
from medassist.persistence.session_file import capture, write_snapshot
from medassist.records.schema import PatientRecords
from medassist.reporting.content import collect_report
from medassist.reporting.deidentify import deidentify
from medassist.reporting.pdf import build_pdf
from medassist.domain.decisions import TreatmentDecision, decision_status
from medassist.domain.tasks import Task
from medassist.session import Session
from medassist.settings import Settings

PATIENT = "BENCH-1"
SIZE = 2048


def _radiograph(rng: np.random.Generator) -> np.ndarray:
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE
    lungs = sum(np.exp(-(((x - cx) / 0.15) ** 2 + ((y - 0.5) / 0.28) ** 2)) for cx in (0.32, 0.68))
    return (2000 - 1200 * lungs + rng.normal(0, 40, (SIZE, SIZE))).astype(np.float32)


def _saliency(rng: np.random.Generator) -> np.ndarray:
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE
    cy, cx = rng.uniform(0.3, 0.7, 2)
    return np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / 0.01).astype(np.float32)


def bench_session(n_images: int, seed: int = 0) -> Session:
    rng = np.random.default_rng(seed)
    session = Session()
    patients = pd.DataFrame([{"patient_id": PATIENT, "given_name": "Bench", "family_name": "Patient",
                              "birth_date": "1960-05-01", "sex": "female"}])
    session.set_records(PatientRecords.from_frames(patients=patients))
    common: dict[str, Any] = dict(weights_sha256="0" * 64, device="CPU, 2 threads", patient_id=PATIENT)
    for index in range(n_images):
        image = MedicalImage(path=Path(f"/bench/image_{index:02d}.dcm"), frames=_radiograph(rng)[None], modality="DX",
                             window=WindowLevel(1500, 2000), sha256=f"{index:064x}")
        session.add_images([image], PATIENT)
        session.add_prediction(Prediction(
            model="cxr-pneumonia", version="1.0.0", task=Task.IMAGE, source=str(image.path),
            input_sha256=image.sha256, outputs={"pneumonia": float(rng.uniform())}, thresholds={"pneumonia": 0.5},
            positive=[], gate=GateVerdict(0.02, 0.06, True, "frontal chest radiograph"),
            explanations=[Explanation("Grad-CAM", "pneumonia", "image_map", _saliency(rng),
                                      faithfulness={"deletion_auc": 0.1, "insertion_auc": 0.8})], **common))
    words = [f"word{i}" for i in range(300)]
    session.add_prediction(Prediction(
        model="notes", version="1.0.0", task=Task.TEXT, source="note 1", input_sha256="1" * 64,
        outputs={"pneumonia": 0.7}, thresholds={"pneumonia": 0.5}, positive=["pneumonia"],
        explanations=[Explanation("Integrated Gradients", "pneumonia", "token_scores",
                                  rng.normal(size=len(words)).astype(np.float32), labels=words)], **common))
    features = ["age", "systolic blood pressure", "cholesterol", "max heart rate", "oldpeak"]
    session.add_prediction(Prediction(
        model="heart", version="1.0.0", task=Task.RECORD, source="patient record", input_sha256="2" * 64,
        outputs={"heart disease": 0.3}, thresholds={"heart disease": 0.5}, positive=[],
        explanations=[Explanation("Integrated Gradients", "heart disease", "feature_scores",
                                  rng.normal(size=len(features)).astype(np.float32), labels=features,
                                  inputs={f: 1.0 for f in features})], **common))
    for name, status in (("Amoxicillin", "rejected"), ("Doxycycline", "accepted"), ("Azithromycin", "pending")):
        session.set_decision(TreatmentDecision(name.lower(), f"{name} 5 days", decision_status(status), "clinician comment"),
                             PATIENT)
    session.set_clinician_note("Clinical note. " * 80, PATIENT)
    return session


def _timed(action: Callable[[], Any], repeats: int) -> tuple[dict[str, float], Any]:
    """Median wall-clock and CPU seconds (CPU time is the fairer number on a shared machine)."""
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"wall_s": round(statistics.median(walls), 3), "cpu_s": round(statistics.median(cpus), 3)}, result


def bench_patient(n_images: int, repeats: int) -> dict[str, Any]:
    session = bench_session(n_images)
    content = collect_report(session, PATIENT, Settings(), cards={})
    report, pdf = _timed(lambda: run_job(build_pdf(content)), repeats)
    deidentified, _ = _timed(lambda: run_job(build_pdf(deidentify(content))), 1)
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "bench.medassist"
        first_save, _ = _timed(lambda: write_snapshot(capture(session), target), 1)
        session.set_clinician_note("changed", PATIENT)
        autosave, _ = _timed(lambda: write_snapshot(capture(session), target), repeats)
        size = target.stat().st_size
        reopen, _ = _timed(lambda: run_job(open_session(target, {})), repeats)  # image files absent: not re-read
    return {
        "images": n_images,
        "report": report,
        "deidentified_report": deidentified,
        "pages": len(re.findall(rb"/Type /Page[^s]", pdf)),
        "pdf_mb": round(len(pdf) / 2**20, 2),
        "session_first_save": first_save,
        "session_autosave_after_a_change": autosave,
        "session_file_mb": round(size / 2**20, 2),
        "session_open": reopen,
    }


def bench_reporting() -> dict[str, Any]:
    return {
        "typical_patient": bench_patient(1, repeats=3),
        "patient_with_20_images": bench_patient(20, repeats=1),
    }


if __name__ == "__main__":
    print(json.dumps(bench_reporting(), indent=2))
