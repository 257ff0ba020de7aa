"""Re-emits the core :class:`~medassist.session.Session` signals as Qt signals on the GUI thread.

Core signals may fire from worker threads; Qt signals emitted there reach GUI-thread slots
through queued connections, so widgets only ever update on the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from medassist.session import Session


class SessionBridge(QObject):
    records_changed = Signal()
    patient_changed = Signal(object)
    images_changed = Signal(str)
    prediction_added = Signal(object)
    explanation_added = Signal(object, object)
    decisions_changed = Signal(str)
    notes_changed = Signal(str)
    demo_changed = Signal(bool)

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        session.records_changed.connect(self.records_changed.emit)
        session.patient_changed.connect(self.patient_changed.emit)
        session.images_changed.connect(self.images_changed.emit)
        session.prediction_added.connect(self.prediction_added.emit)
        session.explanation_added.connect(self.explanation_added.emit)
        session.decisions_changed.connect(self.decisions_changed.emit)
        session.notes_changed.connect(self.notes_changed.emit)
        session.demo_changed.connect(self.demo_changed.emit)
