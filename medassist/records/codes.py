"""Clinical codes MedAssist reads from records (LOINC for vitals/labs), in one place.

Readers keep every code they find; these constants name the ones features, safety checks,
the demo cohort and the report look up. Each entry lists equivalent codes, preferred first,
and the unit MedAssist works in (values are converted to it by :mod:`medassist.records.units`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    name: str
    codes: tuple[str, ...]  # LOINC, preferred first (urea 22664-7 and urea nitrogen in mmol/L are the same moles)
    unit: str  # UCUM unit values are converted to
    description: str
    normal_range: tuple[float, float] | None = None  # adult reference range in ``unit``


MEASURES: dict[str, Measure] = {m.name: m for m in (
    Measure("body_weight", ("29463-7", "3141-9"), "kg", "Body weight"),
    Measure("body_height", ("8302-2",), "cm", "Body height"),
    Measure("bmi", ("39156-5",), "kg/m2", "Body mass index", (18.5, 25.0)),
    Measure("systolic_bp", ("8480-6",), "mm[Hg]", "Systolic blood pressure", (90.0, 130.0)),
    Measure("diastolic_bp", ("8462-4",), "mm[Hg]", "Diastolic blood pressure", (60.0, 80.0)),
    Measure("heart_rate", ("8867-4",), "/min", "Heart rate", (60.0, 100.0)),
    Measure("max_heart_rate", ("55425-3", "8884-9"), "/min", "Maximum heart rate achieved (exercise test)"),
    Measure("respiratory_rate", ("9279-1",), "/min", "Respiratory rate", (12.0, 20.0)),
    Measure("body_temperature", ("8310-5", "8331-1"), "Cel", "Body temperature", (36.1, 37.5)),
    Measure("oxygen_saturation", ("59408-5", "2708-6"), "%", "Oxygen saturation", (95.0, 100.0)),
    Measure("glucose", ("2339-0", "2345-7", "14749-6"), "mg/dL", "Glucose", (70.0, 140.0)),
    Measure("glucose_2h_ogtt", ("1518-0", "20438-8"), "mg/dL", "Glucose 2 h after oral glucose load (OGTT)", (0.0, 140.0)),
    Measure("fasting_glucose", ("1558-6",), "mg/dL", "Fasting glucose", (70.0, 100.0)),
    Measure("hba1c", ("4548-4",), "%", "Hemoglobin A1c", (4.0, 5.7)),
    Measure("insulin", ("20448-7",), "u[IU]/mL", "Insulin (serum)", (2.0, 25.0)),
    Measure("total_cholesterol", ("2093-3",), "mg/dL", "Total cholesterol", (0.0, 200.0)),
    Measure("ldl", ("18262-6", "13457-7"), "mg/dL", "LDL cholesterol", (0.0, 100.0)),
    Measure("hdl", ("2085-9",), "mg/dL", "HDL cholesterol", (40.0, 100.0)),
    Measure("triglycerides", ("2571-8",), "mg/dL", "Triglycerides", (0.0, 150.0)),
    Measure("creatinine", ("2160-0", "38483-4", "14682-9"), "mg/dL", "Creatinine", (0.6, 1.3)),
    # eGFR by any creatinine equation a lab reports (MDRD 33914-3, 48642-3, 48643-1, 50044-7, 77147-7; CKD-EPI 62238-1,
    # 88293-6, 88294-4; CKD-EPI 2021 98979-8; unspecified 69405-9): each is the lab's own eGFR, used as reported
    Measure("egfr", ("33914-3", "62238-1", "98979-8", "69405-9", "48642-3", "48643-1", "50044-7", "77147-7", "88293-6",
                     "88294-4"), "mL/min/{1.73_m2}", "eGFR", (60.0, 200.0)),
    Measure("urea_nitrogen", ("6299-2", "3094-0", "22664-7", "14937-7"), "mg/dL", "Urea nitrogen (BUN)", (7.0, 20.0)),
    Measure("sodium", ("2951-2", "2947-0"), "mmol/L", "Sodium", (135.0, 145.0)),
    Measure("potassium", ("6298-4", "2823-3"), "mmol/L", "Potassium", (3.5, 5.1)),
    Measure("lactate", ("2524-7", "32693-4", "59032-3"), "mmol/L", "Lactate", (0.5, 2.0)),
    Measure("hemoglobin", ("718-7",), "g/dL", "Hemoglobin", (12.0, 17.5)),
    Measure("hematocrit", ("4544-3",), "%", "Hematocrit", (36.0, 50.0)),
    Measure("wbc", ("6690-2", "26464-8"), "10*3/uL", "White blood cells", (4.0, 11.0)),
    Measure("platelets", ("777-3",), "10*3/uL", "Platelets", (150.0, 400.0)),
    Measure("crp", ("1988-5", "30522-7"), "mg/L", "C-reactive protein", (0.0, 10.0)),
    Measure("procalcitonin", ("33959-8",), "ng/mL", "Procalcitonin", (0.0, 0.1)),
    Measure("albumin", ("1751-7",), "g/dL", "Albumin", (3.5, 5.0)),
    Measure("urine_specific_gravity", ("5811-5", "2965-2"), "{ratio}", "Urine specific gravity", (1.005, 1.030)),
    Measure("urine_protein", ("2888-6", "20454-5"), "mg/dL", "Urine protein"),
    Measure("urine_glucose", ("2350-7", "25428-4"), "mg/dL", "Urine glucose"),
    Measure("red_blood_cells", ("789-8",), "10*6/uL", "Red blood cells", (4.2, 5.9)),
    Measure("pregnancy_test", ("2106-3", "2118-8"), "{presence}", "Pregnancy test (hCG)"),
    Measure("urine_acr", ("9318-7", "14959-1", "32294-1"), "mg/g", "Urine albumin/creatinine ratio", (0.0, 30.0)),
    Measure("lvef", ("10230-1", "18043-0", "8806-2", "18047-6"), "%", "Left ventricular ejection fraction", (50.0, 75.0)),
    Measure("inr", ("6301-6", "34714-6"), "{INR}", "INR", (0.8, 1.2)),
    # blood gas and oxygen, for PSI (Fine 1997: arterial pH, PaO2) and ATS/IDSA 2019 (PaO2/FiO2)
    Measure("arterial_ph", ("2744-1",), "[pH]", "pH of arterial blood", (7.35, 7.45)),
    Measure("pao2", ("2703-7",), "mm[Hg]", "Oxygen partial pressure in arterial blood (PaO2)", (80.0, 100.0)),
    Measure("fio2", ("3150-0",), "%", "Inhaled oxygen concentration (FiO2)"),
    Measure("oxygen_flow", ("3151-8",), "L/min", "Inhaled oxygen flow rate"),
)}

CODE_TO_MEASURE: dict[str, Measure] = {code: m for m in MEASURES.values() for code in m.codes}
