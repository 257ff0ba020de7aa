"""Every file of ../shared/data/dicom opens (or, for the DICOMDIR index, is reported clearly)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from medassist.errors import InputError
from medassist.imaging.loader import load_image, open_images
from medassist.jobs import run_job

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def opened(shared_data):
    """The whole shared DICOM folder opened once, as a user would: {path: image} and the problems."""
    batch = run_job(open_images(shared_data / "dicom"))
    return {image.path: image for image in batch.images}, batch.problems


def manifest(shared_data):
    with open(shared_data / "dicom" / "manifest.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_manifest_file_opens_with_its_listed_geometry(shared_data, opened):
    images, _ = opened
    rows = manifest(shared_data)
    assert len(rows) >= 27
    for row in rows:
        path = shared_data.parent / row["file"]
        if row["file"].endswith("DICOMDIR-empty.dcm"):
            with pytest.raises(InputError, match="DICOMDIR"):
                load_image(path)
            continue
        image = images[path]
        assert image.shape == (int(row["rows"]), int(row["columns"])), row["file"]
        assert image.n_frames == int(row["frames"]), row["file"]
        assert image.modality == row["modality"], row["file"]
        for index in {0, image.n_frames - 1}:
            shown = image.display_frame(index)
            assert shown.dtype == np.uint8 and shown.std() > 1, f"{row['file']} frame {index} shows a flat image"


def test_compressed_encodings_decode_to_the_same_pixels_as_uncompressed(shared_data, opened):
    images, _ = opened
    mr = shared_data / "dicom" / "mr"
    reference = images[mr / "emri_small.dcm"].frames
    for name in ("emri_small_RLE.dcm", "emri_small_jpeg_2k_lossless.dcm", "emri_small_jpeg_ls_lossless.dcm"):
        np.testing.assert_array_equal(images[mr / name].frames, reference, err_msg=name)
    cr = shared_data / "dicom" / "chest_radiographs"
    np.testing.assert_array_equal(images[cr / "RG1_J2KR.dcm"].frames, images[cr / "RG1_UNCR.dcm"].frames)


def test_twelve_bit_jpeg_extended_samples_decode(shared_data, opened):
    image = opened[0][shared_data / "dicom" / "mr" / "nema-mr1_jply.dcm"]
    assert image.metadata["transfer_syntax"].startswith("JPEG Extended")
    assert 3000 < image.frames.max() < 4096  # 12-bit data, not 8-bit


def test_specific_photometrics(shared_data, opened):
    images, _ = opened
    d = shared_data / "dicom"
    chest = images[d / "chest_radiographs" / "RG1_UNCR.dcm"]
    assert chest.inverted and chest.window is not None
    palette = images[d / "multiframe_other" / "US-PAL-8-10x-echo.dcm"]
    assert palette.is_color and palette.metadata["photometric_stored"] == "PALETTE COLOR"
    assert not np.array_equal(palette.frames[..., 0], palette.frames[..., 2])
    ybr = images[d / "multiframe_other" / "examples_ybr_color.dcm"]
    assert ybr.is_color and ybr.n_frames == 30
    big_endian = images[d / "ct" / "anon_apct.dcm"]
    assert -1100 < big_endian.frames.min() < -900 and big_endian.spacing_mm == pytest.approx((0.746094, 0.746094))
    assert "dataset" in big_endian.metadata and "PixelData" not in big_endian.metadata["dataset"]


def test_whole_folder_opens_with_problems_named(opened):
    images, problems = opened
    assert len(images) >= 26 + 6  # the 26 image files plus the DICOMDIR tree's series
    # the only problems: pydicom's TINY_ALPHA file-set, whose files deliberately carry no pixels
    assert problems and all("TINY_ALPHA" in p and p.endswith("no pixel data (SOP class: CT Image Storage)") for p in problems)
