"""Common tab behaviour: a title, the shared context, and an empty state that says what to do."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from medassist.ui.context import AppContext


class EmptyState(QWidget):
    """A centred message telling the user what this tab needs before it can show anything."""

    def __init__(self, heading: str, hint: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        self.heading = QLabel(heading)
        self.heading.setObjectName("emptyHeading")
        self.heading.setWordWrap(True)
        self.heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint = QLabel(hint)
        self.hint.setObjectName("emptyHint")
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.heading)
        layout.addWidget(self.hint)
        layout.addStretch(2)

    def set_text(self, heading: str, hint: str) -> None:
        self.heading.setText(heading)
        self.hint.setText(hint)


class Tab(QWidget):
    """A main-window tab: an empty state page and a content page, switched by :meth:`show_content`."""

    title = "Tab"

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.session = context.session
        self._stack = QStackedWidget(self)
        self.empty = EmptyState("", "")
        self.content = QWidget()
        self._stack.addWidget(self.empty)
        self._stack.addWidget(self.content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self._stack)
        self.shown_patient_id: str | None = context.session.current_patient_id
        context.bridge.patient_changed.connect(self._follow_patient)

    def status_bar_widgets(self) -> list[QWidget]:
        """Widgets this tab keeps in the main window's status bar (placed when the tab is built)."""
        return []

    def show_content(self, visible: bool) -> None:
        self._stack.setCurrentWidget(self.content if visible else self.empty)

    @property
    def showing_content(self) -> bool:
        return self._stack.currentWidget() is self.content

    def _follow_patient(self, patient_id: str | None) -> None:
        self.shown_patient_id = patient_id
        self.on_patient_changed(patient_id)

    def on_patient_changed(self, patient_id: str | None) -> None:
        """Refresh for the new current patient (tabs override)."""
