"""Errors a user can read: each names the file (or thing) and the reason, in one line."""

from __future__ import annotations

from pathlib import Path


class MedAssistError(Exception):
    """Base for errors shown to the user as one line, never as a traceback."""

    def __init__(self, reason: str, source: str | Path | None = None) -> None:
        self.reason = " ".join(str(reason).split())  # library messages (pyarrow, zipfile) may span lines
        self.source = str(source) if source is not None else None
        super().__init__(f"{self.source}: {self.reason}" if self.source else self.reason)


class InputError(MedAssistError):
    """A file or value the user gave cannot be used (corrupt, wrong kind, too large, ...)."""


class ModelError(MedAssistError):
    """A model cannot be offered or run (bad card, hash mismatch, missing weights, ...)."""
