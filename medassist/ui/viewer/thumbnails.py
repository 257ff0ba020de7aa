"""The current patient's images and series beside the viewer; clicking one shows it in the viewer."""

from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem, QWidget

from medassist.imaging.image import MedicalImage

THUMB = 96


def thumbnail_pixels(image: MedicalImage, shown: np.ndarray | None = None) -> np.ndarray:
    """The middle frame as displayed (or ``shown``, the frame presentation mode may show), reduced by
    striding to at most ``THUMB`` pixels a side."""
    shown = image.display_frame(image.n_frames // 2) if shown is None else shown
    step = max(1, int(np.ceil(max(shown.shape[:2]) / THUMB)))
    return np.ascontiguousarray(shown[::step, ::step])


def to_pixmap(pixels: np.ndarray) -> QPixmap:
    """GUI thread only: wrap a uint8 grey or RGB array in a QPixmap (the QImage is copied)."""
    height, width = pixels.shape[:2]
    if pixels.ndim == 2:
        qimage = QImage(pixels.data, width, height, pixels.strides[0], QImage.Format.Format_Grayscale8)
    else:
        qimage = QImage(pixels.data, width, height, pixels.strides[0], QImage.Format.Format_RGB888)
    return QPixmap.fromImage(qimage.copy())


def caption(image: MedicalImage) -> str:
    meta = image.metadata
    title = meta.get("series_description") or image.path.name
    frames = f"{image.n_frames} {'slices' if meta.get('slices') else 'frames'}" if image.n_frames > 1 else ""
    return "\n".join(filter(None, [f"{image.modality} {title}"[:28], frames]))


class ThumbnailStrip(QListWidget):
    image_chosen = Signal(object)  # MedicalImage

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)  # a column beside the viewer: as many thumbnails a row as its width holds
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setWordWrap(True)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.images: list[MedicalImage] = []
        self._icons: dict[tuple[int, str], QIcon] = {}
        # presentation mode: the picture each thumbnail may show (burned-in text masked; None: not yet checked)
        # and the label of its file
        self.masked: Callable[[MedicalImage], np.ndarray | None] | None = None
        self.file_label: Callable[[str], str] = lambda name: name
        self.currentRowChanged.connect(self._row_changed)

    def set_images(self, images: list[MedicalImage]) -> None:
        self.blockSignals(True)
        self.clear()
        self.images = list(images)
        for image in self.images:
            if self.masked is not None:
                shown = self.masked(image)
                icon = QIcon(to_pixmap(thumbnail_pixels(image, shown))) if shown is not None else QIcon()
                item = QListWidgetItem(icon, f"{image.modality} {self.file_label(image.path.name)}")
                item.setToolTip(item.text())
                self.addItem(item)
                continue
            icon = self._icons.get((id(image), image.sha256))
            if icon is None:
                icon = QIcon(to_pixmap(thumbnail_pixels(image)))
                self._icons[(id(image), image.sha256)] = icon
            item = QListWidgetItem(icon, caption(image))
            item.setToolTip(f"{caption(image)}\n{image.path}")  # a narrow column elides the caption
            self.addItem(item)
        self.blockSignals(False)

    def select(self, image: MedicalImage) -> None:
        for row, known in enumerate(self.images):
            if known is image:
                self.blockSignals(True)
                self.setCurrentRow(row)
                self.blockSignals(False)
                return

    def _row_changed(self, row: int) -> None:
        if 0 <= row < len(self.images):
            self.image_chosen.emit(self.images[row])
