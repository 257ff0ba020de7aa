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
from functools import partial
from typing import TYPE_CHECKING, Protocol, TypeVar

from medassist.errors import MedAssistError

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

    return Deidentifier(identifiers_of(records, patient_id), patient_id=patient_id).redact(text)


# de-identification of free text: known identifiers as whole tokens, dates shifted, ages banded ----------
NAME_TOKEN = "[name]"
ID_TOKEN = "[id]"
DATE_TOKEN = "[date]"
PLACE_TOKEN = "[place]"
PHONE_TOKEN = "[phone]"
MIN_FREE_TEXT_ID_DIGITS = 4  # shorter all-digit IDs ("1", "42") are only removed from their own fields
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
# a token boundary that also refuses to split a number or version: "1" is not found in "v1.0.0" or "1.5"
_BEFORE = r"(?<![\w])(?<![\w][.,:/-])"
_AFTER = r"(?![\w])(?![.,:/-]\w)"
_GENERIC = [
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"(?<![\w.])\+?\d[\d ().-]{7,}\d(?![\w]|\.\d)"), "[phone/number]"),
    (re.compile(r"\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b"), DATE_TOKEN),
    (re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS}\s*,?\s*\d{{4}}\b", re.I), DATE_TOKEN),
    (re.compile(rf"\b{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?\s*,?\s*\d{{4}}\b", re.I), DATE_TOKEN),
    (re.compile(r"(?<![\w.])\d{6,}(?![\w]|\.\d)"), ID_TOKEN),
]
_When = TypeVar("_When", bound=_dt.date)  # a date or a datetime: shifting keeps the kind
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
# "58-year-old", "58 year old", "58 years old", "58 yo", "58 y/o", "58-yr-old", "aged 58", "age 58", "age: 58"
_AGE_AFTER = re.compile(r"\b(\d{1,3})(\s*-?\s*(?:years?|yrs?|y)\s*-?\s*old\b|\s*(?:yo|y/o|y\.o\.)(?![\w/]))", re.I)
_AGE_BEFORE = re.compile(r"\b(aged?\s*:?\s*)(\d{1,3})\b(?![.,]\d)", re.I)
_AGE_SEX = re.compile(r"\b(\d{1,3})([MF])\b")  # "65F", "58M" in clinical shorthand


class DeidentificationError(MedAssistError):
    """An identifier of the patient survived de-identification; the report is not written."""


def band(years: int) -> str:
    """58 -> '55-59'; 90 and older pooled as '90+' (HIPAA Safe Harbor)."""
    if years >= 90:
        return "90+"
    low = years - years % 5
    return f"{low}-{low + 4}"


def age_band(age: str) -> str:
    """'47 years' -> '45-49 years'; 90 and older pooled (HIPAA Safe Harbor)."""
    try:
        years = int(float(age.split()[0]))
    except (ValueError, IndexError):
        return "unknown"
    return "90 years or older" if years >= 90 else f"{band(years)} years"


def generalise_ages(text: str) -> str:
    """Ages written in free text become 5-year bands: '58-year-old' -> '55-59-year-old', 'aged 58' -> 'aged 55-59'."""
    text = _AGE_AFTER.sub(lambda m: band(int(m[1])) + m[2], text)
    text = _AGE_SEX.sub(lambda m: band(int(m[1])) + m[2], text)
    return _AGE_BEFORE.sub(lambda m: m[1] + band(int(m[2])), text)


def _words(items: tuple[str, ...] | list[str]) -> re.Pattern[str] | None:
    """One whole-token, case-insensitive pattern for all ``items`` (longest first)."""
    items = sorted({i for i in items if i}, key=len, reverse=True)
    if not items:
        return None
    return re.compile(_BEFORE + "(?:" + "|".join(re.escape(i) for i in items) + ")" + _AFTER, re.I)


def _free_text_id(identifier: str) -> bool:
    return not (identifier.isdigit() and len(identifier) < MIN_FREE_TEXT_ID_DIGITS)


def _ordinary_word(token: str, found: str) -> bool:
    """A single name part written all in lower case is the ordinary word ("a blood sample", "normal"),
    not the name: names are written capitalised or in capitals in records, headers and notes."""
    return token == NAME_TOKEN and found.islower() and " " not in found


def _token_unless_ordinary(token: str, match: re.Match[str]) -> str:
    return match[0] if _ordinary_word(token, match[0]) else token


def _birth_forms(birth: _dt.date | None) -> list[str]:
    if birth is None:
        return []
    return [birth.isoformat(), birth.strftime("%d %B %Y"), f"{birth.day} {birth:%B %Y}", birth.strftime("%B %d, %Y"),
            birth.strftime("%m/%d/%Y"), birth.strftime("%d/%m/%Y"), birth.strftime("%d.%m.%Y"), birth.strftime("%Y%m%d")]


class Deidentifier:
    """Scrubs one patient's identifiers from text and shifts dates by the patient's session offset."""

    def __init__(self, identifiers: PatientIdentifiers, patient_id: str, salt: bytes = SESSION_SALT,
                 shift_days: int | None = None) -> None:
        self.identifiers = identifiers
        self.shift = _dt.timedelta(days=date_shift_days(patient_id, salt) if shift_days is None else shift_days)
        self.pseudonym = pseudonym(patient_id, salt)
        self._patterns: list[tuple[str, re.Pattern[str] | None]] = [
            (DATE_TOKEN, _words(_birth_forms(identifiers.birth_date))),
            (PHONE_TOKEN, _words(identifiers.phones)),
            (ID_TOKEN, _words([i for i in identifiers.ids + identifiers.extra if _free_text_id(i)])),
            (PLACE_TOKEN, _words(identifiers.places)),
            (NAME_TOKEN, _words(identifiers.name_parts)),
        ]

    def shift_date(self, value: _When | None) -> _When | None:
        return None if value is None else value + self.shift

    def _shift_iso(self, match: re.Match[str]) -> str:
        try:
            return (_dt.date(int(match[1]), int(match[2]), int(match[3])) + self.shift).isoformat()
        except ValueError:
            return DATE_TOKEN

    def redact(self, text: str) -> str:
        """Only the patient's known identifiers replaced (whole tokens); nothing else changes."""
        for token, pattern in self._patterns:
            if pattern is not None and text:
                text = pattern.sub(partial(_token_unless_ordinary, token), text)
        return text

    def survivors(self, text: str) -> list[str]:
        """Kinds of the patient's identifiers still found in ``text`` (empty when clean)."""
        return [token.strip("[]") for token, pattern in self._patterns if pattern is not None and text
                and any(not _ordinary_word(token, m[0]) for m in pattern.finditer(text))]

    def scrub(self, text: str) -> str:
        """Text with the patient's identifiers removed, ages banded and other dates shifted."""
        if not text:
            return text
        text = generalise_ages(self.redact(text))
        shifted: list[str] = []

        def park(match: re.Match[str]) -> str:
            shifted.append(self._shift_iso(match))
            return f"\x00{len(shifted) - 1}\x00"

        text = _ISO_DATE.sub(park, text)  # shifted dates must not be taken for phone numbers below
        for pattern, token in _GENERIC:
            text = pattern.sub(token, text)
        return re.sub("\x00(\\d+)\x00", lambda m: shifted[int(m[1])], text)
