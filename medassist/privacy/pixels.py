"""Burned-in text in the pixels: found and blacked out (DICOM PS3.15 Annex E, Clean Pixel Data Option).

Ultrasound, screen captures and many secondary captures carry the patient's name, IDs, dates
and the institution drawn into the picture itself; removing them from the header does nothing
for the pixels. What the field does, and what this module does:

- CTP's DicomPixelAnonymizer and pydicom ``deid`` black out rectangles chosen from the header
  (manufacturer, model, image size) in a hand-kept table, and ``deid`` keeps only the ultrasound
  regions an ultrasound header declares (``SequenceOfUltrasoundRegions``): everything outside
  them is annotation. We use the regions (a standard part of the header, right for every
  vendor) but not the per-model table, which covers only the models someone has listed.
- Presidio's ``DicomImageRedactorEngine`` runs Tesseract OCR and blacks out the words its
  named-entity recogniser (spaCy) takes for personal data. We also run Tesseract, but black
  out **every** word it reads with confidence: an institution, a date or a station name is
  not reliably told apart by a general-language NER model, and a teaching copy loses nothing
  clinical when an annotation goes. Presidio itself is not a dependency: it needs a spaCy
  language model downloaded outside any package registry, it is marked beta, and redacting
  only recognised entities fails open.

The picture is read in two forms (bright strokes binarised, which isolates overlay text from
anatomy, and the plain grey image), each at least twice the size of a small ultrasound frame
so that 10-pixel lettering is legible to the engine; words and the words on their lines are
blacked out with a margin, and the cleaned picture is read again until nothing more is found.
An image whose text cannot be checked (no OCR engine or no English model on this computer),
or whose header says text is burned in when none can be found, is not shown: fail closed.

Pure: numpy arrays in, numpy arrays out; the engine is Tesseract through ``tesserocr`` (its
wheel carries libtesseract) with the ``eng.traineddata`` model of Debian's ``tesseract-ocr-eng``,
the ``TESSDATA_PREFIX`` folder, or the one bundled with the frozen app.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Hashable, Iterator, Mapping

import numpy as np

from medassist import paths

MODEL = "eng.traineddata"
# where Tesseract's models live on the platforms MedAssist runs on (Debian/Ubuntu 5 and 4, Fedora, Homebrew, Windows)
SYSTEM_TESSDATA = (
    "/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata", "/usr/share/tessdata",
    "/usr/local/share/tessdata", "/opt/homebrew/share/tessdata", r"C:\Program Files\Tesseract-OCR\tessdata",
)
# a word this sure (0-100) with three letters or digits is text: shapes half-read in anatomy (chest, brain, shoulder
# films of the demo) and in noise score up to 72, overlay lettering of the demo's ultrasounds 85-97 for at least
# one word of each block
WORD_CONFIDENCE = 80
NEAR_CONFIDENCE = 30  # a word near a sure one is text down to this
MIN_OCR_SIDE = 1200  # small frames are enlarged (integer factor) until their long side reaches this
BRIGHT_STROKE = 160  # overlay lettering is drawn near white or in saturated colour: above this on the brightest channel
MAX_ROUNDS = 3
CACHE_SIZE = 64
_lock = threading.Lock()


@dataclass(frozen=True)
class Box:
    """A rectangle of pixels, rows ``top:bottom`` and columns ``left:right`` (end exclusive)."""

    top: int
    left: int
    bottom: int
    right: int

    def padded(self, margin: int, shape: tuple[int, int]) -> "Box":
        return Box(max(self.top - margin, 0), max(self.left - margin, 0),
                   min(self.bottom + margin, shape[0]), min(self.right + margin, shape[1]))


@dataclass(frozen=True)
class PixelHeader:
    """What the DICOM header says about text in the pixels."""

    burned_in: str = ""  # BurnedInAnnotation: "YES", "NO" or "" (not stated)
    modality: str = ""
    manufacturer: str = ""
    keep_regions: tuple[Box, ...] = ()  # ultrasound regions: everything outside them is annotation

    @property
    def says_burned_in(self) -> bool:
        return self.burned_in == "YES"


@dataclass(frozen=True)
class CleanedPixels:
    """One frame after the check: the picture with text blacked out, or why it cannot be shown."""

    pixels: np.ndarray | None  # None: not to be shown (see ``problem``)
    mask: np.ndarray | None = None  # True where the picture was blacked out
    text_boxes: tuple[Box, ...] = ()
    outside_regions: int = 0  # ultrasound regions kept; everything else blacked out
    words: tuple[str, ...] = field(default=(), repr=False)  # what was read (never shown: it may be identifying)
    problem: str | None = None
    engine: str = ""

    @property
    def redacted(self) -> bool:
        return bool(self.text_boxes) or self.outside_regions > 0

    def describe(self) -> str:
        """How the picture was cleaned, for the report's caption (no word that was read)."""
        if self.problem:
            return "not shown: " + self.problem
        parts = []
        if self.outside_regions:
            parts.append(f"everything outside the {self.outside_regions} ultrasound region(s) its header declares")
        if self.text_boxes:
            parts.append(f"{len(self.text_boxes)} text area(s) found by OCR ({self.engine})")
        if not parts:
            return f"checked for burned-in text by OCR ({self.engine}): none found"
        return "burned-in text blacked out: " + " and ".join(parts)


