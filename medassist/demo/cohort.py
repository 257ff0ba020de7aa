"""The demo cohort: twenty-one synthetic patients with coherent histories, built by code.

Every clinical story is written out below (problems, medicines with their reasons, allergies,
vitals and labs over time, encounters and short notes), in the normalized record schema, with
the LOINC codes and units of :data:`medassist.records.codes.MEASURES` so models, safety checks
and the report find the values. Measured values are drawn from clinically coherent ranges with
a seeded generator: the same seed and day give identical records. Dates are counted back from
``today`` so the demo always shows a current presentation and stable ages.
"""

from __future__ import annotations

import hashlib
import io
import random
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
import pydicom  # imported with the module, not first in a worker thread (two threads importing it can half-initialise it)

from medassist import paths
from medassist.atomic import atomic_write_bytes
from medassist.demo.images import DESCRIPTIONS, PUBLIC_IMAGE_NOTICE, public_dicom
from medassist.records.codes import MEASURES
from medassist.records.schema import PatientRecords

SOURCE = "demo"
SNOMED = "SNOMED-CT"
RXNORM = "RxNorm"
LOINC = "LOINC"
FEATURED_PATIENT = "DEMO-01"

# decimals each measure is recorded with (others: one decimal)
_DECIMALS = {
    "body_height": 0, "systolic_bp": 0, "diastolic_bp": 0, "heart_rate": 0, "max_heart_rate": 0,
    "respiratory_rate": 0, "oxygen_saturation": 0, "glucose": 0, "fasting_glucose": 0, "total_cholesterol": 0,
    "ldl": 0, "hdl": 0, "triglycerides": 0, "creatinine": 2, "egfr": 0, "urea_nitrogen": 0, "sodium": 0,
    "platelets": 0, "crp": 0, "procalcitonin": 2, "urine_specific_gravity": 3, "insulin": 0,
}

Range = tuple[float, float]

_LABS = {
    "glucose", "fasting_glucose", "hba1c", "insulin", "total_cholesterol", "ldl", "hdl", "triglycerides",
    "creatinine", "egfr", "urea_nitrogen", "sodium", "potassium", "hemoglobin", "hematocrit", "wbc", "platelets",
    "crp", "procalcitonin", "albumin", "urine_specific_gravity", "urine_protein", "urine_glucose",
    "red_blood_cells", "pregnancy_test", "urine_acr",
}


@dataclass
class DemoCohort:
    """The demo records, the public images attached per patient, and where the demo opens."""

    records: PatientRecords
    image_paths: dict[str, list[Path]]
    featured_patient_id: str
    scenarios: dict[str, str] = field(default_factory=dict)  # patient_id -> what the case shows


class _CohortWriter:
    """Collects rows for the seven tables; values are drawn from ranges with one seeded generator."""

    def __init__(self, seed: int, today: date) -> None:
        self.rng = random.Random(seed)
        self.today = pd.Timestamp(today)
        self.rows: dict[str, list[dict]] = {t: [] for t in
                                             ("patients", "conditions", "medications", "allergies",
                                              "observations", "encounters", "notes")}
        self.heights: dict[str, float] = {}
        self.images: dict[str, list[Path]] = {}
        self.scenarios: dict[str, str] = {}
        self._encounters: dict[str, int] = {}
        self._encounter_start: dict[str, pd.Timestamp] = {}
        self._notes: dict[str, int] = {}

    def when(self, days_ago: float, hour: int = 9) -> pd.Timestamp:
        return self.today - pd.Timedelta(days=days_ago) + pd.Timedelta(hours=hour, minutes=self.rng.randrange(0, 50, 5))

    def draw(self, value: float | Range, decimals: int = 1) -> float:
        if isinstance(value, tuple):
            value = self.rng.uniform(*value)
        return round(float(value), decimals)

    # tables ---------------------------------------------------------------------------------
    def patient(self, pid: str, given: str, family: str, sex: str, age_years: float, scenario: str,
                height_cm: float | None = None, pregnant: bool = False, born: str | None = None) -> None:
        """``born`` fixes the birth date (to match the header of a film attached to the patient);
        otherwise it is drawn about ``age_years`` before today."""
        birth = self.today - pd.Timedelta(days=round(age_years * 365.25) + self.rng.randrange(0, 60))
        if born is not None:
            birth = pd.Timestamp(born)
        self.rows["patients"].append({
            "patient_id": pid, "given_name": given, "family_name": family, "birth_date": birth,
            "sex": sex, "city": "Exampleton", "country": "Demo (synthetic)", "pregnant": pregnant, "source": SOURCE,
        })
        if height_cm is not None:
            self.heights[pid] = height_cm
        self.scenarios[pid] = scenario

    def condition(self, pid: str, code: str, description: str, onset_days_ago: float,
                  resolved_days_ago: float | None = None, encounter: str | None = None) -> None:
        self.rows["conditions"].append({
            "patient_id": pid, "code": code, "system": SNOMED, "description": description,
            "onset": self.when(onset_days_ago), "encounter_id": encounter, "source": SOURCE,
            "abatement": None if resolved_days_ago is None else self.when(resolved_days_ago),
        })

    def medication(self, pid: str, code: str, description: str, start_days_ago: float,
                   reason: tuple[str, str] | None, stop_days_ago: float | None = None,
                   encounter: str | None = None) -> None:
        self.rows["medications"].append({
            "patient_id": pid, "code": code, "system": RXNORM, "description": description,
            "start": self.when(start_days_ago), "stop": None if stop_days_ago is None else self.when(stop_days_ago),
            "reason_code": reason[0] if reason else None, "reason_description": reason[1] if reason else None,
            "status": "active" if stop_days_ago is None else "stopped", "encounter_id": encounter, "source": SOURCE,
        })

    def allergy(self, pid: str, code: str, description: str, category: str, reaction: str, severity: str,
                start_days_ago: float) -> None:
        self.rows["allergies"].append({
            "patient_id": pid, "code": code, "system": SNOMED, "description": description, "category": category,
            "reaction": reaction, "severity": severity, "start": self.when(start_days_ago), "source": SOURCE,
        })

    def encounter(self, pid: str, days_ago: float, encounter_class: str, code: str, description: str,
                  reason: tuple[str, str] | None = None, hours: float = 0.5) -> str:
        number = self._encounters[pid] = self._encounters.get(pid, 0) + 1
        encounter_id = f"{pid}-E{number:02d}"
        start = self._encounter_start[encounter_id] = self.when(days_ago)
        self.rows["encounters"].append({
            "encounter_id": encounter_id, "patient_id": pid, "start": start, "stop": start + pd.Timedelta(hours=hours),
            "encounter_class": encounter_class, "code": code, "description": description,
            "reason_code": reason[0] if reason else None, "reason_description": reason[1] if reason else None,
            "source": SOURCE,
        })
        return encounter_id

    def measure(self, pid: str, encounter: str, name: str, value: float | Range) -> float:
        """One vital or lab in MedAssist's unit, coded with the measure's preferred LOINC code."""
        spec = MEASURES[name]
        number = self.draw(value, _DECIMALS.get(name, 1))
        category = "laboratory" if name in _LABS else "imaging" if name == "lvef" else "vital-signs"
        self.observation(pid, encounter, spec.codes[0], spec.description, number, spec.unit, category)
        return number

    def observation(self, pid: str, encounter: str, code: str, description: str, value: float | None,
                    unit: str, category: str, value_text: str | None = None) -> None:
        """Any coded result, timed within its encounter."""
        taken = self._encounter_start[encounter] + pd.Timedelta(minutes=20)
        self.rows["observations"].append({
            "patient_id": pid, "date": taken, "code": code, "system": LOINC,
            "description": description, "value": value, "value_text": value_text, "unit": unit,
            "category": category, "encounter_id": encounter, "source": SOURCE,
        })

    def visit(self, pid: str, encounter: str, **values: float | Range) -> dict[str, float]:
        """Record a set of measures; BMI is computed from weight and the patient's height."""
        recorded = {name: self.measure(pid, encounter, name, value) for name, value in values.items()}
        if "body_weight" in recorded and pid in self.heights:
            height_m = self.heights[pid] / 100
            self.measure(pid, encounter, "body_height", self.heights[pid])
            recorded["bmi"] = self.measure(pid, encounter, "bmi", recorded["body_weight"] / height_m**2)
        return recorded

    def note(self, pid: str, days_ago: float, title: str, text: str, hour: int = 11) -> None:
        number = self._notes[pid] = self._notes.get(pid, 0) + 1
        self.rows["notes"].append({
            "note_id": f"{pid}-N{number:02d}", "patient_id": pid, "date": self.when(days_ago, hour=hour),
            "title": title, "text": text, "source": SOURCE,
        })

    def attach_images(self, pid: str, days_ago: float, *names: str, study_date: str | None = None) -> None:
        """Attach public test images and say so in the patient's notes. Their headers name other people,
        so each is attached as a copy whose identity is this patient's (:func:`_film_for`), taken on the
        attach date (``study_date``: an archived film's own date, as its note gives it)."""
        row = next(r for r in self.rows["patients"] if r["patient_id"] == pid)
        taken = pd.Timestamp(study_date) if study_date else self.when(days_ago)
        self.images[pid] = [_film_for(public_dicom(name), row, taken.date(), self.today.date()) for name in names]
        listed = "; ".join(f"{name} ({DESCRIPTIONS[name]})" for name in names)
        # Filed an hour before the visit's clinical note, so the newest note (what a notes model reads) is clinical.
        self.note(pid, days_ago, "Demo imaging (public test images)", f"{PUBLIC_IMAGE_NOTICE} Attached: {listed}.", hour=10)

    def records(self) -> PatientRecords:
        """The tables; each patient's ``weight_kg`` is the latest recorded body weight."""
        frames = {name: pd.DataFrame(rows) for name, rows in self.rows.items()}
        observations = frames["observations"]
        weights = observations[observations["code"] == MEASURES["body_weight"].codes[0]].sort_values("date")
        latest = weights.groupby("patient_id")["value"].last()
        frames["patients"]["weight_kg"] = frames["patients"]["patient_id"].map(latest)
        return PatientRecords.from_frames(**frames)



