"""One metrics module: AUROC has one meaning, intervals one spelling, and the values are the ones
computed by hand below (and the ones scikit-learn gives)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from medassist.training import metrics


def test_auroc_counts_ties_half_and_is_none_with_one_class():
    # positives score 0.9, 0.4, 0.4; negatives 0.4, 0.1. Pairs (pos, neg): 0.9>0.4 1, 0.9>0.1 1,
    # 0.4=0.4 1/2, 0.4>0.1 1, 0.4=0.4 1/2, 0.4>0.1 1 -> 5 of 6 pairs = 0.8333...
    truth = np.array([1, 1, 1, 0, 0])
    scores = np.array([0.9, 0.4, 0.4, 0.4, 0.1])
    assert metrics.auroc(truth, scores) == pytest.approx(5 / 6)
    assert metrics.auroc(truth, scores) == pytest.approx(roc_auc_score(truth, scores))
    assert metrics.auroc(np.ones(4), np.arange(4.0)) is None


def test_auroc_agrees_with_scikit_learn_on_random_scores_with_ties():
    rng = np.random.default_rng(3)
    for _ in range(50):
        truth = rng.random(200) < 0.3
        scores = np.round(rng.random(200), 1)  # many ties
        assert metrics.auroc(truth, scores) == pytest.approx(roc_auc_score(truth, scores), abs=1e-12)


def test_weighted_auroc_draws_cases_by_weight_and_agrees_with_scikit_learn():
    # positives 0.9 (weight 2) and 0.3 (weight 1); negatives 0.5 (weight 1) and 0.3 (weight 3).
    # weighted pairs: 0.9 beats both: 2*1 + 2*3 = 8; 0.3 vs 0.5 loses: 0; 0.3 ties 0.3: 1*3*0.5 = 1.5
    # -> (8 + 1.5) / ((2 + 1) * (1 + 3)) = 9.5 / 12
    truth = np.array([1, 1, 0, 0])
    scores = np.array([0.9, 0.3, 0.5, 0.3])
    weights = np.array([2.0, 1.0, 1.0, 3.0])
    assert metrics.auroc(truth, scores, weights) == pytest.approx(9.5 / 12)
    assert metrics.auroc(truth, scores, weights) == pytest.approx(roc_auc_score(truth, scores, sample_weight=weights))
    rng = np.random.default_rng(5)
    truth, scores, weights = rng.random(300) < 0.4, np.round(rng.random(300), 1), rng.random(300) * 3
    assert metrics.auroc(truth, scores, weights) == pytest.approx(roc_auc_score(truth, scores, sample_weight=weights),
                                                                  abs=1e-12)


def test_record_metrics_are_rounded_and_spell_the_interval_one_way():
    # threshold 0.5: predicted 1, 1, 0, 0 for truth 1, 0, 1, 0 -> accuracy 2/4, sensitivity 1/2,
    # specificity 1/2; Brier = ((0.1)^2 + (0.6)^2 + (0.6)^2 + (0.1)^2) / 4 = 0.185
    found = metrics.binary_metrics(np.array([1, 0, 1, 0]), np.array([0.9, 0.6, 0.4, 0.1]))
    assert found["accuracy"] == 0.5 and found["sensitivity"] == 0.5 and found["specificity"] == 0.5
    assert found["brier"] == 0.185
    assert found["auroc"] == 0.75  # pairs: 0.9>0.6, 0.9>0.1, 0.4<0.6, 0.4>0.1 -> 3 of 4
    assert set(found) == {"n", "n_positive", "accuracy", "sensitivity", "specificity", "auroc", "brier", "auroc_ci95"}
    low, high = found["auroc_ci95"]
    assert 0.0 <= low <= high <= 1.0


def test_bootstrap_metrics_give_every_figure_its_interval():
    rng = np.random.default_rng(0)
    truth = rng.random(300) < 0.4
    probs = np.clip(truth * 0.3 + rng.random(300) * 0.7, 0, 1)
    found = metrics.bootstrap_metrics(truth, probs, 0.5, seed=1, n=200)
    for figure in ("auroc", "accuracy", "sensitivity", "specificity"):
        low, high = found[f"{figure}_ci95"]
        assert low <= found[figure] <= high
    assert found["n"] == 300 and found["n_positive"] == int(truth.sum())


def test_calibration_error_by_hand():
    # two bins of width 0.5: [0.2, 0.2] with outcomes [0, 1] -> |0.2 - 0.5| = 0.3, share 1/2;
    # [0.8, 0.8] with outcomes [1, 1] -> |0.8 - 1.0| = 0.2, share 1/2; ECE = 0.15 + 0.10 = 0.25
    ece, table = metrics.calibration_error(np.array([0, 1, 1, 1]), np.array([0.2, 0.2, 0.8, 0.8]), bins=2)
    assert ece == pytest.approx(0.25)
    assert [row["n"] for row in table] == [2, 2]


def test_auroc_is_computed_in_one_module_only():
    """No second implementation (scikit-learn's, a local helper named ``auroc``) anywhere in the code."""
    from pathlib import Path

    root = Path(metrics.__file__).resolve().parents[1]
    elsewhere = [str(path.relative_to(root)) for path in root.rglob("*.py") if path.name != "metrics.py"
                 and any(word in path.read_text(encoding="utf-8") for word in ("roc_auc_score", "def auroc(", "roc_curve("))]
    assert elsewhere == []
