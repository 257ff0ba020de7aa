"""DICOM into :class:`MedicalImage`: the header is checked before any pixel is decoded, pixels are
decoded by pydicom's plugins (pylibjpeg/openjpeg/libjpeg/rle, Pillow), then the modality LUT
turns stored values into physical ones (e.g. Hounsfield units). The VOI LUT and MONOCHROME1
inversion stay display-time steps (see :meth:`MedicalImage.display_frame`)."""

from __future__ import annotations

import struct
import warnings
import zlib
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pydicom
from pydicom import uid
from pydicom.dataset import Dataset
from pydicom import filereader
from pydicom.tag import BaseTag
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi, get_decoder, pixel_array

from medassist.bounded import IMAGE_FILE, TimedReader, size_text
from medassist.errors import InputError
from medassist.imaging.image import MedicalImage, WindowLevel

# Pixel budget: one frame may hold at most 8192 x 8192 pixels (full-field mammography is
# ~4096 x 3328) and one image or series at most 2**28 pixels (1 GiB as float32). Larger
# objects are refused from the header, before decoding, so they can never exhaust memory.
MAX_FRAME_PIXELS = 8192 * 8192
MAX_TOTAL_PIXELS = 2**28

DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
PIXEL_TAGS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_PIXEL_TAG_NUMBERS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
# Elements of a dataset are in ascending tag order (PS3.5 section 7.1) and every stored object
# carries SOP Common (0008,0016): a dataset without the Part 10 preamble starts in group 0002
# (file meta), 0004 (directory) or 0008. Checked on the first four bytes, before any parsing.
_FIRST_GROUPS = frozenset({0x0002, 0x0004, 0x0008})
# The same element read this many times in a row is no dataset (e.g. a run of zero bytes, read
# as empty (0000,0000) elements, which pydicom would otherwise walk 8 bytes at a time: 16 MiB of
# zeros took 24 s). Element headers are never all zero bytes, so neither is a run of small reads.
_REPEATED_ELEMENTS = 16
_SMALL_READ = 16


class _DatasetReader(TimedReader):
    """The file as pydicom reads it: within the image time budget, and refused at a run of small
    reads that return only zero bytes (pydicom's command-set step walks zeros with no other hook)."""

    zero_reads = 0

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        if 0 < len(data) <= _SMALL_READ and data.count(0) == len(data):
            self.zero_reads += 1
            if self.zero_reads >= _REPEATED_ELEMENTS:
                raise InputError("runs of zero bytes where DICOM elements belong: not a DICOM dataset "
                                 "(damaged, or a file of zeros)", self.deadline.path)
        else:
            self.zero_reads = 0
        return data


def has_dicm_preamble(path: Path) -> bool:
    """A DICOM Part 10 file has 128 bytes of preamble then ``DICM``."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def starts_like_a_dataset(path: Path) -> bool:
    """Whether a file without the preamble begins with an element of a group a dataset starts with,
    in either byte order (a cheap check before pydicom is let loose on an unknown file)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError:
        return False
    return _group_starts_a_dataset(head)


def _group_starts_a_dataset(head: bytes) -> bool:
    if len(head) < 4:
        return False
    return int.from_bytes(head[:2], "little") in _FIRST_GROUPS or int.from_bytes(head[:2], "big") in _FIRST_GROUPS


def read_header(path: Path) -> Dataset:
    """The dataset without pixel data (cheap): used to group series and check the pixel budget."""
    return _read(path, stop_before_pixels=True)


def read_dataset(path: Path) -> Dataset:
    return _read(path, stop_before_pixels=False)


