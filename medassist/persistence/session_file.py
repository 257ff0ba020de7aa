"""Session files (``.medassist``): everything a clinician did, so closing MedAssist loses nothing.

A ``.medassist`` file is a zip holding ``session.json`` (record sources and image paths with
their SHA-256, predictions with their film's context, accepted treatments, comments, notes,
confirmed findings, films the clinician attached despite their header, the MedAssist version and the
models' hashes) and one compressed ``.npy`` per explanation array under ``arrays/``. Results,
decisions, reviews and attachments are written by the one values codec (:mod:`medassist.domain.codec`),
whose version the manifest records (``values_version``); a file of format 1 (before the codec) is read
through the codec's migrations (a file written before film contexts existed reads with none), and a
file from a newer MedAssist is refused with a message saying so. Large saliency maps (more than 512 x 512 values) are kept at half precision
(about three significant digits, far finer than the 8-bit colours they are drawn with); every
other array is exact. Each array is compressed once and the bytes reused by later saves, so
autosave of a session with many images costs disk writes, not recompression.
Records and images are not copied: the file names them with their hashes, and opening a session
(:mod:`medassist.app.sessions`) re-reads them with the importers, reporting a source that is missing
or whose hash changed while everything else is kept. A small stub of each patient with results
(name, birth date, sex) keeps that patient selectable even when the records file is gone. This
module reads and writes the file format only.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import threading
import tokenize
import weakref
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from medassist import __version__
from medassist.domain import codec
from medassist.domain.arrays import MAX_ARRAY_BYTES, ArrayError, ArrayRef, KeyedArrays
from medassist.errors import InputError
from medassist.hashing import sha256_file
from medassist.imaging.image import MedicalImage
from medassist.domain.prediction import Prediction
from medassist.atomic import atomic_write
from medassist.bounded import SESSION_FILE, size_text
from medassist.records.schema import PatientRecords
from medassist.domain.decisions import FilmAttachment, FindingReview, TreatmentDecision
from medassist.session import PER_PATIENT_FIELDS, Session, SessionState

SUFFIX = ".medassist"
FORMAT = "medassist-session"
FORMAT_VERSION = 2  # 1: values before the codec (read through its migrations, as values version 1)
MANIFEST = "session.json"
ARRAY_FOLDER = "arrays/"
HALF_PRECISION_ABOVE = 512 * 512
MAX_MANIFEST_BYTES = 64 * 2**20
_NPY_HEADER_BYTES = 65536 + 16  # numpy's own limit on an .npy header, plus magic and length
_STUB_COLUMNS = ("patient_id", "given_name", "family_name", "birth_date", "sex")


# ---------------------------------------------------------------------------------------------
# fingerprints of record sources (a file, or a folder such as a Synthea export)

_fingerprint_cache: dict[tuple[str, tuple], str] = {}
_fingerprint_lock = threading.Lock()


def _stat_signature(path: Path) -> tuple:
    if path.is_file():
        stat = path.stat()
        return ((stat.st_size, stat.st_mtime_ns),)
    return tuple(
        (str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(path.rglob("*")) if p.is_file()
    )


def source_fingerprint(path: str | Path) -> str | None:
    """SHA-256 of a file, or of a folder's files (relative names and contents); None if absent.

    Cached by size and modification time so autosave does not re-hash unchanged sources.
    """
    path = Path(path)
    if not path.exists():
        return None
    key = (str(path.resolve()), _stat_signature(path))
    with _fingerprint_lock:
        if key in _fingerprint_cache:
            return _fingerprint_cache[key]
    if path.is_file():
        digest = sha256_file(path)
    else:
        import hashlib

        combined = hashlib.sha256()
        for name, *_ in key[1]:
            combined.update(name.encode("utf-8") + b"\0" + sha256_file(path / name).encode("ascii") + b"\n")
        digest = combined.hexdigest()
    with _fingerprint_lock:
        _fingerprint_cache[key] = digest
    return digest


# ---------------------------------------------------------------------------------------------
# arrays: encoded once per array object (explanations are never changed in place)

_encoded: dict[int, bytes] = {}
_encoded_lock = threading.Lock()


def encode_array(values: np.ndarray) -> bytes:
    """zlib-compressed ``.npy`` bytes; large float maps at half precision. Cached per array object."""
    key = id(values)
    with _encoded_lock:
        cached = _encoded.get(key)
    if cached is not None:
        return cached
    stored = values
    if values.dtype.kind == "f" and values.size > HALF_PRECISION_ABOVE:
        stored = values.astype(np.float16)
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(stored), allow_pickle=False)
    data = zlib.compress(buffer.getvalue(), 1)
    with _encoded_lock:
        _encoded[key] = data
    weakref.finalize(values, _encoded.pop, key, None)
    return data


@dataclass
class _ArrayHeader:
    inflater: Any  # zlib's decompressor, positioned after the header
    body: bytes  # what was inflated past the header
    shape: tuple[int, ...]
    fortran: bool
    stored: np.dtype
    count: int
    size: int  # bytes the header declares


def _array_header(data: bytes) -> _ArrayHeader:
    """The ``.npy`` header of an encoded array, inflating no more than the header's own limit."""
    inflater = zlib.decompressobj()
    try:
        head = inflater.decompress(data, _NPY_HEADER_BYTES)
        stream = io.BytesIO(head)
        version = np.lib.format.read_magic(stream)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read_header is None:
            raise ArrayError(f".npy format {version} is not one MedAssist writes")
        shape, fortran, stored = read_header(stream, max_header_size=_NPY_HEADER_BYTES)
        if stored.hasobject:
            raise ArrayError("array holds Python objects")
        count = int(np.prod(shape, dtype=object))
    except (zlib.error, SyntaxError, tokenize.TokenError, ValueError, TypeError, OverflowError, MemoryError,
            RecursionError) as exc:  # numpy parses the header with ast.literal_eval
        if isinstance(exc, ArrayError):
            raise
        raise ArrayError(f"array header is damaged ({type(exc).__name__}: {exc})") from exc
    return _ArrayHeader(inflater, head[stream.tell():], shape, fortran, stored, count, count * stored.itemsize)


