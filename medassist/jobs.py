"""Long work as generators: each ``yield Progress(...)`` is a point where the job reports
progress and can be cancelled (the superqt idea), so cancelling never kills a thread mid-write.

One loop drives every job, :func:`run_job`: headless (CLI and tests) and in each of the GUI's
workers; a job that runs another inside it does so through :func:`rescaled`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Generator, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """How far a job is (0..1) and what it is doing, in words a user understands."""

    fraction: float
    message: str = ""


class Cancelled(Exception):
    """Raised inside a job when the user cancelled it."""


class CancelToken:
    """Thread-safe flag a job polls between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled by the user")


Job = Generator[Progress, None, T]


def run_job(
    job: Job[T],
    on_progress: Callable[[Progress], None] | None = None,
    token: CancelToken | None = None,
) -> T:
    """Drive a job generator to its return value, reporting progress and honouring ``token``."""
    while True:
        try:
            progress = next(job)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(progress)
        if token is not None and token.cancelled:
            job.close()
            raise Cancelled("cancelled by the user")


def rescaled(job: Job[T], start: float, stop: float, prefix: str = "") -> Job[T]:
    """Run ``job`` as one part of a larger job: its progress maps onto ``[start, stop]`` of the
    parent's, its messages get ``prefix``; closing the parent (a cancel) closes the sub-job."""
    try:
        while True:
            try:
                step = next(job)
            except StopIteration as done:
                return done.value
            yield Progress(start + (stop - start) * step.fraction, f"{prefix}{step.message}")
    finally:
        job.close()


def single_step(value: T, message: str = "done") -> Job[T]:
    """A job that is already finished; lets quick functions share the job interface."""
    yield Progress(1.0, message)
    return value
