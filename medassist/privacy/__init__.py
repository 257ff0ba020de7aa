"""How a patient may be named on screen and in a de-identified report: one policy for every view.

In presentation mode (a projector, a teaching round) every view shows the patient by a pseudonym,
never the name, initials, birth date, exact age, a true date, patient ID or an identifier inside
free text: views ask a :class:`ShownPolicy` for every label, text, date and age they show. A
de-identified report follows the same rules (:mod:`medassist.reporting.deidentify`), DICOM headers
the Basic Application Level Confidentiality Profile (:mod:`medassist.privacy.dicom`), and pixels
the Clean Pixel Data Option (:mod:`medassist.privacy.pixels`). The pseudonym and date shift are
derived from the patient ID and a salt drawn once per process, so the preview, the export and
every view agree for the whole session while the real ID cannot be read back from them.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import TYPE_CHECKING, Mapping, Protocol, TypeVar

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


def _digest(patient_id: str, purpose: str, salt: bytes) -> bytes:
    return hmac.new(salt, f"{purpose}:{patient_id}".encode(), hashlib.sha256).digest()


def pseudonym(patient_id: str, salt: bytes = SESSION_SALT) -> str:
    """'Subject 3F2A1C': the same for one patient all session, not reversible without the salt."""
    return f"Subject {_digest(patient_id, 'pseudonym', salt)[:3].hex().upper()}"


def date_shift_days(patient_id: str, salt: bytes = SESSION_SALT) -> int:
    """Days (negative, 30 to 730) every date of this patient moves by in a de-identified report."""
    span = MAX_SHIFT_DAYS - MIN_SHIFT_DAYS + 1
    return -(MIN_SHIFT_DAYS + int.from_bytes(_digest(patient_id, "date-shift", salt)[:4], "big") % span)


_FILE_NAME = re.compile(r"\.[A-Za-z0-9]{2,5}$")  # 'chest.dcm', 'IM_0001.jpeg'; a note or record source is no file


def _age_on(birth: _dt.date, on: _dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


@dataclass(frozen=True)
class ShownPolicy:
    """What every view may show of one patient. Normally everything; when presenting (a projector, a
    teaching round) nothing that identifies: the pseudonym and never initials, ages as 5-year bands,
    dates moved by the patient's offset (the one a de-identified report uses), free text scrubbed as
    in a de-identified report, DICOM headers through the Basic Application Level Confidentiality
    Profile and burned-in text masked (:mod:`medassist.privacy.pixels`). Views ask it; they never
    decide what to hide themselves."""

    records: PatientRecordsView
    patient_id: str | None
    presenting: bool
    salt: bytes = SESSION_SALT

    @cached_property
    def _tool(self) -> "Deidentifier":
        pid = self.patient_id or ""
        known = self.records.has_patient(pid)
        found = identifiers_of(self.records, pid) if known else PatientIdentifiers(ids=(pid,))
        age = _age_on(found.birth_date, _dt.date.today()) if found.birth_date else None
        return Deidentifier(found, pid, self.salt, age_years=age)

    def label(self, with_id: bool = False) -> str:
        """'Arthur Sample (DEMO-01)'; 'Subject 3F2A1C' when presenting."""
        pid = self.patient_id
        if pid is None:
            return "No patient selected"
        if self.presenting:
            return pseudonym(pid, self.salt)
        name = self.records.display_name(pid) if self.records.has_patient(pid) else pid
        return f"{name} ({pid})" if with_id and name != pid else name

    def text(self, text: str) -> str:
        """Free text (notes, titles, file names, header values) as it may be shown."""
        if not self.presenting or not text or self.patient_id is None:
            return text
        return self._tool.scrub(text)

    def date(self, value: _When | None) -> _When | None:
        """A date or time of this patient's record, moved by the patient's offset when presenting."""
        return self._tool.shift_date(value) if self.presenting and self.patient_id is not None else value

    def age(self, years: float | None) -> str:
        """'86 y'; '85-89 y' when presenting; '?' when unknown."""
        if years is None:
            return "?"
        return f"{band(int(years))} y" if self.presenting else f"{int(years)} y"

    def file_label(self, name: str) -> str:
        """A file's name ('chest_pa.dcm'); when presenting 'Image 3F2A', the same for one file all session
        (a file name may carry the patient's name or an accession number)."""
        if not self.presenting or not _FILE_NAME.search(name):
            return name
        return f"Image {hmac.new(self.salt, name.encode(), hashlib.sha256).hexdigest()[:4].upper()}"

    def image_text(self, text: str, metadata: Mapping[str, object]) -> str:
        """Text about an image (a film-mismatch warning) as it may be shown: also without the names, IDs and
        birth date its header gives, which may be another person's."""
        if not self.presenting or not text:
            return text
        header = PatientIdentifiers(
            names=_unique((str(metadata.get("patient_name") or ""),)), ids=_unique((str(metadata.get("patient_id") or ""),)))
        found = self._tool.identifiers.merged(header)
        return Deidentifier(found, self.patient_id or "", self.salt, age_years=self._tool.age_years).scrub(text)

    def dicom_date(self, value: str) -> str:
        """A DICOM date ('20040826') as it may be shown: moved by the patient's offset when presenting."""
        if not self.presenting or not value:
            return value
        shifted, parked = self._tool.shift_dates(value.strip())
        return _unpark(shifted, parked) if parked else WITHHELD

    def dicom(self, dataset: object) -> object:
        """A DICOM header as it may be shown: through the Basic Application Level Confidentiality Profile
        when presenting (:mod:`medassist.privacy.dicom`)."""
        if not self.presenting:
            return dataset
        from medassist.privacy.dicom import confidential_copy

        return confidential_copy(dataset, self.shift_days, self.salt)

    @property
    def shift_days(self) -> int:
        return self._tool.shift.days if self.presenting else 0


# de-identification of free text: known identifiers as whole tokens, dates shifted, ages banded ----------
NAME_TOKEN = "[name]"
ID_TOKEN = "[id]"
DATE_TOKEN = "[date]"
PLACE_TOKEN = "[place]"
PHONE_TOKEN = "[phone]"
MIN_FREE_TEXT_ID_DIGITS = 4  # shorter all-digit IDs ("1", "42") are only removed from their own fields
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                "november", "december")
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
# a token boundary that also refuses to split a number or version: "1" is not found in "v1.0.0" or "1.5"
_BEFORE = r"(?<![\w])(?<![\w][.,:/-])"
_AFTER = r"(?![\w])(?![.,:/-]\w)"
# not the upper end of a range: "aged 21-81", "1 to 5 years" are populations, not a patient's age
_NOT_RANGE_END = r"(?<!\d-)(?<!\d–)(?<!\d to )(?<!\d - )"
_NOT_RANGE_START = r"(?!\s*(?:-|–|to)\s*\d)(?!\s*\+)(?!\s*(?:and|or)\s+(?:over|older|above|under|younger))"
_PHONE_AFTER_WORD = re.compile(
    r"(\b(?:phone|tel|telephone|mobile|cell|fax|pager)\b\.?\s*(?:no\.?|number)?\s*[:#]?\s*)(\+?\d[\d ()/-]{4,}\d)", re.I)
