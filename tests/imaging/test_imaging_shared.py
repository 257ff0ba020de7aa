"""Every file of ../shared/data/dicom opens (or, for the DICOMDIR index, is reported clearly)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from medassist.errors import InputError
from medassist.imaging.loader import load_image, open_images
from medassist.jobs import run_job

pytestmark = pytest.mark.data


def manifest(shared_data):
    with open(shared_data / "dicom" / "manifest.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_manifest_file_opens_with_its_listed_geometry(shared_data):
    rows = manifest(shared_data)
    assert len(rows) >= 27
    for row in rows:
        path = shared_data.parent / row["file"]
        if row["file"].endswith("DICOMDIR-empty.dcm"):
            with pytest.raises(InputError, match="DICOMDIR"):
                load_image(path)
            continue
        image = load_image(path)
        assert image.shape == (int(row["rows"]), int(row["columns"])), row["file"]
        assert image.n_frames == int(row["frames"]), row["file"]
        assert image.modality == row["modality"], row["file"]
        for index in {0, image.n_frames - 1}:
            shown = image.display_frame(index)
            assert shown.dtype == np.uint8 and shown.std() > 1, f"{row['file']} frame {index} shows a flat image"


def test_compressed_encodings_decode_to_the_same_pixels_as_uncompressed(shared_data):
    mr = shared_data / "dicom" / "mr"
    reference = load_image(mr / "emri_small.dcm").frames
    for name in ("emri_small_RLE.dcm", "emri_small_jpeg_2k_lossless.dcm", "emri_small_jpeg_ls_lossless.dcm"):
        np.testing.assert_array_equal(load_image(mr / name).frames, reference, err_msg=name)
    cr = shared_data / "dicom" / "chest_radiographs"
    np.testing.assert_array_equal(load_image(cr / "RG1_J2KR.dcm").frames, load_image(cr / "RG1_UNCR.dcm").frames)


def test_twelve_bit_jpeg_extended_samples_decode(shared_data):
    image = load_image(shared_data / "dicom" / "mr" / "nema-mr1_jply.dcm")
    assert image.metadata["transfer_syntax"].startswith("JPEG Extended")
    assert 3000 < image.frames.max() < 4096  # 12-bit data, not 8-bit


def test_specific_photometrics(shared_data):
    d = shared_data / "dicom"
    chest = load_image(d / "chest_radiographs" / "RG1_UNCR.dcm")
    assert chest.inverted and chest.window is not None
    palette = load_image(d / "multiframe_other" / "US-PAL-8-10x-echo.dcm")
    assert palette.is_color and palette.metadata["photometric_stored"] == "PALETTE COLOR"
    assert not np.array_equal(palette.frames[..., 0], palette.frames[..., 2])
    ybr = load_image(d / "multiframe_other" / "examples_ybr_color.dcm")
    assert ybr.is_color and ybr.n_frames == 30
    big_endian = load_image(d / "ct" / "anon_apct.dcm")
    assert -1100 < big_endian.frames.min() < -900 and big_endian.spacing_mm == pytest.approx((0.746094, 0.746094))
    assert "dataset" in big_endian.metadata and "PixelData" not in big_endian.metadata["dataset"]


def test_whole_folder_opens_with_problems_named(shared_data):
    batch = run_job(open_images(shared_data / "dicom"))
    files = {image.path.name for image in batch.images}
    assert {"RG1_J2KR.dcm", "anon_apct.dcm", "MR-MONO2-8-16x-heart.dcm", "examples_ybr_color.dcm"} <= files
    assert len(batch.images) >= 26 + 6  # the 26 image files plus the DICOMDIR tree's series
    # the only problems: pydicom's TINY_ALPHA file-set, whose files deliberately carry no pixels
    assert batch.problems and all("TINY_ALPHA" in p and p.endswith("no pixel data (SOP class: CT Image Storage)") for p in batch.problems)
