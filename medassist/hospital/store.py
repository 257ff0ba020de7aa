"""Where received studies live: DICOM files under the user data folder and a SQLite worklist.

A file is written atomically, never over an existing object (:func:`medassist.atomic.atomic_write`
with ``keep_existing``), so a reader never sees half an object and an object never changes; its row is
committed (SQLite, WAL, synchronous FULL) before the sender is told it was stored. The row's
status moves received/queued -> scoring -> scored | refused | error; a guarded update makes
each object's result commit exactly once, and :meth:`StudyStore.requeue_unfinished` puts
objects that were being scored when the process died back in the queue.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Literal

from medassist import paths
from medassist.atomic import atomic_write_bytes
from medassist.errors import InputError, MedAssistError
from medassist.hospital.worklist import stored_result, summarise, urgency

if TYPE_CHECKING:
    from medassist.domain.prediction import Prediction

Status = Literal["received", "kept", "queued", "scoring", "scored", "refused", "error"]
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    sop_instance_uid TEXT PRIMARY KEY,
    sop_class_uid TEXT NOT NULL,
    study_instance_uid TEXT NOT NULL,
    series_instance_uid TEXT NOT NULL,
    patient_id TEXT NOT NULL DEFAULT '',
    patient_name TEXT NOT NULL DEFAULT '',
    study_date TEXT NOT NULL DEFAULT '',
    study_description TEXT NOT NULL DEFAULT '',
    modality TEXT NOT NULL DEFAULT '',
    view_position TEXT NOT NULL DEFAULT '',
    path TEXT NOT NULL,
    origin TEXT NOT NULL,
    received_at TEXT NOT NULL,
    status TEXT NOT NULL,
    model TEXT,
    result_json TEXT,
    error TEXT,
    scored_at TEXT,
    score_count INTEGER NOT NULL DEFAULT 0,
    is_read INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS objects_status ON objects(status, received_at);
CREATE INDEX IF NOT EXISTS objects_study ON objects(study_instance_uid);
CREATE TABLE IF NOT EXISTS issued (
    sop_instance_uid TEXT PRIMARY KEY,
    sop_class_uid TEXT NOT NULL,
    study_instance_uid TEXT NOT NULL,
    series_instance_uid TEXT NOT NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    fingerprint TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1,
    issued_at TEXT NOT NULL,
    superseded_by TEXT
);
CREATE INDEX IF NOT EXISTS issued_study ON issued(study_instance_uid, kind, version);
CREATE TABLE IF NOT EXISTS sent (
    sop_instance_uid TEXT NOT NULL,
    destination TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (sop_instance_uid, destination)
);
CREATE TABLE IF NOT EXISTS retry_queue (
    study_instance_uid TEXT NOT NULL,
    destination TEXT NOT NULL,
    pacs_json TEXT NOT NULL,
    calling_ae_title TEXT NOT NULL,
    files_json TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (study_instance_uid, destination)
);
"""
# columns added after the first release: a worklist written by an older MedAssist gets them on open
_ADDED_COLUMNS = {"accession_number": "TEXT NOT NULL DEFAULT ''", "study_time": "TEXT NOT NULL DEFAULT ''"}


def check_uid(value: str, what: str) -> str:
    """A DICOM UID as used in a file name: digits and dots only, at most 64 characters."""
    uid = str(value).strip().rstrip("\x00")
    if not uid or len(uid) > 64 or not _UID.match(uid):
        raise InputError(f"{what} '{uid[:80]}' is not a valid DICOM UID")
    return uid


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class ObjectHeader:
    """The identifying attributes of one received object, read before it is stored."""

    sop_instance_uid: str
    sop_class_uid: str
    study_instance_uid: str
    series_instance_uid: str
    patient_id: str = ""
    patient_name: str = ""
    study_date: str = ""
    study_description: str = ""
    modality: str = ""
    view_position: str = ""
    accession_number: str = ""
    study_time: str = ""

    @classmethod
    def from_dataset(cls, dataset: Any) -> "ObjectHeader":
        def text(keyword: str) -> str:
            value = dataset.get(keyword, "")
            return "" if value is None else str(value).strip()

        return cls(
            sop_instance_uid=check_uid(text("SOPInstanceUID"), "SOP Instance UID"),
            sop_class_uid=check_uid(text("SOPClassUID"), "SOP Class UID"),
            study_instance_uid=check_uid(text("StudyInstanceUID"), "Study Instance UID"),
            series_instance_uid=check_uid(text("SeriesInstanceUID"), "Series Instance UID"),
            patient_id=text("PatientID"),
            patient_name=text("PatientName"),
            study_date=text("StudyDate"),
            study_description=text("StudyDescription"),
            modality=text("Modality"),
            view_position=text("ViewPosition"),
            accession_number=text("AccessionNumber"),
            study_time=text("StudyTime"),
        )


