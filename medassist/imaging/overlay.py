"""Heatmap overlays drawn in core (numpy + Pillow): the CLI, the report and tests share them.

The viewer draws its own live overlay with pyqtgraph; this is the static rendering.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from medassist.atomic import atomic_write
from medassist.imaging.image import MedicalImage

# A perceptually ordered colormap (black-red-yellow-white "hot"), sampled at 256 levels.
_STOPS = np.array([[0, 0, 0], [180, 0, 0], [255, 140, 0], [255, 255, 80], [255, 255, 255]], dtype=np.float32)


def heat_colormap(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to RGB uint8 with the hot colormap."""
    v = np.clip(np.nan_to_num(values, nan=0.0), 0.0, 1.0) * (len(_STOPS) - 1)
    low = np.floor(v).astype(int)
    high = np.minimum(low + 1, len(_STOPS) - 1)
    frac = (v - low)[..., None]
    return (_STOPS[low] * (1 - frac) + _STOPS[high] * frac).astype(np.uint8)


def normalise_map(heatmap: np.ndarray) -> np.ndarray:
    """Scale a saliency map to [0, 1] by its robust maximum (99th percentile of positive values)."""
    data = np.nan_to_num(np.asarray(heatmap, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    data = np.clip(data, 0.0, None)
    top = float(np.percentile(data, 99)) if data.any() else 0.0
    return np.clip(data / top, 0.0, 1.0) if top > 0 else np.zeros_like(data)


def blend(display: np.ndarray, heatmap: np.ndarray, opacity: float = 0.45) -> np.ndarray:
    """Blend a normalised heatmap over an 8-bit grayscale or RGB image; weak values stay transparent."""
    base = display if display.ndim == 3 else np.repeat(display[..., None], 3, axis=2)
    base = base.astype(np.float32)
    weights = normalise_map(heatmap)
    if weights.shape != base.shape[:2]:
        weights = np.asarray(Image.fromarray(weights).resize((base.shape[1], base.shape[0]), Image.Resampling.BILINEAR))
    colour = heat_colormap(weights).astype(np.float32)
    alpha = (opacity * np.clip(weights * 1.5, 0.0, 1.0))[..., None]
    return (base * (1 - alpha) + colour * alpha + 0.5).astype(np.uint8)


def overlay_image(image: MedicalImage, frame: int, heatmap: np.ndarray, opacity: float = 0.45) -> np.ndarray:
    return blend(image.display_frame(frame), heatmap, opacity)


def save_overlay_png(image: MedicalImage, frame: int, heatmap: np.ndarray, out: str | Path, opacity: float = 0.45) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    picture = Image.fromarray(overlay_image(image, frame, heatmap, opacity))
    return atomic_write(out, lambda handle: picture.save(handle, format="PNG"))
