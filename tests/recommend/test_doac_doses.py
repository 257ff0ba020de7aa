"""Every branch of each DOAC label's dose rule, on pictures built value by value (no records).

Apixaban (US label 2.2): 2.5 mg twice daily with at least 2 of age >= 80, weight <= 60 kg, creatinine >= 1.5 mg/dL;
CrCl < 15: not recommended (EU label). Rivaroxaban (US label): CrCl > 50: 20 mg; 15-50: 15 mg; < 15: avoid.
Edoxaban (EU label 4.2): 30 mg with any of CrCl 15-50, weight <= 60 kg, ciclosporin/dronedarone/erythromycin/
ketoconazole; < 15: not recommended; CrCl > 95: reduced efficacy (US boxed warning). Dabigatran (EU label):
CrCl < 30 or ketoconazole/itraconazole/ciclosporin/dronedarone: contraindicated; age >= 80 or verapamil: 110 mg;
age 75-79 or CrCl 30-50: 110 mg to be considered. CrCl is Cockcroft-Gault with actual weight, never eGFR.
"""

from __future__ import annotations

import datetime as _dt

import pytest

from medassist.domain.clinical import Age, ClinicalPicture, Measurement, RenalFunction
from medassist.recommend.engine import dose_advice
from medassist.recommend.knowledge import default_knowledge
from medassist.recommend.patient import PatientContext

KB = default_knowledge()
TODAY = _dt.date(2026, 12, 1)


def patient(age: float | None = 70, weight: float | None = 75, creatinine: float | None = 1.0, crcl: float | None = 70,
            medications: tuple[str, ...] = ()) -> PatientContext:
    def m(value: float | None, unit: str) -> Measurement | None:
        return None if value is None else Measurement(value, unit, TODAY, "test")

    picture = ClinicalPicture(
        patient_id="p", on=TODAY, episode_start=TODAY, age=None if age is None else Age(age, TODAY), sex="female",
        weight=m(weight, "kg"), height=None, pregnant=False, pregnancy_source="test",
        renal=RenalFunction(creatinine=m(creatinine, "mg/dL"), crcl=m(crcl, "mL/min")),
    )
    return PatientContext(picture, list(medications), {i: i for i in medications}, [], [])


def dose(ctx: PatientContext, drug: str) -> str:
    questions: list[str] = []
    found = dose_advice(KB, ctx, drug, questions)
    assert found is not None
    return found[0].dose


@pytest.mark.parametrize("age, weight, creatinine, expected", [
    (70, 75, 1.0, "5 mg twice daily"),      # none of the three
    (80, 75, 1.0, "5 mg twice daily"),      # age alone (80 counts: ">= 80")
    (70, 60, 1.0, "5 mg twice daily"),      # weight alone (60 counts: "<= 60")
    (70, 75, 1.5, "5 mg twice daily"),      # creatinine alone (1.5 counts)
    (80, 60, 1.0, "2.5 mg twice daily"),    # age + weight
    (80, 75, 1.5, "2.5 mg twice daily"),    # age + creatinine
    (70, 60, 1.5, "2.5 mg twice daily"),    # weight + creatinine
    (85, 50, 2.0, "2.5 mg twice daily"),    # all three
    (79.9, 60.1, 1.49, "5 mg twice daily"),  # just below every bound
])
def test_apixaban_two_of_three(age, weight, creatinine, expected):
    assert dose(patient(age, weight, creatinine), "apixaban") == expected


def test_apixaban_missing_weight_is_asked_unless_the_others_decide():
    questions: list[str] = []
    advice, _step = dose_advice(KB, patient(82, None, 1.0), "apixaban", questions)  # type: ignore[misc]
    assert advice.dose == "5 mg twice daily" and advice.unknown and questions, "1 of 3 known: the weight could make it 2"
    decided = dose_advice(KB, patient(82, None, 1.6), "apixaban", [])
    assert decided is not None and decided[0].dose == "2.5 mg twice daily" and not decided[0].unknown


def test_apixaban_below_crcl_15_is_not_recommended():
    assert dose(patient(crcl=14), "apixaban") == "do not use"


@pytest.mark.parametrize("crcl, expected", [(51, "20 mg once daily with the evening meal"), (50, "15 mg once daily with the evening meal"),
                                            (15, "15 mg once daily with the evening meal"), (14.9, "do not use")])
def test_rivaroxaban_by_creatinine_clearance(crcl, expected):
    assert dose(patient(crcl=crcl), "rivaroxaban") == expected


def test_rivaroxaban_without_crcl_is_not_guessed_from_egfr():
    questions: list[str] = []
    advice, _step = dose_advice(KB, patient(crcl=None), "rivaroxaban", questions)  # type: ignore[misc]
    assert advice.unknown and any("creatinine clearance" in q for q in questions)


@pytest.mark.parametrize("kwargs, expected", [
    ({"crcl": 70}, "60 mg once daily"),
    ({"crcl": 50}, "30 mg once daily"),
    ({"crcl": 70, "weight": 60}, "30 mg once daily"),
    ({"crcl": 70, "medications": ("erythromycin",)}, "30 mg once daily"),
    ({"crcl": 70, "medications": ("dronedarone",)}, "30 mg once daily"),
    ({"crcl": 14}, "do not use"),
    ({"crcl": 96}, "do not use"),
])
def test_edoxaban_branches(kwargs, expected):
    assert dose(patient(**kwargs), "edoxaban") == expected


@pytest.mark.parametrize("kwargs, expected", [
    ({"age": 70, "crcl": 70}, "150 mg twice daily"),
    ({"age": 80, "crcl": 70}, "110 mg twice daily"),
    ({"age": 70, "crcl": 70, "medications": ("verapamil",)}, "110 mg twice daily"),
    ({"age": 77, "crcl": 70}, "110 mg twice daily to be considered (individual assessment of stroke and bleeding risk)"),
    ({"age": 70, "crcl": 40}, "110 mg twice daily to be considered (individual assessment of stroke and bleeding risk)"),
    ({"age": 70, "crcl": 29}, "do not use"),
    ({"age": 70, "crcl": 70, "medications": ("ketoconazole",)}, "do not use"),
])
def test_dabigatran_branches(kwargs, expected):
    assert dose(patient(**kwargs), "dabigatran") == expected


def test_a_current_doac_above_its_label_dose_is_a_dose_change():
    # Apixaban 5 mg in the record for an 84-year-old of 52 kg: the label says 2.5 mg twice daily.
    from medassist.recommend.engine import current_medication_warnings

    ctx = patient(84, 52, 1.1, 40, medications=("apixaban",))
    ctx.medication_labels["apixaban"] = "Apixaban 5 MG Oral Tablet"
    warnings = current_medication_warnings(KB, ctx, [])
    dose_change = [w for w in warnings if w.kind == "dose"]
    assert dose_change and dose_change[0].change == "dose" and dose_change[0].severity == "major"
    assert "2.5 mg twice daily" in dose_change[0].message and "5 mg" in dose_change[0].message