def _declared_bytes(data: bytes) -> int:
    """What an encoded array declares; 0 for a damaged one (refused where its result is read)."""
    try:
        return _array_header(data).size
    except ArrayError:
        return 0


def decode_array(data: bytes, dtype: str) -> np.ndarray:
    """Decode an array stored by :func:`encode_array`. The ``.npy`` header is read first and its
    shape checked against :data:`MAX_ARRAY_BYTES`, then exactly that many bytes are decompressed,
    so a damaged header or a compression bomb is refused before any large allocation."""
    header = _array_header(data)
    size, body = header.size, header.body
    if size > MAX_ARRAY_BYTES:
        raise ArrayError(f"array declares {size:,} bytes (shape {header.shape}), more than the {MAX_ARRAY_BYTES:,} allowed")
    wanted = size + 1 - len(body)  # one byte more than declared shows trailing data
    try:
        if wanted > 0:  # (a max_length of 0 would mean "no limit")
            body += header.inflater.decompress(header.inflater.unconsumed_tail, wanted)
    except (zlib.error, MemoryError) as exc:
        raise ArrayError(f"array data is damaged ({type(exc).__name__}: {exc})") from exc
    if len(body) != size:
        raise ArrayError(f"array holds {len(body):,} bytes where its header declares {size:,}")
    values = np.frombuffer(body, dtype=header.stored, count=header.count).reshape(header.shape, order="F" if header.fortran else "C")
    return values.astype(dtype) if str(values.dtype) != dtype else values.copy()


# ---------------------------------------------------------------------------------------------
# plain-data conversion (results and decisions: the values codec)


