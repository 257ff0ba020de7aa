"""FHIR R4 records: a Bundle (``.json``), a single resource, a JSON array of resources, or
NDJSON (one resource per line, as bulk export writes it).

Each resource is validated on its own with ``fhir.resources`` (R4B models, the maintained
release closest to R4), so one bad entry is reported and skipped instead of losing the
bundle. A truncated JSON file keeps every complete entry before the cut. Read resources:
Patient, Condition, MedicationRequest, MedicationStatement, AllergyIntolerance, Observation
(components become one row each, as Synthea's CSV writes blood pressure), Encounter and
DocumentReference (inline text attachments become notes). Other resource types are ignored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from medassist.bounded import RECORDS_FILE, Deadline
from medassist.errors import InputError
from medassist.records.reading import FILE_COLUMN, WHERE_COLUMN, finish, read_text
from medassist.records.schema import ImportReport, PatientRecords

SYSTEMS = {
    "http://snomed.info/sct": "SNOMED-CT",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://loinc.org": "LOINC",
    "http://hl7.org/fhir/sid/icd-10": "ICD-10",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://hl7.org/fhir/sid/ndc": "NDC",
    "http://unitsofmeasure.org": "UCUM",
}
_PREFERRED_SYSTEMS = ("SNOMED-CT", "RxNorm", "LOINC", "ICD-10", "ICD-10-CM")
ENCOUNTER_CLASSES = {
    "AMB": "ambulatory", "EMER": "emergency", "IMP": "inpatient", "ACUTE": "inpatient", "NONAC": "inpatient",
    "OBSENC": "observation", "PRENC": "pre-admission", "SS": "short stay", "VR": "virtual", "HH": "home health",
    "FLD": "field",
}
READ_TYPES = (
    "Patient", "Condition", "MedicationRequest", "MedicationStatement", "AllergyIntolerance",
    "Observation", "Encounter", "DocumentReference",
)


@dataclass
class _Entry:
    """One resource as found in the file, with where it was (for the report)."""

    resource: Any
    where: str
    full_url: str = ""


@dataclass
class _Rows:
    file: str
    rows: dict[str, list[dict]] = field(default_factory=lambda: {t: [] for t in (
        "patients", "conditions", "medications", "allergies", "observations", "encounters", "notes")})

    def add(self, table: str, where: str, **values: Any) -> None:
        values[FILE_COLUMN] = self.file
        values[WHERE_COLUMN] = where
        values["source"] = self.file
        self.rows[table].append(values)


def is_fhir_json(path: Path) -> bool:
    """Whether a JSON file starts like a FHIR resource, bundle or array of resources."""
    with open(path, "rb") as handle:
        head = handle.read(65536).decode("utf-8", errors="replace")
    return '"resourceType"' in head


def read_fhir(paths: list[Path], report: ImportReport | None = None) -> PatientRecords:
    """Read FHIR JSON / NDJSON files into one :class:`PatientRecords`."""
    report = report if report is not None else ImportReport()
    tables: dict[str, list[dict]] = {}
    unreadable: list[InputError] = []
    for path in paths:
        report.files.append(str(path))
        deadline = RECORDS_FILE.deadline(path)
        try:
            entries = _ndjson_entries(path, report) if path.suffix.lower() in (".ndjson", ".jsonl") else _json_entries(path, report)
            rows = _Rows(path.name)
            _read_entries(entries, rows, report, deadline)
        except InputError as exc:
            unreadable.append(exc)
            report.add(path.name, "", f"{exc.reason}; file skipped", "error")
            continue
        for table, items in rows.rows.items():
            tables.setdefault(table, []).extend(items)
    if unreadable and len(unreadable) == len(paths):
        raise unreadable[0]
    frames = {table: pd.DataFrame(items) for table, items in tables.items() if items}
    return finish(frames, report)


# -- files -> entries -----------------------------------------------------------------------
def _json_entries(path: Path, report: ImportReport) -> list[_Entry]:
    text = read_text(path, report)
    try:
        document = json.loads(text)
    except (RecursionError, ValueError) as exc:
        if not isinstance(exc, json.JSONDecodeError):
            raise InputError(f"not readable JSON ({_json_limit(exc)})", path) from None
        salvaged = _salvage_bundle(text)
        if not salvaged:
            raise InputError(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", path) from None
        report.add(path.name, f"line {exc.lineno}",
                   f"JSON is truncated or malformed here ({exc.msg}); the {len(salvaged)} complete entries before it were read")
        return [_entry(item, f"entry {i + 1}") for i, item in enumerate(salvaged)]
    if isinstance(document, list):
        return [_Entry(item, f"item {i + 1}") for i, item in enumerate(document)]
    if not isinstance(document, dict) or "resourceType" not in document:
        raise InputError("JSON without a FHIR resourceType; not patient records", path)
    if document["resourceType"] == "Bundle":
        entries = document.get("entry") or []
        if not isinstance(entries, list):
            raise InputError("Bundle.entry is not a list", path)
        return [_entry(item, f"entry {i + 1}") for i, item in enumerate(entries)]
    return [_Entry(document, "resource")]


def _json_limit(exc: BaseException) -> str:
    """Which of Python's JSON reader limits a document hit (nesting depth, digits in an integer)."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return f"a number is too long: {str(exc).split(';')[0]}"


