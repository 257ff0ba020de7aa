"""The working session: current patient, loaded records and images, model results, decisions.

A plain evented object (no Qt): tabs subscribe to its signals through the UI bridge, the CLI
and tests use it directly. Switching patient emits ``patient_changed`` and every tab follows.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from medassist.events import Signal
from medassist.imaging.image import MedicalImage
from medassist.domain.decisions import REVIEW_STATUSES, FilmAttachment, FindingReview, TreatmentDecision
from medassist.domain.clinical import FilmContext
from medassist.domain.prediction import Explanation, Prediction

if TYPE_CHECKING:
    from medassist.records.schema import PatientRecords

UNASSIGNED = ""  # key for images opened while no patient is selected


_PER_PATIENT = {"per_patient": True}


@dataclass
class SessionState:
    """A consistent copy of what the session holds about its patients, taken under its lock
    (:meth:`Session.snapshot`) for a report or a session file, or put back with :meth:`Session.restore`.

    The dicts are keyed by patient ID (``UNASSIGNED`` for images opened with no patient selected);
    their containers are copies, the images, predictions, decisions and reviews in them are shared.
    """

    images: dict[str, list[MedicalImage]] = field(default_factory=dict, metadata=_PER_PATIENT)
    predictions: dict[str, list[Prediction]] = field(default_factory=dict, metadata=_PER_PATIENT)
    decisions: dict[str, dict[str, TreatmentDecision]] = field(default_factory=dict, metadata=_PER_PATIENT)
    clinician_notes: dict[str, str] = field(default_factory=dict, metadata=_PER_PATIENT)
    confirmed_findings: dict[str, list[str]] = field(default_factory=dict, metadata=_PER_PATIENT)
    finding_reviews: dict[str, dict[str, FindingReview]] = field(default_factory=dict, metadata=_PER_PATIENT)
    film_attachments: dict[str, dict[str, FilmAttachment]] = field(default_factory=dict, metadata=_PER_PATIENT)
    demo: bool = False
    clinician_name: str = ""


# The session's per-patient dicts, named once: reset, snapshot, restore and session files use this.
PER_PATIENT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(SessionState) if f.metadata.get("per_patient"))
# the session signal a change of each is announced with (results and reviews show with the decisions)
_SIGNAL_OF = {"images": "images_changed", "clinician_notes": "notes_changed"} | {
    name: "decisions_changed" for name in ("predictions", "decisions", "confirmed_findings", "finding_reviews",
                                           "film_attachments")}


def _copied(per_patient: dict[str, Any]) -> dict[str, Any]:
    """A copy of one per-patient dict, one level down too (each patient's list or dict)."""
    return {key: value.copy() if isinstance(value, (list, dict)) else value for key, value in per_patient.items()}


def _announcements(holder: "Session | SessionState") -> set[tuple[str, str]]:
    """(signal, patient key) for every patient with state in ``holder``, by the signal the tabs listen to."""
    return {(_SIGNAL_OF[name], key) for name in PER_PATIENT_FIELDS for key in getattr(holder, name)}


class Session:
    """Shared state of one working session, observed by every tab.

    Every change goes through a method that takes the lock and emits its signal; other modules
    read the attributes but never write them (``tests/test_session_state.py`` checks).
    """

    def __init__(self, demo: bool = False) -> None:
        self.demo = demo
        self._records: PatientRecords | None = None  # made on first use: pandas is not needed to paint the window
        self.record_sources: list[str] = []
        self.current_patient_id: str | None = None
        self.images: dict[str, list[MedicalImage]] = {}
        self.predictions: dict[str, list[Prediction]] = {}
        self.decisions: dict[str, dict[str, TreatmentDecision]] = {}
        self.clinician_notes: dict[str, str] = {}
        self.confirmed_findings: dict[str, list[str]] = {}
        self.finding_reviews: dict[str, dict[str, FindingReview]] = {}
        self.film_attachments: dict[str, dict[str, FilmAttachment]] = {}
        self.clinician_name: str = ""
        self._lock = threading.RLock()

        self.records_changed = Signal()  # ()
        self.patient_changed = Signal()  # (patient_id | None)
        self.images_changed = Signal()  # (patient_key)
        self.prediction_added = Signal()  # (Prediction)
        self.explanation_added = Signal()  # (Prediction, Explanation)
        self.decisions_changed = Signal()  # (patient_id)
        self.notes_changed = Signal()  # (patient_id)
        self.demo_changed = Signal()  # (demo: bool)

    # the whole session ------------------------------------------------------
    def set_demo(self, demo: bool) -> None:
        """Mark the session as the synthetic demo (or not); the DEMO badge and the report follow."""
        with self._lock:
            changed = self.demo != demo
            self.demo = demo
        if changed:
            self.demo_changed.emit(demo)

    def set_clinician_name(self, name: str) -> None:
        """The clinician who signs this session's reports (the report's signature block reads it)."""
        with self._lock:
            self.clinician_name = name.strip()

    def snapshot(self) -> SessionState:
        """A consistent copy of every patient's images, results, decisions and notes (any thread)."""
        with self._lock:
            copies = {name: _copied(getattr(self, name)) for name in PER_PATIENT_FIELDS}
            return SessionState(**copies, demo=self.demo, clinician_name=self.clinician_name)

    def restore(self, state: SessionState) -> None:
        """Replace every patient's state with ``state`` (a session file opened); the current patient
        stays selected and each tab hears about every patient whose state changed."""
        with self._lock:
            changed = _announcements(self) | _announcements(state)
            for name in PER_PATIENT_FIELDS:
                setattr(self, name, _copied(getattr(state, name)))
            self.clinician_name = state.clinician_name
        self.set_demo(state.demo)
        self._announce(changed)

    def reset(self) -> None:
        """Forget every patient's images, results, decisions, notes and finding reviews and select no
        patient (the records stay loaded); each tab hears about every patient that had state."""
        self.set_current_patient(None)
        with self._lock:
            changed = _announcements(self)
            for name in PER_PATIENT_FIELDS:
                setattr(self, name, {})
        self._announce(changed)

    def _announce(self, changed: set[tuple[str, str]]) -> None:
        """Tell the tabs that these patients' state was replaced as a whole."""
        for signal, key in sorted(changed):
            getattr(self, signal).emit(key)

    # records and patient -------------------------------------------------
    @property
    def records(self) -> PatientRecords:
        if self._records is None:
            from medassist.records.schema import PatientRecords

            self._records = PatientRecords()
        return self._records

    @records.setter
    def records(self, records: PatientRecords) -> None:
        self._records = records

    def set_records(self, records: PatientRecords, sources: list[str] | None = None) -> None:
        with self._lock:
            self.records = records
            self.record_sources = list(sources or [])
        self.records_changed.emit()
        ids = records.patient_ids
        if self.current_patient_id not in ids:
            self.set_current_patient(ids[0] if ids else None)

    def set_current_patient(self, patient_id: str | None) -> None:
        if patient_id is not None and not self.records.has_patient(patient_id):
            raise KeyError(f"no patient with ID {patient_id}")
        if patient_id == self.current_patient_id:
            return
        self.current_patient_id = patient_id
        self.patient_changed.emit(patient_id)

    @property
    def patient_key(self) -> str:
        return self.current_patient_id or UNASSIGNED

    def current_patient_name(self) -> str | None:
        if self.current_patient_id is None:
            return None
        return self.records.display_name(self.current_patient_id)

    # images --------------------------------------------------------------
    def add_images(self, images: list[MedicalImage], patient_id: str | None = None) -> None:
        key = patient_id if patient_id is not None else self.patient_key
        with self._lock:
            known = self.images.setdefault(key, [])
            seen = {(str(i.path), i.sha256) for i in known}
            known.extend(i for i in images if (str(i.path), i.sha256) not in seen)
        self.images_changed.emit(key)

    def current_images(self) -> list[MedicalImage]:
        return list(self.images.get(self.patient_key, []))

    # model results ---------------------------------------------------------
    def add_prediction(self, prediction: Prediction) -> None:
        """Add a result; it replaces an earlier one of the same model on the same input (the audit
        log keeps every run), so re-running never piles up copies."""
        key = prediction.patient_id or self.patient_key
        prediction.patient_id = key or None
        with self._lock:
            items = self.predictions.setdefault(key, [])
            items[:] = [p for p in items if (p.model, p.input_sha256) != (prediction.model, prediction.input_sha256)]
            items.append(prediction)
        self.prediction_added.emit(prediction)

    def add_explanation(self, prediction: Prediction, explanation: Explanation) -> None:
        with self._lock:
            prediction.explanations = [
                e for e in prediction.explanations if (e.method, e.target) != (explanation.method, explanation.target)
            ] + [explanation]
        self.explanation_added.emit(prediction, explanation)

    def current_predictions(self) -> list[Prediction]:
        return list(self.predictions.get(self.patient_key, []))

    # clinician input -------------------------------------------------------
    def set_decision(self, decision: TreatmentDecision, patient_id: str | None = None) -> None:
        key = patient_id or self.patient_key
        with self._lock:
            self.decisions.setdefault(key, {})[decision.option_id] = decision
        self.decisions_changed.emit(key)

    def current_decisions(self) -> list[TreatmentDecision]:
        return list(self.decisions.get(self.patient_key, {}).values())

    def set_considered_options(self, decisions: list[TreatmentDecision], patient_id: str | None = None) -> None:
        """The options of the latest recommendation, not yet decided; decisions already made are kept.

        Pending entries from an earlier computation (e.g. before the care setting changed) are replaced,
        so the report lists what was decided plus what the current plan offers; a decided option that
        is still offered keeps its status and comment and takes the current plan's detail.
        """
        key = patient_id or self.patient_key
        with self._lock:
            kept = {k: d for k, d in self.decisions.get(key, {}).items() if d.status != "pending"}
            for decision in decisions:
                old = kept.get(decision.option_id)
                kept[decision.option_id] = decision if old is None else replace(old, detail=decision.detail)
            self.decisions[key] = kept
        self.decisions_changed.emit(key)

    def set_clinician_note(self, text: str, patient_id: str | None = None) -> None:
        key = patient_id or self.patient_key
        with self._lock:
            self.clinician_notes[key] = text
        self.notes_changed.emit(key)

    def review_finding(self, review: FindingReview, patient_id: str | None = None) -> None:
        """The clinician confirms or rejects a model finding (with a note); a confirmed finding is
        what treatment recommendations use. Emits ``decisions_changed``."""
        if review.status not in REVIEW_STATUSES:
            raise ValueError(f"a finding is confirmed or rejected, not {review.status!r}")
        key = patient_id or self.patient_key
        with self._lock:
            self.finding_reviews.setdefault(key, {})[review.finding] = review
            confirmed = [f for f in self.confirmed_findings.get(key, []) if f != review.finding]
            if review.status == "confirmed":
                confirmed.append(review.finding)
            self.confirmed_findings[key] = confirmed
        self.decisions_changed.emit(key)

    def confirm_finding(self, finding: str, patient_id: str | None = None) -> None:
        """A model finding the clinician confirmed, without a note."""
        self.review_finding(FindingReview(finding, "confirmed"), patient_id)

    def current_finding_reviews(self) -> dict[str, FindingReview]:
        return dict(self.finding_reviews.get(self.patient_key, {}))

    def attach_film(self, attachment: FilmAttachment, patient_id: str) -> None:
        """The clinician reads a film whose header does not match as this patient's (the app's
        ``attach_film`` use case re-decides the results and writes the audit line). Emits ``decisions_changed``."""
        with self._lock:
            self.film_attachments.setdefault(patient_id, {})[attachment.image_key] = attachment
        self.decisions_changed.emit(patient_id)

    def set_film(self, prediction: Prediction, film: FilmContext | None) -> None:
        """Set whose film and from when a result was made on (decided by ``clinical.films``)."""
        with self._lock:
            prediction.film = film
