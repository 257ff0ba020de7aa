"""The clinical picture use case reads the session (the notes model's evidence, the confirmed findings,
the clinician's setting), and ``medassist picture`` gives the same values and sentences."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from medassist.app.picture import clinical_picture
from medassist.cli.main import main
from medassist.demo import build_demo
from medassist.domain.clinical import EvidenceKind
from medassist.domain.prediction import Prediction
from medassist.domain.result_text import score_sentence
from medassist.errors import InputError
from medassist.session import Session

TODAY = dt.date.today()


@pytest.fixture(scope="module")
def demo():
    return build_demo(today=TODAY)


@pytest.fixture()
def session(demo):
    session = Session(demo=True)
    session.set_records(demo.records)
    return session


def _notes_result(patient_id: str, problem: str, sentence: str) -> Prediction:
    return Prediction(model="notes-problems", version="1", weights_sha256="0" * 64, task="text-classification",
                      device="CPU", source="note", input_sha256="1" * 64, outputs={problem: 0.2},
                      thresholds={problem: 0.5}, positive=[problem], patient_id=patient_id,
                      extra={"suggestions": [{"problem": problem, "evidence": [{"sentence": sentence}]}]})


def test_the_picture_holds_note_evidence_confirmed_findings_and_the_chosen_setting(session):
    sentence = "progressive diabetic kidney disease"
    session.add_prediction(_notes_result("DEMO-04", "chronic_kidney_disease", sentence))
    session.confirm_finding("pneumonia", "DEMO-04")
    picture = clinical_picture(session, "DEMO-04", setting="inpatient")
    ckd = picture.problem("chronic_kidney_disease")
    assert ckd is not None and {EvidenceKind.RECORD, EvidenceKind.NOTE} <= ckd.kinds
    assert any(e.text == sentence for e in ckd.evidence)
    assert picture.problem("pneumonia").kinds == {EvidenceKind.CLINICIAN}
    assert "CURB-65" in picture.scores  # a confirmed pneumonia brings its severity scores
    assert picture.care_setting.chosen == "inpatient"


def test_an_unknown_patient_is_a_clear_error(session):
    with pytest.raises(InputError, match="no patient with ID NOBODY"):
        clinical_picture(session, "NOBODY")


def test_the_cli_gives_the_use_cases_values_and_sentences(session, demo, monkeypatch, tmp_path, capsys):
    import medassist.records.importer as importer

    monkeypatch.setattr(importer, "import_records", lambda path, mapping=None, remembered=None: demo.records)
    assert main(["picture", "--records", str(tmp_path), "--patient", "DEMO-21", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    picture = clinical_picture(session, "DEMO-21")
    assert data["scores"]["CURB-65"]["points"] == picture.scores["CURB-65"].points == 5
    assert data["scores"]["CURB-65"]["sentence"] == score_sentence(picture.scores["CURB-65"])
    assert data["scores"]["PSI"]["possible_range"] == [173, 213]
    assert data["care_setting"]["suggested"] == "severe" and data["sepsis_signs"] == picture.sepsis_signs
    assert {"label": "Age", "text": "83 years"} in data["summary"]
    assert main(["picture", "--records", str(tmp_path), "--patient", "DEMO-02"]) == 0
    text = capsys.readouterr().out
    assert "Age: 4 years" in text and "CURB-65: not computed" in text and "No care setting suggested" in text
