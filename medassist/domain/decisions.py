"""The clinician's verdicts: on a treatment option and on a model finding. Plain values, stored by
the session, saved in session files and printed in the report."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

DECISION_STATUSES = ("pending", "accepted", "rejected", "modified")
REVIEW_STATUSES = ("confirmed", "rejected")


@dataclass
class TreatmentDecision:
    """The clinician's verdict on one treatment option."""

    option_id: str
    label: str
    status: str = "pending"  # pending | accepted | rejected | modified
    comment: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class FindingReview:
    """The clinician's verdict on one model finding, with a note; confirmed findings feed the
    treatment recommendations, and the report lists both kinds."""

    finding: str
    status: str  # confirmed | rejected
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
