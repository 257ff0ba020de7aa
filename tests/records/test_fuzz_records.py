"""Fuzzing every records reader with mutated real inputs (Synthea CSV folders, FHIR JSON and
NDJSON, XLSX, Parquet) and hypothesis-generated CSV text. The only outcomes are PatientRecords
(with problems in its ImportReport) or a one-line InputError naming the file; counts asserted."""

from __future__ import annotations

import io
import json
import random
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medassist.errors import InputError
from medassist.records.importer import import_records
from medassist.records.schema import PatientRecords
from tests.mutators import csv_value_mutant, json_value_mutant, mutations, tally

OUTCOMES = ("read", "flagged", "refused")  # besides "crashed"

MUTANTS_PER_INPUT = 12  # per file in the default run; the slow run tries SLOW_MUTANTS
SLOW_MUTANTS = 150
MAX_SECONDS_PER_INPUT = 10.0
COHORT_A = Path("synthea") / "cohort_a_california_59pts"

PATIENTS_CSV = """Id,BIRTHDATE,DEATHDATE,SSN,DRIVERS,PASSPORT,PREFIX,FIRST,LAST,SUFFIX,MAIDEN,MARITAL,RACE,ETHNICITY,GENDER,BIRTHPLACE,ADDRESS,CITY,STATE,COUNTY,ZIP,LAT,LON,HEALTHCARE_EXPENSES,HEALTHCARE_COVERAGE
593aaa05-d864-1df7-5b96-155fbdb19f28,2021-08-22,,999-75-6624,,,,Jorge Luis88,Vela532,,,,white,hispanic,M,Lima  Lima Province  PE,568 Hills Branch Unit 86,Visalia,California,Tulare County,93291,36.41989374333241,-119.41106704250097,2191.712,3642.528
ac71ad72-4172-803c-4e82-448f043d8db3,1959-09-20,,999-16-9876,,,Mrs.,Maude482,Wunsch504,,,M,asian,nonhispanic,F,Castro Valley  California  US,418 Olson Landing Apt 2,Long Beach,California,Los Angeles County,90804,33.81058949611552,-118.20677796635957,313657.15,3652.56
"""
CONDITIONS_CSV = """START,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION
2013-12-18,2014-03-09,ac71ad72-4172-803c-4e82-448f043d8db3,74e6d5a6-aa39-0711-7d9b-c9d05a1d9cbf,359817006,Closed fracture of hip
2019-06-29,2019-08-14,ac71ad72-4172-803c-4e82-448f043d8db3,e3014333-5601-4faa-6561-0d4c9b1a04e2,36971009,Sinusitis (disorder)
2015-01-02,,ac71ad72-4172-803c-4e82-448f043d8db3,e3014333-5601-4faa-6561-0d4c9b1a04e2,38341003,Hypertension
"""
MEDICATIONS_CSV = """START,STOP,PATIENT,PAYER,ENCOUNTER,CODE,DESCRIPTION,BASE_COST,PAYER_COVERAGE,DISPENSES,TOTALCOST,REASONCODE,REASONDESCRIPTION
2013-12-18T15:27:41Z,2014-03-09T15:27:41Z,ac71ad72-4172-803c-4e82-448f043d8db3,6e2f1a2d-27bd-3701-8d08-dae202c58632,74e6d5a6-aa39-0711-7d9b-c9d05a1d9cbf,198405,Ibuprofen 100 MG Oral Tablet,13.30,0.00,2,26.60,,
2022-01-20T06:19:41Z,2022-01-30T00:19:41Z,ac71ad72-4172-803c-4e82-448f043d8db3,6e2f1a2d-27bd-3701-8d08-dae202c58632,974fa2f8-5e99-d8ab-09d0-3afcf244cafd,834061,Penicillin V Potassium 250 MG Oral Tablet,25.29,0.00,1,25.29,43878008,Streptococcal sore throat (disorder)
"""
ALLERGIES_CSV = """START,STOP,PATIENT,ENCOUNTER,CODE,SYSTEM,DESCRIPTION,TYPE,CATEGORY,REACTION1,DESCRIPTION1,SEVERITY1,REACTION2,DESCRIPTION2,SEVERITY2
1999-12-29,,ac71ad72-4172-803c-4e82-448f043d8db3,05f02dc6-afc4-2b83-560b-b6755ad49294,111088007,SNOMED-CT,Latex (substance),allergy,environment,39579001,Anaphylaxis (disorder),SEVERE,,,
"""
OBSERVATIONS_CSV = """DATE,PATIENT,ENCOUNTER,CATEGORY,CODE,DESCRIPTION,VALUE,UNITS,TYPE
2021-08-23T03:26:50Z,593aaa05-d864-1df7-5b96-155fbdb19f28,33dc326d-4b64-921b-4afe-6456415a2e78,vital-signs,8302-2,Body Height,49.2,cm,numeric
2021-08-23T03:26:50Z,593aaa05-d864-1df7-5b96-155fbdb19f28,33dc326d-4b64-921b-4afe-6456415a2e78,vital-signs,29463-7,Body Weight,3.9,kg,numeric
2021-08-23T03:26:50Z,ac71ad72-4172-803c-4e82-448f043d8db3,33dc326d-4b64-921b-4afe-6456415a2e78,vital-signs,8480-6,Systolic Blood Pressure,148,mm[Hg],numeric
"""
SELF_MADE_SYNTHEA = {
    "patients.csv": PATIENTS_CSV,
    "conditions.csv": CONDITIONS_CSV,
    "medications.csv": MEDICATIONS_CSV,
    "allergies.csv": ALLERGIES_CSV,
    "observations.csv": OBSERVATIONS_CSV,
}

