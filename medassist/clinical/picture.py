"""Build a patient's :class:`ClinicalPicture` once, from the record, the notes' evidence and the
clinician's confirmed findings; every view and rule reads the result instead of the record.

The current episode starts at the latest encounter (else the day before the newest observation, see
:func:`episode_start`): vitals and labs from it are ``current_measures`` (what acute scores use); older values stay in ``measures`` with
their dates, for chronic decisions that say how old the value is. Bedside facts (confusion, oxygen,
nursing home...) come from the newest note of the episode that states them, or a coded problem
(``facts``). The scores (:mod:`.scores`), the care setting they suggest and the sepsis signs
(:mod:`.severity`) are computed last, from the picture itself.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import replace
from typing import Iterable

import pandas as pd

from medassist.clinical.concepts import ConceptTable, default_concepts
from medassist.clinical.renal import a_category, renal_function
from medassist.clinical.scores import score_picture
from medassist.clinical.severity import sepsis_signs, suggested_setting
from medassist.domain.clinical import (
    ActiveProblem,
    Age,
    CareSetting,
    CareSettingName,
    ClinicalPicture,
    EjectionFractionBand,
    EvidenceKind,
    Measurement,
    Medication,
    ProblemEvidence,
    RenalFunction,
    StatedFact,
)
from medassist.domain.prediction import Prediction
from medassist.domain.tasks import Task
from medassist.notes import facts
from medassist.notes.mentions import note_problems
from medassist.records import summary
from medassist.records.codes import MEASURES
from medassist.records.schema import PatientRecords
from medassist.records.units import normalize_unit

# "EF 30%", "LVEF of 25-30%", "ejection fraction estimated at 35 %": the lower number of a range counts.
_EF_IN_TEXT = re.compile(
    r"\b(?:LV ?EF|EF|ejection fraction)\b[^0-9%.;]{0,25}?(\d{1,2})(?:\s*(?:-|to)\s*\d{1,2})?\s*%", re.IGNORECASE)


def _day(value: object) -> _dt.date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _as_measurement(observed: summary.ObservedValue) -> Measurement:
    return Measurement(round(observed.value, 4), observed.unit, _day(observed.date), f"LOINC {observed.code}", observed.code)


def _measurement(records: PatientRecords, patient_id: str, measure: str) -> Measurement | None:
    observed = summary.latest_value(records, patient_id, measure)
    return None if observed is None else _as_measurement(observed)


def episode_start(records: PatientRecords, patient_id: str, on: _dt.date) -> _dt.date:
    """Start of the current episode: the latest encounter's start when the newest observation falls
    within that encounter (or a day after it ends); otherwise (no encounter, or observations from a
    contact the record does not list) the day before the newest observation, so one set of bedside
    values and labs taken across midnight stays together; with no observation at all, ``on``."""
    dates = records.for_patient("observations", patient_id)["date"].dropna()
    dates = dates[dates.dt.date <= on]
    newest = pd.Timestamp(dates.max()).date() if not dates.empty else None
    encounters = records.for_patient("encounters", patient_id)
    encounters = encounters[encounters["start"].notna() & (encounters["start"].dt.date <= on)]
    if not encounters.empty:
        latest = encounters.loc[encounters["start"].idxmax()]
        start = pd.Timestamp(latest["start"]).date()
        end = pd.Timestamp(latest["stop"]).date() if pd.notna(latest["stop"]) else start
        if newest is None or newest <= end + _dt.timedelta(days=1):
            return start
    return newest - _dt.timedelta(days=1) if newest is not None else on


def _weight(records: PatientRecords, patient_id: str, row: pd.Series) -> Measurement | None:
    if pd.notna(row["weight_kg"]):
        return Measurement(float(row["weight_kg"]), "kg", None, "patient record")
    return _measurement(records, patient_id, "body_weight")


def _pregnancy(records: PatientRecords, patient_id: str, row: pd.Series) -> tuple[bool | None, str]:
    flag = row.get("pregnant")
    if flag is not None and not pd.isna(flag):
        return bool(flag), "patient record"
    active = summary.active_conditions(records, patient_id)
    pregnant = active[active["description"].fillna("").str.contains(r"\bpregnan", case=False, regex=True)]
    if not pregnant.empty:
        return True, f"problem list: {pregnant.iloc[0]['description']}"
    return None, "not recorded"


def ejection_fraction(records: PatientRecords, patient_id: str) -> Measurement | None:
    """LVEF from the record (LOINC 10230-1, 18043-0, 8806-2, 18047-6), else the newest note that states it."""
    recorded = _measurement(records, patient_id, "lvef")
    notes = records.for_patient("notes", patient_id).sort_values("date", ascending=False, na_position="last")
    for note in notes.itertuples(index=False):
        match = _EF_IN_TEXT.search(str(note.text or ""))
        if match is None:
            continue
        when = _day(note.date)
        if recorded is not None and recorded.date is not None and (when is None or when <= recorded.date):
            break
        title = str(note.title) if pd.notna(note.title) and str(note.title) else "note"
        return Measurement(float(match.group(1)), "%", when, f"{title}: \u201c{match.group(0).strip()}\u201d")
    return recorded


# Heart-failure diagnoses that state the LVEF band (Universal definition of heart failure, Bozkurt et al. 2021:
# HFrEF 40% or less, HFmrEF 41-49%, HFpEF 50% or more), by SNOMED CT code or wording; mildly reduced is tried first.
_EF_BANDS: tuple[tuple[str, float, float, tuple[str, ...], re.Pattern[str]], ...] = (
    ("mildly reduced", 41.0, 49.0, (), re.compile(r"mildly reduced ejection fraction|mid-?range ejection fraction|\bHFm[rE]EF\b", re.I)),
    ("reduced", 0.0, 40.0, ("703272007",), re.compile(
        r"(?<!mildly )reduced ejection fraction|\bHFrEF\b|systolic (?:heart )?failure|\bLVSD\b|"
        r"left ventricular systolic dysfunction", re.I)),
    ("preserved", 50.0, 100.0, ("446221000",), re.compile(r"preserved ejection fraction|\bHFpEF\b|diastolic heart failure", re.I)),
)


def ejection_fraction_band(problems: list[ActiveProblem]) -> EjectionFractionBand | None:
    """The LVEF band the heart-failure diagnosis states (record entry or note), for when no LVEF is measured."""
    heart_failure = next((p for p in problems if p.concept == "heart_failure"), None)
    if heart_failure is None:
        return None
    for name, low, high, codes, words in _EF_BANDS:
        for evidence in heart_failure.evidence:
            if words.search(evidence.text) or any(code in evidence.detail.split() for code in codes):
                where = ", ".join(part for part in (evidence.detail, evidence.date.isoformat() if evidence.date else "") if part)
                return EjectionFractionBand(name, low, high, f"\u201c{evidence.text}\u201d ({where})" if where else
                                            f"\u201c{evidence.text}\u201d")
    return None


def _record_problems(records: PatientRecords, patient_id: str, concepts: ConceptTable) -> list[tuple[str, str, ProblemEvidence]]:
    found: list[tuple[str, str, ProblemEvidence]] = []
    for r in summary.active_conditions(records, patient_id).itertuples(index=False):
        if pd.isna(r.description):
            continue
        code = "" if pd.isna(r.code) else str(r.code)
        detail = f"{r.system} {code}" if code and pd.notna(r.system) else code
        evidence = ProblemEvidence(EvidenceKind.RECORD, str(r.description), _day(r.onset), detail)
        matched = concepts.concepts_of(str(r.description), code)
        if matched:
            found += [(c.id, c.name, evidence) for c in matched]
        else:
            found.append((f"record:{code or str(r.description).lower()}", str(r.description), evidence))
    return found


def _note_date(records: PatientRecords, patient_id: str, sentence: str, fallback: _dt.date | None) -> _dt.date | None:
    """The date of the newest note holding ``sentence``: a suggestion read from last year's note is last year's
    evidence, not the day the model ran (``fallback``, for a sentence no note of the record holds)."""
    wanted = " ".join(sentence.split())
    notes = records.for_patient("notes", patient_id).sort_values("date", ascending=False, na_position="last")
    for note in notes.itertuples(index=False):
        if wanted and wanted in " ".join(str(note.text or "").split()):
            return _day(note.date)
    return fallback


def _note_problems(records: PatientRecords, patient_id: str, predictions: Iterable[Prediction],
                   concepts: ConceptTable) -> list[tuple[str, str, ProblemEvidence]]:
    """What the notes model suggested, each with the first sentence of the note that affirms it, dated by that note."""
    found: list[tuple[str, str, ProblemEvidence]] = []
    for prediction in predictions:
        if prediction.task != Task.TEXT or prediction.refused:
            continue
        for suggestion in prediction.extra.get("suggestions", []):
            sentences = [e.get("sentence", "") for e in suggestion.get("evidence", [])]
            label = str(suggestion["problem"])
            try:
                name = concepts.get(label).name
            except KeyError:
                name = str(suggestion.get("name", label))
            sentence = sentences[0] if sentences else name
            when = _note_date(records, patient_id, sentence, _day(prediction.created))
            found.append((label, name, ProblemEvidence(EvidenceKind.NOTE, sentence, when, prediction.source)))
    return found


def note_source(title: object, date: _dt.date | None, note_id: object) -> str:
    """How a note is named wherever its evidence is cited: 'Diabetes review (2026-12-05, DEMO-04-N01)'."""
    name = str(title) if title is not None and not pd.isna(title) and str(title) else "note"
    return f"{name} ({date.isoformat() if date else 'undated'}, {note_id})"


def _note_rule_problems(records: PatientRecords, patient_id: str, start: _dt.date,
                        concepts: ConceptTable) -> list[tuple[str, str, ProblemEvidence]]:
    """Problems the notes affirm, read with the note rules (no model needed, so the CLI and a window that has
    not run the notes model see them too): the newest note and every note of the current episode. An acute
    problem counts only from a note of this episode; a chronic one ("known AF") from the newest note as well."""
    notes = records.for_patient("notes", patient_id).sort_values("date", ascending=False, na_position="last")
    found: list[tuple[str, str, ProblemEvidence]] = []
    for index, note in enumerate(notes.itertuples(index=False)):
        when = _day(note.date)
        in_episode = when is not None and when >= start
        text = str(note.text) if pd.notna(note.text) else ""
        if (index > 0 and not in_episode) or not text.strip():
            continue
        read = note_problems(text)
        for label in read.suggested:
            try:
                concept = concepts.get(label)
            except KeyError:
                continue
            if not concept.chronic and not in_episode:
                continue
            first = read.evidence(label)[0]
            sentence = text[first.sentence_start:first.sentence_end].strip()
            found.append((label, concept.name, ProblemEvidence(EvidenceKind.NOTE, sentence, when,
                                                               note_source(note.title, when, note.note_id))))
    return found


def _clinician_problems(findings: Iterable[str], concepts: ConceptTable) -> list[tuple[str, str, ProblemEvidence]]:
    found: list[tuple[str, str, ProblemEvidence]] = []
    for finding in findings:
        evidence = ProblemEvidence(EvidenceKind.CLINICIAN, finding)
        matched = concepts.concepts_of(finding.replace("_", " "), finding)
        found += [(c.id, c.name, evidence) for c in matched] or [(f"record:{finding.lower()}", finding, evidence)]
    return found


def _merge(entries: list[tuple[str, str, ProblemEvidence]]) -> list[ActiveProblem]:
    by_concept: dict[str, tuple[str, list[ProblemEvidence]]] = {}
    for concept, name, evidence in entries:
        by_concept.setdefault(concept, (name, []))[1].append(evidence)
    problems = []
    for concept, (name, items) in by_concept.items():
        dates = [e.date for e in items if e.date is not None and e.kind == EvidenceKind.RECORD]
        problems.append(ActiveProblem(concept, name, tuple(dict.fromkeys(items)), min(dates) if dates else None))
    return problems


# Facts read from the notes of the current episode (newest note first); nursing-home residence is
# not an acute fact, so any note may state it.
_EPISODE_FACTS = (facts.ALTERED_MENTATION, facts.SUPPLEMENTAL_OXYGEN, facts.HYPERCAPNIC_TARGET,
                  facts.MULTILOBAR_INFILTRATES, facts.MECHANICAL_VENTILATION, facts.VASOPRESSORS, facts.PLEURAL_EFFUSION)
_ANY_TIME_FACTS = (facts.NURSING_HOME,)
# Coded problems that state a fact: (concept, fact, only when dated in the current episode)
_CODED_FACTS = (("altered_mental_status", facts.ALTERED_MENTATION, True),
                ("hypercapnic_respiratory_failure", facts.HYPERCAPNIC_TARGET, False))


def _note_facts(records: PatientRecords, patient_id: str, start: _dt.date) -> dict[str, StatedFact]:
    notes = records.for_patient("notes", patient_id).sort_values("date", ascending=False, na_position="last")
    found: dict[str, StatedFact] = {}
    for note in notes.itertuples(index=False):
        when = _day(note.date)
        title = str(note.title) if pd.notna(note.title) and str(note.title) else "note"
        text = str(note.text or "")
        for fact in _EPISODE_FACTS + _ANY_TIME_FACTS:
            if fact in found or (fact in _EPISODE_FACTS and (when is None or when < start)):
                continue
            stated = facts.stated(text, fact)
            if stated is not None:
                where = f"{title}, {when.isoformat() if when else 'undated'}: \u201c{stated.sentence}\u201d"
                found[fact] = StatedFact(stated.present, stated.phrase, when, where)
    return found


def _picture_facts(records: PatientRecords, patient_id: str, start: _dt.date, problems: list[ActiveProblem],
                   current: dict[str, Measurement]) -> dict[str, StatedFact]:
    """What the notes, coded problems and oxygen measures say of the patient now (the newest wins)."""
    found = _note_facts(records, patient_id, start)
    for concept, fact, episode_only in _CODED_FACTS:
        problem = next((p for p in problems if p.concept == concept), None)
        coded = [e for e in problem.evidence if e.kind == EvidenceKind.RECORD] if problem else []
        coded = [e for e in coded if not episode_only or (e.date is not None and e.date >= start)]
        if not coded:
            continue
        stated = found.get(fact)
        if stated is None or (stated.date is not None and coded[0].date is not None and coded[0].date > stated.date):
            found[fact] = StatedFact(True, coded[0].text, coded[0].date, f"problem list: {coded[0].detail}".rstrip(": "))
    fio2, flow = current.get("fio2"), current.get("oxygen_flow")
    for m, on_oxygen in ((fio2, fio2 is not None and fio2.value > 21), (flow, flow is not None and flow.value > 0)):
        if m is not None and (on_oxygen or facts.SUPPLEMENTAL_OXYGEN not in found):
            shown = f"{m.source.split(',')[0]}: {m.value:g} {m.unit}"
            found[facts.SUPPLEMENTAL_OXYGEN] = StatedFact(on_oxygen, shown, m.date, f"{m.source}, {m.date}")
            if on_oxygen:
                break
    return found


def _renal(measures: dict[str, Measurement], acr: summary.ObservedValue | None, age: float | None, sex: str,
           weight: Measurement | None) -> RenalFunction:
    """Kidney function; a urine ACR reported in mg/mmol is categorised against KDIGO's mg/mmol thresholds."""
    renal = renal_function(measures.get("egfr"), measures.get("creatinine"), measures.get("urine_acr"), age, sex, weight)
    if acr is not None and normalize_unit(acr.original_unit) == "mg/mmol":
        renal = replace(renal, a_stage=a_category(acr.original_value, "mg/mmol"))
    return renal


