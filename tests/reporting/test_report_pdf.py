"""The PDF report: what it says, what it embeds, how it pages, and what de-identification removes."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pypdf
import pytest
from tests.reporting.builders import BIRTH, CXR_WEIGHTS, FAMILY, GIVEN, PATIENT

from medassist import DECISION_SUPPORT_NOTICE
from medassist.jobs import run_job
from medassist.reporting.content import collect_report
from medassist.privacy import age_band
from medassist.reporting.deidentify import deidentify
from medassist.reporting.pdf import render_pdf, write_pdf
from medassist.domain.decisions import TreatmentDecision
from medassist.settings import Settings


def pdf_text(path: Path) -> str:
    """Text as a reader would copy it: pdftotext when installed, else pypdf."""
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(path).pages)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture()
def content(demo_session, demo_cards, fixed_now):
    return collect_report(demo_session, PATIENT, cards=demo_cards, now=fixed_now, settings=Settings())


def test_report_states_patient_findings_models_and_treatments(content, tmp_path):
    out = run_job(write_pdf(content, tmp_path / "report.pdf"))
    text = flat(pdf_text(out))
    assert f"{GIVEN} {FAMILY}" in text and PATIENT in text and BIRTH in text
    assert "Dr Anna Weber" in text
    for finding in ("Pneumonia", "Heart failure", "Heart disease"):
        assert finding in text
    assert "87.3%" in text and "41.0%" in text  # probability and threshold of the image finding
    # a 65-year-old: the bacterial/viral split (validated in children only) is one line, never a share or a finding
    assert "bacterial vs viral not shown: validated in children aged 1-5 only" in text and "71.0%" not in text
    assert "Confirmed by clinician" in text  # the finding row carries the clinician's verdict
    assert "study of 2024-03-05" in text  # the film's study date
    assert "POSITIVE" not in text and "negative" not in text
    assert "Confirmed Crackles right base match the film." in text and "Rejected Normal BNP, no oedema." in text
    assert "v1.2.0" in text and CXR_WEIGHTS[:16] in text
    assert "Doxycycline 100 mg twice daily, 5 days" in text and "Accepted" in text
    assert "Rejected" in text and "Not decided" in text
    # explanation method with its faithfulness verdict against random maps, in the window's words
    assert "Grad-CAM" in text and "Faithfulness: no better than random \u2014 do not rely on this map" in text
    assert "deletion AUC 0.25 vs random 0.25" in text and "Faithfulness: moderate" in text  # the IG map
    assert "cough" in text and "systolic blood pressure" in text  # top attributions of record-based models
    assert "Trained mostly on paediatric radiographs." in text  # limitations from the card
    assert flat(DECISION_SUPPORT_NOTICE) in text
    assert "Signature" in text
    reader = pypdf.PdfReader(out)
    assert "MedAssist 0.1.0" in reader.metadata.creator and CXR_WEIGHTS in reader.metadata["/Keywords"]


def test_refused_input_shows_gate_verdict_and_no_probability(content, tmp_path):
    text = flat(pdf_text(run_job(write_pdf(content, tmp_path / "r.pdf"))))
    assert "Outside the data the model knows: not a chest radiograph" in text
    assert "0.9317" not in text and "0.932" not in text  # the refused run's output never appears
    [refused] = content.not_answered  # one line in the group after the findings, never a finding row
    assert refused.reason.startswith("No answer. Outside the data the model knows")
    assert all(f.input_label != refused.input_label for f in content.findings)


def test_pdf_embeds_each_image_and_each_overlay(content, tmp_path):
    out = run_job(write_pdf(content, tmp_path / "r.pdf"))
    embedded = sum(len(page.images) for page in pypdf.PdfReader(out).pages)
    # chest image + Grad-CAM + IG overlays; the refused CT slice is shown without an overlay
    assert content.embedded_image_count == 4
    assert embedded == 4


def test_long_content_flows_over_numbered_pages(demo_session, demo_cards, fixed_now, tmp_path):
    for i in range(40):
        demo_session.set_decision(TreatmentDecision(f"opt{i}", f"Option {i:02d} with a long descriptive label", "rejected",
                                                    "Not suitable for this patient. " * 6), PATIENT)
    demo_session.set_clinician_note("Long clinical note paragraph. " * 900, PATIENT)
    content = collect_report(demo_session, PATIENT, cards=demo_cards, now=fixed_now, settings=Settings())
    out = run_job(write_pdf(content, tmp_path / "long.pdf"))
    reader = pypdf.PdfReader(out)
    total = len(reader.pages)
    assert total >= 8
    for number, page in enumerate(reader.pages, start=1):
        assert f"Page {number} of {total}" in page.extract_text()
    text = flat(pdf_text(out))
    assert "Option 00" in text and "Option 39" in text  # the treatment table continues across pages
    assert text.count("Clinician comment") >= 2  # its header repeats on the next page


def test_deidentified_report_has_no_identifiers_and_shifted_dates(content, tmp_path):
    anonymous = deidentify(content)
    out = run_job(write_pdf(anonymous, tmp_path / "deid.pdf"))
    raw = pdf_text(out)
    text = flat(raw)
    lowered = text.lower()
    for identifier in (GIVEN, FAMILY, "Lopez", PATIENT, "000417", BIRTH, "17 April 1958", "Springfield",
                       "88412093", "555-201-7788", "Dr Anna Weber", "maria_lopez_chest_pa", "N-1"):
        assert identifier.lower() not in lowered, identifier
    meta = pypdf.PdfReader(out).metadata
    assert GIVEN not in (meta.title or "") and "Weber" not in (meta.author or "")
    assert "60-64 years" in text or "65-69 years" in text
    assert "[name]" in text  # the name inside the clinician's comment was scrubbed, the rest kept
    assert "reported a rash" in text
    shift = anonymous.generated - content.generated
    assert dt.timedelta(days=-730) <= shift <= dt.timedelta(days=-30)
    for original in ("2024-03-05", "2019-09-12", "2015-06-01"):
        assert original not in text
        shifted = (dt.date.fromisoformat(original) + shift).isoformat()
        assert shifted in text
    assert content.patient.name == f"{GIVEN} {FAMILY}"  # the original content is untouched


def test_names_and_ids_from_image_headers_are_scrubbed(demo_session, demo_cards, fixed_now):
    chest = demo_session.images[PATIENT][0]
    chest.metadata.update(patient_name="LOPEZ GARRIDO MARIA E", patient_id="RAD-55012")
    demo_session.set_clinician_note("Compared with RAD-55012 films of Maria E. from last year.", PATIENT)
    anonymous = deidentify(collect_report(demo_session, PATIENT, cards=demo_cards, now=fixed_now, settings=Settings()))
    assert "RAD-55012" not in anonymous.clinician_notes and "Maria" not in anonymous.clinician_notes
    assert "films of" in anonymous.clinician_notes


def test_pseudonym_and_date_offset_hold_for_the_session_and_change_with_the_salt(content):
    first, again = deidentify(content), deidentify(content)
    assert (first.patient.name, first.generated, first.report_id) == (again.patient.name, again.generated, again.report_id)
    assert render_pdf(first) == render_pdf(again)  # the same content de-identifies to the same bytes
    other = {(deidentify(content, salt=bytes([i]) * 16).patient.name, deidentify(content, salt=bytes([i]) * 16).generated)
             for i in range(6)}
    assert len({name for name, _ in other}) > 1 and len({when for _, when in other}) > 1


def test_burned_in_images_are_left_out_of_deidentified_export(content, tmp_path):
    import pydicom

    dataset = pydicom.Dataset()
    dataset.BurnedInAnnotation = "YES"
    content.images[1].image.metadata["dataset"] = dataset  # as the DICOM loader keeps the header
    anonymous = deidentify(content)
    assert anonymous.images[1].omitted_reason is not None
    out = run_job(write_pdf(anonymous, tmp_path / "deid.pdf"))
    assert sum(len(p.images) for p in pypdf.PdfReader(out).pages) == 3
    assert "its header says text is burned into the picture" in flat(pdf_text(out))


@pytest.mark.parametrize("age,band", [("3 years", "0-4 years"), ("47 years", "45-49 years"), ("93 years", "90 years or older"),
                                      ("unknown", "unknown")])
def test_age_band(age, band):
    assert age_band(age) == band


def test_report_without_model_results_still_renders(demo_session, demo_cards, fixed_now):
    demo_session.predictions.clear()
    data = render_pdf(collect_report(demo_session, PATIENT, cards=demo_cards, now=fixed_now, settings=Settings()))
    assert data.startswith(b"%PDF") and b"%%EOF" in data[-64:]


def test_recommender_options_show_rank_warnings_and_exclusions(demo_session, demo_cards, fixed_now, tmp_path):
    demo_session.set_decision(TreatmentDecision("cefuroxime", "Cefuroxime 500 mg twice daily", "pending", "", {
        "rank": None, "excluded": True, "exclusion_reasons": ["beta-lactam cross-reactivity with penicillin allergy"]}), PATIENT)
    demo_session.set_decision(TreatmentDecision("levofloxacin", "Levofloxacin 750 mg daily", "pending", "", {
        "rank": 2, "excluded": False, "warnings": ["major: QT prolongation with citalopram"]}), PATIENT)
    content = collect_report(demo_session, PATIENT, cards=demo_cards, now=fixed_now, settings=Settings())
    rows = {t.label: t for t in content.treatments}
    assert rows["Cefuroxime 500 mg twice daily"].status == "Excluded"
    assert rows["Levofloxacin 750 mg daily"].status == "Not decided"
    text = flat(pdf_text(run_job(write_pdf(content, tmp_path / "r.pdf"))))
    assert "Not offered: beta-lactam cross-reactivity with penicillin allergy" in text
    assert "Ranked 2" in text and "major: QT prolongation with citalopram" in text
