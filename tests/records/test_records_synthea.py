"""Synthea CSV exports: every cohort in ../shared/data reads completely, codes and systems kept."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from medassist.records import summary
from medassist.records.importer import detect_format, import_records
from medassist.records.synthea import FILES

COHORTS = ("cohort_a_california_59pts", "cohort_b_nebraska_111pts", "cohort_c_uk_543pts")


def csv_rows(path) -> int:
    with open(path, newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


@pytest.fixture(scope="module")
def cohorts(shared_data, cohort_a_csv):
    folders = {name: shared_data / "synthea" / name / "csv" for name in COHORTS}
    # b and c are opened at the cohort folder: the reader finds their csv/ subfolder
    read = {name: cohort_a_csv if name == COHORTS[0] else import_records(folder.parent, remembered={}) for name, folder in folders.items()}
    return {name: (folders[name], read[name]) for name in COHORTS}


@pytest.mark.parametrize("cohort", COHORTS)
def test_cohort_counts_match_the_csv_files(cohorts, cohort):
    folder, records = cohorts[cohort]
    counts = records.counts()
    for table, name in FILES.items():
        expected = csv_rows(folder / name) if (folder / name).exists() else 0
        assert counts[table] == expected, table
    assert counts["notes"] == 0  # Synthea CSV exports carry no notes
    assert records.report.problems == []
    assert records.report.files and all(str(folder) in f for f in records.report.files)


def test_cohort_a_values_codes_and_systems(cohorts):
    folder, records = cohorts["cohort_a_california_59pts"]
    raw = pd.read_csv(folder / "patients.csv", dtype=str)
    assert set(records.patient_ids) == set(raw["Id"])
    deceased = raw["DEATHDATE"].notna().sum()
    assert records.patients["death_date"].notna().sum() == deceased == 9
    assert set(records.patients["sex"]) <= {"male", "female"}
    assert records.patients["birth_date"].notna().all()
    assert set(records.conditions["system"]) == {"SNOMED-CT"}
    assert set(records.medications["system"]) == {"RxNorm"}
    assert set(records.observations["system"]) == {"LOINC"}
    assert set(records.allergies["system"]) <= {"SNOMED-CT", "RxNorm"}
    heights = records.observations[records.observations["code"] == "8302-2"]
    assert (heights["unit"] == "cm").all() and heights["value"].notna().all()
    smoking = records.observations[records.observations["code"] == "72166-2"]
    assert smoking["value"].isna().all() and smoking["value_text"].notna().all()
    latex = records.allergies[records.allergies["description"] == "Latex (substance)"].iloc[0]
    assert latex["severity"] == "severe" and "Anaphylaxis" in latex["reaction"]
    first = raw.iloc[0]
    assert records.display_name(first["Id"]) == f"{first['FIRST']} {first['LAST']}"
    assert records.patient_row(first["Id"])["birth_date"] == pd.Timestamp(first["BIRTHDATE"])


def test_cohort_a_summary_answers_come_from_the_import(cohorts):
    _folder, records = cohorts["cohort_a_california_59pts"]
    counts = records.observations.groupby("patient_id").size()
    pid = counts.idxmax()
    weights = summary.observation_series(records, pid, "body_weight")
    assert weights and all(v.unit == "kg" for v in weights)
    assert [v.date for v in weights] == sorted(v.date for v in weights)
    active = summary.active_conditions(records, pid)
    assert active["abatement"].isna().all()


def test_single_synthea_table_is_recognized(shared_data):
    cohort = shared_data / "synthea" / "cohort_b_nebraska_111pts"
    assert detect_format(cohort) == "synthea"
    assert detect_format(cohort / "csv" / "allergies.csv") == "synthea"
    only_allergies = import_records(cohort / "csv" / "allergies.csv", remembered={})
    assert only_allergies.counts()["allergies"] == csv_rows(cohort / "csv" / "allergies.csv")
    # without patients.csv, each referenced patient is added by ID and the report says so
    assert only_allergies.counts()["patients"] == only_allergies.allergies["patient_id"].nunique()
    assert all("no patient table" in p.reason for p in only_allergies.report.problems)
