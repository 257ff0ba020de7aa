"""What MedAssist issued for each study, what it sent to which PACS, and what waits for a PACS that
is down: three tables beside the worklist (same SQLite file, same durability) and the issued
objects kept under ``<store>/results/<StudyInstanceUID>/``.

* ``issued``: every SR version and AI map written for a study, with the SR's content fingerprint;
  an unchanged study reuses its last SR (same UID), a changed one gets a new version that names
  the last as its predecessor (:meth:`Outbox.latest_report`).
* ``sent``: (SOP Instance UID, PACS) pairs the PACS acknowledged; a resend skips them, so the PACS
  never gets the same result twice under two UIDs.
* ``retry_queue``: one row per (study, PACS) whose send failed, bounded by ``limit`` (a full queue
  refuses loudly, it never drops), retried with doubling delays (``interval`` up to 32 times it)
  by :class:`RetryWorker` and on demand; a newer export of the study replaces the files queued.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from medassist.audit import AuditLog
from medassist.errors import MedAssistError
from medassist.hospital.store import StudyStore
from medassist.settings.node import NodeSettings, PacsSettings

LOG = logging.getLogger(__name__)
MAX_BACKOFF = 32  # the longest wait is 32 retry intervals


class RetryQueueFull(MedAssistError):
    """The retry queue holds its limit of studies: nothing more is accepted until it drains."""


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def _iso(moment: _dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class IssuedReport:
    """One SR version issued for a study."""

    sop_instance_uid: str
    sop_class_uid: str
    series_instance_uid: str
    path: Path
    fingerprint: str
    version: int


@dataclass(frozen=True)
class QueuedSend:
    """A study's results waiting for a PACS."""

    study_instance_uid: str
    pacs: PacsSettings
    calling_ae_title: str
    files: list[Path]
    queued_at: str
    attempts: int
    next_attempt_at: str
    last_error: str

    def to_dict(self) -> dict[str, Any]:
        return {"study_instance_uid": self.study_instance_uid, "destination": self.pacs.label,
                "files": [str(p) for p in self.files], "queued_at": self.queued_at, "attempts": self.attempts,
                "next_attempt_at": self.next_attempt_at, "last_error": self.last_error}


