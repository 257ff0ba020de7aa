"""Opening images: one file, a folder of DICOM series, or a DICOMDIR.

A folder is read in two passes: headers first (cheap) to group files by study and series and sort
them by position, then pixels, one file at a time. A series of single-frame slices becomes one
multi-frame :class:`MedicalImage` so the viewer scrolls through it. A bad file never stops the
others: it becomes one line in :attr:`ImageBatch.problems` naming the file and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from pydicom.dataset import Dataset

from medassist.bounded import IMAGE_FILE
from medassist.errors import InputError
from medassist.hashing import sha256_bytes, sha256_file
from medassist.imaging import dicom
from medassist.imaging.image import MedicalImage
from medassist.imaging.pictures import PICTURE_SUFFIXES, is_picture, read_picture
from medassist.jobs import Job, Progress

DICOM_SUFFIXES = {".dcm", ".dicom", ".dic", ".ima"}
# Slices of these modalities stack into a volume; projection images (CR, DX, MG, ...) of one
# series are separate views and stay separate images.
CROSS_SECTIONAL = {"CT", "MR", "PT", "NM"}


@dataclass
class ImageBatch:
    """What one open produced: the images that opened and one line per file that did not."""

    images: list[MedicalImage] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def file_kind(path: Path) -> str:
    """"dicom", "picture" or "" — by content, never by extension (DICOM files often have none)."""
    if dicom.has_dicm_preamble(path):
        return "dicom"
    if is_picture(path):
        return "picture"
    if _looks_like_raw_dicom(path):
        return "dicom"
    return ""


def _looks_like_raw_dicom(path: Path) -> bool:
    """A DICOM dataset without the Part 10 preamble (older ACR-NEMA style files)."""
    if not dicom.starts_like_a_dataset(path):
        return False
    try:
        ds = dicom.read_header(path)
    except InputError:
        return False
    return any(tag.group in (0x0008, 0x0010, 0x0020, 0x0028) for tag in ds.keys())


def load_image(path: str | Path) -> MedicalImage:
    """Open one file: DICOM (with or without extension or preamble) or a PNG/JPEG/TIFF/BMP picture."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path)
    if path.is_dir():
        raise InputError("is a folder; open it as a folder to read its series", path)
    if IMAGE_FILE.check_size(path) == 0:
        raise InputError("file is empty", path)
    kind = file_kind(path)
    if kind == "dicom":
        dataset = dicom.read_dataset(path)
        with dicom.malformed_as_input_error(path):
            return dicom.image_from_dataset(dataset, path, sha256_file(path))
    if kind == "picture":
        return read_picture(path, sha256_file(path))
    raise InputError("not a DICOM file or an image that can be read (PNG, JPEG, TIFF, BMP)", path)


def folder_files(folder: Path) -> list[Path]:
    """Every file below ``folder`` in name order, hidden files and folders left out: what opening a folder reads."""
    return [p for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)]


def image_files(paths: list[Path]) -> list[Path]:
    """Files as given; a folder expands to the files below it with an image extension or image content
    (extension-less DICOM). For scoring file by file: series are not stacked."""
    out: list[Path] = []
    for path in paths:
        if not path.exists():
            raise InputError("no such file or folder", path)
        if path.is_dir():
            out.extend(f for f in folder_files(path) if f.suffix.lower() in DICOM_SUFFIXES | PICTURE_SUFFIXES or file_kind(f))
        else:
            out.append(path)
    return out


def open_images(path: Path) -> Job[ImageBatch]:
    """Job: open a file, a folder (all series below it) or a DICOMDIR."""
    path = Path(path)
    batch = ImageBatch()
    if not path.exists():
        raise InputError("file or folder not found", path)
    if path.is_dir():
        files = folder_files(path)
        yield Progress(0.0, f"Found {len(files)} files in {path.name}")
        yield from _open_files(files, batch, report_unknown=False)
        if not batch.images and not batch.problems:
            batch.problems.append(f"{path}: no DICOM files or images found in this folder")
    elif _is_dicomdir_file(path):
        yield Progress(0.0, f"Reading DICOMDIR {path.name}")
        yield from _open_files(_dicomdir_files(path, batch), batch, report_unknown=True)
        if not batch.images and not batch.problems:
            batch.problems.append(f"{path}: the DICOMDIR lists no images")
    else:
        yield Progress(0.1, f"Reading {path.name}")
        try:
            batch.images.append(load_image(path))
        except InputError as exc:
            batch.problems.append(str(exc))
    yield Progress(1.0, f"Opened {len(batch.images)} image(s)")
    return batch


