"""The clinician's verdicts: on a treatment option and on a model finding. Plain values, stored by
the session, saved in session files and printed in the report."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

DecisionStatus = Literal["pending", "accepted", "rejected", "modified"]
ReviewStatus = Literal["confirmed", "rejected"]
DECISION_STATUSES: tuple[str, ...] = get_args(DecisionStatus)
REVIEW_STATUSES: tuple[str, ...] = get_args(ReviewStatus)


def decision_status(value: str) -> DecisionStatus:
    """``value`` as a decision status; any other word is a ValueError (never stored)."""
    if value not in DECISION_STATUSES:
        raise ValueError(f"unknown decision status {value!r}")
    return cast(DecisionStatus, value)


@dataclass
class TreatmentDecision:
    """The clinician's verdict on one treatment option."""

    option_id: str
    label: str
    status: DecisionStatus = "pending"
    comment: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class FindingReview:
    """The clinician's verdict on one model finding, with a note; confirmed findings feed the
    treatment recommendations, and the report lists both kinds."""

    finding: str
    status: ReviewStatus
    note: str = ""
    model: str = ""
    reviewed: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))


@dataclass
class FilmAttachment:
    """The clinician's choice to read a film whose header does not match the record as this patient's,
    with the reason they gave; keyed by the film (``image_key``) so a re-run keeps it."""

    image_key: str  # the image's SHA-256, else its path
    path: str
    reason: str
    clinician: str = ""
    attached: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
