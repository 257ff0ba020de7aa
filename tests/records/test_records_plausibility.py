"""Values no patient can have are set aside at import (reported, never used); numbers written as text are read."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from medassist.clinical.picture import build_picture
from medassist.records.importer import import_records

TODAY = dt.date.today()


def _bundle(path: Path, observations: list[dict]) -> Path:
    subject = {"reference": "Patient/P1"}
    entries = [{"resource": {"resourceType": "Patient", "id": "P1", "gender": "female",
                             "birthDate": (TODAY - dt.timedelta(days=round(70 * 365.25))).isoformat()}}]
    for i, value in enumerate(observations):
        entries.append({"resource": {"resourceType": "Observation", "id": f"o{i}", "status": "final", "subject": subject,
                                     "code": {"coding": [{"system": "http://loinc.org", "code": value.pop("code")}]},
                                     "effectiveDateTime": f"{TODAY.isoformat()}T09:00:00Z", **value}})
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}), encoding="utf-8")
    return path


def test_a_creatinine_without_unit_that_only_micromol_makes_possible_is_set_aside_and_reported(tmp_path):
    # 150 with no unit would read as 150 mg/dL (MedAssist's unit): impossible (limit 40 mg/dL), so no eGFR is
    # computed from it; a potassium of 55 mmol/L is a typing error; both are listed naming the file.
    path = _bundle(tmp_path / "p.json", [{"code": "2160-0", "valueQuantity": {"value": 150}},
                                         {"code": "6298-4", "valueQuantity": {"value": 55, "unit": "mmol/L"}}])
    records = import_records(path, remembered={})
    reasons = [str(p) for p in records.report.problems]
    assert any("p.json" in r and "Creatinine 150 (no unit) is not a possible value" in r for r in reasons)
    assert any("Potassium 55 mmol/L is not a possible value" in r for r in reasons)
    picture = build_picture(records, "P1", on=TODAY)
    assert picture.renal.creatinine is None and picture.renal.egfr is None and picture.value("potassium") is None
    assert records.observations["value_text"].str.contains("set aside").sum() == 2


def test_a_potassium_written_as_text_is_read_and_a_possible_micromol_creatinine_is_kept(tmp_path):
    # valueString "5.6" is a number; creatinine 150 umol/L = 150 / 88.42 = 1.70 mg/dL (possible, kept).
    path = _bundle(tmp_path / "p.json", [{"code": "6298-4", "valueString": "5.6"},
                                         {"code": "2160-0", "valueQuantity": {"value": 150, "unit": "umol/L"}}])
    records = import_records(path, remembered={})
    picture = build_picture(records, "P1", on=TODAY)
    assert picture.value("potassium") == 5.6
    assert abs(picture.renal.creatinine.value - 1.70) < 0.01 and not records.report.problems
