"""A model's input features from a patient's record, found by code and converted to the model's units.

Each feature of a tabular model card names its ``source`` (see
:class:`medassist.domain.features.FeatureSpec`): a LOINC measure (latest value, converted by
:mod:`medassist.records.units`), a demographic, a coded diagnosis on the active problem list, or
a simple derivation. What the record does not hold stays missing and is reported by name; a value
outside the feature's plausible range is reported and left missing rather than used (the age
excepted: it is known, and the population rule refuses a patient outside the card's ages).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from medassist.records.codes import MEASURES
from medassist.records.schema import PatientRecords
from medassist.records.summary import active_conditions, age_years, latest_value

# Diagnoses tabular models read from the problem list: SNOMED-CT codes, ICD-10 prefixes and, for
# records without codes, words in the description.
CONDITION_GROUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "hypertension": {"snomed": ("38341003", "59621000", "1201005"), "icd10": ("I10", "I11", "I12", "I13", "I15"),
                     "words": (r"\bhypertension\b",)},
    "diabetes": {"snomed": ("44054006", "46635009", "73211009", "190330002"), "icd10": ("E10", "E11", "E13", "E14"),
                 "words": (r"\bdiabetes mellitus\b", r"\bdiabetes\b(?! insipidus)")},
    "coronary_artery_disease": {"snomed": ("53741008", "414545008", "22298006", "399211009", "194828000"),
                                "icd10": ("I20", "I21", "I22", "I24", "I25"),
                                "words": (r"coronary (?:artery|heart) disease", r"myocardial infarction", r"\bangina\b")},
    "anemia": {"snomed": ("271737000", "87522002", "234347009"), "icd10": ("D50", "D51", "D52", "D53", "D55", "D61", "D63", "D64"),
               "words": (r"\ban(?:a)?emia\b",)},
}

UREA_PER_BUN = 60.06 / 28.02
AGE_SOURCE = "demographic:age"  # mg/dL urea per mg/dL urea nitrogen (molar mass ratio)


@dataclass
class RecordFeatures:
    """Values for a model's features, where each came from, and what is missing and why."""

    values: dict[str, float | None]
    provenance: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def has_condition(records: PatientRecords, patient_id: str, group: str) -> tuple[bool, str]:
    """Whether an active diagnosis of ``group`` is on the patient's problem list, and which one."""
    spec = CONDITION_GROUPS[group]
    for row in active_conditions(records, patient_id).itertuples(index=False):
        code = "" if pd.isna(row.code) else str(row.code)
        system = "" if pd.isna(row.system) else str(row.system).upper()
        description = "" if pd.isna(row.description) else str(row.description)
        if code in spec["snomed"] and "ICD" not in system:
            return True, f"{description or code} (SNOMED-CT {code})"
        if "ICD" in system and code.replace(".", "").upper().startswith(spec["icd10"]):
            return True, f"{description or code} (ICD-10 {code})"
        if any(re.search(p, description.lower()) for p in spec["words"]):
            return True, f"{description} (by description)"
    return False, "no active diagnosis on the problem list"


def _measure(records: PatientRecords, patient_id: str, measure: str) -> tuple[float | None, str]:
    observed = latest_value(records, patient_id, measure)
    if observed is None:
        return None, ""
    when = observed.date.date().isoformat() if observed.date is not None else "undated"
    original = f"{observed.original_value:g} {observed.original_unit}".strip()
    return observed.value, f"{MEASURES[measure].description} {original} on {when} (LOINC {observed.code})"


def _from_source(records: PatientRecords, patient_id: str, source: str) -> tuple[float | None, str]:
    kind, _, rest = source.partition(":")
    if kind == "demographic" and rest == "age":
        age = age_years(records, patient_id)
        return (None, "") if age is None else (round(age, 1), "age from birth date")
    if kind == "demographic" and rest == "male":
        sex = records.patient_row(patient_id)["sex"]
        if pd.isna(sex) or str(sex) not in ("male", "female"):
            return None, ""
        return float(str(sex) == "male"), f"sex recorded as {sex}"
    if kind == "measure":
        return _measure(records, patient_id, rest)
    if kind == "above":
        measure, threshold = rest.rsplit(":", 1)
        value, how = _measure(records, patient_id, measure)
        return (None, "") if value is None else (float(value > float(threshold)), f"{how}: {value:.0f} > {threshold}?")
    if kind == "scaled":
        measure, factor = rest.rsplit(":", 1)
        value, how = _measure(records, patient_id, measure)
        return (None, "") if value is None else (value * float(factor), f"{how}, x {factor}")
    if kind == "urea_from_bun":
        value, how = _measure(records, patient_id, "urea_nitrogen")
        return (None, "") if value is None else (value * UREA_PER_BUN, f"{how}, urea = BUN x {UREA_PER_BUN:.3f}")
    if kind == "condition":
        present, how = has_condition(records, patient_id, rest)
        return float(present), how
    raise ValueError(f"unknown feature source '{source}'")


def features_from_record(records: PatientRecords, patient_id: str, specs: list[Any]) -> RecordFeatures:
    """Values for ``specs`` (FeatureSpec-like: name, source, valid_range, unit) from one patient's record."""
    if not records.has_patient(patient_id):
        raise KeyError(f"no patient with ID {patient_id}")
    result = RecordFeatures(values={})
    for spec in specs:
        value, how = (None, "") if spec.source is None else _from_source(records, patient_id, spec.source)
        # The age is always the record's: a patient outside the card's ages is refused by the population
        # rule with that reason (tabular_task.record_gate), never told that their age is missing.
        if value is not None and spec.valid_range is not None and spec.source != AGE_SOURCE:
            low, high = spec.valid_range
            if not low <= value <= high:
                result.problems.append(f"{spec.name}: {value:g} {spec.unit} is outside {low:g}-{high:g} and was not used ({how})")
                value = None
        result.values[spec.name] = value
        if value is None:
            result.missing.append(spec.name)
        else:
            result.provenance[spec.name] = how
    return result
