"""Augmentations that make acquisition irrelevant (geometry, borders, exposure, blur, burned-in
marks, devices, JPEG, noise), and the ICU-style and poorly exposed films the input gate is fitted
and measured on."""

from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont


_MARKS = ("L", "R", "AP", "PA", "PORTABLE", "SUPINE", "ERECT", "UPRIGHT", "1", "2", "ICU", "LEFT", "R  L", "+")


def draw_acquisition_marks(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Burned-in text and side markers, and lines/tubes/wires across the film."""
    draw = ImageDraw.Draw(img)
    w, h = img.size
    if rng.random() < 0.5:
        for _ in range(int(rng.integers(1, 4))):
            size = int(rng.integers(8, 26))
            try:
                font = ImageFont.load_default(size=size)
            except TypeError:
                font = ImageFont.load_default()
            xy = (int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20)))
            tone = int(rng.integers(200, 256)) if rng.random() < 0.8 else int(rng.integers(0, 40))
            if rng.random() < 0.3:
                draw.rectangle([xy[0] - 2, xy[1] - 2, xy[0] + size * 2, xy[1] + size + 2], fill=255 - tone)
            draw.text(xy, str(rng.choice(_MARKS)), fill=tone, font=font)
    if rng.random() < 0.35:
        for _ in range(int(rng.integers(1, 4))):
            points = [(float(rng.uniform(0, w)), float(rng.uniform(0, h * 0.3)))]
            for _ in range(int(rng.integers(2, 5))):
                points.append((points[-1][0] + float(rng.normal(0, w * 0.15)), points[-1][1] + float(rng.uniform(10, h * 0.3))))
            draw.line(points, fill=int(rng.integers(170, 256)), width=int(rng.integers(1, 4)))
    if rng.random() < 0.15:  # ECG electrodes: small bright discs
        for _ in range(int(rng.integers(1, 5))):
            cx, cy, r = float(rng.uniform(0, w)), float(rng.uniform(0, h)), float(rng.uniform(3, 7))
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=int(rng.integers(200, 256)))
    return img


def _tube(draw: ImageDraw.ImageDraw, points: list[tuple[float, float]], width: int, rng: np.random.Generator) -> None:
    """A catheter or tube: a mid-grey body, often with a bright radio-opaque stripe."""
    draw.line(points, fill=int(rng.integers(150, 215)), width=width, joint="curve")
    if width > 1 and rng.random() < 0.7:
        draw.line(points, fill=int(rng.integers(215, 256)), width=1)


def _draw_icu_devices(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Devices on a supine ICU film, placed where they sit in a patient: endotracheal and
    nasogastric tubes down the midline, a central line from the neck, ECG electrodes with
    their leads, a pacemaker with leads, sternotomy wires, a chest drain."""
    draw = ImageDraw.Draw(img)
    w, h = img.size
    mid = w * rng.uniform(0.44, 0.56)
    if rng.random() < 0.6:  # endotracheal tube, tip above the carina
        _tube(draw, [(mid, 0.0), (mid + float(rng.normal(0, w * 0.02)), h * rng.uniform(0.22, 0.4))],
              int(rng.integers(2, 4)), rng)
    if rng.random() < 0.5:  # nasogastric tube: down the midline, below the left hemidiaphragm
        below = h * rng.uniform(0.7, 0.95)
        _tube(draw, [(mid + 2, 0.0), (mid + w * rng.uniform(-0.02, 0.04), h * 0.5), (mid + w * rng.uniform(0.05, 0.2), below)],
              int(rng.integers(1, 3)), rng)
    if rng.random() < 0.5:  # central venous line from the neck or subclavian, tip in the SVC
        side = rng.choice([-1.0, 1.0])
        start = (mid + side * w * rng.uniform(0.15, 0.35), h * rng.uniform(0.0, 0.15))
        _tube(draw, [start, (mid + side * w * rng.uniform(0.05, 0.15), h * rng.uniform(0.15, 0.25)),
                     (mid + side * w * rng.uniform(0.0, 0.06), h * rng.uniform(0.28, 0.42))], int(rng.integers(1, 3)), rng)
    if rng.random() < 0.5:  # ECG electrodes with leads running off the film
        for _ in range(int(rng.integers(2, 6))):
            cx, cy, r = float(rng.uniform(0.05, 0.95) * w), float(rng.uniform(0.05, 0.9) * h), float(rng.uniform(2, 5))
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=int(rng.integers(90, 200)),
                         outline=int(rng.integers(200, 256)))
            end = (float(rng.choice([0.0, w])), float(rng.uniform(0, h)))
            bend = ((cx + end[0]) / 2 + float(rng.normal(0, w * 0.1)), (cy + end[1]) / 2 + float(rng.normal(0, h * 0.1)))
            draw.line([(cx, cy), bend, end], fill=int(rng.integers(160, 256)), width=1, joint="curve")
    if rng.random() < 0.15:  # pacemaker or defibrillator with its leads into the heart
        side = rng.choice([-1.0, 1.0])
        px, py = mid + side * w * rng.uniform(0.2, 0.32), h * rng.uniform(0.12, 0.25)
        draw.rounded_rectangle([px - 6, py - 4, px + 6, py + 5], radius=3, fill=int(rng.integers(225, 256)))
        for _ in range(int(rng.integers(1, 3))):
            draw.line([(px, py), (mid + side * w * 0.05, h * 0.3), (mid + w * rng.uniform(-0.02, 0.12), h * rng.uniform(0.5, 0.65))],
                      fill=int(rng.integers(200, 256)), width=1, joint="curve")
    if rng.random() < 0.15:  # sternotomy wires: small loops down the midline
        for y in np.linspace(h * rng.uniform(0.25, 0.32), h * rng.uniform(0.5, 0.6), int(rng.integers(4, 7))):
            draw.ellipse([mid - 3, y - 2, mid + 3, y + 2], outline=int(rng.integers(220, 256)), width=1)
    if rng.random() < 0.2:  # chest drain from the lateral chest wall towards the apex
        side = rng.choice([0.0, 1.0])
        x0 = w * side + (1 - 2 * side) * w * 0.02
        _tube(draw, [(x0, h * rng.uniform(0.6, 0.85)), (abs(x0 - w * rng.uniform(0.12, 0.25)), h * rng.uniform(0.45, 0.6)),
                     (abs(x0 - w * rng.uniform(0.2, 0.3)), h * rng.uniform(0.15, 0.3))], int(rng.integers(2, 4)), rng)
    return img