PATIENT = {
    "resourceType": "Patient", "id": "p1",
    "name": [{"family": "Lopez-Garrido", "given": ["Maria"]}],
    "gender": "female", "birthDate": "1958-04-17",
    "address": [{"city": "Springfield", "state": "Massachusetts", "country": "US"}],
}
CONDITION = {
    "resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003", "display": "Hypertension"}]},
    "onsetDateTime": "2015-06-01T00:00:00Z",
}
MEDICATION = {
    "resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order",
    "subject": {"reference": "Patient/p1"}, "authoredOn": "2015-06-02T00:00:00Z",
    "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                              "code": "314076", "display": "Lisinopril 10 MG Oral Tablet"}]},
}
ALLERGY = {
    "resourceType": "AllergyIntolerance", "id": "a1", "patient": {"reference": "Patient/p1"},
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91936005", "display": "Allergy to penicillin"}]},
    "recordedDate": "2010-02-01",
}
OBSERVATION = {
    "resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/p1"},
    "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6", "display": "Systolic blood pressure"}]},
    "effectiveDateTime": "2024-03-04T10:00:00Z", "valueQuantity": {"value": 148, "unit": "mm[Hg]"},
}
RESOURCES = [PATIENT, CONDITION, MEDICATION, ALLERGY, OBSERVATION]


def fhir_bundle_bytes() -> bytes:
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in RESOURCES]}
    return json.dumps(bundle, indent=1).encode()


def fhir_ndjson_bytes() -> bytes:
    return "".join(json.dumps(r) + "\n" for r in RESOURCES).encode()


def table_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "patient_id": ["P-1", "P-2", "P-3", "P-4"],
        "given_name": ["Maria", "John", "Ana", "Li"],
        "family_name": ["Lopez", "Smith", "Silva", "Wei"],
        "birth_date": ["1958-04-17", "1990-01-01", "1975-12-31", "2001-06-30"],
        "sex": ["female", "male", "female", "male"],
        "weight_kg": [71.0, 80.5, float("nan"), 64.0],
    })


