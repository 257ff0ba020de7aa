"""The patient panel: who the patient is, allergies in red, active problems, current
medications, vitals and labs over time, the encounters timeline and the notes.

The plots (pyqtgraph, ~0.25 s to import) are made for the first patient shown: the Records tab
opens at start-up, before any patient is loaded, beside the models' warm-up."""

from __future__ import annotations

import html
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from medassist.privacy import ShownPolicy
from medassist.records import summary
from medassist.records.charts import default_choices, observation_choices, series_for
from medassist.records.schema import PatientRecords

if TYPE_CHECKING:
    from medassist.ui.records_plots import EncounterTimeline, ObservationPlot

MAX_PLOTS = 4


def _date(value) -> str:
    return "" if pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d}"


def _code(row: pd.Series) -> str:
    code, system = row.get("code"), row.get("system")
    if pd.isna(code):
        return ""
    return f"{code} ({system})" if isinstance(system, str) else str(code)


def _text(value) -> str:
    return "" if value is None or pd.isna(value) else str(value)


class RecordTable(QTableWidget):
    """A small read-only table for one list of the patient's records."""

    def __init__(self, headers: list[str]) -> None:
        super().__init__(0, len(headers))
        self.setHorizontalHeaderLabels(headers)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(headers)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)

    def set_rows(self, rows: list[list[str]]) -> None:
        self.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                self.setItem(r, c, item)

    def cell_texts(self) -> list[list[str]]:
        return [[self.item(r, c).text() for c in range(self.columnCount())] for r in range(self.rowCount())]


