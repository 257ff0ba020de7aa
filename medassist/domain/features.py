"""One input of a record model as its card describes it (``record.features``), read once into this type.

The card validator reads a record model's features straight into :class:`FeatureSpec` (a key spelled
another way is refused), the network's encoder (:mod:`medassist.models.tabular`) and the runner
(:mod:`medassist.inference.tabular_task`) use it, and the training script writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

_UNIT_SHOWN = {"mm[Hg]": "mmHg", "u[IU]/mL": "µIU/mL", "{ratio}": "", "10*6/uL": "million/µL", "cells/uL": "cells/µL"}


@dataclass(frozen=True)
class FeatureSpec:
    """One model input as the card describes it.

    ``kind``: numeric (a number in ``unit``), binary (0/1) or categorical (one of ``categories``).
    ``source`` says where :mod:`medassist.records.features` finds it in a patient's record
    (e.g. ``measure:total_cholesterol``, ``demographic:age``, ``condition:hypertension``), or
    None when records do not carry it (it must then be entered by hand or stays missing).
    """

    name: str
    kind: Literal["numeric", "binary", "categorical"]
    description: str
    unit: str = ""
    categories: tuple[float, ...] = ()
    category_names: tuple[str, ...] = ()
    source: str | None = None
    valid_range: tuple[float, float] | None = None

    __pydantic_config__ = {"extra": "forbid"}  # the card validator refuses a misspelled key

    @property
    def columns(self) -> list[str]:
        if self.kind == "categorical":
            return [f"{self.name}={c:g}" for c in self.categories]
        return [self.name]

    def describe_value(self, value: float) -> str:
        """How the value reads to a clinician (category names, units)."""
        if self.kind == "categorical" and self.category_names:
            for category, label in zip(self.categories, self.category_names, strict=True):
                if float(value) == float(category):
                    return label
        if self.kind == "binary":
            return "yes" if float(value) >= 0.5 else "no"
        return f"{value:g} {_UNIT_SHOWN.get(self.unit, self.unit)}".strip()
