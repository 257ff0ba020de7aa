"""What the treatment rules need to know about one patient, gathered once from the records.

Kidney function: a recorded eGFR is used as is; with only a creatinine, eGFR is computed with
the race-free CKD-EPI 2021 equation (adults) and the output says so. Drug labels mostly dose by
Cockcroft-Gault creatinine clearance; it is computed when creatinine, age and weight are known.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from medassist.recommend.knowledge import KnowledgeBase, normalise_text
from medassist.records import summary
from medassist.records.schema import PatientRecords

ADULT_AGE = 18.0


class IngredientMatcher:
    """Finds knowledge-base ingredients in a medication or allergy text (and in RxNorm ingredient codes)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._by_rxcui = {i.rxcui: i.id for i in kb.ingredients.ingredients}
        self._terms: list[tuple[str, str]] = []
        for ing in kb.ingredients.ingredients:
            for term in [ing.name, *ing.synonyms]:
                self._terms.append((normalise_text(term), ing.id))
        self._terms.sort(key=lambda t: -len(t[0]))

    def match(self, text: str | None, code: str | None = None) -> list[str]:
        found: list[str] = []
        if code and str(code) in self._by_rxcui:
            found.append(self._by_rxcui[str(code)])
        if text:
            norm = normalise_text(text)
            for term, ing in self._terms:
                if term in norm and ing not in found:
                    found.append(ing)
        return found


@dataclass(frozen=True)
class KidneyFunction:
    """eGFR (mL/min/1.73 m2) and/or Cockcroft-Gault CrCl (mL/min), with how each was obtained."""

    egfr: float | None
    egfr_note: str
    crcl: float | None
    crcl_note: str

    def value_for(self, measure: str) -> tuple[float | None, str]:
        """The value a rule written for ``measure`` (eGFR or CrCl) should use, and a note if it is a proxy."""
        if measure == "CrCl" and self.crcl is not None:
            return self.crcl, self.crcl_note
        if measure == "CrCl" and self.egfr is not None:
            return self.egfr, f"{self.egfr_note}; the label uses creatinine clearance, eGFR used as an approximation"
        return self.egfr, self.egfr_note


def ckd_epi_2021(creatinine_mg_dl: float, age: float, female: bool) -> float:
    """Race-free CKD-EPI creatinine equation (Inker et al., NEJM 2021), mL/min/1.73 m2."""
    kappa, alpha = (0.7, -0.241) if female else (0.9, -0.302)
    ratio = creatinine_mg_dl / kappa
    value = 142.0 * min(ratio, 1.0) ** alpha * max(ratio, 1.0) ** -1.200 * 0.9938**age
    return value * (1.012 if female else 1.0)


def cockcroft_gault(creatinine_mg_dl: float, age: float, weight_kg: float, female: bool) -> float:
    """Creatinine clearance (mL/min) as drug labels use it (actual body weight)."""
    value = (140.0 - age) * weight_kg / (72.0 * creatinine_mg_dl)
    return value * (0.85 if female else 1.0)


@dataclass(frozen=True)
class RecordedCondition:
    """A problem the patient has, with where it came from (record, confirmed finding, clinician)."""

    description: str
    code: str = ""
    system: str = ""
    origin: str = "record"  # record | confirmed finding | diagnosis given


@dataclass(frozen=True)
class RecordedAllergy:
    description: str
    code: str
    ingredients: tuple[str, ...]
    classes: tuple[str, ...]
    anaphylaxis: bool