class PatientPanel(QWidget):
    """Everything about one patient, refreshed by :meth:`show_patient`."""

    def __init__(self) -> None:
        super().__init__()
        self.records: PatientRecords | None = None
        self.patient_id: str | None = None
        self.presenting = False  # presentation mode: no identifiers (medassist.privacy)
        self.shown: ShownPolicy | None = None  # what may be shown of the patient on display

        self.name_label = QLabel()
        self.name_label.setObjectName("patientName")
        self.name_label.setStyleSheet("font-size: 17px; font-weight: 600;")
        self.demographics = QLabel()
        self.demographics.setWordWrap(True)
        self.demographics.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.allergy_banner = QLabel()
        self.allergy_banner.setObjectName("allergyBanner")
        self.allergy_banner.setWordWrap(True)
        self.allergy_banner.setTextFormat(Qt.TextFormat.RichText)

        self.problems = RecordTable(["Active problem", "Code", "Since"])
        self.medications = RecordTable(["Current medication", "Code", "Since", "Reason"])
        overview = QSplitter(Qt.Orientation.Vertical)
        overview.addWidget(self._titled("Active problems", self.problems))
        overview.addWidget(self._titled("Current medications", self.medications))

        self.observation_list = QListWidget()
        self.observation_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.observation_list.setToolTip("Select one or more observations (Ctrl/Shift-click) to plot them")
        self.observation_list.itemSelectionChanged.connect(self._plot_selected)
        self.plots: list[ObservationPlot] = []
        self.plot_column = QVBoxLayout()
        self.plot_column.setContentsMargins(0, 0, 0, 0)
        plot_host = QWidget()
        plot_host.setLayout(self.plot_column)
        plot_scroll = QScrollArea()
        plot_scroll.setWidgetResizable(True)
        plot_scroll.setWidget(plot_host)
        self.no_observations = QLabel("No numeric observations recorded for this patient.")
        self.no_observations.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.plot_column.addWidget(self.no_observations)
        vitals = QSplitter(Qt.Orientation.Horizontal)
        vitals.addWidget(self._titled("Observations", self.observation_list))
        vitals.addWidget(plot_scroll)
        vitals.setSizes([260, 640])

        self.timeline: EncounterTimeline | None = None  # a pyqtgraph plot: made for the first patient shown
        self.encounters = RecordTable(["Encounter", "Class", "Start", "Reason"])
        self._encounter_split = QSplitter(Qt.Orientation.Vertical)
        self._encounter_split.addWidget(self.encounters)

        self.note_list = QListWidget()
        self.note_list.setWordWrap(True)
        self.note_list.currentRowChanged.connect(self._show_note)
        self.note_text = QTextBrowser()
        self.note_text.setPlaceholderText("No notes for this patient (Synthea CSV exports carry none; FHIR DocumentReference notes appear here).")
        notes = QSplitter(Qt.Orientation.Horizontal)
        notes.addWidget(self.note_list)
        notes.addWidget(self.note_text)
        notes.setSizes([260, 700])
        self._notes: pd.DataFrame = pd.DataFrame()

        self.sections = QTabWidget()
        self.sections.addTab(overview, "Problems && medications")
        self.sections.addTab(vitals, "Vitals && labs")
        self.sections.addTab(self._encounter_split, "Encounters")
        self.sections.addTab(notes, "Notes")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 0, 0)
        layout.addWidget(self.name_label)
        layout.addWidget(self.demographics)
        layout.addWidget(self.allergy_banner)
        layout.addWidget(self.sections, 1)

    @staticmethod
    def _titled(title: str, widget: QWidget) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 4, 0, 0)
        heading = QLabel(title)
        heading.setStyleSheet("font-weight: 600;")
        column.addWidget(heading)
        column.addWidget(widget)
        return box

    # -- content --------------------------------------------------------------------------
    def show_patient(self, records: PatientRecords, patient_id: str | None) -> None:
        self.records, self.patient_id = records, patient_id
        shown = self.shown = ShownPolicy(records, patient_id, self.presenting)
        if patient_id is None or not records.has_patient(patient_id):
            self.name_label.setText("No patient selected")
            for widget in (self.demographics, self.allergy_banner):
                widget.clear()
            self.allergy_banner.setStyleSheet("")
            for table in (self.problems, self.medications, self.encounters):
                table.set_rows([])
            self.observation_list.clear()
            self.note_list.clear()
            self.note_text.clear()
            return
        self._show_demographics(records, patient_id)
        self._show_allergies(records, patient_id)
        self.problems.set_rows([
            [_text(row["description"]), _code(row), _date(shown.date(row["onset"]))]
            for _, row in summary.active_conditions(records, patient_id).iterrows()
        ])
        self.medications.set_rows([
            [_text(row["description"]), _code(row), _date(shown.date(row["start"])), _text(row["reason_description"])]
            for _, row in summary.current_medications(records, patient_id).iterrows()
        ])
        self._show_observations(records, patient_id)
        encounters = records.for_patient("encounters", patient_id)
        encounters = encounters.assign(start=encounters["start"] + pd.Timedelta(days=shown.shift_days))
        self._encounter_timeline().show_encounters(encounters)
        self.encounters.set_rows([
            [_text(row["description"]), _text(row["encounter_class"]), _date(row["start"]), _text(row["reason_description"])]
            for _, row in encounters.sort_values("start", ascending=False).iterrows()
        ])
        self._show_notes(records, patient_id)

    def _encounter_timeline(self) -> EncounterTimeline:
        """The timeline above the encounters table, made on first use."""
        if self.timeline is None:
            from medassist.ui.records_plots import EncounterTimeline

            self.timeline = EncounterTimeline()
            self._encounter_split.insertWidget(0, self.timeline)
            self._encounter_split.setSizes([220, 300])
        return self.timeline

    def _show_demographics(self, records: PatientRecords, patient_id: str) -> None:
        row = records.patient_row(patient_id)
        self.name_label.setText(self.shown.label())
        age = summary.age_years(records, patient_id)
        parts = [_text(row["sex"]) or "sex unknown"]
        if age is not None:
            parts.append(self.shown.age(age))
        if self.presenting:  # no dates of birth or death, place, ID or source file on a projector
            parts.append("deceased" if pd.notna(row["death_date"]) else "")
        else:
            parts.append(f"born {_date(row['birth_date'])}" if pd.notna(row["birth_date"]) else "birth date unknown")
            if pd.notna(row["death_date"]):
                parts.append(f"died {_date(row['death_date'])}")
            place = ", ".join(_text(row[c]) for c in ("city", "state", "country") if _text(row[c]))
            if place:
                parts.append(place)
        if pd.notna(row["weight_kg"]):
            parts.append(f"{row['weight_kg']:g} kg")
        if not self.presenting:
            parts.append(f"ID {patient_id}")
            if _text(row["source"]):
                parts.append(f"from {_text(row['source'])}")
        parts = [p for p in parts if p]
        self.demographics.setText("  ·  ".join(parts))

    def _show_allergies(self, records: PatientRecords, patient_id: str) -> None:
        allergies = summary.active_allergies(records, patient_id)
        if allergies.empty:
            self.allergy_banner.setText("No known allergies recorded")
            self.allergy_banner.setStyleSheet("color: #2e5e2e; padding: 4px;")
            return
        items = []
        for _, row in allergies.iterrows():
            detail = ", ".join(t for t in (_text(row["severity"]), _text(row["reaction"])) if t)
            items.append(f"<b>{html.escape(_text(row['description']))}</b>" + (f" ({html.escape(detail)})" if detail else ""))
        self.allergy_banner.setText("ALLERGIES: " + "; ".join(items))
        self.allergy_banner.setStyleSheet(
            "background: #fdecea; color: #b00020; border: 1px solid #b00020; border-radius: 4px; padding: 5px;"
        )

    def _show_observations(self, records: PatientRecords, patient_id: str) -> None:
        self.observation_list.blockSignals(True)
        self.observation_list.clear()
        choices = observation_choices(records, patient_id)
        wanted = set(default_choices(choices))
        for choice in choices:
            item = QListWidgetItem(choice.label)
            item.setData(Qt.ItemDataRole.UserRole, choice.key)
            item.setToolTip(f"{choice.title}: {choice.count} values ({choice.category or 'uncategorized'})")
            self.observation_list.addItem(item)
            item.setSelected(choice.key in wanted)
        self.observation_list.blockSignals(False)
        self._plot_selected()

    def select_observations(self, keys: list[str]) -> None:
        """Plot exactly these observation keys (as if the user had selected them)."""
        self.observation_list.blockSignals(True)
        for index in range(self.observation_list.count()):
            item = self.observation_list.item(index)
            item.setSelected(item.data(Qt.ItemDataRole.UserRole) in keys)
        self.observation_list.blockSignals(False)
        self._plot_selected()

    def _plot_selected(self) -> None:
        for plot in self.plots:
            self.plot_column.removeWidget(plot)
            plot.deleteLater()
        self.plots = []
        keys = [item.data(Qt.ItemDataRole.UserRole) for item in self.observation_list.selectedItems()][:MAX_PLOTS]
        self.no_observations.setVisible(not keys)
        if self.observation_list.count() and not keys:
            self.no_observations.setText("Select an observation on the left to plot it.")
        elif not self.observation_list.count():
            self.no_observations.setText("No numeric observations recorded for this patient.")
        if self.records is None or self.patient_id is None:
            return
        from medassist.ui.records_plots import ObservationPlot

        for key in keys:
            plot = ObservationPlot()
            series = series_for(self.records, self.patient_id, key)
            plot.show_series(replace(series, dates=series.dates + np.timedelta64(self.shown.shift_days, "D")))
            if self.plots:
                plot.setXLink(self.plots[0])
            self.plots.append(plot)
            self.plot_column.addWidget(plot)

    def _show_notes(self, records: PatientRecords, patient_id: str) -> None:
        self._notes = records.for_patient("notes", patient_id).sort_values("date", ascending=False)
        self.note_list.blockSignals(True)
        self.note_list.clear()
        for _, note in self._notes.iterrows():
            item = QListWidgetItem(self._shown(f"{_date(self.shown.date(note['date']))}  {_text(note['title'])}"))
            item.setToolTip(item.text())
            self.note_list.addItem(item)
        self.note_list.blockSignals(False)
        self.note_text.clear()
        self.sections.setTabText(3, f"Notes ({len(self._notes)})")
        if len(self._notes):
            self.note_list.setCurrentRow(0)

    def _show_note(self, row: int) -> None:
        if 0 <= row < len(self._notes):
            self.note_text.setPlainText(self._shown(_text(self._notes.iloc[row]["text"])))

    def _shown(self, text: str) -> str:
        return self.shown.text(text) if self.shown is not None else text

