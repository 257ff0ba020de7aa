"""The loaded-image model shared by the viewer, the models and the report.

``frames`` holds modality-LUT values (e.g. Hounsfield units) for grayscale images, or RGB
for colour; the VOI LUT/window and MONOCHROME1 inversion are applied only for display and
for model input, exactly as a radiologist would see the image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class WindowLevel:
    """A display window: centre and width in modality-LUT units."""

    center: float
    width: float

    @property
    def low(self) -> float:
        return self.center - self.width / 2

    @property
    def high(self) -> float:
        return self.center + self.width / 2


@dataclass
class MedicalImage:
    """One image or multi-frame object, with what is needed to show, measure and analyse it."""

    path: Path
    frames: np.ndarray  # (n, H, W) float32 modality values, or (n, H, W, 3) uint8 RGB
    modality: str = "OT"
    photometric: str = "MONOCHROME2"
    window: WindowLevel | None = None
    spacing_mm: tuple[float, float] | None = None  # (row spacing, column spacing)
    stored_frames: np.ndarray | None = None  # raw stored values when the modality LUT is a table
    voi_lut: Any = None  # non-linear VOI LUT: callable frame -> display values in [0, 1]
    frame_rescale: list[tuple[float, float]] | None = None  # per-frame (slope, intercept) of a linear modality LUT
    metadata: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""
    is_dicom: bool = False

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def is_color(self) -> bool:
        return self.frames.ndim == 4

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.frames.shape[1]), int(self.frames.shape[2])

    @property
    def inverted(self) -> bool:
        return self.photometric == "MONOCHROME1"

    def default_window(self) -> WindowLevel:
        """The file's window, else the full range of the first frame."""
        if self.window is not None:
            return self.window
        frame = self.frames[0].astype(np.float32)
        lo, hi = float(np.nanmin(frame)), float(np.nanmax(frame))
        return WindowLevel((lo + hi) / 2, max(hi - lo, 1.0))

    def display_frame(self, index: int = 0, window: WindowLevel | None = None) -> np.ndarray:
        """8-bit image as displayed: VOI (window or LUT) applied, MONOCHROME1 inverted.

        One float copy of the frame, worked in place: a film is megapixels, and every temporary is
        fresh memory, which a virtual machine hands out slowly the first time (a first prediction
        paid ~0.3 s for it here)."""
        frame = self.frames[index]
        if self.is_color:
            return np.ascontiguousarray(frame.astype(np.uint8))
        if window is None and self.voi_lut is not None:
            scaled = np.array(self.voi_lut(frame), dtype=np.float32)
        else:
            wl = window or self.default_window()
            scaled = frame.astype(np.float32)
            scaled -= wl.low
            scaled /= max(wl.width, 1e-6)
        np.nan_to_num(scaled, copy=False, nan=0.0)
        np.clip(scaled, 0.0, 1.0, out=scaled)
        if self.inverted:
            np.subtract(1.0, scaled, out=scaled)
        scaled *= 255.0
        scaled += 0.5
        return scaled.astype(np.uint8)

    def stored_value(self, index: int, row: int, column: int) -> float:
        """The value stored in the file at one pixel (before the modality LUT), for the readout."""
        if self.stored_frames is not None:
            return float(self.stored_frames[index, row, column])
        value = float(self.frames[index, row, column])
        if self.frame_rescale:
            slope, intercept = self.frame_rescale[min(index, len(self.frame_rescale) - 1)]
            return (value - intercept) / slope if slope else value
        return value

    def model_input(self, index: int = 0) -> np.ndarray:
        """Grayscale float32 in [0, 1] as displayed with the default window (what models see)."""
        shown = self.display_frame(index).astype(np.float32)
        shown /= 255.0
        if shown.ndim == 3:
            shown = shown @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return shown

    def describe(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "modality": self.modality,
            "rows": self.shape[0],
            "columns": self.shape[1],
            "frames": self.n_frames,
            "photometric_interpretation": self.photometric,
            "spacing_mm": list(self.spacing_mm) if self.spacing_mm else None,
            "default_window": [self.default_window().center, self.default_window().width] if not self.is_color else None,
            **{k: v for k, v in self.metadata.items() if isinstance(v, (str, int, float)) or v is None},
        }
