"""The working session: current patient, loaded records and images, model results, decisions.

A plain evented object (no Qt): tabs subscribe to its signals through the UI bridge, the CLI
and tests use it directly. Switching patient emits ``patient_changed`` and every tab follows.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from medassist.events import Signal
from medassist.imaging.image import MedicalImage
from medassist.inference.prediction import Explanation, Prediction

if TYPE_CHECKING:
    from medassist.records.schema import PatientRecords

UNASSIGNED = ""  # key for images opened while no patient is selected


@dataclass
class TreatmentDecision:
    """The clinician's verdict on one treatment option."""

    option_id: str
    label: str
    status: str = "pending"  # pending | accepted | rejected | modified
    comment: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


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
        key = prediction.patient_id or self.patient_key
        prediction.patient_id = key or None
        with self._lock:
            self.predictions.setdefault(key, []).append(prediction)
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

    def set_clinician_note(self, text: str, patient_id: str | None = None) -> None:
        key = patient_id or self.patient_key
        self.clinician_notes[key] = text
        self.notes_changed.emit(key)

    def confirm_finding(self, finding: str, patient_id: str | None = None) -> None:
        """A model finding the clinician confirmed; treatment recommendations use it."""
        key = patient_id or self.patient_key
        findings = self.confirmed_findings.setdefault(key, [])
        if finding not in findings:
            findings.append(finding)
        self.decisions_changed.emit(key)
