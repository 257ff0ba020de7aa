"""How a patient may be named on screen and in a de-identified report: one policy for every view.

In presentation mode (a projector, a teaching round) every view shows the patient as initials
and a pseudonym, never the name, birth date, patient ID or an identifier inside free text.
Views call :func:`patient_label` for the patient and :func:`shown_text` for any text that may
carry identifiers (note text, note IDs, image headers); both return the text unchanged outside
presentation mode. The pseudonym and date shift are derived from the patient ID and a salt
drawn once per process, so the preview, the export and every view agree for the whole session
while the real ID cannot be read back from them.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pandas as pd

SESSION_SALT = secrets.token_bytes(16)
# DICOM elements that identify the patient (PS3.15 Annex E basic profile, patient module); every
# person name (VR PN) is withheld as well
IDENTIFYING_DICOM_KEYWORDS = frozenset({
    "PatientName", "PatientID", "IssuerOfPatientID", "OtherPatientIDs", "OtherPatientIDsSequence", "OtherPatientNames",
    "PatientBirthDate", "PatientBirthTime", "PatientBirthName", "PatientMotherBirthName", "PatientAddress",
    "PatientTelephoneNumbers", "MedicalRecordLocator", "AccessionNumber", "PatientComments", "AdditionalPatientHistory",
    "MilitaryRank", "RegionOfResidence", "CountryOfResidence", "InstitutionAddress", "StudyID",
    "patient_name", "patient_id", "patient_birth_date", "birth_date",  # the loader's metadata of picture files
})
MIN_SHIFT_DAYS = 30
MAX_SHIFT_DAYS = 730
WITHHELD = "withheld"
_NAME_SPLIT = re.compile(r"[\s,^]+")


@dataclass(frozen=True)
class PatientIdentifiers:
    """Everything that identifies one patient: what de-identification removes and then checks for."""

    names: tuple[str, ...] = ()  # full names as written anywhere (record, DICOM header)
    ids: tuple[str, ...] = ()  # patient ID, note/encounter/DICOM IDs, MRNs
    birth_date: _dt.date | None = None
    places: tuple[str, ...] = ()  # address lines, city
    phones: tuple[str, ...] = ()
    extra: tuple[str, ...] = field(default=())  # any further free-text identifier

    @property
    def name_parts(self) -> tuple[str, ...]:
        """Each word of each name (two letters or more), so 'Sample' alone is also found; a
        double-barrelled name both whole and in halves ('Specimen-Smith', 'Specimen', 'Smith')."""
        words = {w for n in self.names for word in _NAME_SPLIT.split(n) for w in (word, *word.split("-")) if len(w) >= 2}
        return tuple(sorted(words | {n.strip() for n in self.names if n.strip()}, key=len, reverse=True))

    def merged(self, other: "PatientIdentifiers") -> "PatientIdentifiers":
        return PatientIdentifiers(
            names=_unique(self.names + other.names), ids=_unique(self.ids + other.ids),
            birth_date=self.birth_date or other.birth_date, places=_unique(self.places + other.places),
            phones=_unique(self.phones + other.phones), extra=_unique(self.extra + other.extra),
        )



class PatientRecordsView(Protocol):
    """What this policy reads from the records (:class:`medassist.records.schema.PatientRecords`).
    Structural, so privacy sits below records, whose patient list shows patients through it, with no
    import cycle."""

    def has_patient(self, patient_id: str) -> bool: ...

    def patient_row(self, patient_id: str) -> pd.Series: ...

    def for_patient(self, table: str, patient_id: str) -> pd.DataFrame: ...

    def display_name(self, patient_id: str) -> str: ...

def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(v).strip() for v in values if v is not None and str(v).strip()))


def _text(value: object) -> str:
    import pandas as pd  # here, not at the top: the window imports this module before pandas

    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value).strip()


def identifiers_of(records: PatientRecordsView, patient_id: str) -> PatientIdentifiers:
    """The patient's identifiers as the records hold them (name, IDs of notes and encounters, birth date, city)."""
    if not records.has_patient(patient_id):
        return PatientIdentifiers(ids=(patient_id,))
    import pandas as pd

    row = records.patient_row(patient_id)
    name = " ".join(p for p in (_text(row["given_name"]), _text(row["family_name"])) if p)
    ids = [patient_id]
    for table, column in (("notes", "note_id"), ("encounters", "encounter_id")):
        ids.extend(str(i) for i in records.for_patient(table, patient_id)[column].dropna())
    birth = row["birth_date"]
    return PatientIdentifiers(
        names=_unique((name,)), ids=_unique(tuple(ids)),
        birth_date=None if pd.isna(birth) else pd.Timestamp(birth).date(),
        places=_unique((_text(row["city"]),)),
    )


def dicom_element_withheld(keyword: str, vr: str) -> bool:
    """Whether presentation mode hides this DICOM element's value."""
    return vr == "PN" or keyword in IDENTIFYING_DICOM_KEYWORDS


def initials(name: str) -> str:
    """'Arthur Sample' or DICOM 'Sample^Arthur' -> 'A.S.'; '?' when there is no name."""
    parts = [p for p in _NAME_SPLIT.split(name.strip()) if p]
    if "^" in name:  # DICOM person names are family^given
        parts = parts[1:2] + parts[:1]
    return "".join(f"{p[0].upper()}." for p in parts[:2] if p[0].isalpha()) or "?"


def _digest(patient_id: str, purpose: str, salt: bytes) -> bytes:
    return hmac.new(salt, f"{purpose}:{patient_id}".encode(), hashlib.sha256).digest()


def pseudonym(patient_id: str, salt: bytes = SESSION_SALT) -> str:
    """'Subject 3F2A1C': the same for one patient all session, not reversible without the salt."""
    return f"Subject {_digest(patient_id, 'pseudonym', salt)[:3].hex().upper()}"


def date_shift_days(patient_id: str, salt: bytes = SESSION_SALT) -> int:
    """Days (negative, 30 to 730) every date of this patient moves by in a de-identified report."""
    span = MAX_SHIFT_DAYS - MIN_SHIFT_DAYS + 1
    return -(MIN_SHIFT_DAYS + int.from_bytes(_digest(patient_id, "date-shift", salt)[:4], "big") % span)


def patient_label(records: PatientRecordsView, patient_id: str | None, presenting: bool, with_id: bool = False) -> str:
    """How every view names the patient: 'Arthur Sample (DEMO-01)', or 'A.S. (Subject 3F2A1C)' when presenting."""
    if patient_id is None:
        return "No patient selected"
    known = records.has_patient(patient_id)
    if presenting:
        shown = initials(records.display_name(patient_id)) if known else "?"
        return f"{shown} ({pseudonym(patient_id)})" if with_id else shown
    name = records.display_name(patient_id) if known else patient_id
    return f"{name} ({patient_id})" if with_id and name != patient_id else name


def shown_text(records: PatientRecordsView, patient_id: str | None, text: str, presenting: bool) -> str:
    """Free text as a view may show it: unchanged normally; the patient's identifiers replaced when
    presenting (dates stay true on screen; only a de-identified report shifts them)."""
    if not presenting or not text or patient_id is None:
        return text
    from medassist.reporting.deidentify import Deidentifier

    return Deidentifier(identifiers_of(records, patient_id), patient_id=patient_id).redact(text)