@dataclass(frozen=True)
class StoreOutcome:
    """What happened to one offered object: stored now, or already held (not overwritten)."""

    sop_instance_uid: str
    path: Path
    duplicate: bool


class StudyStore:
    """The node's received objects and their worklist rows (one folder, one SQLite file)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else paths.user_data_dir() / "dicom-node"
        self.objects_dir = self.root / "objects"
        self.objects_dir.mkdir(parents=True, exist_ok=True)
        self.db_path = self.root / "worklist.sqlite"
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            present = {row["name"] for row in db.execute("PRAGMA table_info(objects)")}
            for column, declaration in _ADDED_COLUMNS.items():
                if column not in present:
                    db.execute(f"ALTER TABLE objects ADD COLUMN {column} {declaration}")

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection per call: safe from any thread, committed or rolled back."""
        db = sqlite3.connect(self.db_path, timeout=30.0, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA synchronous=FULL")
            yield db
        finally:
            db.close()

    def claim_for_node(self) -> "NodeLock":
        """Hold the store for one running node (re-queueing at start is only safe with one scorer)."""
        return NodeLock(self.root / "node.lock")

    # receiving ---------------------------------------------------------------------------
    def object_path(self, header: ObjectHeader) -> Path:
        return self.objects_dir / header.study_instance_uid / f"{header.sop_instance_uid}.dcm"

    def add(self, header: ObjectHeader, encoded: bytes, origin: str, model: str | None,
            image: bool = True) -> StoreOutcome:
        """Store one encoded DICOM file (preamble + meta + dataset) and its worklist row.

        ``model`` is the model that applies to it (the row is queued for scoring) or None (kept
        as received: an image no model reads, or a non-image object such as an SR, a presentation
        state, a key object selection or a segmentation). An object already held is left untouched
        and reported as a duplicate.
        """
        final = self.object_path(header)
        with self.connect() as db:
            row = db.execute("SELECT path FROM objects WHERE sop_instance_uid = ?", (header.sop_instance_uid,)).fetchone()
        if row is not None:
            return StoreOutcome(header.sop_instance_uid, Path(row["path"]), duplicate=True)
        final.parent.mkdir(parents=True, exist_ok=True)
        # an object already there was written by an earlier attempt that died before its row was committed
        atomic_write_bytes(final, encoded, keep_existing=True)
        status: Status = "queued" if model else "received" if image else "kept"
        added = self._insert(header, final, origin, status, model)
        return StoreOutcome(header.sop_instance_uid, final, duplicate=not added)

    def add_analysed(self, header: ObjectHeader, path: Path, origin: str, model: str, status: Status,
                     result: "Prediction | None" = None, error: str | None = None) -> bool:
        """A worklist row for a file scored where it lies ("Score a folder"); False if already listed."""
        added = self._insert(header, path, origin, "scoring", model)
        return added and self.finish(header.sop_instance_uid, status, result, error)

    def _insert(self, header: ObjectHeader, path: Path, origin: str, status: Status, model: str | None) -> bool:
        """One worklist row for ``header``; False when its SOP Instance UID is already listed."""
        with self.connect() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO objects (sop_instance_uid, sop_class_uid, study_instance_uid, series_instance_uid,"
                " patient_id, patient_name, study_date, study_description, modality, view_position, accession_number,"
                " study_time, path, origin, received_at, status, model) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (header.sop_instance_uid, header.sop_class_uid, header.study_instance_uid, header.series_instance_uid,
                 header.patient_id, header.patient_name, header.study_date, header.study_description, header.modality,
                 header.view_position, header.accession_number, header.study_time, str(path), origin, _now(), status,
                 model),
            )
        return cursor.rowcount == 1

    # scoring -----------------------------------------------------------------------------
    def requeue_unfinished(self) -> int:
        """Objects left 'scoring' by a process that died go back to the queue (call once at start)."""
        with self.connect() as db:
            return db.execute("UPDATE objects SET status = 'queued' WHERE status = 'scoring'").rowcount

    def claim_next(self) -> sqlite3.Row | None:
        """Take the oldest queued object for scoring; two workers never get the same one."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT * FROM objects WHERE status = 'queued' ORDER BY received_at, sop_instance_uid LIMIT 1"
                ).fetchone()
                if row is not None:
                    db.execute("UPDATE objects SET status = 'scoring' WHERE sop_instance_uid = ?", (row["sop_instance_uid"],))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return row

    def finish(self, sop_instance_uid: str, status: Status, result: "Prediction | None" = None,
               error: str | None = None) -> bool:
        """Record the outcome of scoring (the result whole, through the values codec); only an object
        being scored takes it (exactly once)."""
        stored = json.dumps(stored_result(result)) if result is not None else None
        with self.connect() as db:
            cursor = db.execute(
                "UPDATE objects SET status = ?, result_json = ?, error = ?, scored_at = ?, score_count = score_count + 1"
                " WHERE sop_instance_uid = ? AND status = 'scoring'",
                (status, stored, error, _now(), sop_instance_uid),
            )
        return cursor.rowcount == 1

    def pending_count(self) -> int:
        with self.connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM objects WHERE status IN ('queued', 'scoring')").fetchone()[0])

    # reading -----------------------------------------------------------------------------
    def entries(self) -> list[dict[str, Any]]:
        """Every worklist row, most urgent first (:func:`~medassist.hospital.worklist.urgency`), then oldest first."""
        with self.connect() as db:
            rows = db.execute("SELECT * FROM objects ORDER BY received_at, sop_instance_uid").fetchall()
        return sorted((worklist_entry(row) for row in rows), key=urgency, reverse=True)

    def entry(self, sop_instance_uid: str) -> dict[str, Any]:
        with self.connect() as db:
            row = db.execute("SELECT * FROM objects WHERE sop_instance_uid = ?", (sop_instance_uid,)).fetchone()
        if row is None:
            raise InputError(f"no object with SOP Instance UID {sop_instance_uid} on the worklist", self.db_path)
        return worklist_entry(row)

    def study_entries(self, study_instance_uid: str) -> list[dict[str, Any]]:
        with self.connect() as db:
            rows = db.execute(
                "SELECT * FROM objects WHERE study_instance_uid = ? ORDER BY received_at", (study_instance_uid,)
            ).fetchall()
        if not rows:
            raise InputError(f"no study with Study Instance UID {study_instance_uid} on the worklist", self.db_path)
        return [worklist_entry(row) for row in rows]

    def mark_read(self, sop_instance_uid: str, read: bool = True) -> None:
        with self.connect() as db:
            db.execute("UPDATE objects SET is_read = ? WHERE sop_instance_uid = ?", (int(read), sop_instance_uid))


class NodeLock:
    """An exclusive lock file (``flock``); the OS releases it when the process dies, even by kill -9."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            import fcntl
        except ImportError:  # Windows: no flock; one node per user folder is then the administrator's rule
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._fd)
            self._fd = None
            raise MedAssistError("another MedAssist DICOM node is already running on this worklist", path.parent) from exc

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def worklist_entry(row: sqlite3.Row) -> dict[str, Any]:
    """One worklist row as plain data (what `medassist worklist --json` prints and the tab shows), with
    its result's gate, outputs and findings (:func:`~medassist.hospital.worklist.summarise`)."""
    result = json.loads(row["result_json"]) if row["result_json"] else None
    return summarise({
        "sop_instance_uid": row["sop_instance_uid"],
        "study_instance_uid": row["study_instance_uid"],
        "series_instance_uid": row["series_instance_uid"],
        "sop_class_uid": row["sop_class_uid"],
        "patient_id": row["patient_id"],
        "patient_name": row["patient_name"],
        "study_date": row["study_date"],
        "study_description": row["study_description"],
        "modality": row["modality"],
        "view_position": row["view_position"],
        "accession_number": row["accession_number"],
        "study_time": row["study_time"],
        "path": row["path"],
        "origin": row["origin"],
        "received_at": row["received_at"],
        "status": row["status"],
        "model": row["model"],
        "error": row["error"],
        "scored_at": row["scored_at"],
        "score_count": row["score_count"],
        "read": bool(row["is_read"]),
        "result": result,
    })
