"""The Diagnosis tab (filled in by its own issue; for now the empty state and the current patient)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout

from medassist.ui.context import AppContext
from medassist.ui.tabs.base import Tab


class DiagnosisTab(Tab):
    title = "Diagnosis"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.empty.set_text("No results yet", "Load a chest radiograph or a patient record, then run a model here. Results are decision support, not a diagnosis.")
        self.patient_label = QLabel()
        QVBoxLayout(self.content).addWidget(self.patient_label)
        self.on_patient_changed(self.session.current_patient_id)

    def on_patient_changed(self, patient_id: str | None) -> None:
        name = self.session.current_patient_name()
        self.patient_label.setText(f"Patient: {name} ({patient_id})" if name else "")
        self.show_content(False)
