"""Fuzzing the image readers with mutated real files: the only outcomes are an image or an
InputError naming the file; no other exception, no hang, no unbounded memory."""

from __future__ import annotations

import io
import random
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from medassist.errors import InputError
from medassist.imaging.loader import load_image, open_images
from medassist.jobs import run_job
from tests.mutators import dicom_value_mutant, mutations, tally

OUTCOMES = ("opened", "refused")  # besides "crashed"

SEEDS_PER_FILE = 60
SLOW_SEEDS_PER_FILE = 500
MAX_SECONDS_PER_INPUT = 10.0


def picture_bytes(fmt: str) -> bytes:
    ramp = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) % 251).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(ramp).save(buffer, format=fmt)
    return buffer.getvalue()


REAL_FILES = {
    "CT_small.dcm": lambda: Path(get_testdata_file("CT_small.dcm")).read_bytes(),
    "MR_small_RLE.dcm": lambda: Path(get_testdata_file("MR_small_RLE.dcm")).read_bytes(),
    "JPEG2000.dcm": lambda: Path(get_testdata_file("JPEG2000.dcm")).read_bytes(),
    "picture.png": lambda: picture_bytes("PNG"),
    "picture.jpg": lambda: picture_bytes("JPEG"),
    "picture.tif": lambda: picture_bytes("TIFF"),
}


def check_outcome(path: Path) -> str:
    start = time.perf_counter()
    try:
        image = load_image(path)
    except InputError as exc:
        assert exc.source == str(path) and exc.reason and "\n" not in exc.reason
        outcome = "refused"
    else:
        assert image.frames.ndim in (3, 4) and image.frames.size > 0
        image.display_frame(0)
        outcome = "opened"
    assert time.perf_counter() - start < MAX_SECONDS_PER_INPUT, f"{path.name} took too long"
    return outcome


def fuzz_bytes(tmp_path, name: str, n: int) -> dict[str, int]:
    original = REAL_FILES[name]()

    def written() -> Iterator[Path]:
        for index, mutant in enumerate(mutations(original, seed=zlib.crc32(name.encode()), n=n)):
            path = tmp_path / f"{index % 50}-{name}"
            path.write_bytes(mutant)
            yield path

    return tally(tmp_path, check_outcome, OUTCOMES, written(), n, name)


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_mutated_files_open_or_fail_cleanly(tmp_path, name):
    assert fuzz_bytes(tmp_path, name, SEEDS_PER_FILE)["refused"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_mutated_files_long(tmp_path, name):
    assert fuzz_bytes(tmp_path, name, SLOW_SEEDS_PER_FILE)["refused"] > 0


def test_a_folder_of_mutants_opens_the_good_ones_and_names_the_bad(tmp_path):
    original = REAL_FILES["CT_small.dcm"]()
    (tmp_path / "good.dcm").write_bytes(original)
    for index, mutant in enumerate(mutations(original, seed=5, n=20)):
        (tmp_path / f"bad{index}.dcm").write_bytes(mutant[: len(mutant) // 3])
    batch = run_job(open_images(tmp_path))
    assert any(img.path.name == "good.dcm" or "good.dcm" in str(img.metadata.get("series_files", "")) for img in batch.images)
    assert batch.problems and all("bad" in problem for problem in batch.problems)


# structure-aware mutants: values that disagree (LUTs, palettes, frames, sizes, rescale) ----------

VALUE_FILES = ("CT_small.dcm", "MR_small.dcm", "emri_small.dcm", "SC_rgb.dcm")
VALUE_MUTANTS = 12  # per file in the default run
SLOW_VALUE_MUTANTS = 2_500  # per file: 10,000 in the slow run


def fuzz_values(tmp_path, name: str, n: int) -> dict[str, int]:
    original = Path(get_testdata_file(name)).read_bytes()
    rng = random.Random(zlib.crc32(name.encode()))

    def written() -> Iterator[Path]:
        for index in range(n):
            path = tmp_path / f"v{index % 50}-{name}"
            path.write_bytes(dicom_value_mutant(original, rng))
            yield path

    return tally(tmp_path, check_outcome, OUTCOMES, written(), n, name)


@pytest.mark.parametrize("name", VALUE_FILES)
def test_value_mutants_open_or_fail_cleanly(tmp_path, name):
    outcomes = fuzz_values(tmp_path, name, VALUE_MUTANTS)
    assert outcomes["refused"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", VALUE_FILES)
def test_value_mutants_long(tmp_path, name):
    outcomes = fuzz_values(tmp_path, name, SLOW_VALUE_MUTANTS)
    assert outcomes["refused"] > 0 and outcomes["opened"] > 0


def test_palette_colour_with_three_samples_is_refused(tmp_path):
    """Found by the slow value-mutant run: an RGB image relabelled PALETTE COLOR came out with a
    (frames, rows, columns, 3, 3) shape that no view can draw."""
    import pydicom

    ds = pydicom.dcmread(get_testdata_file("SC_rgb.dcm"))
    ds.PhotometricInterpretation = "PALETTE COLOR"
    for tag in (0x00281101, 0x00281102, 0x00281103):
        ds.add_new(tag, "US", [256, 0, 8])
    for tag in (0x00281201, 0x00281202, 0x00281203):
        ds.add_new(tag, "OW", bytes(range(256)) * 2)
    path = tmp_path / "palette_rgb.dcm"
    ds.save_as(path, enforce_file_format=False)
    with pytest.raises(InputError, match="one sample per pixel") as caught:
        load_image(path)
    assert caught.value.source == str(path)
