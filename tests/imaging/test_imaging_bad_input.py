"""Bad input: each case is an InputError naming the file and the reason; a folder keeps the good files."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MPEG2MPML, generate_uid

from medassist.errors import InputError
from medassist.imaging.dicom import MAX_FRAME_PIXELS
from medassist.imaging.loader import load_image, open_images
from medassist.jobs import run_job


def refused(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        load_image(path)
    assert str(path) in str(caught.value)
    return caught.value.reason


def test_truncated_pixel_data(tmp_path, dicom_writer):
    path = dicom_writer(tmp_path / "cut.dcm", np.ones((64, 64), np.uint16))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 3000])
    assert "truncated or corrupt" in refused(path)


def test_truncated_header(tmp_path, dicom_writer):
    path = dicom_writer(tmp_path / "head.dcm", np.ones((64, 64), np.uint16))
    path.write_bytes(path.read_bytes()[:150])
    reason = refused(path)
    assert "no pixel data" in reason or "not a readable DICOM" in reason


def test_dicom_without_pixel_data(tmp_path):
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = CTImageStorage, generate_uid(), "CT"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path = tmp_path / "nopixels.dcm"
    ds.save_as(path, enforce_file_format=True)
    assert refused(path) == "DICOM file has no pixel data (SOP class: CT Image Storage)"


def test_unsupported_transfer_syntax(tmp_path, dicom_writer):
    path = dicom_writer(tmp_path / "mpeg.dcm", np.zeros((8, 8), np.uint8))
    from pydicom import dcmread

    ds = dcmread(path)
    ds.file_meta.TransferSyntaxUID = MPEG2MPML
    ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + b"\0" * 60])
    ds.save_as(path, enforce_file_format=True)
    reason = refused(path)
    assert "transfer syntax" in reason and "MPEG2" in reason


def test_huge_dicom_refused_from_the_header_before_decoding(tmp_path, dicom_writer):
    path = dicom_writer(tmp_path / "huge.dcm", np.zeros((2, 2), np.uint16))
    from pydicom import dcmread

    ds = dcmread(path)
    ds.Rows = ds.Columns = 20000  # the pixel data stays 8 bytes: only the header is read
    ds.save_as(path, enforce_file_format=True)
    reason = refused(path)
    assert "20000 x 20000" in reason and f"{MAX_FRAME_PIXELS:,}" in reason


@pytest.mark.parametrize("side", [9000, 20000])
def test_huge_png_refused_before_decoding(tmp_path, side):
    path = tmp_path / "huge.png"
    Image.new("L", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = data[12:29]  # chunk type + 13 bytes of header
    ihdr[4:12] = struct.pack(">II", side, side)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    reason = refused(path)  # Pillow's own bomb check words the larger one
    assert f"{MAX_FRAME_PIXELS:,}" in reason and (f"{side} x {side}" in reason or f"{side * side} pixels" in reason)


def test_non_image_and_empty_files(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("Patient doing well.\n" * 20)
    assert "not a DICOM file or an image" in refused(text)
    empty = tmp_path / "empty.dcm"
    empty.write_bytes(b"")
    assert refused(empty) == "file is empty"
    with pytest.raises(InputError, match="file not found"):
        load_image(tmp_path / "missing.dcm")


def test_a_folder_with_bad_files_keeps_the_good_ones(tmp_path, dicom_writer):
    dicom_writer(tmp_path / "good.dcm", np.full((4, 4), 7, np.uint16))
    bad = dicom_writer(tmp_path / "bad.dcm", np.ones((64, 64), np.uint16))
    bad.write_bytes(bad.read_bytes()[:-2000])
    (tmp_path / "README.txt").write_text("not an image")
    batch = run_job(open_images(tmp_path))
    assert len(batch.images) == 1 and batch.images[0].path.name == "good.dcm"
    assert len(batch.problems) == 1 and batch.problems[0].startswith(str(bad)) and "truncated" in batch.problems[0]


def test_a_single_bad_file_becomes_a_problem_not_an_exception(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage")
    batch = run_job(open_images(path))
    assert batch.images == [] and len(batch.problems) == 1 and str(path) in batch.problems[0]
