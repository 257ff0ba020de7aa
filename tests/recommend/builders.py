"""Patients built in code for the treatment tests (no files, no importer)."""

from __future__ import annotations

import datetime as _dt

import pandas as pd

from medassist.clinical.picture import build_picture
from medassist.domain.clinical import CareSetting
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
    "atrial_fibrillation": ("49436004", "Atrial fibrillation (disorder)"),
    "coronary": ("53741008", "Coronary arteriosclerosis (disorder)"),
    "stroke": ("230690007", "Cerebrovascular accident (disorder)"),
    "dementia": ("52448006", "Dementia (disorder)"),
    "osteoarthritis": ("239873007", "Osteoarthritis of knee (disorder)"),
    "falls": ("", "History of falls"),
    "mechanical_valve": ("", "Mechanical mitral valve replacement"),
    "obesity": ("414916001", "Obesity (disorder)"),
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
    # Further lines carry the ingredient's RxNorm code (as the demo cohort does) or none.
    "ramipril": ("35296", "Ramipril 5 MG Oral Capsule"),
    "bisoprolol": ("19484", "Bisoprolol fumarate 5 MG Oral Tablet"),
    "carvedilol": ("20352", "Carvedilol 6.25 MG Oral Tablet"),
    "atenolol": ("1202", "Atenolol 50 MG Oral Tablet"),
    "spironolactone": ("9997", "Spironolactone 25 MG Oral Tablet"),
    "furosemide": ("4603", "Furosemide 40 MG Oral Tablet"),
    "dapagliflozin": ("1488564", "Dapagliflozin 10 MG Oral Tablet"),
    "sacubitril_valsartan": ("", "sacubitril 49 MG / valsartan 51 MG Oral Tablet [Entresto]"),
    "aspirin": ("1191", "Aspirin 81 MG Oral Tablet"),
    "naproxen": ("7258", "Naproxen 500 MG Oral Tablet"),
    "apixaban": ("1364430", "Apixaban 5 MG Oral Tablet"),
    "rivaroxaban": ("", "Rivaroxaban 20 MG Oral Tablet"),
    "diltiazem": ("3443", "Diltiazem hydrochloride 120 MG Extended Release Oral Capsule"),
    "glyburide": ("4815", "Glyburide 5 MG Oral Tablet"),
    "glipizide": ("4821", "Glipizide 5 MG Oral Tablet"),
    "diphenhydramine": ("3498", "Diphenhydramine hydrochloride 25 MG Oral Capsule"),
    "lorazepam": ("6470", "Lorazepam 1 MG Oral Tablet"),
    "zolpidem": ("39993", "Zolpidem tartrate 10 MG Oral Tablet"),
    "amitriptyline": ("704", "Amitriptyline hydrochloride 25 MG Oral Tablet"),
    "digoxin": ("3407", "Digoxin 0.25 MG Oral Tablet"),
    "trimethoprim": ("10829", "Trimethoprim 100 MG Oral Tablet"),
    "amiloride": ("644", "Amiloride hydrochloride 5 MG Oral Tablet"),
    "verapamil": ("11170", "Verapamil hydrochloride 80 MG Oral Tablet"),
}
OBSERVATION_CODES = {"egfr": ("33914-3", "mL/min/{1.73_m2}"), "creatinine": ("2160-0", "mg/dL"),
                     "potassium": ("6298-4", "mmol/L"), "weight": ("29463-7", "kg"), "lactate": ("2524-7", "mmol/L"),
                     "lvef": ("10230-1", "%"), "systolic_bp": ("8480-6", "mm[Hg]"), "heart_rate": ("8867-4", "/min"),
                     "acr": ("9318-7", "mg/g"), "inr": ("6301-6", "{INR}"), "sodium": ("2951-2", "mmol/L")}


def born(years: float) -> str:
    """A birth date ``years`` before today, so a vignette's age (and its age criteria) does not drift with the date."""
    return (_dt.date.today() - _dt.timedelta(days=round(years * 365.25))).isoformat()


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


def context(records: PatientRecords, patient_id: str = "p1", confirmed_findings: list[str] | None = None,
            diagnoses: list[str] | None = None, setting: str | None = None, suggested: str | None = None,
            reason: str = "", sepsis_signs: list[str] | None = None) -> PatientContext:
    """The treatment context on the patient's clinical picture; ``suggested``/``reason`` stand for what the
    severity scores suggest (the picture's care setting), ``sepsis_signs`` for the picture's sepsis signs."""
    named = list(dict.fromkeys([*(confirmed_findings or []), *(diagnoses or [])]))
    picture = build_picture(records, patient_id, confirmed_findings=named, setting=setting)  # type: ignore[arg-type]
    if suggested is not None:
        picture.care_setting = CareSetting(chosen=picture.care_setting.chosen, suggested=suggested, reason=reason)  # type: ignore[arg-type]
    picture.sepsis_signs = list(sepsis_signs or [])
    return build_context(records, picture, default_knowledge(), diagnoses=diagnoses)


PENICILLIN_ANAPHYLAXIS = ("7984", "Penicillin V", "Anaphylaxis (disorder)")
PENICILLIN_RASH = ("7984", "Penicillin V", "Urticaria")