_GENERIC = [
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    # international (+49 30 1234 5678) and North American ((555) 123-4567, 555-123-4567) phone numbers; numbers
    # after "phone", "tel", "fax" ... are taken above. Versions ("2026.12-1"), doses and codes are none of these.
    (re.compile(r"(?<![\w.+])\+\d{1,3}[ -]?\(?\d{1,4}\)?(?:[ -]?\d{2,4}){2,4}(?![\w]|[.,]\d)"), PHONE_TOKEN),
    (re.compile(r"(?<![\w.])\(\d{3}\)\s?\d{3}-\d{4}(?![\w-])|(?<![\w.-])\d{3}-\d{3}-\d{4}(?![\w-])"), PHONE_TOKEN),
    # numeric dates whose day and month cannot be told apart (03/04/2024): removed, not shifted
    (re.compile(r"(?<![\w./-])\d{1,2}/\d{1,2}/(?:\d{4}|\d{2})(?![\w/])|(?<![\w.-])\d{1,2}([.-])\d{1,2}\1\d{4}(?![\w.-])"),
     DATE_TOKEN),
    # long numbers are identifiers (record numbers, accession numbers), except codes named as such ("SNOMED 233604007")
    (re.compile(r"(?<!SNOMED )(?<!SNOMED: )(?<!SCTID )(?<!RxNorm )(?<!RXCUI )(?<![Cc]ode )(?<![\w.])\d{6,}(?![\w]|\.\d)"),
     ID_TOKEN),
]
_When = TypeVar("_When", bound=_dt.date)  # a date or a datetime: shifting keeps the kind
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_DICOM_DATE = re.compile(r"(?<![\w.])((?:19|20)\d{2})(\d{2})(\d{2})(?![\w]|\.\d)")  # 20040826
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(\s+)({_MONTHS})(\s*,?\s*)(\d{{4}})\b", re.I)
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTHS})(\s+)(\d{{1,2}})(?:st|nd|rd|th)?(\s*,?\s*)(\d{{4}})\b", re.I)
_DAY_MON_YY = re.compile(rf"\b(\d{{1,2}})-({_MONTHS})-(\d{{4}}|\d{{2}})\b", re.I)  # 24-MAY-02 (ultrasound, DICOM viewers)
_MONTH_YEAR = re.compile(rf"\b({_MONTHS})(\s+)(\d{{4}})\b", re.I)  # August 2004: a month is a date element too
# "58-year-old", "58 year old", "58 years old", "58 yo", "58 y/o", "58-yr-old", "aged 58", "age 58", "age: 58"
_AGE_AFTER = re.compile(
    rf"{_NOT_RANGE_END}\b(\d{{1,3}})(?:\.\d+)?(\s*-?\s*(?:years?|yrs?|y)\s*-?\s*old\b|\s*(?:yo|y/o|y\.o\.)(?![\w/]))", re.I)
