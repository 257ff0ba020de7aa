"""The Records tab (filled in by its own issue; for now the empty state and the current patient)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout

from medassist.ui.context import AppContext
from medassist.ui.tabs.base import Tab


class RecordsTab(Tab):
    title = "Records"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.empty.set_text("No records loaded", "Open a Synthea folder, a FHIR bundle or a patient table with File > Open records (Ctrl+O), or start the demo with Help > Start demo.")
        self.patient_label = QLabel()
        QVBoxLayout(self.content).addWidget(self.patient_label)
        self.on_patient_changed(self.session.current_patient_id)

    def on_patient_changed(self, patient_id: str | None) -> None:
        name = self.session.current_patient_name()
        self.patient_label.setText(f"Patient: {name} ({patient_id})" if name else "")
        self.show_content(False)
