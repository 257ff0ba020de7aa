"""One meaning of a *finding*, decided here for every model and read by every view.

A finding is an output that has an operating threshold (image and record models) or a problem the
notes model may suggest. Its :class:`FindingStatus` says whether it counts for the patient now:

* ``SUGGESTED``: the model suggests it for this patient now. Image and record models: the calibrated
  probability is at or above the card's threshold. Notes model: a sentence of the note affirms it
  (the sentence is the evidence; the head's number is a *score*, shown as such, never as a
  probability against a threshold: a low score with an affirming sentence is suggested, a high
  score without one is not).
* ``NOT_SUGGESTED``: below the threshold, or no sentence affirms it.
* ``PRIOR``: it would be suggested, but the film is older than the current episode: shown with the
  study date as a prior, never as a current finding.
* ``WITHHELD``: the film's header cannot be this patient's; nothing is shown as theirs (not even a
  reassuring "not suggested") until the clinician attaches the film explicitly (an audited choice).

A refused result (input gate) has no findings. An output without a threshold that splits a finding
("bacterial pneumonia" of "pneumonia") is never a finding of its own; :func:`subtype_shares` gives its
share of the finding only when the patient's age at the study is inside the population the split was
validated in, and otherwise says why not.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any, Iterable, Literal

from medassist.domain.clinical import FilmRelation
from medassist.domain.prediction import Prediction, SubtypeSplit
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
    film_relation: FilmRelation | None = None  # image findings made for a patient: current, prior or undated

    @property
    def counts_now(self) -> bool:
        """True for a finding that is this patient's, now: the only kind that feeds treatment,
        worklist headlines, SR and FHIR positives."""
        return self.status == FindingStatus.SUGGESTED

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "name": self.name, "status": str(self.status), "counts_now": self.counts_now,
                "score": round(self.score, 6), "threshold": self.threshold, "basis": self.basis,
                "evidence": list(self.evidence), "study_date": self.study_date.isoformat() if self.study_date else None,
                "film": str(self.film_relation) if self.film_relation else None}


def _label_name(label: str) -> str:
    words = label.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def _names(prediction: Prediction) -> dict[str, str]:
    names = prediction.extra.get("output_names") or prediction.extra.get("label_names") or {}
    return names if isinstance(names, dict) else {}


def _note_evidence(prediction: Prediction) -> dict[str, tuple[str, ...]]:
    """Each problem the note affirms, with its sentences (the notes model's suggestions)."""
    evidence: dict[str, tuple[str, ...]] = {}
    for suggestion in prediction.extra.get("suggestions", []):
        sentences = tuple(str(e.get("sentence", "")) for e in suggestion.get("evidence", []) if e.get("sentence"))
        if sentences:
            evidence[str(suggestion["problem"])] = sentences
    return evidence


def findings_of(prediction: Prediction) -> list[Finding]:
    """Every finding of one result with its status; none for a refused result."""
    if prediction.refused or not prediction.outputs:
        return []
    names = _names(prediction)
    if prediction.task == Task.TEXT:
        evidence = _note_evidence(prediction)
        return [Finding(label, names.get(label) or _label_name(label),
                        FindingStatus.SUGGESTED if label in evidence else FindingStatus.NOT_SUGGESTED,
                        float(score), None, "note evidence", evidence.get(label, ()))
                for label, score in prediction.outputs.items() if label in prediction.thresholds]
    film = prediction.film
    found = []
    for label, score in prediction.outputs.items():
        if label not in prediction.thresholds:
            continue  # a subtype or an auxiliary output: never a finding of its own
        threshold = float(prediction.thresholds[label])
        status = FindingStatus.SUGGESTED if float(score) >= threshold else FindingStatus.NOT_SUGGESTED
        if film is not None and film.withheld:
            status = FindingStatus.WITHHELD
        elif film is not None and film.relation == FilmRelation.PRIOR and status == FindingStatus.SUGGESTED:
            status = FindingStatus.PRIOR
        found.append(Finding(label, names.get(label) or _label_name(label), status, float(score), threshold,
                             "threshold", (), film.study_date if film else None, film.relation if film else None))
    return found


def listed_findings(prediction: Prediction) -> list[Finding]:
    """The findings a view lists for one result: every one of an image or record model; of a note's,
    those it affirms and those its head scores at or above the head's threshold without a sentence
    affirming them (the disagreement a clinician should see), not the dozens it neither names nor scores."""
    findings = findings_of(prediction)
    if prediction.task != Task.TEXT:
        return findings
    return [f for f in findings if f.counts_now or f.score >= float(prediction.thresholds.get(f.label, 1.0))]


def current_findings(predictions: Iterable[Prediction]) -> list[Finding]:
    """The findings that count for the patient now, across results (first of each label kept)."""
    seen: dict[str, Finding] = {}
    for prediction in predictions:
        for finding in findings_of(prediction):
            if finding.counts_now:
                seen.setdefault(finding.label, finding)
    return list(seen.values())


class Standing(IntEnum):
    """Where a result stands in a list of results, most pressing first."""

    SUGGESTS = 0  # a finding suggested for the patient now
    ANSWERS = 1  # an answer that suggests nothing now (below threshold, or a prior study's)
    NO_ANSWER = 2  # refused by its input gate, no output, or its film withheld (not this patient's)


_FINDING_STANDING = {FindingStatus.SUGGESTED: Standing.SUGGESTS, FindingStatus.PRIOR: Standing.ANSWERS,
                     FindingStatus.NOT_SUGGESTED: Standing.ANSWERS, FindingStatus.WITHHELD: Standing.NO_ANSWER}


def standing(prediction: Prediction) -> Standing:
    """A result's standing: its most pressing finding's (an answer without findings answers)."""
    if prediction.refused or not prediction.outputs:
        return Standing.NO_ANSWER
    return min((_FINDING_STANDING[f.status] for f in findings_of(prediction)), default=Standing.ANSWERS)


def by_standing(predictions: Iterable[Prediction]) -> list[Prediction]:
    """Results that suggest a finding now first, then those that answer without one, then those with no
    answer; the order given (newest first, say) kept within each."""
    return sorted(predictions, key=standing)


def findings_by_standing(findings: Iterable[Finding]) -> list[Finding]:
    """A result's findings, suggested ones first, withheld last; the model's order kept within each."""
    return sorted(findings, key=lambda f: _FINDING_STANDING[f.status])


class SplitWithheld(StrEnum):
    """Why a finding's subtype shares are not shown."""

    OUTSIDE = "outside the validated population"
    AGE_UNKNOWN = "age at the study unknown"
    NOT_VALIDATED = "no validated population"


@dataclass(frozen=True)
class SubtypeShares:
    """A finding's subtype split as every view may show it: the shares, or why they are withheld."""

    split: SubtypeSplit
    withheld: SplitWithheld | None

    @property
    def finding(self) -> str:
        return self.split.finding

    @property
    def shares(self) -> dict[str, float]:
        """Subtype -> share of the finding; empty when withheld (nothing to list, nothing positive)."""
        return {} if self.withheld is not None else dict(self.split.shares)

    def to_dict(self) -> dict[str, Any]:
        return {"finding": self.finding, "shares": {k: round(v, 6) for k, v in self.shares.items()},
                "withheld": str(self.withheld) if self.withheld else None,
                "validated_age_years": [self.split.validated_min_years, self.split.validated_max_years],
                "patient_age_years": self.split.age_years}


def subtype_shares(prediction: Prediction) -> list[SubtypeShares]:
    """Each finding's subtype split of a result: the shares only inside the population the split was
    validated in; for a refused result or a film withheld from the patient, nothing."""
    if prediction.refused or (prediction.film is not None and prediction.film.withheld):
        return []
    found = []
    for split in prediction.subtypes:
        if not split.validated:
            withheld: SplitWithheld | None = SplitWithheld.NOT_VALIDATED
        elif split.age_years is None:
            withheld = SplitWithheld.AGE_UNKNOWN
        else:
            withheld = None if split.applies else SplitWithheld.OUTSIDE
        found.append(SubtypeShares(split, withheld))
    return found
