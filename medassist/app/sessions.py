"""Open a session file: read it, re-read the records and images it names, and restore the session.

A ``.medassist`` file (:mod:`medassist.persistence.session_file`) holds the results and decisions,
not the records or images: those are re-imported from their paths here, each checked against the
hash it had when the session was saved. A source that is missing or changed is reported and left
out, everything else is kept; patients with results whose records are gone stay selectable through
the stub the file keeps of them. File > Open session, crash recovery and the tests use
:func:`open_session` (a job: run it in a worker) and then :func:`restore` (on the GUI thread).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from medassist.app.films import decide_films
from medassist.errors import MedAssistError
from medassist.imaging.image import MedicalImage
from medassist.jobs import Job, Progress
from medassist.persistence.session_file import SessionFile, read_session_file, source_fingerprint
from medassist.domain.prediction import Prediction
from medassist.records.schema import PatientRecords
from medassist.records.table import RememberedMappings
from medassist.session import Session


@dataclass
class RestoredSession:
    """A session file read back, with its sources re-read and what could not be restored."""

    file: SessionFile
    records: PatientRecords
    record_sources: list[str] = field(default_factory=list)
    images: dict[str, list[MedicalImage]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.file.path

    @property
    def manifest(self) -> dict[str, Any]:
        return self.file.manifest

    @property
    def predictions(self) -> dict[str, list[Prediction]]:
        return self.file.predictions

    @property
    def complete(self) -> bool:
        return not (self.missing or self.changed or self.problems)

    def summary(self) -> str:
        """What the user is told after opening the file."""
        lines = [f"Session {self.path.name} (saved {self.manifest.get('saved', '?')} by MedAssist "
                 f"{self.manifest.get('medassist_version', '?')})."]
        if self.missing:
            lines.append("Missing sources (results and notes about them are kept):")
            lines += [f"  {m}" for m in self.missing]
        if self.changed:
            lines.append("Changed since the session was saved (SHA-256 differs):")
            lines += [f"  {c}" for c in self.changed]
        if self.problems:
            lines.append("Problems:")
            lines += [f"  {p}" for p in self.problems]
        if self.complete:
            lines.append("All records and images were found unchanged.")
        return "\n".join(lines)


def open_session(path: str | Path, remembered: RememberedMappings) -> Job[RestoredSession]:
    """Read a ``.medassist`` file and re-read its records (a plain table with the column mapping
    ``remembered`` for its layout, ``Settings.column_mappings``) and images."""
    path = Path(path)
    yield Progress(0.0, f"Opening {path.name}")
    restored = RestoredSession(read_session_file(path), PatientRecords())
    yield from _reload_records(restored, remembered)
    yield from _reload_images(restored)
    yield Progress(1.0, f"Opened {path.name}")
    return restored


def restore(session: Session, restored: RestoredSession) -> None:
    """Replace the session's contents with the restored ones (call on the GUI thread); results from a
    file saved before film contexts existed get theirs now."""
    session.set_current_patient(None)
    session.restore(restored.file.state(restored.images))
    session.set_records(restored.records, restored.record_sources)
    current = restored.manifest.get("current_patient_id")
    ids = restored.records.patient_ids
    session.set_current_patient(current if current in ids else (ids[0] if ids else None))
    for patient_id in restored.predictions:
        decide_films(session, patient_id, missing_only=True)


def _exists(path: str) -> bool:
    """Whether a path named in a session file exists; a name no file can have (a NUL byte) does not."""
    try:
        return Path(path).exists()
    except (OSError, ValueError):
        return False


def _stub_records(manifest: dict[str, Any], present: PatientRecords) -> PatientRecords:
    """Patients with results whose records are gone stay selectable through their stub."""
    stubs = [s for s in manifest.get("patients", []) if not present.has_patient(s["patient_id"])]
    if not stubs:
        return present
    frame = pd.DataFrame(stubs)
    frame["source"] = "session file (records missing)"
    return PatientRecords.concat([present, PatientRecords.from_frames(patients=frame)])


def _reload_records(restored: RestoredSession, remembered: RememberedMappings) -> Job[None]:
    manifest = restored.manifest
    parts = []
    sources = manifest.get("record_sources", [])
    for index, source in enumerate(sources):
        path = source["path"]
        yield Progress(0.1 + 0.4 * index / max(len(sources), 1), f"Reading records {Path(path).name}")
        if manifest.get("demo") and not _exists(path):
            try:
                from medassist.demo import build_demo

                parts.append(build_demo().records)
                restored.record_sources.append(path)
            except ImportError:
                restored.missing.append(f"records: {path} (demo cohort not available)")
            continue
        from medassist.records.importer import detect_format, import_records

        try:
            if not _exists(path):
                restored.missing.append(f"records: {path}")
                continue
            detect_format(path)  # a path that holds no records is reported before its files are hashed
            actual = source_fingerprint(path)
            if source.get("sha256") and actual != source["sha256"]:
                restored.changed.append(f"records: {path} (re-read; results were made on the earlier version)")
            parts.append(import_records(path, remembered=remembered))
            restored.record_sources.append(path)
        except MedAssistError as exc:
            restored.problems.append(f"records: {exc}")
        except OSError as exc:
            restored.problems.append(f"records: {path}: cannot be read ({exc.strerror or exc})")
    loaded = PatientRecords.concat(parts) if parts else PatientRecords()
    restored.records = _stub_records(manifest, loaded)


def _load_series(entry: dict[str, Any], folders: dict[Path, list[MedicalImage]]) -> Job[MedicalImage | None]:
    """A volume assembled from several files: reopen its folder (once per read) and match by hash."""
    from medassist.imaging.loader import open_images

    folder = Path(entry["path"]).parent
    if folder not in folders:
        batch = yield from open_images(folder)
        folders[folder] = batch.images
    return next((i for i in folders[folder] if i.sha256 == entry.get("sha256")), None)


def _reload_images(restored: RestoredSession) -> Job[None]:
    entries = [(key, entry) for key, items in restored.manifest.get("images", {}).items() for entry in items]
    folders: dict[Path, list[MedicalImage]] = {}
    for index, (key, entry) in enumerate(entries):
        path = Path(entry["path"])
        yield Progress(0.5 + 0.5 * index / max(len(entries), 1), f"Reading image {path.name}")
        missing = [p for p in entry.get("series_files") or [str(path)] if not _exists(p)]
        if missing:
            restored.missing.append(f"image: {path}" + (f" ({len(missing)} file(s) of its series)" if entry.get("series_files") else ""))
            continue
        from medassist.imaging.loader import load_image

        try:
            image = (yield from _load_series(entry, folders)) if entry.get("series_files") else load_image(path)
        except MedAssistError as exc:
            restored.problems.append(f"image: {exc}")
            continue
        if image is None or (entry.get("sha256") and image.sha256 != entry["sha256"]):
            restored.changed.append(f"image: {path} (not loaded: it is no longer the image that was analysed)")
            continue
        restored.images.setdefault(key, []).append(image)
