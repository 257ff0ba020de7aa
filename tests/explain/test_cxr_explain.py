"""Saliency maps: shape, finiteness, faithfulness, caching and cancelling Integrated Gradients."""

from __future__ import annotations

import numpy as np
import pytest

from medassist.explain import image as explain_image
from medassist.domain.inputs import ImageInput
from medassist.jobs import CancelToken, Cancelled, run_job

MODEL = "cxr-pneumonia"


@pytest.mark.parametrize("method", ["gradcam", "integrated_gradients"])
def test_maps_have_the_image_shape_and_finite_values(kermany_image, service, method):
    explain_image._cache.clear()
    explanation = run_job(service.explain(MODEL, ImageInput(kermany_image), method, "pneumonia"))
    assert explanation.kind == "image_map"
    assert explanation.values.shape == kermany_image.shape
    assert np.isfinite(explanation.values).all()
    assert 0.0 <= explanation.values.min() and explanation.values.max() <= 1.0 + 1e-6
    assert set(explanation.faithfulness) == {
        "deletion_auc", "insertion_auc", "random_deletion_auc", "random_insertion_auc", "score"
    }
    assert -2.0 <= explanation.faithfulness["score"] <= 2.0


def test_default_target_is_the_most_probable_output_and_maps_are_cached(kermany_image, service):
    explain_image._cache.clear()
    source = ImageInput(kermany_image)
    prediction = run_job(service.predict(MODEL, source))
    first = run_job(service.explain(MODEL, source, "gradcam", None))
    assert first.target == max(prediction.outputs, key=prediction.outputs.get)
    assert run_job(service.explain(MODEL, source, "grad-cam", first.target)) is first


def test_integrated_gradients_can_be_cancelled(kermany_image, service):
    explain_image._cache.clear()
    token = CancelToken()
    seen = []

    def on_progress(progress):
        seen.append(progress)
        if "segment" in progress.message:
            token.cancel()

    with pytest.raises(Cancelled):
        run_job(service.explain(MODEL, ImageInput(kermany_image), "integrated_gradients", "pneumonia"),
                on_progress=on_progress, token=token)
    assert sum("segment" in p.message for p in seen) == 1
    assert not explain_image._cache


def test_unknown_method_and_target_are_clear_errors(kermany_image, service):
    from medassist.errors import InputError

    with pytest.raises(InputError, match="unknown explanation method"):
        run_job(service.explain(MODEL, ImageInput(kermany_image), "lime", None))
    with pytest.raises(InputError, match="not an output"):
        run_job(service.explain(MODEL, ImageInput(kermany_image), "gradcam", "fracture"))


def test_gradcam_layer_is_fine_enough_to_point_at_a_lobe(service, card_json):
    import torch

    from medassist.inference.image_task import model_spec

    loaded = service.runtime.load(MODEL)
    seen = []
    hook = loaded.module.cam_layer.register_forward_hook(lambda _m, _i, out: seen.append(tuple(out.shape[-2:])))
    try:
        with torch.no_grad():
            loaded.module(torch.zeros(1, 1, *model_spec(loaded).size))
    finally:
        hook.remove()
    assert min(seen[0]) >= 16
    saliency = card_json["metrics"]["saliency"]
    assert saliency["pneumonia_boxes"]["n"] >= 20 and len(saliency["per_image"]) >= saliency["pneumonia_boxes"]["n"]
