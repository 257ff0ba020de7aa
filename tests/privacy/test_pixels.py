"""Burned-in text is found and blacked out on pictures made here (lettering drawn with Pillow on a
synthetic scan), ultrasound regions are kept and the rest blacked out, and a picture whose text cannot
be checked is not shown: fail closed."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from medassist.privacy import pixels
from medassist.privacy.pixels import Box, PixelHeader, clean_frame, find_text, ocr_problem

needs_ocr = pytest.mark.skipif(ocr_problem() is not None, reason=f"needs Tesseract: {ocr_problem()}")


def scan_with_lettering(lines: list[tuple[int, int, str]], size: tuple[int, int] = (480, 640)) -> np.ndarray:
    """A smooth grey 'scan' with white lettering at (row, column), as an ultrasound machine burns it in."""
    rows, columns = size
    y, x = np.mgrid[0:rows, 0:columns]
    picture = (60 + 50 * np.exp(-(((x - columns / 2) / 180) ** 2 + ((y - rows / 2) / 140) ** 2))).astype(np.uint8)
    image = Image.fromarray(picture)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)
    for row, column, text in lines:
        draw.text((column, row), text, fill=255, font=font)
    return np.asarray(image)


@needs_ocr
def test_lettering_is_found_and_blacked_out_and_the_scan_kept():
    picture = scan_with_lettering([(8, 10, "DOE^JANE  MRN 55501234"), (28, 10, "ST MARY HOSPITAL"),
                                   (8, 470, "12-MAR-2024"), (28, 470, "10:42:17")])
    cleaned = clean_frame(picture)
    assert cleaned.pixels is not None and cleaned.redacted
    assert find_text(cleaned.pixels) == []  # nothing left to read
    assert cleaned.pixels[:45, :].max() < 255  # the lettering's white strokes are gone
    centre = (slice(200, 280), slice(280, 360))
    assert np.array_equal(cleaned.pixels[centre], picture[centre])  # the anatomy is untouched
    assert "text area(s) found by OCR" in cleaned.describe() and "JANE" not in cleaned.describe()


@needs_ocr
def test_a_scan_without_lettering_is_left_as_it_is():
    picture = scan_with_lettering([])
    cleaned = clean_frame(picture)
    assert not cleaned.redacted and np.array_equal(cleaned.pixels, picture)
    assert cleaned.describe().endswith("none found")


@needs_ocr
def test_outside_the_ultrasound_regions_is_blacked_out():
    picture = scan_with_lettering([])
    cleaned = clean_frame(picture, PixelHeader(modality="US", keep_regions=(Box(60, 40, 420, 600),)))
    assert cleaned.pixels[:60].max() == 0 and cleaned.pixels[:, :40].max() == 0
    assert np.array_equal(cleaned.pixels[60:420, 40:600], picture[60:420, 40:600])
    assert "outside the 1 ultrasound region(s)" in cleaned.describe()


@needs_ocr
def test_a_header_that_says_burned_in_with_nothing_found_is_not_shown():
    cleaned = clean_frame(scan_with_lettering([]), PixelHeader(burned_in="YES"))
    assert cleaned.pixels is None and "header says text is burned in" in cleaned.problem


def test_without_ocr_no_picture_is_shown(monkeypatch):
    monkeypatch.setattr(pixels, "ocr_problem", lambda: "the OCR engine is not installed (test)")
    cleaned = clean_frame(scan_with_lettering([]))
    assert cleaned.pixels is None and "cannot be checked on this computer" in cleaned.problem
