"""One rule for every record model: it answers only inside its validated population and with its
card's minimum inputs known; a refusal names what is missing or why the patient is outside, and the
Diagnosis tab, ``predict --json`` and the report say it with the same sentence."""

from __future__ import annotations

import re

import pytest

from medassist.demo import build_demo
from medassist.inference.card import read_card
from medassist.domain.inputs import RecordInput
from medassist.domain.result_text import OUTSIDE, refusal_text, result_json
from medassist.inference.service import InferenceService
from medassist.jobs import run_job
from medassist.paths import bundled_models_dir
from tests.services import cpu_service

RECORD_MODELS = ("heart-disease", "diabetes-pima", "ckd")


@pytest.fixture(scope="module")
def service() -> InferenceService:
    return cpu_service(threads=2)


@pytest.fixture(scope="module")
def demo():
    return build_demo()


@pytest.mark.parametrize("name", RECORD_MODELS)
def test_every_record_card_declares_population_and_minimum_inputs(name):
    card = read_card(bundled_models_dir() / name)
    assert card.record is not None
    features = {f.name for f in card.record.features}
    assert card.outside_population == "refuse" and card.validated_populations
    assert card.minimum_inputs is not None and set(card.minimum_inputs.required) <= features
    assert len(card.minimum_inputs.required) <= card.minimum_inputs.min_known <= len(features)
    assert "AUROC" in card.minimum_inputs.basis


def test_heart_model_refuses_four_of_thirteen_inputs_naming_what_is_missing(service):
    four = {"age": 58, "sex": 1, "trestbps": 130, "chol": 188}
    prediction = run_job(service.predict("heart-disease", four))
    assert prediction.refused and result_json(prediction)["outputs"] == {}
    text = refusal_text(prediction)
    assert OUTSIDE in text and "Maximum heart rate achieved" in text and "thalach" not in text


def test_heart_model_answers_with_its_minimum_inputs(service):
    six = {"age": 58, "sex": 1, "trestbps": 130, "chol": 188, "fbs": 0, "thalach": 150}
    prediction = run_job(service.predict("heart-disease", six))
    assert not prediction.refused and refusal_text(prediction) is None
    assert "inputs missing 7 <= limit 7" in prediction.gate.reason


def test_pima_model_refuses_a_58_year_old_man_whatever_his_values(service, demo):
    prediction = run_job(service.predict("diabetes-pima", RecordInput(demo.records, "DEMO-01")))
    assert prediction.refused
    assert "male, 58 years" in prediction.gate.reason and "Women of Pima heritage (Arizona), aged 21-81 years" in prediction.gate.reason
    typed = {"glucose": 150, "bmi": 31, "age": 58, "blood_pressure": 80, "sex": "male"}
    assert run_job(service.predict("diabetes-pima", typed)).refused
    assert not run_job(service.predict("diabetes-pima", {**typed, "sex": "female"})).refused


def test_pima_model_refuses_when_sex_is_unknown(service):
    prediction = run_job(service.predict("diabetes-pima", {"glucose": 150, "bmi": 31, "age": 58, "blood_pressure": 80}))
    assert prediction.refused and "sex is not known" in prediction.gate.reason


def test_ckd_without_urinalysis_is_refused_with_the_missing_inputs_named(service, demo):
    prediction = run_job(service.predict("ckd", RecordInput(demo.records, "DEMO-10")))
    assert prediction.refused
    assert "Urine specific gravity" in prediction.gate.reason and "Urine albumin" in prediction.gate.reason
    assert result_json(prediction)["outputs"] == {}


def test_a_child_is_refused_for_her_age_which_is_never_called_missing(service, demo):
    """DEMO-02 is 4 years old: outside the heart model's adults (28-77), inside the CKD model's 2-90 years."""
    heart = run_job(service.predict("heart-disease", RecordInput(demo.records, "DEMO-02")))
    assert heart.refused and "Age" not in heart.missing_inputs
    assert re.search(r"this patient \(female, 4 years( \d+ months?)?\) is outside the population", heart.gate.reason)
    ckd = run_job(service.predict("ckd", RecordInput(demo.records, "DEMO-02")))
    assert "Age" not in ckd.missing_inputs and 4.0 <= ckd.extra["inputs"]["age"] < 4.5
    assert "outside the population" not in ckd.gate.reason


def test_demo_heart_patient_gets_an_answer_from_the_record(service, demo):
    prediction = run_job(service.predict("heart-disease", RecordInput(demo.records, "DEMO-06")))
    assert not prediction.refused and 0.0 <= prediction.outputs["heart_disease"] <= 1.0


def test_a_refused_input_has_no_attributions_either(service):
    from medassist.errors import InputError

    with pytest.raises(InputError, match="no answer to explain. Outside the data the model knows: missing Maximum heart rate"):
        run_job(service.explain("heart-disease", {"age": 58, "sex": 1, "trestbps": 130, "chol": 188}, "integrated_gradients"))
