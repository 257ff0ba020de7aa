"""The node, its store, its scoring workers and its retry worker as one thing to start and stop (GUI and CLI)."""

from __future__ import annotations

from typing import Any, Callable

from medassist.composition import Services
from medassist.settings.node import NodeSettings
from medassist.hospital.node import DicomNode
from medassist.hospital.outbox import Outbox, RetryWorker
from medassist.hospital.scoring import Scorer
from medassist.hospital.store import NodeLock, StudyStore


class HospitalNode:
    """Receive (:class:`DicomNode`), keep (:class:`StudyStore`), score (:class:`Scorer`) and send
    again what a PACS that was down could not take (:class:`RetryWorker`), on the ``services`` the
    composition root built for the caller (``medassist node``'s, or the window's): their catalogue
    says which models read which modality, their model service scores (made by the first scoring
    worker: it imports torch), their audit log records it all. ``settings`` are the node's own (the
    saved ones, with the command line's overrides)."""

    def __init__(self, settings: NodeSettings, services: Services, store: StudyStore | None = None,
                 on_stored: Callable[[dict[str, Any]], None] | None = None,
                 on_scored: Callable[[str, str], None] | None = None,
                 on_sent: Callable[[], None] | None = None, retry_poll_s: float = 5.0) -> None:
        self.settings = settings
        self.services = services
        self.store = store or StudyStore()
        self.audit = services.audit
        self.scorer = Scorer(self.store, services.models, settings.score_workers, on_scored=on_scored)
        self.node = DicomNode(settings, self.store, self.scorer, self.audit, services.catalogue, on_stored=on_stored)
        self.outbox = Outbox.of(settings, self.store)
        self.retry = RetryWorker(self.outbox, self.audit, retry_poll_s, on_sent)
        self._lock: NodeLock | None = None

    @property
    def port(self) -> int:
        return self.node.port

    def start(self) -> int:
        """Start scoring (re-queueing what a previous run left unfinished) and listening; returns the re-queued count."""
        self._lock = self.store.claim_for_node()
        requeued = self.scorer.start()
        try:
            self.node.start()
        except BaseException:
            self.scorer.stop()
            self._lock.release()
            raise
        self.retry.start()
        return requeued

    def stop(self) -> None:
        """Stop listening first, then let the workers finish the objects in hand."""
        self.node.stop()
        self.retry.stop()
        self.scorer.stop()
        if self._lock is not None:
            self._lock.release()
            self._lock = None
