"""DICOM fixtures written with pydicom, with pixel values chosen so LUT results are known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRBigEndian, ExplicitVRLittleEndian, generate_uid


def write_dicom(
    path: Path,
    pixels: np.ndarray,
    *,
    modality: str = "CT",
    photometric: str = "MONOCHROME2",
    bits_stored: int | None = None,
    syntax: str = ExplicitVRLittleEndian,
    preamble: bool = True,
    series_uid: str | None = None,
    study_uid: str | None = None,
    **attributes,
) -> Path:
    """Write ``pixels`` ((rows, cols), (frames, rows, cols) or (..., 3) RGB) as a DICOM file."""
    pixels = np.asarray(pixels)
    color = pixels.shape[-1] == 3 and pixels.ndim in (3, 4) and photometric == "RGB"
    frames = pixels.shape[0] if pixels.ndim == (4 if color else 3) else 1
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.PatientName = "Test^Patient"
    ds.PatientID = "T-001"
    ds.StudyDate = "20240131"
    ds.Modality = modality
    ds.Rows, ds.Columns = pixels.shape[-3:-1] if color else pixels.shape[-2:]
    ds.SamplesPerPixel = 3 if color else 1
    if color:
        ds.PlanarConfiguration = 0
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = pixels.dtype.itemsize * 8
    ds.BitsStored = bits_stored or ds.BitsAllocated
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if pixels.dtype.kind == "i" else 0
    if frames > 1:
        ds.NumberOfFrames = frames
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    big_endian = syntax == ExplicitVRBigEndian
    data = pixels.astype(pixels.dtype.newbyteorder(">" if big_endian else "<")).tobytes()
    ds.PixelData = data + (b"\0" if len(data) % 2 else b"")
    ds["PixelData"].VR = "OW" if ds.BitsAllocated > 8 else "OB"
    if preamble:
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = syntax
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(path, enforce_file_format=True)
    else:
        ds.save_as(path, implicit_vr=True, little_endian=True)
    return path


@pytest.fixture()
def dicom_writer():
    return write_dicom