def _dicom_age(birth: date, on: date) -> str:
    """DICOM Patient's Age (AS) at ``on``: whole years, or months under 2 years."""
    months = (on.year - birth.year) * 12 + on.month - birth.month - (on.day < birth.day)
    return f"{months // 12:03d}Y" if months >= 24 else f"{max(months, 0):03d}M"


def _film_for(original: Path, patient: dict, taken: date, today: date) -> Path:
    """A copy of a public test film whose identity header is the demo patient's (name, ID, birth date,
    sex, age) and whose study date is ``taken``; the pixels and everything else are the original's.
    Written once per day under the user data folder (atomically: two builds at once, as a demo job and a
    restore may run, each write a whole file and the last one stays); the same patient and day give the same bytes."""
    # one folder per patient, named without the patient's ID (a path is shown where identifiers are not)
    folder = hashlib.sha256(str(patient["patient_id"]).encode("utf-8")).hexdigest()[:12]
    target = paths.user_data_dir() / "demo-films" / today.isoformat() / folder / original.name
    ds = pydicom.dcmread(original)
    birth = pd.Timestamp(patient["birth_date"]).date()
    ds.PatientName = f"{patient['family_name']}^{patient['given_name']}"
    ds.PatientID = str(patient["patient_id"])
    ds.PatientBirthDate = birth.strftime("%Y%m%d")
    ds.PatientSex = {"female": "F", "male": "M"}.get(str(patient["sex"]), "O")
    ds.PatientAge = _dicom_age(birth, taken)
    for keyword in ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate"):
        if keyword == "StudyDate" or keyword in ds:
            setattr(ds, keyword, taken.strftime("%Y%m%d"))
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    data = buffer.getvalue()
    if not target.is_file() or target.read_bytes() != data:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, data)
    return target


# Codes used by several stories ---------------------------------------------------------------
CHECK_UP = ("185349003", "Encounter for check up")
EMERGENCY = ("50849002", "Emergency room admission")
SYMPTOM_VISIT = ("185345009", "Encounter for symptom")
FOLLOW_UP = ("390906007", "Follow-up encounter")
PRENATAL_VISIT = ("424619006", "Prenatal visit")

HYPERTENSION = ("59621000", "Essential hypertension")
TYPE2_DIABETES = ("44054006", "Type 2 diabetes mellitus")
CAP = ("385093006", "Community acquired pneumonia")
PNEUMONIA = ("233604007", "Pneumonia")
ATRIAL_FIBRILLATION = ("49436004", "Atrial fibrillation")
CKD4 = ("431857002", "Chronic kidney disease stage 4")
HYPERLIPIDEMIA = ("55822004", "Hyperlipidemia")
CHEST_PAIN = ("29857009", "Chest pain")
HEART_FAILURE = ("84114007", "Heart failure")
COPD = ("13645005", "Chronic obstructive lung disease")
ASTHMA = ("195967001", "Asthma")
PREGNANCY = ("77386006", "Pregnancy")
UTI = ("68566005", "Urinary tract infectious disease")
OBESITY = ("414916001", "Obesity")
PENICILLIN_ALLERGY = ("91936005", "Allergy to penicillin")


