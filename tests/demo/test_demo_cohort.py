"""The demo cohort: deterministic, in the normalized schema, clinically coherent, images readable."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pydicom
import pytest

from medassist.demo import PUBLIC_IMAGE_NOTICE, build_demo
from medassist.records.codes import CODE_TO_MEASURE, MEASURES
from medassist.records.schema import SCHEMA, TABLES, conform
from medassist.records.summary import (
    active_allergies,
    active_conditions,
    age_years,
    current_medications,
    latest_value,
    observation_series,
)

TODAY = date(2026, 11, 22)

# loose physiological limits: a value outside them is a typo, not a patient
PLAUSIBLE = {
    "body_temperature": (34, 42), "heart_rate": (30, 200), "respiratory_rate": (6, 60), "systolic_bp": (70, 230),
    "diastolic_bp": (40, 130), "oxygen_saturation": (70, 100), "body_weight": (2, 250), "body_height": (45, 220),
    "bmi": (10, 60), "egfr": (5, 150), "creatinine": (0.2, 10), "hba1c": (4, 15), "wbc": (1, 40), "crp": (0, 400),
}


@pytest.fixture(scope="module")
def demo():
    return build_demo(seed=7, today=TODAY)


@pytest.fixture(scope="module")
def records(demo):
    return demo.records


def test_same_seed_same_cohort_and_other_seed_other_values(demo):
    again = build_demo(seed=7, today=TODAY)
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(demo.records, table), getattr(again.records, table))
    assert again.image_paths == demo.image_paths
    other = build_demo(seed=8, today=TODAY)
    assert other.records.patient_ids == demo.records.patient_ids
    assert not other.records.observations["value"].equals(demo.records.observations["value"])


def test_cohort_is_in_the_normalized_schema(records):
    assert 18 <= len(records.patient_ids) <= 22
    assert len(set(records.patient_ids)) == len(records.patient_ids)
    for table in TABLES:
        frame = getattr(records, table)
        assert list(frame.columns) == list(SCHEMA[table]), table
        pd.testing.assert_frame_equal(frame, conform(table, frame))
        assert set(frame["source"]) == {"demo"}, table
    assert records.encounters["encounter_id"].is_unique and records.notes["note_id"].is_unique


def test_measures_use_the_medassist_codes_and_units_with_plausible_values(records):
    obs = records.observations
    known = obs[obs["code"].isin(CODE_TO_MEASURE)]
    assert len(known) > 300
    for row in known.itertuples():
        measure = CODE_TO_MEASURE[row.code]
        assert row.unit == measure.unit, (row.code, row.unit)
        assert row.system == "LOINC"
        if measure.name in PLAUSIBLE and pd.notna(row.value):
            low, high = PLAUSIBLE[measure.name]
            assert low <= row.value <= high, (row.patient_id, measure.name, row.value)


def test_every_result_belongs_to_an_encounter_of_the_same_patient_and_falls_within_it(records):
    encounters = records.encounters.set_index("encounter_id")
    for row in records.observations.itertuples():
        encounter = encounters.loc[row.encounter_id]
        assert encounter["patient_id"] == row.patient_id
        assert encounter["start"] <= row.date <= encounter["stop"]


def test_every_patient_has_encounters_notes_and_every_medicine_a_reason(records):
    for pid in records.patient_ids:
        assert not records.for_patient("encounters", pid).empty, pid
        assert not records.for_patient("notes", pid).empty, pid
        assert records.for_patient("notes", pid)["text"].str.len().min() > 80
    meds = records.medications
    assert meds["reason_description"].notna().all() and (meds["system"] == "RxNorm").all()
    assert (records.conditions["system"] == "SNOMED-CT").all()


def _find(records, condition: str) -> str:
    """The one patient with an active problem whose description contains ``condition``."""
    hits = [pid for pid in records.patient_ids
            if active_conditions(records, pid)["description"].str.contains(condition, case=False).any()]
    assert len(hits) >= 1, condition
    return hits[0]


def test_featured_patient_has_penicillin_allergic_community_acquired_pneumonia(demo, records):
    pid = demo.featured_patient_id
    assert _find(records, "community acquired pneumonia") == pid
    assert active_allergies(records, pid)["description"].str.contains("penicillin", case=False).any()
    assert latest_value(records, pid, "body_temperature").value >= 38.0
    assert latest_value(records, pid, "crp").value > MEASURES["crp"].normal_range[1]
    assert latest_value(records, pid, "wbc").value > MEASURES["wbc"].normal_range[1]
    assert latest_value(records, pid, "oxygen_saturation").value < 95
    note = " ".join(records.for_patient("notes", pid)["text"]).lower()
    assert "cough" in note and "crackles" in note
    # a clinical diagnosis: the only public chest films are of a 64-year-old woman (see test_recmodels_demo_story)
    assert "chest radiograph (requested" in note and pid not in demo.image_paths


def test_child_with_pneumonia_is_about_four_and_weighed(records):
    child = [p for p in records.patient_ids if age_years(records, p) < 12
             and active_conditions(records, p)["description"].str.contains("pneumonia", case=False).any()]
    assert len(child) == 1
    pid = child[0]
    assert 3.5 <= age_years(records, pid) <= 4.6
    weight = latest_value(records, pid, "body_weight")
    assert weight is not None and 12 <= weight.value <= 22
    assert latest_value(records, pid, "body_temperature").value >= 38.0
    assert records.patient_row(pid)["weight_kg"] == weight.value


def test_warfarin_patient_has_atrial_fibrillation_and_inr(records):
    pid = _find(records, "atrial fibrillation")
    meds = current_medications(records, pid)
    warfarin = meds[meds["description"].str.contains("warfarin", case=False)]
    assert list(warfarin["code"]) == ["11289"]
    inr = records.for_patient("observations", pid)
    assert (inr["code"] == "6301-6").sum() >= 2


def test_ckd_patient_has_egfr_below_30_falling_and_still_takes_metformin(records):
    pid = _find(records, "chronic kidney disease")
    series = [v.value for v in observation_series(records, pid, "egfr")]
    assert series[-1] < 30 and series == sorted(series, reverse=True)
    assert current_medications(records, pid)["description"].str.contains("metformin", case=False).any()


def test_diabetic_patient_has_full_labs(records):
    diabetics = [p for p in records.patient_ids
                 if active_conditions(records, p)["description"].str.contains("type 2 diabetes", case=False).any()]
    full = [p for p in diabetics if all(latest_value(records, p, m) for m in (
        "glucose", "fasting_glucose", "hba1c", "insulin", "total_cholesterol", "ldl", "hdl", "triglycerides",
        "creatinine", "egfr", "bmi", "diastolic_bp"))]
    assert full
    assert latest_value(records, full[0], "hba1c").value > MEASURES["hba1c"].normal_range[1]


def test_heart_disease_risk_patient_has_the_model_inputs(records):
    pid = _find(records, "chest pain")
    for measure in ("systolic_bp", "total_cholesterol", "fasting_glucose", "max_heart_rate"):
        assert latest_value(records, pid, measure) is not None, measure
    assert latest_value(records, pid, "fasting_glucose").value > 120
    assert latest_value(records, pid, "total_cholesterol").value > 240


@pytest.mark.parametrize("condition", ["heart failure", "chronic obstructive", "asthma", "pregnancy"])
def test_required_stories_are_present(records, condition):
    _find(records, condition)


def test_pregnant_patient_is_flagged_female_with_a_positive_test(records):
    pid = _find(records, "pregnancy")
    row = records.patient_row(pid)
    assert bool(row["pregnant"]) and row["sex"] == "female"
    tests = records.for_patient("observations", pid)
    assert (tests[tests["code"].isin(MEASURES["pregnancy_test"].codes)]["value_text"] == "Positive").any()
    assert records.patients["pregnant"].sum() == 1


def test_healthy_adult_has_normal_values_and_no_problems(demo, records):
    pid = [p for p in records.patient_ids if records.for_patient("conditions", p).empty
           and records.for_patient("medications", p).empty and 18 <= age_years(records, p) < 65]
    assert len(pid) == 1
    pid = pid[0]
    checked = 0
    for name, measure in MEASURES.items():
        value = latest_value(records, pid, name)
        if value is not None and measure.normal_range is not None:
            low, high = measure.normal_range
            assert low <= value.value <= high, (name, value.value)
            checked += 1
    assert checked >= 10


def test_every_demo_image_exists_is_readable_and_declared_a_public_test_image(demo, records):
    assert len(demo.image_paths) >= 8
    for pid, paths in demo.image_paths.items():
        assert records.has_patient(pid)
        for path in paths:
            assert path.is_file()
            dataset = pydicom.dcmread(path)
            assert dataset.pixel_array.size > 0, path
        notes = " ".join(records.for_patient("notes", pid)["text"])
        assert PUBLIC_IMAGE_NOTICE in notes and all(p.name in notes for p in paths)
