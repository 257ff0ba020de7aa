"""The Report tab (filled in by its own issue; for now the empty state and the current patient)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout

from medassist.ui.context import AppContext
from medassist.ui.tabs.base import Tab


class ReportTab(Tab):
    title = "Report"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.empty.set_text("No report yet", "Select a patient and run the models you need; then preview, print or export the signed PDF report here.")
        self.patient_label = QLabel()
        QVBoxLayout(self.content).addWidget(self.patient_label)
        self.on_patient_changed(self.session.current_patient_id)

    def on_patient_changed(self, patient_id: str | None) -> None:
        name = self.session.current_patient_name()
        self.patient_label.setText(f"Patient: {name} ({patient_id})" if name else "")
        self.show_content(False)