def _adult_pneumonia(w: _CohortWriter) -> None:
    pid = "DEMO-01"
    w.patient(pid, "Arthur", "Sample", "male", 58.4, height_cm=178,
              scenario="Community-acquired pneumonia in a penicillin-allergic adult on amlodipine, diagnosed "
                       "clinically: fever, raised CRP/WBC, right basal crackles; chest radiograph requested, not yet "
                       "available. Antibiotic choice must avoid penicillins and respect the amlodipine interaction.")
    w.allergy(pid, *PENICILLIN_ALLERGY, "medication", "Urticaria (hives) after amoxicillin", "moderate", 4000)
    w.condition(pid, *HYPERTENSION, 2200)
    w.medication(pid, "17767", "Amlodipine 5 MG Oral Tablet, once daily", 2150, HYPERTENSION)
    checkup = w.encounter(pid, 300, "ambulatory", *CHECK_UP)
    w.visit(pid, checkup, body_temperature=(36.5, 36.9), heart_rate=(66, 76), respiratory_rate=(13, 16),
            systolic_bp=(128, 136), diastolic_bp=(80, 86), oxygen_saturation=(97, 98), body_weight=(83, 85))
    w.visit(pid, checkup, total_cholesterol=(185, 198), creatinine=(0.9, 1.0), egfr=(84, 90), wbc=(6.0, 7.5))
    w.observation(pid, checkup, "72166-2", "Tobacco smoking status", None, "", "social-history", "Former smoker")
    er = w.encounter(pid, 0, "emergency", *EMERGENCY, reason=CAP, hours=4)
    w.condition(pid, *CAP, 0, encounter=er)
    # Vitals of a CAP that scores low (CURB-65 0, NEWS2 3): the outpatient story the demo tells.
    w.visit(pid, er, body_temperature=(38.2, 38.8), heart_rate=(92, 98), respiratory_rate=20,
            systolic_bp=(124, 134), diastolic_bp=(74, 82), oxygen_saturation=94, body_weight=(82, 84))
    w.visit(pid, er, wbc=(15.5, 18.5), crp=(140, 190), procalcitonin=(0.6, 1.4), creatinine=(1.0, 1.15),
            egfr=(70, 80), urea_nitrogen=(16, 19), sodium=(134, 137), hemoglobin=(14.0, 14.8))
    w.note(pid, 0, "Emergency department note",
           "58-year-old man with 4 days of productive cough with rusty sputum, fever and rigors, and right-sided "
           "pleuritic chest pain. On examination: febrile, mildly tachycardic, RR 20, SpO2 94% on air. Coarse crackles "
           "and bronchial breathing at the right base, dull to percussion. Alert and oriented. "
           "Impression: community-acquired pneumonia, clinically right lower lobe. PENICILLIN ALLERGY (urticaria). "
           "Takes amlodipine for hypertension. Plan: chest radiograph (requested, not yet done), blood cultures, "
           "oral antibiotic choice avoiding beta-lactams, review in 48 hours.")


def _child_pneumonia(w: _CohortWriter) -> None:
    pid = "DEMO-02"
    w.patient(pid, "Mia", "Example", "female", 4.1, height_cm=103,
              scenario="A 4-year-old with pneumonia diagnosed clinically (chest radiograph requested): weight-based "
                       "paediatric dosing, high fever and raised CRP.")
    well = w.encounter(pid, 200, "wellness", *CHECK_UP)
    w.visit(pid, well, body_temperature=(36.6, 37.0), heart_rate=(95, 105), respiratory_rate=(22, 26),
            oxygen_saturation=(98, 99), body_weight=(15.4, 15.8))
    visit = w.encounter(pid, 0, "emergency", *EMERGENCY, reason=PNEUMONIA, hours=3)
    w.condition(pid, *PNEUMONIA, 0, encounter=visit)
    w.visit(pid, visit, body_temperature=(39.0, 39.6), heart_rate=(138, 148), respiratory_rate=(36, 42),
            oxygen_saturation=(92, 94), body_weight=16.4)
    w.visit(pid, visit, wbc=(16.5, 19.5), crp=(70, 110))
    w.medication(pid, "161", "Paracetamol (acetaminophen) 120 MG/5 ML oral suspension, 15 mg/kg as needed", 1,
                 ("386661006", "Fever"))
    w.note(pid, 0, "Paediatric emergency note",
           "4-year-old girl, 3 days of fever to 39.5 C, cough and fast breathing; eating less, passing urine. "
           "Mild subcostal recession, crackles left base, no wheeze. Weight 16.4 kg today. No known drug allergies. "
           "Immunisations up to date. Impression: community-acquired pneumonia (clinical). Plan: chest radiograph "
           "(requested), weight-based oral antibiotic, safety-net advice to parents.")


def _atrial_fibrillation_warfarin(w: _CohortWriter) -> None:
    pid = "DEMO-03"
    w.patient(pid, "Edith", "Placeholder", "female", 76.3, height_cm=162,
              scenario="Atrial fibrillation on warfarin (INR in range): interacting antibiotics, NSAIDs and "
                       "antiplatelets must be flagged; head CT after a fall.")
    w.condition(pid, *ATRIAL_FIBRILLATION, 1500)
    w.condition(pid, *HYPERTENSION, 3600)
    w.medication(pid, "11289", "Warfarin Sodium 5 MG Oral Tablet, dose by INR", 1480, ATRIAL_FIBRILLATION)
    w.medication(pid, "6918", "Metoprolol succinate 47.5 MG extended release tablet, once daily", 1480,
                 ATRIAL_FIBRILLATION)
    w.medication(pid, "29046", "Lisinopril 10 MG Oral Tablet, once daily", 3500, HYPERTENSION)
    for days_ago, inr in ((90, (2.2, 2.8)), (45, (2.1, 2.7)), (3, (2.4, 3.0))):
        clinic = w.encounter(pid, days_ago, "ambulatory", "390906007", "Anticoagulation clinic review",
                             reason=ATRIAL_FIBRILLATION)
        w.visit(pid, clinic, heart_rate=(72, 88), systolic_bp=(128, 140), diastolic_bp=(74, 84),
                body_weight=(63, 65))
        w.observation(pid, clinic, "6301-6", "INR in Platelet poor plasma by Coagulation assay",
                      w.draw(inr, 1), "{INR}", "laboratory")
    w.visit(pid, clinic, creatinine=(0.9, 1.05), egfr=(58, 66), hemoglobin=(12.4, 13.2), platelets=(210, 260))
    w.visit(pid, clinic, potassium=4.3, lvef=60)  # fixed values: the treatment rules read them (no draw, no shift)
    w.note(pid, 3, "Anticoagulation clinic",
           "76-year-old woman with permanent atrial fibrillation (CHA2DS2-VASc 4: age, female, hypertension) on "
           "warfarin, target INR 2-3; today's INR in range. Slipped on a wet floor last week and struck her head; "
           "no loss of consciousness. CT head (attached) arranged by GP: no intracranial bleed reported. "
           "Reminded to avoid over-the-counter NSAIDs and to report any new antibiotic.")
    w.attach_images(pid, 3, "693_UNCR.dcm")


