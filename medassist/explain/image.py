"""Grad-CAM and Integrated Gradients for image models, via Captum, at the image's own shape.

The attributed quantity is log P(target output) after temperature scaling, where a target like
"pneumonia" sums several softmax classes. Integrated Gradients runs the straight-line path in
segments (Captum on each segment, ``internal_batch_size`` inside it): completeness makes the
segments add up to the whole integral, and the pause between segments reports progress and is
where a cancel takes effect. Maps are cached per (weights, image, frame, method, target).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from medassist.errors import InputError
from medassist.explain.faithfulness import deletion_insertion
from medassist.domain.prediction import Explanation
from medassist.domain.tasks import Method, unsupported_method
from medassist.inference.image_task import gated_forward, image_of, input_digest, model_spec
from medassist.inference.runtime import LoadedModel
from medassist.jobs import Job, Progress, rescaled

METHODS = (Method.GRADCAM, Method.INTEGRATED_GRADIENTS)
IG_STEPS = 32
IG_SEGMENTS = 8
IG_BATCH = 16
CACHE_SIZE = 32

_cache: "OrderedDict[tuple, Explanation]" = OrderedDict()
_cache_lock = threading.Lock()


class TargetLogProb(nn.Module):
    """log P(target) of a classifier whose target is a set of softmax classes."""

    def __init__(self, network: nn.Module, class_indices: list[int], temperature: float) -> None:
        super().__init__()
        self.network = network
        self.class_indices = class_indices
        self.temperature = temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logp = torch.log_softmax(self.network(x) / self.temperature, dim=1)
        return torch.logsumexp(logp[:, self.class_indices], dim=1, keepdim=True)


def _resize(map2d: torch.Tensor, shape: tuple[int, int]) -> np.ndarray:
    out = F.interpolate(map2d[None, None].float(), size=shape, mode="bilinear", align_corners=False)[0, 0]
    return out.numpy().astype(np.float32)


def _unit(values: torch.Tensor) -> torch.Tensor:
    top = float(values.max())
    return values / top if top > 0 else torch.zeros_like(values)


def grad_cam(scorer: TargetLogProb, layer: nn.Module, x: torch.Tensor, out_shape: tuple[int, int]) -> torch.Tensor:
    """Grad-CAM at the model's input resolution (ReLU of the gradient-weighted feature map)."""
    from captum.attr import LayerGradCam

    cam = LayerGradCam(scorer, layer).attribute(x, target=0, relu_attributions=True)
    up = F.interpolate(cam.detach(), size=out_shape, mode="bilinear", align_corners=False)
    return _unit(up[0, 0])


def integrated_gradients(
    scorer: TargetLogProb,
    x: torch.Tensor,
    baseline: torch.Tensor,
    lock: threading.Lock,
    steps: int = IG_STEPS,
    segments: int = IG_SEGMENTS,
) -> Job[tuple[torch.Tensor, float]]:
    """IG summed over the path, with the completeness gap; yields once per segment.

    The network's lock is held per segment only (a Grad-CAM in another worker hooks the same
    network), never across a yield."""
    from captum.attr import IntegratedGradients

    ig = IntegratedGradients(scorer)
    per_segment = max(steps // segments, 1)
    total = torch.zeros_like(x)
    for k in range(segments):
        start = baseline + (x - baseline) * (k / segments)
        end = baseline + (x - baseline) * ((k + 1) / segments)
        with lock:
            attr = ig.attribute(end, baselines=start, target=0, n_steps=per_segment, method="gausslegendre",
                                internal_batch_size=IG_BATCH)
        total += attr.detach()
        yield Progress((k + 1) / segments, f"Integrated Gradients: path segment {k + 1} of {segments}")
    with lock, torch.no_grad():
        gap = float(scorer(x) - scorer(baseline) - total.sum())
    return total[0, 0], gap


def explain_image(loaded: LoadedModel, image_source: object, method: Method, target: str | None) -> Job[Explanation]:
    """Saliency map of ``target`` (default: the most probable output) at the image's shape (the
    explainer registered for image models)."""
    source = image_of(image_source)
    spec = model_spec(loaded)
    if method not in METHODS:
        raise unsupported_method(loaded.card.name, method, METHODS)
    start = time.perf_counter()
    forward = gated_forward(loaded, spec, source)
    if forward.gate is not None and not forward.gate.accepted:
        raise InputError(f"no explanation: the input gate refused this image ({forward.gate.reason})",
                         source.image.path)
    if target is None:
        target = max(forward.outputs, key=lambda label: forward.outputs[label])
    if target not in spec.outputs:
        raise InputError(f"'{target}' is not an output of {loaded.card.name} (outputs: {', '.join(spec.outputs)})")
    key = (loaded.sha256, input_digest(source), source.frame, method, target)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
    if cached is not None:
        yield Progress(1.0, f"{method.display_name} (cached)")
        return cached

    network = loaded.module
    scorer = TargetLogProb(network, [spec.classes.index(c) for c in spec.outputs[target]], spec.temperature)
    x = spec.tensor(forward.pixels).to(loaded.device)
    model_shape = (int(x.shape[-2]), int(x.shape[-1]))
    extra: dict = {"model_resolution": list(model_shape), "probability": forward.outputs[target]}
    yield Progress(0.05, f"{method.display_name} for {target}")
    with torch.enable_grad():
        if method == "gradcam":
            layer = getattr(network, "cam_layer", None)
            if layer is None:
                raise InputError(f"{loaded.card.name} has no convolutional layer for Grad-CAM")
            with loaded.lock:
                saliency = grad_cam(scorer, layer, x, model_shape)
        else:
            baseline = spec.tensor(np.zeros_like(forward.pixels)).to(loaded.device)
            attribution, gap = yield from rescaled(integrated_gradients(scorer, x, baseline, loaded.lock), 0.05, 0.85)
            smooth = F.avg_pool2d(attribution.abs()[None, None], 3, stride=1, padding=1)[0, 0]
            saliency = _unit(smooth)
            extra.update({"ig_steps": IG_STEPS, "baseline": "black image", "completeness_gap": round(gap, 5)})
    elapsed = (time.perf_counter() - start) * 1000.0
    yield Progress(0.9, "Measuring faithfulness (deletion / insertion)")
    faithfulness = deletion_insertion(probability_of(scorer, loaded.lock), x.cpu(), saliency.cpu().numpy())
    explanation = Explanation(
        method=method,
        target=target,
        kind="image_map",
        values=_resize(saliency.cpu(), source.image.shape),
        faithfulness=faithfulness,
        elapsed_ms=elapsed,
        extra={**extra, "display_name": method.display_name, "frame": source.frame},
    )
    with _cache_lock:
        _cache[key] = explanation
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return explanation


def probability_of(scorer: TargetLogProb, lock: threading.Lock) -> Callable[[torch.Tensor], torch.Tensor]:
    device = next(scorer.network.parameters()).device

    def score(batch: torch.Tensor) -> torch.Tensor:
        with lock, torch.inference_mode():
            return torch.exp(scorer(batch.to(device))).reshape(-1).cpu()

    return score

