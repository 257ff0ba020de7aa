"""The Images tab: the viewer, the patient's thumbnails and the DICOM tag browser.

It follows the session: the current patient's images (``session.current_images()``) fill the
strip, new images appear as they are loaded, and other tabs can lay an explanation heatmap
over an image with :meth:`ImagesTab.show_overlay`.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from medassist.imaging.image import MedicalImage
from medassist.app.films import film_for
from medassist.domain.clinical import FilmIdentity, FilmRelation
from medassist.domain.result_text import film_text
from medassist.privacy import WITHHELD, ShownPolicy
from medassist.ui.attach_film import ask_and_attach
from medassist.ui.context import AppContext
from medassist.ui.tabs.base import Tab
from medassist.ui.viewer import DicomTagBrowser, ImageViewer, ThumbnailStrip
from medassist.ui.widgets.fitting import FitScrollArea, flow_row, proportions

BANNER_WITHHELD = "background:#fde2e1; color:#8b0000; font-weight:bold; padding:4px; border:1px solid #d9534f;"
BANNER_NOTICE = "background:#fff4ce; color:#6b4a00; font-weight:bold; padding:4px; border:1px solid #e0c060;"
FILE_FILTER = "Images (*.dcm *.dicom *.png *.jpg *.jpeg *.tif *.tiff *.bmp);;All files (*)"


class ImagesTab(Tab):
    title = "Images"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.empty.set_text(
            "No images for this patient",
            "Open a DICOM file, folder or DICOMDIR, or a PNG/JPEG/TIFF/BMP image, with File > Open image (Ctrl+I) "
            "or File > Open DICOM folder (Ctrl+Shift+I).",
        )
        self.viewer = ImageViewer()
        self.thumbnails = ThumbnailStrip()
        self.tags = DicomTagBrowser()
        self.info = QTextBrowser()  # wraps at any width (a long value breaks anywhere) and scrolls when short
        self.info.setFrameShape(QFrame.Shape.NoFrame)
        self.info.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.info.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.side = QTabWidget()
        self.side.addTab(self.info, "Image")
        self.side.addTab(self.tags, "DICOM tags")

        # the thumbnails under the details, beside the viewer: the image keeps the window's whole height
        open_button = QPushButton("Open image…")
        open_button.clicked.connect(self.open_dialog)
        strip = QWidget()
        strip_layout = QVBoxLayout(strip)
        strip_layout.setContentsMargins(0, 0, 0, 0)
        strip_layout.addWidget(self.thumbnails, 1)
        strip_layout.addWidget(open_button)
        column = QSplitter(Qt.Orientation.Vertical)
        column.addWidget(self.side)
        column.addWidget(strip)
        proportions(column, 3, 2)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.viewer)
        splitter.addWidget(column)
        proportions(splitter, 5, 2)  # the details keep room for a date or a name on one line at presentation size
        self.mismatch = QLabel()
        self.mismatch.setObjectName("imagePatientMismatch")
        self.mismatch.setTextFormat(Qt.TextFormat.PlainText)
        self.mismatch.setWordWrap(True)
        # whole while the window has room; a short window scrolls it rather than squeeze the image away
        self.mismatch_area = FitScrollArea(self.mismatch, share=0.18)
        self.attach_button = QPushButton("Attach to this patient\u2026")
        self.attach_button.setToolTip("Read this film as the patient's although its header does not match "
                                      "(asks for your reason; recorded in the audit trail)")
        self.attach_button.clicked.connect(lambda: self.viewer.image is not None
                                           and ask_and_attach(self, self.context, self.viewer.image))
        banner = flow_row(self.mismatch_area, self.attach_button)
        self.mismatch_area.hide()
        self.attach_button.hide()
        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(banner)
        layout.addWidget(splitter, 1)

        self.viewer.guard = context.pixel_guard()
        self.viewer.guard.ready.connect(self._pixels_checked)
        self.thumbnails.image_chosen.connect(self.show_image)
        context.bridge.images_changed.connect(self._images_changed)
        context.bridge.decisions_changed.connect(lambda _key: self.show_film_context(self.viewer.image))
        self.on_patient_changed(self.session.current_patient_id)

    # following the session ----------------------------------------------------------------------
    def on_patient_changed(self, patient_id: str | None) -> None:
        self.refresh()
        self._show_details(self.viewer.image)  # presentation mode may have changed what they may show
        self.show_film_context(self.viewer.image)

    def _images_changed(self, patient_key: str) -> None:
        if patient_key == self.session.patient_key:
            self.refresh(select_newest=True)

    def _pixels_checked(self, _key: object) -> None:
        """A picture has been checked for burned-in text (presentation mode): show what may be shown."""
        self.viewer.mask_text()
        if self.thumbnails.masked is not None:
            self.thumbnails.set_images(self.thumbnails.images)
            if self.viewer.image is not None:
                self.thumbnails.select(self.viewer.image)

    def _masked_thumbnail(self, image: MedicalImage) -> np.ndarray | None:
        cleaned = self.viewer.guard.cleaned(image, image.n_frames // 2)
        return None if cleaned is None else cleaned.pixels

    def refresh(self, select_newest: bool = False) -> None:
        images = self.session.current_images()
        shown = self.context.shown()
        self.thumbnails.masked = self._masked_thumbnail if shown.presenting else None
        self.thumbnails.file_label = shown.file_label
        self.thumbnails.set_images(images)
        self.show_content(bool(images))
        if not images:
            self.show_image(None)
            return
        current = self.viewer.image
        if select_newest or not any(image is current for image in images):
            self.show_image(images[-1] if select_newest else images[0])
        else:
            self.thumbnails.select(current)

    @property
    def images(self) -> list[MedicalImage]:
        return list(self.thumbnails.images)

    # showing ----------------------------------------------------------------------------------
    def show_image(self, image: MedicalImage | None, frame: int = 0) -> None:
        self.viewer.set_shown(self.context.shown())
        if image is not None and image is self.viewer.image:
            self.viewer.set_frame(frame)
            return
        self.viewer.set_image(image, frame)
        self._show_details(image)
        self.show_film_context(image)
        if image is not None:
            self.thumbnails.select(image)

    def show_film_context(self, image: MedicalImage | None) -> None:
        """The banner over a film that may not be this patient's, or that is a prior study (app.films decides)."""
        patient_id = self.session.current_patient_id
        film = None if image is None or patient_id is None else film_for(self.session, patient_id, image)
        shown = film is not None and (film.identity == FilmIdentity.MISMATCH or film.relation == FilmRelation.PRIOR)
        policy = self.context.shown()  # presentation mode: the header's identifiers gone, dates shifted
        self.mismatch.setText(policy.image_text(film_text(film, show_values=not policy.presenting), image.metadata)
                              if film is not None and image is not None and shown else "")
        self.mismatch.setStyleSheet(BANNER_WITHHELD if film is not None and film.withheld else BANNER_NOTICE)
        self.mismatch.setVisible(shown)
        self.mismatch_area.setVisible(shown)
        self.mismatch_area.updateGeometry()
        self.attach_button.setVisible(film is not None and film.withheld)

    def show_overlay(self, image: MedicalImage, frame: int, heatmap: np.ndarray | None, label: str) -> None:
        """Lay an explanation heatmap over ``image`` at ``frame`` (``None`` removes it); called by other tabs."""
        if not any(known is image for known in self.thumbnails.images):
            self.thumbnails.set_images(self.thumbnails.images + [image])
            self.show_content(True)
        self.show_image(image, frame)
        self.viewer.set_frame(frame)
        self.viewer.set_overlay(image, frame, heatmap, label)

    def open_dialog(self) -> None:
        from medassist.ui.actions import open_images

        paths, _ = QFileDialog.getOpenFileNames(self, "Open images", "", FILE_FILTER)
        for path in paths:
            open_images(self.context, path)

    def _show_details(self, image: MedicalImage | None) -> None:
        """The tag browser and the info box, through presentation mode's policy."""
        shown = self.context.shown()
        self.tags.shown = shown
        self.tags.show_image(image)
        self.viewer.set_shown(shown)
        self.info.setHtml(self._info_text(image, shown) if image is not None else "")

    @staticmethod
    def _info_text(image: MedicalImage, shown: ShownPolicy) -> str:
        meta = image.metadata
        spacing = image.spacing_mm
        rows = [
            ("File", shown.file_label(image.path.name)),
            ("Patient", f"name and ID {WITHHELD}" if shown.presenting
             else f"{meta.get('patient_name') or '-'} (ID {meta.get('patient_id') or '-'})"),
            ("Study date", shown.dicom_date(meta.get("study_date") or "") or "-"),
            ("Modality", " ".join(filter(None, [image.modality, meta.get("body_part"), meta.get("view_position")]))),
            ("Series", WITHHELD if shown.presenting else meta.get("series_description") or "-"),
            ("Size", f"{image.shape[1]} x {image.shape[0]} px, {image.n_frames} frame(s)"),
            ("Pixels", f"{meta.get('bits_stored', '?')} bits stored, {meta.get('photometric_stored') or image.photometric}"),
            ("Encoding", meta.get("transfer_syntax") or "-"),
            ("Spacing", f"{spacing[0]:g} x {spacing[1]:g} mm ({meta.get('spacing_source')})" if spacing else "unknown: lengths in pixels"),
            ("Slice spacing", f"{meta['slice_spacing_mm']:g} mm" if meta.get("slice_spacing_mm") else ""),
            ("SHA-256", image.sha256[:16] + "…"),
        ]
        # one paragraph a row, not a table: a narrow column would break a date or a number inside itself
        return "".join(f"<p style='margin:0 0 2px 0'><b>{label}</b>&nbsp; {html.escape(str(value))}</p>"
                       for label, value in rows if value)
