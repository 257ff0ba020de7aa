"""Atomic file writes, the one way MedAssist writes a file: a crash, power cut or full disk never
leaves a half-written file under the target name. The data goes to a temporary file with a unique
name in the same folder (same file system, so the rename is atomic), is flushed to disk with
fsync, then replaces the target in one step and the folder is synced so the rename survives too.

It sits at the bottom of the import layers so every package that writes (settings, records'
column mappings, session files, reports, hospital results, model bundles, the CLI) can use it.
Appending to a log (the audit trail, ``predict --output``'s JSON lines) is not a file write in
this sense: each line is added whole to the end, and the readers of those files skip a torn last line.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from medassist.errors import MedAssistError

TEMP_SUFFIX = ".part"


class WriteError(MedAssistError):
    """A file could not be written (read-only folder, full disk, missing folder, ...)."""


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "the folder is read-only or you are not allowed to write there; choose another folder"
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return "the disk is full; free some space or choose another drive (nothing was written)"
    return f"could not be written ({exc.strerror or exc})"


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows has no directory handles to sync."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(target: str | Path, write: Callable[[BinaryIO], object], keep_existing: bool = False) -> Path:
    """Call ``write(handle)`` on a temp file beside ``target``, fsync it, then rename it over ``target``.

    On any failure the temp file is removed and the previous ``target`` (if any) is untouched.
    With ``keep_existing`` a file already at ``target`` is never replaced (the new bytes are
    dropped): for stores whose files, once written, must not change.
    OS errors become a :class:`WriteError` that names the file and says what to do.
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise WriteError("the folder does not exist", folder)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=TEMP_SUFFIX)
    except OSError as exc:
        raise WriteError(_reason(exc), target) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if keep_existing:
            with contextlib.suppress(FileExistsError):
                os.link(tmp, target)  # fails, leaving the existing file, when the name is taken
            tmp.unlink()
        else:
            os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise WriteError(_reason(exc), target) from exc
        raise
    _fsync_folder(folder)
    return target


def atomic_write_bytes(target: str | Path, data: bytes, keep_existing: bool = False) -> Path:
    return atomic_write(target, lambda handle: handle.write(data), keep_existing)


def atomic_write_text(target: str | Path, text: str) -> Path:
    """UTF-8 text (JSON, Markdown, a desktop entry), written atomically."""
    return atomic_write_bytes(target, text.encode("utf-8"))