def _read(path: Path, stop_before_pixels: bool) -> Dataset:
    """Read and convert every top-level element now: pydicom converts lazily, and a corrupt
    element would otherwise fail later, far from the file, with an unexpected exception.

    Reading is bounded (:data:`medassist.bounded.IMAGE_FILE`): the file's size is checked first,
    every read checks the time budget, and a run of one repeated element is refused at once."""
    previous: list[BaseTag | None] = [None]
    repeats = [0]

    def stop_when(tag: BaseTag, _vr: str | None, _length: int) -> bool:
        repeats[0] = repeats[0] + 1 if tag == previous[0] else 0
        if repeats[0] >= _REPEATED_ELEMENTS:
            raise InputError(f"element {tag} repeats {_REPEATED_ELEMENTS} times in a row: not a DICOM dataset "
                             "(damaged, or a file of zeros)", path)
        previous[0] = tag
        return stop_before_pixels and tag in _PIXEL_TAG_NUMBERS

    preamble = has_dicm_preamble(path)
    try:
        with IMAGE_FILE.open(path, _DatasetReader) as handle:
            if preamble:
                handle.seek(132)
                if not _group_starts_a_dataset(handle.read(4)):
                    raise InputError("no DICOM elements after the DICM prefix (damaged, or not DICOM)", path)
                _check_inflated_size(path, handle)
                handle.seek(0)
            ds = filereader.read_partial(handle, stop_when, force=not preamble)
            for _meta in getattr(ds, "file_meta", None) or ():
                pass
            for _element in ds:
                pass
        return ds
    except InputError:
        raise
    except MemoryError as exc:
        raise InputError("header declares more data than can be read", path) from exc
    except Exception as exc:  # pydicom raises many types for corrupt headers; each becomes one line
        raise InputError(f"not a readable DICOM file ({_first_line(exc)})", path) from exc


def _check_inflated_size(path: Path, handle: TimedReader) -> None:
    """A Deflated Explicit VR file is inflated whole by pydicom: refuse one whose data would
    inflate beyond the image size limit (a deflate bomb), by inflating it once, in chunks, first.
    The file meta group is read as pydicom reads it; the deflated stream starts where it ends."""
    handle.seek(132)
    meta = filereader.read_dataset(handle, is_implicit_VR=False, is_little_endian=True,
                                   stop_when=lambda tag, _vr, _length: tag >> 16 != 2)
    if meta.get("TransferSyntaxUID") != uid.DeflatedExplicitVRLittleEndian:
        return
    inflater, inflated = zlib.decompressobj(-zlib.MAX_WBITS), 0
    while (chunk := handle.read(1 << 20)) and inflated <= IMAGE_FILE.max_bytes:
        inflated += len(inflater.decompress(chunk, IMAGE_FILE.max_bytes))
        while inflater.unconsumed_tail and inflated <= IMAGE_FILE.max_bytes:
            inflated += len(inflater.decompress(inflater.unconsumed_tail, IMAGE_FILE.max_bytes))
    if inflated > IMAGE_FILE.max_bytes:
        raise InputError(f"deflated data inflates to more than {size_text(IMAGE_FILE.max_bytes)}, "
                         f"the limit for {IMAGE_FILE.what}; not read", path)


@contextmanager
def malformed_as_input_error(path: Path) -> Iterator[None]:
    """Any failure while interpreting an already-read dataset names the file, never escapes raw."""
    try:
        yield
    except InputError:
        raise
    except MemoryError as exc:
        raise InputError("not enough memory to read this image", path) from exc
    except Exception as exc:  # a malformed value can surface as any exception type in pydicom
        raise InputError(f"malformed DICOM ({type(exc).__name__}: {_first_line(exc)})", path) from exc


def is_dicomdir(ds: Dataset) -> bool:
    meta = getattr(ds, "file_meta", None)
    return bool(meta is not None and meta.get("MediaStorageSOPClassUID") == DICOMDIR_SOP_CLASS) or "DirectoryRecordSequence" in ds