def draw_portable_film_marks(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """What a portable ICU film carries: devices, then burned-in markers, text and wires."""
    return draw_acquisition_marks(_draw_icu_devices(img, rng), rng)


def icu_film(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A portable ICU-style film made from a radiograph at model size (uint8): rotated and
    off-centre, zoomed out or cropped (apices or angles cut off), lower contrast, devices and
    burned-in markers, collimation borders. The gate is fitted on these: they add what ``augment``
    lacks, while exposure and processing vary in ``augment`` already (see ``poorly_exposed``)."""
    h, w = pixels.shape
    angle, zoom = math.radians(rng.uniform(-15, 15)), math.exp(rng.uniform(-0.25, 0.3))
    cos, sin = math.cos(angle) / zoom, math.sin(angle) / zoom
    theta = torch.tensor([[[cos, -sin, rng.uniform(-0.12, 0.12)], [sin, cos, rng.uniform(-0.12, 0.12)]]], dtype=torch.float32)
    x = torch.from_numpy(pixels.astype(np.float32) / 255.0)[None, None]
    grid = F.affine_grid(theta, [1, 1, h, w], align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode=str(rng.choice(["zeros", "border"])), align_corners=False)
    film = x[0, 0].numpy()
    mean = float(film.mean())
    film = (film - mean) * rng.uniform(0.7, 1.0) + mean
    img = draw_portable_film_marks(Image.fromarray((np.clip(film, 0, 1) * 255 + 0.5).astype(np.uint8), mode="L"), rng)
    out = np.asarray(img, dtype=np.uint8).copy()
    for _ in range(int(rng.integers(0, 3))):  # collimation: a band on a side, black or white
        side, depth, tone = int(rng.integers(4)), int(rng.integers(2, int(0.15 * h))), int(rng.choice([0, 255, 153]))
        out[[np.s_[:depth, :], np.s_[-depth:, :], np.s_[:, :depth], np.s_[:, -depth:]][side]] = tone
    return out


def poorly_exposed(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A portable film as a poor exposure and another pipeline leave it: supine haze, an exposure
    gradient across the film, gamma, then noise, a lower resolution and JPEG. Applied to
    ``icu_film`` output it makes the harder ICU stand-in the gate is measured on, not fitted on."""
    h, w = pixels.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) / max(h, w)
    direction = rng.uniform(0, 2 * math.pi)
    gradient = (np.cos(direction) * xx + np.sin(direction) * yy) * rng.uniform(0, 0.2)
    film = pixels.astype(np.float32) / 255.0
    mean = float(film.mean())
    film = (film - mean) * rng.uniform(0.7, 1.0) + mean + rng.uniform(-0.05, 0.15) + gradient
    film = np.clip(film, 0, 1) ** math.exp(rng.uniform(-0.4, 0.4))
    if rng.random() < 0.4:
        film = film + rng.normal(0, rng.uniform(0.005, 0.04), film.shape)
    img = Image.fromarray((np.clip(film, 0, 1) * 255 + 0.5).astype(np.uint8), mode="L")
    if rng.random() < 0.3:
        small = int(rng.integers(64, 110))
        img = img.resize((small, small), Image.Resampling.BILINEAR).resize((w, h), Image.Resampling.BILINEAR)
    if rng.random() < 0.4:
        img = _jpeg(img, int(rng.integers(30, 95)))
    return np.asarray(img, dtype=np.uint8)


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as out:
        return out.convert("L")


def augment(x: torch.Tensor, gen: torch.Generator, rng: np.random.Generator) -> torch.Tensor:
    """Make acquisition irrelevant: geometry (rotation, zoom in/out with black or edge borders,
    anisotropic scale: Kermany is squashed, NIH is not), border bands, gamma/contrast/brightness,
    blur and down/up-resampling, burned-in marks and lines, JPEG re-encoding, noise. No
    horizontal flips: laterality is anatomy (heart on the left)."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(10)
    zoom = torch.exp((torch.rand(n, generator=gen) * 2 - 1) * 0.2)
    scale_x = zoom * (1 + (torch.rand(n, generator=gen) * 2 - 1) * 0.12)
    scale_y = zoom * (1 + (torch.rand(n, generator=gen) * 2 - 1) * 0.08)
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * 0.08
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [
            torch.stack([cos / scale_x, -sin / scale_x, shift[:, 0]], 1),
            torch.stack([sin / scale_y, cos / scale_y, shift[:, 1]], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    edge = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    black = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    use_black = (torch.rand(n, 1, 1, 1, generator=gen) < 0.4).float()
    x = (use_black * black + (1 - use_black) * edge).clamp(0, 1)
    h, w = x.shape[-2:]
    for i in np.flatnonzero(rng.random(n) < 0.25):  # collimation / scanner border bands
        side, depth, tone = int(rng.integers(4)), int(rng.integers(2, int(0.12 * h))), float(rng.choice([0.0, 1.0, 0.5]))
        if side == 0:
            x[i, :, :depth] = tone
        elif side == 1:
            x[i, :, -depth:] = tone
        elif side == 2:
            x[i, :, :, :depth] = tone
        else:
            x[i, :, :, -depth:] = tone
    gamma = torch.exp((torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * 0.35)
    x = x.clamp(0, 1) ** gamma
    contrast = 1 + (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * 0.3
    brightness = (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * 0.1
    mean = x.mean(dim=(2, 3), keepdim=True)
    x = ((x - mean) * contrast + mean + brightness).clamp(0, 1)
    for i in np.flatnonzero(rng.random(n) < 0.3):  # blur, or a lower-resolution pipeline
        if rng.random() < 0.5:
            k = int(rng.choice([3, 5]))
            x[i] = F.avg_pool2d(F.pad(x[i : i + 1], (k // 2,) * 4, mode="replicate"), k, stride=1)[0]
        else:
            side = int(rng.integers(64, 200))
            small = F.interpolate(x[i : i + 1], size=(side, side), mode="bilinear", antialias=True, align_corners=False)
            x[i] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)[0]
    marks, jpeg = rng.random(n) < 0.5, rng.random(n) < 0.3
    for i in np.flatnonzero(marks | jpeg):
        img = Image.fromarray((x[i, 0].numpy() * 255 + 0.5).astype(np.uint8), mode="L")
        if marks[i]:
            img = draw_acquisition_marks(img, rng)
        if jpeg[i]:
            img = _jpeg(img, int(rng.integers(25, 95)))
        x[i, 0] = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0)
    noisy = torch.from_numpy(rng.random(n) < 0.3).float()[:, None, None, None]
    sigma = torch.rand(n, 1, 1, 1, generator=gen) * 0.04 * noisy
    return (x + sigma * torch.randn(x.shape, generator=gen)).clamp(0, 1)