def _ckd_on_metformin(w: _CohortWriter) -> None:
    pid = "DEMO-04"
    w.patient(pid, "Walter", "Testcase", "male", 69.2, height_cm=172,
              scenario="CKD stage 4 (eGFR falling below 30) still on metformin: a contraindication to flag; "
                       "renally cleared drugs need dose checks.")
    w.condition(pid, *TYPE2_DIABETES, 5000)
    w.condition(pid, *HYPERTENSION, 4000)
    w.condition(pid, *CKD4, 60)
    w.condition(pid, *HYPERLIPIDEMIA, 3100)
    w.medication(pid, "6809", "Metformin hydrochloride 1000 MG Oral Tablet, twice daily", 4900, TYPE2_DIABETES)
    w.medication(pid, "29046", "Lisinopril 20 MG Oral Tablet, once daily", 3900, HYPERTENSION)
    w.medication(pid, "83367", "Atorvastatin 20 MG Oral Tablet, once daily", 3000, HYPERLIPIDEMIA)
    for days_ago, egfr, creatinine in ((540, (38, 41), (1.75, 1.85)), (270, (32, 35), (2.0, 2.15)),
                                       (60, (28, 29.4), (2.35, 2.45)), (2, (24, 26.5), (2.6, 2.8))):
        clinic = w.encounter(pid, days_ago, "ambulatory", *FOLLOW_UP, reason=TYPE2_DIABETES)
        w.visit(pid, clinic, systolic_bp=(138, 148), diastolic_bp=(78, 86), heart_rate=(70, 80),
                body_weight=(88, 90))
        w.visit(pid, clinic, egfr=egfr, creatinine=creatinine, potassium=(5.0, 5.5), urea_nitrogen=(38, 46),
                hba1c=(7.2, 7.8), glucose=(150, 175), hemoglobin=(10.6, 11.4), urine_protein=(100, 200))
        if days_ago <= 60:
            w.visit(pid, clinic, urine_acr=520 if days_ago == 2 else 480)  # fixed (A3): the CKD rules read it
    w.note(pid, 2, "Diabetes and kidney review",
           "69-year-old man with type 2 diabetes, hypertension and progressive diabetic kidney disease. eGFR now "
           "below 30 (stage 4) with potassium at the upper limit. Still taking metformin 1 g twice daily. "
           "Renal ultrasound (attached): small echogenic kidneys. Plan: review metformin and other renally "
           "cleared medicines, refer to nephrology.")
    w.attach_images(pid, 2, "gdcm-US-ALOKA-16.dcm")


def _type2_diabetes(w: _CohortWriter) -> None:
    pid = "DEMO-05"
    w.patient(pid, "Priya", "Specimen", "female", 54.6, height_cm=160,
              scenario="Type 2 diabetes with a full set of labs over two years: glucose, HbA1c, insulin, lipids, "
                       "kidney function and BMI (input for the diabetes risk model).")
    w.condition(pid, *TYPE2_DIABETES, 800)
    w.condition(pid, *OBESITY, 1500)
    w.condition(pid, *HYPERLIPIDEMIA, 720)
    w.medication(pid, "6809", "Metformin hydrochloride 500 MG Oral Tablet, twice daily", 790, TYPE2_DIABETES)
    w.medication(pid, "83367", "Atorvastatin 10 MG Oral Tablet, once daily", 700, HYPERLIPIDEMIA)
    for days_ago, hba1c, weight in ((730, (8.4, 8.9), (92, 93)), (365, (7.6, 8.0), (89, 90)),
                                    (14, (7.0, 7.4), (87, 88))):
        clinic = w.encounter(pid, days_ago, "ambulatory", *FOLLOW_UP, reason=TYPE2_DIABETES)
        w.visit(pid, clinic, systolic_bp=(128, 136), diastolic_bp=(80, 86), heart_rate=(72, 82),
                body_weight=weight)
        w.visit(pid, clinic, hba1c=hba1c, fasting_glucose=(135, 165), glucose=(160, 200), insulin=(18, 30),
                total_cholesterol=(190, 215), ldl=(105, 125), hdl=(40, 46), triglycerides=(170, 220),
                creatinine=(0.75, 0.9), egfr=(78, 88), urine_protein=(0, 15))
    w.note(pid, 14, "Diabetes review",
           "54-year-old woman with type 2 diabetes diagnosed two years ago, on metformin. HbA1c improving with "
           "diet and metformin; weight down 5 kg. Three pregnancies, one with gestational diabetes. Mother has "
           "type 2 diabetes. No retinopathy at last screening; feet: normal sensation.")


def _heart_disease_risk(w: _CohortWriter) -> None:
    pid = "DEMO-06"
    w.patient(pid, "Frank", "Mockup", "male", 61.0, height_cm=176,
              scenario="Exertional chest pain with hypertension, high cholesterol, raised fasting glucose and a "
                       "limited exercise test (input for the heart disease model).")
    w.condition(pid, *HYPERTENSION, 1200)
    w.condition(pid, *HYPERLIPIDEMIA, 900)
    w.medication(pid, "17767", "Amlodipine 10 MG Oral Tablet, once daily", 1150, HYPERTENSION)
    clinic = w.encounter(pid, 200, "ambulatory", *CHECK_UP)
    w.visit(pid, clinic, systolic_bp=(142, 150), diastolic_bp=(88, 94), heart_rate=(74, 82), body_weight=(91, 93))
    w.visit(pid, clinic, total_cholesterol=(255, 270), ldl=(165, 180), hdl=(36, 40), fasting_glucose=(118, 126))
    visit = w.encounter(pid, 7, "ambulatory", *SYMPTOM_VISIT, reason=CHEST_PAIN, hours=2)
    w.condition(pid, *CHEST_PAIN, 30, encounter=visit)
    w.visit(pid, visit, systolic_bp=(146, 154), diastolic_bp=(90, 96), heart_rate=(76, 84), body_weight=(92, 94),
            oxygen_saturation=(97, 98), respiratory_rate=(14, 16), body_temperature=(36.6, 36.9))
    w.visit(pid, visit, total_cholesterol=(262, 278), ldl=(172, 188), hdl=(35, 39), triglycerides=(190, 230),
            fasting_glucose=(124, 132), hba1c=(6.0, 6.3), creatinine=(0.95, 1.1), egfr=(72, 80))
    w.visit(pid, visit, max_heart_rate=131)
    w.note(pid, 7, "Chest pain clinic",
           "61-year-old man with 4 weeks of central chest tightness on walking uphill, relieved by rest within "
           "5 minutes (typical angina). Hypertension and high cholesterol; ex-smoker. Exercise ECG: stopped at "
           "7 minutes with chest pain, 1.5 mm horizontal ST depression in V4-V6, maximum heart rate about 131/min. "
           "Plan: start statin and aspirin after review, refer for coronary CT angiography.")