def header_of(metadata: Mapping[str, Any]) -> PixelHeader:
    """The facts a loaded image's header gives (``metadata['dataset']`` is the pydicom dataset)."""
    dataset = metadata.get("dataset")
    burned = str(getattr(dataset, "BurnedInAnnotation", None) or metadata.get("burned_in_annotation") or "")
    regions = []
    for region in getattr(dataset, "SequenceOfUltrasoundRegions", None) or []:
        try:
            x0, y0 = int(region.RegionLocationMinX0), int(region.RegionLocationMinY0)
            x1, y1 = int(region.RegionLocationMaxX1), int(region.RegionLocationMaxY1)
        except (AttributeError, TypeError, ValueError):
            return PixelHeader(burned.strip().upper(), str(metadata.get("modality") or ""),
                               str(metadata.get("manufacturer") or ""))  # a malformed region: trust no region
        if x1 > x0 and y1 > y0:
            regions.append(Box(y0, x0, y1 + 1, x1 + 1))
    return PixelHeader(burned.strip().upper(), str(metadata.get("modality") or ""), str(metadata.get("manufacturer") or ""),
                       tuple(regions))


# the engine ------------------------------------------------------------------------------------------
def tessdata_dir() -> Path | None:
    """The folder holding Tesseract's English model: ``TESSDATA_PREFIX``, the frozen app's own, the system's."""
    candidates = [os.environ.get("TESSDATA_PREFIX", ""), str(paths.install_root() / "tessdata"), *SYSTEM_TESSDATA]
    for folder in candidates:
        if folder and (Path(folder) / MODEL).is_file():
            return Path(folder)
    return None


@lru_cache(maxsize=1)
def ocr_problem() -> str | None:
    """Why burned-in text cannot be checked on this computer; ``None`` when it can."""
    try:
        import tesserocr  # noqa: F401
    except ImportError as exc:
        return f"the OCR engine is not installed (Python package tesserocr: {exc})"
    if tessdata_dir() is None:
        return (f"Tesseract's English model {MODEL} was not found (set TESSDATA_PREFIX, or install the "
                "tesseract-ocr-eng package)")
    return None


@lru_cache(maxsize=1)
def engine_name() -> str:
    import tesserocr

    return "Tesseract " + str(tesserocr.tesseract_version()).split()[1]


class _Engine:
    """One Tesseract instance for the process, used under a lock (an instance is not shared by threads)."""

    api: Any = None

    @classmethod
    def words(cls, picture: np.ndarray) -> list[tuple[str, float, Box]]:
        import tesserocr
        from PIL import Image

        with _lock:
            if cls.api is None:
                cls.api = tesserocr.PyTessBaseAPI(path=str(tessdata_dir()), lang="eng", psm=tesserocr.PSM.SPARSE_TEXT)
            api = cls.api
            api.SetImage(Image.fromarray(picture))
            api.Recognize()
            found = []
            level = tesserocr.RIL.WORD
            try:
                for word in tesserocr.iterate_level(api.GetIterator(), level):
                    text = (word.GetUTF8Text(level) or "").strip()
                    box = word.BoundingBox(level)
                    if text and box is not None:
                        left, top, right, bottom = box
                        found.append((text, float(word.Confidence(level)), Box(top, left, bottom, right)))
            except RuntimeError:  # "No text returned": a page without a word
                pass
            api.Clear()
            return found


def _views(pixels: np.ndarray) -> Iterator[tuple[np.ndarray, int]]:
    """The picture as the engine reads it best: dark lettering on white, enlarged; with the scale used."""
    from PIL import Image

    grey = pixels.max(axis=2) if pixels.ndim == 3 else pixels  # coloured lettering is bright in its own channel
    scale = max(1, int(np.ceil(MIN_OCR_SIDE / max(grey.shape))))
    if scale > 1:  # smooth enlargement: blocky letters read worse than the originals
        grey = np.asarray(Image.fromarray(np.ascontiguousarray(grey)).resize(
            (grey.shape[1] * scale, grey.shape[0] * scale), Image.Resampling.BICUBIC))
    yield np.where(grey >= BRIGHT_STROKE, 0, 255).astype(np.uint8), scale  # overlay strokes only
    yield np.ascontiguousarray(grey), scale


def _alnum(text: str) -> int:
    return sum(ch.isalnum() for ch in text)


