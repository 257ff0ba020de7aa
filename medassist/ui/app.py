"""Start the desktop application (``medassist gui`` and the ``medassist-gui`` launcher).

Start-up is staged so that the window appears at once and never freezes: the main window
paints first with empty tab pages; right after that first paint the tabs are built while
torch, the default model and captum are warmed up in a worker, so the first prediction does
not wait for them. Set ``MEDASSIST_STARTUP_TIMING=1`` (read through :mod:`medassist.settings`) to print, as Unix times, when each
stage was reached (``medassist bench`` subtracts the moment it launched the process).
"""

from __future__ import annotations

import argparse
import gc
import sys
import threading
import time
from typing import TYPE_CHECKING, Callable, Sequence

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from medassist import APP_NAME, __version__, paths
from medassist.inference.host import ModelHost
from medassist.inference.preload import NATIVE_LIBRARIES, preload_native_libraries  # before any worker maps a library
from medassist.jobs import Job, Progress
from medassist.session import Session
from medassist.settings import startup_timing
from medassist.ui.bridge import SessionBridge
from medassist.ui.context import AppContext
from medassist.ui.main_window import TAB_TITLES, MainWindow
from medassist.ui.presentation import style_sheet
from medassist.ui.workers import JobRunner

if TYPE_CHECKING:
    from medassist.ui.autosave import AutosaveController

_PROCESS_START = time.perf_counter()


def startup_mark(stage: str) -> None:
    """With ``MEDASSIST_STARTUP_TIMING`` set, print when ``stage`` was reached (read by ``medassist bench``)."""
    if startup_timing():
        print(f"STARTUP {stage} {time.time():.4f} torch={'torch' in sys.modules}", flush=True)


class FirstPaintProbe(QObject):
    """Calls ``then`` once, just after the main window first paints."""

    def __init__(self, then: Callable[[], None]) -> None:
        super().__init__()
        self.first_paint_s: float | None = None
        self._then = then

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.Paint and self.first_paint_s is None:
            self.first_paint_s = time.perf_counter() - _PROCESS_START
            startup_mark("first_paint")
            QTimer.singleShot(0, self._then)
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


def create_window(demo: bool = False, build_tabs: bool = True, model_host: ModelHost | None = None) -> MainWindow:
    """Build the context and main window (no torch import); used by ``main`` and the tests.
    With ``build_tabs=False`` the tabs are left to :meth:`MainWindow.build_tabs` (after first paint).
    The services come from the composition root: with a ``model_host`` (already started, see
    :mod:`medassist.ui.launch`) the models run there; without, in this process."""
    from medassist.composition import for_window

    application()
    session = Session(demo=demo)
    runner = JobRunner(max_threads=2)
    context = AppContext(session=session, bridge=SessionBridge(session), runner=runner,
                         services=for_window(model_host))
    runner.setParent(None)
    return MainWindow(context, build_tabs=build_tabs)


def _libraries_this_process_imports(context: AppContext) -> tuple[str, ...]:
    """pyarrow's libraries (pandas imports pyarrow), and torch's unless the model host runs the models."""
    return tuple(package for package in NATIVE_LIBRARIES if package != "torch" or not context.models_in_own_process)


def _import_for_first_tab(context: AppContext, title: str) -> Job[None]:
    """A job: the Qt-free libraries of the tab the window opens on (for Records, pandas above all),
    imported in a worker, where pure-Python import code lets the GUI thread run between its steps,
    and the empty tables the Records tab would otherwise build on the GUI thread."""
    yield Progress(0.1, "Starting")
    preload_native_libraries(*_libraries_this_process_imports(context))  # see its docstring
    from medassist.ui.main_window import tab_class
    from medassist.ui.records_model import empty_patient_list

    tab_class(title)
    import medassist.ui.autosave  # noqa: F401  (the session-file schema: pydantic builds it on import)

    yield Progress(0.6, "Starting")
    context.session.records  # noqa: B018  (made on first use: an empty table per record kind)
    empty_patient_list()
    yield Progress(1.0, "Starting")


def _warm_up_once_ready(context: AppContext, window_ready: threading.Event) -> Job[None]:
    """The models' warm-up. In this process its imports are held back until the window is ready:
    the libraries are mapped at once (the GIL released), but torch's Python import would share the
    interpreter lock with the open tab's construction and double the time the window does not
    answer. The model host has its own interpreter and is simply waited for."""
    yield Progress(0.02, "Preparing models")
    if not context.models_in_own_process:
        preload_native_libraries()
        while not window_ready.wait(0.25):
            yield Progress(0.05, "Preparing models")
    yield from context.warm_up()


def _import_for_other_tabs() -> Job[None]:
    """A job for once the models are ready: the other tabs' modules (the notes rules compile ~120
    patterns; reportlab, pyqtgraph, pydicom)."""
    from medassist.ui.main_window import tab_class

    for index, title in enumerate(TAB_TITLES):
        yield Progress(index / len(TAB_TITLES), "Preparing the tabs")
        tab_class(title)


