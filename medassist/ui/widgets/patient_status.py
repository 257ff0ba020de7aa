"""A status line that belongs to its patient.

A job started for one patient reports progress and an outcome ("4 result(s)", "Evidence for diabetes
in 0 ms"); once the clinician opens another patient, that text must not stay over the new patient's
(empty) pane. Each text is kept with the patient it is about and shown only while that patient is open.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel


class PatientStatusLabel(QLabel):
    """``say(patient, text)`` records what is known about one patient; ``show_patient`` switches the line."""

    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)
        self._texts: dict[str | None, str] = {}
        self._patient: str | None = None

    def show_patient(self, patient_id: str | None) -> None:
        self._patient = patient_id
        self.setText(self._texts.get(patient_id, ""))

    def say(self, patient_id: str | None, text: str) -> None:
        self._texts[patient_id] = text
        if patient_id == self._patient:
            self.setText(text)