def _is_dicomdir_file(path: Path) -> bool:
    if path.name.upper() != "DICOMDIR" and not dicom.has_dicm_preamble(path):
        return False
    try:
        return dicom.is_dicomdir(dicom.read_header(path))
    except InputError:
        return False


def _dicomdir_files(path: Path, batch: ImageBatch) -> list[Path]:
    """The files a DICOMDIR references (paths are relative to the DICOMDIR's folder)."""
    try:
        index = dicom.read_dataset(path)
    except InputError as exc:
        batch.problems.append(str(exc))
        return []
    files = []
    for record in index.get("DirectoryRecordSequence") or []:
        reference = record.get("ReferencedFileID")
        if not reference:
            continue
        parts = [reference] if isinstance(reference, str) else list(reference)
        target = path.parent.joinpath(*parts)
        if target.is_file():
            files.append(target)
        else:
            batch.problems.append(f"{target}: listed in {path.name} but missing")
    return files


@dataclass
class _Header:
    path: Path
    ds: Dataset

    @property
    def stackable(self) -> bool:
        """A single-frame grey cross-sectional slice without a modality LUT table can join a stack."""
        ds = self.ds
        return (
            str(ds.get("Modality", "")).upper() in CROSS_SECTIONAL
            and dicom.number_of_frames(ds) == 1
            and int(ds.get("SamplesPerPixel") or 1) == 1
            and str(ds.get("PhotometricInterpretation", "")).startswith("MONOCHROME")
            and not ds.get("ModalityLUTSequence")
            and bool(ds.get("SeriesInstanceUID"))
        )


def _open_files(files: list[Path], batch: ImageBatch, report_unknown: bool) -> Job[None]:
    headers: list[_Header] = []
    pictures: list[Path] = []
    total = max(len(files), 1)
    for i, path in enumerate(files):
        if i % 10 == 0:
            yield Progress(0.3 * i / total, f"Reading headers ({i}/{len(files)})")
        try:
            IMAGE_FILE.check_size(path)
        except InputError as exc:
            if report_unknown or path.suffix.lower() in DICOM_SUFFIXES | PICTURE_SUFFIXES:
                batch.problems.append(str(exc))
            continue
        kind = file_kind(path)
        if kind == "picture":
            pictures.append(path)
        elif kind == "dicom":
            try:
                ds = dicom.read_header(path)
            except InputError as exc:
                batch.problems.append(str(exc))
                continue
            if not dicom.is_dicomdir(ds):
                headers.append(_Header(path, ds))
        elif report_unknown or path.suffix.lower() in DICOM_SUFFIXES | PICTURE_SUFFIXES:
            batch.problems.append(f"{path}: not a DICOM file or an image that can be read")
    groups = group_series(headers)
    work: list[list[_Header] | Path] = [*groups, *pictures]
    for i, item in enumerate(work):
        name = item.name if isinstance(item, Path) else item[0].path.name
        yield Progress(0.3 + 0.7 * i / max(len(work), 1), f"Loading {name}")
        try:
            if isinstance(item, Path):
                batch.images.append(load_image(item))
            elif len(item) == 1:
                batch.images.append(load_image(item[0].path))
            else:
                yield from _load_series(item, batch)
        except InputError as exc:
            batch.problems.append(str(exc))


