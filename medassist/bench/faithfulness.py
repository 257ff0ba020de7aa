"""How good a map random maps make: ``python -m medassist.bench.faithfulness [--per-source N]`` prints JSON.

The faithfulness verdict (``domain.result_text.faithfulness_verdict``) compares a saliency map's deletion and
insertion AUCs with a random pixel order. One random order is a noisy reference, and a smooth map
(Grad-CAM's is a 16 x 16 grid upsampled) can beat it by chance; so the verdict's bounds come from maps that
carry no information: smooth random maps (uniform noise on the same 16 x 16 grid, upsampled the same way),
four per film, on the first N validation pneumonia films of each source (NIH adults, Kermany children) in
``../shared/data``. It prints the percentiles of their gains over the random order (deletion: random AUC minus
the map's; insertion: the map's minus random; "weaker": the smaller of the two), and the same for Grad-CAM.
"""

from __future__ import annotations

import argparse
import csv
import json
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from medassist.domain.inputs import ImageInput
from medassist.domain.tasks import Method
from medassist.explain.faithfulness import deletion_insertion
from medassist.explain.image import TargetLogProb, explain_image, probability_of
from medassist.imaging.loader import load_image
from medassist.inference.image_task import gated_forward, model_spec
from medassist.composition import for_benchmark
from medassist.inference.service import InferenceService
from medassist.jobs import run_job
from medassist.paths import shared_data_dir

MODEL = "cxr-pneumonia"
RANDOM_MAPS_PER_FILM = 4
GRID = 16


def validation_pneumonias(per_source: int) -> list[str]:
    """The first ``per_source`` validation pneumonia films of each source (paths under the shared data folder)."""
    data = shared_data_dir()
    if data is None:
        raise SystemExit("../shared/data is not available")
    picked: dict[str, list[str]] = {"nih": [], "kermany": []}
    with open(data / "cxr" / "labels.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["split"] != "val" or row["binary_label"] != "PNEUMONIA" or "nih_tiny64" in row["file"]:
                continue
            source = "kermany" if row["source"].startswith("kermany") else "nih"
            if len(picked[source]) < per_source:
                picked[source].append(row["file"])
    return [name for names in picked.values() for name in names]


def _gains(scores: dict[str, float]) -> tuple[float, float]:
    return (scores["random_deletion_auc"] - scores["deletion_auc"], scores["insertion_auc"] - scores["random_insertion_auc"])


def _summary(gains: list[tuple[float, float]]) -> dict[str, Any]:
    values = np.array(gains, dtype=np.float64)
    weaker = values.min(axis=1)
    percentiles = [50, 95, 99, 100]
    return {"n": len(values),
            **{name: dict(zip((f"p{p}" for p in percentiles), np.percentile(column, percentiles).round(4).tolist(),
                              strict=True))
               for name, column in (("deletion_gain", values[:, 0]), ("insertion_gain", values[:, 1]),
                                    ("weaker_gain", weaker))}}


def measure(per_source: int, seed: int = 1) -> dict[str, Any]:
    """Gains of random smooth maps and of Grad-CAM over the random pixel order, on the same films."""
    data = shared_data_dir()
    assert data is not None
    service = for_benchmark("cpu", 1).models()
    assert isinstance(service, InferenceService)  # in this process: the loaded network is scored directly
    loaded = service.runtime.load(MODEL)
    spec = model_spec(loaded)
    scorer = TargetLogProb(loaded.module, [spec.classes.index(c) for c in spec.outputs["pneumonia"]], spec.temperature)
    score = probability_of(scorer, loaded.lock)
    rng = np.random.default_rng(seed)
    null: list[tuple[float, float]] = []
    gradcam: list[tuple[float, float]] = []
    for name in validation_pneumonias(per_source):
        source = ImageInput(load_image(data.parent / name))
        forward = gated_forward(loaded, spec, source)
        if forward.gate is not None and not forward.gate.accepted:
            continue
        x = spec.tensor(forward.pixels)
        explanation = run_job(explain_image(loaded, source, Method.GRADCAM, "pneumonia"))
        gradcam.append(_gains(explanation.faithfulness or {}))
        for _ in range(RANDOM_MAPS_PER_FILM):
            noise = torch.from_numpy(rng.random((GRID, GRID)).astype(np.float32))
            smooth = F.interpolate(noise[None, None], size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)
            null.append(_gains(deletion_insertion(score, x, smooth[0, 0].numpy())))
    return {"model": MODEL, "films": len(gradcam), "random_smooth_maps": _summary(null), "gradcam": _summary(gradcam)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-source", type=int, default=30, help="validation pneumonia films per source")
    args = parser.parse_args()
    print(json.dumps(measure(args.per_source), indent=1))


if __name__ == "__main__":
    main()
