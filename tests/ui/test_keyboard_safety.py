"""No key changes the open patient or a clinical choice without an explicit action: Tab from the patient
search leaves the list without opening anyone; the care setting does not change on Ctrl+PgDown, arrows,
letters or the wheel, only by a pick from its open list."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from medassist.demo import build_demo
from medassist.ui.widgets.keyboard_safety import ChoiceCombo, PatientTable


def _wheel(widget, delta: int) -> None:
    event = QWheelEvent(QPointF(5, 5), QPointF(widget.mapToGlobal(QPoint(5, 5))), QPoint(0, 0), QPoint(0, delta),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_a_choice_combo_changes_only_by_a_pick_from_its_list(qtbot):
    combo = ChoiceCombo()
    qtbot.addWidget(combo)
    combo.addItems(["Decide (no setting chosen)", "Outpatient", "Inpatient ward", "Severe / ICU"])
    combo.show()
    combo.setFocus()
    for key, modifiers in ((Qt.Key.Key_Down, Qt.KeyboardModifier.NoModifier), (Qt.Key.Key_PageDown, Qt.KeyboardModifier.ControlModifier),
                           (Qt.Key.Key_PageDown, Qt.KeyboardModifier.NoModifier), (Qt.Key.Key_End, Qt.KeyboardModifier.NoModifier),
                           (Qt.Key.Key_O, Qt.KeyboardModifier.NoModifier), (Qt.Key.Key_Up, Qt.KeyboardModifier.NoModifier)):
        QTest.keyClick(combo, key, modifiers)
        assert combo.currentIndex() == 0, (key, modifiers)
    _wheel(combo, -120)
    assert combo.currentIndex() == 0
    QTest.keyClick(combo, Qt.Key.Key_Space)  # an explicit action opens the list ...
    qtbot.waitUntil(lambda: combo.view().isVisible(), timeout=3000)
    combo.view().setCurrentIndex(combo.model().index(2, 0))
    QTest.keyClick(combo.view(), Qt.Key.Key_Return)  # ... and a pick from it changes the choice
    qtbot.waitUntil(lambda: combo.currentIndex() == 2, timeout=3000)


def test_ctrl_page_down_on_the_care_setting_moves_to_the_next_tab_not_the_next_setting(qtbot, window):
    treatment = window.tab_pages["Treatment"]
    window.tabs.setCurrentWidget(treatment)
    assert isinstance(treatment.setting, ChoiceCombo)
    before = treatment.setting.currentIndex()
    treatment.setting.setFocus()
    QTest.keyClick(treatment.setting, Qt.Key.Key_PageDown, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(treatment.setting, Qt.Key.Key_Down)
    _wheel(treatment.setting, -120)
    assert treatment.setting.currentIndex() == before


def test_tab_from_the_patient_search_leaves_the_list_without_opening_a_patient(qtbot, window):
    session = window.session
    demo = build_demo()
    session.set_records(demo.records)
    records = window.tab_pages["Records"]
    window.tabs.setCurrentWidget(records)
    qtbot.waitUntil(lambda: records.list_ready, timeout=20000)
    session.set_current_patient("DEMO-01")
    assert isinstance(records.table, PatientTable) and not records.table.tabKeyNavigation()
    records.search.setFocus()
    records.search.setText("Specimen")  # a match that hides the open patient's row
    records.apply_search()
    shown = {records.proxy.patient_id(r) for r in range(records.proxy.rowCount())}
    assert shown and "DEMO-01" not in shown
    for _ in range(6):  # into the list, and on: never walking its cells into a patient
        QTest.keyClick(QApplication.focusWidget() or records.search, Qt.Key.Key_Tab)
        assert session.current_patient_id == "DEMO-01"
    records.search.setText("")
    records.apply_search()
    records.table.setFocus(Qt.FocusReason.TabFocusReason)
    QTest.keyClick(records.table, Qt.Key.Key_Tab)
    assert session.current_patient_id == "DEMO-01" and not records.table.hasFocus()
