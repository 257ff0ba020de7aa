"""The Records tab: the patient list (sortable, searchable by name, ID or condition, smooth at
100,000 patients) beside the selected patient's panel, and the import report one click away.

Selecting a patient makes them the session's current patient for every tab; a patient chosen
elsewhere is selected here. The list's arrays are built in a worker after each import.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from medassist.app.picture import clinical_picture
from medassist.domain.clinical import ClinicalPicture
from medassist.jobs import Progress
from medassist.records.patient_list import COLUMNS, PatientList
from medassist.records.schema import PatientRecords
from medassist.ui.context import AppContext
from medassist.ui.records_dialogs import ImportReportDialog
from medassist.ui.records_model import PatientFilterProxy, PatientTableModel, empty_patient_list
from medassist.ui.records_panel import PatientPanel
from medassist.ui.tabs.base import Tab
from medassist.ui.widgets.fitting import ColumnFitter, flow_row, proportions
from medassist.ui.widgets.keyboard_safety import PatientTable

_NAME, _ID, _SEX, _BORN, _AGE, _PROBLEMS, _ALLERGIES = (COLUMNS.index(c) for c in (
    "Name", "Patient ID", "Sex", "Born", "Age", "Problems", "Allergies"))
_SEARCH_DELAY_MS = 150


class RecordsTab(Tab):
    title = "Records"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.empty.set_text(
            "No records loaded",
            "Open a Synthea folder, a FHIR bundle or a patient table with File > Open records (Ctrl+O), "
            "or start the demo with Help > Start demo.",
        )
        self.model = PatientTableModel()
        self.proxy = PatientFilterProxy()
        self.proxy.setSourceModel(self.model)
        self._records_shown: PatientRecords | None = None
        self._following = False

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search name, patient ID or condition...")
        self.search.setToolTip(self.search.placeholderText())  # a narrow box cuts the placeholder
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._search_later)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(_SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.apply_search)
        self.count_label = QLabel()
        self.report_button = QPushButton("Import report")
        self.report_button.clicked.connect(self.show_report)

        self.table = PatientTable()  # Tab leaves it; focus alone never opens a patient
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        rows = self.table.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        # the name takes what the other columns leave; a narrow list hides problems, birth date, allergies and
        # sex before the patient ID and age (the panel beside it shows them all for the open patient)
        self.columns = ColumnFitter(self.table, stretch=_NAME, optional=[_ID, _AGE, _SEX, _ALLERGIES, _BORN, _PROBLEMS],
                                    stretch_minimum=10, caps={_PROBLEMS: 40, _ALLERGIES: 24})
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.selectionModel().currentRowChanged.connect(self._row_chosen)

        self.panel: PatientPanel | None = None  # made with the first records (the tab opens at start-up, empty)

        left = QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.addLayout(flow_row(self.search, self.count_label, self.report_button))
        left.addWidget(self.table, 1)
        left_box = QWidget()
        left_box.setLayout(left)
        self._splitter = QSplitter(Qt.Orientation.Horizontal)
        self._splitter.addWidget(left_box)
        QVBoxLayout(self.content).addWidget(self._splitter)

        context.bridge.records_changed.connect(self.on_records_changed)
        # the picture's problems and evidence follow the notes model's results and the confirmed findings
        context.bridge.decisions_changed.connect(self._refresh_picture)
        context.bridge.prediction_added.connect(lambda prediction: self._refresh_picture(prediction.patient_id))
        self.on_records_changed()

    # -- records ----------------------------------------------------------------------------
    def on_records_changed(self) -> None:
        records = self.session.records
        has_patients = len(records.patients) > 0
        self.show_content(has_patients)
        self._update_report_button()
        if not has_patients:
            self._records_shown = records
            self.model.set_patients(empty_patient_list())
            self._update_count()
            return

        def job():
            yield Progress(0.2, f"Preparing the list of {len(records.patients):,} patients")
            return PatientList.build(records)

        self.count_label.setText(f"Preparing {len(records.patients):,} patients...")
        self.context.runner.submit("Prepare patient list", job, on_result=lambda built: self._list_ready(records, built),
                                   on_error=lambda message: self.context.show_message("Patient list failed", message))
        patient_id = self.session.current_patient_id
        self._patient_panel().show_patient(records, patient_id, self._picture(patient_id))

    def _picture(self, patient_id: str | None) -> ClinicalPicture | None:
        """The current patient's clinical picture (the same use case as ``medassist picture``)."""
        if patient_id is None or not self.session.records.has_patient(patient_id):
            return None
        return clinical_picture(self.session, patient_id)

    def _refresh_picture(self, patient_id: str | None) -> None:
        if self.panel is not None and patient_id is not None and patient_id == self.session.current_patient_id \
                and self.panel.patient_id == patient_id:
            self.panel.show_picture(self._picture(patient_id))

    def _patient_panel(self) -> PatientPanel:
        if self.panel is None:
            self.panel = PatientPanel()
            self.panel.presenting = self.context.settings.presentation_mode
            self._splitter.addWidget(self.panel)
            proportions(self._splitter, 5, 9)
        return self.panel

    def _list_ready(self, records: PatientRecords, patients: PatientList) -> None:
        if records is not self.session.records:
            return  # a newer import replaced these records meanwhile
        self._records_shown = records
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.model.set_patients(patients)
        self.fit_columns()
        self._update_count()
        self._select(self.session.current_patient_id)

    def fit_columns(self) -> None:
        """Columns as wide as their header and text at the current font size (presentation mode
        enlarges it) while the list has room; Qt samples a bounded number of rows, so this stays quick
        at 100,000 patients."""
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        self.columns.fit(remeasure=True)

    @property
    def list_ready(self) -> bool:
        return self._records_shown is self.session.records

    # -- search -----------------------------------------------------------------------------
    def _search_later(self) -> None:
        self._search_timer.start()

    def apply_search(self) -> None:
        """Filter the list now (the search box waits for a pause in typing)."""
        self._search_timer.stop()
        self._following = True
        try:
            self.proxy.set_query(self.search.text())
        finally:
            self._following = False
        self._select(self.session.current_patient_id)
        self._update_count()

    def _update_count(self) -> None:
        total = len(self.model.patients)
        shown = self.proxy.rowCount()
        self.count_label.setText(f"{shown:,} of {total:,} patients" if shown != total else f"{total:,} patients")

    # -- current patient --------------------------------------------------------------------
    def _row_chosen(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._following or not current.isValid():
            return
        patient_id = self.proxy.patient_id(current.row())
        if patient_id is not None and patient_id != self.session.current_patient_id:
            self.session.set_current_patient(patient_id)

    def on_patient_changed(self, patient_id: str | None) -> None:
        presenting = self.context.settings.presentation_mode
        if presenting != self.model.presenting:
            self.model.set_presenting(presenting)
            self.fit_columns()
        if self.panel is not None or len(self.session.records.patients):
            panel = self._patient_panel()
            panel.presenting = presenting
            panel.show_patient(self.session.records, patient_id, self._picture(patient_id))
        if self.list_ready:
            self._select(patient_id)

    def _select(self, patient_id: str | None) -> None:
        """Highlight the patient's row without treating it as a new choice."""
        self._following = True
        try:
            row = self.proxy.proxy_row_of(patient_id) if patient_id is not None else -1
            selection = self.table.selectionModel()
            if row < 0:
                selection.clearSelection()
                selection.setCurrentIndex(QModelIndex(), QItemSelectionModel.SelectionFlag.NoUpdate)
                return
            index = self.proxy.index(row, 0)
            selection.setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            )
            self.table.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)
        finally:
            self._following = False

    # -- import report ----------------------------------------------------------------------
    def _update_report_button(self) -> None:
        report = self.session.records.report
        problems, errors = len(report.problems), len(report.errors)
        self.report_button.setEnabled(bool(report.files or report.problems))
        self.report_button.setText(f"Import report ({problems} problem{'s' if problems != 1 else ''})")
        colour = "#b00020" if errors else "#a15c00" if problems else ""
        self.report_button.setStyleSheet(f"color: {colour}; font-weight: 600;" if colour else "")

    def report_dialog(self) -> ImportReportDialog:
        return ImportReportDialog(self.session.records.report, self.session.record_sources, self)

    def show_report(self) -> None:
        self.report_dialog().exec()
