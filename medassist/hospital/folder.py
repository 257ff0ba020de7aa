""""Score a folder": the batch engine of ``medassist predict`` run over a folder, each file's
result listed on the worklist beside the studies the node received.

Files stay where they are; DICOM files keep their own UIDs, ordinary pictures get UIDs derived
from their content (so scoring the same folder again adds nothing).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from pydicom.uid import SecondaryCaptureImageStorage, generate_uid

from medassist.errors import InputError
from medassist.hashing import sha256_file
from medassist.hospital.store import ObjectHeader, Status, StudyStore
from medassist.imaging import dicom
from medassist.imaging.loader import image_files
from medassist.jobs import Job, Progress

if TYPE_CHECKING:
    from medassist.inference.service import ModelService


def header_of(path: Path, folder: Path) -> ObjectHeader:
    """The file's DICOM identity, or one derived from its bytes and its folder for a picture."""
    try:
        if dicom.has_dicm_preamble(path):
            dataset = dicom.read_header(path)  # bounded like every image read
            if "SOPInstanceUID" in dataset and "StudyInstanceUID" in dataset:
                return ObjectHeader.from_dataset(dataset)
    except (ValueError, InputError):
        pass
    folder_uid = generate_uid(entropy_srcs=[str(folder.resolve())])
    return ObjectHeader(sop_instance_uid=generate_uid(entropy_srcs=[sha256_file(path)]),
                        sop_class_uid=SecondaryCaptureImageStorage, study_instance_uid=folder_uid,
                        series_instance_uid=folder_uid, patient_name=path.stem, modality="OT",
                        study_description=f"folder {folder.name}")


def score_folder(store: StudyStore, folder: Path, model: str, service: "ModelService", workers: int | None = None) -> Job[dict[str, int]]:
    """Score every image under ``folder`` with ``model``; returns counts by status (and 'already listed')."""
    from medassist.app.batch import image_results

    found = image_files([Path(folder)])
    if not found:
        raise InputError("no images in this folder", folder)
    yield Progress(0.0, f"Reading {len(found)} images")
    listed = {e["sop_instance_uid"] for e in store.entries()}
    headers = {path: header_of(path, Path(folder)) for path in found}
    files = [path for path in found if headers[path].sop_instance_uid not in listed]
    counts = {"scored": 0, "refused": 0, "error": 0, "already listed": len(found) - len(files)}
    results = image_results(service, model, files, workers or max(os.cpu_count() or 1, 1), None)
    for index, (path, outcome) in enumerate(results, 1):
        status: Status
        if isinstance(outcome, str):
            status, result, error = "error", None, outcome
        else:
            status, result, error = ("refused" if outcome.refused else "scored"), outcome, None
        added = store.add_analysed(headers[path], path, f"folder {folder}", model, status, result, error)
        counts[status if added else "already listed"] += 1
        yield Progress(index / len(files), f"{index}/{len(files)} images scored")
    return counts
