"""Running core jobs off the GUI thread (QThreadPool + QRunnable, signals on a companion QObject).

A job is a core generator (see :mod:`medassist.jobs`), driven by the same :func:`~medassist.jobs.run_job`
as on the command line; each ``yield`` reports progress and is where a cancel takes effect.
Exceptions become a ``failed`` signal with a one-line message, never a crash. Results cross back to the GUI thread through queued signals; callers must
not build QPixmaps in the job (only plain data and copied numpy buffers).
"""

from __future__ import annotations

import itertools
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from medassist.errors import MedAssistError
from medassist.jobs import Cancelled, CancelToken, Job, Progress, run_job

_ids = itertools.count(1)


class JobSignals(QObject):
    progress = Signal(float, str)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()


class JobHandle(QRunnable):
    """One submitted job: cancel it, or listen to its signals."""

    def __init__(self, title: str, make_job: Callable[[], Job[Any]]) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.job_id = next(_ids)
        self.title = title
        self._make_job = make_job
        self.token = CancelToken()
        self.signals = JobSignals()
        self.thread_name: str | None = None
        self.fraction = 0.0
        self.message = ""
        self.done = False

    def cancel(self) -> None:
        self.token.cancel()

    def _report(self, progress: Progress) -> None:
        self.signals.progress.emit(float(progress.fraction), progress.message)

    def run(self) -> None:  # runs on a pool thread
        import threading

        self.thread_name = threading.current_thread().name
        try:
            self.token.raise_if_cancelled()
            result = run_job(self._make_job(), on_progress=self._report, token=self.token)
        except Cancelled:
            self.signals.cancelled.emit()
        except MedAssistError as exc:
            self.signals.failed.emit(str(exc))
        except MemoryError:
            self.signals.failed.emit(f"{self.title}: not enough memory")
        except Exception as exc:  # any job bug must reach the user as a message, not kill the app
            traceback.print_exc()
            self.signals.failed.emit(f"{self.title} failed: {type(exc).__name__}: {exc}")
        else:
            self.signals.succeeded.emit(result)
        finally:
            self.done = True
            self.signals.finished.emit()


class JobRunner(QObject):
    """Submits jobs to a thread pool and tracks those running (the status bar lists them)."""

    jobs_changed = Signal()

    def __init__(self, max_threads: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self.running: dict[int, JobHandle] = {}

    def submit(
        self,
        title: str,
        make_job: Callable[[], Job[Any]],
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_progress: Callable[[float, str], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
    ) -> JobHandle:
        """Run ``make_job()`` on the pool; the factory itself also runs off the GUI thread."""
        handle = JobHandle(title, make_job)
        if on_result:
            handle.signals.succeeded.connect(on_result)
        if on_error:
            handle.signals.failed.connect(on_error)
        if on_progress:
            handle.signals.progress.connect(on_progress)
        if on_cancelled:
            handle.signals.cancelled.connect(on_cancelled)
        handle.signals.progress.connect(lambda fraction, message: self._on_progress(handle, fraction, message))
        handle.signals.finished.connect(lambda: self._forget(handle.job_id))
        self.running[handle.job_id] = handle
        self.jobs_changed.emit()
        self.pool.start(handle)
        return handle

    def when_idle(self, then: Callable[[], None]) -> None:
        """Call ``then`` once no job is running (now, if none is): background preparation gives
        way to the user's work instead of competing with it for the interpreter."""
        if not self.running:
            then()
            return

        def check() -> None:
            if not self.running:
                self.jobs_changed.disconnect(check)
                then()

        self.jobs_changed.connect(check)

    def _on_progress(self, handle: JobHandle, fraction: float, message: str) -> None:
        handle.fraction, handle.message = fraction, message
        self.jobs_changed.emit()

    def _forget(self, job_id: int) -> None:
        self.running.pop(job_id, None)
        self.jobs_changed.emit()

    def cancel_all(self) -> None:
        for handle in list(self.running.values()):
            handle.cancel()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel everything and wait (bounded) for the pool to drain."""
        self.cancel_all()
        return self.pool.waitForDone(timeout_ms)