_AGE_BEFORE = re.compile(rf"\b(aged?\s*:?\s*)(\d{{1,3}})(?:\.\d+)?\b{_NOT_RANGE_START}", re.I)
_AGE_SEX = re.compile(rf"{_NOT_RANGE_END}\b(\d{{1,3}})([MF])\b")  # "65F", "58M" in clinical shorthand
# "patient 64 years at the study", "patient 4 years 1 month": a patient's age however old the study (months dropped)
_MONTHS_AFTER = r"(?:\s+\d{1,2}\s+months?\b)?"
_AGE_OF_PATIENT = re.compile(rf"\b(patient\s+)(\d{{1,3}})(?:\.\d+)?(\s*(?:years?|yrs?|y)\b){_MONTHS_AFTER}", re.I)


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
    text = _AGE_OF_PATIENT.sub(lambda m: m[1] + band(int(m[2])) + m[3], text)
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


def _unpark(text: str, parked: list[str]) -> str:
    return re.sub("\x00(\\d+)\x00", lambda m: parked[int(m[1])], text)


def _month_like(original: str, month: int) -> str:
    """The month written as ``original`` writes one: 'August', 'Aug', 'AUG', 'aug.'."""
    name = _MONTH_NAMES[month - 1]
    bare = original.rstrip(".")
    name = name if len(bare) > 4 or bare.lower() == name else name[:len(bare)]
    name = name.upper() if bare.isupper() else name.lower() if bare.islower() else name.capitalize()
    return name + ("." if original.endswith(".") else "")


def _month_number(word: str) -> int:
    return next(i for i, name in enumerate(_MONTH_NAMES, start=1) if word.rstrip(".").lower()[:3] == name[:3])


