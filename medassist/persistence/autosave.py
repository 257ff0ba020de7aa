"""Autosave and crash detection, Qt-free (the GUI drives :class:`Autosaver` from a QTimer).

While MedAssist runs, a marker file ``running-<pid>.json`` sits in the user data folder's
``autosave/`` folder beside that process's ``autosave-<pid>.medassist``. A clean exit removes
both. A marker whose process is no longer alive means MedAssist crashed (or the power went):
its autosave is offered for restore at the next start.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from medassist import paths
from medassist.atomic import atomic_write_text
from medassist.bounded import STATE_FILE
from medassist.errors import InputError
from medassist.persistence.session_file import SUFFIX, SessionSnapshot, capture, write_snapshot
from medassist.session import Session

AUTOSAVE_INTERVAL_S = 30  # at most a minute of work is lost, even if a save is skipped once


def autosave_dir() -> Path:
    folder = paths.user_data_dir() / "autosave"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if sys.platform == "win32":  # (not os.name: mypy skips a sys.platform branch on other systems)
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        ctypes.windll.kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class CrashRecovery:
    """An autosave left by a MedAssist that did not exit cleanly."""

    marker: Path
    autosave: Path
    started: str
    saved: str

    def discard(self) -> None:
        for path in (self.autosave, self.marker):
            with contextlib.suppress(OSError):
                path.unlink()


def find_crash_recovery(folder: Path | None = None) -> CrashRecovery | None:
    """The newest autosave of a process that died with its marker still present, if any.

    Markers of dead processes without an autosave (crash before the first save) are removed.
    """
    folder = folder or autosave_dir()
    found: list[CrashRecovery] = []
    for marker in folder.glob("running-*.json"):
        try:
            info = json.loads(STATE_FILE.read_bytes(marker))
            pid = int(info["pid"])
        except (InputError, ValueError, KeyError, TypeError, RecursionError):
            continue
        if _pid_alive(pid):
            continue
        autosave = folder / f"autosave-{pid}{SUFFIX}"
        if not autosave.exists():
            with contextlib.suppress(OSError):
                marker.unlink()
            continue
        saved = _dt.datetime.fromtimestamp(autosave.stat().st_mtime).isoformat(sep=" ", timespec="seconds")
        found.append(CrashRecovery(marker, autosave, str(info.get("started", "?")), saved))
    return max(found, key=lambda r: r.saved) if found else None


class Autosaver:
    """Marks this process as running and saves the session when it changed since the last save."""

    def __init__(self, session: Session, folder: Path | None = None) -> None:
        self.session = session
        self.folder = folder or autosave_dir()
        self.marker = self.folder / f"running-{os.getpid()}.json"
        self.path = self.folder / f"autosave-{os.getpid()}{SUFFIX}"
        self.dirty = False
        for signal in (
            session.records_changed, session.patient_changed, session.images_changed, session.prediction_added,
            session.explanation_added, session.decisions_changed, session.notes_changed,
        ):
            signal.connect(self._mark_dirty)

    def _mark_dirty(self, *_args: object) -> None:
        self.dirty = True

    def start(self) -> None:
        started = _dt.datetime.now().isoformat(sep=" ", timespec="seconds")
        atomic_write_text(self.marker, json.dumps({"pid": os.getpid(), "started": started}))

    def take_snapshot(self) -> SessionSnapshot | None:
        """A copy to save if the session changed since the last save (call on the GUI thread)."""
        if not self.dirty:
            return None
        self.dirty = False
        return capture(self.session)

    def write(self, snapshot: SessionSnapshot) -> Path:
        """Write a snapshot (safe in a worker); on failure the session is marked changed again."""
        try:
            return write_snapshot(snapshot, self.path)
        except Exception:
            self.dirty = True
            raise

    def save_now(self) -> Path | None:
        snapshot = self.take_snapshot()
        return self.write(snapshot) if snapshot is not None else None

    def finish(self) -> None:
        """Clean exit: nothing to recover, so the marker and the autosave go."""
        for path in (self.path, self.marker):
            with contextlib.suppress(OSError):
                path.unlink()