def transfer_syntax(ds: Dataset) -> uid.UID:
    meta = getattr(ds, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    if syntax is None:
        little, implicit = ds.original_encoding if ds.original_encoding[0] is not None else (True, True)
        syntax = uid.ImplicitVRLittleEndian if implicit else (uid.ExplicitVRLittleEndian if little else uid.ExplicitVRBigEndian)
        if meta is None:
            ds.file_meta = pydicom.dataset.FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = syntax
    return uid.UID(str(syntax))


def check_pixels_can_be_read(ds: Dataset, path: Path) -> None:
    """Refuse, from the header alone, what cannot or must not be decoded."""
    if is_dicomdir(ds):
        raise InputError("is a DICOMDIR (an index of files), not an image; open it as a DICOMDIR or folder", path)
    if not any(tag in ds for tag in PIXEL_TAGS):
        sop = ds.get("SOPClassUID")
        kind = f" (SOP class: {uid.UID(str(sop)).name})" if sop else ""
        raise InputError(f"DICOM file has no pixel data{kind}", path)
    check_pixel_budget(int(ds.get("Rows") or 0), int(ds.get("Columns") or 0), number_of_frames(ds), path)
    syntax = transfer_syntax(ds)
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError as exc:
        raise InputError(f"unsupported transfer syntax {syntax.name} ({syntax}): no decoder exists for it", path) from exc
    if not decoder.is_available:
        missing = "; ".join(f"{name}: {', '.join(deps)}" for name, deps in decoder.missing_dependencies.items()) \
            if isinstance(decoder.missing_dependencies, dict) else ", ".join(decoder.missing_dependencies)
        raise InputError(f"transfer syntax {syntax.name} ({syntax}) needs a decoder that is not installed ({missing})", path)


def check_pixel_budget(rows: int, columns: int, frames: int, path: Path) -> None:
    if rows <= 0 or columns <= 0:
        raise InputError(f"image has no size in its header (rows={rows}, columns={columns})", path)
    if rows * columns > MAX_FRAME_PIXELS:
        raise InputError(
            f"image is {columns} x {rows} pixels, above the viewer's limit of {MAX_FRAME_PIXELS:,} pixels per frame", path
        )
    if rows * columns * frames > MAX_TOTAL_PIXELS:
        raise InputError(
            f"{frames} frames of {columns} x {rows} pixels exceed the limit of {MAX_TOTAL_PIXELS:,} pixels per image", path
        )


def number_of_frames(ds: Dataset) -> int:
    try:
        return max(int(ds.get("NumberOfFrames") or 1), 1)
    except (TypeError, ValueError):
        return 1


# Rust-backed decoders (pylibjpeg-rle, via pyo3) raise PanicException on corrupt streams; it
# derives from BaseException, so decoding catches it by name rather than letting it escape.
_DECODER_PANICS = ("PanicException",)


def _is_decoder_failure(exc: BaseException) -> bool:
    return isinstance(exc, Exception) or type(exc).__name__ in _DECODER_PANICS


def decode_stored(ds: Dataset, path: Path) -> np.ndarray:
    """Stored pixel values, shaped (frames, rows, columns[, samples]), native byte order.

    Colour data comes back as RGB (pydicom converts YBR).
    """
    syntax = transfer_syntax(ds)
    check_native_length(ds, syntax, path)
    if syntax == uid.JPEGExtended12Bit and int(ds.get("BitsStored") or 8) > 8:
        stored = _decode_jpeg_extended_12bit(ds, path)
    else:
        try:
            # frames beyond Number of Frames are never decoded: their count is unchecked by the pixel budget
            # (pydicom's warning about the ignored excess is not for the user: the shape is checked below)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                stored = pixel_array(ds, as_rgb=True, allow_excess_frames=False)
        except BaseException as exc:  # decoders raise many types; each becomes one readable line
            if not _is_decoder_failure(exc):
                raise
            raise InputError(_decode_failure(exc, syntax), path) from exc
    frames = number_of_frames(ds)
    samples = int(ds.get("SamplesPerPixel") or 1)
    if frames == 1 and stored.ndim == (2 if samples == 1 else 3):
        stored = stored[np.newaxis]
    expected = (frames, int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)) + ((samples,) if samples > 1 else ())
    if stored.shape != expected:
        raise InputError(
            f"decoded pixel data has shape {stored.shape}, not the {expected} (frames, rows, columns[, samples]) its header declares",
            path,
        )
    if not stored.dtype.isnative:
        stored = stored.astype(stored.dtype.newbyteorder("="))
    return stored


def check_native_length(ds: Dataset, syntax: uid.UID, path: Path) -> None:
    """Uncompressed pixel data must hold at least the frames the header declares (checked before decoding)."""
    if syntax.is_compressed or "PixelData" not in ds:
        return
    bits = int(ds.get("BitsAllocated") or 0)
    if bits not in (1, 8, 16, 32, 64):
        raise InputError(f"Bits Allocated {bits} is not a valid value (1, 8, 16, 32 or 64)", path)
    pixels = int(ds.get("Rows") or 0) * int(ds.get("Columns") or 0) * int(ds.get("SamplesPerPixel") or 1) * number_of_frames(ds)
    needed = (pixels * bits + 7) // 8
    if text(ds, "PhotometricInterpretation").startswith("YBR_FULL_422"):
        needed = needed * 2 // 3
    held = len(ds.PixelData)
    if held < needed:
        raise InputError(f"pixel data is truncated or corrupt: {held:,} bytes where the header declares {needed:,}", path)