def _entry(item: Any, where: str) -> _Entry:
    if isinstance(item, dict) and "resource" in item:
        return _Entry(item["resource"], where, str(item.get("fullUrl") or ""))
    return _Entry(item, where)


def _salvage_bundle(text: str) -> list[Any]:
    """The complete entries of a bundle cut short (or broken) part-way through its entry list."""
    match = re.search(r'"entry"\s*:\s*\[', text)
    if not match:
        return []
    decoder = json.JSONDecoder()
    position = match.end()
    items: list[Any] = []
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text) or text[position] == "]":
            return items
        try:
            item, position = decoder.raw_decode(text, position)
        except (RecursionError, ValueError):  # JSONDecodeError, or a limit of Python's JSON reader
            return items
        items.append(item)


def _ndjson_entries(path: Path, report: ImportReport) -> list[_Entry]:
    entries = []
    for number, line in enumerate(read_text(path, report).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(_Entry(json.loads(line), f"line {number}"))
        except json.JSONDecodeError as exc:
            report.add(path.name, f"line {number}", f"not valid JSON ({exc.msg}); line skipped")
        except (RecursionError, ValueError) as exc:
            report.add(path.name, f"line {number}", f"not readable JSON ({_json_limit(exc)}); line skipped")
    if not entries and not report.problems:
        raise InputError("no FHIR resources found", path)
    return entries


# -- entries -> rows -------------------------------------------------------------------------
def _read_entries(entries: list[_Entry], rows: _Rows, report: ImportReport, deadline: Deadline) -> None:
    """Validate each entry as its FHIR model, then read the ones MedAssist uses; stops at the
    file's time budget (validating a resource is the slow step, about a millisecond each)."""
    from pydantic import ValidationError

    from fhir.resources.R4B import get_fhir_model_class

    resolved: list[tuple[_Entry, Any]] = []
    by_reference: dict[str, Any] = {}
    for entry in entries:
        deadline.check()
        resource = entry.resource
        if not isinstance(resource, dict):
            report.add(rows.file, entry.where, "entry has no resource object; skipped")
            continue
        kind = resource.get("resourceType")
        label = f"{entry.where} ({kind}/{resource.get('id', '?')})"
        if kind not in READ_TYPES and kind != "Medication":
            if not isinstance(kind, str):
                report.add(rows.file, entry.where, "resource without resourceType; skipped")
            continue
        try:
            # Any: each resourceType is its own class, and the readers below use its own fields
            model: Any = get_fhir_model_class(kind).model_validate(resource)
        except ValidationError as exc:
            first = exc.errors()[0]
            place = ".".join(str(p) for p in first.get("loc", ()))
            more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
            report.add(rows.file, label, f"invalid {kind}: {place}: {first.get('msg')}{more}; skipped")
            continue
        except (TypeError, KeyError, ValueError, AttributeError, RecursionError) as exc:
            # fhir.resources fails outside validation on some shapes (e.g. contained resources whose
            # resourceType is a number or an unknown type)
            report.add(rows.file, label, f"invalid {kind} ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); skipped")
            continue
        if entry.full_url:
            by_reference[entry.full_url] = model
        if model.id:
            by_reference[f"{kind}/{model.id}"] = model
        resolved.append((_Entry(model, label, entry.full_url), kind))
    context = _Context(by_reference)
    for entry, kind in resolved:
        reader = _READERS.get(kind)
        if reader is None:
            continue
        try:
            reader(entry.resource, entry.where, rows, report, context)
        except _Skip as skip:
            report.add(rows.file, entry.where, f"{skip}; skipped")
        except (TypeError, AttributeError, ValueError, IndexError) as exc:
            # FHIR models accept shapes the readers do not expect (e.g. null items in lists); one resource
            # is reported and skipped, the rest of the file is kept
            report.add(rows.file, entry.where, f"{kind} could not be read ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); skipped")


class _Skip(Exception):
    """A valid resource MedAssist cannot attach (no patient reference, ...)."""


@dataclass
class _Context:
    by_reference: dict[str, Any]

    def resolve(self, reference: Any) -> Any:
        ref = getattr(reference, "reference", None)
        return self.by_reference.get(ref) if ref else None

    def patient_id(self, reference: Any) -> str:
        ref = getattr(reference, "reference", None) or ""
        target = self.by_reference.get(ref)
        if target is not None and getattr(target, "id", None):
            return str(target.id)
        for prefix in ("urn:uuid:", "Patient/"):
            if ref.startswith(prefix):
                return ref[len(prefix):]
        if "|" in ref:
            return ref.rsplit("|", 1)[1]
        if not ref:
            raise _Skip("no patient reference")
        return ref.rsplit("/", 1)[-1]

    def reference_id(self, reference: Any) -> str:
        target = self.resolve(reference)
        if target is not None and getattr(target, "id", None):
            return str(target.id)
        ref = getattr(reference, "reference", None) or ""
        return ref.removeprefix("urn:uuid:").rsplit("/", 1)[-1]


def _coding(concept: Any) -> tuple[str, str, str]:
    """(code, system, description) of a CodeableConcept, preferring the clinical code systems."""
    if concept is None:
        return "", "", ""
    codings = list(getattr(concept, "coding", None) or [])
    codings.sort(key=lambda c: _PREFERRED_SYSTEMS.index(SYSTEMS.get(c.system or "", "")) if SYSTEMS.get(c.system or "") in _PREFERRED_SYSTEMS else 99)
    text = getattr(concept, "text", None) or ""
    if not codings:
        return "", "", text
    first = codings[0]
    system = SYSTEMS.get(first.system or "", first.system or "")
    return first.code or "", system, text or first.display or ""


def _when(value: Any) -> Any:
    """A FHIR date/dateTime (or a Period's start) as a timestamp; partial dates keep their precision."""
    if value is None:
        return pd.NaT
    if isinstance(value, datetime):
        stamp = pd.Timestamp(value)
        return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp
    if isinstance(value, date):
        return pd.Timestamp(value)
    return pd.to_datetime(str(value), errors="coerce", utc=True, format="ISO8601")


def _patient(model: Any, where: str, rows: _Rows, report: ImportReport, context: _Context) -> None:
    names = list(model.name or [])
    name = next((n for n in names if n.use == "official"), names[0] if names else None)
    race = ethnicity = ""
    for extension in model.extension or []:
        text = next((e.valueString for e in extension.extension or [] if e.url == "text"), "")
        if extension.url.endswith("us-core-race"):
            race = text
        elif extension.url.endswith("us-core-ethnicity"):
            ethnicity = text
    address = (model.address or [None])[0]
    rows.add(
        "patients", where,
        patient_id=str(model.id or ""),
        given_name=" ".join(g for g in name.given or [] if g) if name else "",
        family_name=(name.family or "") if name else "",
        birth_date=_when(model.birthDate),
        death_date=_when(model.deceasedDateTime),
        sex=model.gender or "unknown",
        race=race, ethnicity=ethnicity,
        city=getattr(address, "city", "") or "", state=getattr(address, "state", "") or "",
        country=getattr(address, "country", "") or "",
    )
    if not model.id:
        report.add(rows.file, where, "Patient without id; other resources cannot refer to it")


def _condition(model: Any, where: str, rows: _Rows, report: ImportReport, context: _Context) -> None:
    code, system, description = _coding(model.code)
    onset = model.onsetDateTime or (model.onsetPeriod.start if model.onsetPeriod else None) or model.recordedDate
    abatement = model.abatementDateTime or (model.abatementPeriod.end if model.abatementPeriod else None)
    rows.add(
        "conditions", where,
        patient_id=context.patient_id(model.subject), code=code, system=system, description=description,
        onset=_when(onset), abatement=_when(abatement),
        encounter_id=context.reference_id(model.encounter) if model.encounter else "",
    )


def _medication_concept(model: Any, context: _Context) -> tuple[str, str, str]:
    if model.medicationCodeableConcept is not None:
        return _coding(model.medicationCodeableConcept)
    target = context.resolve(model.medicationReference)
    if target is not None:
        return _coding(target.code)
    return "", "", getattr(model.medicationReference, "display", None) or ""


def _reason(model: Any, context: _Context) -> tuple[str, str]:
    for concept in model.reasonCode or []:
        code, _system, description = _coding(concept)
        return code, description
    for reference in model.reasonReference or []:
        target = context.resolve(reference)
        if target is not None and getattr(target, "code", None) is not None:
            code, _system, description = _coding(target.code)
            return code, description
    return "", ""


def _medication_request(model: Any, where: str, rows: _Rows, report: ImportReport, context: _Context) -> None:
    code, system, description = _medication_concept(model, context)
    validity = model.dispenseRequest.validityPeriod if model.dispenseRequest else None
    reason_code, reason_description = _reason(model, context)
    rows.add(
        "medications", where,
        patient_id=context.patient_id(model.subject), code=code, system=system, description=description,
        start=_when(model.authoredOn or (validity.start if validity else None)),
        stop=_when(validity.end if validity else None),
        reason_code=reason_code, reason_description=reason_description, status=model.status or "",
        encounter_id=context.reference_id(model.encounter) if model.encounter else "",
    )


def _medication_statement(model: Any, where: str, rows: _Rows, report: ImportReport, context: _Context) -> None:
    code, system, description = _medication_concept(model, context)
    period = model.effectivePeriod
    reason_code, reason_description = _reason(model, context)
    rows.add(
        "medications", where,
        patient_id=context.patient_id(model.subject), code=code, system=system, description=description,
        start=_when(model.effectiveDateTime or (period.start if period else None) or model.dateAsserted),
        stop=_when(period.end if period else None),
        reason_code=reason_code, reason_description=reason_description, status=model.status or "",
        encounter_id=context.reference_id(model.context) if model.context else "",
    )


def _allergy(model: Any, where: str, rows: _Rows, report: ImportReport, context: _Context) -> None:
    code, system, description = _coding(model.code)
    reactions, severities = [], []
    for reaction in model.reaction or []:
        for manifestation in reaction.manifestation or []:
            reactions.append(_coding(manifestation)[2])
        if reaction.severity:
            severities.append(reaction.severity)
    order = {"mild": 1, "moderate": 2, "severe": 3}
    severity = max(severities, key=lambda s: order.get(s, 0)) if severities else ""
    if not severity and model.criticality == "high":
        severity = "severe"
    status = _coding(model.clinicalStatus)[0]
    rows.add(
        "allergies", where,
        patient_id=context.patient_id(model.patient), code=code, system=system, description=description,
        category=(model.category or [""])[0], reaction="; ".join(r for r in reactions if r), severity=severity,
        start=_when(model.onsetDateTime or model.recordedDate),
        stop=_when(model.lastOccurrence) if status in ("inactive", "resolved") else pd.NaT,
    )


def _value(holder: Any) -> tuple[float | None, str, str]:
    """(number, text, unit) of an Observation or component value[x]."""
    quantity = getattr(holder, "valueQuantity", None)
    if quantity is not None:
        number = float(quantity.value) if quantity.value is not None else None
        return number, "", quantity.unit or quantity.code or ""
    if getattr(holder, "valueCodeableConcept", None) is not None:
        return None, _coding(holder.valueCodeableConcept)[2], ""
    for name in ("valueInteger", "valueDecimal"):
        if getattr(holder, name, None) is not None:
            return float(getattr(holder, name)), "", ""
    for name in ("valueString", "valueBoolean", "valueDateTime", "valueTime"):
        if getattr(holder, name, None) is not None:
            return None, str(getattr(holder, name)), ""
    return None, "", ""


def _observation(model: Any, where: str, rows: _Rows, report: ImportReport, context: _Context) -> None:
    patient_id = context.patient_id(model.subject)
    when = _when(model.effectiveDateTime or (model.effectivePeriod.start if model.effectivePeriod else None)
                 or model.effectiveInstant or model.issued)
    category = _coding((model.category or [None])[0])[0]
    encounter = context.reference_id(model.encounter) if model.encounter else ""
    parts = [(model.code, model)] if not model.component else [(c.code, c) for c in model.component]
    if model.component and _value(model) != (None, "", ""):
        parts.insert(0, (model.code, model))
    for concept, holder in parts:
        code, system, description = _coding(concept)
        number, text, unit = _value(holder)
        rows.add(
            "observations", where,
            patient_id=patient_id, date=when, code=code, system=system, description=description,
            value=number, value_text=text, unit=unit, category=category, encounter_id=encounter,
        )


def _encounter(model: Any, where: str, rows: _Rows, report: ImportReport, context: _Context) -> None:
    code, _system, description = _coding((model.type or [None])[0])
    reason_code, reason_description = _coding((model.reasonCode or [None])[0])[0::2]
    klass = model.class_fhir.code if model.class_fhir else ""
    rows.add(
        "encounters", where,
        encounter_id=str(model.id or ""), patient_id=context.patient_id(model.subject),
        start=_when(model.period.start if model.period else None), stop=_when(model.period.end if model.period else None),
        encounter_class=ENCOUNTER_CLASSES.get(klass or "", (klass or "").lower()), code=code, description=description,
        reason_code=reason_code, reason_description=reason_description,
    )


def _document(model: Any, where: str, rows: _Rows, report: ImportReport, context: _Context) -> None:
    patient_id = context.patient_id(model.subject)
    title = model.description or _coding(model.type)[2] or "Note"
    texts = []
    for content in model.content or []:
        attachment = content.attachment
        kind = (attachment.contentType or "text/plain").lower()
        if not kind.startswith("text/"):
            report.add(rows.file, where, f"note attachment of type {kind} is not text; not shown")
        elif attachment.data is None:
            where_to = f" ({attachment.url})" if attachment.url else ""
            report.add(rows.file, where, f"note attachment has no inline text{where_to}; not shown")
        else:
            data = attachment.data if isinstance(attachment.data, bytes) else str(attachment.data).encode()
            texts.append(_decode_note(data))
    if not texts:
        return
    rows.add(
        "notes", where,
        note_id=str(model.id or where), patient_id=patient_id, date=_when(model.date), title=title,
        text="\n\n".join(t.strip("\n") for t in texts),
    )


def _decode_note(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


_READERS: dict[str, Callable[[Any, str, _Rows, ImportReport, _Context], None]] = {
    "Patient": _patient,
    "Condition": _condition,
    "MedicationRequest": _medication_request,
    "MedicationStatement": _medication_statement,
    "AllergyIntolerance": _allergy,
    "Observation": _observation,
    "Encounter": _encounter,
    "DocumentReference": _document,
}


def fhir_files(folder: Path) -> list[Path]:
    """FHIR JSON / NDJSON files directly in ``folder``, in name order."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".json", ".ndjson", ".jsonl"))

