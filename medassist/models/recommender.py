"""Medication recommender network: patient conditions + demographics -> per-ingredient probabilities.

A small multi-label MLP (the simplest model that beat the popularity baseline on held-out
Synthea patients); SafeDrug/GAMENet-style molecule and DDI-graph modules are out of scope.
"""

from __future__ import annotations

import torch
from torch import nn

from medassist.models.architectures import register_architecture


class MedicationRecommender(nn.Module):
    def __init__(self, n_features: int, n_items: int, hidden: int = 128, dropout: float = 0.2) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_features, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, n_items),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Logits, one per ingredient; apply a sigmoid for probabilities."""
        return self.net(features)


@register_architecture("medication-recommender-mlp")
def build_medication_recommender(n_features: int, n_items: int, hidden: int = 128, dropout: float = 0.2) -> nn.Module:
    return MedicationRecommender(n_features, n_items, hidden, dropout)