def _medications(records: PatientRecords, patient_id: str) -> list[Medication]:
    return [Medication(str(r.description), "" if pd.isna(r.code) else str(r.code), _day(r.start))
            for r in summary.current_medications(records, patient_id).itertuples(index=False) if pd.notna(r.description)]


def build_picture(
    records: PatientRecords,
    patient_id: str,
    *,
    predictions: Iterable[Prediction] = (),
    confirmed_findings: Iterable[str] = (),
    setting: CareSettingName | None = None,
    on: _dt.date | None = None,
    concepts: ConceptTable | None = None,
) -> ClinicalPicture:
    """The patient's picture on ``on`` (default: today, or the death date)."""
    concepts = concepts or default_concepts()
    row = records.patient_row(patient_id)
    on = on or summary.reference_date(records, patient_id).date()
    age_value = summary.age_years(records, patient_id, on=pd.Timestamp(on))
    age = None if age_value is None or age_value < 0 else Age(age_value, on)
    sex = str(row["sex"]) if pd.notna(row["sex"]) else "unknown"
    weight = _weight(records, patient_id, row)
    start = episode_start(records, patient_id, on)
    latest = summary.latest_values(records, patient_id)
    measures = {name: _as_measurement(latest[name]) for name in MEASURES if name in latest}
    current = {name: m for name, m in measures.items() if m.date is not None and m.date >= start}
    pregnant, pregnancy_source = _pregnancy(records, patient_id, row)
    predictions = list(predictions)
    problems = _merge(_record_problems(records, patient_id, concepts) + _note_problems(records, patient_id, predictions, concepts)
                      + _note_rule_problems(records, patient_id, start, concepts)
                      + _clinician_problems(confirmed_findings, concepts))
    picture = ClinicalPicture(
        patient_id=patient_id,
        on=on,
        episode_start=start,
        age=age,
        sex=sex,
        weight=weight,
        height=measures.get("body_height"),
        pregnant=pregnant,
        pregnancy_source=pregnancy_source,
        renal=_renal(measures, latest.get("urine_acr"), age_value, sex, weight),
        measures=measures,
        current_measures=current,
        ejection_fraction=ejection_fraction(records, patient_id),
        problems=problems,
        care_setting=CareSetting(chosen=setting),
        facts=_picture_facts(records, patient_id, start, problems, current),
        medications=_medications(records, patient_id),
    )
    if picture.ejection_fraction is None:
        picture.ejection_fraction_band = ejection_fraction_band(problems)
    picture.scores, picture.not_scored = score_picture(picture)
    picture.sepsis_signs = sepsis_signs(picture, picture.scores)
    picture.care_setting = suggested_setting(picture, picture.scores, picture.sepsis_signs)
    return picture