@dataclass
class PatientContext:
    """Everything the rules read: demographics, problems, drugs, allergies, kidney function."""

    patient_id: str
    age_years: float | None
    sex: str
    weight_kg: float | None
    weight_note: str
    pregnant: bool | None
    kidney: KidneyFunction
    potassium: float | None
    conditions: list[RecordedCondition]
    medications: list[str]  # current ingredient ids
    medication_labels: dict[str, str]  # ingredient id -> record description it came from
    unmatched_medications: list[str]
    allergies: list[RecordedAllergy]
    setting: str | None = None  # outpatient | inpatient | severe, when the clinician said
    notes: list[str] = field(default_factory=list)
    lactate: float | None = None  # mmol/L, only when recent (see CriticalIllness.lactate_within_days)
    lactate_note: str = ""

    @property
    def is_child(self) -> bool:
        return self.age_years is not None and self.age_years < ADULT_AGE

    @property
    def female(self) -> bool:
        return self.sex == "female"

    @property
    def could_be_pregnant(self) -> bool:
        return self.female and self.age_years is not None and 12 <= self.age_years <= 50

    def inputs(self) -> dict[str, object]:
        """The inputs shown beside each recommendation (what drove it)."""
        return {
            "age_years": None if self.age_years is None else round(self.age_years, 1),
            "sex": self.sex,
            "weight_kg": None if self.weight_kg is None else round(self.weight_kg, 1),
            "pregnant": self.pregnant,
            "egfr": None if self.kidney.egfr is None else round(self.kidney.egfr, 1),
            "egfr_note": self.kidney.egfr_note,
            "crcl": None if self.kidney.crcl is None else round(self.kidney.crcl, 1),
            "potassium": self.potassium,
            "lactate": self.lactate,
            "setting": self.setting,
            "current_medications": list(self.medications),
            "allergies": [a.description for a in self.allergies],
            "conditions": [f"{c.description} ({c.origin})" for c in self.conditions],
        }


_ANAPHYLAXIS_WORDS = (" anaphyla", " angioedema", " severe ")


def _allergy_classes(kb: KnowledgeBase, text: str, ingredients: list[str]) -> set[str]:
    norm = normalise_text(text)
    classes = {cls for cls, words in kb.safety.allergy_classes.items() if any(normalise_text(w) in norm for w in words)}
    for ing in ingredients:
        classes |= kb.classes_of(ing) & set(kb.safety.allergy_classes)
    return classes


def _pregnancy(records: PatientRecords, patient_id: str, row: pd.Series) -> bool | None:
    flag = row.get("pregnant")
    if flag is not None and not pd.isna(flag):
        return bool(flag)
    active = summary.active_conditions(records, patient_id)
    if active["description"].fillna("").str.contains(r"\bpregnan", case=False, regex=True).any():
        return True
    return None


