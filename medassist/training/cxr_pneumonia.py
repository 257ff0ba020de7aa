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
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from medassist import paths
from medassist.hashing import sha256_file
from medassist.imaging.image import MedicalImage
from medassist.inference.image_task import prepare_pixels
from medassist.models.cxr import CXR_CLASSES, CXRNet

SIZE = (256, 256)
WIDTHS = (16, 32, 48, 96, 144)
STRIDES = (2, 2, 2, 1)
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
VERSION = "2.0.0"


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


def read_gray(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("L"), dtype=np.float32)


def to_pixels(gray: np.ndarray, source: str = "") -> np.ndarray:
    """A file's pixels as the app would see them (MedicalImage default window) at model size."""
    image = MedicalImage(path=Path(source or "array"), frames=gray[None])
    return prepare_pixels(image.model_input(0), SIZE)


def load_pixels(files: pd.Series, data: Path) -> np.ndarray:
    key = hashlib.sha256(("\n".join(files) + repr(SIZE)).encode()).hexdigest()[:16]
    cache = paths.user_cache_dir() / f"cxr-pixels-{key}.npy"
    if cache.is_file():
        return np.load(cache)
    start = time.time()
    pixels = np.stack([to_pixels(read_gray(data.parent / f)) for f in files])
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
    for name, columns, rows in (
        ("view_only_nih", ["view"], "nih"),
        ("source_only", ["source"], "all"),
        ("source_and_view", ["source", "view"], "all"),
    ):
        tr = train.source.isin(NIH).to_numpy() if rows == "nih" else np.ones(len(train), bool)
        va = val.source.isin(NIH).to_numpy() if rows == "nih" else np.ones(len(val), bool)
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
    """Adult validation AUROC, mean over the two NIH sources (Kermany is near 1 from epoch 1)."""
    return float(np.mean([record[f"val_auroc_{SHORT[s]}"] for s in NIH]))


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
def fit_temperature(logits: np.ndarray, masks: np.ndarray) -> float:
    """Temperature minimising the validation NLL (grid search: deterministic, no optimiser state)."""
    lt, mt = torch.from_numpy(logits), torch.from_numpy(masks)
    grid = np.exp(np.linspace(math.log(0.25), math.log(8.0), 400))
    nll = [float(masked_nll(lt / t, mt).mean()) for t in grid]
    return float(grid[int(np.argmin(nll))])


def choose_threshold(p: np.ndarray, y: np.ndarray, source: np.ndarray) -> float:
    """Maximise the mean over sources of balanced accuracy (Youden) on validation."""
    candidates = np.unique(np.round(p, 4))
    best_t, best = 0.5, -1.0
    for t in candidates:
        bas = []
        for s in SOURCES:
            sel = source == s
            pred = p[sel] >= t
            sens = pred[y[sel]].mean()
            spec = (~pred[~y[sel]]).mean()
            bas.append((sens + spec) / 2)
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


def with_bootstrap(y: np.ndarray, p: np.ndarray, t: float, seed: int, n: int = 2000) -> dict:
    """Point estimates with 95% percentile-bootstrap intervals (images resampled)."""
    point = binary_metrics(y, p, t)
    rng = np.random.default_rng(seed)
    draws = {k: [] for k in point}
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        if y[idx].all() or (~y[idx]).all():
            continue
        for k, v in binary_metrics(y[idx], p[idx], t).items():
            draws[k].append(v)
    out = {"n": int(len(y)), "n_positive": int(y.sum())}
    for k, v in point.items():
        lo, hi = np.percentile(draws[k], [2.5, 97.5])
        out[k] = round(v, 4)
        out[f"{k}_ci95"] = [round(float(lo), 4), round(float(hi), 4)]
    return out


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 15) -> tuple[float, list[dict]]:
    edges = np.linspace(0, 1, bins + 1)
    ece, table = 0.0, []
    for lo, hi in zip(edges[:-1], edges[1:]):
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


# input gate -----------------------------------------------------------------------------
def fit_gate(features: np.ndarray) -> dict[str, torch.Tensor]:
    from sklearn.covariance import LedoitWolf

    lw = LedoitWolf().fit(features.astype(np.float64))
    return {
        "mean": torch.from_numpy(lw.location_.astype(np.float32)),
        "precision": torch.from_numpy(lw.precision_.astype(np.float32)),
    }


def gate_scores(gate: dict[str, torch.Tensor], features: np.ndarray) -> np.ndarray:
    centred = torch.from_numpy(features).float() - gate["mean"]
    return torch.sqrt(((centred @ gate["precision"]) * centred).sum(1).clamp(min=0)).numpy()



# main -----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=14)
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
    started = time.time()
    model, history = train(table, pixels, args.epochs, args.per_epoch, args.seed, args.work)
    if args.train_only:
        return


if __name__ == "__main__":
    main()
