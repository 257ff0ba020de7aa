"""The Treatment tab on a built patient: worker computation, severity colours, exclusions, questions, decisions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from medassist import DECISION_SUPPORT_NOTICE
from medassist.audit import AuditLog
from medassist.session import Session
from medassist.settings import Settings
from medassist.ui.bridge import SessionBridge
from medassist.ui.context import AppContext
from medassist.ui.tabs.treatment_tab import SEVERITY_COLOURS, TreatmentTab
from medassist.ui.workers import JobRunner

from .builders import PENICILLIN_ANAPHYLAXIS, make_records

SHOTS = Path(os.environ.get("MEDASSIST_SHOTS", "/tmp/shots-treatment"))


@pytest.fixture()
def tab(qtbot, tmp_path):
    session = Session()
    runner = JobRunner(max_threads=1)
    messages: list[tuple[str, str]] = []
    context = AppContext(session=session, bridge=SessionBridge(session), runner=runner, settings=Settings(),
                         audit=AuditLog(tmp_path / "audit.jsonl"), show_message=lambda t, m: messages.append((t, m)))
    page = TreatmentTab(context)
    page.messages = messages
    qtbot.addWidget(page)
    page.resize(1400, 860)
    page.show()
    yield page
    runner.shutdown(5000)


def demo_like_patient():
    return make_records(
        patient_id="demo1", birth_date="1958-03-14", sex="male",
        conditions=("pneumonia", "diabetes", "hypertension"),
        medications=("warfarin", "lisinopril", "hydrochlorothiazide", "metformin"),
        allergies=(PENICILLIN_ANAPHYLAXIS,), observations={"egfr": 27.0, "potassium": 4.6}, weight_kg=82,
    )


def test_tab_shows_ranked_options_exclusions_warnings_and_questions(tab, qtbot):
    tab.use_model.setChecked(False)
    tab.session.set_records(demo_like_patient())
    qtbot.waitUntil(lambda: tab.result is not None and tab.showing_content, timeout=30000)
    result = tab.result
    assert tab.notice.text() == DECISION_SUPPORT_NOTICE and tab.notice.isVisible()
    ranked, excluded = tab.tree.topLevelItem(0), tab.tree.topLevelItem(1)
    assert ranked.childCount() == len(result.options) > 0
    assert excluded.childCount() == len(result.excluded) > 0
    excluded_ids = {excluded.child(i).data(0, 256) for i in range(excluded.childCount())}
    assert "t2d_metformin" in excluded_ids and "cap_opc_amoxclav_azithro" in excluded_ids
    assert excluded.child(0).background(2).color().name() == SEVERITY_COLOURS["contraindicated"][0]
    majors = [ranked.child(i) for i in range(ranked.childCount()) if ranked.child(i).text(2).startswith("major")]
    assert majors and majors[0].background(2).color().name() == SEVERITY_COLOURS["major"][0]
    assert "Missing inputs" in tab.questions.text()
    assert "Current medication" in tab.current_warnings.text() and "metformin" in tab.current_warnings.text().lower()
    tab.tree.setCurrentItem(majors[0])
    assert "Warnings" in tab.detail.toHtml() and "Sources" in tab.detail.toHtml()
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert tab.grab().save(str(SHOTS / "treatment_tab.png"))


def test_accept_reject_modify_reach_the_session(tab, qtbot):
    tab.use_model.setChecked(False)
    tab.session.set_records(demo_like_patient())
    qtbot.waitUntil(lambda: tab.result is not None, timeout=30000)
    ranked = tab.tree.topLevelItem(0)
    tab.tree.setCurrentItem(ranked.child(0))
    tab.comment.setText("start today")
    tab.decide("accepted")
    tab.tree.setCurrentItem(ranked.child(1))
    tab.comment.setText("")
    tab.decide("modified")
    assert tab.messages and "modification" in tab.messages[-1][0].lower()
    tab.comment.setText("lower dose: 5 days only")
    tab.decide("modified")
    decisions = {d.option_id: d for d in tab.session.current_decisions()}
    first, second = ranked.child(0).data(0, 256), ranked.child(1).data(0, 256)
    assert decisions[first].status == "accepted" and decisions[first].comment == "start today"
    assert decisions[first].detail["sources"] and decisions[first].detail["dose"]
    assert decisions[second].status == "modified"
    assert ranked.child(0).text(3) == "Accepted"
    events = [e["event"] for e in tab.context.audit.read()]
    assert "recommendation" in events and events.count("treatment_decision") == 2


def test_confirmed_finding_triggers_recompute(tab, qtbot):
    tab.use_model.setChecked(False)
    tab.session.set_records(make_records(patient_id="kid", birth_date="2022-01-01", weight_kg=15))
    qtbot.waitUntil(lambda: tab.result is not None, timeout=30000)
    assert not tab.result.options
    tab.session.confirm_finding("Pneumonia")
    qtbot.waitUntil(lambda: tab.result is not None and bool(tab.result.options), timeout=30000)
    assert tab.result.options[0].option_id == "cap_child_op_amoxicillin"
