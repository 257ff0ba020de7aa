"""The Report tab: a live preview of the PDF pages, export (atomic) and print.

The PDF is the same one ``medassist report`` writes (reportlab, in core). Content is read
from the session on the GUI thread; layout and page rendering (QtPdf into QImages) run in a
worker; QPixmaps are made back on the GUI thread. Changes to results, treatments or notes
refresh the preview when the tab is visible. Export writes the very bytes the preview shows
(one render: same pseudonym, date shift, report ID and time); if the session changed since
the preview, Export renders once more and shows that render before writing it.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, Qt, QTimer
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from medassist.app.report import export_report, patient_report
from medassist.jobs import Job, Progress
from medassist.session import Session
from medassist.settings import Settings

if TYPE_CHECKING:  # reportlab loads in the first render's worker, not before the window shows
    from medassist.inference.registry import ModelRegistry
    from medassist.reporting.pdf import RenderedReport
from medassist.ui.context import AppContext
from medassist.ui.tabs.base import Tab
from medassist.ui.widgets.fitting import flow_row, labelled

PREVIEW_WIDTH = 1000  # pixels per rendered page; scaled down to the view's width
REFRESH_DELAY_MS = 700


def render_pages(data: bytes, width: int = PREVIEW_WIDTH) -> list[QImage]:
    """PDF bytes -> one QImage per page (QImage, unlike QPixmap, may be made in a worker)."""
    from PySide6.QtPdf import QPdfDocument

    document = QPdfDocument(None)
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document.load(buffer)
    pages = []
    for index in range(document.pageCount()):
        size = document.pagePointSize(index)
        pages.append(document.render(index, QSize(width, round(width * size.height() / size.width()))))
    document.close()
    return pages


def preview_job(session: Session, patient_id: str, settings: Settings, catalogue: ModelRegistry,
                anonymise: bool) -> Job[tuple[RenderedReport, list[QImage]]]:
    rendered = yield from patient_report(session, patient_id, settings, catalogue.cards(), anonymise)
    yield Progress(0.95, "Rendering preview")
    return rendered, render_pages(rendered.data)


class ReportTab(Tab):
    title = "Report"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.empty.set_text("No report yet", "Select a patient and run the models you need; then preview, print or "
                                              "export the signed PDF report here.")
        self.pdf: bytes | None = None
        self.rendered: RenderedReport | None = None
        self._export_after_render: Path | None = None
        self.last_export: Path | None = None
        self.page_images: list[QImage] = []
        self.stale = True
        self.rendering = False
        self.generation = 0

        self.clinician = QLineEdit()
        self.clinician.setPlaceholderText("Clinician named in the signature block")
        self.clinician.setToolTip(self.clinician.placeholderText())  # a narrow box cuts the placeholder
        self.clinician.setText(self.session.clinician_name or context.settings.clinician_name)
        self.clinician.editingFinished.connect(self._clinician_changed)
        self.deidentify_box = QCheckBox("De-identify")
        self.deidentify_box.setToolTip("Remove names, IDs, birth date, address and free-text identifiers; "
                                       "shift all dates by one random offset")
        self.deidentify_box.toggled.connect(lambda _on: self.schedule_refresh(0))
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(lambda: self.schedule_refresh(0))
        self.export_button = QPushButton("Export PDF...")
        self.export_button.clicked.connect(self.export_pdf)
        self.print_button = QPushButton("Print...")
        self.print_button.clicked.connect(self.print_report)
        self.results_button = QPushButton("Export SR / FHIR...")
        self.results_button.setToolTip("DICOM SR and AI-map capture (for PACS) and FHIR report (for the EHR) of a "
                                       "study received by the DICOM node")
        self.results_button.clicked.connect(self.export_study_results)
        self.status = QLabel()
        self.status.setObjectName("reportStatus")

        self.status.setWordWrap(True)
        bar = flow_row(labelled("Clinician:", self.clinician), self.deidentify_box, self.refresh_button,
                       self.export_button, self.print_button, self.results_button)  # wraps when narrow
        self.pages_widget = QWidget()
        self.pages_layout = QVBoxLayout(self.pages_widget)
        self.pages_layout.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.pages_layout.setSpacing(12)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.pages_widget)
        self.scroll.setObjectName("reportPreview")
        column = QVBoxLayout(self.content)
        column.addLayout(bar)
        column.addWidget(self.status)
        column.addWidget(self.scroll, 1)

        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.refresh)
        bridge = context.bridge
        for signal in (bridge.prediction_added, bridge.explanation_added, bridge.decisions_changed,
                       bridge.notes_changed, bridge.images_changed, bridge.records_changed):
            signal.connect(lambda *_args: self.schedule_refresh())
        self.on_patient_changed(self.session.current_patient_id)

    # preview -------------------------------------------------------------------------------
    def on_patient_changed(self, patient_id: str | None) -> None:
        presenting = self.context.settings.presentation_mode  # on a projector the report is shown de-identified
        self.deidentify_box.blockSignals(True)
        self.deidentify_box.setChecked(presenting or self.deidentify_box.isChecked())
        self.deidentify_box.blockSignals(False)
        self.deidentify_box.setEnabled(not presenting)
        has_patient = patient_id is not None
        self.show_content(has_patient)
        self._clear_pages()
        self.pdf = self.rendered = None
        if has_patient:
            self.schedule_refresh(0)

    def schedule_refresh(self, delay_ms: int = REFRESH_DELAY_MS) -> None:
        """Re-render soon if the tab is on screen; otherwise when it is next shown."""
        self.stale = True
        if self.isVisible() and self.session.current_patient_id is not None:
            self.timer.start(delay_ms)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if self.stale:
            self.schedule_refresh(0)

    def refresh(self) -> None:
        """Render the current content once (in a worker); the result is both the preview and what Export writes."""
        if not self.clinician.hasFocus():
            self.clinician.setText(self.session.clinician_name or self.context.settings.clinician_name)
        patient_id = self.session.current_patient_id
        if patient_id is None:
            return
        if self.rendering:  # one render at a time; the latest request runs when it ends
            self.stale = True
            return
        self.stale = False
        self.rendering = True
        self.generation += 1
        generation = self.generation
        session, settings, anonymise = self.session, self.context.settings, self.deidentify_box.isChecked()
        catalogue = self.context.catalogue
        self.status.setText("Rendering the report...")
        self.context.runner.submit(
            "Report preview", lambda: preview_job(session, patient_id, settings, catalogue, anonymise),
            on_result=lambda result: self._preview_ready(generation, result),
            on_error=self._preview_failed,
        )

    def _preview_ready(self, generation: int, result: tuple[RenderedReport, list[QImage]]) -> None:
        self.rendering = False
        if generation != self.generation:
            return
        self.rendered, self.page_images = result
        self.pdf = self.rendered.data
        self._show_pages()
        mode = "de-identified" if self.rendered.content.deidentified else "identified"
        self.status.setText(f"{len(self.page_images)} page(s), {mode}, report {self.rendered.content.report_id}; "
                            f"updated {_dt.datetime.now():%H:%M:%S}. Export writes exactly this report.")
        if self._export_after_render is not None and not self.stale:
            target, self._export_after_render = self._export_after_render, None
            self._write(self.rendered, target)
        elif self.stale:
            self.schedule_refresh(0)

    def _preview_failed(self, message: str) -> None:
        self.rendering = False
        self.status.setText(f"The report could not be rendered: {message}")
        if self._export_after_render is not None:
            self._export_after_render = None
            self.context.show_message("Could not export the report", message)

    def _clear_pages(self) -> None:
        while self.pages_layout.count():
            item = self.pages_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()

    def _show_pages(self) -> None:
        if not self.page_images:
            return
        self._clear_pages()
        for _image in self.page_images:
            label = QLabel()
            label.setObjectName("reportPage")
            label.setStyleSheet("background: white; border: 1px solid #9aa5b1;")
            self.pages_layout.addWidget(label)
        self._scale_pages()

    def _scale_pages(self) -> None:
        """Each page as wide as the preview (never wider: no horizontal scrolling), again after every resize."""
        width = max(200, min(PREVIEW_WIDTH, self.scroll.viewport().width() - 40))
        labels = [self.pages_layout.itemAt(i).widget() for i in range(self.pages_layout.count())]
        for label, image in zip(labels, self.page_images, strict=False):
            if label is not None and (label.pixmap().isNull() or label.pixmap().width() != width):
                label.setPixmap(QPixmap.fromImage(image).scaledToWidth(width, Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._scale_pages()

    @property
    def page_count(self) -> int:
        return len(self.page_images)

    def _clinician_changed(self) -> None:
        if self.clinician.text() != self.session.clinician_name:
            self.session.set_clinician_name(self.clinician.text())
            self.schedule_refresh(0)

    # export and print ----------------------------------------------------------------------------
    def suggested_name(self) -> str:
        stamp = _dt.date.today().isoformat()
        if self.deidentify_box.isChecked() or self.session.current_patient_id is None:
            return f"report-deidentified-{stamp}.pdf"
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in self.session.current_patient_id)
        return f"report-{safe}-{stamp}.pdf"

    def export_pdf(self, path: str | Path | None = None) -> None:
        """Write the current patient's report (File > Export report): the previewed bytes, atomically."""
        if self.session.current_patient_id is None:
            self.context.show_message("No report to export", "Select a patient first.")
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export report", str(Path.home() / self.suggested_name()),
                                                  "PDF (*.pdf)")
            if not path:
                return
        target = Path(path) if str(path).lower().endswith(".pdf") else Path(f"{path}.pdf")
        current = (self.rendered is not None and not self.stale and not self.rendering
                   and self.rendered.content.deidentified == self.deidentify_box.isChecked())
        if current:
            self._write(self.rendered, target)
            return
        self._export_after_render = target  # the session changed since the preview: render once, show it, write it
        self.timer.stop()
        self.stale = True
        if not self.rendering:
            self.refresh()

    def _write(self, rendered: RenderedReport, target: Path) -> None:
        audit = self.context.audit

        def saved(written: Path) -> None:
            self.status.setText(f"Report {rendered.content.report_id} saved to {written}")
            self.last_export = written

        self.context.runner.submit("Export report", lambda: export_report(rendered, target, audit),
                                   on_result=saved,
                                   on_error=lambda message: self.context.show_message("Could not save the report", message))

    def export_study_results(self) -> None:
        """Results of the shown study for PACS and the EHR, when the node received and analysed it."""
        from medassist.hospital.store import StudyStore
        from medassist.hospital.worklist import analysed_studies
        from medassist.ui.actions import export_study_results

        uids = [str(i.metadata.get("sop_instance_uid") or "") for i in self.session.current_images()]
        studies = analysed_studies(StudyStore().entries(), uids)
        if not studies:
            self.context.show_message("No analysed study", "DICOM SR and FHIR export is for studies the DICOM node "
                                      "received and analysed; open one from the Worklist tab.")
            return
        export_study_results(self.context, studies[0], self)

    def print_report(self) -> None:
        if not self.pdf:
            self.context.show_message("Nothing to print yet", "Wait for the preview to finish rendering.")
            return
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle("Print report")
        if dialog.exec() == QPrintDialog.DialogCode.Accepted:
            print_pdf(self.pdf, printer)


def print_pdf(data: bytes, printer: QPrinter) -> int:
    """Paint each page onto the printer at its resolution; returns the pages printed."""
    page_rect = printer.pageRect(QPrinter.Unit.DevicePixel).toRect()
    images = render_pages(data, width=page_rect.width())
    painter = QPainter()
    if not painter.begin(printer):
        return 0
    try:
        for index, image in enumerate(images):
            if index:
                printer.newPage()
            scaled = image.scaled(page_rect.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            painter.drawImage(0, 0, scaled)
    finally:
        painter.end()
    return len(images)