def _heart_failure(w: _CohortWriter) -> None:
    pid = "DEMO-07"
    w.patient(pid, "Harold", "Dummy", "male", 78.5, height_cm=170,
              scenario="Heart failure with reduced ejection fraction: weight gain and rising NT-proBNP on "
                       "diuretic, ACE inhibitor, beta-blocker and spironolactone (potassium to watch).")
    w.condition(pid, *HEART_FAILURE, 1100)
    w.condition(pid, *HYPERTENSION, 5000)
    w.condition(pid, "53741008", "Coronary arteriosclerosis", 2500)
    for code, text, start in (("4603", "Furosemide 40 MG Oral Tablet, once daily", 1090),
                              ("19484", "Bisoprolol fumarate 5 MG Oral Tablet, once daily", 1090),
                              ("35296", "Ramipril 5 MG Oral Capsule, once daily", 1090),
                              ("9997", "Spironolactone 25 MG Oral Tablet, once daily", 900)):
        w.medication(pid, code, text, start, HEART_FAILURE)
    w.medication(pid, "1191", "Aspirin 75 MG Oral Tablet, once daily", 2400, ("53741008", "Coronary arteriosclerosis"))
    for days_ago, weight, bnp in ((180, (74, 75), (900, 1200)), (60, (74.5, 75.5), (1100, 1400)),
                                  (1, (78, 79), (3200, 3900))):
        clinic = w.encounter(pid, days_ago, "ambulatory", "390906007", "Heart failure clinic review",
                             reason=HEART_FAILURE)
        w.visit(pid, clinic, heart_rate=(68, 78), systolic_bp=(112, 124), diastolic_bp=(66, 74),
                oxygen_saturation=(94, 96) if days_ago > 1 else (92, 94),
                respiratory_rate=(16, 18) if days_ago > 1 else (20, 22),
                body_weight=weight)
        w.visit(pid, clinic, sodium=(134, 138), potassium=(4.7, 5.2), creatinine=(1.3, 1.5), egfr=(44, 52))
        if days_ago == 180:
            w.visit(pid, clinic, lvef=30)  # echocardiogram, coded: the heart failure rules read it
        w.observation(pid, clinic, "33762-6", "NT-proBNP", w.draw(bnp, 0), "pg/mL", "laboratory")
    w.note(pid, 1, "Heart failure clinic",
           "78-year-old man with ischaemic cardiomyopathy, ejection fraction 30% on last echocardiogram. Three days "
           "of worsening breathlessness, two pillows at night, ankle swelling to mid-shin; weight up about 3.5 kg "
           "since the last clinic visit. "
           "Fine bibasal crackles, JVP raised. Impression: decompensated heart failure. Plan: increase furosemide, "
           "check renal function and potassium in 3 days (on ramipril and spironolactone).")


def _copd(w: _CohortWriter) -> None:
    pid = "DEMO-08"
    w.patient(pid, "Gloria", "Fictive", "female", 67.8, height_cm=158,
              scenario="COPD exacerbation in a former smoker: low SpO2, raised respiratory rate, inhaler "
                       "therapy.")
    w.condition(pid, *COPD, 2900)
    w.medication(pid, "69120", "Tiotropium 18 MCG inhalation capsule, once daily", 2800, COPD)
    w.medication(pid, "435", "Salbutamol (albuterol) 100 MCG/ACTUAT metered dose inhaler, as needed", 2800, COPD)
    stable = w.encounter(pid, 240, "ambulatory", *FOLLOW_UP, reason=COPD)
    w.visit(pid, stable, respiratory_rate=(16, 18), oxygen_saturation=(94, 95), heart_rate=(78, 86),
            systolic_bp=(126, 134), diastolic_bp=(76, 82), body_temperature=(36.5, 36.9), body_weight=(61, 62))
    w.observation(pid, stable, "20150-9", "FEV1", w.draw((1.05, 1.15), 2), "L", "vital-signs")
    w.observation(pid, stable, "72166-2", "Tobacco smoking status", None, "", "social-history", "Former smoker")
    visit = w.encounter(pid, 0, "emergency", *EMERGENCY, reason=COPD, hours=5)
    w.visit(pid, visit, respiratory_rate=(24, 28), oxygen_saturation=89, heart_rate=(100, 110),
            systolic_bp=(132, 142), diastolic_bp=(78, 86), body_temperature=(37.4, 37.9), body_weight=(60, 61))
    w.visit(pid, visit, wbc=(10.5, 12.5), crp=(18, 35), potassium=(3.8, 4.3), creatinine=(0.8, 0.95))
    w.note(pid, 0, "Emergency department note",
           "67-year-old woman with COPD (FEV1 about 45% predicted, 40 pack-years, stopped smoking 5 years ago). "
           "Three days of increased breathlessness and sputum volume, now green. Widespread expiratory wheeze, no "
           "focal crackles. SpO2 89% on air; target 88-92%. Impression: infective exacerbation of COPD. Plan: "
           "nebulised bronchodilators, oral prednisolone, antibiotic if sputum purulent.")


def _asthma(w: _CohortWriter) -> None:
    pid = "DEMO-09"
    w.patient(pid, "Leo", "Madeup", "male", 24.3, height_cm=181,
              scenario="Asthma on an inhaled steroid and reliever, with a peanut allergy.")
    w.allergy(pid, "91935009", "Allergy to peanuts", "food", "Lip swelling and wheeze", "severe", 7000)
    w.condition(pid, *ASTHMA, 6000)
    w.medication(pid, "19831", "Budesonide 200 MCG/ACTUAT inhaler, two puffs twice daily", 1500, ASTHMA)
    w.medication(pid, "435", "Salbutamol (albuterol) 100 MCG/ACTUAT metered dose inhaler, as needed", 5900, ASTHMA)
    clinic = w.encounter(pid, 20, "ambulatory", "390906007", "Asthma review", reason=ASTHMA)
    w.visit(pid, clinic, respiratory_rate=(14, 16), oxygen_saturation=(97, 99), heart_rate=(64, 74),
            systolic_bp=(116, 124), diastolic_bp=(70, 78), body_weight=(76, 78))
    w.note(pid, 20, "Asthma review",
           "24-year-old man with asthma since childhood. Uses reliever twice a week, woken once this month. "
           "Inhaler technique checked. Peak flow 520 L/min (best 560). Carries adrenaline auto-injector for "
           "peanut allergy. Plan: continue budesonide, written asthma action plan updated.")


def _healthy_adult(w: _CohortWriter) -> None:
    pid = "DEMO-10"
    w.patient(pid, "Nora", "Normal", "female", 34.2, height_cm=167,
              scenario="A healthy adult with normal vitals and normal labs "
                       "(a reference case: models should not raise alarms).")
    for days_ago in (400, 10):
        check = w.encounter(pid, days_ago, "wellness", *CHECK_UP)
        w.visit(pid, check, body_temperature=(36.4, 37.0), heart_rate=(62, 80), respiratory_rate=(12, 16),
                systolic_bp=(110, 124), diastolic_bp=(68, 78), oxygen_saturation=(97, 99), body_weight=(61, 63))
        w.visit(pid, check, glucose=(82, 96), hba1c=(4.9, 5.3), total_cholesterol=(160, 185),
                creatinine=(0.7, 0.85), egfr=(95, 110), hemoglobin=(13.2, 14.0), wbc=(5.5, 7.5), crp=(0.5, 2.0))
    w.note(pid, 10, "Pre-employment health check",
           "34-year-old woman, well, no symptoms. No regular medicines, no known allergies, non-smoker, "
           "exercises three times a week. Examination normal; heart sounds normal, chest clear.")