def _patient_stub(records: PatientRecords, patient_id: str) -> dict[str, Any] | None:
    if not records.has_patient(patient_id):
        return None
    row = records.patient_row(patient_id)
    return {c: (None if pd.isna(row[c]) else codec.json_value(row[c]) if c == "birth_date" else str(row[c])) for c in _STUB_COLUMNS}


def models_used(predictions: dict[str, list[Prediction]]) -> dict[str, dict[str, str]]:
    """name -> version and weights SHA-256 of every model with a result (for tracing a file)."""
    used: dict[str, dict[str, str]] = {}
    for items in predictions.values():
        for p in items:
            used[f"{p.model} {p.version}"] = {"model": p.model, "version": p.version, "weights_sha256": p.weights_sha256}
    return dict(sorted(used.items()))


# ---------------------------------------------------------------------------------------------
# saving


@dataclass
class SessionSnapshot:
    """What will be written, copied from the session on the GUI thread; hashing and writing can
    then run in a worker without touching the live session."""

    manifest: dict[str, Any]
    arrays: dict[str, np.ndarray]


def capture(session: Session) -> SessionSnapshot:
    """Copy everything a session file stores (fast: no hashing, no disk access)."""
    arrays = KeyedArrays()
    state = session.snapshot()
    predictions = {key: items for key, items in state.predictions.items() if items}
    images = {key: items for key, items in state.images.items() if items}
    keys = {key for name in PER_PATIENT_FIELDS for key, value in getattr(state, name).items() if value}
    if session.current_patient_id:
        keys.add(session.current_patient_id)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "values_version": codec.VERSION,
        "medassist_version": __version__,
        "saved": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "demo": state.demo,
        "current_patient_id": session.current_patient_id,
        "clinician_name": state.clinician_name,
        "record_sources": [{"path": str(s), "sha256": None} for s in session.record_sources],
        "patients": [stub for key in sorted(keys) if key and (stub := _patient_stub(session.records, key))],
        "images": {
            key: [{"path": str(i.path), "sha256": i.sha256, "modality": i.modality, "frames": i.n_frames,
                   "series_files": i.metadata.get("series_files")} for i in items]
            for key, items in images.items()
        },
        "predictions": {key: [codec.encode(p, arrays) for p in items] for key, items in predictions.items()},
        "decisions": {k: [codec.encode(d, arrays) for d in v.values()] for k, v in state.decisions.items() if v},
        "clinician_notes": state.clinician_notes,
        "confirmed_findings": state.confirmed_findings,
        "finding_reviews": {k: [codec.encode(r, arrays) for r in v.values()] for k, v in state.finding_reviews.items() if v},
        "film_attachments": {k: [codec.encode(a, arrays) for a in v.values()] for k, v in state.film_attachments.items() if v},
        "models": models_used(predictions),
    }
    return SessionSnapshot(manifest, arrays.arrays)


def write_snapshot(snapshot: SessionSnapshot, target: str | Path) -> Path:
    """Hash the record sources and write the file atomically (the previous file survives any failure)."""
    for source in snapshot.manifest["record_sources"]:
        source["sha256"] = source_fingerprint(source["path"])
    manifest = json.dumps(snapshot.manifest, default=codec.json_value, ensure_ascii=False, indent=1).encode("utf-8")
    arrays = {key: encode_array(values) for key, values in snapshot.arrays.items()}

    def write(handle: BinaryIO) -> None:
        with zipfile.ZipFile(handle, "w") as archive:
            archive.writestr(MANIFEST, manifest, compress_type=zipfile.ZIP_DEFLATED)
            for key, data in arrays.items():
                archive.writestr(f"{ARRAY_FOLDER}{key}.npy.zlib", data, compress_type=zipfile.ZIP_STORED)

    return atomic_write(target, write)


def save_session(session: Session, target: str | Path) -> Path:
    return write_snapshot(capture(session), target)