def _decode_failure(exc: BaseException, syntax: uid.UID) -> str:
    text = _first_line(exc)
    if "length" in text.lower() or "expected" in text.lower() or isinstance(exc, EOFError):
        return f"pixel data is truncated or corrupt ({text})"
    return f"pixel data could not be decoded ({syntax.name}): {text}"


def _decode_jpeg_extended_12bit(ds: Dataset, path: Path) -> np.ndarray:
    """12-bit JPEG Extended through libjpeg, setting each scan's spectral selection to 0..63 as
    sequential JPEG requires (some NEMA WG04 samples write Se=0, which every decoder rejects)."""
    from libjpeg import decode
    from pydicom.encaps import generate_frames

    decoded = []
    try:
        for fragment in generate_frames(ds.PixelData, number_of_frames=number_of_frames(ds)):
            stream = bytearray(fragment)
            sos = stream.find(b"\xff\xda")
            if sos < 0:
                raise ValueError("no start-of-scan marker")
            spectral = sos + 5 + 2 * stream[sos + 4]
            stream[spectral], stream[spectral + 1], stream[spectral + 2] = 0, 63, 0
            decoded.append(decode(bytes(stream)))
    except Exception as exc:  # libjpeg raises RuntimeError; a broken stream may raise anything
        raise InputError(_decode_failure(exc, uid.JPEGExtended12Bit), path) from exc
    stored = np.stack(decoded)
    if int(ds.get("PixelRepresentation") or 0) == 1:
        stored = stored.astype(np.int16)
    return stored


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


# ---- per-frame attributes (enhanced multi-frame objects keep them in functional groups) ----------


def frame_attribute(ds: Dataset, index: int, sequence: str, keyword: str) -> Any:
    """An attribute from the per-frame, then the shared functional group, then the top level."""
    for groups_name, at in (("PerFrameFunctionalGroupsSequence", index), ("SharedFunctionalGroupsSequence", 0)):
        groups = ds.get(groups_name)
        if groups and len(groups) > at:
            items = groups[at].get(sequence)
            if items and keyword in items[0]:
                return items[0].get(keyword)
    return ds.get(keyword)


def frame_rescale(ds: Dataset, index: int) -> tuple[float, float] | None:
    slope = frame_attribute(ds, index, "PixelValueTransformationSequence", "RescaleSlope")
    intercept = frame_attribute(ds, index, "PixelValueTransformationSequence", "RescaleIntercept")
    if slope is None and intercept is None:
        return None
    return float(slope if slope not in (None, "") else 1.0), float(intercept if intercept not in (None, "") else 0.0)


def pixel_spacing(ds: Dataset) -> tuple[tuple[float, float] | None, str]:
    """(row, column) spacing in mm and where it came from; ImagerPixelSpacing is at the detector."""
    for keyword, source in (("PixelSpacing", "PixelSpacing"), ("ImagerPixelSpacing", "ImagerPixelSpacing (detector plane)")):
        value = frame_attribute(ds, 0, "PixelMeasuresSequence", keyword)
        try:
            row, column = (float(v) for v in value)
        except (TypeError, ValueError):
            continue
        if row > 0 and column > 0:
            return (row, column), source
    return None, ""


def windows(ds: Dataset) -> list[tuple[WindowLevel, str]]:
    """Every window the file proposes (centre/width may be multi-valued), with its explanation."""
    centers = frame_attribute(ds, 0, "FrameVOILUTSequence", "WindowCenter")
    widths = frame_attribute(ds, 0, "FrameVOILUTSequence", "WindowWidth")
    if centers is None or widths is None:
        return []
    centers = list(centers) if isinstance(centers, (list, pydicom.multival.MultiValue)) else [centers]
    widths = list(widths) if isinstance(widths, (list, pydicom.multival.MultiValue)) else [widths]
    names = ds.get("WindowCenterWidthExplanation") or []
    names = list(names) if isinstance(names, (list, pydicom.multival.MultiValue)) else [names]
    found = []
    # a malformed file may give more centres than widths (or the reverse): only complete pairs are windows
    for i, (center, width) in enumerate(zip(centers, widths, strict=False)):
        try:
            level = WindowLevel(float(center), float(width))
        except (TypeError, ValueError):
            continue
        if level.width >= 1:
            found.append((level, str(names[i]) if i < len(names) and names[i] else f"File window {i + 1}"))
    return found