def _pregnancy(w: _CohortWriter) -> None:
    pid = "DEMO-11"
    w.patient(pid, "Sofia", "Pretend", "female", 29.4, height_cm=164, pregnant=True,
              scenario="Pregnant at 24 weeks with a urinary tract infection: antibiotics unsafe in pregnancy "
                       "must be flagged; obstetric ultrasound attached.")
    w.condition(pid, *PREGNANCY, 168)
    w.medication(pid, "4511", "Folic acid 400 MCG Oral Tablet, once daily", 180, PREGNANCY)
    booking = w.encounter(pid, 140, "ambulatory", *PRENATAL_VISIT, reason=PREGNANCY)
    w.visit(pid, booking, systolic_bp=(108, 116), diastolic_bp=(66, 72), heart_rate=(76, 84), body_weight=(63, 64))
    w.visit(pid, booking, hemoglobin=(11.8, 12.4), glucose=(78, 90))
    w.observation(pid, booking, MEASURES["pregnancy_test"].codes[0], MEASURES["pregnancy_test"].description,
                  None, MEASURES["pregnancy_test"].unit, "laboratory", "Positive")
    visit = w.encounter(pid, 0, "ambulatory", *SYMPTOM_VISIT, reason=UTI)
    w.condition(pid, *UTI, 1, encounter=visit)
    w.visit(pid, visit, body_temperature=(37.2, 37.6), heart_rate=(86, 94), systolic_bp=(110, 118),
            diastolic_bp=(68, 74), respiratory_rate=(14, 16), oxygen_saturation=(98, 99), body_weight=(70, 71))
    w.visit(pid, visit, hemoglobin=(11.0, 11.4), wbc=(10.0, 11.5), crp=(12, 24), urine_specific_gravity=(1.015, 1.022))
    w.observation(pid, visit, "5802-4", "Nitrite [Presence] in Urine by Test strip", None, "", "laboratory", "Positive")
    w.observation(pid, visit, "11884-4", "Gestational age Estimated", 24.0, "wk", "vital-signs")
    w.note(pid, 0, "Antenatal clinic",
           "29-year-old woman, first pregnancy, 24 weeks by dating scan. Two days of dysuria and frequency, "
           "no loin pain, no fever above 38 C. Urine dipstick: nitrite and leucocytes positive; culture sent. "
           "Fetal movements felt; anomaly scan (attached) normal. Impression: lower urinary tract infection in "
           "pregnancy. Plan: antibiotic safe in the second trimester, repeat urine culture after treatment.")
    w.attach_images(pid, 0, "OBXXXX1A.dcm")


def _stroke(w: _CohortWriter) -> None:
    pid = "DEMO-12"
    w.patient(pid, "Bernard", "Synthetic", "male", 71.6, height_cm=174,
              scenario="Recent ischaemic stroke on antiplatelet and statin; CT perfusion images attached.")
    stroke = ("230690007", "Cerebrovascular accident")
    w.condition(pid, *HYPERTENSION, 3000)
    ward = w.encounter(pid, 12, "inpatient", "32485007", "Hospital admission", reason=stroke, hours=120)
    w.condition(pid, *stroke, 12, encounter=ward)
    w.medication(pid, "32968", "Clopidogrel 75 MG Oral Tablet, once daily", 11, stroke)
    w.medication(pid, "83367", "Atorvastatin 80 MG Oral Tablet, once daily", 11, stroke)
    w.medication(pid, "52175", "Losartan potassium 50 MG Oral Tablet, once daily", 2900, HYPERTENSION)
    w.visit(pid, ward, systolic_bp=(168, 178), diastolic_bp=(92, 98), heart_rate=(72, 80),
            body_temperature=(36.6, 37.0),
            oxygen_saturation=(96, 98), body_weight=(80, 82))
    w.visit(pid, ward, glucose=(110, 130), total_cholesterol=(220, 240), ldl=(140, 155), creatinine=(1.0, 1.1),
            egfr=(66, 72), platelets=(220, 260))
    follow = w.encounter(pid, 1, "ambulatory", "390906007", "Stroke clinic follow-up", reason=stroke)
    w.visit(pid, follow, systolic_bp=(134, 142), diastolic_bp=(80, 86), heart_rate=(68, 76), body_weight=(79, 81))
    w.note(pid, 1, "Stroke clinic",
           "71-year-old man, 12 days after a left middle cerebral artery ischaemic stroke (sudden right arm "
           "weakness and word-finding difficulty, thrombolysed). CT perfusion on admission (attached). Now "
           "mild residual right hand weakness. Sinus rhythm on 72-hour monitoring. On clopidogrel and high-dose "
           "atorvastatin; blood pressure improving.")
    w.attach_images(pid, 1, "eCT_Supplemental.dcm")


def _shoulder_pain(w: _CohortWriter) -> None:
    pid = "DEMO-13"
    # Born on the birth date in the header of the NEMA MR2 shoulder study, his MR from 2004.
    w.patient(pid, "Marcus", "Imaginary", "male", 76.9, height_cm=183, born="1950-01-12",
              scenario="Recurrent shoulder pain in an older man on an NSAID with a sulfonamide allergy; his "
                       "previous shoulder MR (2004) is attached for comparison.")
    w.allergy(pid, "91939003", "Allergy to sulfonamide", "medication", "Maculopapular rash", "mild", 5000)
    pain = ("45326000", "Shoulder pain")
    clinic = w.encounter(pid, 5, "ambulatory", *SYMPTOM_VISIT, reason=pain)
    w.condition(pid, *pain, 60, encounter=clinic)
    w.medication(pid, "5640", "Ibuprofen 400 MG Oral Tablet, three times daily with food", 30, pain)
    w.visit(pid, clinic, systolic_bp=(122, 130), diastolic_bp=(76, 82), heart_rate=(66, 74), body_weight=(86, 88))
    w.observation(pid, clinic, "72514-3", "Pain severity - 0-10 verbal numeric rating", 6.0, "{score}", "survey")
    w.note(pid, 5, "Musculoskeletal clinic",
           "76-year-old right-handed man, 2 months of right shoulder pain after lifting; pain on overhead "
           "movements and at night. Painful arc 70-120 degrees, weak external rotation. Previous MR of the "
           "shoulder from August 2004 (attached) for comparison. Impression: rotator cuff tendinopathy. Plan: "
           "physiotherapy, limit the NSAID course (age 76: kidney function and stomach).")
    w.attach_images(pid, 5, "MR2_UNCR.dcm", study_date="2004-08-26")  # his archived MR, as the note says


def _teen_tibia(w: _CohortWriter) -> None:
    pid = "DEMO-14"
    w.patient(pid, "Ruby", "Lorem", "female", 15.3, height_cm=161,
              scenario="A teenager with an ankle injury and an incidental benign-looking tibial lesion on the "
                       "radiograph (report in the note; the film is not in the demo).")
    sprain = ("44465007", "Sprain of ankle")
    visit = w.encounter(pid, 9, "emergency", *EMERGENCY, reason=sprain, hours=2)
    w.condition(pid, *sprain, 9, encounter=visit)
    w.medication(pid, "161", "Paracetamol 500 MG Oral Tablet, up to four times daily", 9, sprain, stop_days_ago=2)
    w.visit(pid, visit, heart_rate=(74, 84), systolic_bp=(106, 114), diastolic_bp=(64, 70),
            body_temperature=(36.5, 36.9), body_weight=(51, 53))
    w.note(pid, 9, "Emergency department note",
           "15-year-old girl, inverted right ankle playing basketball. Tender over the anterior talofibular "
           "ligament, able to bear weight. Radiograph (reported by radiology): no fracture; incidental well-defined eccentric "
           "lucent lesion in the distal tibial metaphysis with a sclerotic rim, typical of a non-ossifying "
           "fibroma. Plan: rest, ice, compression; no follow-up needed for the lesion unless symptomatic.")


