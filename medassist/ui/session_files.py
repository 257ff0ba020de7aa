"""File > Open session / Save session / Save session as: ``.medassist`` files through workers.

The session is copied on the GUI thread (fast), hashed and written in a worker (atomic);
opening re-reads records and images in a worker, then replaces the session's contents on
the GUI thread and tells the user which sources were missing or changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtWidgets import QFileDialog, QWidget

from medassist.jobs import Progress
from medassist.ui.context import AppContext

if TYPE_CHECKING:  # session files import pandas: loaded on first use, not before the window paints
    from medassist.app.sessions import RestoredSession


def _filter() -> str:
    from medassist.persistence.session_file import SUFFIX

    return f"MedAssist sessions (*{SUFFIX});;All files (*)"


def open_session(context: AppContext, path: str | Path, on_done: Callable[[RestoredSession], None] | None = None) -> None:
    """Read ``path`` in a worker and load it into the session; problems are shown, never lost silently."""
    from medassist.app import sessions

    path = Path(path)
    remembered = context.settings.column_mappings

    def done(restored: RestoredSession) -> None:
        sessions.restore(context.session, restored)
        if not restored.complete:
            context.show_message("Session opened with missing or changed sources", restored.summary())
        if on_done is not None:
            on_done(restored)

    context.runner.submit(f"Open session {path.name}", lambda: sessions.open_session(path, remembered), on_result=done,
                          on_error=lambda message: context.show_message("Could not open the session", message))


def save_session_file(context: AppContext, path: str | Path, on_done: Callable[[Path], None] | None = None) -> None:
    from medassist.persistence.session_file import capture, write_snapshot

    snapshot = capture(context.session)
    path = Path(path)

    def job():
        yield Progress(0.1, f"Saving {path.name}")
        return write_snapshot(snapshot, path)

    context.runner.submit(f"Save session {path.name}", job, on_result=on_done,
                          on_error=lambda message: context.show_message("Could not save the session", message))


class SessionFiles:
    """Remembers the current session file so Save writes where Open or Save as pointed."""

    def __init__(self, context: AppContext, window: QWidget, folder: Callable[[], str] | None = None,
                 on_saved: Callable[[Path], None] | None = None,
                 on_opened: Callable[[RestoredSession], None] | None = None) -> None:
        self.context = context
        self.window = window
        self.path: Path | None = None
        self._folder = folder or (lambda: str(Path.home()))
        self.on_saved = on_saved
        self.on_opened = on_opened

    def open_dialog(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self.window, "Open session", self._folder(), _filter())
        if name:
            self.open(name)

    def open(self, path: str | Path) -> None:
        def done(restored: RestoredSession) -> None:
            self.path = restored.path
            if self.on_opened is not None:
                self.on_opened(restored)

        open_session(self.context, path, done)

    def save(self) -> None:
        if self.path is None:
            self.save_as()
        else:
            save_session_file(self.context, self.path, self.on_saved)

    def save_as(self) -> None:
        from medassist.persistence.session_file import SUFFIX

        suggested = str(self.path) if self.path else str(Path(self._folder()) / f"session{SUFFIX}")
        name, _ = QFileDialog.getSaveFileName(self.window, "Save session as", suggested, _filter())
        if not name:
            return
        path = Path(name) if name.endswith(SUFFIX) else Path(name + SUFFIX)
        self.path = path
        save_session_file(self.context, path, self.on_saved)
