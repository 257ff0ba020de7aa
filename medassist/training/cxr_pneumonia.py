"""Train the bundled chest radiograph model: ``python -m medassist.training.cxr_pneumonia``.

Seeded, resumable and reproducible on a CPU (2 threads). Reads ``../shared/data/cxr``: the
Kermany pediatric set (official train/test; ``split == val`` is 10% of train patients) and two
NIH adult sets (the 300 px pneumonia subset and the films from the original 1024 px PNGs;
patient-hash train/val, their test patients are withheld). NIH pneumonia has no
bacterial/viral label, so those images train only P(pneumonia) = P(bacterial) + P(viral).

The NIH sets carry a view shortcut in opposite directions (AP films are mostly pneumonias in
one and mostly normals in the other), so training draws images such that within every
(source, view) cell normals and pneumonias have equal mass: neither view nor source tells
the label. Augmentations (crops and borders, burned-in markers and text, lines and tubes,
gamma and contrast, blur and resampling, noise, JPEG) make acquisition irrelevant.

Checkpoints go to ``--work`` after every epoch; a rerun resumes there (and only evaluates
when training is complete). Writes ``models/cxr-pneumonia/``: weights, input gate, model card
with the metrics printed here, reliability plot and reference outputs that tests compare against.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import io
import json
import math
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from medassist import paths
from medassist.hashing import sha256_file
from medassist.imaging.loader import load_image
from medassist.inference.image_task import gate_distance, prepare_pixels
from medassist.models.cxr import CXR_CLASSES, CXRNet

SIZE = (128, 128)
WIDTHS = (16, 32, 48, 96, 128)
STRIDES = (2, 2, 1, 1)
MEAN, STD = 0.5, 0.25
SEED = 20261203
OUTPUTS = {"pneumonia": ["bacterial", "viral"], "bacterial pneumonia": ["bacterial"], "viral pneumonia": ["viral"]}
SUBTYPES = {"pneumonia": ["bacterial pneumonia", "viral pneumonia"]}
KERMANY = "kermany_pediatric"
NIH = ("nih_cxr14_pneumonia_subset300", "nih_cxr14_1024")
SOURCES = (KERMANY, *NIH)
SHORT = {KERMANY: "kermany", NIH[0]: "nih_pneumonia300", NIH[1]: "nih_cxr14_1024"}
# share of each source in what training draws: adults (both NIH sets) get more than half
SOURCE_SHARE = {KERMANY: 0.40, NIH[0]: 0.35, NIH[1]: 0.25}
ADULT_YEARS = 18
MODEL_NAME = "cxr-pneumonia"
VERSION = "2.2.0"


# data -----------------------------------------------------------------------------------
def load_table(data: Path) -> pd.DataFrame:
    """The labelled radiographs used here.

    Dropped: the two ``nih_pneumonia300`` files that are not NIH images (caveat column), the nine
    suspect "Pn" files whose NIH patient has no Pneumonia label anywhere (their label cannot be
    trusted, and they may not be NIH films either), and exact duplicates of val/test images in train.
    """
    table = pd.read_csv(data / "cxr" / "labels.csv")
    table = table[table.source.isin(SOURCES)].reset_index(drop=True)
    caveat = table.caveat.fillna("")
    not_nih, suspect = caveat.str.startswith("not an NIH image"), caveat.str.startswith("suspect")
    print(f"data: dropped {int(not_nih.sum())} non-NIH files and {int(suspect.sum())} suspect NIH pneumonia labels "
          f"({int((suspect & (table.split == 'val')).sum())} of them in val)")
    table = table[~not_nih & ~suspect].reset_index(drop=True)
    held_out_groups = set(table.loc[table.split != "train", "exact_duplicate_group"].dropna())
    leak = (table.split == "train") & table.exact_duplicate_group.isin(held_out_groups)
    first_copy = ~table.duplicated(subset=["exact_duplicate_group"]) | table.exact_duplicate_group.isna()
    keep = ~leak & (first_copy | (table.split != "train"))
    print(f"data: {len(table)} images, {int((~keep).sum())} exact duplicates dropped from train")
    table = table[keep].reset_index(drop=True)
    table["view"] = table.view_position.fillna("unknown")
    table["adult"] = table.age.fillna(ADULT_YEARS).to_numpy() >= ADULT_YEARS
    return table


def file_pixels(path: Path) -> np.ndarray:
    """A file's pixels exactly as the app sees them (its loader and default window) at model size."""
    return prepare_pixels(load_image(path).model_input(0), SIZE)


def load_pixels(files: pd.Series, data: Path) -> np.ndarray:
    key = hashlib.sha256(("\n".join(files) + repr(SIZE) + "app-loader").encode()).hexdigest()[:16]
    cache = paths.user_cache_dir() / f"cxr-pixels-{key}.npy"
    if cache.is_file():
        return np.load(cache)
    start = time.time()
    pixels = np.stack([file_pixels(data.parent / f) for f in files])
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, pixels)
    print(f"decoded {len(pixels)} images in {time.time() - start:.0f} s (cached at {cache})")
    return pixels


def class_targets(table: pd.DataFrame) -> np.ndarray:
    """Allowed classes per image: a mask over (normal, bacterial, viral)."""
    mask = np.zeros((len(table), 3), dtype=bool)
    subtype = table.pneumonia_subtype.fillna("")
    normal = table.binary_label == "NORMAL"
    mask[normal.to_numpy(), 0] = True
    mask[((subtype == "bacteria") & ~normal).to_numpy(), 1] = True
    mask[((subtype == "virus") & ~normal).to_numpy(), 2] = True
    unknown = (~normal & ~subtype.isin(["bacteria", "virus"])).to_numpy()
    mask[unknown, 1:] = True
    return mask


