"""What goes into a report, gathered from the session as plain data before any layout.

Separating content from layout lets de-identification work on one small structure
(:mod:`medassist.reporting.deidentify`) and lets tests check what a report says without a PDF.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from medassist import DECISION_SUPPORT_NOTICE, __version__
from medassist.imaging.image import MedicalImage
from medassist.inference.card import ModelCard
from medassist.domain.prediction import Explanation, Prediction, linked_image
from medassist.domain.tasks import Task
from medassist.clinical.films import dicom_date
from medassist.clinical.ranges import flagged_values
from medassist.domain.clinical import ClinicalPicture
from medassist.domain.findings import FindingStatus, listed_findings
from medassist.domain.result_text import (
    attributions_withheld,
    faithfulness_text,
    film_identity_text,
    finding_value_text,
    gate_text,
    refusal_text,
    result_sentence,
    share_lines,
    study_text,
)
from medassist.domain.treatment_text import detail_lines, report_group, report_notes
from medassist.domain.result_text import (age_text, care_setting_text, fact_line, flag_line, picture_rows,
                                          problem_line, score_item_line, score_sentence)
from medassist.records import summary
from medassist.session import Session
from medassist.settings import Settings

TOP_ATTRIBUTIONS = 8
STATUS_WORDS = {"accepted": "Accepted", "rejected": "Rejected", "modified": "Accepted with changes", "pending": "Not decided"}


@dataclass
class DatedItem:
    text: str
    date: _dt.date | None = None


@dataclass
class PatientBlock:
    name: str
    patient_id: str
    birth_date: _dt.date | None
    age: str
    sex: str
    location: str
    problems: list[DatedItem] = field(default_factory=list)
    medications: list[DatedItem] = field(default_factory=list)
    allergies: list[DatedItem] = field(default_factory=list)
    record_ids: list[str] = field(default_factory=list)  # note, encounter and DICOM IDs: removed when de-identifying
    aliases: list[str] = field(default_factory=list)  # the name as image headers spell it: removed when de-identifying


@dataclass
class FindingRow:
    """One finding of one model run, as :mod:`medassist.domain.findings` decides it and
    :mod:`medassist.domain.result_text` words it."""

    model: str
    version: str
    input_label: str
    run_at: _dt.datetime | None
    label: str  # the finding's clinical name
    status: str  # a FindingStatus value
    counts_now: bool  # suggested for the patient now (the only rows printed in red)
    text: str  # the finding's value in words ("suggested from the note: “...” (model score 6.8%)")
    score: float
    threshold: float | None  # None for a note's finding (its sentence decides)
    study: str  # "study of 2026-12-07", "prior study (2004-08-26)", "study date unknown"; "" for notes and records
    gate: str
    note: str = ""  # the finding's subtype split, as a share or why it is not shown
    review: str = ""  # "confirmed" | "rejected" by the clinician, "" when not reviewed


@dataclass
class NotAnsweredRow:
    """A model run that gave no answer (refused by its input gate, or no output): one line, after the findings."""

    model: str
    version: str
    input_label: str
    run_at: _dt.datetime | None
    reason: str


@dataclass
class ReviewRow:
    """A finding the clinician confirmed or rejected, with the note they wrote."""

    finding: str
    status: str
    note: str
    model: str


@dataclass
class ImagePanel:
    """An analysed image: the plain frame and one overlay per saliency map."""

    label: str
    image: MedicalImage
    frame: int
    findings: list[str]
    overlays: list[Explanation] = field(default_factory=list)
    omitted_reason: str | None = None
    mismatch: str | None = None  # why the image may not be this patient's (result_text.film_identity_text)
    study: str = ""  # "study of 2026-12-07", "prior study (2004-08-26)", "study date unknown"
    pixels: np.ndarray | None = None  # the frame as printed when it differs from the file's (burned-in text blacked out)
    cleaning: str = ""  # how the picture was cleaned, said under it


@dataclass
class ExplanationRow:
    model: str
    input_label: str
    method: str
    target: str
    faithfulness: str


@dataclass
class Attribution:
    label: str
    value: str
    score: float


@dataclass
class AttributionBlock:
    """A record-based result (notes or structured data) with what drove it."""

    model: str
    version: str
    input_label: str
    summary: str
    method: str
    target: str
    kind: str
    rows: list[Attribution]
    missing_inputs: list[str]
    faithfulness: str
    withheld: str | None = None  # why no attributions are shown (answer too close to the baseline)


@dataclass
class TreatmentRow:
    label: str
    status: str
    comment: str
    detail: str = ""  # from the recommender: condition, ordering parts, exclusion reasons, safety warnings
    group: str = ""  # the condition it treats and its place in the plan (this visit / other active problem)


@dataclass
class ModelRow:
    name: str
    title: str
    version: str
    weights_sha256: str
    device: str
    intended_use: str
    limitations: list[str]


# -- the clinical picture and its scores (section "Clinical picture and scores", after the findings) --
@dataclass
class PictureRow:
    label: str
    text: str


@dataclass
class ScoreBlock:
    """One score as the report prints it: its sentence, one line per criterion, its citation."""

    name: str
    sentence: str
    level: str  # low | moderate | high | unknown
    items: list[str]
    citation: str
    age_items: list[int] = field(default_factory=list)  # lines that state the patient's age (banded when de-identified)


@dataclass
class PictureBlock:
    """The patient's clinical picture as plain text (:func:`picture_block`), every sentence from result_text."""

    rows: list[PictureRow]
    care_setting: str
    sepsis_signs: list[str]
    scores: list[ScoreBlock]
    not_scored: list[str]
    problems: list[str]
    facts: list[str]
    age_text: str  # the patient's age as written in the rows and items ("83 years"): a band when de-identified
    flags: list[str] = field(default_factory=list)  # latest values outside the range for the patient's age and sex


