"""Films belong to the patient and to a time, through the application layer: every image result made for a
patient carries its film's context; a film whose header is someone else's gives no finding until the clinician
attaches it with a reason (an audit line, kept in the session file); an adult's film lists no subtype in the
--json output, the report or the PDF."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import pydicom
import pytest

from medassist.app.analysis import analyse_patient, positive_findings
from medassist.app.films import attach_film
from medassist.app.images import load_images
from medassist.audit import AuditLog
from medassist.cli.main import main
from medassist.demo import build_demo
from medassist.demo.images import public_dicom
from medassist.domain.clinical import FilmIdentity, FilmRelation
from medassist.domain.findings import FindingStatus, findings_of
from medassist.domain.prediction import Prediction
from medassist.errors import InputError
from medassist.jobs import run_job
from medassist.app.sessions import open_session, restore
from medassist.persistence.session_file import save_session
from medassist.reporting.content import collect_report
from medassist.reporting.pdf import render_pdf
from medassist.session import Session
from medassist.settings import Settings
from tests.services import bundled_cards, cpu_service

PATIENT = "DEMO-20"  # Agnes Specimen-Smith, born 1940-03-05, female: the demo patient with a chest film


@pytest.fixture(scope="module")
def demo():
    return build_demo()


@pytest.fixture(scope="module")
def service():
    return cpu_service()


def _film(folder: Path, name: str, patient_name: str, patient_id: str, study: dt.date) -> Path:
    """The NEMA RG1 chest film with the given identity and study date (born 1940-03-05, female, as published)."""
    ds = pydicom.dcmread(public_dicom("RG1_UNCR.dcm"))
    ds.PatientName, ds.PatientID, ds.StudyDate = patient_name, patient_id, study.strftime("%Y%m%d")
    path = folder / name
    ds.save_as(path, enforce_file_format=True)
    return path


def _session(demo, films: list[Path]) -> Session:
    session = Session()
    session.set_records(demo.records)
    session.set_current_patient(PATIENT)
    session.add_images(load_images(films), PATIENT)
    return session


def test_a_foreign_film_is_withheld_until_the_clinician_attaches_it_with_a_reason(demo, service, tmp_path):
    today = dt.date.today()
    foreign = _film(tmp_path, "foreign.dcm", "Smith^John", "MRN-555", today)  # today's film, someone else's header
    session = _session(demo, [foreign])
    [prediction] = run_job(analyse_patient(session, service, PATIENT, image_models_only=True)).predictions
    film = prediction.film
    assert film is not None and film.identity == FilmIdentity.MISMATCH and film.relation == FilmRelation.CURRENT
    assert [p.item for p in film.identity_problems] == ["name", "patient ID"]
    assert all(f.status == FindingStatus.WITHHELD for f in findings_of(prediction))
    assert positive_findings(session, PATIENT) == []
    report = collect_report(session, PATIENT, settings=Settings(), cards=bundled_cards())
    assert all(row.status == "withheld" for row in report.findings if row.model.startswith("Chest"))
    assert "may not be this patient's" in report.images[0].mismatch

    audit = AuditLog(tmp_path / "audit.jsonl", app_user="dr.weber")
    with pytest.raises(InputError):  # no reason, no attachment
        attach_film(session, audit, session.images[PATIENT][0], PATIENT, "  ")
    redecided = attach_film(session, audit, session.images[PATIENT][0], PATIENT,
                            "Outside film brought by the patient; PACS ID differs", "Dr Weber")
    assert redecided == [prediction] and prediction.film.attached_by_clinician.startswith("Outside film")
    suggested = [f for f in findings_of(prediction) if f.counts_now]
    assert [f.label for f in suggested] == (["pneumonia"] if prediction.outputs["pneumonia"] >= 0.3075 else [])
    [line] = [r for r in audit.read() if r["event"] == "film_attached"]
    assert line["patient_id"] == PATIENT and line["reason"].startswith("Outside film") and line["clinician"] == "Dr Weber"
    assert [p["item"] for p in line["header_problems"]] == ["name", "patient ID"]

    # a re-run keeps the attachment, and a session file keeps both the contexts and the attachment
    [again] = run_job(analyse_patient(session, service, PATIENT, image_models_only=True)).predictions
    assert again.film.attached_by_clinician.startswith("Outside film") and not again.film.withheld
    save_session(session, tmp_path / "s.medassist")
    restored = run_job(open_session(tmp_path / "s.medassist", remembered={}))
    fresh = Session()
    restore(fresh, restored)
    [kept] = fresh.predictions[PATIENT]
    assert kept.film == again.film and kept.subtypes == again.subtypes
    assert fresh.film_attachments[PATIENT][session.images[PATIENT][0].sha256].reason.startswith("Outside film")


def test_a_film_that_is_not_a_mismatch_cannot_be_attached(demo, tmp_path):
    session = _session(demo, demo.image_paths[PATIENT])
    with pytest.raises(InputError):
        attach_film(session, AuditLog(tmp_path / "a.jsonl", app_user="x"), session.images[PATIENT][0], PATIENT, "why")


def test_the_public_film_as_published_is_withheld_from_the_demo_patient(demo, service):
    """The demo attaches a copy with her identity; the file as published names someone else."""
    session = _session(demo, [public_dicom("RG1_UNCR.dcm")])
    [prediction] = run_job(analyse_patient(session, service, PATIENT, image_models_only=True)).predictions
    assert prediction.film.identity == FilmIdentity.MISMATCH
    assert {p.item for p in prediction.film.identity_problems} == {"name", "patient ID"}
    assert positive_findings(session, PATIENT) == []


def test_the_demo_film_is_hers_and_a_prior_so_nothing_counts_now(demo, service):
    session = _session(demo, demo.image_paths[PATIENT])
    [prediction] = run_job(analyse_patient(session, service, PATIENT, image_models_only=True)).predictions
    assert prediction.film.identity == FilmIdentity.MATCHES and prediction.film.relation == FilmRelation.PRIOR
    assert prediction.film.study_date == dt.date(2004, 8, 26)
    assert all(f.status in (FindingStatus.PRIOR, FindingStatus.NOT_SUGGESTED) for f in findings_of(prediction))
    assert "pneumonia" not in positive_findings(session, PATIENT)


def test_an_adults_film_lists_no_subtype_in_json_report_or_pdf(demo, service, tmp_path, capsys):
    film = _film(tmp_path, "adult.dcm", "Specimen-Smith^Agnes", PATIENT, dt.date.today())  # 86 years old today
    assert main(["predict", "--model", "cxr-pneumonia", "--json", str(film)]) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert not any("bacterial" in label or "viral" in label for label in row["positive"])
    [split] = row["subtypes"]
    assert split["shares"] == {} and split["withheld"] == "outside the validated population"
    assert split["text"].startswith("bacterial vs viral not shown: validated in children aged 1-5 only")
    assert "bacterial 6" not in row["summary"] and "if pneumonia" not in row["summary"]

    session = _session(demo, [film])
    [prediction] = run_job(analyse_patient(session, service, PATIENT, image_models_only=True)).predictions
    assert prediction.film.identity == FilmIdentity.MATCHES and prediction.film.relation == FilmRelation.CURRENT
    content = collect_report(session, PATIENT, settings=Settings(), cards=bundled_cards())
    assert all("bacterial vs viral not shown" in row.note for row in content.findings if row.model.startswith("Chest"))
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    pdf = tmp_path / "adult.pdf"
    pdf.write_bytes(render_pdf(content))
    text = " ".join(subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())
    assert "bacterial vs viral not shown: validated in children aged 1-5 only" in text
    assert "if pneumonia" not in text and "bacterial pneumonia" not in text.lower().replace("bacterial vs viral", "")
    assert f"study of {dt.date.today().isoformat()}" in text


def test_a_session_file_from_before_film_contexts_gets_them_when_opened(demo, service, tmp_path):
    """An older file has results without a film context: opening it decides them (a foreign film is withheld)."""
    from medassist.app.films import decide_films
    from medassist.domain import codec
    from medassist.domain.arrays import KeyedArrays

    foreign = _film(tmp_path, "foreign.dcm", "Smith^John", "MRN-555", dt.date.today())
    session = _session(demo, [foreign])
    [prediction] = run_job(analyse_patient(session, service, PATIENT, image_models_only=True)).predictions
    old = codec.encode(prediction, KeyedArrays())
    del old["film"], old["subtypes"]  # what version 0.1 wrote (values version 1)
    reread = codec.decode(Prediction, old, KeyedArrays(), version=1)
    assert reread.film is None and reread.subtypes == []
    session.add_prediction(reread)
    assert positive_findings(session, PATIENT) == (["pneumonia"] if reread.outputs["pneumonia"] >= 0.3075 else [])
    decide_films(session, PATIENT, missing_only=True)
    assert reread.film is not None and reread.film.withheld and positive_findings(session, PATIENT) == []


def test_an_image_no_model_reads_is_named_with_its_modality_not_left_out_silently():
    """DEMO-03's only image is a CT: the chest X-ray model reads CR and DX, so the analysis says the CT was not
    analysed and why, instead of listing results as if the image had been looked at."""
    demo = build_demo()
    session = Session(demo=True)
    session.set_records(demo.records, ["demo"])
    session.add_images(load_images(demo.image_paths["DEMO-03"]), "DEMO-03")
    analysis = run_job(analyse_patient(session, cpu_service(threads=1), "DEMO-03", image_models_only=True))
    assert analysis.predictions == []
    (line,) = analysis.not_analysed
    assert line.startswith("693_UNCR.dcm not analysed: it is CT, and no model reads it (Chest X-ray pneumonia")
    assert "reads CR, DX" in line
