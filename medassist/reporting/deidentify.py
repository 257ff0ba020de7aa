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
The images are the windowed pixels only (the viewer's corner demographics never reach a
report), with text burned into the pixels found by OCR and blacked out (DICOM PS3.15 Annex E
Clean Pixel Data Option, :mod:`medassist.privacy.pixels`); each picture says how it was
cleaned, and a picture whose text cannot be checked is left out with a line saying why. The
images' headers are reduced by the Basic Application Level Confidentiality Profile
(:mod:`medassist.privacy.dicom`).
"""

from __future__ import annotations

import copy
from dataclasses import fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Iterator

from medassist.privacy import (
    SESSION_SALT,
    DeidentificationError,
    Deidentifier,
    PatientIdentifiers,
    age_band,
)
from medassist.privacy.dicom import PROFILE, RETAINED_OPTIONS, confidential_copy
from medassist.privacy.pixels import CLEANED, header_of
from medassist.reporting import content as _content
from medassist.reporting.content import Attribution, DatedItem, ImagePanel, PictureBlock, PictureRow, ReportContent

NOTE = (
    "De-identified export: names, identifiers, birth date, address, facility, clinician and free-text "
    "identifiers are removed; ages are given as 5-year bands; all dates are shifted by the same offset; "
    "text burned into the pictures is blacked out. Image headers: DICOM " + PROFILE + ", with the "
    + ", ".join(RETAINED_OPTIONS) + "."
)
# what a cleaned image keeps of the loader's metadata besides the de-identified header (how to show the pixels)
_SHOWN_METADATA = ("modality", "photometric", "photometric_stored", "windows", "voi_lut", "voi_lut_function",
                   "spacing_source", "frame_time_ms", "bits_allocated", "bits_stored", "pixel_representation",
                   "transfer_syntax", "transfer_syntax_uid", "manufacturer", "body_part", "view_position", "laterality")


def _age_years(age: str) -> int | None:
    try:
        return int(float(age.split()[0]))
    except (ValueError, IndexError):
        return None


def _cleaned_panel(panel: ImagePanel, number: int, tool: Deidentifier, salt: bytes) -> ImagePanel:
    """The panel as a de-identified report prints it: burned-in text blacked out (or the picture left out,
    saying why), the header through the confidentiality profile, and no file name or path."""
    image = panel.image
    key = (image.sha256 or id(image.frames), panel.frame)
    cleaned = CLEANED.clean(key, image.display_frame(panel.frame), header_of(image.metadata))
    metadata = {k: v for k, v in image.metadata.items() if k in _SHOWN_METADATA}
    dataset = image.metadata.get("dataset")
    if dataset is not None:
        metadata["dataset"] = confidential_copy(dataset, tool.shift.days, salt, pixels_cleaned=cleaned.pixels is not None)
    return replace(
        panel, label=f"Image {number}", image=replace(image, path=Path(f"image-{number}"), metadata=metadata),
        findings=[tool.scrub(f) for f in panel.findings], mismatch=tool.scrub(panel.mismatch) if panel.mismatch else None,
        study=tool.scrub(panel.study), omitted_reason=f"left out: {cleaned.problem}" if cleaned.problem else None,
        pixels=cleaned.pixels, cleaning=cleaned.describe(),
    )


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
    tool = Deidentifier(report_identifiers(content, extra_identifiers), patient.patient_id, salt, shift_days,
                        age_years=_age_years(patient.age))
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
    labels = {panel.label: f"Image {index}" for index, panel in enumerate(content.images, start=1)}
    out.images = [_cleaned_panel(panel, index, tool, salt) for index, panel in enumerate(content.images, start=1)]

    def source(label: str) -> str:
        return labels.get(label) or tool.scrub(label)

    out.findings = [replace(f, input_label=source(f.input_label), run_at=tool.shift_date(f.run_at), gate=tool.scrub(f.gate),
                            text=tool.scrub(f.text), study=tool.scrub(f.study), note=tool.scrub(f.note))
                    for f in content.findings]
    out.not_answered = [replace(n, input_label=source(n.input_label), run_at=tool.shift_date(n.run_at),
                                reason=tool.scrub(n.reason)) for n in content.not_answered]
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
    out.picture = None if content.picture is None else _deidentified_picture(content.picture, tool, age_band(patient.age))
    out = _redacted(out, tool)
    left = [f"{where} ({', '.join(kinds)})" for where, text in _texts(out, "") if (kinds := tool.survivors(text))]
    if left:
        raise DeidentificationError("an identifier of the patient is still in " + "; ".join(left[:5])
                                    + ": the de-identified report was not made", source="report")
    return out


def _deidentified_picture(block: PictureBlock, tool: Deidentifier, band: str) -> PictureBlock:
    """The clinical picture with identifiers removed and dates shifted (``scrub``), the patient's age
    as its 5-year band wherever it is written, and the criteria that state the age (PSI adds the
    age in years) given as the band instead of their points."""

    def clean(text: str) -> str:
        text = tool.scrub(text)
        return text.replace(block.age_text, band) if block.age_text else text

    scores = [replace(score, sentence=clean(score.sentence), items=[
        f"{line.split(': +', 1)[0]}: {band}" if index in score.age_items else clean(line) for index, line in enumerate(score.items)])
        for score in block.scores]
    return replace(block, rows=[PictureRow(r.label, band if r.label == "Age" else clean(r.text)) for r in block.rows],
                   care_setting=clean(block.care_setting), sepsis_signs=[clean(s) for s in block.sepsis_signs],
                   scores=scores, not_scored=[clean(n) for n in block.not_scored],
                   problems=[clean(p) for p in block.problems], facts=[clean(f) for f in block.facts],
                   flags=[clean(f) for f in block.flags], age_text=band)