class Deidentifier:
    """Scrubs one patient's identifiers from text and shifts dates by the patient's session offset."""

    def __init__(self, identifiers: PatientIdentifiers, patient_id: str, salt: bytes = SESSION_SALT,
                 shift_days: int | None = None, age_years: int | None = None) -> None:
        self.identifiers = identifiers
        self.age_years = age_years
        self.shift = _dt.timedelta(days=date_shift_days(patient_id, salt) if shift_days is None else shift_days)
        self.pseudonym = pseudonym(patient_id, salt)
        self._patterns: list[tuple[str, re.Pattern[str] | None]] = [
            (DATE_TOKEN, _words(_birth_forms(identifiers.birth_date))),
            (PHONE_TOKEN, _words(identifiers.phones)),
            (ID_TOKEN, _words([i for i in identifiers.ids + identifiers.extra if _free_text_id(i)])),
            (PLACE_TOKEN, _words(identifiers.places)),
            (NAME_TOKEN, _words(identifiers.name_parts)),
        ]
        # the patient's own age (and the year before, a note written before the birthday) with a unit: "86 years",
        # "86 y", "(female, 86 years)" is this patient's age, banded like every other age of the document
        ages = "|".join(str(a) for a in (age_years, (age_years or 0) - 1) if a is not None and a >= 0)
        self._own_age = re.compile(rf"{_NOT_RANGE_END}\b({ages})(?:\.\d+)?(\s*-?\s*(?:years?|yrs?|y)\b)"
                                   rf"{_NOT_RANGE_START}{_MONTHS_AFTER}", re.I) if ages else None

    def shift_date(self, value: _When | None) -> _When | None:
        return None if value is None else value + self.shift

    def _shifted(self, year: int, month: int, day: int) -> _dt.date | None:
        try:
            return _dt.date(year, month, day) + self.shift
        except ValueError:
            return None

    def shift_dates(self, text: str) -> tuple[str, list[str]]:
        """Dates written in ``text`` moved by the patient's offset, each in its own spelling ("2004-08-26",
        "20040826", "26 August 2004", "August 26, 2004", "24-MAY-02", "August 2004"); a date that is not a
        day of the calendar is removed. The shifted dates are parked as placeholders (returned) so that no
        later rule takes them for a number."""
        parked: list[str] = []

        def park(value: str | None) -> str:
            parked.append(value if value is not None else DATE_TOKEN)
            return f"\x00{len(parked) - 1}\x00"

        def iso(m: re.Match[str]) -> str:
            d = self._shifted(int(m[1]), int(m[2]), int(m[3]))
            return park(d.isoformat() if d else None)

        def dicom(m: re.Match[str]) -> str:
            d = self._shifted(int(m[1]), int(m[2]), int(m[3]))
            return park(d.strftime("%Y%m%d") if d else None) if d or 1 <= int(m[2]) <= 12 else m[0]

        def day_month_year(m: re.Match[str]) -> str:
            d = self._shifted(int(m[5]), _month_number(m[3]), int(m[1]))
            return park(f"{d.day}{m[2]}{_month_like(m[3], d.month)}{m[4]}{d.year}" if d else None)

        def month_day_year(m: re.Match[str]) -> str:
            d = self._shifted(int(m[5]), _month_number(m[1]), int(m[3]))
            return park(f"{_month_like(m[1], d.month)}{m[2]}{d.day}{m[4]}{d.year}" if d else None)

        def day_mon_yy(m: re.Match[str]) -> str:
            short = len(m[3]) == 2
            year = int(m[3]) + (2000 if short and int(m[3]) < 50 else 1900 if short else 0)
            d = self._shifted(year, _month_number(m[2]), int(m[1]))
            return park(f"{d.day:02d}-{_month_like(m[2], d.month)}-{d.year % 100:02d}" if d and short
                        else f"{d.day:02d}-{_month_like(m[2], d.month)}-{d.year}" if d else None)

        def month_year(m: re.Match[str]) -> str:
            d = self._shifted(int(m[3]), _month_number(m[1]), 15)  # the month's middle stands for the month
            return park(f"{_month_like(m[1], d.month)}{m[2]}{d.year}" if d else None)

        for pattern, shift in ((_ISO_DATE, iso), (_DICOM_DATE, dicom), (_DAY_MONTH_YEAR, day_month_year),
                               (_MONTH_DAY_YEAR, month_day_year), (_DAY_MON_YY, day_mon_yy), (_MONTH_YEAR, month_year)):
            text = pattern.sub(shift, text)
        return text, parked

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

    def band_ages(self, text: str) -> str:
        """Every age in ``text`` as a 5-year band, the patient's own age wherever it stands with a unit (a
        child's months dropped: "4 years 1 month" is "0-4 years")."""
        text = generalise_ages(text)
        return self._own_age.sub(lambda m: band(int(m[1])) + m[2], text) if self._own_age is not None else text

    def scrub(self, text: str) -> str:
        """Text with the patient's identifiers removed, ages banded and dates shifted; nothing else changes
        (versions such as "2026.12-1", doses, codes, thresholds and age ranges of populations stay)."""
        if not text:
            return text
        text, parked = self.shift_dates(self.band_ages(self.redact(text)))
        text = _PHONE_AFTER_WORD.sub(lambda m: m[1] + PHONE_TOKEN, text)
        for pattern, token in _GENERIC:
            text = pattern.sub(token, text)
        return _unpark(text, parked)
