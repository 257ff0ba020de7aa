"""De-identified export: a copy of the report content with the patient's identifiers removed.

Removed: names (also inside comments, notes and attribution tokens), patient and other IDs,
birth date (age becomes a 5-year band, 90 and over pooled), address and location, facility
and clinician, image file names, and free-text identifiers (phone numbers, e-mail addresses,
long numbers, dates written out). Dates are all shifted by one random offset chosen per
export, so intervals between them stay true but the real dates cannot be read back.
The images are the windowed pixels only (the viewer's burned-in demographics never reach
a report); images whose DICOM header says text is burned into the pixels are left out.
"""

from __future__ import annotations

import copy
import datetime as _dt
import re
import secrets
from dataclasses import replace

from medassist.reporting.content import Attribution, DatedItem, ReportContent

MIN_SHIFT_DAYS = 30
MAX_SHIFT_DAYS = 730
NAME_TOKEN = "[name]"
ID_TOKEN = "[id]"
DATE_TOKEN = "[date]"
NOTE = (
    "De-identified export: names, identifiers, birth date, address, facility, clinician and free-text "
    "identifiers are removed; age is given as a 5-year band; all dates are shifted by the same random offset."
)

_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_GENERIC = [
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"(?<!\w)\+?\d[\d ().-]{7,}\d(?!\w)"), "[phone/number]"),
    (re.compile(r"\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b"), DATE_TOKEN),
    (re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS}\s*,?\s*\d{{4}}\b", re.I), DATE_TOKEN),
    (re.compile(rf"\b{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?\s*,?\s*\d{{4}}\b", re.I), DATE_TOKEN),
    (re.compile(r"\b\d{6,}\b"), ID_TOKEN),
]
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_BURNED_IN_KEYS = ("BurnedInAnnotation", "burned_in_annotation")


def age_band(age: str) -> str:
    """'47 years' -> '45-49 years'; 90 and older pooled (HIPAA Safe Harbor)."""
    try:
        years = int(float(age.split()[0]))
    except (ValueError, IndexError):
        return "unknown"
    if years >= 90:
        return "90 years or older"
    low = years - years % 5
    return f"{low}-{low + 4} years"


class Deidentifier:
    """Scrubs one patient's identifiers from text and shifts dates by a per-export offset."""

    def __init__(self, names: list[str], identifiers: list[str], birth_date: _dt.date | None,
                 shift_days: int | None = None) -> None:
        if shift_days is None:
            shift_days = -(MIN_SHIFT_DAYS + secrets.randbelow(MAX_SHIFT_DAYS - MIN_SHIFT_DAYS + 1))
        self.shift = _dt.timedelta(days=shift_days)
        self.pseudonym = f"Subject {secrets.token_hex(3).upper()}"
        words = {w for n in names for w in re.split(r"[\s,]+", n) if len(w) >= 2}
        self._names = self._alternation(sorted(words | {n for n in names if n}, key=len, reverse=True))
        self._ids = self._alternation(sorted({i for i in identifiers if i}, key=len, reverse=True))
        self._birth = [birth_date.isoformat(), birth_date.strftime("%d %B %Y"), birth_date.strftime("%B %d, %Y"),
                       birth_date.strftime("%m/%d/%Y"), birth_date.strftime("%d/%m/%Y")] if birth_date else []

    @staticmethod
    def _alternation(items: list[str]) -> re.Pattern[str] | None:
        if not items:
            return None
        return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(i) for i in items) + r")(?!\w)", re.I)

    def shift_date(self, value):
        return None if value is None else value + self.shift

    def _shift_iso(self, match: re.Match[str]) -> str:
        try:
            return (_dt.date(int(match[1]), int(match[2]), int(match[3])) + self.shift).isoformat()
        except ValueError:
            return DATE_TOKEN

    def scrub(self, text: str) -> str:
        """Text with the patient's names, IDs and birth date removed and other dates shifted."""
        if not text:
            return text
        for birth in self._birth:
            text = re.sub(re.escape(birth), DATE_TOKEN, text, flags=re.I)
        if self._ids is not None:
            text = self._ids.sub(ID_TOKEN, text)
        if self._names is not None:
            text = self._names.sub(NAME_TOKEN, text)
        shifted: list[str] = []

        def park(match: re.Match[str]) -> str:
            shifted.append(self._shift_iso(match))
            return f"\x00{len(shifted) - 1}\x00"

        text = _ISO_DATE.sub(park, text)  # shifted dates must not be taken for phone numbers below
        for pattern, token in _GENERIC:
            text = pattern.sub(token, text)
        return re.sub("\x00(\\d+)\x00", lambda m: shifted[int(m[1])], text)


def _burned_in(panel) -> bool:
    """The DICOM header (kept by the loader as ``metadata['dataset']``) says text is burned into the pixels."""
    metadata = panel.image.metadata
    dataset = metadata.get("dataset")
    flags = [metadata.get(k) for k in _BURNED_IN_KEYS] + [getattr(dataset, "BurnedInAnnotation", None)]
    return any(str(flag or "").strip().upper() == "YES" for flag in flags)


def deidentify(content: ReportContent, extra_identifiers: list[str] | None = None,
               shift_days: int | None = None) -> ReportContent:
    """A de-identified copy of ``content`` (the original is not changed)."""
    patient = content.patient
    names = ([patient.name] if patient.name != patient.patient_id else []) + patient.aliases
    ids = [patient.patient_id, *patient.record_ids, *(extra_identifiers or [])]
    tool = Deidentifier(names, ids, patient.birth_date, shift_days)
    out = copy.copy(content)
    out.deidentified = True
    out.deidentification_note = NOTE
    out.facility_name = "Facility withheld (de-identified export)"
    out.facility_address = ""
    out.clinician = ""
    out.generated = content.generated + tool.shift
    out.report_id = secrets.token_hex(6).upper()

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
    return out
