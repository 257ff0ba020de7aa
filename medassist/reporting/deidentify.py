"""De-identified export: a copy of the report content with the patient's identifiers removed.

Removed: names (also inside comments, notes and attribution tokens), patient and other IDs,
birth date (age becomes a 5-year band, 90 and over pooled, also where free text gives an age),
address and location, facility and clinician, image file names, and free-text identifiers
(phone numbers, e-mail addresses, long numbers, dates written out). Known identifiers are
replaced only as whole tokens, never inside a longer number or a version ("v1.0.0" stays);
an ID of one to three digits is replaced where it stands as a field but not in free text,
where it cannot be told from a rank, dose or code. Every date moves by one offset per patient
and session (:func:`medassist.privacy.date_shift_days`), so intervals stay true, the preview
and the export agree, and the real dates cannot be read back. Afterwards every text of the
copy is searched for each identifier of the patient; a survivor is redacted, and if one
still remains the export is refused (:class:`DeidentificationError`), never written.
The images are the windowed pixels only (the viewer's burned-in demographics never reach
a report); images whose DICOM header says text is burned into the pixels are left out.
"""

from __future__ import annotations

import copy
import datetime as _dt
import re
from dataclasses import fields, is_dataclass, replace
from functools import partial
from typing import Any, Iterator, TypeVar

from medassist.errors import MedAssistError
from medassist.privacy import SESSION_SALT, PatientIdentifiers, date_shift_days, pseudonym
from medassist.reporting import content as _content
from medassist.reporting.content import Attribution, DatedItem, ImagePanel, ReportContent

NAME_TOKEN = "[name]"
ID_TOKEN = "[id]"
DATE_TOKEN = "[date]"
PLACE_TOKEN = "[place]"
PHONE_TOKEN = "[phone]"
MIN_FREE_TEXT_ID_DIGITS = 4  # shorter all-digit IDs ("1", "42") are only removed from their own fields
NOTE = (
    "De-identified export: names, identifiers, birth date, address, facility, clinician and free-text "
    "identifiers are removed; ages are given as 5-year bands; all dates are shifted by the same offset."
)

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
_BURNED_IN_KEYS = ("BurnedInAnnotation", "burned_in_annotation")


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


def _burned_in(panel: ImagePanel) -> bool:
    """The DICOM header (kept by the loader as ``metadata['dataset']``) says text is burned into the pixels."""
    metadata = panel.image.metadata
    dataset = metadata.get("dataset")
    flags = [metadata.get(k) for k in _BURNED_IN_KEYS] + [getattr(dataset, "BurnedInAnnotation", None)]
    return any(str(flag or "").strip().upper() == "YES" for flag in flags)


def report_identifiers(content: ReportContent, extra_identifiers: list[str] | None = None) -> PatientIdentifiers:
    """Every identifier of the report's patient: record name and IDs, names and IDs from image headers, city."""
    patient = content.patient
    names = ([patient.name] if patient.name != patient.patient_id else []) + patient.aliases
    city = patient.location.split(",")[0].strip()
    return PatientIdentifiers(
        names=tuple(names), ids=(patient.patient_id, *patient.record_ids), birth_date=patient.birth_date,
        places=(city,) if city else (), extra=tuple(extra_identifiers or ()),
    )


def _texts(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """(where, text) for every string inside the report's own dataclasses and lists."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _texts(item, f"{where}[{index}]")
    elif is_dataclass(value) and type(value).__module__ == _content.__name__:
        for f in fields(value):
            yield from _texts(getattr(value, f.name), f"{where}.{f.name}" if where else f.name)


def _redacted(value: Any, tool: Deidentifier) -> Any:
    """A copy with the patient's identifiers redacted in every string (a second net behind the field rules)."""
    if isinstance(value, str):
        return tool.redact(value)
    if isinstance(value, list):
        return [_redacted(item, tool) for item in value]
    if is_dataclass(value) and type(value).__module__ == _content.__name__:
        copied = copy.copy(value)
        for f in fields(value):
            setattr(copied, f.name, _redacted(getattr(value, f.name), tool))
        return copied
    return value


def deidentify(content: ReportContent, extra_identifiers: list[str] | None = None, salt: bytes = SESSION_SALT,
               shift_days: int | None = None) -> ReportContent:
    """A de-identified copy of ``content`` (the original is not changed); fails closed.

    The pseudonym and date offset depend only on the patient and ``salt`` (one per session), and
    the report ID and time are kept from ``content``, so the same content de-identifies to the
    same report every time.
    """
    patient = content.patient
    tool = Deidentifier(report_identifiers(content, extra_identifiers), patient.patient_id, salt, shift_days)
    out = copy.copy(content)
    out.deidentified = True
    out.deidentification_note = NOTE
    out.facility_name = "Facility withheld (de-identified export)"
    out.facility_address = ""
    out.clinician = ""
    out.generated = content.generated + tool.shift

    def items(values: list[DatedItem]) -> list[DatedItem]:
        return [DatedItem(tool.scrub(v.text), tool.shift_date(v.date)) for v in values]

    out.patient = replace(
        patient, name=tool.pseudonym, patient_id="withheld", birth_date=None, age=age_band(patient.age),
        location="", problems=items(patient.problems), medications=items(patient.medications),
        allergies=items(patient.allergies), record_ids=[], aliases=[],
    )
    labels: dict[str, str] = {}
    out.images = []
    for index, panel in enumerate(content.images, start=1):
        labels[panel.label] = f"Image {index}"
        out.images.append(replace(
            panel, label=f"Image {index}", findings=[tool.scrub(f) for f in panel.findings],
            mismatch=tool.scrub(panel.mismatch) if panel.mismatch else None,
            omitted_reason="left out: the file says demographics are burned into the pixels" if _burned_in(panel) else None,
        ))

    def source(label: str) -> str:
        return labels.get(label) or tool.scrub(label)

    out.findings = [replace(f, input_label=source(f.input_label), run_at=tool.shift_date(f.run_at), gate=tool.scrub(f.gate))
                    for f in content.findings]
    out.explanations = [replace(e, input_label=source(e.input_label)) for e in content.explanations]
    out.attributions = [
        replace(a, input_label=source(a.input_label), summary=tool.scrub(a.summary),
                rows=[Attribution(tool.scrub(r.label), age_band(r.value if r.value.endswith("years") else f"{r.value} years") if r.label.lower() == "age" else tool.scrub(r.value), r.score)
                      for r in a.rows])
        for a in content.attributions
    ]
    out.confirmed_findings = [tool.scrub(f) for f in content.confirmed_findings]
    out.reviews = [replace(r, note=tool.scrub(r.note)) for r in content.reviews]
    out.clinician_notes = tool.scrub(content.clinician_notes)
    out.treatments = [replace(t, label=tool.scrub(t.label), comment=tool.scrub(t.comment), detail=tool.scrub(t.detail),
                              group=tool.scrub(t.group)) for t in content.treatments]
    out.treatment_notes = [tool.scrub(note) for note in content.treatment_notes]  # sepsis alerts carry lab dates
    out = _redacted(out, tool)
    left = [f"{where} ({', '.join(kinds)})" for where, text in _texts(out, "") if (kinds := tool.survivors(text))]
    if left:
        raise DeidentificationError("an identifier of the patient is still in " + "; ".join(left[:5])
                                    + ": the de-identified report was not made", source="report")
    return out
