"""The bundled recommender, recomputed on held-out Synthea patients, stays above the floor its script reported."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medassist.inference.registry import ModelRegistry
from medassist.inference.runtime import ModelRuntime
from medassist.paths import bundled_models_dir
from medassist.recommend.features import MODEL_NAME, FeatureSpace
from medassist.recommend.knowledge import default_knowledge
from medassist.training.recommender import ddi_pairs, load_examples, set_metrics, to_arrays

pytestmark = pytest.mark.data


def test_bundled_recommender_metrics_on_held_out_patients(shared_data):
    loaded = ModelRuntime(ModelRegistry([bundled_models_dir()]), "cpu", threads=1).load(MODEL_NAME)
    card = loaded.card
    assert card.task == "recommendation"
    kb = default_knowledge()
    assert card.recommender is not None
    space = FeatureSpace.of(card.recommender.features)
    examples, _ = load_examples(shared_data, kb)
    test = [e for e in examples if e.split == "test"]
    train_patients = {e.patient_id for e in examples if e.split == "train"}
    assert test and not train_patients & {e.patient_id for e in test}, "patient-level split"
    x, y = to_arrays(test, space)
    with torch.no_grad():
        probs = torch.sigmoid(loaded.module(torch.from_numpy(x))).numpy()
    metrics = set_metrics(y, probs, card.thresholds["recommend"], ddi_pairs(space, kb))
    floor = card.metrics["floor"]
    for name in ("jaccard", "f1", "prauc"):
        assert metrics[name] >= floor[name], (name, metrics[name], floor[name])
        assert metrics[name] == pytest.approx(card.metrics["test"]["all"][name], abs=0.01)
    assert metrics["jaccard"] > card.metrics["popularity_baseline_test"]["all"]["jaccard"]
    assert 0.0 <= metrics["ddi_rate"] <= 1.0
    assert np.isclose(metrics["ddi_rate"], card.metrics["test"]["all"]["ddi_rate"], atol=0.01)
