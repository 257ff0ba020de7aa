"""The main window: patient banner, seven tabs over one session, menus, and a status bar with
the compute device, running jobs (progress, cancel) and the DEMO badge.

At start-up the window paints first with stand-in tab pages. The visible tab is built as soon as
its libraries are imported (in a worker); the others once the models are ready, one per turn of
the event loop, or at once when the user opens one earlier (:meth:`MainWindow.build_tab`). The
tabs import pandas' heavier users, pydicom, pyqtgraph and reportlab, which would otherwise keep
the window from appearing, and compete with the models' warm-up, for a second or more.
"""

from __future__ import annotations

import os
import importlib
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QRect, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from medassist import APP_NAME, DECISION_SUPPORT_NOTICE, DECISION_SUPPORT_SHORT, DEMO_NOTICE, __version__, paths
from medassist.ui.context import AppContext, TabKind
from medassist.ui.dialogs import IntendedUseDialog, ModelCatalogDialog, SettingsDialog, about_text
from medassist.ui.patient_banner import PatientBanner
from medassist.ui.presentation import style_sheet
from medassist.ui.session_files import SessionFiles
from medassist.ui.widgets.fitting import ElidedLabel

if TYPE_CHECKING:
    import numpy as np

    from medassist.imaging.image import MedicalImage
    from medassist.domain.prediction import Prediction
    from medassist.ui.tabs.base import Tab

TAB_TITLES = tuple(kind.value for kind in TabKind)


# each tab's class, imported on demand: the tabs carry the heavy imports
TAB_CLASSES: dict[str, tuple[str, str]] = {
    TabKind.RECORDS.value: ("medassist.ui.tabs.records_tab", "RecordsTab"),
    TabKind.IMAGES.value: ("medassist.ui.tabs.images_tab", "ImagesTab"),
    TabKind.DIAGNOSIS.value: ("medassist.ui.tabs.diagnosis_tab", "DiagnosisTab"),
    TabKind.TREATMENT.value: ("medassist.ui.tabs.treatment_tab", "TreatmentTab"),
    TabKind.EXPLANATIONS.value: ("medassist.ui.tabs.explanations_tab", "ExplanationsTab"),
    TabKind.REPORT.value: ("medassist.ui.tabs.report_tab", "ReportTab"),
    TabKind.WORKLIST.value: ("medassist.ui.tabs.worklist_tab", "WorklistTab"),
}


def tab_class(title: str) -> type["Tab"]:
    """The class of the tab titled ``title`` (importing its module makes no widget: a worker may do it)."""
    module, name = TAB_CLASSES[title]
    return getattr(importlib.import_module(module), name)


class JobsIndicator(QWidget):
    """Status-bar widget: the newest running job's title and progress, with a Cancel button."""

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.runner = context.runner
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = ElidedLabel()  # the job's title gives way first: the status bar never widens the window
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_latest)
        for widget in (self.label, self.bar, self.cancel_button):
            layout.addWidget(widget)
        self.runner.jobs_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        running = list(self.runner.running.values())
        self.setVisible(bool(running))
        if not running:
            return
        latest = running[-1]
        more = f" (+{len(running) - 1} more)" if len(running) > 1 else ""
        self.label.setText(f"{latest.title}{more}")
        self.bar.setValue(int(100 * latest.fraction))

    def cancel_latest(self) -> None:
        running = list(self.runner.running.values())
        if running:
            running[-1].cancel()


