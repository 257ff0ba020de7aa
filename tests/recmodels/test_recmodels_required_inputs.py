"""A record-based model refuses, naming the inputs, when the card's required inputs are missing:
without them the CKD network answers with its training cohort's baseline (62% CKD)."""

from __future__ import annotations

from medassist.demo import build_demo
from medassist.inference.inputs import RecordInput
from medassist.inference.service import InferenceService
from medassist.jobs import run_job


def test_ckd_without_urinalysis_is_refused_with_the_missing_inputs_named(tmp_path):
    demo = build_demo()
    healthy = "DEMO-10"
    prediction = run_job(InferenceService().predict("ckd", RecordInput(demo.records, healthy)))
    assert prediction.refused
    assert "Urine specific gravity" in prediction.gate.reason and "Urine albumin" in prediction.gate.reason
    assert prediction.to_dict()["outputs"] == {}


def test_heart_model_still_answers_with_its_minimum_inputs():
    demo = build_demo()
    prediction = run_job(InferenceService().predict("heart-disease", RecordInput(demo.records, "DEMO-10")))
    assert not prediction.refused and 0.0 <= prediction.outputs["heart_disease"] < 0.5
