"""The session is the single source of truth; its signals tell every view what changed."""

from __future__ import annotations

import pandas as pd
import pytest

from medassist.records.schema import PatientRecords
from medassist.domain.decisions import TreatmentDecision
from medassist.session import Session


def two_patients() -> PatientRecords:
    return PatientRecords.from_frames(
        patients=pd.DataFrame(
            {"patient_id": ["p1", "p2"], "given_name": ["Ada", "Ben"], "family_name": ["Lovelace", "Okafor"],
             "birth_date": ["1950-02-01", "2020-06-30"], "sex": ["female", "male"]}
        )
    )


def test_loading_records_selects_first_patient_and_emits():
    session = Session()
    seen = []
    session.patient_changed.connect(seen.append)
    session.set_records(two_patients())
    assert session.current_patient_id == "p1" and seen == ["p1"]
    session.set_current_patient("p2")
    assert seen == ["p1", "p2"] and session.current_patient_name() == "Ben Okafor"


def test_unknown_patient_is_rejected():
    session = Session()
    session.set_records(two_patients())
    with pytest.raises(KeyError):
        session.set_current_patient("nobody")
    assert session.current_patient_id == "p1"


def test_decisions_are_kept_per_patient():
    session = Session()
    session.set_records(two_patients())
    session.set_decision(TreatmentDecision("amox", "Amoxicillin", "accepted", "first line"))
    session.set_current_patient("p2")
    assert session.current_decisions() == []
    session.set_current_patient("p1")
    assert [d.status for d in session.current_decisions()] == ["accepted"]


def test_schema_conforms_types_and_keeps_unknown_dates_as_nat():
    records = PatientRecords.from_frames(
        patients=pd.DataFrame({"patient_id": ["p1"], "birth_date": ["not a date"]}),
        observations=pd.DataFrame({"patient_id": ["p1"], "value": ["7.5"], "code": ["2339-0"]}),
    )
    assert pd.isna(records.patients.loc[0, "birth_date"])
    assert records.observations["value"].dtype == "float64" and records.observations.loc[0, "value"] == 7.5
    assert set(records.counts()) == {"patients", "conditions", "medications", "allergies", "observations", "encounters", "notes"}
