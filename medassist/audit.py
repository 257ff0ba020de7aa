"""Per-session audit trail: one JSON line per model run, never lost or interleaved, tamper-evident.

Each line carries ``prev_sha256``, the SHA-256 of the line before it (the first line of a file
chains to :data:`GENESIS`), so editing or removing a line breaks the chain at the next line;
:func:`verify_chain` (``medassist audit verify``) finds the first break. A line records the OS
user and the MedAssist user name (``Settings.app_user``: Settings > User name, or ``--user`` on the
command line). The composition root (:mod:`medassist.composition`) makes each entry point's one log.

Writers append whole lines with a single ``os.write`` on a file opened with ``O_APPEND``. Reading
the last line and appending the next one happen under an exclusive advisory lock on the file
(``flock``), so concurrent threads and processes chain each line to the one really before it.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import hashlib
import json
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from medassist import __version__, paths
from medassist.bounded import MAX_LOG_LINE, log_lines
from medassist.domain import codec
from medassist.errors import InputError
from medassist.domain.prediction import Prediction

try:
    import fcntl
except ImportError:  # Windows: one MedAssist process writes each session's file; the thread lock suffices
    fcntl = None  # type: ignore[assignment]  # the module or None: the writer checks before locking

GENESIS = "0" * 64  # what the first line of every audit file chains to
CHAIN_FIELD = "prev_sha256"
_TAIL_CHUNK = 65536


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # getpass raises different errors per platform when no user is known
        return "unknown"


def line_sha256(line: bytes) -> str:
    """The hash the next line chains to: of the line's bytes without its newline."""
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


@contextmanager
def _exclusive(fd: int) -> Iterator[None]:
    if fcntl is None:
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _last_line(fd: int) -> bytes | None:
    """The file's last line (without reading the whole file); None when it is empty. A "line" longer
    than a log line may be (a damaged file) is cut at that length: the chain breaks there, as it should."""
    end = os.lseek(fd, 0, os.SEEK_END)
    if end == 0:
        return None
    tail = b""
    position = end
    while position > 0 and len(tail) <= MAX_LOG_LINE:
        step = min(_TAIL_CHUNK, position)
        position -= step
        tail = os.pread(fd, step, position) + tail
        if tail.rstrip(b"\n").rfind(b"\n") >= 0:
            break
    body = tail.rstrip(b"\n") if tail.endswith(b"\n") else tail
    return body[body.rfind(b"\n") + 1:]


class AuditLog:
    """Appends chained JSON lines to ``path`` (an entry point's: ``paths.new_audit_file()``), each
    naming ``app_user`` beside the OS user."""

    def __init__(self, path: str | Path, app_user: str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.user = _os_user()
        self.app_user = app_user
        self._lock = threading.Lock()

    def append(self, event: str, **fields: Any) -> dict[str, Any]:
        record = {
            "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds"),
            "event": event,
            "user": self.user,
            "app_user": self.app_user,
            "medassist_version": __version__,
            **fields,
        }
        with self._lock:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                with _exclusive(fd):
                    previous = _last_line(fd)
                    record[CHAIN_FIELD] = GENESIS if previous is None else line_sha256(previous)
                    line = (json.dumps(record, default=str, ensure_ascii=False) + "\n").encode("utf-8")
                    if previous is not None and not _ends_with_newline(fd):
                        line = b"\n" + line  # a torn last line stays a line of its own (and breaks the chain)
                    os.write(fd, line)
            finally:
                os.close(fd)
        return record

    def record_prediction(self, prediction: Prediction) -> dict[str, Any]:
        return self.append(
            "prediction",
            model=prediction.model,
            model_version=prediction.version,
            weights_sha256=prediction.weights_sha256,
            device=prediction.device,
            source=prediction.source,
            input_sha256=prediction.input_sha256,
            patient_id=prediction.patient_id,
            outputs={} if prediction.refused else {k: round(float(v), 6) for k, v in prediction.outputs.items()},
            positive=prediction.positive,
            gate=codec.plain(prediction.gate) if prediction.gate else None,
            missing_inputs=prediction.missing_inputs,
        )

    def read(self) -> list[dict[str, Any]]:
        return read_audit(self.path)


def read_audit(path: str | Path) -> list[dict[str, Any]]:
    """The lines of an audit file (none when it does not exist yet)."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in log_lines(path, "an audit trail") if line.strip()]


def _ends_with_newline(fd: int) -> bool:
    end = os.lseek(fd, 0, os.SEEK_END)
    return end == 0 or os.pread(fd, 1, end - 1) == b"\n"


@dataclass
class ChainCheck:
    """The result of checking one audit file: lines checked, and the first broken line (1-based)."""

    path: Path
    lines: int
    broken_line: int | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_line is None


def verify_chain(path: str | Path) -> ChainCheck:
    """Check that every line of an audit file chains to the one before it.

    A break at line N means line N-1 was changed, a line between them was removed, or line N
    itself is damaged. Lines removed from the end of a file leave no trace in the chain.
    """
    path = Path(path)
    expected = GENESIS
    count = 0
    try:
        for number, raw in enumerate(log_lines(path, "an audit trail"), start=1):
            count = number
            try:
                record = json.loads(raw)
            except (UnicodeDecodeError, ValueError, RecursionError):
                return ChainCheck(path, count, number, "not a JSON line (damaged or edited)")
            chained = record.get(CHAIN_FIELD) if isinstance(record, dict) else None
            if chained is None:
                return ChainCheck(path, count, number, f"has no {CHAIN_FIELD} (written before the chain, or edited)")
            if chained != expected:
                if number == 1:
                    reason = "does not chain to the start of the file (lines before it were removed)"
                else:
                    reason = f"does not chain to line {number - 1} (line {number - 1} was changed, or lines between them removed)"
                return ChainCheck(path, count, number, reason)
            if not raw.endswith(b"\n"):
                return ChainCheck(path, count, number, "is incomplete (no end of line)")
            expected = line_sha256(raw)
    except InputError as exc:  # a line too long to be one (a damaged file, or no audit trail)
        return ChainCheck(path, count + 1, count + 1, exc.reason)
    return ChainCheck(path, count)


def audit_files(path: str | Path | None = None) -> list[Path]:
    """The audit files at ``path`` (a file, or every ``.jsonl`` in a folder); default: this user's audit folder."""
    where = Path(path) if path is not None else paths.audit_dir()
    if where.is_dir():
        return sorted(where.glob("*.jsonl"))
    return [where]
