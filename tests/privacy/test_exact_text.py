"""De-identification changes identifiers only. Every string a report can print that is not about the
patient (each installed model card's description, intended use, limitations and populations, the
knowledge tables' version line, the interaction-table statement, the ordering rule, every dose,
note and citation of the treatment tables, every population age range) comes out of the scrubber
unchanged, for a patient whose age, dates and identifiers are all in play; and one age policy
holds for the whole document."""

from __future__ import annotations

import datetime as dt

import pytest

from medassist.inference.population import _age_range
from medassist.privacy import Deidentifier, PatientIdentifiers
from medassist.domain.treatment_text import ORDERING_RULE
from medassist.recommend.knowledge import load_knowledge
from medassist.reporting.content import FindingRow, ModelRow, PatientBlock, ReportContent, TreatmentRow
from medassist.reporting.deidentify import deidentify
from tests.services import bundled_cards

AGE = 86


@pytest.fixture(scope="module")
def tool() -> Deidentifier:
    found = PatientIdentifiers(names=("Agnes Sample",), ids=("DEMO-07", "DEMO-07-N01"), birth_date=dt.date(1939, 5, 2),
                               places=("Springfield",))
    return Deidentifier(found, "DEMO-07", shift_days=-200, age_years=AGE)


def card_strings() -> list[str]:
    strings = []
    for card in bundled_cards().values():
        strings += [card.title, card.description, card.intended_use, *card.limitations]
    return [s for s in strings if s]


def scrubbed_strings() -> list[str]:
    """Strings that reach the report through fields de-identification scrubs (gate lines with the
    population notice, treatment notes and details)."""
    strings = [ORDERING_RULE]
    for card in bundled_cards().values():
        strings += [f"{p.description.split(' (')[0].split(';')[0]} ({_age_range(p)})" for p in card.validated_populations]
    kb = load_knowledge()
    strings += [kb.interaction_statement(), f"Knowledge tables: {kb.version}.", f"Interaction table version {kb.version}"]
    for condition in kb.treatments.conditions:
        for scenario in condition.scenarios:
            for regimen in scenario.regimens:
                strings += [regimen.label, regimen.dose.text, regimen.note, str(regimen.source)]
    return [s for s in strings if s]


def report_with_every_string() -> ReportContent:
    patient = PatientBlock("Agnes Sample", "DEMO-07", dt.date(1939, 5, 2), f"{AGE} years", "female", "Springfield, IL")
    content = ReportContent("Clinic", "1 Main St", "Dr X", dt.datetime(2026, 1, 10, 9, 0), patient)
    content.models = [ModelRow("m", text, "1.0.0", "a" * 64, "CPU", text, [text]) for text in card_strings()]
    content.treatment_notes = scrubbed_strings()
    content.treatments = [TreatmentRow(text, "Not decided", "", detail=text) for text in scrubbed_strings()]
    content.findings = [FindingRow("m", "1.0.0", "record", None, label="x", status="suggested", counts_now=True, text=text,
                                   score=0.5, threshold=0.4, study="", gate=text) for text in scrubbed_strings()]
    return content


def test_there_are_strings_of_every_kind_to_check():
    strings = card_strings() + scrubbed_strings()
    version = load_knowledge().safety.version  # "2026.12-2": a version that must not read as a date
    assert any("aged 1-5" in s for s in strings) and any(version in s for s in strings)
    assert any(" mg" in s for s in strings) and len(strings) > 100


def test_no_string_of_a_report_that_is_not_about_the_patient_is_changed():
    content = report_with_every_string()
    anonymous = deidentify(content)
    assert [(m.title, m.intended_use, m.limitations) for m in anonymous.models] == \
        [(m.title, m.intended_use, m.limitations) for m in content.models]
    assert anonymous.treatment_notes == content.treatment_notes
    assert [(t.label, t.detail) for t in anonymous.treatments] == [(t.label, t.detail) for t in content.treatments]
    assert [(f.gate, f.text) for f in anonymous.findings] == [(f.gate, f.text) for f in content.findings]


@pytest.mark.parametrize("text,expected", [
    ("this patient (female, 86 years)", "this patient (female, 85-89 years)"),
    ("Patient aged 86.3 years (patient record) is outside", "Patient aged 85-89 years (patient record) is outside"),
    ("female, 86 y", "female, 85-89 y"),
    ("an 85-year-old woman", "an 85-89-year-old woman"),  # the note was written before her birthday
    ("adults aged 21-81; children aged 1-5 years; aged 28-77 years old; aged 21+", None),
    ("smoked for 30 years; CURB-65 score 2; eGFR 45 mL/min/1.73 m2; threshold 41%", None),
])
def test_one_age_policy_for_the_whole_document(tool, text, expected):
    assert tool.scrub(text) == (expected or text)


@pytest.mark.parametrize("text,expected", [  # every date of the patient moves by the same -200 days
    ("seen 2004-08-26", "seen 2004-02-08"),
    ("US on 26 August 2004", "US on 8 February 2004"),
    ("US on August 26, 2004", "US on February 8, 2004"),
    ("burned in: 24-MAY-02", "burned in: 05-NOV-01"),
    ("StudyDate 20040826", "StudyDate 20040208"),
    ("since August 2004", "since January 2004"),
    ("on 05/25/2011", "on [date]"),  # day and month cannot be told apart: removed
    ("born 02/05/1939", "born [date]"),
])
def test_dates_in_free_text_are_shifted_by_the_one_offset_or_removed(tool, text, expected):
    assert tool.scrub(text) == expected


def test_identifiers_go_and_nothing_else_changes(tool):
    text = ("Agnes Sample (DEMO-07, note DEMO-07-N01) of Springfield, phone 030 1234 5678, mail a.s@example.org, "
            "MRN 55501234; amoxicillin 500 mg every 8 hours, v1.0.0, ICD-10 J18.9, SNOMED 233604007.")
    assert tool.scrub(text) == ("[name] ([id], note [id]) of [place], phone [phone], mail [email], "
                                "MRN [id]; amoxicillin 500 mg every 8 hours, v1.0.0, ICD-10 J18.9, SNOMED 233604007.")
