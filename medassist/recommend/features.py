"""The learned recommender's input: a patient's condition codes, age band and sex as one vector.

Shared by the training script and by inference so both encode a patient the same way; the
vocabulary travels in the model card (``recommender.features``), never in code.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from medassist.inference.card import RecommenderFeatures

MODEL_NAME = "med-recommender"  # the bundled model folder under models/
AGE_BANDS: tuple[float, ...] = (2.0, 12.0, 18.0, 40.0, 65.0)  # band edges in years


@dataclass(frozen=True)
class FeatureSpace:
    """Condition codes (SNOMED-CT) known to the model, and the ingredient ids it scores."""

    condition_codes: tuple[str, ...]
    items: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.condition_codes) + len(AGE_BANDS) + 1 + 2

    def names(self) -> list[str]:
        bands = ["age<2"] + [f"age {lo:g}-{hi:g}" for lo, hi in pairwise(AGE_BANDS)] + [f"age>={AGE_BANDS[-1]:g}"]
        return [f"condition {c}" for c in self.condition_codes] + bands + ["female", "male"]

    def encode(self, codes: set[str], age_years: float | None, sex: str) -> np.ndarray:
        vector = np.zeros(self.size, dtype=np.float32)
        index = {c: i for i, c in enumerate(self.condition_codes)}
        for code in codes:
            if code in index:
                vector[index[code]] = 1.0
        offset = len(self.condition_codes)
        if age_years is not None:
            vector[offset + int(np.searchsorted(AGE_BANDS, age_years, side="right"))] = 1.0
        offset += len(AGE_BANDS) + 1
        if sex == "female":
            vector[offset] = 1.0
        elif sex == "male":
            vector[offset + 1] = 1.0
        return vector

    def card_features(self) -> dict[str, list]:
        """The card's ``recommender.features`` (what the training script writes)."""
        return {"condition_codes": list(self.condition_codes), "items": list(self.items), "age_bands": list(AGE_BANDS)}

    @classmethod
    def of(cls, features: "RecommenderFeatures") -> "FeatureSpace":
        """The space a card describes; one trained with other age bands is a ValueError."""
        if tuple(features.age_bands) != AGE_BANDS:
            raise ValueError("model was trained with different age bands")
        return cls(tuple(features.condition_codes), tuple(features.items))
