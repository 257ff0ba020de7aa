"""Structured-data models: held-out metrics from the bundled weights, IG completeness, missing inputs,
units and bad typed-in values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medassist.errors import InputError
from medassist.domain.inputs import RecordInput
from medassist.domain.result_text import result_json
from medassist.inference.service import InferenceService
from medassist.jobs import run_job
from medassist.records.schema import PatientRecords
from medassist.training import tabular_models
from medassist.training.metrics import binary_metrics
from tests.services import cpu_service

# Floors on data the models never saw; the cards hold the exact numbers.
FLOORS = {
    ("heart-disease", "test"): {"auroc": 0.85, "accuracy": 0.78},
    ("heart-disease", "external_va"): {"auroc": 0.62},
    ("diabetes-pima", "test"): {"auroc": 0.78, "accuracy": 0.70},
    ("ckd", "test"): {"auroc": 0.97, "accuracy": 0.93},
}


@pytest.fixture(scope="module")
def service() -> InferenceService:
    return cpu_service(threads=1)


@pytest.fixture(scope="module")
def datasets(shared_data):
    return {name: recipe.loader(shared_data) for name, recipe in tabular_models.SETTINGS.items()}


@pytest.mark.parametrize(("model", "split"), sorted(FLOORS))
def test_held_out_metrics_from_bundled_weights(service, datasets, model, split):
    loaded = service.runtime.load(model)
    dataset = datasets[model]
    index = dataset.splits[split]
    probs = tabular_models.predict(loaded.module, dataset.features, [dataset.rows[i] for i in index])
    metrics = binary_metrics(dataset.outcome[index], probs, ci=False)
    for name, floor in FLOORS[(model, split)].items():
        assert metrics[name] >= floor, f"{model} {split} {name} {metrics[name]} < {floor}"
        assert metrics[name] == pytest.approx(loaded.card.metrics[split][name], abs=1e-4), "card metric differs from recomputed"


@pytest.mark.parametrize("model", sorted(tabular_models.SETTINGS))
def test_integrated_gradients_are_complete(service, datasets, model):
    dataset = datasets[model]
    checked = 0
    for i in dataset.splits["test"][:12]:
        features = {k: v for k, v in dataset.rows[i].items()}
        if model == "diabetes-pima":
            features["sex"] = "female"  # the Pima population; the data set has no sex column
        prediction = run_job(service.predict(model, features))
        if prediction.refused or checked == 5:  # (a test row can lack a required input)
            continue
        checked += 1
        explanation = run_job(service.explain(model, features, "integrated_gradients"))
        probability = prediction.outputs[explanation.target]
        faith = explanation.faithfulness
        assert faith["probability"] == pytest.approx(probability, abs=1e-6)
        assert float(np.sum(explanation.values)) == pytest.approx(probability - faith["baseline_probability"], abs=5e-3)
        for name, value in zip(explanation.labels, explanation.values, strict=True):
            if features[name] is None:
                assert value == 0.0, f"missing input {name} got attribution {value}"
    assert checked >= 3


def _patient(observations: list[dict], conditions: list[dict] | None = None) -> PatientRecords:
    frame = pd.DataFrame(observations).assign(patient_id="p1", system="LOINC", date="2024-03-01")
    return PatientRecords.from_frames(
        patients=pd.DataFrame([{"patient_id": "p1", "birth_date": "1958-04-02", "sex": "male"}]),
        observations=frame,
        conditions=pd.DataFrame(conditions or [], columns=["patient_id", "code", "system", "description", "onset"]),
    )


def test_record_lacking_cholesterol_names_it_missing(service):
    records = _patient([
        {"code": "8480-6", "value": 148.0, "unit": "mm[Hg]"},
        {"code": "1558-6", "value": 6.1, "unit": "mmol/L"},
        {"code": "55425-3", "value": 140.0, "unit": "/min"},
    ])
    prediction = run_job(service.predict("heart-disease", RecordInput(records, "p1")))
    assert prediction.patient_id == "p1"
    assert "Serum total cholesterol" in prediction.missing_inputs
    assert "Resting systolic blood pressure" not in prediction.missing_inputs
    assert prediction.extra["inputs"]["chol"] is None
    assert prediction.extra["inputs"]["fbs"] == 0.0  # 6.1 mmol/L = 110 mg/dL, not > 120
    assert prediction.refused  # 5 of 13 known; the missing ones are named in the refusal's list
    with pytest.raises(InputError, match="no answer to explain"):
        run_job(service.explain("heart-disease", RecordInput(records, "p1"), "ig"))


def test_record_values_are_converted_to_model_units(service):
    records = _patient(
        [
            {"code": "8480-6", "value": 150.0, "unit": "mmHg"},
            {"code": "2093-3", "value": 6.2, "unit": "mmol/L"},
            {"code": "2160-0", "value": 150.0, "unit": "umol/L"},
            {"code": "8462-4", "value": 88.0, "unit": "mm[Hg]"},
            {"code": "718-7", "value": 98.0, "unit": "g/L"},
            {"code": "6299-2", "value": 28.0, "unit": "mg/dL"},
        ],
        [{"patient_id": "p1", "code": "38341003", "system": "SNOMED-CT", "description": "Hypertension", "onset": "2015-01-01"}],
    )
    heart = run_job(service.predict("heart-disease", RecordInput(records, "p1")))
    assert heart.extra["inputs"]["chol"] == pytest.approx(6.2 * 38.67, rel=1e-3)
    ckd = run_job(service.predict("ckd", RecordInput(records, "p1")))
    assert ckd.extra["inputs"]["sc"] == pytest.approx(150 / 88.42, rel=1e-3)
    assert ckd.extra["inputs"]["hemo"] == pytest.approx(9.8)
    assert ckd.extra["inputs"]["bu"] == pytest.approx(28.0 * 60.06 / 28.02, rel=1e-3)
    assert ckd.extra["inputs"]["htn"] == 1.0 and ckd.extra["inputs"]["dm"] == 0.0
    assert "LOINC 2160-0" in ckd.extra["provenance"]["sc"]


def test_gate_refuses_a_record_with_too_few_inputs(service):
    records = _patient([{"code": "8302-2", "value": 180.0, "unit": "cm"}])
    prediction = run_job(service.predict("heart-disease", RecordInput(records, "p1")))
    assert prediction.refused
    assert result_json(prediction)["outputs"] == {}
    assert "missing Maximum heart rate achieved (exercise test), which it always needs" in prediction.gate.reason
    records = _patient([{"code": "55425-3", "value": 140.0, "unit": "/min"}])  # required ones known, too few in all
    prediction = run_job(service.predict("heart-disease", RecordInput(records, "p1")))
    assert prediction.refused and prediction.gate.reason.startswith("inputs missing 10 > limit 7: 6 of 13 inputs are needed, 3 are known")


def test_typed_in_values_are_checked(service):
    with pytest.raises(InputError, match="chol"):
        run_job(service.predict("heart-disease", {"age": 60, "chol": "high"}))
    with pytest.raises(InputError, match="plausible range"):
        run_job(service.predict("heart-disease", {"age": 60, "chol": 5000}))
    with pytest.raises(InputError, match="unknown input"):
        run_job(service.predict("diabetes-pima", {"cholesterol": 200}))
    prediction = run_job(service.predict("heart-disease", {"age": 63, "sex": 1, "cp": "asymptomatic", "trestbps": 145, "chol": 233}))
    assert prediction.extra["inputs"]["cp"] == 4.0
    assert "Thallium stress test" in prediction.missing_inputs
