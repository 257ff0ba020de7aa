"""Saliency map next to its radiograph: image | map | overlay, with an opacity control.

Pixmaps are built here, on the GUI thread, from numpy arrays the worker handed over.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QWidget

# inferno-like anchors: dark purple (unimportant) -> yellow (most important)
_ANCHORS = np.array(
    [[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66], [245, 125, 21], [250, 193, 39], [252, 255, 164]],
    dtype=np.float32,
)


def heat_colours(values: np.ndarray) -> np.ndarray:
    """HxW map in [0, 1] -> HxWx3 uint8 colours."""
    v = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float32)), 0.0, 1.0) * (len(_ANCHORS) - 1)
    low = np.floor(v).astype(int)
    high = np.minimum(low + 1, len(_ANCHORS) - 1)
    frac = (v - low)[..., None]
    return (_ANCHORS[low] * (1 - frac) + _ANCHORS[high] * frac).astype(np.uint8)


def overlay(gray: np.ndarray, values: np.ndarray, opacity: float) -> np.ndarray:
    """Blend the colour map over the grayscale image; weak attributions stay transparent."""
    base = np.repeat(np.asarray(gray, dtype=np.float32)[..., None], 3, axis=2)
    alpha = (opacity * np.clip(np.nan_to_num(values), 0.0, 1.0))[..., None].astype(np.float32)
    return (base * (1 - alpha) + heat_colours(values).astype(np.float32) * alpha).astype(np.uint8)


def to_pixmap(array: np.ndarray) -> QPixmap:
    data = np.ascontiguousarray(array)
    h, w = data.shape[:2]
    if data.ndim == 2:
        qimage = QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8)
    else:
        qimage = QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(qimage.copy())


class _Panel(QLabel):
    """A label that keeps its pixmap scaled to the space it has."""

    def __init__(self) -> None:
        super().__init__()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._pixmap: QPixmap | None = None

    def set_array(self, array: np.ndarray | None) -> None:
        self._pixmap = to_pixmap(array) if array is not None else None
        self._rescale()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._pixmap is None:
            self.clear()
            return
        self.setPixmap(self._pixmap.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.SmoothTransformation))


class ImageMapView(QWidget):
    """Three panels (image, map, overlay), each with a caption; the map's faithfulness sits beside it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.gray: np.ndarray | None = None
        self.values: np.ndarray | None = None
        self.opacity = 0.5
        grid = QGridLayout(self)
        self.captions = [QLabel("Radiograph"), QLabel("Map"), QLabel("Overlay")]
        self.panels = [_Panel(), _Panel(), _Panel()]
        for column, (caption, panel) in enumerate(zip(self.captions, self.panels, strict=True)):
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            caption.setWordWrap(True)
            grid.addWidget(caption, 0, column)
            grid.addWidget(panel, 1, column)
        grid.setRowStretch(1, 1)

    def set_content(self, gray: np.ndarray, values: np.ndarray | None, map_caption: str = "Map") -> None:
        """``gray``: HxW uint8 as displayed; ``values``: HxW map in [0, 1] (same shape) or None."""
        if values is not None and values.shape != gray.shape:
            raise ValueError(f"map shape {values.shape} does not match image shape {gray.shape}")
        self.gray, self.values = gray, values
        self.captions[1].setText(map_caption)
        self._render()

    def set_opacity(self, opacity: float) -> None:
        self.opacity = float(np.clip(opacity, 0.0, 1.0))
        self._render()

    def clear(self) -> None:
        self.gray = self.values = None
        for panel in self.panels:
            panel.set_array(None)

    def _render(self) -> None:
        if self.gray is None:
            return
        self.panels[0].set_array(self.gray)
        if self.values is None:
            self.panels[1].set_array(None)
            self.panels[2].set_array(None)
            return
        self.panels[1].set_array(heat_colours(self.values))
        self.panels[2].set_array(overlay(self.gray, self.values, self.opacity))
