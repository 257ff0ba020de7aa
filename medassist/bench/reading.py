"""Bounded reading benchmark: how fast, and in how much memory, MedAssist refuses a 2 GiB file of
zeros with each extension it opens, a 2 GiB CSV, and crafted files within the size limits (zeros
after a DICOM prefix, after a DICOM file meta group, a 900 MiB file of zeros named ``.dcm``).

Files are sparse (``truncate``): they take no disk space and read back as zeros. Each case goes
through the reader the app, the CLI and the DICOM node call (opening an image, importing records,
opening a session, the model catalogue, verifying an audit trail). The section runs in a fresh
process, so the peak resident memory it reports (:func:`~medassist.bench.machine.peak_rss_mib`) covers every case;
``tests/test_bounded_reading.py`` runs the same cases and checks the refusals and the memory.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from medassist.bench.machine import peak_rss_mib
from medassist.bounded import GiB, MiB

BIG = 2 * GiB
IMAGE_NAMES = (".dcm", ".dicom", ".dic", ".ima", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", "", "DICOMDIR")
TEMP = "TMP"  # the temporary folder's path, in the refusals reported
RECORDS_NAMES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet", ".json", ".ndjson", ".jsonl")


def sparse(path: Path, size: int = BIG, head: bytes = b"") -> Path:
    """A file of ``size`` bytes: ``head``, then zeros that take no disk space."""
    with open(path, "wb") as handle:
        handle.write(head)
        handle.truncate(size)
    return path


def _refusal(call: Callable[[], Any]) -> str | None:
    """The message a call refused with (a MedAssistError); None when it returned."""
    from medassist.errors import MedAssistError

    try:
        call()
    except MedAssistError as exc:
        return str(exc)
    return None


def _meta_then_zeros(path: Path) -> Path:
    """A DICOM prefix and a valid file meta group, then zeros (pydicom would walk them 8 bytes at a time)."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.filewriter import write_file_meta_info
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = io.BytesIO()
    buffer.write(b"\0" * 128 + b"DICM")
    write_file_meta_info(buffer, meta)  # type: ignore[arg-type]  # pydicom takes any binary file-like
    return sparse(path, 900 * MiB, buffer.getvalue())


def cases(folder: Path) -> dict[str, Callable[[], str | None]]:
    """Each case: a name and a call returning the refusal (None would mean the file was read)."""
    from medassist.audit import verify_chain
    from medassist.composition import build_services
    from medassist.imaging.loader import load_image
    from medassist.settings import Settings
    from medassist.persistence.session_file import read_session_file
    from medassist.records.importer import import_records

    def image(path: Path) -> Callable[[], str | None]:
        return lambda: _refusal(lambda: load_image(path).describe())

    def records(path: Path) -> Callable[[], str | None]:
        return lambda: _refusal(lambda: import_records(path, remembered={}))

    def audit(path: Path) -> Callable[[], str | None]:
        def call() -> str | None:
            result = verify_chain(path)
            return None if result.intact else f"{path}: line {result.broken_line} {result.reason}"
        return call

    def catalogue(root: Path) -> Callable[[], str | None]:
        services = build_services(Settings(), folder / "audit.jsonl", [root])
        return lambda: "; ".join(f"{e.folder}: {e.error}" for e in services.catalogue.scan() if e.error) or None

    found: dict[str, Callable[[], str | None]] = {}
    for suffix in IMAGE_NAMES:
        name = suffix if not suffix or not suffix.startswith(".") else f"zeros{suffix}"
        found[f"image {name or 'no extension'}"] = image(sparse(folder / (name or "zeros")))
    found["image 900 MiB of zeros .dcm"] = image(sparse(folder / "zeros900.dcm", 900 * MiB))
    found["image DICM prefix then zeros"] = image(sparse(folder / "prefix.dcm", 900 * MiB, b"\0" * 128 + b"DICM"))
    found["image file meta then zeros"] = image(_meta_then_zeros(folder / "meta.dcm"))
    for suffix in RECORDS_NAMES:
        found[f"records zeros{suffix}"] = records(sparse(folder / f"zeros{suffix}"))
    rows = b"MRN,First Name,Last Name,Date of Birth,Sex\n" + b"MRN0000001,Ann,Okafor,1950-02-01,F\n" * 1000
    found["records 2 GiB CSV"] = records(sparse(folder / "patients_2GiB.csv", head=rows))
    found["records 200 MiB of zeros .csv"] = records(sparse(folder / "zeros200.csv", 200 * MiB))
    (folder / "synthea").mkdir()
    found["records Synthea folder, 2 GiB patients.csv"] = records(sparse(folder / "synthea" / "patients.csv", head=rows))
    found["session zeros.medassist"] = lambda: _refusal(lambda: read_session_file(sparse(folder / "zeros.medassist")))
    found["session 900 MiB of zeros"] = lambda: _refusal(
        lambda: read_session_file(sparse(folder / "zeros900.medassist", 900 * MiB)))
    card_root, weights_root = folder / "models-card", folder / "models-weights"
    (card_root / "big-card").mkdir(parents=True)
    sparse(card_root / "big-card" / "metadata.json")
    found["model card metadata.json"] = catalogue(card_root)
    bundled = Path(__file__).resolve().parents[2] / "models" / "heart-disease"
    if bundled.is_dir():
        shutil.copytree(bundled, weights_root / "big-weights")
        sparse(weights_root / "big-weights" / "model.pt")
        found["model weights model.pt"] = catalogue(weights_root)
    found["audit trail zeros.jsonl"] = audit(sparse(folder / "audit.jsonl"))
    return found


def bench_reading() -> dict[str, Any]:
    """Seconds to refuse each file, its refusal, and the process's peak resident memory over all of them."""
    os.environ.setdefault("MEDASSIST_HOME", tempfile.mkdtemp(prefix="medassist-bench-home-"))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="medassist-bench-reading-") as folder:
        for name, call in cases(Path(folder)).items():
            start = time.perf_counter()
            refusal = call()
            seconds = round(time.perf_counter() - start, 3)
            results[name] = {"seconds": seconds, "refusal": refusal.replace(folder, TEMP) if refusal else None}
    results["peak_rss_mib"] = peak_rss_mib()
    return results


def main() -> None:
    results = bench_reading()
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