class Outbox:
    """The issued / sent / retry-queue tables of one store."""

    def __init__(self, store: StudyStore, limit: int = 100, interval_s: float = 60.0) -> None:
        self.store = store
        self.limit = limit
        self.interval_s = interval_s
        self._draining = threading.Lock()  # the retry worker and "Retry now" never send the same study at once

    @classmethod
    def of(cls, settings: NodeSettings, store: StudyStore) -> "Outbox":
        """The store's outbox with the administrator's retry-queue limit and interval."""
        return cls(store, settings.retry_queue_limit, settings.retry_interval_s)

    def results_dir(self, study_instance_uid: str) -> Path:
        return self.store.root / "results" / study_instance_uid

    # issued ------------------------------------------------------------------------------------
    def latest_report(self, study_instance_uid: str) -> IssuedReport | None:
        with self.store.connect() as db:
            row = db.execute("SELECT * FROM issued WHERE study_instance_uid = ? AND kind = 'sr' ORDER BY version DESC"
                             " LIMIT 1", (study_instance_uid,)).fetchone()
        if row is None:
            return None
        return IssuedReport(row["sop_instance_uid"], row["sop_class_uid"], row["series_instance_uid"], Path(row["path"]),
                            row["fingerprint"], int(row["version"]))

    def issued_path(self, sop_instance_uid: str) -> Path | None:
        """Where an issued object (SR or AI map) is kept, if it was issued and is still there."""
        with self.store.connect() as db:
            row = db.execute("SELECT path FROM issued WHERE sop_instance_uid = ?", (sop_instance_uid,)).fetchone()
        return Path(row["path"]) if row is not None and Path(row["path"]).is_file() else None

    def record_issued(self, dataset: Any, kind: str, path: Path, fingerprint: str = "", version: int = 1,
                      supersedes: str | None = None) -> None:
        with self.store.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT OR REPLACE INTO issued (sop_instance_uid, sop_class_uid, study_instance_uid,"
                       " series_instance_uid, kind, path, fingerprint, version, issued_at) VALUES (?,?,?,?,?,?,?,?,?)",
                       (str(dataset.SOPInstanceUID), str(dataset.SOPClassUID), str(dataset.StudyInstanceUID),
                        str(dataset.SeriesInstanceUID), kind, str(path), fingerprint, version, _iso(_now())))
            if supersedes:
                db.execute("UPDATE issued SET superseded_by = ? WHERE sop_instance_uid = ?",
                           (str(dataset.SOPInstanceUID), supersedes))
            db.execute("COMMIT")

    # sent --------------------------------------------------------------------------------------
    def sent_to(self, destination: str, sop_instance_uids: list[str]) -> set[str]:
        """Which of these objects the PACS ``destination`` (``AET@HOST:PORT``) already acknowledged."""
        with self.store.connect() as db:
            rows = db.execute(f"SELECT sop_instance_uid FROM sent WHERE destination = ? AND sop_instance_uid IN "
                              f"({','.join('?' * len(sop_instance_uids))})", (destination, *sop_instance_uids)).fetchall()
        return {row["sop_instance_uid"] for row in rows}

    def record_sent(self, destination: str, sop_instance_uids: list[str]) -> None:
        with self.store.connect() as db:
            db.executemany("INSERT OR REPLACE INTO sent (sop_instance_uid, destination, sent_at) VALUES (?,?,?)",
                           [(uid, destination, _iso(_now())) for uid in sop_instance_uids])

    def study_states(self) -> dict[str, str]:
        """Study UID -> what happened to its results ("SR v2 sent to PACS@h:104", "queued for ...")."""
        states: dict[str, list[str]] = {}
        with self.store.connect() as db:
            for row in db.execute("SELECT i.study_instance_uid, i.version, s.destination FROM issued i JOIN sent s"
                                  " ON s.sop_instance_uid = i.sop_instance_uid WHERE i.kind = 'sr'"
                                  " AND i.superseded_by IS NULL"):
                states.setdefault(row["study_instance_uid"], []).append(f"SR v{row['version']} sent to {row['destination']}")
            for row in db.execute("SELECT study_instance_uid, destination, attempts FROM retry_queue"):
                states.setdefault(row["study_instance_uid"], []).append(
                    f"queued for {row['destination']} ({row['attempts']} tries)")
        return {study: "; ".join(parts) for study, parts in states.items()}

    # retry queue -------------------------------------------------------------------------------
    def enqueue(self, study_instance_uid: str, pacs: PacsSettings, calling_ae_title: str, files: list[Path],
                error: str) -> None:
        """Queue (or re-queue, with these files) a study's results for ``pacs``; raises
        :class:`RetryQueueFull` rather than drop anything."""
        now = _now()
        with self.store.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                present = db.execute("SELECT attempts FROM retry_queue WHERE study_instance_uid = ? AND destination = ?",
                                     (study_instance_uid, pacs.label)).fetchone()
                if present is None:
                    count = int(db.execute("SELECT COUNT(*) FROM retry_queue").fetchone()[0])
                    if count >= self.limit:
                        raise RetryQueueFull(f"the retry queue is full ({count} studies wait for a PACS); results for "
                                             f"study {study_instance_uid} were written but not queued", pacs.label)
                attempts = 1 if present is None else int(present["attempts"]) + 1
                db.execute("INSERT OR REPLACE INTO retry_queue (study_instance_uid, destination, pacs_json,"
                           " calling_ae_title, files_json, queued_at, attempts, next_attempt_at, last_error)"
                           " VALUES (?,?,?,?,?,?,?,?,?)",
                           (study_instance_uid, pacs.label, pacs.model_dump_json(), calling_ae_title,
                            json.dumps([str(p) for p in files]), _iso(now), attempts,
                            _iso(now + self._delay(attempts)), error))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _delay(self, attempts: int) -> _dt.timedelta:
        return _dt.timedelta(seconds=self.interval_s * min(2 ** max(attempts - 1, 0), MAX_BACKOFF))

    def queued(self) -> list[QueuedSend]:
        with self.store.connect() as db:
            rows = db.execute("SELECT * FROM retry_queue ORDER BY next_attempt_at").fetchall()
        return [QueuedSend(row["study_instance_uid"], PacsSettings.model_validate_json(row["pacs_json"]),
                           row["calling_ae_title"], [Path(p) for p in json.loads(row["files_json"])], row["queued_at"],
                           int(row["attempts"]), row["next_attempt_at"], row["last_error"]) for row in rows]

    def _failed(self, item: QueuedSend, error: str) -> None:
        attempts = item.attempts + 1
        with self.store.connect() as db:
            db.execute("UPDATE retry_queue SET attempts = ?, next_attempt_at = ?, last_error = ?"
                       " WHERE study_instance_uid = ? AND destination = ?",
                       (attempts, _iso(_now() + self._delay(attempts)), error, item.study_instance_uid, item.pacs.label))

    def _done(self, item: QueuedSend) -> None:
        with self.store.connect() as db:
            db.execute("DELETE FROM retry_queue WHERE study_instance_uid = ? AND destination = ?",
                       (item.study_instance_uid, item.pacs.label))

    def drain(self, audit: AuditLog | None = None, due_only: bool = True) -> tuple[int, int]:
        """Send what is due (or everything, ``due_only=False``); returns (studies sent, still queued)."""
        with self._draining:
            return self._drain(audit, due_only)

    def _drain(self, audit: AuditLog | None, due_only: bool) -> tuple[int, int]:
        from medassist.hospital.pacs import PacsError, send_files

        sent = 0
        now = _iso(_now())
        for item in self.queued():
            if due_only and item.next_attempt_at > now:
                continue
            try:
                missing = [p for p in item.files if not p.is_file()]
                if missing:
                    raise PacsError(f"{len(missing)} queued files are missing ({missing[0].name})", item.pacs.label)
                uids = send_files(item.pacs, item.calling_ae_title, item.files)
            except PacsError as exc:
                self._failed(item, exc.reason)
                if audit is not None:
                    audit.append("results_send_failed", study_instance_uid=item.study_instance_uid,
                                 destination=item.pacs.label, reason=exc.reason, attempts=item.attempts + 1)
                continue
            self.record_sent(item.pacs.label, uids)
            self._done(item)
            sent += 1
            if audit is not None:
                audit.append("results_sent", study_instance_uid=item.study_instance_uid, destination=item.pacs.label,
                             objects=len(uids), from_retry_queue=True)
        return sent, len(self.queued())


class RetryWorker:
    """A thread that drains the retry queue every ``poll_s`` seconds while the node runs."""

    def __init__(self, outbox: Outbox, audit: AuditLog, poll_s: float = 5.0,
                 on_change: Callable[[], None] | None = None) -> None:
        self.outbox = outbox
        self.audit = audit
        self.poll_s = poll_s
        self.on_change = on_change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="medassist-retry", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                sent, _left = self.outbox.drain(self.audit)
            except MedAssistError as exc:  # a damaged queue row must not stop the worker
                LOG.warning("retry queue: %s", exc)
                continue
            if sent and self.on_change is not None:
                self.on_change()
