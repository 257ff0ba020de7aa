"""The Diagnosis tab on the demo: a record model's refusal reads the same in the tab, in
``predict --json`` and in the report; findings are confirmed or rejected with a note; a re-run
replaces the earlier result. Screenshots go to /tmp/shots-diagnosis/ (look at them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel

from medassist.cli.main import main
from medassist.demo import build_demo
from medassist.reporting.content import collect_report
from medassist.ui.tabs.diagnosis_tab import SCOPE_PATIENT, PredictionCard
from medassist.settings import Settings
from tests.services import bundled_cards

SHOTS = Path("/tmp/shots-diagnosis")


@pytest.fixture()
def demo():
    return build_demo()


def _run(qtbot, tab) -> None:
    tab.scope.setCurrentText(SCOPE_PATIENT)
    tab.run()
    qtbot.waitUntil(lambda: tab.handle is None, timeout=120000)


def _cards(tab) -> dict[str, PredictionCard]:
    return {card.prediction.model: card for card in tab.results.findChildren(PredictionCard)}


def test_refusal_reads_the_same_in_tab_cli_and_report(qtbot, window, demo, monkeypatch, capsys, tmp_path):
    session = window.session
    session.set_records(demo.records)
    session.set_current_patient("DEMO-01")  # a 58-year-old man: outside the Pima model's population
    tab = window.tab_pages["Diagnosis"]
    _run(qtbot, tab)
    card = _cards(tab)["diabetes-pima"]
    shown = card.gate_label.text()
    assert shown.startswith("No answer. Outside the data the model knows: this patient (male, 58 years)")
    assert not card.bars and not card.explain_button.isEnabled()

    import medassist.records.importer as importer

    monkeypatch.setattr(importer, "import_records", lambda path, mapping=None, remembered=None: demo.records)
    capsys.readouterr()
    assert main(["predict", "--model", "diabetes-pima", "--records", str(tmp_path), "--patient", "DEMO-01", "--json"]) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row["refusal"] == shown and row["outputs"] == {}

    report = collect_report(session, "DEMO-01", settings=Settings(), cards=bundled_cards())
    assert [n.reason for n in report.not_answered if n.model.startswith("Diabetes")] == [shown]
    SHOTS.mkdir(exist_ok=True)
    tab.results.grab().save(str(SHOTS / "DEMO-01.png"))


def test_findings_are_confirmed_with_a_note_and_a_rerun_replaces_the_result(qtbot, window, demo):
    session = window.session
    session.set_records(demo.records)
    session.set_current_patient("DEMO-06")  # typical angina, positive exercise ECG
    tab = window.tab_pages["Diagnosis"]
    _run(qtbot, tab)
    heart = _cards(tab)["heart-disease"]
    assert not heart.prediction.refused and heart.prediction.positive
    name = "Heart disease (angiographic, >50% narrowing)"
    row = heart.finding_rows[name]
    labels = " ".join(label.text() for label in heart.findChildren(QLabel))
    assert "&gt;" not in labels and "heart_disease" not in labels and "100.0%" not in labels
    row.note.setText("Exercise ECG positive; refer for CT coronary angiography")
    row.confirm_button.click()
    review = session.finding_reviews["DEMO-06"][name]
    assert (review.status, review.note, review.model) == ("confirmed", "Exercise ECG positive; refer for CT coronary angiography",
                                                           "heart-disease")
    assert session.confirmed_findings["DEMO-06"] == [name]
    qtbot.waitUntil(lambda: _cards(tab)["heart-disease"].finding_rows[name].status.text() == "Confirmed by clinician")
    count = len(session.current_predictions())
    _run(qtbot, tab)
    assert len(session.current_predictions()) == count
    assert len(tab.results.findChildren(PredictionCard)) == count
    SHOTS.mkdir(exist_ok=True)
    tab.results.grab().save(str(SHOTS / "DEMO-06.png"))
