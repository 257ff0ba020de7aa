"""FHIR R4: Synthea's bundles read to the same rows as the CSV export; NDJSON; bad entries."""

from __future__ import annotations

import base64
import json

import pandas as pd
import pytest

from medassist.errors import InputError
from medassist.records import summary
from medassist.records.importer import detect_format, import_records

NOT_IN_FHIR = {"QALY", "DALY", "QOLS"}  # Synthea writes these quality-of-life rows to CSV only


@pytest.fixture(scope="module")
def cohort_a(shared_data):
    return shared_data / "synthea" / "cohort_a_california_59pts"


@pytest.fixture(scope="module")
def fhir_records(cohort_a_fhir):
    return cohort_a_fhir


@pytest.fixture(scope="module")
def csv_records(cohort_a_csv):
    return cohort_a_csv


def test_bundles_match_the_csv_export_patient_by_patient(fhir_records, csv_records):
    assert fhir_records.report.problems == []
    assert fhir_records.counts()["patients"] == 4
    for pid in fhir_records.patient_ids:
        for table in ("conditions", "medications", "allergies", "encounters"):
            assert len(fhir_records.for_patient(table, pid)) == len(csv_records.for_patient(table, pid)), (pid, table)
        csv_obs = csv_records.for_patient("observations", pid)
        assert len(fhir_records.for_patient("observations", pid)) == (~csv_obs["code"].isin(NOT_IN_FHIR)).sum()
        fhir_codes = sorted(fhir_records.for_patient("conditions", pid)["code"])
        assert fhir_codes == sorted(csv_records.for_patient("conditions", pid)["code"])
        assert fhir_records.display_name(pid) == csv_records.display_name(pid)
        assert fhir_records.patient_row(pid)["birth_date"] == csv_records.patient_row(pid)["birth_date"]


def test_bundle_values_units_systems_and_notes(fhir_records, csv_records):
    obs = fhir_records.observations
    assert set(obs["system"]) == {"LOINC"}
    systolic = obs[obs["code"] == "8480-6"]
    assert len(systolic) and (systolic["unit"] == "mm[Hg]").all() and systolic["value"].between(50, 250).all()
    assert set(fhir_records.conditions["system"]) == {"SNOMED-CT"}
    assert set(fhir_records.medications["system"]) == {"RxNorm"}
    # same instants as the CSV (FHIR local offsets converted to UTC)
    pid = fhir_records.patient_ids[1]
    assert sorted(fhir_records.for_patient("encounters", pid)["start"]) == sorted(csv_records.for_patient("encounters", pid)["start"])
    notes = fhir_records.notes
    assert len(notes) == 54 and notes["text"].str.contains("# Chief Complaint").all()
    assert notes["date"].notna().all() and notes["title"].notna().all()
    # MedicationRequest with status 'stopped' is not a current medication even without an end date
    meds = fhir_records.medications
    assert set(meds["status"]) == {"stopped"}
    assert summary.current_medications(fhir_records, meds.iloc[0]["patient_id"]).empty


def resources(bundle_path):
    return [entry["resource"] for entry in json.loads(bundle_path.read_text())["entry"]]


def test_ndjson_reads_every_line_and_reports_bad_ones(cohort_a, fhir_records, tmp_path):
    bundle = sorted((cohort_a / "fhir").glob("Levi940*.json"))[0]
    items = resources(bundle)
    lines = [json.dumps(r) for r in items]
    bad_observation = {"resourceType": "Observation", "id": "bad-1", "status": "final", "code": {"text": "x"},
                       "subject": {"reference": "Patient/x"}, "effectiveDateTime": "last Tuesday"}
    lines.insert(3, json.dumps(bad_observation))
    lines.insert(5, '{"resourceType": "Condition", "id": "cut')
    lines.insert(7, "")
    path = tmp_path / "export.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    records = import_records(path, remembered={})
    pid = next(r["id"] for r in items if r["resourceType"] == "Patient")
    for table in ("conditions", "medications", "observations", "encounters", "notes"):
        assert len(records.for_patient(table, pid)) == len(fhir_records.for_patient(table, pid)), table
    problems = sorted(str(p) for p in records.report.problems)
    assert len(problems) == 2
    assert problems[0].startswith("export.ndjson line 4 (Observation/bad-1): invalid Observation: effectiveDateTime")
    assert problems[1].startswith("export.ndjson line 6: not valid JSON")


