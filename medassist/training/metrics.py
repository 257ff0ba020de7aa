"""Metrics the record-model training scripts and tests compute the same way (numpy only)."""

from __future__ import annotations

from typing import Any

import numpy as np


def auroc(truth: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties counted half); None when one class is absent."""
    truth = np.asarray(truth).astype(bool)
    scores = np.asarray(scores, dtype=float)
    n_pos, n_neg = int(truth.sum()), int((~truth).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return round(float((ranks[truth].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)), 4)


def bootstrap_auroc_ci(truth: np.ndarray, scores: np.ndarray, n: int = 1000, seed: int = 7) -> list[float]:
    """Percentile 95% interval of the AUROC over ``n`` stratified-free bootstrap resamples."""
    rng = np.random.default_rng(seed)
    truth, scores = np.asarray(truth), np.asarray(scores)
    values = []
    for _ in range(n):
        idx = rng.integers(0, len(truth), len(truth))
        value = auroc(truth[idx], scores[idx])
        if value is not None:
            values.append(value)
    return [round(float(np.percentile(values, 2.5)), 4), round(float(np.percentile(values, 97.5)), 4)]


def f1_scores(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Micro and macro F1 of multi-label 0/1 matrices ``[N, K]`` (a label with no positives and no
    predictions scores F1 = 1)."""
    truth = np.asarray(truth).astype(bool)
    predicted = np.asarray(predicted).astype(bool)
    tp = (truth & predicted).sum(0)
    fp = (~truth & predicted).sum(0)
    fn = (truth & ~predicted).sum(0)
    micro = 2 * tp.sum() / max(2 * tp.sum() + fp.sum() + fn.sum(), 1)
    denominators = 2 * tp + fp + fn
    per_label = np.where(denominators > 0, 2 * tp / np.maximum(denominators, 1), 1.0)
    return {"micro_f1": round(float(micro), 4), "macro_f1": round(float(per_label.mean()), 4)}


def binary_metrics(truth: np.ndarray, probs: np.ndarray, threshold: float = 0.5, ci: bool = True) -> dict[str, Any]:
    """Accuracy, sensitivity, specificity, AUROC (with bootstrap 95% CI) and Brier score."""
    truth = np.asarray(truth).astype(int)
    probs = np.asarray(probs, dtype=float)
    predicted = (probs >= threshold).astype(int)
    tp = int(((predicted == 1) & (truth == 1)).sum())
    tn = int(((predicted == 0) & (truth == 0)).sum())
    metrics: dict[str, Any] = {
        "n": int(len(truth)),
        "positives": int(truth.sum()),
        "accuracy": round(float((predicted == truth).mean()), 4),
        "sensitivity": round(tp / max(int(truth.sum()), 1), 4),
        "specificity": round(tn / max(int((1 - truth).sum()), 1), 4),
        "auroc": auroc(truth, probs),
        "brier": round(float(np.mean((probs - truth) ** 2)), 4),
    }
    if ci:
        metrics["auroc_95ci"] = bootstrap_auroc_ci(truth, probs)
    return metrics
