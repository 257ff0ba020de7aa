"""The working session: current patient, loaded records and images, model results, decisions.

A plain evented object (no Qt): tabs subscribe to its signals through the UI bridge, the CLI
and tests use it directly. Switching patient emits ``patient_changed`` and every tab follows.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from medassist.events import Signal
from medassist.imaging.image import MedicalImage
from medassist.domain.decisions import REVIEW_STATUSES, FindingReview, TreatmentDecision
from medassist.domain.prediction import Explanation, Prediction

if TYPE_CHECKING:
    from medassist.records.schema import PatientRecords

UNASSIGNED = ""  # key for images opened while no patient is selected


class Session:
    """Shared state of one working session, observed by every tab."""

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
        self.clinician_name: str = ""
        self._lock = threading.RLock()

        self.records_changed = Signal()  # ()
        self.patient_changed = Signal()  # (patient_id | None)
        self.images_changed = Signal()  # (patient_key)
        self.prediction_added = Signal()  # (Prediction)
        self.explanation_added = Signal()  # (Prediction, Explanation)
        self.decisions_changed = Signal()  # (patient_id)
        self.notes_changed = Signal()  # (patient_id)

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