def _migraine(w: _CohortWriter) -> None:
    pid = "DEMO-15"
    w.patient(pid, "Clara", "Ipsum", "female", 38.1, height_cm=169,
              scenario="Migraine treated with a triptan (an SSRI or another serotonergic drug would be flagged); "
                       "head MR reported normal.")
    migraine = ("37796009", "Migraine")
    w.condition(pid, *migraine, 4000)
    w.medication(pid, "37418", "Sumatriptan 50 MG Oral Tablet, at migraine onset", 3900, migraine)
    w.medication(pid, "8787", "Propranolol 40 MG Oral Tablet, twice daily (prevention)", 200, migraine)
    clinic = w.encounter(pid, 30, "ambulatory", "390906007", "Neurology follow-up", reason=migraine)
    w.visit(pid, clinic, systolic_bp=(112, 120), diastolic_bp=(70, 76), heart_rate=(58, 66), body_weight=(64, 66))
    w.note(pid, 30, "Neurology clinic",
           "38-year-old woman with migraine without aura, 3-4 attacks a month, fewer since starting propranolol. "
           "Neurological examination normal. MR head (reported last year) normal. Headache diary reviewed; combined hormonal "
           "contraception to be avoided if aura develops.")


def _hypothyroid_depression(w: _CohortWriter) -> None:
    pid = "DEMO-16"
    w.patient(pid, "Helen", "Doe", "female", 50.4, height_cm=165,
              scenario="Hypothyroidism and depression on levothyroxine and sertraline (serotonergic "
                       "interactions; thyroid labs).")
    hypothyroid = ("40930008", "Hypothyroidism")
    depression = ("35489007", "Depressive disorder")
    w.condition(pid, *hypothyroid, 2500)
    w.condition(pid, *depression, 700)
    w.medication(pid, "10582", "Levothyroxine sodium 100 MCG Oral Tablet, once daily", 2480, hypothyroid)
    w.medication(pid, "36437", "Sertraline 50 MG Oral Tablet, once daily", 690, depression)
    for days_ago, tsh in ((380, (5.8, 6.6)), (20, (2.0, 2.8))):
        clinic = w.encounter(pid, days_ago, "ambulatory", *FOLLOW_UP, reason=hypothyroid)
        w.visit(pid, clinic, heart_rate=(64, 72), systolic_bp=(118, 126), diastolic_bp=(74, 80),
                body_weight=(70, 72))
        w.observation(pid, clinic, "3016-3", "Thyrotropin [Units/volume] in Serum or Plasma",
                      w.draw(tsh, 1), "m[IU]/L", "laboratory")
    w.note(pid, 20, "General practice review",
           "50-year-old woman with hypothyroidism, TSH now within range after dose increase. Mood improved on "
           "sertraline; sleeping better; PHQ-9 score 7 (was 16). No suicidal thoughts. Continue both medicines.")


def _prostate_cancer(w: _CohortWriter) -> None:
    pid = "DEMO-17"
    w.patient(pid, "Victor", "Notreal", "male", 72.0, height_cm=175,
              scenario="Prostate cancer on surveillance with a PSA series and a whole-body bone scan attached.")
    cancer = ("399068003", "Malignant tumor of prostate")
    w.condition(pid, *cancer, 900)
    w.medication(pid, "77492", "Tamsulosin hydrochloride 0.4 MG Oral Capsule, once daily", 1500,
                 ("266569009", "Benign prostatic hyperplasia"))
    w.condition(pid, "266569009", "Benign prostatic hyperplasia", 1600)
    for days_ago, psa in ((540, (6.0, 6.6)), (360, (6.4, 7.0)), (180, (7.0, 7.6)), (6, (8.8, 9.6))):
        clinic = w.encounter(pid, days_ago, "ambulatory", "390906007", "Urology follow-up", reason=cancer)
        w.visit(pid, clinic, systolic_bp=(128, 138), diastolic_bp=(76, 84), heart_rate=(66, 74),
                body_weight=(79, 81))
        w.observation(pid, clinic, "2857-1", "Prostate specific Ag [Mass/volume] in Serum or Plasma",
                      w.draw(psa, 1), "ng/mL", "laboratory")
    w.visit(pid, clinic, creatinine=(1.0, 1.15), egfr=(62, 70), hemoglobin=(13.4, 14.2))
    w.note(pid, 6, "Urology clinic",
           "72-year-old man with Gleason 3+4 prostate cancer on active surveillance. PSA rising over 18 months. "
           "Bone scan (attached) shows no convincing metastatic uptake. Plan: repeat MRI prostate and discuss "
           "radical treatment options at the multidisciplinary meeting.")
    w.attach_images(pid, 6, "JPEG2000.dcm")


def _gout(w: _CohortWriter) -> None:
    pid = "DEMO-18"
    w.patient(pid, "Oscar", "Fakename", "male", 57.3, height_cm=177,
              scenario="Gout on allopurinol with hypertension on lisinopril and a thiazide (uric acid series).")
    gout = ("90560007", "Gout")
    w.condition(pid, *gout, 1300)
    w.condition(pid, *HYPERTENSION, 2000)
    w.medication(pid, "519", "Allopurinol 300 MG Oral Tablet, once daily", 1200, gout)
    w.medication(pid, "29046", "Lisinopril 10 MG Oral Tablet, once daily", 1950, HYPERTENSION)
    w.medication(pid, "5487", "Hydrochlorothiazide 12.5 MG Oral Tablet, once daily", 1000, HYPERTENSION)
    for days_ago, urate in ((300, (8.6, 9.4)), (120, (6.8, 7.4)), (15, (5.2, 5.8))):
        clinic = w.encounter(pid, days_ago, "ambulatory", *FOLLOW_UP, reason=gout)
        w.visit(pid, clinic, systolic_bp=(132, 140), diastolic_bp=(82, 88), heart_rate=(70, 78),
                body_weight=(95, 97))
        w.observation(pid, clinic, "3084-1", "Urate [Mass/volume] in Serum or Plasma", w.draw(urate, 1),
                      "mg/dL", "laboratory")
        w.visit(pid, clinic, creatinine=(1.05, 1.2), egfr=(64, 72))
    w.note(pid, 15, "General practice review",
           "57-year-old man with recurrent gout of the first toe, no flare for 8 months since allopurinol was "
           "titrated. Urate now below 6 mg/dL. Hydrochlorothiazide may raise urate; consider switching.")


