"""Per-feature Integrated Gradients for the structured-data models (Captum).

The baseline is the training-average patient *with the same missing inputs*: a missing input
already sits at its training mean, so it gets exactly zero attribution and the attributions of
the known inputs add up to (probability for this patient) - (probability for the average
patient). That completeness gap is measured and returned with every explanation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import IntegratedGradients

from medassist.domain.prediction import Explanation
from medassist.domain.result_text import gate_text
from medassist.domain.tasks import Method, unsupported_method
from medassist.errors import InputError
from medassist.inference.runtime import LoadedModel
from medassist.inference.tabular_task import encode_features, gather_features, missing_label, record_gate, shown_value
from medassist.jobs import Job, Progress
from medassist.models.tabular import TabularRiskNet, column_owner


@dataclass
class FeatureAttribution:
    """Attributions per feature (in probability units) and the completeness check."""

    values: np.ndarray
    probability: float
    baseline_probability: float
    completeness_gap: float
    elapsed_ms: float


def integrated_gradients(
    model: TabularRiskNet, columns: np.ndarray, missing: np.ndarray, owner: np.ndarray, n_steps: int = 64
) -> FeatureAttribution:
    """IG of the calibrated probability for one patient (``columns [n_columns]``, ``missing [n_features]``)."""
    started = time.perf_counter()
    device = model.center.device
    x = torch.from_numpy(np.asarray(columns, dtype=np.float32)).unsqueeze(0).to(device)
    m = torch.from_numpy(np.asarray(missing, dtype=np.float32)).unsqueeze(0).to(device)
    baseline = model.center.detach().clone().unsqueeze(0)
    method = IntegratedGradients(model.probability)
    attributions = method.attribute(x, baselines=baseline, additional_forward_args=(m,), n_steps=n_steps, method="gausslegendre")
    with torch.no_grad():
        probability = float(model.probability(x, m))
        baseline_probability = float(model.probability(baseline, m))
    per_column = attributions.detach().squeeze(0).cpu().numpy().astype(np.float64)
    per_feature = np.zeros(int(missing.shape[-1]))
    np.add.at(per_feature, owner, per_column)
    gap = abs(float(per_feature.sum()) - (probability - baseline_probability))
    return FeatureAttribution(per_feature, probability, baseline_probability, gap, (time.perf_counter() - started) * 1000)


METHODS = (Method.INTEGRATED_GRADIENTS,)


def explain_record(loaded: LoadedModel, source: object, method: Method, target: str | None) -> Job[Explanation]:
    """Per-input attributions of a record model's risk (the explainer registered for record models)."""
    if method not in METHODS:
        raise unsupported_method(loaded.card.name, method, METHODS)
    label = loaded.card.labels[0]
    if target not in (None, label):
        raise InputError(f"{loaded.card.name} has one output, '{label}', not '{target}'")
    yield Progress(0.2, "Reading the inputs")
    values, origin = gather_features(loaded, source)
    specs, columns, missing = encode_features(loaded, values)
    gate = record_gate(loaded.card, specs, missing, origin.get("age_years"), origin.get("sex"))
    if not gate.accepted:  # no answer, so nothing to attribute
        raise InputError(f"{loaded.card.name}: no answer to explain. {gate_text(gate)}")
    yield Progress(0.5, "Integrated Gradients")
    with loaded.lock:
        result = integrated_gradients(loaded.network(TabularRiskNet), columns, missing, column_owner(specs))
    yield Progress(1.0, "done")
    return Explanation(
        method=Method.INTEGRATED_GRADIENTS,
        target=label,
        kind="feature_scores",
        values=result.values,
        labels=[s.name for s in specs],
        inputs={s.name: values[s.name] for s in specs},
        faithfulness={
            "completeness_gap": result.completeness_gap,
            "probability": result.probability,
            "baseline_probability": result.baseline_probability,
        },
        elapsed_ms=result.elapsed_ms,
        extra={
            "descriptions": {s.name: s.description for s in specs},
            "units": {s.name: s.unit for s in specs},
            "inputs_shown": {s.name: shown_value(s, values[s.name]) for s in specs},
            "missing_inputs": [missing_label(s) for s, flag in zip(specs, missing, strict=True) if flag],
            "baseline": "training-average patient with the same inputs missing",
            "units_of_values": "change in probability",
        },
    )

