"""Background analysis of received objects: a bounded pool of workers drains the store's queue.

Which model applies is decided from the object's header: the first image model whose card names
its DICOM modality (an acquisition: a secondary capture, "OT", is a derived image, often a result
MedAssist sent, and is kept, not scored); the model's own input gate then accepts or refuses the image. Scoring goes through :class:`InferenceService`, so every
run has its audit line like any other prediction.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from medassist.errors import MedAssistError
from medassist.hospital.store import Status, StudyStore
from medassist.domain.tasks import Task
from medassist.inference.registry import ModelRegistry

IDLE_WAIT_S = 0.5


def image_model_for(registry: ModelRegistry, modality: str) -> str | None:
    """The first available image model whose card names this DICOM acquisition modality, if any."""
    if not modality or modality == "OT":
        return None
    for entry in registry.available(Task.IMAGE):
        assert entry.card is not None
        if modality in entry.card.modality:
            return entry.card.name
    return None


class Scorer:
    """``workers`` threads take queued objects from the store, run their model and record the result."""

    def __init__(self, store: StudyStore, service_factory: Callable[[], Any], workers: int = 2,
                 on_scored: Callable[[str, str], None] | None = None) -> None:
        self.store = store
        self._service_factory = service_factory  # called once, by the first worker (it imports torch)
        self._service: Any = None
        self.workers = max(1, workers)
        self.on_scored = on_scored  # (sop_instance_uid, status), from a worker thread
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._service_lock = threading.Lock()

    @property
    def service(self) -> Any:
        """The inference service the workers use (an :class:`InferenceService`)."""
        with self._service_lock:
            if self._service is None:
                self._service = self._service_factory()
            return self._service

    def start(self) -> int:
        """Re-queue what a dead process left unfinished, then start the workers; returns the re-queued count."""
        requeued = self.store.requeue_unfinished()
        self._stop.clear()
        for index in range(self.workers):
            thread = threading.Thread(target=self._run, name=f"medassist-score-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self._wake.set()
        return requeued

    def notify(self) -> None:
        """Something was queued: wake an idle worker now instead of at its next poll."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Let each worker finish the object in hand, then return (bounded by ``timeout``)."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            row = self.store.claim_next()
            if row is None:
                self._wake.wait(IDLE_WAIT_S)
                self._wake.clear()
                continue
            status = self.score_one(row["sop_instance_uid"], row["path"], row["model"], row["patient_id"])
            if self.on_scored is not None:
                self.on_scored(row["sop_instance_uid"], status)

    def score_one(self, sop_instance_uid: str, path: str, model: str, patient_id: str) -> Status:
        """Run ``model`` on one claimed object and commit its outcome; returns the new status."""
        from medassist.imaging.loader import load_image
        from medassist.domain.inputs import ImageInput
        from medassist.jobs import run_job

        try:
            image = load_image(path)
            prediction = run_job(self.service.predict(model, ImageInput(image), patient_id=patient_id or None))
        except MedAssistError as exc:
            self.store.finish(sop_instance_uid, "error", error=exc.reason)
            return "error"
        except (MemoryError, ValueError, RuntimeError) as exc:  # a damaged object must not stop the queue
            self.store.finish(sop_instance_uid, "error", error=f"{type(exc).__name__}: {exc}")
            return "error"
        status: Status = "refused" if prediction.refused else "scored"
        self.store.finish(sop_instance_uid, status, result=prediction)
        return status