def _voi_lut_display(table: np.ndarray, first_mapped: int, frame: np.ndarray) -> np.ndarray:
    """Look modality values up in the file's VOI LUT (already scaled to [0, 1]); values outside the
    table take its first or last entry (PS3.3 C.11.2.1.1)."""
    index = np.clip(np.nan_to_num(np.rint(frame), nan=0.0) - first_mapped, 0, table.size - 1).astype(np.intp)
    return table[index]


def voi_lut_table(sequence: Any, ds: Dataset, path: Path) -> tuple[np.ndarray, int]:
    """The first VOI LUT of the file as a float table in [0, 1] and its first mapped value; a table
    whose descriptor and data disagree (length, entry size, values above its bit depth) is refused."""
    try:
        entries, first_mapped, depth = (int(v) for v in sequence[0].LUTDescriptor)
        entries = entries or 2**16
        table = Dataset()
        table.VOILUTSequence = sequence
        table.file_meta = ds.file_meta
        values = apply_voi(np.arange(first_mapped, first_mapped + entries, dtype=np.int64), table)
        data = sequence[0].LUTData
        count = len(data) // 2 if sequence[0]["LUTData"].VR == "OW" else len(data if isinstance(data, (list, pydicom.multival.MultiValue)) else [data])
    except (ValueError, TypeError, IndexError, OverflowError, NotImplementedError, AttributeError, KeyError, struct.error) as exc:
        raise InputError(f"VOI LUT is malformed ({type(exc).__name__}: {_first_line(exc)})", path) from exc
    if count != entries:
        raise InputError(f"VOI LUT holds {count} entries where its descriptor declares {entries}", path)
    if values.size and int(values.max()) > 2**depth - 1:
        raise InputError(f"VOI LUT holds values above its {depth}-bit range", path)
    return values.astype(np.float32) / float(2**depth - 1), first_mapped


def _sigmoid_display(center: float, width: float, frame: np.ndarray) -> np.ndarray:
    """VOI LUT Function SIGMOID (PS3.3 C.11.2.1.3.1), scaled to [0, 1]."""
    return (1.0 / (1.0 + np.exp(-4.0 * (frame.astype(np.float32) - center) / width))).astype(np.float32)


def voi_lut_function(ds: Dataset, file_windows: list[tuple[WindowLevel, str]], path: Path) -> Any:
    """The file's non-linear VOI: a VOI LUT Sequence table, else a SIGMOID window function."""
    sequence = ds.get("VOILUTSequence")
    if not sequence or "LUTDescriptor" not in sequence[0] or "LUTData" not in sequence[0]:
        if text(ds, "VOILUTFunction").upper() == "SIGMOID" and file_windows:
            window = file_windows[0][0]
            return partial(_sigmoid_display, window.center, window.width)
        return None
    return partial(_voi_lut_display, *voi_lut_table(sequence, ds, path))


# ---- one dataset to MedicalImage -------------------------------------------------------------------


def text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value).strip()


def describe_dataset(ds: Dataset) -> dict[str, Any]:
    """The metadata every caller may rely on (patient, study, series, pixel format)."""
    syntax = transfer_syntax(ds)
    return {
        "patient_name": text(ds, "PatientName").replace("^", " ").strip(),
        "patient_id": text(ds, "PatientID"),
        "patient_sex": text(ds, "PatientSex"),
        "patient_birth_date": text(ds, "PatientBirthDate"),
        "patient_age": text(ds, "PatientAge"),
        "study_date": text(ds, "StudyDate") or text(ds, "SeriesDate") or text(ds, "AcquisitionDate"),
        "study_description": text(ds, "StudyDescription"),
        "series_description": text(ds, "SeriesDescription"),
        "modality": text(ds, "Modality") or "OT",
        "study_instance_uid": text(ds, "StudyInstanceUID"),
        "series_instance_uid": text(ds, "SeriesInstanceUID"),
        "sop_instance_uid": text(ds, "SOPInstanceUID"),
        "instance_number": text(ds, "InstanceNumber"),
        "body_part": text(ds, "BodyPartExamined"),
        "view_position": text(ds, "ViewPosition"),
        "laterality": text(ds, "ImageLaterality") or text(ds, "Laterality"),
        "manufacturer": text(ds, "Manufacturer"),
        "photometric": text(ds, "PhotometricInterpretation") or "MONOCHROME2",
        "bits_allocated": int(ds.get("BitsAllocated") or 0),
        "bits_stored": int(ds.get("BitsStored") or ds.get("BitsAllocated") or 0),
        "pixel_representation": "signed" if int(ds.get("PixelRepresentation") or 0) else "unsigned",
        "transfer_syntax": syntax.name,
        "transfer_syntax_uid": str(syntax),
        "slice_thickness_mm": float(ds.SliceThickness) if ds.get("SliceThickness") not in (None, "") else None,
    }


