"""Patients built in code for the treatment tests (no files, no importer)."""

from __future__ import annotations

import pandas as pd

from medassist.recommend.knowledge import default_knowledge
from medassist.recommend.patient import PatientContext, build_context
from medassist.records.schema import PatientRecords

CONDITION_CODES = {
    "pneumonia": ("233604007", "Pneumonia (disorder)"),
    "diabetes": ("44054006", "Diabetes mellitus type 2 (disorder)"),
    "hypertension": ("59621000", "Essential hypertension (disorder)"),
    "ckd4": ("431857002", "Chronic kidney disease stage 4 (disorder)"),
    "heart_failure": ("88805009", "Chronic congestive heart failure (disorder)"),
    "hyperlipidaemia": ("55822004", "Hyperlipidemia (disorder)"),
    "septic_shock": ("76571007", "Septic shock (disorder)"),
    "sepsis": ("91302008", "Sepsis (disorder)"),
}
MEDICATION_CODES = {
    "warfarin": ("855332", "Warfarin Sodium 5 MG Oral Tablet"),
    "ibuprofen": ("206905", "Ibuprofen 400 MG Oral Tablet [Ibu]"),
    "lisinopril": ("314076", "lisinopril 10 MG Oral Tablet"),
    "hydrochlorothiazide": ("310798", "Hydrochlorothiazide 25 MG Oral Tablet"),
    "metformin": ("860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet"),
    "simvastatin": ("314231", "Simvastatin 10 MG Oral Tablet"),
    "amlodipine": ("197361", "Amlodipine 5 MG Oral Tablet"),
    "citalopram": ("200371", "Citalopram 20 MG Oral Tablet"),
    "escitalopram": ("349332", "Escitalopram 10 MG Oral Tablet"),
    "atorvastatin": ("617312", "Atorvastatin 20 MG Oral Tablet"),
    "metoprolol": ("866924", "Metoprolol Tartrate 25 MG Oral Tablet"),
    "norepinephrine": ("242969", "4 ML norepinephrine 1 MG/ML Injection"),
}
OBSERVATION_CODES = {"egfr": ("33914-3", "mL/min/{1.73_m2}"), "creatinine": ("2160-0", "mg/dL"),
                     "potassium": ("6298-4", "mmol/L"), "weight": ("29463-7", "kg"), "lactate": ("2524-7", "mmol/L")}


def make_records(
    patient_id: str = "p1",
    birth_date: str = "1970-05-01",
    sex: str = "female",
    conditions: tuple[str, ...] = (),
    medications: tuple[str, ...] = (),
    allergies: tuple[tuple[str, str, str], ...] = (),
    observations: dict[str, float] | None = None,
    weight_kg: float | None = None,
    pregnant: bool | None = None,
) -> PatientRecords:
    """A one-patient record set: conditions/medications by short name, allergies as (code, description, reaction)."""
    patient = {"patient_id": patient_id, "given_name": "Test", "family_name": patient_id.upper(),
               "birth_date": birth_date, "sex": sex, "weight_kg": weight_kg, "pregnant": pregnant}
    cond_rows = [{"patient_id": patient_id, "code": CONDITION_CODES[c][0], "system": "SNOMED-CT",
                  "description": CONDITION_CODES[c][1], "onset": "2024-01-01"} for c in conditions]
    med_rows = [{"patient_id": patient_id, "code": MEDICATION_CODES[m][0], "system": "RxNorm",
                 "description": MEDICATION_CODES[m][1], "start": "2024-02-01"} for m in medications]
    allergy_rows = [{"patient_id": patient_id, "code": code, "system": "RxNorm", "description": desc,
                     "reaction": reaction, "category": "medication", "start": "2000-01-01"} for code, desc, reaction in allergies]
    obs_rows = [{"patient_id": patient_id, "code": OBSERVATION_CODES[k][0], "system": "LOINC", "description": k,
                 "value": v, "unit": OBSERVATION_CODES[k][1], "date": "2026-10-01"} for k, v in (observations or {}).items()]
    frames = {"patients": pd.DataFrame([patient])}
    for name, rows in (("conditions", cond_rows), ("medications", med_rows), ("allergies", allergy_rows), ("observations", obs_rows)):
        if rows:
            frames[name] = pd.DataFrame(rows)
    return PatientRecords.from_frames(**frames)


def context(records: PatientRecords, patient_id: str = "p1", **kwargs) -> PatientContext:
    return build_context(records, patient_id, default_knowledge(), **kwargs)


PENICILLIN_ANAPHYLAXIS = ("7984", "Penicillin V", "Anaphylaxis (disorder)")
PENICILLIN_RASH = ("7984", "Penicillin V", "Urticaria")
