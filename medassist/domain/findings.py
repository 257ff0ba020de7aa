"""One meaning of a *finding*, decided here for every model and read by every view.

A finding is an output that has an operating threshold (image and record models) or a problem the
notes model may suggest. Its :class:`FindingStatus` says whether it counts for the patient now:

* ``SUGGESTED``: the model suggests it for this patient now. Image and record models: the calibrated
  probability is at or above the card's threshold. Notes model: a sentence of the note affirms it
  (the sentence is the evidence; the head's score is shown as a score, never as a probability
  against a threshold).
* ``NOT_SUGGESTED``: below the threshold, or no sentence affirms it.
* ``PRIOR``: it would be suggested, but the film is older than the current episode: shown with the
  study date as a prior, never as a current finding.
* ``WITHHELD``: the film's header cannot be this patient's; nothing is shown as theirs until the
  clinician attaches the film explicitly (an audited choice).

A refused result (input gate) has no findings. An output without a threshold that splits a finding
("bacterial pneumonia" of "pneumonia") is never a finding of its own; it is shown as its share of
the finding only when the patient is inside the population the split was validated in.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Iterable, Literal

from medassist.domain.clinical import FilmRelation
from medassist.domain.prediction import Prediction
from medassist.domain.tasks import Task


class FindingStatus(StrEnum):
    SUGGESTED = "suggested"
    NOT_SUGGESTED = "not suggested"
    PRIOR = "prior study"
    WITHHELD = "withheld"


@dataclass(frozen=True)
class Finding:
    label: str  # the output key ("pneumonia", "chronic_kidney_disease")
    name: str  # in clinical words
    status: FindingStatus
    score: float  # calibrated probability (image, record) or the notes head's score
    threshold: float | None  # the operating threshold; None for notes (evidence decides)
    basis: Literal["threshold", "note evidence"]
    evidence: tuple[str, ...] = ()  # the note's affirming sentences
    study_date: _dt.date | None = None  # image findings: when the film was taken

    @property
    def counts_now(self) -> bool:
        """True for a finding that is this patient's, now: the only kind that feeds treatment,
        worklist headlines, SR and FHIR positives."""
        return self.status == FindingStatus.SUGGESTED


def _names(prediction: Prediction) -> dict[str, str]:
    names = prediction.extra.get("output_names", {})
    return names if isinstance(names, dict) else {}


def _label_name(label: str) -> str:
    words = label.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def _note_evidence(prediction: Prediction) -> dict[str, tuple[str, ...]]:
    evidence: dict[str, tuple[str, ...]] = {}
    for suggestion in prediction.extra.get("suggestions", []):
        evidence[str(suggestion["problem"])] = tuple(
            str(e.get("sentence", "")) for e in suggestion.get("evidence", []) if e.get("sentence"))
    return evidence


def findings_of(prediction: Prediction) -> list[Finding]:
    """Every finding of one result with its status; none for a refused result."""
    if prediction.refused or not prediction.outputs:
        return []
    names = _names(prediction)
    film = prediction.film
    study_date = film.study_date if film is not None else None
    if prediction.task == Task.TEXT:
        evidence = _note_evidence(prediction)
        return [Finding(label, names.get(label) or _label_name(label),
                        FindingStatus.SUGGESTED if label in prediction.positive else FindingStatus.NOT_SUGGESTED,
                        float(score), None, "note evidence", evidence.get(label, ()))
                for label, score in prediction.outputs.items() if label in prediction.thresholds]
    found = []
    for label, score in prediction.outputs.items():
        if label not in prediction.thresholds:
            continue  # a subtype or an auxiliary output: never a finding of its own
        threshold = float(prediction.thresholds[label])
        status = FindingStatus.SUGGESTED if float(score) >= threshold else FindingStatus.NOT_SUGGESTED
        if status == FindingStatus.SUGGESTED and film is not None:
            if film.withheld:
                status = FindingStatus.WITHHELD
            elif film.relation == FilmRelation.PRIOR:
                status = FindingStatus.PRIOR
        found.append(Finding(label, names.get(label) or _label_name(label), status, float(score), threshold,
                             "threshold", (), study_date))
    return found


def current_findings(predictions: Iterable[Prediction]) -> list[Finding]:
    """The findings that count for the patient now, across results (first of each label kept)."""
    seen: dict[str, Finding] = {}
    for prediction in predictions:
        for finding in findings_of(prediction):
            if finding.counts_now:
                seen.setdefault(finding.label, finding)
    return list(seen.values())