@dataclass
class ReportContent:
    facility_name: str
    facility_address: str
    clinician: str
    generated: _dt.datetime
    patient: PatientBlock
    findings: list[FindingRow] = field(default_factory=list)
    not_answered: list[NotAnsweredRow] = field(default_factory=list)
    images: list[ImagePanel] = field(default_factory=list)
    explanations: list[ExplanationRow] = field(default_factory=list)
    attributions: list[AttributionBlock] = field(default_factory=list)
    confirmed_findings: list[str] = field(default_factory=list)
    reviews: list[ReviewRow] = field(default_factory=list)
    clinician_notes: str = ""
    treatments: list[TreatmentRow] = field(default_factory=list)
    treatment_notes: list[str] = field(default_factory=list)  # ordering rule, interaction table, sepsis alerts
    models: list[ModelRow] = field(default_factory=list)
    picture: PictureBlock | None = None  # the clinical picture and scores, when the caller computed it
    demo: bool = False
    deidentified: bool = False
    deidentification_note: str = ""
    report_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12].upper())
    medassist_version: str = __version__
    notice: str = DECISION_SUPPORT_NOTICE

    @property
    def embedded_image_count(self) -> int:
        """Pictures the PDF embeds: each shown image plus each of its overlays."""
        return sum(1 + len(p.overlays) for p in self.images if p.omitted_reason is None)


# ---------------------------------------------------------------------------------------------


def _date(value: Any) -> _dt.date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _created(prediction: Prediction) -> _dt.datetime | None:
    try:
        return _dt.datetime.fromisoformat(prediction.created)
    except (TypeError, ValueError):
        return None


def _source_label(prediction: Prediction) -> str:
    if prediction.task == Task.IMAGE or "/" in prediction.source or "\\" in prediction.source:
        return Path(prediction.source).name or prediction.source
    return prediction.source or "patient record"


