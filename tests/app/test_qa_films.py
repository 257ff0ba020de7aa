"""Clinical QA vignettes for films through the application layer, with the chest model run on the public NEMA film
(one inference service for the module): a child's film shows the bacterial/viral split (validated in children aged
1-5), a film of the same child with another birth date is withheld with nothing shown, and an anonymised film says
that its identity was not checked."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pydicom
import pytest

from medassist.app.analysis import analyse_patient
from medassist.app.images import load_images
from medassist.demo.images import public_dicom
from medassist.domain.clinical import FilmIdentity, FilmRelation
from medassist.domain.findings import FindingStatus, findings_of, subtype_shares
from medassist.domain.result_text import film_text, result_sentence
from medassist.jobs import run_job
from medassist.reporting.content import collect_report
from medassist.session import Session
from tests.clinical.vignettes import PID, Vignette
from medassist.settings import Settings
from tests.services import bundled_cards, cpu_service

TODAY = dt.date.today()


@pytest.fixture(scope="module")
def service():
    return cpu_service()


@pytest.fixture(scope="module")
def child():
    """A girl of 4 years 2 months with a visit today (the episode starts today)."""
    v = Vignette(4.2, "female")
    v.rows["encounters"].append({"encounter_id": "E1", "patient_id": PID, "start": TODAY, "stop": TODAY,
                                 "encounter_class": "emergency", "description": "visit"})
    records = v.records()
    records.patients["birth_date"] = records.patients["birth_date"] + (TODAY - v.at(0).date())
    return records


def film(folder: Path, name: str, **header: str) -> Path:
    ds = pydicom.dcmread(public_dicom("RG1_UNCR.dcm"))
    for key, value in header.items():
        setattr(ds, key, value)
    path = folder / name
    ds.save_as(path, enforce_file_format=True)
    return path


def analysed(records, service, path: Path):
    session = Session()
    session.set_records(records)
    session.set_current_patient(PID)
    session.add_images(load_images([path]), PID)
    [prediction] = run_job(analyse_patient(session, service, PID, image_models_only=True)).predictions
    return session, prediction


def test_a_childs_film_shows_the_bacterial_viral_split(child, service, tmp_path):
    born = child.patient_row(PID)["birth_date"].strftime("%Y%m%d")
    path = film(tmp_path, "child.dcm", PatientName="Vignette^Test", PatientID=PID, PatientBirthDate=born,
                PatientSex="F", PatientAge="004Y", StudyDate=TODAY.strftime("%Y%m%d"))
    session, prediction = analysed(child, service, path)
    assert (prediction.film.identity, prediction.film.relation) == (FilmIdentity.MATCHES, FilmRelation.CURRENT)
    # 4 years at the study, inside the 1-5 years the split was validated in: the shares are shown (as a share of
    # the pneumonia finding, never as a positive of their own)
    [shares] = subtype_shares(prediction)
    assert shares.withheld is None and set(shares.shares) == {"bacterial pneumonia", "viral pneumonia"}
    assert "if pneumonia: bacterial" in result_sentence(prediction)
    assert not any("bacterial" in label or "viral" in label for label in prediction.positive)
    rows = [r for r in collect_report(session, PID, Settings(), bundled_cards()).findings if r.model.startswith("Chest")]
    assert rows and all("if pneumonia: bacterial" in r.note for r in rows)


def test_the_same_childs_film_with_another_birth_date_shows_nothing(child, service, tmp_path):
    path = film(tmp_path, "other.dcm", PatientName="Vignette^Test", PatientID=PID, PatientBirthDate="20200101",
                PatientSex="F", PatientAge="", StudyDate=TODAY.strftime("%Y%m%d"))
    _session, prediction = analysed(child, service, path)
    assert [p.item for p in prediction.film.identity_problems] == ["birth date"]
    assert all(f.status == FindingStatus.WITHHELD for f in findings_of(prediction))
    assert subtype_shares(prediction) == [] and "%" not in result_sentence(prediction)


def test_an_anonymised_film_says_its_identity_was_not_checked(child, service, tmp_path):
    # (with only the names blanked the film keeps its series date, 1995-09-26: before this girl's birth, a mismatch)
    path = film(tmp_path, "anon.dcm", PatientName="", PatientID="", PatientBirthDate="", PatientSex="", PatientAge="",
                StudyDate="", SeriesDate="", AcquisitionDate="")
    _session, prediction = analysed(child, service, path)
    assert (prediction.film.identity, prediction.film.relation) == (FilmIdentity.NOT_CHECKED, FilmRelation.UNDATED)
    assert film_text(prediction.film).startswith("Study date unknown. Identity not checked")
    # the record's age today (4 years) decides the split for an undated film: inside 1-5, shown
    assert subtype_shares(prediction)[0].withheld is None