def balancing_weights(table: pd.DataFrame) -> np.ndarray:
    """Per-image mass such that, within every (source, view) cell, normals and pneumonias weigh the
    same: then view and source carry no information about the label. Each source gets its
    ``SOURCE_SHARE``, split between its view cells by their sizes. A cell holding only one label
    cannot be balanced and gets no mass."""
    weights = np.zeros(len(table))
    positive = (table.binary_label != "NORMAL").to_numpy()
    for source, share in SOURCE_SHARE.items():
        in_source = table.source.to_numpy() == source
        for view in table.view[in_source].unique():
            cell = in_source & (table.view.to_numpy() == view)
            pos, neg = cell & positive, cell & ~positive
            if not pos.any() or not neg.any():
                continue
            mass = share * cell.sum() / in_source.sum()
            weights[pos] = mass / 2 / pos.sum()
            weights[neg] = mass / 2 / neg.sum()
    return weights / max(weights.sum(), 1e-12)


def shortcut_check(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """How well view alone, source alone, or both predict the label on validation films.

    ``raw``: logistic regression fitted and scored without weights (the shortcut the data offers).
    ``balanced``: fitted with the training weights and scored with the same balancing on the
    validation split (what the network is trained under): ~0.5 means no information."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    train, val = table[table.split == "train"], table[table.split == "val"]
    w_train, w_val = balancing_weights(train), balancing_weights(val)
    y_train = (train.binary_label != "NORMAL").to_numpy()
    y_val = (val.binary_label != "NORMAL").to_numpy()
    out: dict[str, dict[str, float]] = {}
    checks = [("view_only_nih", ["view"], list(NIH))]
    checks += [(f"view_only_{SHORT[source]}", ["view"], [source]) for source in NIH]
    checks += [("source_only", ["source"], list(SOURCES)), ("source_and_view", ["source", "view"], list(SOURCES))]
    for name, columns, sources in checks:
        tr, va = train.source.isin(sources).to_numpy(), val.source.isin(sources).to_numpy()
        x_all = pd.get_dummies(pd.concat([train[columns], val[columns]]).astype(str)).to_numpy(float)
        x_train, x_val = x_all[: len(train)][tr], x_all[len(train):][va]
        raw = LogisticRegression(max_iter=1000).fit(x_train, y_train[tr])
        balanced = LogisticRegression(max_iter=1000).fit(x_train, y_train[tr], sample_weight=w_train[tr])
        out[name] = {
            "raw_val_auroc": round(float(roc_auc_score(y_val[va], raw.predict_proba(x_val)[:, 1])), 4),
            "balanced_val_auroc": round(float(roc_auc_score(y_val[va], balanced.predict_proba(x_val)[:, 1],
                                                            sample_weight=w_val[va])), 4),
        }
        print(f"shortcut check, {name}: validation AUROC raw {out[name]['raw_val_auroc']:.3f}, "
              f"under the balancing {out[name]['balanced_val_auroc']:.3f}")
    return out


# augmentation ---------------------------------------------------------------------------
_MARKS = ("L", "R", "AP", "PA", "PORTABLE", "SUPINE", "ERECT", "UPRIGHT", "1", "2", "ICU", "LEFT", "R  L", "+")


def _draw_acquisition_marks(img: Image.Image, rng: np.random.Generator) -> Image.Image:
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
    return _draw_acquisition_marks(_draw_icu_devices(img, rng), rng)


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
            img = _draw_acquisition_marks(img, rng)
        if jpeg[i]:
            img = _jpeg(img, int(rng.integers(25, 95)))
        x[i, 0] = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0)
    noisy = torch.from_numpy(rng.random(n) < 0.3).float()[:, None, None, None]
    sigma = torch.rand(n, 1, 1, 1, generator=gen) * 0.04 * noisy
    return (x + sigma * torch.randn(x.shape, generator=gen)).clamp(0, 1)


def normalise(x01: torch.Tensor) -> torch.Tensor:
    return (x01 - MEAN) / STD


def as_unit(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pixels).float().div(255.0)[:, None]


# training -------------------------------------------------------------------------------
def masked_nll(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """-log P(allowed classes): plain cross-entropy when one class is allowed."""
    logp = torch.log_softmax(logits, 1)
    return -(torch.logsumexp(logp.masked_fill(~mask, -1e9), 1))


def new_network() -> CXRNet:
    return CXRNet(WIDTHS, STRIDES)


@torch.no_grad()
def predict_logits(model: CXRNet, pixels: np.ndarray, batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Logits and gate features for clean (un-augmented) images."""
    model.eval()
    logits, feats = [], []
    for i in range(0, len(pixels), batch):
        out, stage = model.forward_with_features(normalise(as_unit(pixels[i : i + batch])))
        logits.append(out)
        feats.append(torch.cat(stage, 1))
    return torch.cat(logits).numpy(), torch.cat(feats).numpy()


def auroc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score)) if len(set(y.tolist())) == 2 else float("nan")


