"""Presentation mode's masking of burned-in text, for every view that shows a picture.

The check itself is core (:mod:`medassist.privacy.pixels`: OCR, ultrasound regions, fail closed);
here it runs off the GUI thread, once per image and frame (the core cache), and tells the views
when a result is ready. Until then, and when the text cannot be checked, a view shows no picture.
"""

from __future__ import annotations

from typing import Hashable

from PySide6.QtCore import QObject, Signal

from medassist.imaging.image import MedicalImage
from medassist.jobs import Job, Progress
from medassist.privacy.pixels import CLEANED, CleanedPixels, header_of
from medassist.ui.workers import JobRunner


def frame_key(image: MedicalImage, frame: int) -> Hashable:
    return (image.sha256 or id(image.frames), frame)


def _clean(image: MedicalImage, frame: int) -> Job[CleanedPixels]:
    yield Progress(0.0, "Checking the picture for burned-in text")
    return CLEANED.clean(frame_key(image, frame), image.display_frame(frame), header_of(image.metadata))


class PixelGuard(QObject):
    """Cleaned frames for the views, computed in workers; ``ready`` carries the frame key when one is done."""

    ready = Signal(object)

    def __init__(self, runner: JobRunner) -> None:
        super().__init__()
        self.runner = runner
        self._pending: set[Hashable] = set()
        self._failed: dict[Hashable, CleanedPixels] = {}

    def cleaned(self, image: MedicalImage, frame: int) -> CleanedPixels | None:
        """The frame as presentation mode may show it, or None while it is being checked (a check starts)."""
        key = frame_key(image, frame)
        found = CLEANED.get((key, header_of(image.metadata))) or self._failed.get(key)
        if found is None and key not in self._pending:
            self._pending.add(key)
            self.runner.submit("Checking a picture for burned-in text", lambda: _clean(image, frame),
                               on_result=lambda _result: self._done(key), on_error=lambda message: self._done(key, message))
        return found

    def _done(self, key: Hashable, error: str | None = None) -> None:
        self._pending.discard(key)
        if error is not None:  # the check itself failed: nothing is shown (fail closed), and it is not retried
            self._failed[key] = CleanedPixels(None, problem=f"the check for burned-in text failed ({error})")
        self.ready.emit(key)
