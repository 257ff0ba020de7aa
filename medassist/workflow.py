"""A patient's whole analysis as one job: run (and explain) every model that applies, then ask
the treatment recommender. ``medassist report``, ``medassist self-test`` and the GUI share it,
so a headless report and a clicked one come from the same steps."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from medassist.errors import InputError, MedAssistError
from medassist.imaging.image import MedicalImage
from medassist.inference.applicability import applicable_runs
from medassist.inference.prediction import Prediction
from medassist.jobs import Job, Progress, run_job
from medassist.session import Session, TreatmentDecision

if TYPE_CHECKING:
    from medassist.inference.service import InferenceService


def load_images(paths: list[Path]) -> list[MedicalImage]:
    """Files and DICOM folders into images; a path that gives no image is an InputError naming it."""
    from medassist.imaging.loader import load_image, open_images

    images: list[MedicalImage] = []
    for path in paths:
        if not path.exists():
            raise InputError("no such image file or folder", path)
        if path.is_dir():
            batch = run_job(open_images(path))
            if not batch.images:
                raise InputError("no readable image in this folder: " + "; ".join(batch.problems[:3]), path)
            images.extend(batch.images)
        else:
            images.append(load_image(path))
    return images


def explain_target(prediction: Prediction) -> str | None:
    """The output worth explaining: the first positive one, else the most probable."""
    if prediction.positive:
        return prediction.positive[0]
    return max(prediction.outputs, key=prediction.outputs.get) if prediction.outputs else None


def analyse(session: Session, patient_id: str, service: "InferenceService", explain: bool = True) -> Job[list[str]]:
    """Run (and explain with each card's first method) every applicable model; returns problems to tell the user."""
    runs = applicable_runs(session, service.runtime.registry, patient_id)
    cards = {entry.card.name: entry.card for entry in service.runtime.registry.available()}
    problems: list[str] = []
    for index, run in enumerate(runs):
        card = cards[run.model]
        yield Progress(index / max(len(runs), 1), f"Running {run.label}")
        try:
            prediction = yield from service.predict(card.name, run.source, patient_id=patient_id)
        except MedAssistError as exc:
            problems.append(f"{card.name}: {exc}")
            continue
        session.add_prediction(prediction)
        target = explain_target(prediction)
        if explain and card.explanations and not prediction.refused and target is not None:
            try:
                explanation = yield from service.explain(card.name, run.source, card.explanations[0], target)
            except MedAssistError as exc:
                problems.append(f"{card.name} explanation: {exc}")
                continue
            session.add_explanation(prediction, explanation)
    return problems


def recommended_options(session: Session, patient_id: str, service: "InferenceService") -> Job[list[TreatmentDecision]]:
    """The recommender's options and current therapy for the patient's positive findings, as decisions still to be made."""
    from medassist.recommend.decisions import considered_options
    from medassist.recommend.service import recommendation_job

    positive = sorted({label for p in session.predictions.get(patient_id, []) if not p.refused for label in p.positive})
    result = yield from recommendation_job(session.records, patient_id, confirmed_findings=positive,
                                           runtime=service.runtime, audit=service.audit)
    return considered_options(result)