def after_first_paint(window: MainWindow, demo: bool = False,
                      on_models_warm: Callable[[], None] | None = None,
                      on_tabs_ready: Callable[[], None] | None = None,
                      on_started: Callable[[], None] | None = None) -> list["AutosaveController"]:
    """Stages two and three of start-up, both from first paint. One worker imports the libraries
    of the tab on show, which is then built: the window is ready (autosave, crash recovery, the
    demo when asked). Another has the default model warmed: it waits for the model host, which
    started with the process (without a host it maps torch's libraries at once and, once the window
    is ready, imports torch and loads the model here), so that a prediction asked for then finds
    its model loaded or nearly so. Once both are done, and no other job runs (the user's first
    work goes first), the other tabs' libraries are imported in a worker and those tabs built one
    per turn of the event loop (a tab the user opens earlier is built at once), then captum is
    imported where the models run, and the model host loads the other models once the user's work
    leaves it idle. The garbage collector waits until all this is done. Returns a list that
    receives the autosave controller, for ``main`` to finish on exit."""
    started: list[AutosaveController] = []
    context = window.context
    waiting = {"models", "first tab"}
    # The imports below make a million objects; each full garbage collection among them holds the
    # interpreter for 0.1-0.15 s, a frozen window. None runs until start-up is over; then the
    # start-up objects are frozen out of later collections.
    gc.disable()

    def stage_done(stage: str) -> None:
        waiting.discard(stage)
        if not waiting:
            context.runner.when_idle(prepare_others)

    def prepare_others() -> None:
        context.runner.submit("Preparing the tabs", _import_for_other_tabs,
                              on_result=lambda _r: build_others(), on_error=lambda _message: build_others())

    def build_others() -> None:
        window.build_tabs_stepwise(all_built)

    def all_built() -> None:
        startup_mark("all_tabs_built")
        context.runner.submit("Preparing explanations", context.prepare_explanations,
                              on_result=lambda _r: start_up_over(), on_error=lambda _message: start_up_over())

    def start_up_over() -> None:
        gc.freeze()
        gc.enable()
        startup_mark("explanations_ready")
        if context.models_in_own_process:  # in this process they would compete with the window
            context.runner.when_idle(lambda: context.runner.submit(
                "Preparing the other models", context.warm_other_models,
                on_result=lambda _r: startup_mark("all_models_warm"), on_error=lambda _message: None))
        if on_started is not None:
            on_started()

    def warmed(_result: object) -> None:
        startup_mark("models_warm")
        if on_models_warm is not None:
            on_models_warm()
        stage_done("models")

    def first_tab_built(_result: object) -> None:
        from medassist.ui.autosave import AutosaveController, offer_restore

        window.build_tab(first)
        startup_mark("tabs_ready")
        started.append(AutosaveController(context, window))
        started[0].start()
        offer_restore(context, window, on_restored=window.session_opened)
        if demo:
            window.start_demo()
        if on_tabs_ready is not None:
            on_tabs_ready()
        window_ready.set()
        stage_done("first tab")

    first = TAB_TITLES[max(window.tabs.currentIndex(), 0)]
    window_ready = threading.Event()
    startup_mark("warm_up_started")
    context.runner.submit("Preparing models", lambda: _warm_up_once_ready(context, window_ready), on_result=warmed,
                          on_error=lambda _message: warmed(None))
    context.runner.submit("Starting", lambda: _import_for_first_tab(context, first),
                          on_result=first_tab_built, on_error=first_tab_built)
    return started


def main(argv: Sequence[str] | None = None, model_host: ModelHost | None = None) -> int:
    """The window's event loop (entered through :func:`medassist.ui.launch.main`, which starts the model host first)."""
    parser = argparse.ArgumentParser(prog="medassist-gui")
    parser.add_argument("--demo", action="store_true", help="open the synthetic demo cohort")
    parser.add_argument("--quit-after", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--quit-when-ready", action="store_true", help=argparse.SUPPRESS)  # medassist bench
    args = parser.parse_args(list(argv) if argv is not None else sys.argv[1:])
    app = application()
    window = create_window(demo=args.demo, build_tabs=False, model_host=model_host)
    started: list[list[AutosaveController]] = []
    quit_when_ready = window.close if args.quit_when_ready else None
    probe = FirstPaintProbe(lambda: started.append(after_first_paint(window, args.demo, quit_when_ready)))
    window.installEventFilter(probe)
    window.show()
    if args.quit_after is not None:
        QTimer.singleShot(int(args.quit_after * 1000), window.close)
    code = app.exec()
    window.context.runner.shutdown(5000)
    window.context.close_models()
    for autosave in (controller for stage in started for controller in stage):
        autosave.finish()
    return code


if __name__ == "__main__":
    sys.exit(main())
