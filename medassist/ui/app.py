"""Start the desktop application (``medassist gui`` and the ``medassist-gui`` launcher).

The window is shown before torch is imported: models load in workers, on first use.
Set ``MEDASSIST_STARTUP_TIMING=1`` to print the time from process start to first paint.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Sequence

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from medassist import APP_NAME, __version__, paths
from medassist.session import Session
from medassist.settings import Settings
from medassist.ui.autosave import AutosaveController, offer_restore
from medassist.ui.bridge import SessionBridge
from medassist.ui.context import AppContext
from medassist.ui.main_window import MainWindow
from medassist.ui.presentation import style_sheet
from medassist.ui.workers import JobRunner

_PROCESS_START = time.perf_counter()


class FirstPaintProbe(QObject):
    """Records when the main window first paints (cold-start measurement)."""

    def __init__(self) -> None:
        super().__init__()
        self.first_paint_s: float | None = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.Paint and self.first_paint_s is None:
            self.first_paint_s = time.perf_counter() - _PROCESS_START
            if os.environ.get("MEDASSIST_STARTUP_TIMING"):
                print(f"first_paint_s={self.first_paint_s:.3f} torch_imported={'torch' in sys.modules}", flush=True)
        return False


def application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName(APP_NAME)
    app.setDesktopFileName("medassist")  # Linux taskbars match the window to medassist.desktop
    app.setWindowIcon(app_icon())
    app.setStyleSheet(style_sheet(presentation=False))
    return app


def app_icon() -> QIcon:
    """The MedAssist icon at every rendered size (PNGs need no SVG plugin in frozen builds)."""
    icon = QIcon()
    for png in sorted((paths.resources_dir() / "icons").glob("medassist-*.png")):
        icon.addFile(str(png))
    return icon


def create_window(demo: bool = False) -> MainWindow:
    """Build the context and main window (no torch import); used by ``main`` and the tests."""
    application()
    session = Session(demo=demo)
    runner = JobRunner(max_threads=2)
    context = AppContext(session=session, bridge=SessionBridge(session), runner=runner, settings=Settings.load())
    runner.setParent(None)
    return MainWindow(context)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medassist-gui")
    parser.add_argument("--demo", action="store_true", help="open the synthetic demo cohort")
    parser.add_argument("--quit-after", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(list(argv) if argv is not None else sys.argv[1:])
    app = application()
    window = create_window(demo=args.demo)
    probe = FirstPaintProbe()
    window.installEventFilter(probe)
    window.show()
    autosave = AutosaveController(window.context, window)
    autosave.start()
    QTimer.singleShot(0, lambda: offer_restore(window.context, window, on_restored=window.session_opened))
    if args.demo:
        QTimer.singleShot(0, window.start_demo)
    if args.quit_after is not None:
        QTimer.singleShot(int(args.quit_after * 1000), window.close)
    code = app.exec()
    window.context.runner.shutdown(5000)
    autosave.finish()
    return code


if __name__ == "__main__":
    sys.exit(main())