def build_context(
    records: PatientRecords,
    patient_id: str,
    kb: KnowledgeBase,
    confirmed_findings: list[str] | None = None,
    diagnoses: list[str] | None = None,
    setting: str | None = None,
) -> PatientContext:
    """Collect the patient's inputs; missing ones stay ``None`` so the engine can ask for them."""
    row = records.patient_row(patient_id)
    notes: list[str] = []
    age = summary.age_years(records, patient_id)
    sex = str(row["sex"]) if pd.notna(row["sex"]) else "unknown"
    female = sex == "female"

    weight, weight_note = None, "no weight on record"
    if pd.notna(row["weight_kg"]):
        weight, weight_note = float(row["weight_kg"]), "patient record"
    else:
        observed = summary.latest_value(records, patient_id, "body_weight")
        if observed is not None:
            weight = observed.value
            weight_note = f"latest body weight{'' if observed.date is None else ' on ' + observed.date.date().isoformat()}"

    egfr_obs = summary.latest_value(records, patient_id, "egfr")
    creat = summary.latest_value(records, patient_id, "creatinine")
    egfr, egfr_note = None, "no eGFR or creatinine on record"
    if egfr_obs is not None:
        egfr = egfr_obs.value
        egfr_note = "recorded eGFR" + ("" if egfr_obs.date is None else f" ({egfr_obs.date.date().isoformat()})")
    elif creat is not None and age is not None and age >= ADULT_AGE and sex in ("female", "male"):
        egfr = ckd_epi_2021(creat.value, age, female)
        egfr_note = f"computed from creatinine {creat.value:.2f} mg/dL with CKD-EPI 2021 (no eGFR on record)"
    elif creat is not None:
        egfr_note = "creatinine on record but eGFR not computed (CKD-EPI 2021 needs an adult with known sex)"
    crcl, crcl_note = None, ""
    if creat is not None and age is not None and weight is not None and age >= ADULT_AGE and sex in ("female", "male"):
        crcl = cockcroft_gault(creat.value, age, weight, female)
        crcl_note = f"Cockcroft-Gault creatinine clearance from creatinine {creat.value:.2f} mg/dL and weight {weight:.0f} kg"
    potassium_obs = summary.latest_value(records, patient_id, "potassium")
    lactate, lactate_note = _recent_lactate(records, patient_id, kb.treatments.critical_illness.lactate_within_days)

    conditions = [
        RecordedCondition(str(r.description), str(r.code), str(r.system), "record")
        for r in summary.active_conditions(records, patient_id).itertuples(index=False)
        if pd.notna(r.description)
    ]
    conditions += [RecordedCondition(f, origin="confirmed finding") for f in confirmed_findings or []]
    conditions += [RecordedCondition(d, code=d, origin="diagnosis given") for d in diagnoses or []]

    matcher = IngredientMatcher(kb)
    meds: list[str] = []
    labels: dict[str, str] = {}
    unmatched: list[str] = []
    for r in summary.current_medications(records, patient_id).itertuples(index=False):
        found = matcher.match(None if pd.isna(r.description) else str(r.description), None if pd.isna(r.code) else str(r.code))
        if not found and pd.notna(r.description):
            unmatched.append(str(r.description))
        for ing in found:
            if ing not in meds:
                meds.append(ing)
                labels[ing] = str(r.description)
    if unmatched:
        notes.append(f"{len(unmatched)} current medication(s) not in the knowledge base were not checked for interactions")

    allergies = []
    for r in summary.active_allergies(records, patient_id).itertuples(index=False):
        text = " ".join(str(v) for v in (r.description, r.reaction, r.severity) if pd.notna(v))
        ings = matcher.match(None if pd.isna(r.description) else str(r.description), None if pd.isna(r.code) else str(r.code))
        classes = _allergy_classes(kb, "" if pd.isna(r.description) else str(r.description), ings)
        if not ings and not classes:
            continue
        severe = any(word in normalise_text(text) for word in _ANAPHYLAXIS_WORDS)
        allergies.append(RecordedAllergy(str(r.description), "" if pd.isna(r.code) else str(r.code), tuple(ings), tuple(sorted(classes)), severe))

    return PatientContext(
        patient_id=patient_id,
        age_years=age,
        sex=sex,
        weight_kg=weight,
        weight_note=weight_note,
        pregnant=_pregnancy(records, patient_id, row),
        kidney=KidneyFunction(egfr, egfr_note, crcl, crcl_note),
        potassium=None if potassium_obs is None else round(potassium_obs.value, 2),
        conditions=conditions,
        medications=meds,
        medication_labels=labels,
        unmatched_medications=unmatched,
        allergies=allergies,
        setting=setting,
        notes=notes,
        lactate=lactate,
        lactate_note=lactate_note,
    )


def _recent_lactate(records: PatientRecords, patient_id: str, within_days: float) -> tuple[float | None, str]:
    """The latest lactate if it is from the current episode (close to the latest observation), else None.

    A lactate from an admission years ago says nothing about today, so it must lie within
    ``within_days`` of the patient's most recent observation of any kind.
    """
    observed = summary.latest_value(records, patient_id, "lactate")
    if observed is None or observed.date is None:
        return None, ""
    dates = pd.to_datetime(records.for_patient("observations", patient_id)["date"], errors="coerce", utc=True).dropna()
    when = pd.Timestamp(observed.date)
    when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
    if not dates.empty and (dates.max() - when) > pd.Timedelta(days=within_days):
        return None, ""
    return round(observed.value, 2), f"lactate {observed.value:.1f} mmol/L on {when.date().isoformat()}"