class MainWindow(QMainWindow):
    def __init__(self, context: AppContext, build_tabs: bool = True) -> None:
        super().__init__()
        self.context = context
        self.session = context.session
        self.qsettings = QSettings(str(paths.window_settings_file()), QSettings.Format.IniFormat)
        # restored exactly when presentation mode ends (restoreGeometry would fit it to the screen again)
        self._geometry_before_presenting: tuple[Qt.WindowState, QRect] | None = None
        self.setObjectName("MainWindow")
        self.resize(1400, 900)

        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(6, 6, 6, 0)
        self.banner = PatientBanner(context)
        column.addWidget(self.banner)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tab_pages: dict[str, Tab] = {}
        for title in TAB_TITLES:  # stand-ins until build_tabs(): the window can paint without the tabs' imports
            self.tabs.addTab(QWidget(), title)
        self.tabs.currentChanged.connect(self._tab_opened)
        column.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.session_files = SessionFiles(
            context, self, lambda: self._last_folder("sessions"), self._session_saved, self.session_opened
        )
        self._build_status_bar()
        self._build_menus()
        self.restore_geometry()
        context.bridge.patient_changed.connect(lambda _pid: self.update_title())
        context.bridge.demo_changed.connect(self._show_demo)
        context.runner.jobs_changed.connect(self._device_after_jobs)
        context.show_message = self.show_message
        context.navigation = self
        self.apply_presentation_mode(context.settings.presentation_mode)
        if build_tabs:
            self.build_tabs()

    def build_tabs(self) -> None:
        """Put every real tab page in place of its stand-in, all at once (tests, Export before start-up ends)."""
        for title in TAB_TITLES:
            self.build_tab(title)

    def build_tabs_stepwise(self, then: Callable[[], None]) -> None:
        """The same, one tab per turn of the event loop, so the window keeps answering meanwhile."""
        titles = iter(TAB_TITLES)

        def step() -> None:
            title = next((t for t in titles if t not in self.tab_pages), None)
            if title is None:
                then()
                return
            self.build_tab(title)
            QTimer.singleShot(1, step)  # a real (1 ms) timer: a 0 ms one is a posted call that would run before any paint or timer

        step()

    def build_tab(self, title: str) -> "Tab":
        """The tab page titled ``title``, built now in place of its stand-in if it is not yet."""
        page = self.tab_pages.get(title)
        if page is not None:
            return page
        page = tab_class(title)(self.context)
        self.tab_pages[title] = page
        index, current = TAB_TITLES.index(title), self.tabs.currentIndex()
        stand_in = self.tabs.widget(index)
        self.tabs.blockSignals(True)  # swapping pages is not the user changing tabs
        self.tabs.removeTab(index)
        self.tabs.insertTab(index, page, title)
        self.tabs.setCurrentIndex(current)
        self.tabs.blockSignals(False)
        stand_in.deleteLater()
        for widget in page.status_bar_widgets():  # index 2: after the notice and the jobs indicator
            self.statusBar().insertPermanentWidget(2, widget)
        if title == TabKind.IMAGES.value:  # the other tabs read the mode whenever they show a patient
            page.viewer.set_presenting(self.context.settings.presentation_mode)
        return page

    def _tab_opened(self, index: int) -> None:
        """A tab the user opens before start-up has built it is built at once."""
        if 0 <= index < len(TAB_TITLES):
            self.build_tab(TAB_TITLES[index])

    # status bar ----------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.notice_label = ElidedLabel(DECISION_SUPPORT_SHORT)  # yields first (each tab shows the notice whole)
        self.notice_label.setObjectName("noticeLabel")
        self.notice_label.setToolTip(DECISION_SUPPORT_NOTICE)
        self.notice_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        bar.addWidget(self.notice_label, 1)
        self.jobs = JobsIndicator(self.context)
        bar.addPermanentWidget(self.jobs)
        self.device_label = QLabel()
        self.device_label.setObjectName("deviceLabel")
        bar.addPermanentWidget(self.device_label)
        self.demo_badge = QLabel(DEMO_NOTICE)
        self.demo_badge.setObjectName("demoBadge")
        self.demo_badge.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Preferred)  # never clipped
        self.demo_badge.setVisible(self.session.demo)
        bar.addPermanentWidget(self.demo_badge)
        self.update_device_label()

    def update_device_label(self, description: str | None = None) -> None:
        """Before torch is loaded, show the configured choice; afterwards, the real device."""
        if description is None:
            if self.context.inference_loaded:
                description = self.context.inference().describe()
            else:
                choice = self.context.settings.device
                threads = self.context.settings.cpu_threads or os.cpu_count()
                description = f"Auto (CPU, {threads} threads)" if choice == "auto" else choice.upper()
        self.device_label.setText(f"Device: {description}")

    def _device_after_jobs(self) -> None:
        """Once a job has created the inference service, show the device it really uses."""
        if self.context.inference_loaded and not self.context.runner.running:
            self.update_device_label()

    def set_demo(self, demo: bool) -> None:
        self.session.set_demo(demo)

    def _show_demo(self, demo: bool) -> None:
        """The DEMO badge, the Reset demo action and the title follow the session's flag."""
        self.demo_badge.setVisible(demo)
        self.reset_demo_action.setEnabled(demo)
        self.update_title()

    def update_title(self) -> None:
        pid = self.session.current_patient_id
        parts = [f"{APP_NAME} {__version__}"]
        if pid is not None:
            parts.append(self.context.shown(pid).label())
        title = " - ".join(parts)
        if self.session.demo:
            title += "  [DEMO]"
        self.setWindowTitle(title)

    def show_message(self, title: str, text: str) -> None:
        """Errors and notices from jobs: a message box, the app keeps running."""
        self.statusBar().showMessage(text.splitlines()[0], 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setModal(False)
        box.show()
        self._last_message = box

    # navigation between tabs (the context's Navigation) -----------------------------------------
    def show_tab(self, kind: TabKind) -> None:
        self.tabs.setCurrentIndex(TAB_TITLES.index(kind.value))

    def show_explanation(self, prediction: Prediction) -> None:
        self.build_tab(TabKind.EXPLANATIONS.value).select_prediction(prediction)
        self.show_tab(TabKind.EXPLANATIONS)

    def show_overlay(self, image: MedicalImage, frame: int, heatmap: np.ndarray | None, label: str) -> bool:
        self.build_tab(TabKind.IMAGES.value).show_overlay(image, frame, heatmap, label)
        self.show_tab(TabKind.IMAGES)
        return True

    # menus ------------------------------------------------------------------------------------
    def _action(self, menu, text: str, slot, shortcut: QKeySequence | str | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        menus = self.menuBar()
        self.file_menu = menus.addMenu("&File")
        self._action(self.file_menu, "Open &records...", self.open_records_dialog, QKeySequence.StandardKey.Open)
        self._action(self.file_menu, "Open &image...", self.open_image_dialog, "Ctrl+I")
        self._action(self.file_menu, "Open &DICOM folder...", self.open_folder_dialog, "Ctrl+Shift+I")
        self.file_menu.addSeparator()
        self._action(self.file_menu, "Open &session...", self.open_session_dialog, "Ctrl+Shift+O")
        self._action(self.file_menu, "&Save session", self.session_files.save, QKeySequence.StandardKey.Save)
        self._action(self.file_menu, "Save session &as...", self.session_files.save_as, QKeySequence.StandardKey.SaveAs)
        self.file_menu.addSeparator()
        self._action(self.file_menu, "&Export report...", self.export_report, "Ctrl+E")
        self.file_menu.addSeparator()
        self._action(self.file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        self.models_menu = menus.addMenu("&Models")
        self._action(self.models_menu, "Model &catalogue and cards...", self.show_models, "Ctrl+M")

        self.view_menu = menus.addMenu("&View")
        self.presentation_action = self._action(self.view_menu, "&Presentation mode (large type, no identifiers)",
                                                self.set_presentation_mode, "Ctrl+Shift+P")
        self.presentation_action.setCheckable(True)

        self.settings_menu = menus.addMenu("&Settings")
        self._action(self.settings_menu, "&Preferences (device, threads, facility)...", self.show_settings, "Ctrl+,")

        self.help_menu = menus.addMenu("&Help")
        self._action(self.help_menu, "&Intended use and limitations...", self.show_intended_use, "F1")
        self.start_demo_action = self._action(self.help_menu, "Start &demo", self.start_demo)
        self.reset_demo_action = self._action(self.help_menu, "&Reset demo", self.reset_demo)
        self.reset_demo_action.setEnabled(self.session.demo)
        self.help_menu.addSeparator()
        self._action(self.help_menu, "&About MedAssist", self.show_about)

    def _last_folder(self, key: str) -> str:
        return self.context.settings.last_folders.get(key, str(Path.home()))

    def _remember_folder(self, key: str, path: str) -> None:
        folder = path if os.path.isdir(path) else os.path.dirname(path)
        self.context.change_settings(self.context.settings.with_last_folder(key, folder))

    def open_records_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open records (pick a file; for a Synthea export pick patients.csv)", self._last_folder("records"),
            "Records (*.csv *.json *.ndjson *.xlsx *.parquet);;All files (*)",
        )
        if path:
            self._remember_folder("records", path)
            target = os.path.dirname(path) if os.path.basename(path).lower() == "patients.csv" else path
            self.open_records(target)

    def open_image_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Open images", self._last_folder("images"),
            "Images (*.dcm *.dicom *.png *.jpg *.jpeg *.tif *.tiff *.bmp);;All files (*)",
        )
        if paths:
            self._remember_folder("images", paths[0])
            for path in paths:
                self.open_images(path)

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open DICOM folder or DICOMDIR folder", self._last_folder("images"))
        if folder:
            self._remember_folder("images", folder)
            self.open_images(folder)

    def open_records(self, path: str) -> None:
        """Import records in a worker; problems appear in the Records tab's import report."""
        from medassist.ui.actions import open_records

        open_records(self.context, path)

    def open_images(self, path: str) -> None:
        from medassist.ui.actions import open_images

        open_images(self.context, path)

    def open_session_dialog(self) -> None:
        self.session_files.open_dialog()

    def session_opened(self, _restored) -> None:
        """After a session file (or a crash autosave) is loaded, the DEMO badge follows it."""
        self.set_demo(self.session.demo)

    def _session_saved(self, path) -> None:
        self._remember_folder("sessions", str(path))
        self.statusBar().showMessage(f"Session saved to {path}", 8000)

    def export_report(self) -> None:
        report = self.build_tab(TabKind.REPORT.value)
        self.tabs.setCurrentWidget(report)
        export = getattr(report, "export_pdf", None)
        if export is not None:
            export()

    def show_models(self) -> None:
        ModelCatalogDialog(self.context.catalogue, self).exec()

    def show_settings(self) -> None:
        dialog = SettingsDialog(self.context.settings, self)
        if dialog.exec():
            self.context.change_settings(dialog.result_settings())
            self.update_device_label()

    def show_intended_use(self) -> None:
        IntendedUseDialog(self).exec()

    def show_about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}", about_text(_package_version))

    def start_demo(self) -> None:
        from medassist.ui.actions import start_demo

        start_demo(self.context)

    def reset_demo(self) -> None:
        """Back to the demo's starting state in one click (only offered in demo mode)."""
        from medassist.ui.actions import reset_demo

        reset_demo(self.context)

    def set_presentation_mode(self, on: bool) -> None:
        """Toggle from the View menu; remembered in the user's settings."""
        self.context.change_settings(self.context.settings.model_copy(update={"presentation_mode": bool(on)}))
        self.apply_presentation_mode(bool(on))

    def apply_presentation_mode(self, on: bool) -> None:
        """Large type and no identifiers (medassist.privacy.ShownPolicy), everywhere that shows a patient.
        The window keeps its size within the screen, and turning the mode off gives back the geometry it had."""
        self.presentation_action.setChecked(on)
        if on and self._geometry_before_presenting is None:
            self._geometry_before_presenting = (self.windowState(), self.geometry())
        sheet = style_sheet(presentation=on)
        if QApplication.instance().styleSheet() != sheet:  # re-polishing every widget costs ~0.2 s of GUI time
            QApplication.instance().setStyleSheet(sheet)
            for widget in self.findChildren(QWidget):  # layouts keep wrapped text's heights for the old type size
                widget.updateGeometry()
        if not on and self._geometry_before_presenting is not None:
            state, geometry = self._geometry_before_presenting
            if state & (Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen):
                self.setWindowState(state)
            else:
                self.setGeometry(geometry)
            self._geometry_before_presenting = None
        elif on:
            self._keep_on_screen()
        self.banner.refresh()
        self.update_title()
        if "Images" in self.tab_pages:
            self.tab_pages["Images"].viewer.set_presenting(on)
        for page in self.tab_pages.values():
            page.on_patient_changed(self.session.current_patient_id)

    def _keep_on_screen(self) -> None:
        """Never wider or taller than the screen's free area (larger type must wrap or scroll, not grow the window)."""
        screen = self.screen()
        if screen is None:
            return
        free = screen.availableGeometry()
        if self.width() > free.width() or self.height() > free.height():
            self.resize(min(self.width(), free.width()), min(self.height(), free.height()))

    # lifetime -------------------------------------------------------------------------------
    def restore_geometry(self) -> None:
        geometry = self.qsettings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        self.qsettings.setValue("window/geometry", self.saveGeometry())
        self.context.runner.shutdown(3000)
        super().closeEvent(event)


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