def to_rgb8(rgb: np.ndarray, bits: int) -> np.ndarray:
    if rgb.dtype == np.uint8:
        return rgb
    if bits > 8:
        return (rgb.astype(np.uint32) >> (bits - 8)).clip(0, 255).astype(np.uint8)
    return rgb.clip(0, 255).astype(np.uint8)


def image_from_dataset(ds: Dataset, path: Path, sha256: str) -> MedicalImage:
    """Check, decode and convert one DICOM dataset; the dataset is kept (without pixels) for the tag browser."""
    check_pixels_can_be_read(ds, path)
    stored = decode_stored(ds, path)
    metadata = describe_dataset(ds)
    photometric = metadata["photometric"]
    rescale: list[tuple[float, float]] | None = None
    stored_frames = None
    if photometric == "PALETTE COLOR":
        descriptor = ds.get("RedPaletteColorLookupTableDescriptor") or [0, 0, 8]
        if stored.ndim != 3:
            raise InputError(f"PALETTE COLOR needs one sample per pixel; this image has {stored.shape[-1]}", path)
        try:
            coloured = apply_color_lut(stored, ds)
        except (ValueError, TypeError, IndexError, OverflowError, NotImplementedError, AttributeError, struct.error) as exc:
            raise InputError(f"palette colour tables are malformed ({type(exc).__name__}: {_first_line(exc)})", path) from exc
        if coloured.shape != stored.shape + (3,):
            raise InputError("palette colour tables are malformed (red, green and blue tables differ in length or are empty)", path)
        frames = to_rgb8(coloured, int(descriptor[2]))
        photometric = "RGB"
    elif stored.ndim == 4:
        frames = to_rgb8(stored, metadata["bits_stored"])
        photometric = "RGB"
    elif ds.get("ModalityLUTSequence"):
        frames = apply_modality_lut(stored, ds).astype(np.float32)
        stored_frames = stored
    else:
        frames = np.empty(stored.shape, dtype=np.float32)
        rescale = []
        for i in range(stored.shape[0]):
            slope, intercept = frame_rescale(ds, i) or (1.0, 0.0)
            if not (np.isfinite(slope) and np.isfinite(intercept)):
                raise InputError(f"Rescale Slope/Intercept of frame {i + 1} is not a finite number ({slope}, {intercept})", path)
            np.multiply(stored[i], slope, out=frames[i], casting="unsafe")
            frames[i] += intercept
            rescale.append((slope, intercept))
        if all(r == (1.0, 0.0) for r in rescale):
            rescale = None
    metadata["photometric_stored"] = metadata["photometric"]
    metadata["photometric"] = photometric
    file_windows = windows(ds) if frames.ndim == 3 else []
    metadata["windows"] = [(w.center, w.width, name) for w, name in file_windows]
    voi_lut = voi_lut_function(ds, file_windows, path) if frames.ndim == 3 else None
    metadata["voi_lut"] = ("table" if ds.get("VOILUTSequence") else "sigmoid") if voi_lut is not None else ""
    metadata["voi_lut_function"] = text(ds, "VOILUTFunction") or "LINEAR"
    spacing, spacing_source = pixel_spacing(ds)
    metadata["spacing_source"] = spacing_source
    metadata["frame_time_ms"] = float(ds.FrameTime) if ds.get("FrameTime") not in (None, "") else None
    for tag in PIXEL_TAGS:
        if tag in ds:
            del ds[tag]
    metadata["dataset"] = ds
    return MedicalImage(
        path=Path(path),
        frames=frames,
        modality=metadata["modality"],
        photometric=photometric,
        window=file_windows[0][0] if file_windows else None,
        spacing_mm=spacing,
        stored_frames=stored_frames,
        voi_lut=voi_lut,
        frame_rescale=rescale,
        metadata=metadata,
        sha256=sha256,
        is_dicom=True,
    )
