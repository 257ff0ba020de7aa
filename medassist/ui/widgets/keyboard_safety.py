"""Widgets that never change the open patient or a clinical choice on a navigation key.

A key pressed to move around the window (Tab, Ctrl+PgDown to the next tab, an arrow, the mouse
wheel over a control) must not change what the clinician decided:

* :class:`ChoiceCombo` is a combo box for a clinical choice (the care setting): it changes only through
  its open list (click, or Space / Enter / Alt+Down / F4 to open it, then pick). Arrows, Page Up/Down,
  Home/End and typed letters on the closed box, and the wheel, pass on to the window (Ctrl+PgDown still
  moves to the next tab) instead of choosing another item.
* :class:`PatientTable` is the patient list: Tab leaves it (it does not walk its cells into the next
  patient's row), and taking focus from the keyboard never makes a row current by itself (Qt's views make
  the first row current on focus, which opened that patient).
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSignalBlocker, Qt
from PySide6.QtGui import QFocusEvent, QKeyEvent, QWheelEvent
from PySide6.QtWidgets import QComboBox, QTableView, QWidget

_OPENING_KEYS = {Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_F4, Qt.Key.Key_Select}


class ChoiceCombo(QComboBox):
    """A combo box whose value changes only by an explicit pick from its open list."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # no focus (nor a change) from the wheel

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        key = event.key()
        opens = key in _OPENING_KEYS or (key in (Qt.Key.Key_Down, Qt.Key.Key_Up)
                                         and event.modifiers() & Qt.KeyboardModifier.AltModifier)
        if opens:
            self.showPopup()
            event.accept()
            return
        if key in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab, Qt.Key.Key_Escape):
            super().keyPressEvent(event)
            return
        event.ignore()  # arrows, Page Up/Down (with or without Ctrl), Home/End, letters: the window's, not a choice

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt API)
        event.ignore()  # scroll the page, never the choice


class PatientTable(QTableView):
    """The patient list: Tab leaves it, and keyboard focus alone never makes a row (a patient) current."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabKeyNavigation(False)

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 (Qt API)
        selection = self.selectionModel()
        if selection is None or selection.currentIndex().isValid():
            super().focusInEvent(event)
            return
        with QSignalBlocker(selection):  # Qt would make the first row current here: it stays unset
            super().focusInEvent(event)
            selection.setCurrentIndex(QModelIndex(), QItemSelectionModel.SelectionFlag.NoUpdate)
