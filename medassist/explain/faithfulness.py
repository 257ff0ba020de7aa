"""Deletion / insertion faithfulness of a saliency map (Petsiuk et al., RISE, BMVC 2018).

Deletion blurs the most important pixels first: a faithful map makes P(target) fall fast
(low area under the curve). Insertion restores them onto a blurred image: P(target) should
rise fast (high area). The same curves for a random pixel order (fixed seed) are the
reference: ``score = (insertion - deletion) - (random insertion - random deletion)``, so 0 means
the map explains the output no better than chance. When the output barely moves whatever is
removed (a saturated probability), every score is near 0: the map cannot be trusted either way.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

STEPS = 16


def blurred(x: torch.Tensor, kernel: int = 15) -> torch.Tensor:
    """The 'information removed' version of the image: a strong box blur of itself."""
    pad = kernel // 2
    return F.avg_pool2d(F.pad(x, (pad, pad, pad, pad), mode="replicate"), kernel, stride=1)


def deletion_insertion(
    score_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, saliency: np.ndarray, steps: int = STEPS
) -> dict[str, float]:
    """AUCs of P(target) as pixels (model resolution, most salient first) are removed / inserted.

    ``score_fn`` maps a batch (N, 1, H, W) to P(target) of shape (N,); ``saliency`` is HxW at
    the model's input resolution.
    """
    h, w = x.shape[-2:]
    fractions = np.linspace(0.0, 1.0, steps + 1)
    base = blurred(x)
    orders = [
        np.argsort(-np.asarray(saliency, dtype=np.float64).reshape(-1), kind="stable"),
        np.random.default_rng(0).permutation(h * w),
    ]
    batches = []
    for order in orders:
        masks = torch.zeros(len(fractions), 1, h * w)
        for i, f in enumerate(fractions):
            masks[i, 0, torch.from_numpy(order[: int(round(f * h * w))].copy())] = 1.0
        masks = masks.reshape(len(fractions), 1, h, w)
        batches += [x * (1 - masks) + base * masks, base * (1 - masks) + x * masks]
    with torch.no_grad():
        scores = score_fn(torch.cat(batches)).reshape(4, -1).numpy()
    deletion, insertion, random_deletion, random_insertion = (float(np.trapezoid(s, fractions)) for s in scores)
    return {
        "deletion_auc": round(deletion, 4),
        "insertion_auc": round(insertion, 4),
        "random_deletion_auc": round(random_deletion, 4),
        "random_insertion_auc": round(random_insertion, 4),
        "score": round((insertion - deletion) - (random_insertion - random_deletion), 4),
    }
