"""The Treatment tab on a built patient: worker computation, severity colours, exclusions, questions, decisions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from medassist import DECISION_SUPPORT_NOTICE
from medassist.session import Session
from medassist.settings import Settings
from medassist.ui.bridge import SessionBridge
from medassist.ui.context import AppContext
from medassist.ui.tabs.treatment_tab import SEVERITY_COLOURS, TreatmentTab
from medassist.ui.workers import JobRunner
from tests.services import cpu_services

from .builders import PENICILLIN_ANAPHYLAXIS, make_records

SHOTS = Path(os.environ.get("MEDASSIST_SHOTS", "/tmp/shots-treatment"))


@pytest.fixture()
def tab(qtbot, tmp_path):
    session = Session()
    runner = JobRunner(max_threads=1)
    messages: list[tuple[str, str]] = []
    context = AppContext(session=session, bridge=SessionBridge(session), runner=runner, services=cpu_services(audit=tmp_path / "audit.jsonl"),
                         show_message=lambda t, m: messages.append((t, m)))
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


def children(item):
    return [item.child(i) for i in range(item.childCount())]


def all_rows(tree):
    return [child for g in range(tree.topLevelItemCount()) for child in children(tree.topLevelItem(g))]


def wait_for_result(tab, qtbot, setting=None):
    before = tab.result
    if setting is not None:
        tab.setting.setCurrentIndex(tab.setting.findData(setting))
    qtbot.waitUntil(lambda: tab.result is not None and tab.result is not before and tab.showing_content, timeout=30000)
    return tab.result


def test_tab_groups_options_by_condition_with_current_therapy_rule_and_warnings(tab, qtbot):
    tab.use_model.setChecked(False)
    tab.session.set_records(demo_like_patient())
    result = wait_for_result(tab, qtbot)
    assert tab.notice.text() == DECISION_SUPPORT_NOTICE and tab.notice.isVisible()
    first_group = tab.tree.topLevelItem(0)
    assert first_group.text(0).startswith("Community-acquired pneumonia - this visit: new options")
    cap_ids = [c.data(0, 256) for c in children(first_group) if c.data(0, 256)]
    assert cap_ids == result.groups[0].options + result.groups[0].excluded
    excluded = next(c for c in children(first_group) if c.data(0, 256) == "cap_opc_amoxclav_azithro")
    assert excluded.background(2).color().name() == SEVERITY_COLOURS["contraindicated"][0]
    majors = [c for c in children(first_group) if c.text(5).startswith("MAJOR")]
    assert majors and majors[0].background(2).color().name() == SEVERITY_COLOURS["major"][0]
    assert all(int(m.text(0)) > int(c.text(0)) for m in majors for c in children(first_group)
               if c.text(0) and not c.text(5).startswith("MAJOR")), "major warnings go below every option without one"
    rows = {r.data(0, 256): r for r in all_rows(tab.tree) if r.data(0, 256)}
    assert not any(option_id.startswith("htn_") for option_id in rows), "treated hypertension gets no new drugs"
    metformin = rows["current_metformin"]
    assert metformin.text(1).startswith("Current therapy:") and metformin.text(2).startswith("contraindicated")
    # metformin at eGFR 27 must be stopped: its row says so, and the diabetes group offers its replacements
    assert metformin.text(4) == "current: stop / replace" and result.therapy("metformin").replacements
    assert all(r in rows for r in result.therapy("metformin").replacements)
    assert "Missing inputs" in tab.questions.text() and "Outpatient is assumed" in tab.questions.text()
    assert "How options are ordered" in tab.rule.text() and "not exhaustive" in tab.rule.text()
    assert result.interaction_table.split(":")[0] in tab.rule.text() and "switched off" in tab.rule.text()
    tab.tree.setCurrentItem(majors[0])
    assert "Warnings" in tab.detail.toHtml() and "Sources" in tab.detail.toHtml()
    tab.tree.setCurrentItem(metformin)
    assert "Not offered again as a new option" in tab.detail.toPlainText() and "stop / replace" in tab.detail.toPlainText()
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert tab.grab().save(str(SHOTS / "treatment_tab.png"))

    icu = wait_for_result(tab, qtbot, "severe")
    assert icu.setting == "severe" and "Outpatient is assumed" not in tab.questions.text()
    ids = {r.data(0, 256) for r in all_rows(tab.tree)}
    assert not any(i and i.startswith(("cap_op", "t2d_", "htn_")) for i in ids)


def test_decisions_are_kept_across_setting_changes_and_every_option_reaches_the_report(tab, qtbot):
    from medassist.reporting.content import collect_report

    tab.use_model.setChecked(False)
    tab.session.set_records(demo_like_patient())
    result = wait_for_result(tab, qtbot)
    cap = tab.tree.topLevelItem(0)
    first, second = cap.child(0), cap.child(1)
    tab.tree.setCurrentItem(first)
    tab.comment.setText("start today")
    tab.decide("accepted")
    tab.tree.setCurrentItem(second)
    tab.comment.setText("")
    tab.decide("modified")
    assert tab.messages and "modification" in tab.messages[-1][0].lower()
    tab.comment.setText("lower dose: 5 days only")
    tab.decide("modified")
    first_id, second_id = first.data(0, 256), second.data(0, 256)
    decisions = {d.option_id: d for d in tab.session.current_decisions()}
    assert decisions[first_id].status == "accepted" and decisions[first_id].comment == "start today"
    assert decisions[first_id].detail["sources"] and decisions[first_id].detail["dose"]
    assert decisions[second_id].status == "modified" and cap.child(0).text(3) == "Accepted"
    considered = {o.option_id for o in result.options + result.excluded} | {t.option_id for t in result.current_therapy}
    assert considered <= set(decisions), "every option considered is in the session, pending until decided"

    wait_for_result(tab, qtbot, "inpatient")
    decisions = {d.option_id: d for d in tab.session.current_decisions()}
    assert decisions[first_id].status == "accepted" and decisions[second_id].status == "modified", "kept across the setting change"
    earlier = [tab.tree.topLevelItem(g) for g in range(tab.tree.topLevelItemCount())
               if tab.tree.topLevelItem(g).text(0).startswith("Decided earlier")]
    assert earlier and {c.data(0, 256) for c in children(earlier[0])} == {first_id, second_id}
    assert not any(d.option_id.startswith("cap_op") for d in decisions.values() if d.status == "pending")

    content = collect_report(tab.session, "demo1", cards={}, settings=Settings())
    rows = {t.label: t for t in content.treatments}
    assert rows[decisions[first_id].label].status == "Accepted" and rows[decisions[first_id].label].comment == "start today"
    assert rows[decisions[second_id].label].comment == "lower dose: 5 days only"
    assert len(content.treatments) == len(decisions) and any(t.status == "Not decided" for t in content.treatments)
    assert not any("{'severity'" in t.detail or "'message'" in t.detail for t in content.treatments)
    assert any("MAJOR: " in t.detail for t in content.treatments)
    earlier_rows = [t for t in content.treatments if t.group.startswith("Decided under an earlier plan")]
    assert {t.label for t in earlier_rows} == {decisions[first_id].label, decisions[second_id].label}
    assert content.treatments[-1] in earlier_rows and "outpatient assumed" in earlier_rows[0].group
    assert any("not exhaustive" in n for n in content.treatment_notes) and any(n.startswith("Order:") for n in content.treatment_notes)
    events = [e["event"] for e in tab.context.audit.read()]
    assert "recommendation" in events and events.count("treatment_decision") == 2

    import io

    import pypdf

    from medassist.reporting.pdf import render_pdf

    data = render_pdf(content)
    text = " ".join((page.extract_text() or "") for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    flat = " ".join(text.split())
    assert "start today" in flat and "MAJOR:" in flat and "Not decided" in flat
    assert "{'severity'" not in flat and "'message':" not in flat, "a GUI decision's warnings print as lines, not dicts"
    assert "Treatment options considered" in flat and "not exhaustive" in flat
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "report.pdf").write_bytes(data)


def issue_patient(name):
    """The patients of issue 15, built in code."""
    if name == "three_drugs":
        return make_records(patient_id="p1", birth_date="1950-03-01", sex="male", conditions=("pneumonia", "hypertension", "hyperlipidaemia"),
                            medications=("amlodipine", "simvastatin", "citalopram"), observations={"egfr": 68.0, "potassium": 4.3})
    if name == "icu":
        return make_records(patient_id="p2", birth_date="1955-01-01", conditions=("pneumonia", "hypertension", "diabetes"),
                            medications=("metformin",), observations={"egfr": 70.0, "potassium": 4.1})
    if name == "child":
        return make_records(patient_id="p3", birth_date="2022-06-01", sex="male", conditions=("pneumonia",), weight_kg=16.0)
    return make_records(patient_id="p4", birth_date="1946-01-01", sex="female", conditions=("pneumonia", "hypertension", "heart_failure"),
                        medications=("norepinephrine", "metoprolol"), observations={"egfr": 48.0, "potassium": 4.0, "lactate": 4.6})


@pytest.mark.parametrize("name, setting", [("three_drugs", "outpatient"), ("icu", "severe"), ("child", None), ("septic_shock", "outpatient")])
def test_issue_patients_in_the_tab(tab, qtbot, name, setting):
    tab.use_model.setChecked(False)
    tab.setting.setCurrentIndex(tab.setting.findData(setting))
    tab.session.set_records(issue_patient(name))
    result = wait_for_result(tab, qtbot)
    rows = {r.data(0, 256): r for r in all_rows(tab.tree) if r.data(0, 256)}
    current = {i for t in result.current_therapy for i in t.ingredients}
    assert not any(i["id"] in current for o in result.options for i in o.ingredients)
    if name == "three_drugs":
        assert rows["cap_op_clarithromycin"].text(5) == "excluded" and rows["current_simvastatin"].text(2).startswith("moderate")
        assert rows["cap_op_azithromycin"].text(5).startswith("MAJOR")
    if name in ("icu", "septic_shock"):
        assert not any(i.startswith(("cap_op", "htn_", "t2d_", "hf_")) for i in rows)
    if name == "child":
        assert "PSI" not in tab.questions.text() and "PIDS/IDSA 2011" in tab.questions.text()
    assert tab.alerts.isVisibleTo(tab) == (name == "septic_shock")
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert tab.grab().save(str(SHOTS / f"treatment_{name}.png"))


def test_confirmed_finding_triggers_recompute(tab, qtbot):
    tab.use_model.setChecked(False)
    tab.session.set_records(make_records(patient_id="kid", birth_date="2022-01-01", weight_kg=15))
    qtbot.waitUntil(lambda: tab.result is not None, timeout=30000)
    assert not tab.result.options
    tab.session.confirm_finding("Pneumonia")
    qtbot.waitUntil(lambda: tab.result is not None and bool(tab.result.options), timeout=30000)
    assert tab.result.options[0].option_id == "cap_child_op_amoxicillin"


def vignette(name):
    """The treatment vignettes of issue 26 and the demo patients with a plan, for the 1024x700 screenshots."""
    from .builders import born

    if name == "hfref_k56":
        return make_records(patient_id="v1", birth_date=born(68), sex="male", conditions=("heart_failure", "hypertension"),
                            medications=("ramipril", "spironolactone", "furosemide"),
                            observations={"egfr": 55.0, "potassium": 5.6, "lvef": 30.0, "systolic_bp": 118.0, "heart_rate": 82.0})
    if name == "ckd4_metformin":
        return make_records(patient_id="v2", birth_date=born(70), sex="male", conditions=("diabetes", "ckd4", "hypertension"),
                            medications=("metformin", "lisinopril", "atorvastatin"),
                            observations={"egfr": 24.0, "potassium": 5.3, "acr": 450.0}, weight_kg=88)
    if name == "af_nsaid":
        return make_records(patient_id="v3", birth_date=born(72), sex="female", conditions=("atrial_fibrillation", "hypertension"),
                            medications=("naproxen",), observations={"creatinine": 0.9, "egfr": 62.0, "heart_rate": 84.0}, weight_kg=70)
    if name == "af_reduced_dose":
        return make_records(patient_id="v4", birth_date=born(83), sex="female", conditions=("atrial_fibrillation", "hypertension"),
                            observations={"creatinine": 1.3, "egfr": 38.0, "heart_rate": 88.0}, weight_kg=55)
    if name == "older_beers":
        return make_records(patient_id="v5", birth_date=born(81), sex="female", conditions=("falls", "osteoarthritis"),
                            medications=("diphenhydramine", "zolpidem", "lorazepam", "naproxen"), observations={"egfr": 52.0})
    if name == "t2d_glyburide":
        return make_records(patient_id="v6", birth_date=born(74), sex="female", conditions=("diabetes",), medications=("glyburide",),
                            observations={"egfr": 40.0, "potassium": 4.5}, weight_kg=70)
    from medassist.demo.cohort import build_demo

    return build_demo().records


@pytest.mark.parametrize("name, patient_id", [
    ("hfref_k56", "v1"), ("ckd4_metformin", "v2"), ("af_nsaid", "v3"), ("af_reduced_dose", "v4"), ("older_beers", "v5"),
    ("t2d_glyburide", "v6"), ("demo", "DEMO-03"), ("demo", "DEMO-04"), ("demo", "DEMO-07"), ("demo", "DEMO-01"),
])
def test_plans_read_at_1024_by_700(tab, qtbot, name, patient_id):
    tab.use_model.setChecked(False)
    tab.resize(1024, 700)
    records = vignette(name)
    tab.session.set_records(records)
    tab.session.set_current_patient(patient_id)
    qtbot.waitUntil(lambda: tab.result is not None and tab.result.patient_id == patient_id and tab.showing_content, timeout=30000)
    rows = all_rows(tab.tree)
    assert rows and all(r.toolTip(1) for r in rows if r.text(1)), "every row carries its full text as a tooltip"
    assert tab.tree.textElideMode() == Qt.TextElideMode.ElideNone and tab.tree.wordWrap()
    long_rows = [r for r in rows if len(r.text(1)) > 60]
    single = tab.tree.fontMetrics().height()
    assert all(tab.tree.visualItemRect(r).height() > single * 1.5 for r in long_rows if not r.isHidden()
               and tab.tree.visualItemRect(r).height()), "long names wrap onto more lines instead of being cut"
    if tab.result.groups and tab.result.groups[0].pillars:
        assert any(r.text(1).startswith(tab.result.groups[0].pillars[0].pillar[:1].upper()) for r in rows)
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert tab.grab().save(str(SHOTS / f"treatment_1024_{name}_{patient_id}.png"))
