"""Bounded reading: how large a file each reader accepts, and how long it may spend parsing one.

Every reader of a file the user gives or the app finds (images, DICOM, records, session files,
model cards and weights, settings, notes, line logs) checks the file's size against its
:class:`ReadLimit` before reading a byte, reads at most that much, and stops parsing at the
limit's time budget. A file over either limit is refused with one line naming the file and the
limit, so a huge or crafted file (a 2 GiB file of zeros named ``.dcm``, a CSV of gigabytes)
can neither hang the app nor exhaust its memory.

The limits are set for what the app can hold in memory while it reads, with room above the
largest real input of each kind; the time budgets are a backstop for crafted content that
parses slowly within the size limit (they are far above the time a real file takes).
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from medassist.errors import InputError, MedAssistError, ModelError

MiB = 2**20
GiB = 2**30


def size_text(size: int) -> str:
    """Bytes as the user reads them: '2.0 GiB', '256 MiB', '812 bytes'."""
    if size >= GiB:
        return f"{size / GiB:.1f} GiB"
    if size >= MiB:
        return f"{size / MiB:.0f} MiB"
    return f"{size:,} bytes"


@dataclass(frozen=True)
class ReadLimit:
    """A size and a time budget for one kind of file; ``what`` names the kind in refusals.

    ``seconds`` is None where reading is one pass over at most ``max_bytes`` (a card's or the
    settings' JSON, a note's text, hashing weights): the size limit bounds the time as well."""

    what: str
    max_bytes: int
    seconds: float | None = None
    error: type[MedAssistError] = InputError

    def check_size(self, path: str | Path) -> int:
        """The file's size in bytes; refused (naming the file and the limit) when above ``max_bytes``."""
        try:
            size = Path(path).stat().st_size
        except OSError as exc:
            raise self.error(f"cannot be read ({exc.strerror or exc})", path) from exc
        if size > self.max_bytes:
            raise self.too_large(path, size)
        return size

    def too_large(self, path: str | Path, size: int | None = None) -> MedAssistError:
        held = f"file is {size_text(size)}, above" if size is not None else "file holds more than"
        return self.error(f"{held} the {size_text(self.max_bytes)} limit for {self.what}; not read", path)

    def read_bytes(self, path: str | Path) -> bytes:
        """The whole file, never more than ``max_bytes`` (a file that grows, or a device such as
        /dev/zero that reports no size, is refused once it passes the limit)."""
        self.check_size(path)
        try:
            with open(path, "rb") as handle:
                data = handle.read(self.max_bytes + 1)
        except OSError as exc:
            raise self.error(f"cannot be read ({exc.strerror or exc})", path) from exc
        if len(data) > self.max_bytes:
            raise self.too_large(path)
        return data

    def deadline(self, path: str | Path) -> "Deadline":
        return Deadline(self, path)

    def open(self, path: str | Path, reader: type["TimedReader"] | None = None) -> "TimedReader":
        """A binary handle on the file after its size check; every read checks the time budget, so a
        parser walking crafted content (pydicom, Pillow) stops there. ``reader`` may add checks of its own."""
        self.check_size(path)
        try:
            raw = io.FileIO(path, "rb")
        except OSError as exc:
            raise self.error(f"cannot be read ({exc.strerror or exc})", path) from exc
        return (reader or TimedReader)(raw, self.deadline(path))


class Deadline:
    """The end of one read's time budget; :meth:`check` refuses the file once it has passed."""

    def __init__(self, limit: ReadLimit, path: str | Path) -> None:
        self.limit = limit
        self.path = path
        assert limit.seconds is not None, f"no time budget for {limit.what}"
        self.seconds = limit.seconds
        self.end = time.monotonic() + limit.seconds

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise self.limit.error(
                f"reading stopped after {self.seconds:g} s, the time limit for {self.limit.what} "
                "(the file is damaged, or too large to read here)", self.path)


class TimedReader(io.BufferedReader):
    """A buffered binary file whose reads check a :class:`Deadline` first."""

    def __init__(self, raw: io.FileIO, deadline: Deadline) -> None:
        super().__init__(raw)
        self.deadline = deadline

    def read(self, size: int | None = -1, /) -> bytes:
        self.deadline.check()
        return super().read(size)

    def read1(self, size: int = -1, /) -> bytes:
        self.deadline.check()
        return super().read1(size)

    def readinto(self, buffer, /) -> int:  # type: ignore[no-untyped-def]  # io's own signature (a buffer)
        self.deadline.check()
        return super().readinto(buffer)


# One limit per kind of file. Images: the pixel budget (2**28 pixels, imaging.dicom) at 32 bits
# per pixel is 1 GiB, the most a file the viewer accepts can hold; a header takes well under a
# second to parse. Records: reading keeps the text, its rows and a string per cell, about 20x the
# file (the bench's 4.7 MB table of 100,000 patients takes 100 MB, docs/benchmarks.md), so 256 MiB
# of text needs a few GB; a larger export is split by the system that makes it. Records parse at
# 5-17 MB/s there, so 256 MiB takes under a minute of the three allowed. Session files hold
# explanation maps; model files cover every MedAssist network with room for a user's TorchScript
# model; the largest bundled card is 64 KB; settings and notes are small text.
IMAGE_FILE = ReadLimit("an image file", 1 * GiB, 20.0)
RECORDS_FILE = ReadLimit("a records file", 256 * MiB, 180.0)
SESSION_FILE = ReadLimit("a session file", 1 * GiB, 60.0)
MODEL_CARD = ReadLimit("a model card", 16 * MiB, error=ModelError)
MODEL_FILE = ReadLimit("a model file (weights, input gate)", 1 * GiB, error=ModelError)
STATE_FILE = ReadLimit("a settings file", 1 * MiB)
NOTE_FILE = ReadLimit("a clinical note", 8 * MiB)
# Logs that only grow (the audit trail, ``predict --output``) have no size limit: they are read a
# line at a time, in constant memory, and one line may not pass this.
MAX_LOG_LINE = 1 * MiB


def log_lines(path: str | Path, what: str, max_line: int = MAX_LOG_LINE) -> Iterator[bytes]:
    """The lines of a JSON-lines log (each with its end of line, the last perhaps without); a line
    longer than ``max_line`` (a damaged log, or a file that is no log) is refused, never read whole."""
    with open(path, "rb") as handle:
        while line := handle.readline(max_line + 1):
            if len(line) > max_line:
                raise InputError(f"a line is longer than {size_text(max_line)}, the limit for a line of {what}; "
                                 "it is damaged or not such a file", path)
            yield line
