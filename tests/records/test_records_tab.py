"""Records tab (pytest-qt): the patient list filters, sorts and selects; the session follows the
selection and the tab follows the session; the panel shows allergies, plots, notes; the import
report is savable; plain tables go through the column mapping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QDialogButtonBox

from medassist.bench.records import patient_table
from medassist.records import summary
from medassist.records.importer import import_records
from medassist.records.patient_list import COLUMNS, PatientList
from medassist.records.schema import PatientRecords
from medassist.session import Session
from medassist.settings import Settings
from medassist.ui.bridge import SessionBridge
from medassist.ui.context import AppContext
from medassist.ui.records_dialogs import ColumnMappingDialog
from medassist.ui.records_model import PatientFilterProxy, PatientTableModel
from medassist.ui.tabs.records_tab import RecordsTab
from medassist.ui.workers import JobRunner
from tests.services import cpu_services


@pytest.fixture()
def context(qtbot, user_home):
    session = Session()
    runner = JobRunner(max_threads=1)
    messages: list[tuple[str, str]] = []
    ctx = AppContext(session=session, bridge=SessionBridge(session), runner=runner, services=cpu_services(),
                     show_message=lambda title, text: messages.append((title, text)))
    ctx.messages = messages
    yield ctx
    runner.shutdown(5000)


@pytest.fixture()
def tab(qtbot, context):
    page = RecordsTab(context)
    qtbot.addWidget(page)
    page.resize(1400, 900)
    return page


def load(qtbot, tab, records, source="test"):
    tab.session.set_records(records, [source])
    qtbot.waitUntil(lambda: tab.list_ready, timeout=20000)


def click_row(tab, row):
    index = tab.proxy.index(row, 0)
    tab.table.selectionModel().setCurrentIndex(
        index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)


def test_filter_and_select_update_the_session(qtbot, tab, cohort_a_csv):
    records = cohort_a_csv
    assert not tab.showing_content
    load(qtbot, tab, records)
    assert tab.showing_content and tab.proxy.rowCount() == 59
    assert tab.count_label.text() == "59 patients"

    with_diabetes = set(records.conditions.loc[
        records.conditions["description"].str.contains("diabetes", case=False), "patient_id"])
    tab.search.setText("Diabetes")
    qtbot.waitUntil(lambda: tab.proxy.rowCount() == len(with_diabetes), timeout=3000)
    shown = {tab.proxy.patient_id(r) for r in range(tab.proxy.rowCount())}
    assert shown == with_diabetes and 0 < len(shown) < 59
    assert tab.count_label.text() == f"{len(shown)} of 59 patients"

    click_row(tab, 2)
    chosen = tab.proxy.patient_id(2)
    assert tab.session.current_patient_id == chosen
    assert tab.panel.name_label.text() == records.display_name(chosen)

    # filter by name and by ID
    name = records.display_name(records.patient_ids[5])
    tab.search.setText(name.split()[0])
    tab.apply_search()
    assert records.patient_ids[5] in {tab.proxy.patient_id(r) for r in range(tab.proxy.rowCount())}
    tab.search.setText(records.patient_ids[7][:13])
    tab.apply_search()
    assert [tab.proxy.patient_id(r) for r in range(tab.proxy.rowCount())] == [records.patient_ids[7]]

    # another tab choosing a patient: the list and the panel follow
    tab.search.clear()
    tab.apply_search()
    other = records.patient_ids[40]
    tab.session.set_current_patient(other)
    current = tab.table.selectionModel().currentIndex()
    assert tab.proxy.patient_id(current.row()) == other
    assert tab.panel.name_label.text() == records.display_name(other)


def test_sorting_keeps_the_selected_patient(qtbot, tab, cohort_a_csv):
    load(qtbot, tab, cohort_a_csv)
    click_row(tab, 10)
    chosen = tab.session.current_patient_id
    age = COLUMNS.index("Age")
    tab.table.sortByColumn(age, Qt.SortOrder.DescendingOrder)
    ages = [float(tab.proxy.index(r, age).data() or -1) for r in range(tab.proxy.rowCount())]
    assert ages == sorted(ages, reverse=True)
    current = tab.table.selectionModel().currentIndex()
    assert tab.proxy.patient_id(current.row()) == chosen == tab.session.current_patient_id
    tab.table.sortByColumn(COLUMNS.index("Name"), Qt.SortOrder.AscendingOrder)
    names = [tab.proxy.index(r, 0).data().lower() for r in range(tab.proxy.rowCount())]
    assert names == sorted(names)


def test_panel_shows_allergies_problems_medications_and_plots(qtbot, tab, cohort_a_csv):
    records = cohort_a_csv
    load(qtbot, tab, records)
    allergic = records.allergies["patient_id"].value_counts().idxmax()
    tab.session.set_current_patient(allergic)
    panel = tab.panel
    assert panel.allergy_banner.text().startswith("ALLERGIES: ")
    for description in summary.active_allergies(records, allergic)["description"]:
        assert f"<b>{description}</b>" in panel.allergy_banner.text()
    assert "#b00020" in panel.allergy_banner.styleSheet()
    active = summary.active_conditions(records, allergic)
    assert [row[0] for row in panel.problems.cell_texts()] == active["description"].tolist()
    current = summary.current_medications(records, allergic)
    assert panel.medications.rowCount() == len(current)
    assert panel.encounters.rowCount() == len(records.for_patient("encounters", allergic))

    keys = [panel.observation_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(panel.observation_list.count())]
    assert keys[0] == "systolic_bp" and "body_weight" in keys
    panel.select_observations(["systolic_bp", "body_weight"])
    assert len(panel.plots) == 2
    systolic, weight = panel.plots
    assert systolic.getAxis("left").labelText == "mm[Hg]" and weight.getAxis("left").labelText == "kg"
    bands = [item for item in systolic.getPlotItem().items if isinstance(item, pg.LinearRegionItem)]
    assert [tuple(b.getRegion()) for b in bands] == [(90.0, 130.0)]
    assert not [item for item in weight.getPlotItem().items if isinstance(item, pg.LinearRegionItem)]
    expected = summary.observation_series(records, allergic, "systolic_bp")
    assert list(systolic.ys) == [v.value for v in expected]
    text = systolic.hover_at(float(systolic.xs[0]), float(systolic.ys[0]))
    assert text == f"{expected[0].value:.4g} mm[Hg]\n{expected[0].date:%Y-%m-%d %H:%M}"
    assert systolic.label.isVisible()
    far = systolic.hover_at(float(systolic.xs[0]), float(systolic.ys.max()) * 10)
    assert far is None and not systolic.label.isVisible()


def test_fhir_notes_are_listed_with_their_text(qtbot, tab, cohort_a_fhir):
    records = cohort_a_fhir
    load(qtbot, tab, records)
    pid = records.notes["patient_id"].value_counts().idxmax()
    tab.session.set_current_patient(pid)
    notes = records.for_patient("notes", pid).sort_values("date", ascending=False)
    assert tab.panel.note_list.count() == len(notes)
    tab.panel.note_list.setCurrentRow(1)
    assert tab.panel.note_text.toPlainText() == notes.iloc[1]["text"]
    assert "# Chief Complaint" in tab.panel.note_text.toPlainText()


def test_import_report_is_readable_and_savable(qtbot, tab, tmp_path):
    path = tmp_path / "clinic.csv"
    path.write_text("MRN,Name,DOB,Sex\n1,Ann Doe,1950-01-01,F\n2,Bob Roe,someday,M\n", encoding="utf-8")
    load(qtbot, tab, import_records(path, remembered={}), str(path))
    assert tab.report_button.text() == "Import report (1 problem)"
    dialog = tab.report_dialog()
    qtbot.addWidget(dialog)
    text = dialog.text.toPlainText()
    assert f"Source: {path}" in text and "clinic.csv line 3: unknown date 'someday' in DOB; left empty" in text
    saved = tmp_path / "report.txt"
    dialog.save(saved)
    assert saved.read_text(encoding="utf-8") == text


def test_open_records_asks_for_the_columns_of_a_plain_table(qtbot, tab, context, tmp_path, monkeypatch):
    from medassist.ui import actions, records_dialogs

    path = tmp_path / "odd.csv"
    path.write_text("Key,Label,Born\nK1,Eva Koch,1980-01-02\nK2,Max Roth,1979-12-31\n", encoding="utf-8")
    asked = []

    def answer(p, remembered, parent=None):
        asked.append(str(p))
        return "Born|Key|Label", {"patient_id": "Key", "full_name": "Label", "birth_date": "Born"}

    monkeypatch.setattr(records_dialogs, "ask_column_mapping", answer)
    actions.open_records(context, str(path))
    qtbot.waitUntil(lambda: tab.list_ready and tab.proxy.rowCount() == 2, timeout=20000)
    assert asked == [str(path)]
    assert context.session.records.display_name("K2") == "Max Roth"
    assert context.session.current_patient_id == "K1"
    assert Settings.load().column_mappings["Born|Key|Label"]["patient_id"] == "Key"  # remembered for the layout

    monkeypatch.setattr(records_dialogs, "ask_column_mapping", lambda p, remembered, parent=None: None)  # user cancels
    actions.open_records(context, str(path))
    qtbot.wait(100)
    assert context.session.records.patient_ids == ["K1", "K2"] and not context.messages


def test_column_mapping_dialog(qtbot, tmp_path):
    columns = ["Key", "Label", "DOB"]
    preview = pd.DataFrame({"Key": ["K1"], "Label": ["Eva Koch"], "DOB": ["1980-01-02"]})
    dialog = ColumnMappingDialog(tmp_path / "odd.csv", columns, preview, {"birth_date": "DOB"})
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()  # no patient ID column chosen yet
    dialog.boxes["patient_id"].setCurrentText("Key")
    dialog.boxes["full_name"].setCurrentText("Label")
    assert ok.isEnabled()
    assert dialog.mapping() == {"patient_id": "Key", "full_name": "Label", "birth_date": "DOB"}


def test_model_over_a_large_generated_table(qtbot):
    frame = patient_table(20_000)
    records = import_records_frame(frame)
    patients = PatientList.build(records, today=pd.Timestamp("2025-01-01"))
    model = PatientTableModel(patients)
    proxy = PatientFilterProxy()
    proxy.setSourceModel(model)
    assert proxy.rowCount() == 20_000
    proxy.set_query("mrn0001234")
    assert [proxy.patient_id(r) for r in range(proxy.rowCount())] == ["MRN0001234"]
    proxy.set_query("grace okafor")
    expected = ((frame["First Name"] == "Grace") & (frame["Last Name"] == "Okafor")).sum()
    assert proxy.rowCount() == expected > 0
    proxy.sort(COLUMNS.index("Born"), Qt.SortOrder.AscendingOrder)
    born = [proxy.index(r, COLUMNS.index("Born")).data() for r in range(proxy.rowCount())]
    assert born == sorted(born) and proxy.rowCount() == expected
    proxy.set_query("")
    last = proxy.index(19_999, COLUMNS.index("Born")).data()
    assert last == frame["Date of Birth"].max()


def import_records_frame(frame):
    patients = pd.DataFrame({
        "patient_id": frame["MRN"], "given_name": frame["First Name"], "family_name": frame["Last Name"],
        "birth_date": pd.to_datetime(frame["Date of Birth"]), "sex": np.where(frame["Sex"] == "F", "female", "male"),
    })
    return PatientRecords.from_frames(patients=patients)