def _patient_block(session: Session, patient_id: str, on: pd.Timestamp) -> PatientBlock:
    records = session.records
    if not records.has_patient(patient_id):
        return PatientBlock(patient_id, patient_id, None, "unknown", "unknown", "")
    row = records.patient_row(patient_id)
    age = summary.age_years(records, patient_id, on=on)
    location = ", ".join(str(row[c]) for c in ("city", "state", "country") if pd.notna(row[c]) and str(row[c]))
    return PatientBlock(
        name=records.display_name(patient_id),
        patient_id=patient_id,
        birth_date=_date(row["birth_date"]),
        age=f"{int(age)} years" if age is not None else "unknown",
        sex=str(row["sex"]) if pd.notna(row["sex"]) else "unknown",
        location=location,
        problems=[DatedItem(str(r.description), _date(r.onset)) for r in summary.active_conditions(records, patient_id).itertuples()],
        medications=[DatedItem(str(r.description), _date(r.start)) for r in summary.current_medications(records, patient_id).itertuples()],
        allergies=[DatedItem(str(r.description), _date(r.start)) for r in summary.active_allergies(records, patient_id).itertuples()],
        record_ids=sorted({str(i) for table, column in (("notes", "note_id"), ("encounters", "encounter_id"))
                           for i in records.for_patient(table, patient_id)[column].dropna()}),
    )


_STATUS_ORDER = {FindingStatus.SUGGESTED: 0, FindingStatus.PRIOR: 1, FindingStatus.WITHHELD: 2, FindingStatus.NOT_SUGGESTED: 3}


def _finding_rows(prediction: Prediction, title: str) -> list[FindingRow]:
    """The result's findings (for a note, the ones it affirms or scores high without a sentence); none when refused."""
    if refusal_text(prediction) is not None:
        return []
    gate = gate_text(prediction.gate) if prediction.gate is not None else "no input gate"
    if prediction.missing_inputs:
        gate += "; missing inputs: " + ", ".join(prediction.missing_inputs)
    film = prediction.film
    if film is not None and (identity := film_identity_text(film)):
        gate = f"{identity} {gate}"
    note = "; ".join(share_lines(prediction))
    rows = [
        FindingRow(model=title, version=prediction.version, input_label=_source_label(prediction),
                   run_at=_created(prediction), label=f.name, status=str(f.status), counts_now=f.counts_now,
                   text=finding_value_text(f), score=f.score, threshold=f.threshold,
                   study=study_text(film) if film is not None else "", gate=gate, note=note)
        for f in listed_findings(prediction)
    ]
    notice = prediction.population_notice
    if notice is not None and rows:  # once per run, on its first output
        rows[0].gate += f"; OUTSIDE THE VALIDATED POPULATION: {notice.message} {notice.headline()}"
    return rows


def _not_answered(prediction: Prediction, title: str) -> NotAnsweredRow | None:
    reason = refusal_text(prediction)
    if reason is None:
        return None
    return NotAnsweredRow(title, prediction.version, _source_label(prediction), _created(prediction), reason)


def _result_summary(prediction: Prediction) -> str:
    return result_sentence(prediction)


def _header_study(image: MedicalImage) -> str:
    """An image not analysed for the patient: its header's study date as written."""
    study = dicom_date(image.metadata.get("study_date"))
    return f"study of {study.isoformat()}" if study else "study date unknown"