def group_series(headers: list[_Header]) -> list[list[_Header]]:
    """Group stackable slices by study, series and size; sort each group along the patient axis."""
    groups: dict[tuple, list[_Header]] = {}
    singles: list[list[_Header]] = []
    seen_instances: set[str] = set()
    for header in headers:
        ds = header.ds
        instance = str(ds.get("SOPInstanceUID", ""))
        duplicate = bool(instance) and instance in seen_instances  # the same instance saved twice
        seen_instances.add(instance)
        if header.stackable and not duplicate:
            key = (str(ds.get("StudyInstanceUID", "")), str(ds.SeriesInstanceUID), int(ds.get("Rows") or 0), int(ds.get("Columns") or 0))
            groups.setdefault(key, []).append(header)
        else:
            singles.append([header])
    return [sorted(group, key=_slice_order_key(group)) for group in groups.values()] + singles


def _slice_order_key(group: list[_Header]) -> Callable[[_Header], tuple]:
    """Position along the slice normal when every slice has one, else InstanceNumber, else file name."""
    def position(header: _Header) -> float | None:
        ds = header.ds
        try:
            orientation = np.array([float(v) for v in ds.ImageOrientationPatient])
            origin = np.array([float(v) for v in ds.ImagePositionPatient])
        except (AttributeError, TypeError, ValueError):
            return None
        if orientation.size != 6 or origin.size != 3:
            return None
        return float(origin @ np.cross(orientation[:3], orientation[3:]))

    positions = [position(h) for h in group]
    if all(p is not None for p in positions) and len(set(positions)) == len(positions):
        by_path = {id(h): p for h, p in zip(group, positions, strict=True)}
        return lambda h: (by_path[id(h)], h.path.name)

    def instance(header: _Header) -> tuple:
        try:
            return (int(header.ds.get("InstanceNumber")), header.path.name)
        except (TypeError, ValueError):
            return (0, header.path.name)

    return instance


def _load_series(group: list[_Header], batch: ImageBatch) -> Job[None]:
    """Stack single-frame slices into one multi-frame image; a bad slice is reported and left out."""
    first_path = group[0].path
    rows, columns = int(group[0].ds.Rows), int(group[0].ds.Columns)
    dicom.check_pixel_budget(rows, columns, len(group), first_path)
    first = load_image(first_path)
    frames = np.empty((len(group), rows, columns), dtype=np.float32)
    frames[0] = first.frames[0]
    rescale = [first.frame_rescale[0] if first.frame_rescale else (1.0, 0.0)]
    digests = [first.sha256]
    used = [first_path]
    for header in group[1:]:
        yield Progress(0.0, f"Loading {header.path.name}")
        k = len(used)
        try:
            ds = dicom.read_dataset(header.path)
            with dicom.malformed_as_input_error(header.path):
                dicom.check_pixels_can_be_read(ds, header.path)
                stored = dicom.decode_stored(ds, header.path)[0]
                slope, intercept = dicom.frame_rescale(ds, 0) or (1.0, 0.0)
                np.multiply(stored, slope, out=frames[k], casting="unsafe")
                frames[k] += intercept
        except InputError as exc:
            batch.problems.append(str(exc))
            continue
        rescale.append((slope, intercept))
        digests.append(sha256_file(header.path))
        used.append(header.path)
    if len(used) < len(group):
        frames = frames[: len(used)].copy()
    first.frames = frames
    first.frame_rescale = None if all(r == (1.0, 0.0) for r in rescale) else rescale
    first.sha256 = sha256_bytes("".join(digests).encode()) if len(used) > 1 else first.sha256
    first.metadata["series_files"] = [str(p) for p in used]
    first.metadata["slices"] = len(used)
    spacing = _slice_spacing([h for h in group if h.path in set(used)])
    if spacing is not None:
        first.metadata["slice_spacing_mm"] = spacing
    batch.images.append(first)


def _slice_spacing(group: list[_Header]) -> float | None:
    try:
        origins = np.array([[float(v) for v in h.ds.ImagePositionPatient] for h in group])
    except (AttributeError, TypeError, ValueError):
        return None
    if len(origins) < 2:
        return None
    steps = np.linalg.norm(np.diff(origins, axis=0), axis=1)
    return round(float(np.median(steps)), 4)
