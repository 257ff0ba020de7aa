"""Whether an image can belong to the patient whose record it is attached to.

One function decides it (:func:`film_mismatch`) and the Images and Diagnosis views and the
report all show its sentence. It compares what the DICOM header says about the person imaged
(sex; age at the study, from Patient's Age or from birth and study dates) with the record:
a different sex, a study taken before the patient was born, or an age at the study that differs
from the record's by more than ``2 years + 10%`` cannot be the same person. A header that says
nothing about sex or age gives no warning (nothing to compare), never a guess.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from medassist.records.schema import PatientRecords

_SEX = {"M": "male", "F": "female"}
_AGE_UNIT_YEARS = {"Y": 1.0, "M": 1 / 12, "W": 7 / 365.25, "D": 1 / 365.25}


def _date(text: str) -> pd.Timestamp | None:
    if not re.fullmatch(r"\d{8}", text or ""):
        return None
    try:
        return pd.Timestamp(f"{text[:4]}-{text[4:6]}-{text[6:]}")
    except ValueError:
        return None


def header_age_years(metadata: dict[str, Any]) -> float | None:
    """Age at the study from the header: Patient's Age ('064Y'), else study date minus birth date."""
    match = re.fullmatch(r"(\d{3})([YMWD])", str(metadata.get("patient_age") or "").strip().upper())
    if match:
        return int(match.group(1)) * _AGE_UNIT_YEARS[match.group(2)]
    birth, study = _date(metadata.get("patient_birth_date", "")), _date(metadata.get("study_date", ""))
    if birth is not None and study is not None and study >= birth:
        return (study - birth).days / 365.25
    return None


def film_mismatch(metadata: dict[str, Any], records: PatientRecords, patient_id: str) -> str | None:
    """Why this image cannot be of this patient, in one sentence; None when nothing contradicts it."""
    if not patient_id or not records.has_patient(patient_id):
        return None
    row = records.patient_row(patient_id)
    problems = []
    header_sex = _SEX.get(str(metadata.get("patient_sex") or "").strip().upper())
    record_sex = str(row["sex"]) if pd.notna(row["sex"]) else None
    if header_sex and record_sex in ("male", "female") and header_sex != record_sex:
        problems.append(f"the image header says {header_sex}, the record {record_sex}")
    birth = row["birth_date"] if pd.notna(row["birth_date"]) else None
    study = _date(metadata.get("study_date", ""))
    film_age = header_age_years(metadata)
    if birth is not None and study is not None and study < birth:
        problems.append(f"the study date {study.date().isoformat()} is before the patient's birth")
    elif birth is not None and film_age is not None:
        on = study if study is not None else pd.Timestamp.now()
        record_age = (on - birth).days / 365.25
        if abs(film_age - record_age) > 2 + 0.1 * record_age:
            when = f" on {study.date().isoformat()}" if study is not None else ""
            problems.append(f"the header gives age {_years(film_age)} at the study, the record {_years(record_age)}{when}")
    if not problems:
        return None
    return "This image cannot be of this patient: " + "; ".join(problems) + "."


def _years(age: float) -> str:
    return f"{int(age)} years" if age >= 2 else f"{int(age * 12)} months"