def p_pneumonia(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    p = torch.softmax(torch.from_numpy(logits) / temperature, 1).numpy()
    return p[:, 1] + p[:, 2]


def validation_sets(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """Validation films by source; NIH ones are adults only (what selection is about)."""
    val = table.split.to_numpy() == "val"
    src = table.source.to_numpy()
    sets = {SHORT[KERMANY]: val & (src == KERMANY)}
    for source in NIH:
        sets[SHORT[source]] = val & (src == source) & table.adult.to_numpy()
    return sets


def selection_score(record: dict) -> float:
    """Mean validation AUROC over the three sources: both adult NIH sets and the Kermany children
    (the large Kermany split steadies a choice that the small adult sets alone would leave to noise)."""
    return float(np.mean([record[f"val_auroc_{SHORT[s]}"] for s in SOURCES]))


def train(
    table: pd.DataFrame, pixels: np.ndarray, epochs: int, per_epoch: int, seed: int, work: Path
) -> tuple[CXRNet, list[dict]]:
    """Weighted-sampling training with a checkpoint after every epoch (rerun to resume)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    train_idx = np.flatnonzero(table.split == "train")
    draw_p = balancing_weights(table.iloc[train_idx])
    masks = torch.from_numpy(class_targets(table))
    y = (table.binary_label != "NORMAL").to_numpy()
    val_sets = validation_sets(table)
    val_idx = np.flatnonzero(np.any(list(val_sets.values()), axis=0))

    model = new_network()
    batch = 32
    steps_per_epoch = math.ceil(per_epoch / batch)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * steps_per_epoch, pct_start=0.2)
    history: list[dict] = []
    best_state, best_score, first_epoch = None, -1.0, 0
    checkpoint = work / "checkpoint.pt"
    if checkpoint.is_file():
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        if state["config"] != [epochs, per_epoch, seed, list(SIZE), list(WIDTHS)]:
            raise SystemExit(f"{checkpoint} belongs to another configuration {state['config']}: remove it to restart")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        gen.set_state(state["gen"])
        torch.set_rng_state(state["torch_rng"])
        rng.bit_generator.state = state["np_rng"]
        history, best_state, best_score, first_epoch = state["history"], state["best"], state["best_score"], state["epoch"]
        print(f"resumed from {checkpoint} after epoch {first_epoch}")
    images = as_unit(pixels)
    for epoch in range(first_epoch, epochs):
        model.train()
        order = rng.choice(train_idx, size=steps_per_epoch * batch, p=draw_p)
        start, total = time.time(), 0.0
        for i in range(0, len(order), batch):
            idx = torch.from_numpy(order[i : i + batch])
            x = normalise(augment(images[idx].clone(), gen, rng))
            loss = masked_nll(model(x), masks[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        logits, _ = predict_logits(model, pixels[val_idx])
        p = np.zeros(len(table))
        p[val_idx] = p_pneumonia(logits)
        record: dict = {"epoch": epoch + 1, "loss": total / len(order)}
        for name, sel in val_sets.items():
            record[f"val_auroc_{name}"] = auroc(y[sel], p[sel])
        record["seconds"] = time.time() - start
        history.append(record)
        score = selection_score(record)
        print(f"epoch {epoch + 1}/{epochs} loss {record['loss']:.4f} val AUROC "
              + " ".join(f"{name} {record[f'val_auroc_{name}']:.4f}" for name in val_sets)
              + f" ({record['seconds']:.0f} s)", flush=True)
        if score > best_score:
            best_score, best_state = score, copy.deepcopy(model.state_dict())
            record["selected"] = True
        work.mkdir(parents=True, exist_ok=True)
        torch.save({"config": [epochs, per_epoch, seed, list(SIZE), list(WIDTHS)], "model": model.state_dict(),
                    "opt": opt.state_dict(), "sched": sched.state_dict(), "gen": gen.get_state(),
                    "torch_rng": torch.get_rng_state(), "np_rng": rng.bit_generator.state, "history": history,
                    "best": best_state, "best_score": best_score, "epoch": epoch + 1}, work / "checkpoint.tmp")
        (work / "checkpoint.tmp").replace(checkpoint)
    assert best_state is not None
    model.load_state_dict(best_state)
    model.eval()
    return model, history


# calibration, threshold, metrics --------------------------------------------------------
def fit_temperature(logits: np.ndarray, masks: np.ndarray, groups: list[np.ndarray]) -> float:
    """Temperature minimising the validation NLL, each validation source weighing the same (so the
    adult films count as much as the larger Kermany split); grid search: deterministic."""
    lt, mt = torch.from_numpy(logits), torch.from_numpy(masks)
    grid = np.exp(np.linspace(math.log(0.25), math.log(8.0), 400))
    nll = [np.mean([float(masked_nll(lt[g] / t, mt[g]).mean()) for g in groups]) for t in grid]
    return float(grid[int(np.argmin(nll))])


def choose_threshold(p: np.ndarray, y: np.ndarray, groups: list[np.ndarray]) -> float:
    """Maximise the mean over validation sources of balanced accuracy (Youden)."""
    candidates = np.unique(np.round(p[np.any(groups, axis=0)], 4))
    best_t, best = 0.5, -1.0
    for t in candidates:
        bas = []
        for sel in groups:
            pred = p[sel] >= t
            bas.append((pred[y[sel]].mean() + (~pred[~y[sel]]).mean()) / 2)
        if np.mean(bas) > best:
            best, best_t = float(np.mean(bas)), float(t)
    return best_t


def binary_metrics(y: np.ndarray, p: np.ndarray, t: float) -> dict[str, float]:
    pred = p >= t
    return {
        "auroc": auroc(y, p),
        "accuracy": float((pred == y).mean()),
        "sensitivity": float(pred[y].mean()),
        "specificity": float((~pred[~y]).mean()),
    }


def with_bootstrap(y: np.ndarray, p: np.ndarray, t: float, seed: int, n: int = 2000) -> dict[str, Any]:
    """Point estimates with 95% percentile-bootstrap intervals (images resampled)."""
    point = binary_metrics(y, p, t)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {k: [] for k in point}
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        if y[idx].all() or (~y[idx]).all():
            continue
        for k, v in binary_metrics(y[idx], p[idx], t).items():
            draws[k].append(v)
    out: dict[str, Any] = {"n": int(len(y)), "n_positive": int(y.sum())}
    for k, v in point.items():
        lo, hi = np.percentile(draws[k], [2.5, 97.5])
        out[k] = round(v, 4)
        out[f"{k}_ci95"] = [round(float(lo), 4), round(float(hi), 4)]
    return out


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 15) -> tuple[float, list[dict]]:
    edges = np.linspace(0, 1, bins + 1)
    ece, table = 0.0, []
    for lo, hi in pairwise(edges):
        sel = (p >= lo) & ((p < hi) if hi < 1 else (p <= hi))
        if not sel.any():
            continue
        conf, freq = float(p[sel].mean()), float(y[sel].mean())
        ece += sel.mean() * abs(conf - freq)
        table.append({"low": float(lo), "high": float(hi), "n": int(sel.sum()), "mean_p": conf, "observed": freq})
    return float(ece), table


def reliability_plot(curves: dict[str, list[dict]], eces: dict[str, float], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 4.6), dpi=110)
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="perfect calibration")
    for name, rows in curves.items():
        ax.plot(
            [r["mean_p"] for r in rows],
            [r["observed"] for r in rows],
            marker="o",
            ms=3,
            label=f"{name} (ECE {eces[name]:.3f})",
        )
    ax.set_xlabel("predicted P(pneumonia), temperature-scaled")
    ax.set_ylabel("observed fraction with pneumonia")
    ax.set_title("cxr-pneumonia reliability (15 bins)")
    ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


# saliency -------------------------------------------------------------------------------
def saliency_checks(model: CXRNet, table: pd.DataFrame, pixels: np.ndarray, data: Path, temperature: float,
                    val_pneumonias: dict[str, np.ndarray]) -> dict:
    """Grad-CAM (the app's code, on the app's layer) against radiologist boxes, and deletion /
    insertion faithfulness on validation pneumonias."""
    from medassist.explain.faithfulness import deletion_insertion
    from medassist.explain.image import TargetLogProb, grad_cam

    scorer = TargetLogProb(model, [CXR_CLASSES.index(c) for c in OUTPUTS["pneumonia"]], temperature)
    model.eval()

    def cam(pixels_one: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
        x = normalise(as_unit(pixels_one[None]))
        with torch.enable_grad():
            return x, grad_cam(scorer, model.cam_layer, x, SIZE).numpy()

    boxes = pd.read_csv(data / "cxr" / "nih_metadata" / "BBox_List_2017.csv.gz")
    boxes.columns = ["image", "finding", "x", "y", "w", "h", *boxes.columns[6:]]
    files = pd.read_csv(data / "cxr" / "labels.csv")
    files = files[files.source.str.startswith("nih")]
    boxed = files.merge(boxes, left_on="original_id", right_on="image")
    rows = []
    for _, r in boxed.iterrows():
        known = np.flatnonzero(table.file.to_numpy() == r.file)
        px = pixels[known[0]] if len(known) else file_pixels(data.parent / r.file)
        _, sal = cam(px)
        scale = SIZE[0] / 1024.0  # boxes are in the original 1024 px film; every NIH copy is a square resize
        x0, y0 = int(math.floor(r.x * scale)), int(math.floor(r.y * scale))
        x1, y1 = int(math.ceil((r.x + r.w) * scale)), int(math.ceil((r.y + r.h) * scale))
        inside = np.zeros(SIZE, bool)
        inside[y0:y1, x0:x1] = True
        peak = np.unravel_index(int(np.argmax(sal)), sal.shape)
        rows.append({"file": r.file, "source": r.source, "split": r.split, "finding": r.finding,
                     "hit": bool(inside[peak]), "mass_in_box": float(sal[inside].sum() / max(sal.sum(), 1e-12)),
                     "box_area_share": float(inside.mean())})
    found = pd.DataFrame(rows)
    out: dict = {"boxes": "NIH BBox_List_2017 (radiologist boxes, 1024 px coordinates scaled to the model's 256 px)",
                 "method": "Grad-CAM of P(pneumonia) on the app's layer (16x16 map); hit = map peak inside the box"}
    for name, sel in (("pneumonia_boxes", found.finding == "Pneumonia"), ("other_finding_boxes", found.finding != "Pneumonia")):
        part = found[sel]
        out[name] = {
            "n": int(len(part)),
            "n_images_in_training_split": int((part.split == "train").sum()),
            "pointing_game": round(float(part.hit.mean()), 4) if len(part) else None,
            "mean_mass_in_box": round(float(part.mass_in_box.mean()), 4) if len(part) else None,
            "mean_box_area_share": round(float(part.box_area_share.mean()), 4) if len(part) else None,
            "findings": part.finding.value_counts().to_dict(),
        }
        print(f"saliency {name}: pointing game {out[name]['pointing_game']} (n = {len(part)}), "
              f"mass in box {out[name]['mean_mass_in_box']} vs box area {out[name]['mean_box_area_share']}")
    out["per_image"] = [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()} for row in rows]

    def probability(batch: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.exp(scorer(batch)).reshape(-1)

    faith: dict = {"method": "deletion / insertion (blur), 16 steps, random-order reference; Grad-CAM of P(pneumonia)"}
    for name, idx in val_pneumonias.items():
        scores = [deletion_insertion(probability, *cam(pixels[i])) for i in idx]
        faith[name] = {
            "n": len(scores),
            **{k: round(float(np.mean([sc[k] for sc in scores])), 4) for k in scores[0]},
            "share_better_than_random": round(float(np.mean([sc["score"] > 0 for sc in scores])), 4),
        }
        print(f"faithfulness {name}: {json.dumps(faith[name])}")
    out["faithfulness"] = faith
    return out


# input gate -----------------------------------------------------------------------------
def fit_gate(features: np.ndarray, population: np.ndarray) -> dict[str, torch.Tensor]:
    """One Gaussian (mean, Ledoit-Wolf precision) per training population (children, adults):
    each is tighter than one Gaussian over both, which also covers the space between them."""
    from sklearn.covariance import LedoitWolf

    fits = [LedoitWolf().fit(features[population == p].astype(np.float64)) for p in np.unique(population)]
    return {
        "mean": torch.from_numpy(np.stack([f.location_ for f in fits]).astype(np.float32)),
        "precision": torch.from_numpy(np.stack([f.precision_ for f in fits]).astype(np.float32)),
    }


def gate_scores(gate: dict[str, torch.Tensor], features: np.ndarray) -> np.ndarray:
    return gate_distance(gate["mean"], gate["precision"], torch.from_numpy(features).float()).numpy()


# main -----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--per-epoch", type=int, default=3200, help="training images drawn per epoch")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=paths.install_root() / "models" / MODEL_NAME)
    parser.add_argument("--work", type=Path, default=paths.user_cache_dir() / "cxr-training",
                        help="checkpoint folder (a rerun resumes here)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train-only", action="store_true", help="stop after training (checkpoint kept)")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    data = paths.shared_data_dir()
    if data is None:
        raise SystemExit("../shared/data is not available")
    table = load_table(data)
    shortcuts = shortcut_check(table)
    pixels = load_pixels(table.file, data)
    model, history = train(table, pixels, args.epochs, args.per_epoch, args.seed, args.work)
    if args.train_only:
        return
    evaluate_and_write(args, model, history, table, pixels, data, shortcuts)


def evaluate_and_write(args: argparse.Namespace, model: CXRNet, history: list[dict], table: pd.DataFrame,
                       pixels: np.ndarray, data: Path, shortcuts: dict) -> None:
    logits, feats = predict_logits(model, pixels)
    masks = class_targets(table)
    y = (table.binary_label != "NORMAL").to_numpy()
    src = table.source.to_numpy()
    split = table.split.to_numpy()
    view = table.view.to_numpy()
    val_sets = validation_sets(table)
    groups = list(val_sets.values())
    kermany_test = (split == "test") & (src == KERMANY)
    nih_val_adult = val_sets[SHORT[NIH[0]]] | val_sets[SHORT[NIH[1]]]

    temperature = fit_temperature(logits, masks, groups)
    p = p_pneumonia(logits, temperature)
    threshold = choose_threshold(p, y, groups)
    print(f"temperature {temperature:.3f}; operating threshold P(pneumonia) >= {threshold:.4f} "
          "(both chosen on Kermany + adult NIH validation, each source weighing the same)")

    def boot(sel: np.ndarray) -> dict:
        return with_bootstrap(y[sel], p[sel], threshold, args.seed)

    metrics: dict = {
        "kermany_official_test": boot(kermany_test),
        "kermany_validation": boot(val_sets[SHORT[KERMANY]]),
        "nih_pneumonia300_validation_adults": boot(val_sets[SHORT[NIH[0]]]),
        "nih_cxr14_1024_validation_adults": boot(val_sets[SHORT[NIH[1]]]),
        "nih_cxr14_1024_validation_all_ages": boot((split == "val") & (src == NIH[1])),
        "nih_validation_adults": boot(nih_val_adult),
        "nih_validation_adults_ap": boot(nih_val_adult & (view == "AP")),
        "nih_validation_adults_pa": boot(nih_val_adult & (view == "PA")),
    }
    for name, row in metrics.items():
        print(f"{name}: n {row['n']} ({row['n_positive']} pneumonia) AUROC {row['auroc']:.4f} {row['auroc_ci95']} "
              f"accuracy {row['accuracy']:.4f} {row['accuracy_ci95']} sensitivity {row['sensitivity']:.4f} "
              f"{row['sensitivity_ci95']} specificity {row['specificity']:.4f} {row['specificity_ci95']}")
    probs = torch.softmax(torch.from_numpy(logits) / temperature, 1).numpy()
    subtype = table.pneumonia_subtype.fillna("").to_numpy()
    bv = kermany_test & np.isin(subtype, ["bacteria", "virus"]) & y
    bv_pred = np.where(probs[bv, 1] >= probs[bv, 2], "bacteria", "virus")
    metrics["bacterial_vs_viral_kermany_test"] = {
        "accuracy": round(float((bv_pred == subtype[bv]).mean()), 4),
        "n": int(bv.sum()),
        "note": "pneumonia images only; subtype = larger of P(bacterial), P(viral)",
    }
    pred3 = np.array(CXR_CLASSES)[probs[kermany_test].argmax(1)]
    truth3 = np.where(y[kermany_test], np.where(subtype[kermany_test] == "bacteria", "bacterial", "viral"), "normal")
    metrics["three_class_accuracy_kermany_test"] = round(float((pred3 == truth3).mean()), 4)
    print(f"bacterial vs viral (Kermany test pneumonias, n {int(bv.sum())}): "
          f"{metrics['bacterial_vs_viral_kermany_test']['accuracy']:.4f}; three-class accuracy "
          f"{metrics['three_class_accuracy_kermany_test']:.4f}")

    curves, eces = {}, {}
    for name, sel in (("Kermany test", kermany_test), ("NIH adult validation", nih_val_adult)):
        eces[name], curves[name] = expected_calibration_error(y[sel], p[sel])
    metrics["calibration"] = {
        "ece_kermany_test": round(eces["Kermany test"], 4),
        "ece_kermany_test_before_temperature": round(expected_calibration_error(y[kermany_test], p_pneumonia(logits[kermany_test]))[0], 4),
        "ece_nih_validation_adults": round(eces["NIH adult validation"], 4),
        "bins": 15,
        "temperature": round(temperature, 4),
        "reliability_plot": "reliability.png",
    }
    print(f"calibration: {json.dumps(metrics['calibration'])}")
    metrics["shortcut_check"] = shortcuts

    pneumonia_val = {
        "nih_validation_adult_pneumonias": np.flatnonzero(nih_val_adult & y),
        "kermany_validation_pneumonias_first_60": np.flatnonzero(val_sets[SHORT[KERMANY]] & y)[:60],
    }
    metrics["saliency"] = saliency_checks(model, table, pixels, data, temperature, pneumonia_val)

    gate, gate_threshold, metrics["input_gate"] = build_gate(model, table, pixels, feats, data, args.seed)
    write_bundle(args, model, gate, gate_threshold, temperature, threshold, metrics, history, table, curves, eces, data)


def build_gate(model: CXRNet, table: pd.DataFrame, pixels: np.ndarray, feats: np.ndarray, data: Path,
               seed: int) -> tuple[dict[str, torch.Tensor], float, dict]:
    """Gate fitted per population (Kermany children, NIH adults) on the training radiographs as
    they are, with the training augmentations, and as ICU-style portable films (devices, markers,
    rotation, cropping, collimation: ICU films must pass); threshold = 99.5th percentile of
    validation films. Measured on fresh ICU-style draws of the validation films as well."""
    from medassist.training.cxr_gate_samples import chest_dicom_samples, non_cxr_samples

    split, src, view = table.split.to_numpy(), table.source.to_numpy(), table.view.to_numpy()
    train_idx = np.flatnonzero(split == "train")
    gen, rng = torch.Generator().manual_seed(seed), np.random.default_rng(seed)
    augmented = np.concatenate([
        (augment(as_unit(pixels[train_idx[i : i + 64]]), gen, rng) * 255 + 0.5).clamp(0, 255).to(torch.uint8).numpy()[:, 0]
        for i in range(0, len(train_idx), 64)
    ])
    fit_icu_rng = np.random.default_rng(seed + 2)
    icu_style = np.stack([icu_film(pixels[i], fit_icu_rng) for i in train_idx])
    population = np.where(src[train_idx] == KERMANY, "children", "adults")
    gate = fit_gate(np.concatenate([feats[train_idx], predict_logits(model, augmented)[1], predict_logits(model, icu_style)[1]]),
                    np.tile(population, 3))
    scores = gate_scores(gate, feats)
    val = split == "val"
    threshold = float(np.percentile(scores[val], 99.5))
    accepted = scores <= threshold
    out: dict = {"threshold": round(threshold, 4)}
    chest = {
        "kermany_test": (split == "test") & (src == KERMANY),
        "kermany_validation": val & (src == KERMANY),
        "nih_pneumonia300_validation": val & (src == NIH[0]),
        "nih_cxr14_1024_validation": val & (src == NIH[1]),
    }
    for name, sel in chest.items():
        out[f"{name}_accepted"] = float(accepted[sel].mean())
        out[f"n_{name}"] = int(sel.sum())
    # NIH validation films with lines/tubes/markers drawn in (a stand-in for ICU films)
    val_idx = np.flatnonzero(val & np.isin(src, NIH))
    icu_rng = np.random.default_rng(seed + 1)
    icu = np.stack([np.asarray(_draw_acquisition_marks(Image.fromarray(pixels[i]), icu_rng)) for i in val_idx])
    out["nih_validation_with_drawn_lines_and_marks_accepted"] = float((gate_scores(gate, predict_logits(model, icu)[1]) <= threshold).mean())
    out["n_nih_validation_with_drawn_lines_and_marks"] = len(val_idx)
    # the same films as ICU-style portable films (another draw than the gate's fit), and as poorly
    # exposed ones too (haze, gradient, gamma, noise, resolution, JPEG: harder than anything fitted)
    ap = view[val_idx] == "AP"
    standin_rng = np.random.default_rng(seed + 3)
    standins = {"icu_style_films": [icu_film(pixels[i], standin_rng) for i in val_idx]}
    standins["poorly_exposed_icu_style_films"] = [poorly_exposed(film, standin_rng) for film in standins["icu_style_films"]]
    for name, films in standins.items():
        standin_accepted = gate_scores(gate, predict_logits(model, np.stack(films))[1]) <= threshold
        out[f"nih_validation_{name}_accepted"] = float(standin_accepted.mean())
        out[f"n_nih_validation_{name}"] = len(films)
        out[f"nih_validation_ap_{name}_accepted"] = float(standin_accepted[ap].mean())
        out[f"n_nih_validation_ap_{name}"] = int(ap.sum())
    out["nih_validation_ap_accepted"] = float(accepted[val_idx][ap].mean())  # portable films are AP
    out["n_nih_validation_ap"] = int(ap.sum())
    labels = pd.read_csv(data / "cxr" / "labels.csv")
    tiny = labels[labels.source == "nih_cxr14_tiny64"]
    tiny_pixels = np.stack([file_pixels(data.parent / f) for f in tiny.file])
    tiny_accepted = gate_scores(gate, predict_logits(model, tiny_pixels)[1]) <= threshold
    tiny_ap = (tiny.view_position == "AP").to_numpy()
    out["nih_tiny64_all_accepted"] = float(tiny_accepted.mean())
    out["n_nih_tiny64_all"] = len(tiny)
    out["nih_tiny64_ap_accepted"] = float(tiny_accepted[tiny_ap].mean())
    out["n_nih_tiny64_ap"] = int(tiny_ap.sum())
    for group, items in {**non_cxr_samples(data, seed), **chest_dicom_samples(data)}.items():
        group_pixels = np.stack([prepare_pixels(gray01, SIZE) for _, gray01 in items])
        group_scores = gate_scores(gate, predict_logits(model, group_pixels)[1])
        key = "accepted" if group.startswith("chest_dicom") else "rejected"
        value = (group_scores <= threshold) if key == "accepted" else (group_scores > threshold)
        out[f"{group}_{key}"] = float(value.mean())
        out[f"n_{group}"] = len(items)
    rejected = [k for k in out if k.endswith("_rejected")]
    counts = [out[f"n_{k[: -len('_rejected')]}"] for k in rejected]
    out["non_cxr_rejected"] = sum(out[k] * n for k, n in zip(rejected, counts, strict=True)) / sum(counts)
    out = {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}
    print(f"input gate: {json.dumps(out)}")
    return gate, threshold, out


def previous_history(out: Path) -> list[dict]:
    """The card's ``history`` section: earlier versions' figures, carried forward on every retrain."""
    card_path = out / "metadata.json"
    if not card_path.is_file():
        return []
    previous = json.loads(card_path.read_text(encoding="utf-8"))
    history = list(previous.get("history", []))
    if previous.get("version") != VERSION and all(h.get("version") != previous.get("version") for h in history):
        history.append({
            "version": previous.get("version"),
            "weights_sha256": previous.get("weights", {}).get("sha256"),
            "description": previous.get("description"),
            "input_size": previous.get("extra", {}).get("preprocessing", {}).get("size"),
            "training_data": previous.get("training_data", {}).get("sources"),
            "thresholds": previous.get("thresholds"),
            "temperature": previous.get("extra", {}).get("temperature"),
            "metrics": previous.get("metrics"),
        })
    return history


def populations(metrics: dict, table: pd.DataFrame) -> list[dict]:
    """Where the figures come from: Guangzhou children aged 1-5, and NIH adults."""
    def headline(name: str) -> dict:
        row = metrics[name]
        return {k: row[k] for k in ("n", "n_positive", "auroc", "auroc_ci95", "accuracy", "sensitivity", "specificity")}

    nih_ages = table.loc[table.source.isin(NIH) & table.adult, "age"].dropna()
    return [
        {
            "description": "Children aged 1-5 years, one hospital (Guangzhou Women and Children's Medical Center; "
                           "Kermany et al. 2018), AP films; figures: official Kermany test split",
            "age_min_years": 1,
            "age_max_years": 5,
            "sexes": None,
            "metrics": {"kermany_official_test": headline("kermany_official_test"),
                        "bacterial_vs_viral_accuracy": metrics["bacterial_vs_viral_kermany_test"]["accuracy"]},
        },
        {
            "description": "Adults at the NIH Clinical Center (ChestX-ray14), frontal PA and AP films; figures: "
                           "patient-grouped validation films of both NIH sets (validation also chose the checkpoint, "
                           "temperature and threshold, so they are optimistic)",
            "age_min_years": ADULT_YEARS,
            "age_max_years": float(nih_ages.max()),
            "sexes": None,
            "metrics": {k: headline(k) for k in (
                "nih_validation_adults", "nih_pneumonia300_validation_adults", "nih_cxr14_1024_validation_adults",
                "nih_validation_adults_ap", "nih_validation_adults_pa")},
        },
    ]


def write_bundle(args: argparse.Namespace, model: CXRNet, gate: dict[str, torch.Tensor], gate_threshold: float,
                 temperature: float, threshold: float, metrics: dict[str, Any], history: list[dict],
                 table: pd.DataFrame, curves: dict[str, list[dict]], eces: dict[str, float], data: Path) -> None:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    carried_history = previous_history(out)
    torch.save(model.state_dict(), out / "weights.pt")
    torch.save(gate, out / "gate.pt")
    reliability_plot(curves, eces, out / "reliability.png")
    n_params = sum(p.numel() for p in model.parameters())
    train_minutes = sum(h["seconds"] for h in history) / 60
    counts = (
        table.groupby(["source", "split", "binary_label"]).size().rename("images").reset_index().to_dict("records")
    )
    card: dict[str, Any] = {
        "schema_version": "1",
        "name": MODEL_NAME,
        "version": VERSION,
        "display_name": "Chest X-ray pneumonia (bacterial / viral)",
        "task": "image-classification",
        "modality": "CR/DX frontal chest radiograph",
        "description": (
            f"Compact residual CNN ({n_params / 1e6:.2f} M parameters, trained from scratch at {SIZE[0]} px) giving "
            "P(pneumonia) on a frontal chest radiograph and, for pneumonia, whether it looks bacterial or viral. "
            "Trained so that film view (AP/PA) and source carry no information about the label. Probabilities are "
            "temperature-scaled on validation data; an input gate refuses images that are not chest radiographs."
        ),
        "weights": {"file": "weights.pt", "format": "state_dict", "sha256": sha256_file(out / "weights.pt")},
        "architecture": {"name": "cxr-resnet-small", "kwargs": {"widths": list(WIDTHS), "strides": list(STRIDES)}},
        "inputs": [
            {
                "name": "radiograph",
                "type": "image",
                "shape": [1, 1, SIZE[0], SIZE[1]],
                "value_range": [(0 - MEAN) / STD, (1 - MEAN) / STD],
                "preprocessing": (
                    "displayed grayscale (default window, MONOCHROME1 inverted) -> 8-bit -> bilinear resize to "
                    f"{SIZE[0]}x{SIZE[1]} without keeping the aspect ratio -> (x/255 - {MEAN}) / {STD}"
                ),
            }
        ],
        "outputs": [
            {"name": "pneumonia", "type": "probabilities", "description": "P(pneumonia) = P(bacterial) + P(viral)"},
            {"name": "bacterial pneumonia", "type": "probabilities", "description": "P(bacterial pneumonia)"},
            {"name": "viral pneumonia", "type": "probabilities", "description": "P(viral pneumonia)"},
        ],
        "labels": list(OUTPUTS),
        "thresholds": {"pneumonia": round(threshold, 4)},
        "intended_use": (
            "Decision support for clinicians reading a frontal (PA/AP) chest radiograph of an adult or of a young "
            "child: flags likely pneumonia and suggests bacterial vs viral (children only). Not for lateral views, "
            "CT, other body parts, or use without a clinician's review."
        ),
        "limitations": [
            "Validated populations: children aged 1-5 from one hospital (Kermany) and NIH Clinical Center adults. "
            "Outside them (older children, adolescents, other hospitals) the figures shown are those of the nearest "
            "validated population, not measured ones.",
            "Adult figures come from small validation sets (tens of pneumonias) that also chose the checkpoint, "
            "temperature and threshold: optimistic. The NIH test patients are withheld for external evaluation.",
            "Label noise: NIH labels are text-mined from reports (Pneumonia is a weak label); Kermany labels are "
            "from graders, bacterial/viral from the original curation.",
            "Bacterial vs viral is learned from pediatric data only; for adults it is not validated.",
            "Kermany images were squashed to 224x224 without keeping the aspect ratio before we received them; "
            "the model resizes every input the same way.",
            "Trained from scratch on about 6,000 films on a CPU; no pretrained weights were available offline.",
        ],
        "training_data": {
            "sources": [
                "Kermany et al., Cell 2018, pediatric chest X-ray (Guangzhou; CC BY 4.0), official train split; "
                "val = md5(patient_id) % 10 == 0 of train patients",
                "NIH ChestX-ray14 pneumonia subset at 300 px (patient-hash train/val; public domain); the two "
                "non-NIH files and the nine suspect pneumonia labels of the caveat column are left out",
                "NIH ChestX-ray14 films from the original 1024 px PNGs, at 320 px (patient-hash train/val; half of "
                "the new patients withheld as an external test set)",
            ],
            "counts": counts,
            "dropped": "2 non-NIH files and 9 suspect pneumonia labels (caveat column); exact duplicates of "
                       "val/test images and second copies in train",
            "patient_grouping": "Kermany val split by patient hash; NIH by patient hash (same patient, same split)",
            "balancing": (
                "training draws images with weights such that within every (source, view) cell normals and "
                "pneumonias have equal mass (view unknown is a cell of its own); source shares "
                + ", ".join(f"{SHORT[k]} {v:.2f}" for k, v in SOURCE_SHARE.items())
            ),
            "augmentation": (
                "rotation +-10 deg, zoom +-20% with black or edge borders, anisotropic scale x +-12% / y +-8%, "
                "shift +-8%, border bands, gamma, contrast, brightness, box blur or down/up-resampling, burned-in "
                "text and side markers, drawn lines/tubes and ECG electrodes, JPEG quality 25-95, Gaussian noise; "
                "no horizontal flip (laterality)"
            ),
            "selection": "checkpoint with the best mean validation AUROC over the three sources (Kermany, both NIH sets)",
            "epochs": args.epochs,
            "images_per_epoch": args.per_epoch,
            "seed": args.seed,
            "device": "cpu",
            "threads": args.threads,
            "training_minutes_cpu": round(train_minutes, 1),
            "history": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in h.items()} for h in history],
        },
        "metrics": metrics,
        "validated_populations": populations(metrics, table),
        "outside_population": "notice",
        "explanations": ["gradcam", "integrated_gradients"],
        "license": "Apache-2.0 (weights); training data CC BY 4.0 (Kermany) and public domain (NIH)",
        "authors": ["MedAssist team"],
        "training_script": (
            f"python -m medassist.training.cxr_pneumonia --epochs {args.epochs} --per-epoch {args.per_epoch} "
            f"--seed {args.seed} --threads {args.threads}"
        ),
        "history": carried_history,
        "extra": {
            "classes": list(CXR_CLASSES),
            "outputs": OUTPUTS,
            "subtypes": SUBTYPES,
            "temperature": round(temperature, 6),
            "preprocessing": {"size": list(SIZE), "mean": MEAN, "std": STD, "keep_aspect_ratio": False},
            "gate": {
                "file": "gate.pt",
                "sha256": sha256_file(out / "gate.pt"),
                "threshold": round(gate_threshold, 4),
                "accepts": "frontal chest radiograph",
                "method": "Mahalanobis distance (Ledoit-Wolf covariance) of the film's standardised 8x8 layout "
                "and the per-stage feature mean/std to the nearest of two Gaussians, one per training population "
                "(Kermany children, NIH adults), each fitted on its training radiographs as they are, with the "
                "training augmentations and as ICU-style portable films (devices, markers, rotation, cropping, "
                "collimation); threshold = 99.5th percentile of validation radiographs",
            },
            "reliability_plot": "reliability.png",
            "reference_outputs": "reference_outputs.json",
        },
    }
    (out / "metadata.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    write_reference_outputs(out, table, data)
    print(f"weights SHA-256 {card['weights']['sha256']}; {n_params} parameters; trained {train_minutes:.1f} min "
          f"on cpu ({args.threads} threads)")
    print(f"wrote {out}")


def write_reference_outputs(out: Path, table: pd.DataFrame, data: Path) -> None:
    """Run the shipped bundle through InferenceService on a few Kermany test and adult NIH validation films; tests replay these."""
    import tempfile

    from medassist.audit import AuditLog
    from medassist.domain.inputs import ImageInput
    from medassist.inference.registry import ModelRegistry
    from medassist.inference.runtime import ModelRuntime
    from medassist.inference.service import InferenceService
    from medassist.jobs import run_job

    test = table[(table.split == "test") & (table.source == KERMANY)]
    nih_val = table[(table.split == "val") & (table.source == NIH[1]) & table.adult]
    picks = pd.concat([test[test.pneumonia_subtype == s].head(2) for s in ("normal", "bacteria", "virus")]
                      + [nih_val[nih_val.binary_label == label].head(1) for label in ("NORMAL", "PNEUMONIA")])
    runtime = ModelRuntime(ModelRegistry([out.parent]), device_preference="cpu", threads=torch.get_num_threads())
    service = InferenceService(runtime, AuditLog(Path(tempfile.mkdtemp()) / "reference-audit.jsonl"))
    rows = []
    for file in picks.file:
        image = load_image(data.parent / file)
        pred = run_job(service.predict(MODEL_NAME, ImageInput(image)))
        rows.append({"file": file, "outputs": pred.outputs, "gate_score": pred.gate.score if pred.gate else None,
                     "positive": pred.positive})
        print(f"reference {file}: {json.dumps(pred.outputs)} gate {rows[-1]['gate_score']:.2f}")
    (out / "reference_outputs.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
