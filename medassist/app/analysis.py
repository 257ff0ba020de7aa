"""Analyse a patient: which models apply to what is loaded, run each, and explain the results.

The Diagnosis tab's Run button and ``medassist report`` / ``self-test`` both call
:func:`analyse_patient`, so a clicked analysis and a headless one take the same steps. Each
result is stored in the session as soon as it exists, so a cancel keeps what finished; a model
that cannot run is one line in ``problems`` and the others still run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from medassist.app.films import film_for
from medassist.domain.findings import current_findings, findings_of
from medassist.domain.inputs import ImageInput
from medassist.domain.prediction import Prediction
from medassist.domain.tasks import Task
from medassist.errors import MedAssistError
from medassist.imaging.image import MedicalImage
from medassist.inference.applicability import applicable_runs, images_not_analysed
from medassist.jobs import Job, Progress, rescaled
from medassist.session import Session

if TYPE_CHECKING:
    from medassist.inference.service import ModelService


@dataclass
class Analysis:
    """What one analysis produced: the results, and a line per model that could not run or be explained."""

    predictions: list[Prediction] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    not_analysed: list[str] = field(default_factory=list)  # images no model reads, with why

    @property
    def refused(self) -> int:
        return sum(p.refused for p in self.predictions)


def explain_target(prediction: Prediction) -> str | None:
    """The output worth explaining: the first suggested finding, else the most probable output."""
    suggested = [f.label for f in findings_of(prediction) if f.counts_now]
    if suggested:
        return suggested[0]
    return max(prediction.outputs, key=lambda label: prediction.outputs[label]) if prediction.outputs else None


def analyse_patient(session: Session, service: "ModelService", patient_id: str | None,
                    images: list[MedicalImage] | None = None, image_models_only: bool = False,
                    explain: bool = False) -> Job[Analysis]:
    """Run every model that applies to the patient (``images`` narrows the films; ``image_models_only``
    leaves out the note and record models); with ``explain``, explain each accepted result with the
    first method its card lists."""
    runs = applicable_runs(session, service.registry, patient_id, images=images)
    if image_models_only:
        runs = [r for r in runs if r.task == Task.IMAGE]
    cards = {entry.card.name: entry.card for entry in service.registry.available() if entry.card}
    analysis = Analysis(not_analysed=images_not_analysed(session, service.registry, patient_id, images))
    share = 1.0 / max(len(runs), 1)
    for index, run in enumerate(runs):
        start = index * share
        middle = start + (share / 2 if explain else share)
        prefix = f"{run.label} ({index + 1} of {len(runs)}): "
        try:
            prediction = yield from rescaled(service.predict(run.model, run.source, patient_id), start, middle, prefix)
        except MedAssistError as exc:
            analysis.problems.append(f"{run.label}: {exc}")
            continue
        if isinstance(run.source, ImageInput) and patient_id:
            prediction.film = film_for(session, patient_id, run.source.image)
        session.add_prediction(prediction)
        analysis.predictions.append(prediction)
        card = cards.get(run.model)
        target = explain_target(prediction)
        if not explain or card is None or not card.explanations or prediction.refused or target is None:
            continue
        try:
            explanation = yield from rescaled(service.explain(run.model, run.source, card.explanations[0], target),
                                              middle, start + share, prefix)
        except MedAssistError as exc:
            analysis.problems.append(f"{run.label}, explanation: {exc}")
            continue
        session.add_explanation(prediction, explanation)
    yield Progress(1.0, "Done")
    return analysis


def positive_findings(session: Session, patient_id: str) -> list[str]:
    """Every finding that counts for the patient now (``domain.findings``: suggested, on a current film
    of theirs; refused results, priors and withheld films left out)."""
    return sorted(f.label for f in current_findings(session.predictions.get(patient_id, [])))