def _attribution_rows(explanation: Explanation) -> list[Attribution]:
    values = [float(v) for v in explanation.values.reshape(-1)]
    labels = explanation.labels or [str(i) for i in range(len(values))]
    inputs = explanation.inputs or {}
    if explanation.kind == "feature_scores":  # clinical names and values with units, known inputs only
        names, shown = explanation.extra.get("descriptions", {}), explanation.extra.get("inputs_shown", {})
        known = sorted((i for i, label in enumerate(labels) if inputs.get(label) is not None), key=lambda i: -abs(values[i]))
        return [Attribution(names.get(labels[i], labels[i]), shown.get(labels[i], str(inputs[labels[i]])), values[i])
                for i in known[:TOP_ATTRIBUTIONS]]
    ranked: list[Attribution] = []
    seen: set[str] = set()
    for index in sorted(range(len(values)), key=lambda i: -abs(values[i])):
        label = str(labels[index]) if index < len(labels) else str(index)
        if explanation.kind == "token_scores" and label.lower() in seen:
            continue
        seen.add(label.lower())
        value = inputs.get(label, "")
        ranked.append(Attribution(label, value if isinstance(value, str) else f"{value:.4g}" if isinstance(value, (int, float)) else str(value), values[index]))
        if len(ranked) == TOP_ATTRIBUTIONS:
            break
    return ranked


def _treatment_notes(decisions: list[Any]) -> list[str]:
    """Said once above the options: the plan's setting, alerts, scores, ordering rule and tables (latest plan)."""
    details = [d.detail for d in decisions if d.detail.get("knowledge_version")]
    if not details:
        return []
    return report_notes(max(details, key=lambda d: str(d.get("plan_generated_at", ""))))


def picture_block(picture: ClinicalPicture) -> PictureBlock:
    """The clinical picture's values, scores, care setting and sepsis signs in the report's words."""
    age = "" if picture.age is None else age_text(picture.age.years)
    scores = [ScoreBlock(score.name, score_sentence(score), score.level,
                         [score_item_line(i, bool(score.stage)) for i in score.items], score.citation,
                         [n for n, i in enumerate(score.items) if age and i.value.startswith(age)])
              for score in picture.scores.values()]
    return PictureBlock(
        rows=[PictureRow(label, text) for label, text in picture_rows(picture)],
        care_setting=care_setting_text(picture.care_setting), sepsis_signs=list(picture.sepsis_signs), scores=scores,
        not_scored=[f"{name} not computed: {why}" for name, why in picture.not_scored.items()],
        problems=[problem_line(p) for p in picture.problems],
        facts=[fact_line(name, fact) for name, fact in picture.facts.items()], age_text=age,
        flags=[flag_line(r.flag, r.description, r.value, r.reference.low, r.reference.high, r.reference.source)
               for r in flagged_values(picture) if r.flag and r.reference is not None],
    )


