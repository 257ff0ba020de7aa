"""Plain patient tables (CSV, XLSX, Parquet): guessed, explicit and remembered column mappings."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from medassist.errors import InputError
from medassist.records.importer import detect_format, import_records
from medassist.records.table import guess_mapping, layout_key, remembered_mapping, table_columns
from medassist.settings import Settings

ROWS = [
    {"MRN": "000123", "Patient Name": "Ann Marie Doe", "DOB": "1950-02-03", "Gender": "F", "Weight": "61.5", "Town": "Leeds"},
    {"MRN": "000124", "Patient Name": "Smith, John", "DOB": "03/15/1972", "Gender": "male", "Weight": "", "Town": "York"},
    {"MRN": "000125", "Patient Name": "Cher", "DOB": "1946-05-20", "Gender": "?", "Weight": "heavy", "Town": ""},
]


@pytest.fixture()
def frame() -> pd.DataFrame:
    return pd.DataFrame(ROWS)


def test_guess_mapping_reads_the_header():
    mapping = guess_mapping(["MRN", "Patient Name", "DOB", "Gender", "Weight", "Town", "Notes"])
    assert mapping == {"patient_id": "MRN", "full_name": "Patient Name", "birth_date": "DOB", "sex": "Gender",
                       "weight_kg": "Weight", "city": "Town"}
    assert guess_mapping(["id", "first_name", "last_name", "date_of_birth", "sex"]) == {
        "patient_id": "id", "given_name": "first_name", "family_name": "last_name", "birth_date": "date_of_birth", "sex": "sex"}


def check_rows(records):
    patients = records.patients.set_index("patient_id")
    assert list(patients.index) == ["000123", "000124", "000125"]  # leading zeros kept
    assert (patients.loc["000123", "given_name"], patients.loc["000123", "family_name"]) == ("Ann Marie", "Doe")
    assert (patients.loc["000124", "given_name"], patients.loc["000124", "family_name"]) == ("John", "Smith")
    assert pd.isna(patients.loc["000125", "given_name"]) and patients.loc["000125", "family_name"] == "Cher"
    assert patients.loc["000124", "birth_date"] == pd.Timestamp("1972-03-15")
    assert list(patients["sex"]) == ["female", "male", "unknown"]
    assert patients.loc["000123", "weight_kg"] == 61.5
    reasons = sorted(p.reason for p in records.report.problems)
    assert reasons == ["'heavy' in Weight is not a number; kept as text", "unknown sex '?'; recorded as unknown"]


def test_csv_table_with_guessed_mapping(frame, tmp_path):
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False)
    assert detect_format(path) == "table"
    records = import_records(path, remembered={})
    check_rows(records)
    assert {p.location for p in records.report.problems} == {"line 4"}


def test_xlsx_and_parquet_tables(frame, tmp_path):
    xlsx, parquet = tmp_path / "export.xlsx", tmp_path / "export.parquet"
    frame.to_excel(xlsx, index=False)
    frame.to_parquet(parquet)
    check_rows(import_records(xlsx, remembered={}))
    assert {p.location for p in import_records(xlsx, remembered={}).report.problems} == {"row 4"}
    check_rows(import_records(parquet, remembered={}))
    typed = frame.assign(DOB=pd.to_datetime(["1950-02-03", "1972-03-15", "1946-05-20"]), Weight=[61.5, None, None])
    typed.to_parquet(parquet)
    records = import_records(parquet, remembered={})
    assert list(records.patients["birth_date"]) == list(typed["DOB"])
    assert records.patients["weight_kg"].iloc[0] == 61.5


def test_explicit_mapping_and_semicolon_table(tmp_path):
    path = tmp_path / "praxis.csv"
    path.write_text("Nr;Vorname;Nachname;Geb;G\nA1;Eva;Koch;1980-01-02;w\nA2;Max;Roth;1979-12-31;m\n", encoding="utf-8")
    mapping = {"patient_id": "Nr", "given_name": "Vorname", "family_name": "Nachname", "birth_date": "Geb", "sex": "G"}
    records = import_records(path, mapping=mapping, remembered={})
    assert records.patient_ids == ["A1", "A2"]
    assert records.display_name("A1") == "Eva Koch"
    assert list(records.patients["sex"]) == ["female", "male"]
    with pytest.raises(InputError, match="column 'Birth' .*Birth date.* is not in the file"):
        import_records(path, mapping={"patient_id": "Nr", "birth_date": "Birth"}, remembered={})


def test_mapping_is_remembered_per_layout_in_the_settings(user_home, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("Key,Label,Born\nK1,Eva Koch,1980-01-02\n", encoding="utf-8")
    with pytest.raises(InputError, match="no patient ID column found among: Key, Label, Born"):
        import_records(path, remembered=Settings.load().column_mappings)
    columns, preview = table_columns(path)
    assert columns == ["Key", "Label", "Born"] and len(preview) == 1
    Settings.load().with_column_mapping(layout_key(columns), {"patient_id": "Key", "full_name": "Label",
                                                              "birth_date": "Born"}).save()
    stored = json.loads(Settings.path().read_text())["column_mappings"]
    assert list(stored) == [layout_key(columns)] == ["Born|Key|Label"]
    remembered = Settings.load().column_mappings
    assert remembered_mapping(["Born", "Label", "Key"], remembered) is not None  # same layout, other order
    records = import_records(path, remembered=remembered)
    assert records.display_name("K1") == "Eva Koch"
    assert records.patients["birth_date"].iloc[0] == pd.Timestamp("1980-01-02")
    assert remembered_mapping(["Key", "Label"], remembered) is None
    assert not (user_home / "config" / "column_mappings.json").exists()  # one home: the settings file


def test_a_table_that_is_not_patients_is_refused(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("item,price\napple,1\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        import_records(path, remembered={})
    assert "prices.csv" in str(info.value) and "no patient ID column" in str(info.value)
    other = tmp_path / "scan.png"
    other.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(InputError, match="not a records file"):
        import_records(other, remembered={})
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(InputError, match="not a readable Excel workbook"):
        import_records(broken, remembered={})