def frame_bytes(fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "xlsx":
        table_frame().to_excel(buffer, index=False)
    else:
        table_frame().to_parquet(buffer, index=False)
    return buffer.getvalue()


def check_outcome(path: Path, named: Path | None = None) -> str:
    """``read``, ``flagged`` (read, with problems reported) or ``refused``; anything else
    (another exception, a multi-line reason, too slow) fails the test."""
    named = named or path
    start = time.perf_counter()
    try:
        records = import_records(path, remembered={})
    except InputError as exc:
        assert exc.reason and "\n" not in exc.reason, exc.reason
        assert exc.source is not None and (exc.source == str(path) or exc.source.startswith(str(named))), exc.source
        outcome = "refused"
    else:
        assert isinstance(records, PatientRecords)
        records.counts()
        outcome = "flagged" if records.report.problems else "read"
    assert time.perf_counter() - start < MAX_SECONDS_PER_INPUT, f"{path} took too long"
    return outcome


def fuzz_file(tmp_path: Path, name: str, original: bytes, n: int = MUTANTS_PER_INPUT) -> dict[str, int]:
    def written() -> Iterator[Path]:
        for index, mutant in enumerate(mutations(original, seed=zlib.crc32(name.encode()), n=n)):
            path = tmp_path / f"m{index}" / name
            path.parent.mkdir()
            path.write_bytes(mutant)
            yield path

    return tally(tmp_path, check_outcome, OUTCOMES, written(), n, name)


def fuzz_folder(tmp_path: Path, files: dict[str, bytes], n: int = MUTANTS_PER_INPUT) -> dict[str, int]:
    """Damage one file of a Synthea folder per mutant; the folder is imported as a whole."""
    names = sorted(files)

    def written() -> Iterator[Path]:
        for target in names:
            for index, mutant in enumerate(mutations(files[target], seed=zlib.crc32(target.encode()), n=n)):
                folder = tmp_path / f"{target}-{index}"
                folder.mkdir()
                for name in names:
                    (folder / name).write_bytes(mutant if name == target else files[name])
                yield folder

    return tally(tmp_path, check_outcome, OUTCOMES, written(), n * len(names))


def test_self_made_inputs_are_read_before_damage(tmp_path):
    for name, data in {"bundle.json": fhir_bundle_bytes(), "resources.ndjson": fhir_ndjson_bytes(),
                       "patients.xlsx": frame_bytes("xlsx"), "patients.parquet": frame_bytes("parquet")}.items():
        (tmp_path / name).write_bytes(data)
        assert import_records(tmp_path / name, remembered={}).has_patient("p1" if "json" in name else "P-1"), name
    folder = tmp_path / "synthea"
    folder.mkdir()
    for name, text in SELF_MADE_SYNTHEA.items():
        (folder / name).write_text(text)
    records = import_records(folder, remembered={})
    assert records.counts()["patients"] == 2 and records.counts()["conditions"] == 3


def test_damaged_self_made_synthea_folder(tmp_path):
    outcomes = fuzz_folder(tmp_path, {name: text.encode() for name, text in SELF_MADE_SYNTHEA.items()}, n=2)
    assert outcomes["read"] + outcomes["flagged"] > 0


@pytest.mark.slow
def test_damaged_self_made_synthea_folder_long(tmp_path):
    outcomes = fuzz_folder(tmp_path, {name: text.encode() for name, text in SELF_MADE_SYNTHEA.items()}, n=SLOW_MUTANTS // 5)
    assert outcomes["read"] + outcomes["flagged"] > 0 and outcomes["flagged"] + outcomes["refused"] > 0


SELF_MADE_FILES = [
    ("bundle.json", fhir_bundle_bytes),
    ("resources.ndjson", fhir_ndjson_bytes),
    ("patients.xlsx", lambda: frame_bytes("xlsx")),
    ("patients.parquet", lambda: frame_bytes("parquet")),
]


@pytest.mark.parametrize("name,make", SELF_MADE_FILES)
def test_damaged_self_made_files(tmp_path, name, make):
    outcomes = fuzz_file(tmp_path, name, make())
    assert outcomes["refused"] + outcomes["flagged"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("name,make", SELF_MADE_FILES)
def test_damaged_self_made_files_long(tmp_path, name, make):
    outcomes = fuzz_file(tmp_path, name, make(), n=SLOW_MUTANTS)
    assert outcomes["refused"] + outcomes["flagged"] > 0


@pytest.mark.data
def test_damaged_cohort_a_synthea_rows(shared_data, tmp_path):
    """The first rows of each real cohort_a table (whole files would make each import slow)."""
    source = shared_data / COHORT_A / "csv"
    files = {}
    for name in SELF_MADE_SYNTHEA:
        lines = (source / name).read_bytes().splitlines(keepends=True)
        files[name] = b"".join(lines[:40])
    outcomes = fuzz_folder(tmp_path, files, n=1)
    assert outcomes["read"] + outcomes["flagged"] > 0


@pytest.mark.data
def test_damaged_cohort_a_fhir_bundle(shared_data, tmp_path):
    bundle = min((shared_data / COHORT_A / "fhir").glob("*.json"), key=lambda p: p.stat().st_size)
    outcomes = fuzz_file(tmp_path, bundle.name, bundle.read_bytes(), n=6)
    assert outcomes["refused"] + outcomes["flagged"] > 0


def test_a_damaged_file_beside_good_ones_keeps_the_good_rows(tmp_path):
    """A FHIR folder with one torn bundle still imports the intact bundle and names the torn one."""
    (tmp_path / "good.json").write_bytes(fhir_bundle_bytes())
    (tmp_path / "torn.json").write_bytes(fhir_bundle_bytes()[:200])
    records = import_records(tmp_path, remembered={})
    assert records.has_patient("p1")
    assert any("torn.json" in str(problem) for problem in records.report.problems)


CSV_CELL = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
CSV_TEXT = {
    "header": st.lists(st.sampled_from(["patient_id", "given_name", "birth_date", "sex", "weight_kg", "Id", "x", ""]),
                       min_size=1, max_size=6),
    "rows": st.lists(st.lists(CSV_CELL, max_size=7), max_size=8),
    "encoding": st.sampled_from(["utf-8", "utf-16", "latin-1"]),
}


def write_and_check(folder: Path, header: list[str], rows: list[list[str]], encoding: str) -> None:
    text = "\n".join([",".join(header)] + [",".join(row) for row in rows])
    path = folder / "generated.csv"
    path.write_bytes(text.encode(encoding, errors="replace"))
    check_outcome(path)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**CSV_TEXT)
def test_generated_csv_text_reads_or_is_refused(tmp_path, header, rows, encoding):
    write_and_check(tmp_path, header, rows, encoding)


@pytest.mark.slow
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**CSV_TEXT)
def test_generated_csv_text_long(tmp_path, header, rows, encoding):
    write_and_check(tmp_path, header, rows, encoding)


def test_a_repeated_column_name_keeps_the_first_column_and_says_so(tmp_path):
    """Found by the folder fuzz: a bit flip turned allergies.csv's DESCRIPTION1 into a second
    DESCRIPTION2, and the import crashed with AttributeError instead of reading the rows."""
    folder = tmp_path / "synthea"
    folder.mkdir()
    for name, text in SELF_MADE_SYNTHEA.items():
        (folder / name).write_text(text.replace("DESCRIPTION1", "DESCRIPTION2") if name == "allergies.csv" else text)
    records = import_records(folder, remembered={})
    assert records.counts()["allergies"] == 1
    assert any("DESCRIPTION2" in problem.reason and problem.file == "allergies.csv" for problem in records.report.problems)
    table = tmp_path / "patients.csv"
    table.write_text("patient_id,sex,patient_id \nP-1,female,X\nP-2,male,Y\n")
    records = import_records(table, remembered={})
    assert records.patient_ids == ["P-1", "P-2"]
    assert any("patient_id" in problem.reason for problem in records.report.problems)


def test_a_damaged_year_is_reported_and_the_row_kept(tmp_path):
    """Found by a wider fuzz run: a truncated year ('021-08-23T03:26:50Z') parsed as year 21, which
    no timestamp can hold, and the import crashed with OutOfBoundsDatetime."""
    path = tmp_path / "observations.csv"
    path.write_text(OBSERVATIONS_CSV.replace("2021-08-23T03:26:50Z", "021-08-23T03:26:50Z", 1))
    records = import_records(path, remembered={})
    assert records.counts()["observations"] == 3
    assert any("outside" in problem.reason and "021-08-23" in problem.reason for problem in records.report.problems)


@pytest.mark.parametrize("year", ["0021", "9999"])
def test_fhir_dates_no_timestamp_can_hold_are_left_empty(tmp_path, year):
    """Valid FHIR dates outside 1678-2261 crashed the import (OutOfBoundsDatetime); the rest is kept."""
    resources = [dict(PATIENT, birthDate=f"{year}-04-17"), dict(CONDITION, onsetDateTime=f"{year}-06-01T00:00:00Z"), OBSERVATION]
    path = tmp_path / "resources.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in resources))
    records = import_records(path, remembered={})
    assert records.has_patient("p1") and records.counts()["conditions"] == records.counts()["observations"] == 1
    assert records.patients["birth_date"].isna().all() and records.conditions["onset"].isna().all()


def test_a_csv_holding_only_a_byte_order_mark_is_refused(tmp_path):
    """Found by the generated-CSV property: an empty UTF-16 file (just its BOM) raised IndexError."""
    path = tmp_path / "patients.csv"
    path.write_bytes("".encode("utf-16"))
    with pytest.raises(InputError, match="patients.csv"):
        import_records(path, remembered={})


# structure-aware mutants: odd JSON types and limits, odd dates, wide headers, long fields, UTF-16 --

VALUE_MUTANTS = 10  # per input kind in the default run
SLOW_VALUE_MUTANTS = 2_000  # per input kind: 10,000 in the slow run


def ndjson_mutant(rng: random.Random) -> bytes:
    lines = fhir_ndjson_bytes().decode().splitlines()
    victim = rng.randrange(len(lines))
    lines[victim] = json_value_mutant(json.loads(lines[victim]), rng).decode()
    return ("\n".join(lines) + "\n").encode()


VALUE_KINDS = {
    "bundle.json": lambda rng: json_value_mutant(json.loads(fhir_bundle_bytes()), rng),
    "resources.ndjson": ndjson_mutant,
    "conditions.csv": lambda rng: csv_value_mutant(CONDITIONS_CSV, rng),
    "observations.csv": lambda rng: csv_value_mutant(OBSERVATIONS_CSV, rng),
    "patients.csv": lambda rng: csv_value_mutant(rng.choice((PATIENTS_CSV, table_frame().to_csv(index=False))), rng),
}


def fuzz_values(tmp_path: Path, name: str, n: int) -> dict[str, int]:
    rng = random.Random(zlib.crc32(name.encode()))

    def written() -> Iterator[Path]:
        for index in range(n):
            path = tmp_path / f"v{index % 50}" / name
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(VALUE_KINDS[name](rng))
            yield path

    return tally(tmp_path, check_outcome, OUTCOMES, written(), n, name)


@pytest.mark.parametrize("name", sorted(VALUE_KINDS))
def test_value_mutants_are_read_or_refused(tmp_path, name):
    outcomes = fuzz_values(tmp_path, name, VALUE_MUTANTS)
    assert outcomes["flagged"] + outcomes["refused"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(VALUE_KINDS))
def test_value_mutants_long(tmp_path, name):
    outcomes = fuzz_values(tmp_path, name, SLOW_VALUE_MUTANTS)
    assert outcomes["flagged"] + outcomes["refused"] > 0 and outcomes["read"] + outcomes["flagged"] > 0
