"""The Diagnosis tab shows one meaning of a finding: colour by status only (red means suggested now), a note's
finding with its sentence and its number called a score, a withheld film with its Attach action (audited),
and status text that belongs to its patient. Screenshots go to /tmp/shots-diagnosis/ (look at them)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pydicom
import pytest

from medassist.app.films import film_for
from medassist.app.images import load_images
from medassist.demo import build_demo
from medassist.demo.images import public_dicom
from medassist.domain.findings import FindingStatus
from medassist.domain.prediction import GateVerdict, ImageLink, Prediction
from medassist.domain.result_text import refusal_text
from medassist.ui.tabs.diagnosis_tab import NO_ANSWER_COLOUR, SCOPE_PATIENT, STATUS_COLOURS, PredictionCard

SHOTS = Path("/tmp/shots-diagnosis")


@pytest.fixture()
def demo():
    return build_demo()


def _cards(tab) -> dict[str, PredictionCard]:
    return {card.prediction.model: card for card in tab.results.findChildren(PredictionCard)}


def _note(patient: str) -> Prediction:
    """Hypertension scored 6.8% but affirmed by a sentence; an effusion scored 55.1% that no sentence affirms."""
    return Prediction(
        model="notes-problems", version="1", weights_sha256="a" * 64, task="text-classification", device="CPU",
        source="GP review", input_sha256="n" * 64, outputs={"hypertension": 0.068, "pleural_effusion": 0.551},
        thresholds={"hypertension": 0.86, "pleural_effusion": 0.37}, positive=["hypertension"], patient_id=patient,
        extra={"label_names": {"hypertension": "Hypertension", "pleural_effusion": "Pleural effusion"},
               "suggestions": [{"problem": "hypertension", "name": "Hypertension", "probability": 0.068,
                                "assertion": "affirmed", "evidence": [{"sentence": "Hypertension on amlodipine.",
                                                                       "assertion": "affirmed"}]}]})


def test_colour_follows_status_and_a_note_shows_its_sentence_and_score(qtbot, window, demo):
    session = window.session
    session.set_records(demo.records)
    session.set_current_patient("DEMO-20")
    session.add_prediction(_note("DEMO-20"))
    tab = window.tab_pages["Diagnosis"]
    card = _cards(tab)["notes-problems"]
    hypertension, effusion = card.finding_rows["Hypertension"], card.finding_rows["Pleural effusion"]
    assert hypertension.bar.colour == STATUS_COLOURS[FindingStatus.SUGGESTED] == "#c0392b"  # red at 6.8%
    assert effusion.bar.colour == STATUS_COLOURS[FindingStatus.NOT_SUGGESTED]  # not red at 55.1%
    assert hypertension.bar.threshold is None  # a note's finding has no threshold tick: its sentence decides
    assert hypertension.value.text() == "suggested from the note: \u201cHypertension on amlodipine.\u201d (model score 6.8%)"
    assert effusion.value.text() == "not suggested: no sentence of the note affirms it (score 55.1%)"
    assert card.suggested_label.text() == "Suggested: Hypertension"
    assert hypertension.confirm_button.isEnabled() and effusion.note is None  # only a suggestion asks for a verdict
    SHOTS.mkdir(exist_ok=True)
    tab.results.grab().save(str(SHOTS / "note-sentence-and-score.png"))


def test_a_withheld_film_shows_no_number_and_is_attached_only_with_a_reason(qtbot, window, demo, monkeypatch, tmp_path):
    session = window.session
    session.set_records(demo.records)
    session.set_current_patient("DEMO-20")
    ds = pydicom.dcmread(public_dicom("RG1_UNCR.dcm"))  # as published: "CompressedSamples^RG1", ID 9RG1
    ds.StudyDate = dt.date.today().strftime("%Y%m%d")
    ds.save_as(tmp_path / "outside.dcm", enforce_file_format=True)
    [image] = load_images([tmp_path / "outside.dcm"])
    session.add_images([image], "DEMO-20")
    film = film_for(session, "DEMO-20", image)
    assert film is not None and film.withheld
    prediction = Prediction(
        model="cxr-pneumonia", version="2.2.0", weights_sha256="c" * 64, task="image-classification", device="CPU",
        source=str(image.path), input_sha256=image.sha256, outputs={"pneumonia": 0.596}, thresholds={"pneumonia": 0.3075},
        positive=["pneumonia"], patient_id="DEMO-20", image=ImageLink(str(image.path), 0, image.sha256), film=film)
    session.add_prediction(prediction)
    tab = window.tab_pages["Diagnosis"]
    card = _cards(tab)["cxr-pneumonia"]
    row = card.finding_rows["Pneumonia"]
    assert row.bar.colour == STATUS_COLOURS[FindingStatus.WITHHELD] and "59.6%" not in row.value.text()
    assert "may not be this patient's" in card.film_label.text() and card.attach_button is not None
    SHOTS.mkdir(exist_ok=True)
    tab.results.grab().save(str(SHOTS / "withheld-film.png"))

    import medassist.ui.attach_film as attach

    answers = iter([("", False), ("Outside film; the patient brought it", True)])
    monkeypatch.setattr(attach.QInputDialog, "getText", staticmethod(lambda *a, **k: next(answers)))
    card.attach_button.click()  # cancelled: nothing changes
    assert not session.film_attachments.get("DEMO-20") and prediction.film.withheld
    card.attach_button.click()
    assert prediction.film.attached_by_clinician == "Outside film; the patient brought it"
    card = _cards(tab)["cxr-pneumonia"]  # the cards were redrawn
    assert card.finding_rows["Pneumonia"].bar.colour == STATUS_COLOURS[FindingStatus.SUGGESTED]
    assert "attached by the clinician" in card.film_label.text() and card.attach_button is None
    [line] = [r for r in window.context.audit.read() if r["event"] == "film_attached"]
    assert line["reason"] == "Outside film; the patient brought it" and line["patient_id"] == "DEMO-20"
    tab.results.grab().save(str(SHOTS / "attached-film.png"))


def test_status_text_belongs_to_its_patient(qtbot, window, demo):
    session = window.session
    session.set_records(demo.records)
    session.set_current_patient("DEMO-06")
    tab = window.tab_pages["Diagnosis"]
    tab.scope.setCurrentText(SCOPE_PATIENT)
    tab.run()
    session.set_current_patient("DEMO-01")  # mid-run: the new patient's pane says nothing of DEMO-06's run
    assert "result(s)" not in tab.status.text() and "another patient" in tab.status.text()
    qtbot.waitUntil(lambda: tab.handle is None, timeout=120_000)
    assert tab.status.text() == ""  # neither DEMO-06's outcome nor "running for another patient"
    assert not session.current_predictions()
    session.set_current_patient("DEMO-06")
    assert "result(s)" in tab.status.text()  # DEMO-06's own outcome is still there for DEMO-06

    explanations = window.tab_pages["Explanations"]
    explanations.status.say("DEMO-06", "Evidence for diabetes in 0 ms")
    session.set_current_patient("DEMO-01")
    assert explanations.status.text() == ""


def _film_result(patient: str, probability: float, gate: GateVerdict | None = None) -> Prediction:
    return Prediction(
        model="cxr-pneumonia", version="2.2.0", weights_sha256="c" * 64, task="image-classification", device="CPU",
        source=f"film-{probability}.dcm", input_sha256=f"{probability:064}", outputs={"pneumonia": probability},
        thresholds={"pneumonia": 0.3075}, positive=["pneumonia"] if probability >= 0.3075 else [],
        gate=gate, patient_id=patient)


def test_results_are_listed_suggested_first_and_a_refusal_is_grey_last(qtbot, window, demo):
    session = window.session
    session.set_records(demo.records)
    session.set_current_patient("DEMO-20")
    refused = _film_result("DEMO-20", 0.5, GateVerdict(0.9, 0.06, False, "not a chest radiograph"))
    # added oldest first: a suggested note, a refused film, a film below threshold (5%), a film above (59.6%)
    for prediction in (_note("DEMO-20"), refused, _film_result("DEMO-20", 0.05), _film_result("DEMO-20", 0.596)):
        session.add_prediction(prediction)
    tab = window.tab_pages["Diagnosis"]
    cards = [tab.results_layout.itemAt(i).widget() for i in range(tab.results_layout.count() - 1)]
    # suggested (newest first: the 59.6% film, then the note), then the 5% film, then the refusal
    assert [card.prediction.source for card in cards] == ["film-0.596.dcm", "GP review", "film-0.05.dcm", "film-0.5.dcm"]
    last = cards[-1]
    assert last.refusal_label is last.gate_label and last.refusal_label.text() == refusal_text(refused)
    assert last.refusal_label.text().startswith("No answer.")
    style = last.refusal_label.styleSheet()
    assert NO_ANSWER_COLOUR in style and STATUS_COLOURS[FindingStatus.SUGGESTED] not in style and "b00020" not in style
    assert not last.finding_rows and not last.explain_button.isEnabled()  # no number, nothing to explain
    # in the note's card the affirmed hypertension comes before the effusion scored without a sentence
    note_rows = [row.finding.name for row in cards[1].findChildren(type(cards[1].finding_rows["Hypertension"]))]
    assert note_rows == ["Hypertension", "Pleural effusion"]
    SHOTS.mkdir(exist_ok=True)
    tab.results.grab().save(str(SHOTS / "ordered-results.png"))