def collect_report(
    session: Session,
    patient_id: str,
    settings: Settings,
    cards: Mapping[str, ModelCard],
    now: _dt.datetime | None = None,
    picture: ClinicalPicture | None = None,
) -> ReportContent:
    """Everything the report says about ``patient_id``, read from the session (GUI thread or headless);
    ``settings`` name the facility and clinician, ``cards`` (the catalogue's, ``ModelRegistry.cards``)
    describe the models a result was made with, and ``picture``
    (:func:`medassist.app.picture.clinical_picture`) adds the clinical picture and scores."""
    now = now or _dt.datetime.now().replace(microsecond=0)
    state = session.snapshot()
    images = state.images.get(patient_id, [])
    predictions = state.predictions.get(patient_id, [])
    decisions = list(state.decisions.get(patient_id, {}).values())
    notes = state.clinician_notes.get(patient_id, "")
    confirmed = state.confirmed_findings.get(patient_id, [])
    reviews = list(state.finding_reviews.get(patient_id, {}).values())

    def card_for(prediction: Prediction) -> ModelCard | None:
        card = cards.get(prediction.model)
        return card if card is not None and card.version == prediction.version else None

    def title(prediction: Prediction) -> str:
        card = card_for(prediction)
        return card.title if card else prediction.model

    patient = _patient_block(session, patient_id, pd.Timestamp(now))
    for image in images:
        dicom_name, dicom_id = image.metadata.get("patient_name"), image.metadata.get("patient_id")
        if dicom_name and dicom_name not in patient.aliases:
            patient.aliases.append(str(dicom_name))
        if dicom_id and dicom_id not in patient.record_ids:
            patient.record_ids.append(str(dicom_id))
    content = ReportContent(
        facility_name=settings.facility_name,
        facility_address=settings.facility_address,
        clinician=session.clinician_name or settings.clinician_name,
        generated=now,
        patient=patient,
        clinician_notes=notes,
        confirmed_findings=confirmed,
        reviews=[ReviewRow(r.finding, r.status, r.note, r.model) for r in reviews],
        demo=session.demo,
        picture=None if picture is None else picture_block(picture),
    )
    verdicts = {r.finding: r.status for r in reviews}
    for prediction in predictions:
        content.findings.extend(replace(row, review=verdicts.get(row.label, ""))
                                for row in _finding_rows(prediction, title(prediction)))
        if (unanswered := _not_answered(prediction, title(prediction))) is not None:
            content.not_answered.append(unanswered)
        for explanation in prediction.explanations:
            if explanation.kind == "image_map":
                content.explanations.append(
                    ExplanationRow(title(prediction), _source_label(prediction), explanation.method, explanation.target,
                                   faithfulness_text(explanation.faithfulness))
                )
            elif not prediction.refused:
                withheld = attributions_withheld(explanation) if explanation.kind == "feature_scores" else None
                content.attributions.append(
                    AttributionBlock(
                        model=title(prediction), version=prediction.version, input_label=_source_label(prediction),
                        summary=_result_summary(prediction), method=explanation.method, target=explanation.target,
                        kind=explanation.kind, rows=[] if withheld else _attribution_rows(explanation),
                        missing_inputs=list(prediction.missing_inputs),
                        faithfulness=faithfulness_text(explanation.faithfulness), withheld=withheld,
                    )
                )

    content.findings.sort(key=lambda row: _STATUS_ORDER[FindingStatus(row.status)])  # stable: run order within a status
    for image in images:
        links = [(p, found[1]) for p in predictions if p.task == Task.IMAGE and (found := linked_image(p, [image]))]
        linked = [p for p, _ in links]
        frame = links[0][1] if links else 0
        film = next((p.film for p in linked if p.film is not None), None)
        content.images.append(
            ImagePanel(
                label=image.path.name,
                image=image,
                frame=min(frame, image.n_frames - 1),
                findings=[f"{title(p)} {p.version}: {_result_summary(p)}" for p in linked] or ["not analysed by a model"],
                overlays=[e for p in linked if not p.refused for e in p.explanations if e.kind == "image_map"],
                mismatch=film_identity_text(film) if film is not None else None,
                study=study_text(film) if film is not None else _header_study(image),
            )
        )

    latest_plan = max((str(d.detail.get("plan_generated_at", "")) for d in decisions), default="")
    decisions.sort(key=lambda d: (d.detail.get("plan_generated_at", latest_plan) != latest_plan,
                                  *(d.detail.get("order") or (10_000, 10_000))))
    content.treatments = [
        TreatmentRow(d.label, "Excluded" if d.status == "pending" and d.detail.get("excluded") else STATUS_WORDS.get(d.status, d.status),
                     d.comment, "\n".join(detail_lines(d.detail)), report_group(d.detail, latest_plan)) for d in decisions
    ]
    content.treatment_notes = _treatment_notes(decisions)
    used: dict[tuple[str, str, str], ModelRow] = {}
    for prediction in predictions:
        key = (prediction.model, prediction.version, prediction.weights_sha256)
        if key in used:
            continue
        card = card_for(prediction)
        used[key] = ModelRow(
            name=prediction.model,
            title=title(prediction),
            version=prediction.version,
            weights_sha256=prediction.weights_sha256,
            device=prediction.device,
            intended_use=card.intended_use if card else "Model card not installed on this computer.",
            limitations=list(card.limitations) if card else [],
        )
    content.models = list(used.values())
    return content
