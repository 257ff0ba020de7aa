"""The patient panel: who the patient is, allergies in red, the clinical picture (values with their
sources, problems by concept, scores, care setting, sepsis signs), active problems, current
medications, vitals and labs over time against ranges for the patient's age and sex with a table
of the latest values flagged H/L, the encounters timeline and the notes.

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

from medassist.clinical.ranges import reference_range
from medassist.domain.clinical import ClinicalPicture
from medassist.domain.result_text import age_text
from medassist.privacy import ShownPolicy
from medassist.records import summary
from medassist.records.charts import default_choices, observation_choices, series_for
from medassist.records.schema import PatientRecords
from medassist.ui.picture_view import PictureView, flag_item, latest_value_rows
from medassist.ui.widgets.fitting import ColumnFitter, proportions, wrap_items

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

    def __init__(self, headers: list[str], optional: list[int] | None = None) -> None:
        super().__init__(0, len(headers))
        self.setHorizontalHeaderLabels(headers)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setWordWrap(True)  # a drug or problem name wraps in a narrow column: never cut to read like another
        self.setAlternatingRowColors(True)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # the first column takes the width the others leave and wraps; ``optional`` columns are hidden in turn
        # (the last first) when the table is too narrow for them
        self.columns = ColumnFitter(self, stretch=0, optional=optional or [],
                                    caps={column: 24 for column in range(1, len(headers))})

    def set_rows(self, rows: list[list[str]], flags: list[str] | None = None) -> None:
        """The rows; with ``flags``, each row's value and flag cells (columns 1 and the last) marked as outside
        the range before the columns are measured (a flagged value is bold: wider)."""
        self.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                self.setItem(r, c, item)
            for column in (1, self.columnCount() - 1) if flags else ():
                flag_item(self.item(r, column), flags[r])
        self.columns.fit(remeasure=True)

    def cell_texts(self) -> list[list[str]]:
        return [[self.item(r, c).text() for c in range(self.columnCount())] for r in range(self.rowCount())]


class PatientPanel(QWidget):
    """Everything about one patient, refreshed by :meth:`show_patient`."""

    def __init__(self) -> None:
        super().__init__()
        self.records: PatientRecords | None = None
        self.patient_id: str | None = None
        self.picture: ClinicalPicture | None = None
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

        self.problems = RecordTable(["Problem", "Code", "Since"], optional=[2, 1])
        self.medications = RecordTable(["Medication", "Code", "Since", "Reason"], optional=[2, 3, 1])
        overview = QSplitter(Qt.Orientation.Vertical)
        overview.addWidget(self._titled("Active problems", self.problems))
        overview.addWidget(self._titled("Current medications", self.medications))
        proportions(overview, 1, 1)

        self.observation_list = QListWidget()
        self.observation_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        wrap_items(self.observation_list)  # a long observation name wraps in the narrow list
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
        # the value and its H/L flag always show; when narrow the date is hidden, then the reference range
        self.latest = RecordTable(["Latest value", "Value", "Date", "Reference for age and sex", "H/L"], optional=[3, 2])
        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.addWidget(self._titled("Observations", self.observation_list))
        plots.addWidget(plot_scroll)
        proportions(plots, 1, 3)
        # the latest values under the plots, across the panel's whole width, so a value never needs a scrollbar
        vitals = QSplitter(Qt.Orientation.Vertical)
        vitals.addWidget(plots)
        vitals.addWidget(self._titled("Latest values (H/L for age and sex)", self.latest))
        proportions(vitals, 1, 1)

        self.picture_view = PictureView()

        self.timeline: EncounterTimeline | None = None  # a pyqtgraph plot: made for the first patient shown
        self.encounters = RecordTable(["Encounter", "Class", "Start", "Reason"], optional=[2, 3, 1])
        self._encounter_split = QSplitter(Qt.Orientation.Vertical)
        self._encounter_split.addWidget(self.encounters)

        self.note_list = QListWidget()
        wrap_items(self.note_list)
        self.note_list.currentRowChanged.connect(self._show_note)
        self.note_text = QTextBrowser()
        self.note_text.setPlaceholderText("No notes for this patient (Synthea CSV exports carry none; FHIR DocumentReference notes appear here).")
        notes = QSplitter(Qt.Orientation.Horizontal)
        notes.addWidget(self.note_list)
        notes.addWidget(self.note_text)
        proportions(notes, 1, 2)
        self._notes: pd.DataFrame = pd.DataFrame()

        self.sections = QTabWidget()
        self.sections.addTab(self.picture_view, "Clinical picture")
        self.sections.addTab(overview, "Problems && medications")
        self.sections.addTab(vitals, "Vitals && labs")
        self.sections.addTab(self._encounter_split, "Encounters")
        self.sections.addTab(notes, "Notes")
        self._notes_page = notes

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
        heading.setWordWrap(True)
        heading.setStyleSheet("font-weight: 600;")
        column.addWidget(heading)
        column.addWidget(widget)
        return box

    # -- content --------------------------------------------------------------------------
    def show_patient(self, records: PatientRecords, patient_id: str | None, picture: ClinicalPicture | None = None) -> None:
        """Show the patient; ``picture`` (from :func:`medassist.app.picture.clinical_picture`) fills the
        Clinical picture tab, the latest values and the plots' age-appropriate ranges."""
        self.records, self.patient_id = records, patient_id
        self.picture = picture if picture is not None and picture.patient_id == patient_id else None
        shown = self.shown = ShownPolicy(records, patient_id, self.presenting)
        if patient_id is None or not records.has_patient(patient_id):
            self.name_label.setText("No patient selected")
            for widget in (self.demographics, self.allergy_banner):
                widget.clear()
            self.allergy_banner.setStyleSheet("")
            for table in (self.problems, self.medications, self.encounters, self.latest):
                table.set_rows([])
            self.picture_view.show_picture(None)
            self.observation_list.clear()
            self.note_list.clear()
            self.note_text.clear()
            return
        self._show_demographics(records, patient_id)
        self._show_allergies(records, patient_id)
        self.show_picture(self.picture)
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

    def show_picture(self, picture: ClinicalPicture | None) -> None:
        """The clinical picture and the latest values flagged for the patient's age and sex (refreshed
        on its own when a result or a confirmed finding changes the picture)."""
        self.picture = picture
        self.picture_view.show_picture(picture, self._picture_text)
        rows = latest_value_rows(picture) if picture is not None else []
        self.latest.set_rows([[self._picture_text(cell) for cell in cells] for cells, _, _ in rows],
                             [flag for _, flag, _ in rows])
        for index, (_, _, source) in enumerate(rows):
            self.latest.item(index, 3).setToolTip(f"Reference range: {source}")

    def _encounter_timeline(self) -> EncounterTimeline:
        """The timeline above the encounters table, made on first use."""
        if self.timeline is None:
            from medassist.ui.records_plots import EncounterTimeline

            self.timeline = EncounterTimeline()
            self._encounter_split.insertWidget(0, self.timeline)
            proportions(self._encounter_split, 2, 3)
        return self.timeline

    def _show_demographics(self, records: PatientRecords, patient_id: str) -> None:
        row = records.patient_row(patient_id)
        self.name_label.setText(self.shown.label())
        age = summary.age_years(records, patient_id)
        parts = [_text(row["sex"]) or "sex unknown"]
        if age is not None:
            parts.append(self.shown.age(age) if self.presenting else age_text(age))
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

        age, sex, pregnant = self._age_sex()
        for key in keys:
            plot = ObservationPlot()
            series = series_for(self.records, self.patient_id, key)
            plot.show_series(replace(series, dates=series.dates + np.timedelta64(self.shown.shift_days, "D")),
                             reference_range(key, age, sex, pregnant))
            if self.plots:
                plot.setXLink(self.plots[0])
            self.plots.append(plot)
            self.plot_column.addWidget(plot)

    def _age_sex(self) -> tuple[float | None, str, bool | None]:
        """Age, sex and pregnancy the plots' ranges are chosen by (the picture's, else the record's)."""
        if self.picture is not None:
            return self.picture.age_years, self.picture.sex, self.picture.pregnant
        assert self.records is not None and self.patient_id is not None
        sex = self.records.patient_row(self.patient_id)["sex"]
        return summary.age_years(self.records, self.patient_id), _text(sex) or "unknown", None

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
        self.sections.setTabText(self.sections.indexOf(self._notes_page), f"Notes ({len(self._notes)})")
        if len(self._notes):
            self.note_list.setCurrentRow(0)

    def _show_note(self, row: int) -> None:
        if 0 <= row < len(self._notes):
            self.note_text.setPlainText(self._shown(_text(self._notes.iloc[row]["text"])))

    def _picture_text(self, text: str) -> str:
        """The picture's text as it may be shown: when presenting, scrubbed (dates moved) and the
        patient's age as its band wherever it is written."""
        if not self.presenting or self.picture is None or self.picture.age is None:
            return self._shown(text)
        return self._shown(text).replace(age_text(self.picture.age.years), self.shown.age(self.picture.age.years)
                                         if self.shown is not None else "")

    def _shown(self, text: str) -> str:
        return self.shown.text(text) if self.shown is not None else text