def _reactive_lymph_node(w: _CohortWriter) -> None:
    pid = "DEMO-19"
    w.patient(pid, "Theo", "Exemplar", "male", 27.5, height_cm=185,
              scenario="Viral sore throat with a reactive neck lymph node; small-parts ultrasound attached.")
    pharyngitis = ("195662009", "Acute viral pharyngitis")
    visit = w.encounter(pid, 4, "ambulatory", *SYMPTOM_VISIT, reason=pharyngitis)
    w.condition(pid, *pharyngitis, 8, resolved_days_ago=1, encounter=visit)
    w.condition(pid, "30746006", "Lymphadenopathy", 8, encounter=visit)
    w.visit(pid, visit, body_temperature=(37.6, 38.0), heart_rate=(84, 92), respiratory_rate=(14, 16),
            systolic_bp=(118, 126), diastolic_bp=(72, 78), oxygen_saturation=(98, 99), body_weight=(78, 80))
    w.visit(pid, visit, wbc=(8.0, 10.0), crp=(8, 16))
    w.note(pid, 4, "General practice note",
           "27-year-old man, one week of sore throat, mild fever and a tender lump in the right neck. Tonsils "
           "red without exudate; 1.5 cm tender mobile node at level II. Ultrasound (attached): oval node with "
           "preserved fatty hilum, reactive appearance. Plan: symptomatic treatment, review if the node persists "
           "beyond 4 weeks. No antibiotic indicated.")
    w.attach_images(pid, 4, "US1_UNCR.dcm")


def _osteoarthritis_elderly(w: _CohortWriter) -> None:
    pid = "DEMO-20"
    # Born on the birth date in the header of the NEMA RG1 chest film, her archived 2004 radiograph.
    w.patient(pid, "Agnes", "Specimen-Smith", "female", 86.8, height_cm=155, born="1940-03-05",
              scenario="An 86-year-old with knee osteoarthritis, aspirin allergy and iron-deficiency anaemia "
                       "(NSAIDs to avoid; age-related dosing); an archived chest radiograph of hers from 2004 is "
                       "attached, its report not on file.")
    w.allergy(pid, "293586001", "Allergy to aspirin", "medication", "Bronchospasm", "severe", 9000)
    oa = ("239873007", "Osteoarthritis of knee")
    anaemia = ("87522002", "Iron deficiency anemia")
    w.condition(pid, *oa, 3000)
    w.condition(pid, *anaemia, 90)
    w.condition(pid, *HYPERTENSION, 6000)
    w.medication(pid, "161", "Paracetamol 1 G Oral Tablet, up to three times daily", 2900, oa)
    w.medication(pid, "24947", "Ferrous sulfate 200 MG Oral Tablet, once daily", 85, anaemia)
    w.medication(pid, "17767", "Amlodipine 5 MG Oral Tablet, once daily", 5000, HYPERTENSION)
    for days_ago, hb in ((95, (9.6, 10.2)), (8, (10.8, 11.4))):
        clinic = w.encounter(pid, days_ago, "ambulatory", *FOLLOW_UP, reason=anaemia)
        w.visit(pid, clinic, systolic_bp=(134, 144), diastolic_bp=(72, 80), heart_rate=(72, 82),
                body_weight=(57, 59))
        w.visit(pid, clinic, hemoglobin=hb, creatinine=(0.95, 1.1), egfr=(45, 52))
        w.observation(pid, clinic, "2276-4", "Ferritin [Mass/volume] in Serum or Plasma",
                      w.draw((8, 14) if days_ago > 50 else (28, 40), 0), "ng/mL", "laboratory")
    w.note(pid, 8, "General practice review",
           "86-year-old woman with painful knees, walking with a stick; paracetamol helps partly. Aspirin "
           "causes bronchospasm, so NSAIDs are avoided. Iron-deficiency anaemia responding to oral iron; "
           "gastroscopy normal. Lives alone, independent. Archived chest radiograph from 26 August 2004 "
           "(attached) for comparison; its report is not on file. No cough, breathlessness or fever.")
    w.attach_images(pid, 8, "RG1_UNCR.dcm", study_date="2004-08-26")  # her archived film, as the note says


def _severe_pneumonia_elderly(w: _CohortWriter) -> None:
    """Severe community-acquired pneumonia in an 83-year-old man: the scores (CURB-65 5, qSOFA 3, NEWS2 15,
    PSI class V, ATS/IDSA 3 minor criteria) suggest intensive care, and the sepsis signs are named.
    The acute values are fixed (not drawn) so the scores are known; last year's normal ones stay out of them."""
    pid = "DEMO-21"
    w.patient(pid, "Albert", "Severus", "male", 83.3, height_cm=172,
              scenario="Severe community-acquired pneumonia in an 83-year-old man: confused, respiratory rate 32/min, "
                       "systolic 88 mmHg, BUN 32 mg/dL, lactate 2.9 mmol/L, SpO2 89% on air. The scores suggest "
                       "intensive care and name the sepsis signs; outpatient treatment must not be assumed.")
    w.condition(pid, *HYPERTENSION, 4200)
    w.medication(pid, "17767", "Amlodipine 5 MG Oral Tablet, once daily", 4100, HYPERTENSION)
    checkup = w.encounter(pid, 330, "ambulatory", *CHECK_UP)
    w.visit(pid, checkup, respiratory_rate=16, systolic_bp=138, diastolic_bp=78, heart_rate=72, oxygen_saturation=96,
            body_temperature=36.7, body_weight=76)
    w.visit(pid, checkup, urea_nitrogen=18, creatinine=1.0, egfr=70, sodium=139)
    er = w.encounter(pid, 0, "emergency", *EMERGENCY, reason=CAP, hours=6)
    w.condition(pid, *CAP, 0, encounter=er)
    w.visit(pid, er, respiratory_rate=32, systolic_bp=88, diastolic_bp=52, heart_rate=118, oxygen_saturation=89,
            body_temperature=38.4, body_weight=74)
    w.visit(pid, er, urea_nitrogen=32, creatinine=1.6, sodium=131, glucose=142, hematocrit=38.0, wbc=17.2,
            platelets=210, crp=260)
    lactate = MEASURES["lactate"]
    w.observation(pid, er, lactate.codes[0], lactate.description, 2.9, lactate.unit, "laboratory")
    w.note(pid, 0, "Emergency department note",
           "83-year-old man brought in by his wife with 3 days of cough, fever and breathlessness, worse today. "
           "Lives with his wife, independent until this week. On examination: confused, disoriented to time and "
           "place; RR 32, SpO2 89% on air, BP 88/52, pulse 118, temperature 38.4 C. Coarse crackles at the right "
           "base. Impression: severe community-acquired pneumonia with hypotension and new confusion. Plan: oxygen, "
           "blood cultures, intravenous antibiotics and fluids, chest radiograph (requested), critical care review.")


_STORIES = (
    _adult_pneumonia, _child_pneumonia, _atrial_fibrillation_warfarin, _ckd_on_metformin, _type2_diabetes,
    _heart_disease_risk, _heart_failure, _copd, _asthma, _healthy_adult, _pregnancy, _stroke, _shoulder_pain,
    _teen_tibia, _migraine, _hypothyroid_depression, _prostate_cancer, _gout, _reactive_lymph_node,
    _osteoarthritis_elderly, _severe_pneumonia_elderly,
)


def build_demo(seed: int = 7, today: date | None = None) -> DemoCohort:
    """Build the synthetic demo cohort; identical for the same ``seed`` and ``today``."""
    writer = _CohortWriter(seed, today or date.today())
    for story in _STORIES:
        story(writer)
    return DemoCohort(records=writer.records(), image_paths=writer.images,
                      featured_patient_id=FEATURED_PATIENT, scenarios=writer.scenarios)
