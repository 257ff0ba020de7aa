"""The inputs a model can be asked about; a task handler accepts the kinds it understands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from medassist.hashing import sha256_bytes

if TYPE_CHECKING:
    from medassist.imaging.image import MedicalImage
    from medassist.records.schema import PatientRecords


@dataclass
class ImageInput:
    """One frame of a loaded image (DICOM or ordinary file); ``patient_age_years`` comes from the
    patient's record when there is one (DICOM PatientAge / birth date is used first)."""

    image: "MedicalImage"
    frame: int = 0
    patient_age_years: float | None = None


@dataclass
class TextInput:
    """A clinical note's text; ``source`` names where it came from (file, note id)."""

    text: str
    source: str = "text"

    @property
    def sha256(self) -> str:
        return sha256_bytes(self.text.encode("utf-8"))


@dataclass
class RecordInput:
    """One patient of a loaded record set (vitals, labs, conditions feed tabular models)."""

    records: "PatientRecords"
    patient_id: str