def test_truncated_bundle_keeps_complete_entries(cohort_a, tmp_path):
    bundle = sorted((cohort_a / "fhir").glob("Man114*.json"))[0]
    text = bundle.read_text(encoding="utf-8")
    document = json.loads(text)
    cut = tmp_path / "cut.json"
    cut.write_text(text[: len(text) // 2], encoding="utf-8")
    records = import_records(cut, remembered={})
    [problem] = records.report.problems
    assert problem.file == "cut.json" and problem.location.startswith("line ")
    assert "truncated" in problem.reason
    kept = int(problem.reason.split("the ")[1].split(" complete")[0])
    assert 0 < kept < len(document["entry"])
    assert records.counts()["patients"] == 1  # Patient is the first entry
    expected_encounters = sum(1 for e in document["entry"][:kept] if e["resource"]["resourceType"] == "Encounter")
    assert records.counts()["encounters"] == expected_encounters


def test_bad_entries_are_reported_and_the_rest_kept(tmp_path):
    note = base64.b64encode("Chest pain since this morning.\nNo fever.".encode()).decode()
    entries = [
        {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "id": "p1", "gender": "female",
                                                 "birthDate": "1950-02-03", "name": [{"family": "Doe", "given": ["Ann"]}]}},
        {"resource": {"resourceType": "Condition", "id": "c1", "subject": {"reference": "urn:uuid:p1"},
                      "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "I10", "display": "Hypertension"}]},
                      "onsetDateTime": "2020-05-01"}},
        {"resource": {"resourceType": "Condition", "id": "c2", "code": {"text": "no subject"}}},
        {"resource": {"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/p1"},
                      "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0"}]}, "effectiveDateTime": "2020-05-01",
                      "valueQuantity": {"value": "high", "unit": "mg/dL"}}},
        {"resource": {"resourceType": "AllergyIntolerance", "id": "a1", "patient": {"reference": "Patient/p1"},
                      "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "7980", "display": "Penicillin G"}]},
                      "reaction": [{"manifestation": [{"text": "Hives"}], "severity": "moderate"}]}},
        {"resource": {"resourceType": "DocumentReference", "id": "d1", "status": "current", "subject": {"reference": "Patient/p1"},
                      "date": "2020-05-01T10:00:00Z", "description": "ED note",
                      "content": [{"attachment": {"contentType": "text/plain", "data": note}}]}},
        {"resource": {"resourceType": "DocumentReference", "id": "d2", "status": "current", "subject": {"reference": "Patient/p1"},
                      "content": [{"attachment": {"contentType": "application/pdf", "url": "http://example.org/x.pdf"}}]}},
        {"resource": "not an object"},
        {"resource": {"resourceType": "Claim", "id": "ignored"}},
    ]
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}), encoding="utf-8")
    records = import_records(path, remembered={})
    assert records.counts() == {"patients": 1, "conditions": 1, "medications": 0, "allergies": 1,
                                "observations": 0, "encounters": 0, "notes": 1}
    condition = records.conditions.iloc[0]
    assert (condition["code"], condition["system"], condition["onset"]) == ("I10", "ICD-10", pd.Timestamp("2020-05-01"))
    allergy = records.allergies.iloc[0]
    assert (allergy["system"], allergy["reaction"], allergy["severity"]) == ("RxNorm", "Hives", "moderate")
    assert records.notes.iloc[0]["text"] == "Chest pain since this morning.\nNo fever."
    assert records.notes.iloc[0]["title"] == "ED note"
    reasons = {p.location.split(" (")[0]: p.reason for p in records.report.problems}
    assert set(reasons) == {"entry 3", "entry 4", "entry 7", "entry 8"}
    assert reasons["entry 3"].startswith("invalid Condition: subject: Field required")
    assert reasons["entry 4"].startswith("invalid Observation: valueQuantity.value")
    assert "application/pdf" in reasons["entry 7"]
    assert "no resource object" in reasons["entry 8"]


def test_json_that_is_not_fhir_is_refused_in_one_line(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"theme": "dark"}), encoding="utf-8")
    with pytest.raises(InputError, match="not patient records") as info:
        import_records(path, remembered={})
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    broken = tmp_path / "broken.json"
    broken.write_text('{"resourceType": "Patient", "id": ', encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        import_records(broken, remembered={})


def test_fhir_folder_is_detected(cohort_a):
    assert detect_format(cohort_a / "fhir") == "fhir"
