"""Atomic file writes: a crash, power cut or full disk never leaves a half-written file under
the target name. The data goes to a temporary file in the same folder (same file system, so
the rename is atomic), is flushed to disk with fsync, then replaces the target in one step.
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


def atomic_write(target: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(handle)`` on a temp file beside ``target``, fsync it, then rename it over ``target``.

    On any failure the temp file is removed and the previous ``target`` (if any) is untouched.
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
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise WriteError(_reason(exc), target) from exc
        raise
    _fsync_folder(folder)
    return target


def atomic_write_bytes(target: str | Path, data: bytes) -> Path:
    return atomic_write(target, lambda handle: handle.write(data))
