"""A model's measured figures on one evaluation set, each under its one key.

``medassist.training.metrics`` computes them (``auroc``: area under the ROC curve, Mann-Whitney with
ties counted half; a 95% interval is ``<figure>_ci95``; ``n_positive`` the positives among ``n``), model
cards carry them in their validated populations, and a population notice shows them beside a result.
Reading them through this one type means a misspelled figure is refused where the card is read, never
shown as missing.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

Interval = tuple[float, float]


@dataclass(frozen=True)
class Figures:
    """Headline figures of one evaluation set (a figure not measured is None)."""

    __pydantic_config__ = {"extra": "forbid"}  # a key spelled another way is refused, not dropped

    n: int
    n_positive: int | None = None
    auroc: float | None = None
    auroc_ci95: Interval | None = None
    accuracy: float | None = None
    accuracy_ci95: Interval | None = None
    sensitivity: float | None = None
    sensitivity_ci95: Interval | None = None
    specificity: float | None = None
    specificity_ci95: Interval | None = None
    brier: float | None = None


# A validated population's figures: evaluation sets by name, and single figures (e.g. a subtype accuracy).
PopulationFigures = dict[str, Figures | float]


def typed_figures(metrics: Any) -> Any:
    """Free-form figures of an older format (a version-1 result's notice, a format-1 card's population) as
    :data:`PopulationFigures` takes them: an evaluation set keeps the keys :class:`Figures` has
    (``positives`` read as ``n_positive``), a single number stays, anything else (a note, a nested table)
    is left out; nothing is renamed that had another meaning."""
    if not isinstance(metrics, dict):
        return metrics
    known = {f.name for f in fields(Figures)}
    kept: dict[str, Any] = {}
    for name, row in metrics.items():
        if isinstance(row, dict) and "n" in row:
            row = dict(row)
            if "positives" in row:
                row.setdefault("n_positive", row.pop("positives"))
            kept[name] = {k: v for k, v in row.items() if k in known}
        elif isinstance(row, (int, float)) and not isinstance(row, bool):
            kept[name] = row
    return kept
