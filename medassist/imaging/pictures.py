"""Ordinary pictures (PNG, JPEG, TIFF incl. 16-bit and multi-page, BMP) into :class:`MedicalImage`
through Pillow. Grey pictures keep their full bit depth as float values; an RGB picture whose
three channels are equal (a common way to save an X-ray) is treated as grey so it can be windowed."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

from medassist.bounded import IMAGE_FILE
from medassist.errors import InputError
from medassist.imaging.dicom import MAX_FRAME_PIXELS, check_pixel_budget
from medassist.imaging.image import MedicalImage, WindowLevel

PICTURE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
_GREY_MODES = {"L", "I", "F", "I;16", "I;16B", "I;16L", "I;16N", "1"}


def is_picture(path: Path) -> bool:
    """True when Pillow recognises the file (reads only the header, within the image read limits)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with IMAGE_FILE.open(path) as handle, Image.open(handle) as picture:
                return picture.format is not None
    except Image.DecompressionBombError:
        return True  # a picture, too large: read_picture says so
    except Exception:  # Pillow raises many types for corrupt headers (KeyError, TypeError, ...)
        return False


def _frame_array(picture: Image.Image) -> np.ndarray:
    picture = ImageOps.exif_transpose(picture) if picture.format == "JPEG" else picture
    if picture.mode in _GREY_MODES:
        if picture.mode == "1":
            picture = picture.convert("L")
        return np.asarray(picture).astype(np.float32)
    if picture.mode in ("LA", "La"):
        return np.asarray(picture.convert("L")).astype(np.float32)
    rgb = np.asarray(picture.convert("RGB"))
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]):
        return rgb[..., 0].astype(np.float32)
    return np.ascontiguousarray(rgb)


def read_picture(path: Path, sha256: str) -> MedicalImage:
    """Decode every page of a picture file; the size is checked before decoding, and every read of the
    file checks the time budget (:data:`medassist.bounded.IMAGE_FILE`)."""
    with IMAGE_FILE.open(path) as handle:
        return _read_picture(handle, path, sha256)


def _read_picture(handle: BinaryIO, path: Path, sha256: str) -> MedicalImage:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            picture = Image.open(handle)
    except Image.DecompressionBombError as exc:
        raise InputError(f"image is above the viewer's limit of {MAX_FRAME_PIXELS:,} pixels per frame ({exc})", path) from exc
    except InputError:
        raise
    except Exception as exc:  # Pillow raises many types for files it cannot parse
        raise InputError("not an image file Pillow can read (PNG, JPEG, TIFF, BMP)", path) from exc
    with picture:
        try:
            columns, rows = picture.size
            pages = int(getattr(picture, "n_frames", 1) or 1)
        except InputError:
            raise
        except Exception as exc:  # a corrupt multi-page index fails while counting pages
            raise InputError(f"image header is corrupt ({type(exc).__name__}: {exc})", path) from exc
        check_pixel_budget(rows, columns, pages, path)
        image_format = picture.format or ""
        mode = picture.mode
        frames = []
        try:
            for page in range(pages):
                picture.seek(page)
                frames.append(_frame_array(picture))
        except MemoryError as exc:
            raise InputError("not enough memory to decode this image", path) from exc
        except InputError:
            raise
        except Exception as exc:  # truncated or corrupt data surfaces as many exception types
            raise InputError(f"image data is truncated or corrupt ({type(exc).__name__}: {exc})", path) from exc
    if not frames:
        raise InputError("image has no pages", path)
    stack = np.stack([f for f in frames if f.shape == frames[0].shape])  # pages of another size (thumbnails) are left out
    window = None
    bits = 8 if stack.dtype == np.uint8 or mode in ("L", "P", "RGB", "RGBA", "1", "LA", "CMYK", "YCbCr") else 16
    if stack.ndim == 3 and bits == 8:
        window = WindowLevel(127.5, 255.0)  # show 8-bit pictures exactly as saved
    if mode in ("I", "F"):
        bits = 32
    return MedicalImage(
        path=Path(path),
        frames=stack,
        modality="OT",
        photometric="RGB" if stack.ndim == 4 else "MONOCHROME2",
        window=window,
        metadata={
            "patient_name": "",
            "patient_id": "",
            "study_date": "",
            "modality": "OT",
            "study_instance_uid": "",
            "series_instance_uid": "",
            "body_part": "",
            "view_position": "",
            "photometric": "RGB" if stack.ndim == 4 else "MONOCHROME2",
            "bits_stored": bits,
            "bits_allocated": bits,
            "transfer_syntax": f"{image_format} file (Pillow mode {mode})",
            "format": image_format,
            "windows": [],
            "spacing_source": "",
        },
        sha256=sha256,
        is_dicom=False,
    )

