"""Public DICOM test images the demo attaches to its synthetic patients.

They come from installed registry packages only: pydicom's own test files and the
``pydicom-data`` package (NEMA WG04 compressed-sample set and others). They are looked up
with ``download=False``, so a missing package gives a clear error, never a network request.
None of them is a picture of the demo patient it is attached to.
"""

from __future__ import annotations

from pathlib import Path

from medassist.errors import InputError

PUBLIC_IMAGE_NOTICE = (
    "Images attached to demo patients are public DICOM test files shipped with the pydicom and "
    "pydicom-data packages (NEMA WG04 samples and others). They are not images of this (synthetic) patient."
)

# file name -> what the image shows, in the words used in the demo notes
DESCRIPTIONS: dict[str, str] = {
    "RG1_UNCR.dcm": "NEMA WG04 chest radiograph RG1 (CR, PA), uncompressed",
    "RG1_J2KI.dcm": "NEMA WG04 chest radiograph RG1 (CR, PA), JPEG 2000 lossy",
    "RG1_J2KR.dcm": "NEMA WG04 chest radiograph RG1 (CR, PA), JPEG 2000 lossless",
    "RG3_UNCR.dcm": "NEMA WG04 radiograph RG3 (CR, distal tibia), uncompressed",
    "CT_small.dcm": "pydicom test CT slice (axial, thorax)",
    "693_UNCR.dcm": "NEMA WG04 head CT slice (CQ500 case), uncompressed",
    "eCT_Supplemental.dcm": "enhanced CT perfusion of the brain (2 frames)",
    "emri_small.dcm": "multi-frame MR of the head (10 frames)",
    "MR2_UNCR.dcm": "NEMA WG04 MR of the shoulder, uncompressed",
    "OBXXXX1A.dcm": "obstetric ultrasound",
    "gdcm-US-ALOKA-16.dcm": "abdominal ultrasound (Aloka)",
    "US1_UNCR.dcm": "NEMA WG04 small-parts ultrasound (lymph node), uncompressed",
    "JPEG2000.dcm": "whole-body bone scintigraphy (NM), JPEG 2000",
}


def public_dicom(name: str) -> Path:
    """Path of an installed public DICOM test file; :class:`InputError` if the package is missing."""
    from pydicom.data import get_testdata_file

    found = get_testdata_file(name, download=False)
    if found is None:
        raise InputError("public DICOM test file is not installed (it ships with the pydicom-data package)", name)
    return Path(str(found))
