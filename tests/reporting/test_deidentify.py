"""De-identification is exact: whole identifier tokens only, ages banded, dates shifted, and it fails closed."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pypdf
import pytest

from medassist.privacy import PatientIdentifiers, date_shift_days, identifiers_of, pseudonym
from medassist.records.schema import PatientRecords
from medassist.reporting.content import Attribution, AttributionBlock, ExplanationRow, ReportContent, collect_report
from medassist.privacy import DeidentificationError, Deidentifier, generalise_ages
from medassist.reporting.deidentify import deidentify
from medassist.reporting.pdf import render_pdf
from medassist.domain.decisions import TreatmentDecision
from medassist.session import Session
from medassist.settings import Settings

NUMERIC_ID = "4711"
BIRTH = dt.date(1967, 3, 9)


def numeric_patient() -> PatientRecords:
    """A patient whose ID is a bare number (as many hospital systems issue) with an age in the note."""
    patients = pd.DataFrame([{"patient_id": NUMERIC_ID, "given_name": "Olga", "family_name": "Brandt",
                              "birth_date": BIRTH.isoformat(), "sex": "female", "city": "Kleinstadt", "country": "DE"}])
    notes = pd.DataFrame([{
        "note_id": "4711-7", "patient_id": NUMERIC_ID, "date": "2025-03-02", "title": "Clinic letter",
        "text": "Olga Brandt (ID 4711), a 58-year-old woman, seen 2025-03-02. Also written 58 yo, aged 58 and "
                "58F. Born 09/03/1967. Lives in Kleinstadt. Dose 4711.5 mg is not an ID; v1.0.0 and Ranked 1 stay.",
    }])
    return PatientRecords.from_frames(patients=patients, notes=notes)


@pytest.fixture()
def tool() -> Deidentifier:
    return Deidentifier(identifiers_of(numeric_patient(), NUMERIC_ID), NUMERIC_ID)


def test_identifiers_are_replaced_as_whole_tokens_only(tool):
    out = tool.scrub(numeric_patient().notes["text"].iloc[0])
    assert "Olga" not in out and "Brandt" not in out and "Kleinstadt" not in out
    assert "(ID [id])" in out and "4711.5 mg" in out  # the ID goes, a longer number that contains it stays
    assert "v1.0.0" in out and "Ranked 1 stay" in out
    assert "09/03/1967" not in out and "[date]" in out
    assert tool.survivors(out) == []


@pytest.mark.parametrize("text,expected", [
    ("58-year-old woman", "55-59-year-old woman"),
    ("a 58 year old", "a 55-59 year old"),
    ("58 years old", "55-59 years old"),
    ("58 yo", "55-59 yo"),
    ("58 y/o", "55-59 y/o"),
    ("aged 58", "aged 55-59"),
    ("Age: 58", "Age: 55-59"),
    ("58F with cough", "55-59F with cough"),
    ("a 93-year-old", "a 90+-year-old"),
    ("for 30 years; stage 3; page 58", "for 30 years; stage 3; page 58"),  # durations and other numbers stay
    # a subtype split's refusal names the age at an old study, not the age today (DEMO-20's 2004 film at 64)
    ("validated in children aged 1-5 only (patient 64 years at the study)",
     "validated in children aged 1-5 only (patient 60-64 years at the study)"),
    ("(patient 4 years 1 month at the study)", "(patient 0-4 years at the study)"),
])
def test_ages_in_free_text_become_five_year_bands(text, expected):
    assert generalise_ages(text) == expected


def test_the_patients_own_age_is_banded_with_its_months_dropped():
    records = numeric_patient()
    tool = Deidentifier(identifiers_of(records, NUMERIC_ID), NUMERIC_ID, age_years=4)
    assert tool.band_ages("this patient (female, 4 years 1 month) is outside; for 12 months") == \
        "this patient (female, 0-4 years) is outside; for 12 months"


def test_short_numeric_ids_stay_in_free_text_but_leave_their_fields():
    """An ID '1' cannot be told from a rank, a sex code or a version in free text; its own field is withheld."""
    records = numeric_patient()
    records.patients.loc[0, "patient_id"] = "1"
    records.notes.loc[0, "patient_id"] = "1"
    tool = Deidentifier(identifiers_of(records, "1"), "1")
    assert tool.scrub("Ranked 1; sex 1; v1.0.0; 1.5 mg") == "Ranked 1; sex 1; v1.0.0; 1.5 mg"


def test_pseudonym_and_date_shift_are_fixed_per_patient_and_salt():
    assert pseudonym("4711") == pseudonym("4711") != pseudonym("4712")
    assert date_shift_days("4711") == date_shift_days("4711")
    assert -730 <= date_shift_days("4711", b"x" * 16) <= -30
    assert pseudonym("4711", b"a" * 16) != pseudonym("4711", b"b" * 16)


def numeric_report(tmp_path) -> ReportContent:
    session = Session()
    session.set_records(numeric_patient())
    session.set_clinician_note("Olga is a 58-year-old; MRN 4711; phone 030 1234 5678. Tool v1.0.0.", NUMERIC_ID)
    session.set_decision(TreatmentDecision("a", "Amoxicillin 500 mg", "pending", "", {"rank": 1}), NUMERIC_ID)
    content = collect_report(session, NUMERIC_ID, cards={}, now=dt.datetime(2025, 3, 3, 9, 30), settings=Settings())
    content.attributions.append(AttributionBlock(
        model="tabular", version="1.0.0", input_label="record of patient 4711", summary="P(x) = 0.71",
        method="Integrated Gradients", target="x", kind="feature_scores", rows=[
            Attribution("sex", "1", 0.2), Attribution("age", "58", 0.3), Attribution("58-year-old", "", 0.1)],
        missing_inputs=[], faithfulness="not measured"))
    return content


def test_numeric_patient_report_keeps_ranks_versions_and_codes(tmp_path):
    content = numeric_report(tmp_path)
    anonymous = deidentify(content)
    data = render_pdf(anonymous)
    path = tmp_path / "deid.pdf"
    path.write_bytes(data)
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in pypdf.PdfReader(path).pages))
    for identifier in ("Olga", "Brandt", "Kleinstadt", BIRTH.isoformat(), "MRN 4711", "patient 4711", "030 1234 5678"):
        assert identifier not in text, identifier
    assert "v1.0.0" in text or "1.0.0" in text
    assert "[id].0.0" not in text and "Ranked 1" in text and "Ranked [id]" not in text
    rows = {r.label: r.value for r in anonymous.attributions[0].rows}
    assert rows["sex"] == "1" and rows["age"] == "55-59 years" and "55-59-year-old" in rows
    assert "55-59-year-old" in anonymous.clinician_notes and "58" not in anonymous.clinician_notes
    assert anonymous.patient.name == pseudonym(NUMERIC_ID)
    assert anonymous.generated - content.generated == dt.timedelta(days=date_shift_days(NUMERIC_ID))


def test_an_identifier_left_in_any_field_is_redacted(tmp_path):
    content = numeric_report(tmp_path)
    content.explanations.append(ExplanationRow("cxr", "Image 1", "Grad-CAM", "Olga Brandt 4711", "n/a"))  # no rule for .target
    anonymous = deidentify(content)
    assert anonymous.explanations[-1].target == "[name] [id]"
    assert content.explanations[-1].target == "Olga Brandt 4711"  # the original is untouched


def test_export_is_refused_when_an_identifier_cannot_be_removed(tmp_path, monkeypatch):
    content = numeric_report(tmp_path)
    monkeypatch.setattr(Deidentifier, "redact", lambda self, text: text)  # a broken scrubber
    monkeypatch.setattr(Deidentifier, "scrub", lambda self, text: text)
    with pytest.raises(DeidentificationError, match="still in .*clinician_notes.*name"):
        deidentify(content)


def test_identifiers_include_record_ids_birth_date_and_city():
    found = identifiers_of(numeric_patient(), NUMERIC_ID)
    assert found == PatientIdentifiers(names=("Olga Brandt",), ids=(NUMERIC_ID, "4711-7"), birth_date=BIRTH,
                                       places=("Kleinstadt",))
