"""Autosave every 30 s while the session changes, and the offer to restore after a crash.

The core :class:`~medassist.persistence.autosave.Autosaver` decides what and where; this
drives it from a QTimer (copy on the GUI thread, write in a worker) and asks the user at
start-up whether to restore what a crashed MedAssist left behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMessageBox, QWidget

from medassist.jobs import Progress
from medassist.persistence.autosave import AUTOSAVE_INTERVAL_S, Autosaver, CrashRecovery, find_crash_recovery
from medassist.ui.context import AppContext
from medassist.ui.session_files import open_session

if TYPE_CHECKING:
    from medassist.app.sessions import RestoredSession


class AutosaveController(QObject):
    """Saves the session to the user data folder whenever it changed, at most every ``interval_s``."""

    def __init__(self, context: AppContext, parent: QObject | None = None, interval_s: float = AUTOSAVE_INTERVAL_S) -> None:
        super().__init__(parent)
        self.context = context
        self.autosaver = Autosaver(context.session)
        self.timer = QTimer(self)
        self.timer.setInterval(int(interval_s * 1000))
        self.timer.timeout.connect(self.tick)
        self.busy = False
        self.warned = False

    def start(self) -> None:
        self.autosaver.start()
        self.timer.start()

    def tick(self) -> None:
        if self.busy:
            return
        snapshot = self.autosaver.take_snapshot()
        if snapshot is None:
            return
        self.busy = True

        def job():
            yield Progress(0.1, "Autosaving the session")
            return self.autosaver.write(snapshot)

        self.context.runner.submit("Autosave", job, on_result=self._saved, on_error=self._failed)

    def _saved(self, _path) -> None:
        self.busy = False

    def _failed(self, message: str) -> None:
        self.busy = False
        if not self.warned:  # one message; later attempts retry silently
            self.warned = True
            self.context.show_message("Autosave failed", f"{message}\nYour work is kept in memory; save the session to a file.")

    def finish(self) -> None:
        """Clean exit: stop the timer and remove the crash marker and autosave."""
        self.timer.stop()
        self.autosaver.finish()


def ask_restore(parent: QWidget, recovery: CrashRecovery) -> QMessageBox.StandardButton:
    box = QMessageBox(QMessageBox.Icon.Question, "Restore previous session?",
                      f"MedAssist did not close normally last time (started {recovery.started}).\n"
                      f"An autosaved session from {recovery.saved} is available.", parent=parent)
    box.setInformativeText("Restore it now? 'Ignore' asks again next time; 'Discard' deletes it.")
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard
                           | QMessageBox.StandardButton.Ignore)
    box.button(QMessageBox.StandardButton.Yes).setText("Restore")
    box.setDefaultButton(QMessageBox.StandardButton.Yes)
    return QMessageBox.StandardButton(box.exec())


def offer_restore(context: AppContext, parent: QWidget, ask=ask_restore, on_restored=None) -> CrashRecovery | None:
    """At start-up: if a crashed MedAssist left an autosave, offer to restore it."""
    recovery = find_crash_recovery()
    if recovery is None:
        return None
    answer = ask(parent, recovery)
    if answer == QMessageBox.StandardButton.Yes:
        def restored(result: RestoredSession) -> None:
            recovery.discard()
            if on_restored is not None:
                on_restored(result)

        open_session(context, recovery.autosave, restored)
    elif answer == QMessageBox.StandardButton.Discard:
        recovery.discard()
    return recovery
