"""The structured-data network: a small calibrated MLP over encoded features plus missingness flags.

Inputs are the encoded columns in their clinical units (numbers as measured, one column per
category of a categorical feature) and one 0/1 flag per *feature* saying it is missing. A
missing feature's columns hold the training mean, so after standardization they are exactly
neutral and only the flag tells the network the value is unknown; the prediction lists the
feature as missing. Where missingness in the training data gives the answer away (in UCI CKD
healthy rows are the complete ones; in UCI heart disease a missing cholesterol means the Swiss
site, where 93% had disease) the card sets ``missing_flags: false``: the network then never
sees the flags, and a missing input is simply neutral (training is done with random inputs
hidden, so the network is used to that). ``center``/``scale`` (standardization) and
``temperature`` (calibration fitted on validation data) are buffers saved in the state_dict.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from medassist.domain.features import FeatureSpec
from medassist.models.architectures import register_architecture


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def encode_rows(specs: list[FeatureSpec], rows: list[dict[str, Any]], fill: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Feature dicts -> (columns ``[N, n_columns]``, missing flags ``[N, n_features]``).

    A missing feature's columns get ``fill`` (the training means) so they are neutral; its flag is 1.
    A categorical value outside ``categories`` raises ValueError (never mapped silently).
    """
    n_columns = sum(len(s.columns) for s in specs)
    columns = np.zeros((len(rows), n_columns), dtype=np.float32)
    missing = np.zeros((len(rows), len(specs)), dtype=np.float32)
    for r, row in enumerate(rows):
        offset = 0
        for f, spec in enumerate(specs):
            width = len(spec.columns)
            value: Any = row.get(spec.name)  # a number, a category code, or None/NaN when missing
            if is_missing(value):
                missing[r, f] = 1.0
                if fill is not None:
                    columns[r, offset:offset + width] = fill[offset:offset + width]
            elif spec.kind == "categorical":
                matches = [i for i, c in enumerate(spec.categories) if float(value) == float(c)]
                if not matches:
                    raise ValueError(f"{spec.name}: {value!r} is not one of {list(spec.categories)}")
                columns[r, offset + matches[0]] = 1.0
            else:
                columns[r, offset] = float(value)
            offset += width
    return columns, missing


def column_owner(specs: list[FeatureSpec]) -> np.ndarray:
    """For each encoded column, the index of the feature it belongs to."""
    return np.array([f for f, spec in enumerate(specs) for _ in spec.columns], dtype=np.int64)


class TabularRiskNet(nn.Module):
    """Encoded columns ``[B, n_columns]`` + missing flags ``[B, n_features]`` -> calibrated logit ``[B]``."""

    # buffers saved with the weights: the training means and spreads, and the calibration temperature
    center: torch.Tensor
    scale: torch.Tensor
    temperature: torch.Tensor

    def __init__(self, n_columns: int, n_features: int, hidden: int = 16, dropout: float = 0.1, missing_flags: bool = True) -> None:
        super().__init__()
        self.register_buffer("center", torch.zeros(n_columns))
        self.register_buffer("scale", torch.ones(n_columns))
        self.register_buffer("temperature", torch.ones(()))
        self.missing_flags = missing_flags
        width = n_columns + (n_features if missing_flags else 0)
        if hidden > 0:
            self.net = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1))
        else:
            self.net = nn.Sequential(nn.Linear(width, 1))

    def raw_logit(self, columns: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
        """The uncalibrated logit (what training fits)."""
        standardized = (columns - self.center) / self.scale
        if self.missing_flags:
            standardized = torch.cat([standardized, missing.to(standardized.dtype)], dim=-1)
        return self.net(standardized).squeeze(-1)

    def forward(self, columns: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
        return self.raw_logit(columns, missing) / self.temperature

    def probability(self, columns: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
        """Calibrated probability of the positive class; what attributions explain."""
        return torch.sigmoid(self.forward(columns, missing))


@register_architecture("tabular-risk-mlp")
def build_tabular_risk_net(**kwargs: Any) -> TabularRiskNet:
    return TabularRiskNet(**kwargs)