def _near(a: Box, b: Box) -> bool:
    """Two words of one block of lettering: letters of about one height, either on one line within
    three letter heights, or on adjacent lines starting or ending at the same column (a column of
    labels, left- or right-aligned)."""
    ha, hb = a.bottom - a.top, b.bottom - b.top
    height = max(ha, hb)
    if abs(ha - hb) > 0.5 * height:
        return False
    gap_x = max(a.left, b.left) - min(a.right, b.right)
    gap_y = max(a.top, b.top) - min(a.bottom, b.bottom)
    same_line = min(a.bottom, b.bottom) - max(a.top, b.top) > 0.5 * min(ha, hb) and gap_x < 3 * height
    aligned = abs(a.left - b.left) < height or abs(a.right - b.right) < height
    return same_line or (gap_y < height and aligned)


def _sure(text: str, confidence: float) -> bool:
    """Read surely enough to be lettering on its own. Shapes half-read in anatomy and noise reach 72
    for three characters and 92 for two, so: three letters or digits at :data:`WORD_CONFIDENCE`, two
    at 95 ("OB", "2D", "PM" of the demo's ultrasounds: 96-97)."""
    return confidence >= WORD_CONFIDENCE and (_alnum(text) >= 3 or (_alnum(text) == 2 and confidence >= 95))


def find_text(pixels: np.ndarray, anchors: tuple[Box, ...] = ()) -> list[tuple[str, Box]]:
    """Words burned into ``pixels`` (uint8 grey or RGB), with their boxes in the picture's pixels.

    A word is text when the engine is sure of it (:func:`_sure`),
    or when it stands near such a word, on its line or the lines above and below (lettering
    beside a sure word is often read less surely: "C6" beside "R15", "78F78" under "BAPTIST");
    isolated shapes that the engine half-reads in the anatomy are not. ``anchors`` are text areas
    already found (a later round reads the picture with them blacked out)."""
    found: list[tuple[str, Box]] = []
    for view, scale in _views(pixels):
        words = [(text, conf, Box(b.top // scale, b.left // scale, -(-b.bottom // scale), -(-b.right // scale)))
                 for text, conf, b in _Engine.words(view)]
        accepted = [w for w in words if _sure(w[0], w[1])]
        accepted += [w for w in words if w not in accepted and w[1] >= NEAR_CONFIDENCE and _alnum(w[0]) >= 1
                     and any(_near(w[2], a) for a in anchors)]
        rest = [w for w in words if w[1] >= NEAR_CONFIDENCE and _alnum(w[0]) >= 1 and w not in accepted]
        grew = True
        while grew:
            joining = [w for w in rest if any(_near(w[2], a[2]) for a in accepted)]
            accepted += joining
            rest = [w for w in rest if w not in joining]
            grew = bool(joining)
        found += [(w[0], w[2]) for w in accepted]
    return found


def _distinct(boxes: list[Box]) -> list[Box]:
    """The boxes, less those inside another (both readings of one word)."""
    def inside(a: Box, b: Box) -> bool:
        return a is not b and b.top <= a.top and b.left <= a.left and a.bottom <= b.bottom and a.right <= b.right

    unique = list(dict.fromkeys(boxes))
    return [a for a in unique if not any(inside(a, b) for b in unique)]


def clean_frame(pixels: np.ndarray, header: PixelHeader = PixelHeader()) -> CleanedPixels:
    """``pixels`` (the 8-bit frame as displayed) with every burned-in word blacked out; fails closed."""
    problem = ocr_problem()
    if problem is not None:
        return CleanedPixels(None, problem=f"burned-in text cannot be checked on this computer: {problem}")
    shape = pixels.shape[:2]
    mask = np.zeros(shape, dtype=bool)
    kept = [b for b in header.keep_regions if b.top < shape[0] and b.left < shape[1]]
    if kept:
        mask[:] = True
        for box in kept:
            mask[box.top:box.bottom, box.left:box.right] = False
    out = pixels.copy()
    out[mask] = 0
    boxes: list[Box] = []
    words: list[str] = []
    for _round in range(MAX_ROUNDS):
        found = find_text(out, tuple(boxes))
        if not found:
            break
        for text, box in found:
            margin = max(2, (box.bottom - box.top) // 3)
            box = box.padded(margin, shape)
            boxes.append(box)
            words.append(text)
            mask[box.top:box.bottom, box.left:box.right] = True
        out[mask] = 0
    boxes = _distinct(boxes)
    if header.says_burned_in and not boxes and not kept:
        return CleanedPixels(None, problem="its header says text is burned into the picture, and none could be "
                                           "found to black out", engine=engine_name())
    return CleanedPixels(out, mask, tuple(boxes), len(kept), tuple(words), engine=engine_name())


class CleanCache:
    """Cleaned frames by (image key, frame): each picture is read once per session, whoever asks."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._items: OrderedDict[Hashable, CleanedPixels] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> CleanedPixels | None:
        """A frame already cleaned (key: (image key, header)), or None."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def clean(self, key: Hashable, pixels: np.ndarray, header: PixelHeader) -> CleanedPixels:
        """The cleaned frame for ``key`` (the image's identity and frame), read once per header."""
        key = (key, header)
        found = self.get(key)
        if found is not None:
            return found
        result = clean_frame(pixels, header)
        with self._lock:
            self._items[key] = result
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return result


CLEANED = CleanCache()