# ---------------------------------------------------------------------------------------------
# loading


@dataclass
class SessionFile:
    """A session file read back as it was written: its manifest (checked against
    :class:`SessionManifest`) and its values decoded by the codec (older versions migrated).
    Re-reading the records and images it names is the application's (:mod:`medassist.app.sessions`)."""

    path: Path
    manifest: dict[str, Any]
    predictions: dict[str, list[Prediction]]
    decisions: dict[str, dict[str, TreatmentDecision]] = field(default_factory=dict)
    finding_reviews: dict[str, dict[str, FindingReview]] = field(default_factory=dict)
    film_attachments: dict[str, dict[str, FilmAttachment]] = field(default_factory=dict)

    def state(self, images: dict[str, list[MedicalImage]]) -> SessionState:
        """The session's working state as saved, with the ``images`` re-read from their paths."""
        data = self.manifest
        return SessionState(
            images=images,
            predictions=self.predictions,
            decisions=self.decisions,
            clinician_notes=dict(data.get("clinician_notes", {})),
            confirmed_findings={k: list(v) for k, v in data.get("confirmed_findings", {}).items()},
            finding_reviews=self.finding_reviews,
            film_attachments=self.film_attachments,
            demo=bool(data.get("demo", False)),
            clinician_name=data.get("clinician_name") or "",
        )


# The manifest's schema: every field a reader uses, with its type. Unknown keys are dropped (a later
# version of the same format may add some); a wrong type or a missing required key refuses the file.
# Results, decisions, reviews and attachments are the values codec's (checked when they are decoded).


