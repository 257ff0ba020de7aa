"""Every metric the training scripts report, computed one way (numpy; scikit-learn only for PR-AUC).

One meaning per name, one spelling per key, the keys model cards carry and the card validator
checks (:mod:`medassist.inference.card`): ``auroc`` is the area under the ROC curve (Mann-Whitney,
ties counted half) and None when a class is absent; a 95% interval is ``<figure>_ci95``; the positives
among ``n`` are ``n_positive``. A validated population's figures are read as
:class:`medassist.domain.figures.Figures`.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np


def auroc(truth: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None) -> float | None:
    """Area under the ROC curve: the chance a random positive scores above a random negative, ties
    counted half (Mann-Whitney U / (n_pos * n_neg)); with ``weights``, each case drawn in proportion
    to its weight (what scikit-learn's weighted ROC AUC gives). None when one class is absent."""
    truth = np.asarray(truth).astype(bool)
    scores = np.asarray(scores, dtype=float)
    weight = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=float)
    positive, negative = float(weight[truth].sum()), float(weight[~truth].sum())
    if positive <= 0 or negative <= 0:
        return None
    _, group = np.unique(scores, return_inverse=True)
    negatives_at = np.bincount(group, weights=weight * ~truth)  # negative weight at each distinct score
    below = np.cumsum(negatives_at) - negatives_at
    credit = below[group] + 0.5 * negatives_at[group]  # negatives a case outranks, ties counted half
    return float((weight[truth] * credit[truth]).sum() / (positive * negative))


def rounded(value: float | None) -> float | None:
    """A figure as cards carry it: 4 decimal places (None stays None)."""
    return None if value is None else round(value, 4)


def bootstrap_auroc_ci(truth: np.ndarray, scores: np.ndarray, n: int = 1000, seed: int = 7) -> list[float]:
    """Percentile 95% interval of the AUROC (each resample's rounded to 4 places) over ``n``
    bootstrap resamples; resamples holding one class only are skipped."""
    rng = np.random.default_rng(seed)
    truth, scores = np.asarray(truth), np.asarray(scores)
    values = []
    for _ in range(n):
        idx = rng.integers(0, len(truth), len(truth))
        value = rounded(auroc(truth[idx], scores[idx]))
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
    """Accuracy, sensitivity, specificity, AUROC (with bootstrap 95% CI) and Brier score, rounded to 4 places."""
    truth = np.asarray(truth).astype(int)
    probs = np.asarray(probs, dtype=float)
    predicted = (probs >= threshold).astype(int)
    tp = int(((predicted == 1) & (truth == 1)).sum())
    tn = int(((predicted == 0) & (truth == 0)).sum())
    metrics: dict[str, Any] = {
        "n": int(len(truth)),
        "n_positive": int(truth.sum()),
        "accuracy": round(float((predicted == truth).mean()), 4),
        "sensitivity": round(tp / max(int(truth.sum()), 1), 4),
        "specificity": round(tn / max(int((1 - truth).sum()), 1), 4),
        "auroc": rounded(auroc(truth, probs)),
        "brier": round(float(np.mean((probs - truth) ** 2)), 4),
    }
    if ci:
        metrics["auroc_ci95"] = bootstrap_auroc_ci(truth, probs)
    return metrics


def threshold_metrics(truth: np.ndarray, probs: np.ndarray, threshold: float) -> dict[str, float | None]:
    """AUROC, and accuracy, sensitivity and specificity at ``threshold`` (boolean ``truth``), unrounded."""
    predicted = probs >= threshold
    return {
        "auroc": auroc(truth, probs),
        "accuracy": float((predicted == truth).mean()),
        "sensitivity": float(predicted[truth].mean()),
        "specificity": float((~predicted[~truth]).mean()),
    }


def bootstrap_metrics(truth: np.ndarray, probs: np.ndarray, threshold: float, seed: int, n: int = 2000) -> dict[str, Any]:
    """:func:`threshold_metrics` with 95% percentile-bootstrap intervals (items resampled; resamples
    holding one class only are skipped), rounded to 4 places."""
    point = threshold_metrics(truth, probs, threshold)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {k: [] for k in point}
    for _ in range(n):
        idx = rng.integers(0, len(truth), len(truth))
        if truth[idx].all() or (~truth[idx]).all():
            continue
        for k, v in threshold_metrics(truth[idx], probs[idx], threshold).items():
            assert v is not None  # both classes are present
            draws[k].append(v)
    out: dict[str, Any] = {"n": int(len(truth)), "n_positive": int(truth.sum())}
    for k, v in point.items():
        assert v is not None, "bootstrap metrics need both classes"
        lo, hi = np.percentile(draws[k], [2.5, 97.5])
        out[k] = round(v, 4)
        out[f"{k}_ci95"] = [round(float(lo), 4), round(float(hi), 4)]
    return out


def calibration_error(truth: np.ndarray, probs: np.ndarray, bins: int = 15) -> tuple[float, list[dict]]:
    """Expected calibration error over ``bins`` equal-width bins of the predicted probability (the last
    bin holds 1.0), and each non-empty bin's mean prediction and observed frequency."""
    edges = np.linspace(0, 1, bins + 1)
    ece, table = 0.0, []
    for lo, hi in pairwise(edges):
        sel = (probs >= lo) & ((probs < hi) if hi < 1 else (probs <= hi))
        if not sel.any():
            continue
        conf, freq = float(probs[sel].mean()), float(truth[sel].mean())
        ece += sel.mean() * abs(conf - freq)
        table.append({"low": float(lo), "high": float(hi), "n": int(sel.sum()), "mean_p": conf, "observed": freq})
    return float(ece), table


def set_metrics(y_true: np.ndarray, probs: np.ndarray, threshold: float, ddi: np.ndarray, with_prauc: bool = True) -> dict[str, float]:
    """SafeDrug-style metrics of recommended sets, averaged over examples (rows with at least one
    known item): Jaccard, F1, PR-AUC, DDI rate (interacting pairs / all pairs recommended)."""
    from sklearn.metrics import average_precision_score

    keep = y_true.sum(axis=1) > 0
    y_true, probs = y_true[keep], probs[keep]
    pred = probs >= threshold
    truth = y_true > 0.5
    inter = (pred & truth).sum(axis=1)
    union = (pred | truth).sum(axis=1)
    jaccard = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    precision = np.where(pred.sum(axis=1) > 0, inter / np.maximum(pred.sum(axis=1), 1), 0.0)
    recall = inter / np.maximum(truth.sum(axis=1), 1)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
    prauc = np.array([average_precision_score(t, p) for t, p in zip(truth, probs, strict=True)]) if with_prauc else np.zeros(1)
    all_pairs = ddi_hits = 0
    for row in pred:
        chosen = np.flatnonzero(row)
        if len(chosen) > 1:
            sub = ddi[np.ix_(chosen, chosen)]
            ddi_hits += int(sub.sum() // 2)
            all_pairs += len(chosen) * (len(chosen) - 1) // 2
    return {
        "jaccard": float(jaccard.mean()),
        "f1": float(f1.mean()),
        "prauc": float(prauc.mean()),
        "ddi_rate": float(ddi_hits / all_pairs) if all_pairs else 0.0,
        "avg_recommended": float(pred.sum(axis=1).mean()),
        "examples": int(keep.sum()),
    }
