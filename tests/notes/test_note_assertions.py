"""Problems from notes are suggested only when the note documents them for the patient.

``notes.json`` is a hand-written set of short notes with negations, family history, hypotheticals,
uncertain and historical mentions and affirmed problems in varied wording; each lists the problems
that are the patient's and the status of every other problem it mentions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medassist.domain.inputs import TextInput
from medassist.inference.service import InferenceService
from medassist.jobs import run_job
from medassist.domain.result_text import note_evidence_lines
from medassist.notes.assertion import Assertion
from medassist.notes.mentions import note_problems
from tests.services import cpu_service

NOTES = json.loads((Path(__file__).parent / "notes.json").read_text(encoding="utf-8"))["notes"]
MODEL = "notes-problems"


@pytest.fixture(scope="module")
def service() -> InferenceService:
    return cpu_service(threads=2)


@pytest.fixture(scope="module")
def predictions(service) -> dict[str, object]:
    return {note["id"]: run_job(service.predict(MODEL, TextInput(note["text"], note["id"]))) for note in NOTES}


def test_the_set_is_big_and_varied_enough():
    statuses = [s for note in NOTES for s in note["not_patient"].values()]
    assert len(NOTES) >= 40
    for status in ("negated", "family", "hypothetical", "uncertain", "historical"):
        assert statuses.count(status) >= 2, status
    assert sum(len(note["patient"]) for note in NOTES) >= 30


def test_rule_layer_never_suggests_what_is_not_the_patients():
    wrong = {}
    for note in NOTES:
        suggested = set(note_problems(note["text"]).suggested)
        if suggested & set(note["not_patient"]):
            wrong[note["id"]] = sorted(suggested & set(note["not_patient"]))
    assert not wrong


def test_rule_layer_gives_each_mention_its_status():
    wrong = {}
    for note in NOTES:
        found = note_problems(note["text"]).not_suggested()
        for problem, status in note["not_patient"].items():
            statuses = {m.assertion.value for m in found.get(problem, [])}
            if status not in statuses:
                wrong[f"{note['id']} {problem}"] = (status, sorted(statuses))
    assert not wrong


def test_model_suggests_no_negated_family_or_hypothetical_problem(predictions):
    wrong = {n["id"]: sorted(set(predictions[n["id"]].positive) & set(n["not_patient"])) for n in NOTES}
    assert not {k: v for k, v in wrong.items() if v}


def test_model_finds_at_least_90_percent_of_the_patients_problems(predictions, service):
    labels = set(service.runtime.load(MODEL).card.labels)
    expected = [(n["id"], p) for n in NOTES for p in n["patient"] if p in labels]
    missed = [(i, p) for i, p in expected if p not in predictions[i].positive]
    assert len(expected) >= 25
    assert 1 - len(missed) / len(expected) >= 0.9, missed


def test_model_suggests_nothing_the_note_does_not_document(predictions):
    extra = {n["id"]: sorted(set(predictions[n["id"]].positive) - set(n["patient"])) for n in NOTES}
    assert not {k: v for k, v in extra.items() if v}


@pytest.mark.parametrize("text, problem", [
    ("No history of atrial fibrillation.", "atrial_fibrillation"),
    ("No pleural effusion.", "pleural_effusion"),
    ("Chest radiograph: no pleural effusions, no pneumothorax.", "pleural_effusion"),
])
def test_a_denied_problem_is_listed_as_negated_not_suggested(service, text, problem):
    prediction = run_job(service.predict(MODEL, TextInput(text)))
    assert problem not in prediction.positive
    assert not prediction.extra["suggestions"]
    mentioned = {m["problem"]: m for m in prediction.extra["mentioned_not_suggested"]}
    assert mentioned[problem]["assertion"] == Assertion.NEGATED.value
    assert note_evidence_lines(prediction)[0].endswith("mentioned, negated")


def test_a_healthy_check_up_yields_no_problem(predictions):
    for note_id in ("n03", "n29"):
        assert predictions[note_id].positive == []


def test_every_suggestion_cites_its_sentences(predictions):
    for note in NOTES:
        prediction = predictions[note["id"]]
        suggestions = prediction.extra["suggestions"]
        assert [s["problem"] for s in suggestions] == prediction.positive
        for suggestion in suggestions:
            assert suggestion["evidence"], suggestion
            for evidence in suggestion["evidence"]:
                assert note["text"][evidence["start"]:evidence["end"]] == evidence["text"]
                assert evidence["text"] in note["text"][evidence["sentence_start"]:evidence["sentence_end"]]
                assert evidence["assertion"] in ("affirmed", "historical")


def test_a_long_note_keeps_every_mention_and_status(service):
    filler = "Vital signs were reviewed and the examination was otherwise documented in detail. " * 60
    text = filler + "Family history: father with atrial fibrillation.\nAssessment: right lower lobe pneumonia. " + filler
    prediction = run_job(service.predict(MODEL, TextInput(text)))
    assert prediction.extra["chunks"] >= 4
    assert prediction.positive == ["pneumonia"]
    assert {m["problem"]: m["assertion"] for m in prediction.extra["mentioned_not_suggested"]} == {
        "atrial_fibrillation": "family"}


def test_explanation_highlights_the_evidence_of_the_chosen_problem(service):
    text = NOTES[3]["text"]  # n04: hypertension, diabetes, pneumonia; effusion and AF denied
    for problem in ("pneumonia", "pleural_effusion"):
        explanation = run_job(service.explain(MODEL, TextInput(text), "evidence", problem))
        marked = {w.strip(".,:").lower() for w, v in zip(explanation.labels, explanation.values, strict=True) if abs(v) == 1.0}
        assert marked == ({"pneumonia"} if problem == "pneumonia" else {"pleural", "effusion"})
        sign = 1 if problem == "pneumonia" else -1
        assert all(v * sign > 0 for v in explanation.values if v != 0)


def test_cli_json_carries_statuses_and_evidence(capsys):
    from medassist.cli.main import main

    text = "Right lower lobe pneumonia. No pleural effusion. Mother has diabetes."
    assert main(["predict", "--model", MODEL, "--text", text, "--json"]) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row["positive"] == ["pneumonia"]
    (suggestion,) = row["extra"]["suggestions"]
    assert suggestion["evidence"][0]["sentence"] == "Right lower lobe pneumonia."
    assert text[suggestion["evidence"][0]["start"]:suggestion["evidence"][0]["end"]] == "pneumonia"
    assert {m["problem"]: m["assertion"] for m in row["extra"]["mentioned_not_suggested"]} == {
        "pleural_effusion": "negated", "diabetes": "family"}


def test_evidence_view_shows_the_sentence_and_strikes_what_is_not_taken(qtbot, service):
    from medassist.ui.widgets.token_view import TokenScoresView

    text = "Chest x-ray: right lower lobe pneumonia. No pleural effusion. History of pneumonia in 2019."
    prediction = run_job(service.predict(MODEL, TextInput(text)))
    view = TokenScoresView()
    qtbot.addWidget(view)
    view.resize(900, 420)
    view.show_explanation(prediction, run_job(service.explain(MODEL, TextInput(text), "evidence", "pneumonia")))
    markup = view.text.toHtml()
    assert view.method == "evidence"
    assert "font-weight:700" in markup or "font-weight:bold" in markup  # the mention
    assert "line-through" in markup  # the past episode, not taken
    summary = view.summary.text()
    assert "<b>evidence</b>: Chest x-ray: right lower lobe pneumonia." in summary
    assert "<b>mentioned, past episode</b>: History of pneumonia in 2019." in summary
    view.grab().save("/tmp/notes_evidence_view.png")


def test_a_finding_row_says_when_evidence_and_score_disagree():
    """Notes suggestions come from affirmed sentences; the head's number is called a score, never a probability."""
    from medassist.domain.findings import Finding, FindingStatus
    from medassist.domain.result_text import finding_text

    htn = Finding("htn", "Hypertension", FindingStatus.SUGGESTED, 0.068, None, "note evidence", ("BP 168/98, hypertension.",))
    assert finding_text(htn) == "Hypertension \u2014 suggested from the note: \u201cBP 168/98, hypertension.\u201d (model score 6.8%)"
    effusion = Finding("eff", "Pleural effusion", FindingStatus.NOT_SUGGESTED, 0.551, None, "note evidence")
    assert finding_text(effusion) == "Pleural effusion \u2014 not suggested: no sentence of the note affirms it (score 55.1%)"
    film = Finding("pna", "Pneumonia", FindingStatus.SUGGESTED, 0.53, 0.31, "threshold")
    assert finding_text(film) == "Pneumonia \u2014 suggested: 53.0% (threshold 31.0%)"
