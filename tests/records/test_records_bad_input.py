"""Bad input: every good row is kept, every problem is reported with file, line and reason,
nothing crashes, and nothing on disk changes."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medassist.errors import InputError
from medassist.records.importer import import_records

PATIENTS = (
    "Id,BIRTHDATE,DEATHDATE,FIRST,LAST,GENDER\n"
    "p1,1950-01-01,,Ann,Doe,F\n"
    "p2,31/31/1960,,Bob,Roe,M\n"  # line 3: unknown birth date
    "p3,1970-05-05,,Cy,Poe,M,extra\n"  # line 4: too many fields
    "p1,1950-01-01,,Ann,Again,F\n"  # line 5: duplicate ID
    "p4,1980-02-02,,\"Di,Lee,F\n"  # line 6: unbalanced quote
    "p5,1990-03-03,,Ed,Fox,M\n"  # line 7: read again after the broken quote
)
OBSERVATIONS = (
    "DATE,PATIENT,ENCOUNTER,CATEGORY,CODE,DESCRIPTION,VALUE,UNITS,TYPE\n"
    "2020-01-01,p1,e1,laboratory,2339-0,Glucose,100,mg/dL,numeric\n"
    "2020-02-01,p1,e1,laboratory,2339-0,Glucose,110,mg/dL,numeric\n"
    "2020-03-01,p1,e1,laboratory,2339-0,Glucose,6.1,mmol/L,numeric\n"  # line 4: other unit, convertible
    "2020-04-01,p1,e1,laboratory,2339-0,Glucose,3,furlongs,numeric\n"  # line 5: other unit, not convertible
    "2020-05-01,p1,e1,laboratory,2339-0,Glucose,n/a,mg/dL,numeric\n"  # line 6: not a number
    "2020-06-01,p9,e2,vital-signs,8867-4,Heart rate,70,/min,numeric\n"  # line 7: patient not in patients.csv
    "2020-06-01,,e2,vital-signs,8867-4,Heart rate,70,/min,numeric\n"  # line 8: no patient
)
ENCOUNTERS = (
    "Id,START,STOP,PATIENT,ENCOUNTERCLASS,CODE,DESCRIPTION\n"
    "e1,2020-01-01T10:00:00Z,2020-01-01T11:00:00Z,p1,ambulatory,185349003,Check up\n"
    "e1,2020-01-02T10:00:00Z,2020-01-02T11:00:00Z,p1,ambulatory,185349003,Check up again\n"  # line 3: duplicate
)


def write(folder, name, text, encoding="utf-8"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(text.encode(encoding))


def digest(folder):
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def problems(records, file):
    return {p.location: p.reason for p in records.report.problems if p.file == file}


@pytest.fixture()
def export(tmp_path):
    folder = tmp_path / "export"
    write(folder, "patients.csv", PATIENTS)
    write(folder, "observations.csv", OBSERVATIONS)
    write(folder, "encounters.csv", ENCOUNTERS)
    write(folder, "conditions.csv", "START,STOP,PATIENT,ENCOUNTER,DESCRIPTION\n2020-01-01,,p1,e1,Hypertension\n")
    return folder


def test_every_good_row_is_kept_and_every_problem_reported(export):
    before = digest(export)
    records = import_records(export, remembered={})
    assert digest(export) == before  # nothing on disk changed

    assert sorted(records.patient_ids) == ["p1", "p2", "p5", "p9"]
    patient = problems(records, "patients.csv")
    assert patient["line 3"] == "unknown date '31/31/1960' in BIRTHDATE; left empty"
    assert patient["line 4"] == "malformed row: expected 6 fields, found 7; row skipped"
    assert patient["line 5"] == "duplicate patient ID p1 (first at patients.csv line 2); row skipped"
    assert patient["line 6"] == "malformed row (unbalanced quote); row skipped"
    assert pd.isna(records.patient_row("p2")["birth_date"])
    assert records.display_name("p1") == "Ann Doe"

    observation = problems(records, "observations.csv")
    assert "mmol/L" in observation["line 4"] and "converted to mg/dL when shown" in observation["line 4"]
    assert "furlongs" in observation["line 5"] and "cannot be converted to mg/dL" in observation["line 5"]
    assert observation["line 6"] == "'n/a' in VALUE is not a number; kept as text"
    assert observation["line 7"] == "patient ID not in the patient table; patient added with its ID only (p9)"
    assert observation["line 8"] == "no patient ID; row skipped"
    assert len(records.observations) == 6
    glucose = records.observations[records.observations["code"] == "2339-0"]
    assert list(glucose["unit"]) == ["mg/dL", "mg/dL", "mmol/L", "furlongs", "mg/dL"]
    assert glucose["value_text"].iloc[-1] == "n/a"

    assert problems(records, "encounters.csv") == {
        "line 3": "duplicate encounter ID e1 (first at encounters.csv line 2); row skipped"}
    assert records.encounters["description"].tolist() == ["Check up"]

    [missing] = [p for p in records.report.problems if p.file == "conditions.csv"]
    assert missing.severity == "error" and missing.reason == "missing required column(s) CODE; file skipped"
    assert records.counts()["conditions"] == 0
    text = records.report.as_text()
    assert "[error] conditions.csv: missing required column(s) CODE" in text
    assert "patients.csv line 3: unknown date" in text


def test_non_utf8_files_fall_back_and_say_so(tmp_path):
    folder = tmp_path / "legacy"
    write(folder, "patients.csv", "Id,BIRTHDATE,FIRST,LAST,GENDER\np1,1950-01-01,Zoë,Müller,F\np2,1951-01-01,José,Peña,M\n", "cp1252")
    records = import_records(folder, remembered={})
    assert records.display_name("p1") == "Zoë Müller" and records.display_name("p2") == "José Peña"
    [problem] = records.report.problems
    assert (problem.file, problem.location) == ("patients.csv", "line 2")
    assert problem.reason == "file is not UTF-8 (first bad byte on this line); read as cp1252"
    # 0x81 is undefined in cp1252: latin-1 reads any byte
    write(folder, "patients.csv", "Id,BIRTHDATE,FIRST,LAST,GENDER\n", "ascii")
    with open(folder / "patients.csv", "ab") as handle:
        handle.write(b"p3,1952-01-01,A\x81a,B,F\n")
    records = import_records(folder, remembered={})
    assert records.patient_ids == ["p3"] and "read as latin-1" in records.report.problems[0].reason


def test_an_unreadable_file_in_a_folder_is_reported_and_the_rest_read(tmp_path):
    folder = tmp_path / "partial"
    write(folder, "patients.csv", "Id,BIRTHDATE,FIRST,LAST,GENDER\np1,1950-01-01,Ann,Doe,F\n")
    write(folder, "conditions.csv", "")
    records = import_records(folder, remembered={})
    assert records.patient_ids == ["p1"]
    assert [(p.file, p.severity, p.reason) for p in records.report.problems] == [
        ("conditions.csv", "error", "the file is empty; file skipped")]


def test_files_that_are_not_records_get_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no Synthea CSV files .* or FHIR JSON in this folder"):
        import_records(empty, remembered={})
    with pytest.raises(InputError, match="no such file or folder"):
        import_records(tmp_path / "missing.csv", remembered={})
    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(InputError, match="binary file, not patient records") as info:
        import_records(binary, remembered={})
    assert str(info.value).count("\n") == 0 and str(binary) in str(info.value)
    blank = tmp_path / "patients.xlsx"
    blank.write_bytes(b"")
    with pytest.raises(InputError, match="not a readable Excel workbook"):
        import_records(blank, remembered={})


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(min_value=0, max_value=len(PATIENTS)), junk=st.binary(max_size=40))
def test_damaged_csv_never_crashes_the_import(cut, junk):
    """Any prefix of a good file followed by junk bytes: records or a one-line InputError, nothing else."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "patients.csv"
        path.write_bytes(PATIENTS.encode()[:cut] + junk)
        try:
            records = import_records(Path(folder), remembered={})
        except InputError as exc:
            assert "\n" not in str(exc) and "patients.csv" in str(exc)
            return
        ids = records.patient_ids
        assert all(ids) and len(set(ids)) == len(ids)  # no empty or duplicate patient IDs survive
        assert all(p.file == "patients.csv" and p.reason for p in records.report.problems)