class _Entry(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _RecordSource(_Entry):
    path: str
    sha256: str | None = None


class _PatientStub(_Entry):
    patient_id: str
    given_name: str | None = None
    family_name: str | None = None
    birth_date: str | None = None
    sex: str | None = None


class _ImageEntry(_Entry):
    path: str
    sha256: str | None = None
    modality: str | None = None
    frames: int | None = None
    series_files: list[str] | None = None


class SessionManifest(_Entry):
    """``session.json`` as this version writes it."""

    format: str
    format_version: int
    values_version: int | None = None  # None in files of format 1
    medassist_version: str | None = None
    saved: str | None = None
    demo: bool = False
    current_patient_id: str | None = None
    clinician_name: str | None = None
    record_sources: list[_RecordSource] = []
    patients: list[_PatientStub] = []
    images: dict[str, list[_ImageEntry]] = {}
    predictions: dict[str, list[dict[str, Any]]] = {}
    decisions: dict[str, list[dict[str, Any]]] = {}
    clinician_notes: dict[str, str] = {}
    confirmed_findings: dict[str, list[str]] = {}
    finding_reviews: dict[str, list[dict[str, Any]]] = {}
    film_attachments: dict[str, list[dict[str, Any]]] = {}
    models: dict[str, dict[str, Any]] = {}


def _validated(raw: Any, path: Path) -> dict[str, Any]:
    """The manifest checked against :class:`SessionManifest`, as plain data (unknown keys dropped)."""
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise InputError("not a MedAssist session file", path)
    version = raw.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise InputError(f"saved by a newer MedAssist ({raw.get('medassist_version')}); update MedAssist to open it", path)
    try:
        codec.check_version(_values_version(raw))
    except codec.CodecError as exc:
        raise InputError(f"cannot open the results saved by MedAssist {raw.get('medassist_version')}: {exc}", path) from exc
    try:
        return SessionManifest.model_validate(raw).model_dump()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "session.json"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise InputError(f"session file is damaged: {where}: {first['msg']}{more}", path) from exc


def _values_version(manifest: dict[str, Any]) -> Any:
    """The values codec's version the file's results were written in (format 1 files: version 1)."""
    return 1 if manifest.get("format_version") == 1 else manifest.get("values_version")


def _read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """A member's bytes, refused before reading when it declares more than ``limit`` bytes."""
    size = archive.getinfo(name).file_size
    if size > limit:
        raise ValueError(f"{name} declares {size:,} bytes, more than the {limit:,} allowed")
    return archive.read(name)


def _read_archive(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and the array members, within the session limits (:data:`medassist.bounded.SESSION_FILE`):
    the file's size, what its members unpack to in all, and the time spent reading."""
    if not path.exists():
        raise InputError("file not found", path)
    try:
        with SESSION_FILE.open(path) as handle, zipfile.ZipFile(handle) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
            if unpacked > SESSION_FILE.max_bytes:
                raise InputError(f"the session unpacks to {size_text(unpacked)}, above the "
                                 f"{size_text(SESSION_FILE.max_bytes)} limit for {SESSION_FILE.what}; not read", path)
            raw = json.loads(_read_member(archive, MANIFEST, MAX_MANIFEST_BYTES).decode("utf-8"))
            manifest = _validated(raw, path)
            arrays = {
                name[len(ARRAY_FOLDER):].split(".")[0]: _read_member(archive, name, MAX_ARRAY_BYTES + _NPY_HEADER_BYTES)
                for name in archive.namelist() if name.startswith(ARRAY_FOLDER)
            }
        declared = sum(_declared_bytes(data) for data in arrays.values())
        if declared > SESSION_FILE.max_bytes:  # each array is compressed: a small file can declare gigabytes
            raise InputError(f"the session's arrays declare {size_text(declared)}, above the "
                             f"{size_text(SESSION_FILE.max_bytes)} limit for {SESSION_FILE.what}; not read", path)
    except InputError:
        raise
    except FileNotFoundError as exc:
        raise InputError("file not found", path) from exc
    except RecursionError as exc:
        raise InputError("not a readable MedAssist session file (session.json is nested too deeply)", path) from exc
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, ValueError, UnicodeDecodeError, OSError, EOFError,
            NotImplementedError, zlib.error) as exc:
        raise InputError(f"not a readable MedAssist session file ({type(exc).__name__}: {exc})", path) from exc
    return manifest, arrays


V = TypeVar("V")


def _decode_values(path: Path, manifest: dict[str, Any], members: dict[str, bytes]) -> SessionFile:
    """Results, decisions, reviews and attachments through the values codec (older versions migrated);
    the first one that cannot be read refuses the file, naming where it is."""
    version = _values_version(manifest)

    def load(key: str, ref: ArrayRef) -> np.ndarray:
        if key not in members:
            raise ArrayError(f"array {key} is missing from the file")
        return decode_array(members[key], str(ref.get("dtype", "float32")))

    arrays = KeyedArrays(load)

    def decoded(section: str, cls: type[V]) -> dict[str, list[V]]:
        found: dict[str, list[V]] = {}
        for key, items in manifest.get(section, {}).items():
            for index, item in enumerate(items):
                try:
                    found.setdefault(key, []).append(codec.decode(cls, item, arrays, version))
                except (ValueError, zlib.error) as exc:  # CodecError and ArrayError are ValueErrors
                    raise InputError(f"session file is damaged ({section}.{key}.{index}: {exc})", path) from exc
        return found

    return SessionFile(
        path,
        manifest,
        decoded("predictions", Prediction),
        decisions={k: {d.option_id: d for d in v} for k, v in decoded("decisions", TreatmentDecision).items()},
        finding_reviews={k: {r.finding: r for r in v} for k, v in decoded("finding_reviews", FindingReview).items()},
        film_attachments={k: {a.image_key: a for a in v}
                          for k, v in decoded("film_attachments", FilmAttachment).items()},
    )


def read_session_file(path: str | Path) -> SessionFile:
    """Read a ``.medassist`` file: its manifest and its values (refused with an :class:`InputError`
    naming the file when it is not one, is damaged, or is over its limits)."""
    path = Path(path)
    manifest, members = _read_archive(path)
    return _decode_values(path, manifest, members)
