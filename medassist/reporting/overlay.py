"""Saliency overlays drawn with numpy and Pillow (no Qt), for the report and exported images.

The base image is :meth:`MedicalImage.display_frame` - the pixels with the clinical window
applied and nothing else - so no demographics burned in by the viewer ever reach a report.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from medassist.imaging.image import MedicalImage

# A perceptually ordered "jet-like" map (dark blue -> cyan -> yellow -> red), as in most saliency figures.
_ANCHORS = np.array(
    [
        [0.00, 0, 0, 128],
        [0.15, 0, 0, 255],
        [0.40, 0, 220, 255],
        [0.60, 255, 230, 0],
        [0.85, 255, 40, 0],
        [1.00, 160, 0, 0],
    ],
    dtype=np.float32,
)
_LUT = np.stack(
    [np.interp(np.linspace(0, 1, 256), _ANCHORS[:, 0], _ANCHORS[:, c]) for c in (1, 2, 3)], axis=1
).astype(np.uint8)


def colormap(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to RGB uint8 through the saliency colour table."""
    index = np.clip(np.nan_to_num(values, nan=0.0) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return _LUT[index]


def normalise_map(heatmap: np.ndarray) -> np.ndarray:
    """Evidence *for* the target in [0, 1]: negative attributions (Integrated Gradients) count as none;
    the top 1% of values saturate so one hot pixel does not wash out the map."""
    values = np.nan_to_num(np.asarray(heatmap, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    values = np.clip(values, 0.0, None)
    top = float(np.percentile(values, 99)) if values.size else 0.0
    if top <= 0:
        top = float(values.max()) if values.size else 0.0
    return np.clip(values / top, 0.0, 1.0) if top > 0 else np.zeros_like(values)


def _resize(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if values.shape == shape:
        return values
    resized = Image.fromarray(values.astype(np.float32), mode="F").resize((shape[1], shape[0]), Image.BILINEAR)
    return np.asarray(resized, dtype=np.float32)


def base_rgb(image: MedicalImage, frame: int = 0) -> np.ndarray:
    """The displayed frame as RGB uint8 (grayscale replicated)."""
    shown = image.display_frame(frame)
    return np.repeat(shown[..., None], 3, axis=2) if shown.ndim == 2 else shown


def render_overlay(image: MedicalImage, frame: int, heatmap: np.ndarray, opacity: float = 0.55) -> np.ndarray:
    """The frame with the heatmap blended in, more opaque where the evidence is stronger."""
    base = base_rgb(image, frame).astype(np.float32)
    heat = _resize(normalise_map(heatmap), base.shape[:2])
    alpha = (opacity * heat)[..., None]
    blended = base * (1.0 - alpha) + colormap(heat).astype(np.float32) * alpha
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def colour_bar(width: int = 256, height: int = 12) -> np.ndarray:
    """The legend for overlays: low to high evidence, left to right."""
    return np.repeat(colormap(np.linspace(0, 1, width))[None, :, :], height, axis=0)
