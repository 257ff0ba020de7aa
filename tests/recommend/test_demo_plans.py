"""The demo patients whose plans the treatment rules change: what a clinician opening the demo sees."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from medassist.audit import AuditLog
from medassist.demo.cohort import build_demo
from medassist.jobs import run_job
from medassist.recommend.service import recommendation_job


AUDIT = Path(tempfile.mkdtemp(prefix="medassist-test-audit-")) / "audit.jsonl"


@pytest.fixture(scope="module")
def demo():
    return build_demo()


def plan(demo, patient_id):
    return run_job(recommendation_job(demo.records, patient_id, service=None, audit=AuditLog(AUDIT, "")))


def test_demo_04_ckd4_on_metformin_stops_it_flags_potassium_and_proposes_an_sglt2_inhibitor(demo):
    result = plan(demo, "DEMO-04")
    metformin = result.therapy("metformin")
    assert metformin.action == "stop" and metformin.replacements
    assert {i["id"] for i in result.option(metformin.replacements[0]).ingredients} & {"empagliflozin", "dapagliflozin"}
    lisinopril = result.therapy("lisinopril")
    assert lisinopril.action == "review" and any(w.kind == "potassium" and w.severity == "major" for w in lisinopril.warnings)
    ckd = {p.pillar: p.status for p in result.group("chronic_kidney_disease").pillars}
    assert ckd["SGLT2 inhibitor"] == "start" and ckd["RAS inhibitor at the highest tolerated dose"] == "review"
    assert any(f.startswith("Urine ACR 520") for f in result.group("chronic_kidney_disease").findings)


def test_demo_07_hfref_gets_its_four_pillars(demo):
    result = plan(demo, "DEMO-07")
    hf = {p.pillar: p.status for p in result.group("heart_failure").pillars}
    assert hf["RAS inhibition (ARNI, ACE inhibitor or ARB)"] in ("switch", "review")  # ramipril -> ARNI unless K >= 5.0
    assert hf["evidence-based beta-blocker"] == "titrate" and hf["SGLT2 inhibitor"] == "start"
    assert hf["MRA"] in ("titrate", "review")
    assert result.therapy("furosemide").action == "titrate"
    assert any(f.startswith("LVEF 30%") for f in result.group("heart_failure").findings)


def test_demo_03_af_on_warfarin_scores_and_keeps_anticoagulation(demo):
    result = plan(demo, "DEMO-03")
    scores = {s.name: s.points for s in result.scores}
    assert scores == {"CHA2DS2-VA": 3, "CHA2DS2-VASc": 4}  # age 76 (2) + hypertension (1) [+ female (1)]
    af = {p.pillar: p.status for p in result.group("atrial_fibrillation").pillars}
    assert af["anticoagulation"] == "in place" and result.therapy("warfarin").action == "continue"
    assert result.option("af_apixaban").replaces == ["warfarin"] and result.option("af_apixaban").dose_for_patient
