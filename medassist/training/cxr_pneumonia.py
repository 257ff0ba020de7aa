"""Train the bundled chest radiograph model: ``python -m medassist.training.cxr_pneumonia``.

Seeded and reproducible on a CPU (2 threads). Reads ``../shared/data/cxr``: the Kermany
pediatric set (official train/test; ``split == val`` is 10% of train patients) and the NIH
adult pneumonia subset (patient-hash train/val; its test split is withheld). NIH train images
are part of training so the model sees adult films; NIH pneumonia has no bacterial/viral label,
so those images train only P(pneumonia) = P(bacterial) + P(viral).

Writes ``models/cxr-pneumonia/``: weights, input gate, model card with the metrics printed
here, reliability plot and reference outputs that tests compare against.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from medassist import paths
from medassist.hashing import sha256_file
from medassist.imaging.image import MedicalImage
from medassist.inference.image_task import prepare_pixels
from medassist.models.cxr import CXR_CLASSES, CXRNet

SIZE = (128, 128)
MEAN, STD = 0.5, 0.25
SEED = 20261122
OUTPUTS = {"pneumonia": ["bacterial", "viral"], "bacterial pneumonia": ["bacterial"], "viral pneumonia": ["viral"]}
SUBTYPES = {"pneumonia": ["bacterial pneumonia", "viral pneumonia"]}
SOURCES = ("kermany_pediatric", "nih_cxr14_pneumonia_subset300")
MODEL_NAME = "cxr-pneumonia"


# data -----------------------------------------------------------------------------------
def load_table(data: Path) -> pd.DataFrame:
    """The labelled radiographs used here, with exact duplicates of val/test images removed from train."""
    table = pd.read_csv(data / "cxr" / "labels.csv")
    table = table[table.source.isin(SOURCES)].reset_index(drop=True)
    held_out_groups = set(table.loc[table.split != "train", "exact_duplicate_group"].dropna())
    leak = (table.split == "train") & table.exact_duplicate_group.isin(held_out_groups)
    first_copy = ~table.duplicated(subset=["exact_duplicate_group"]) | table.exact_duplicate_group.isna()
    keep = ~leak & (first_copy | (table.split != "train"))
    dropped = int((~keep).sum())
    print(f"data: {len(table)} images, {dropped} exact duplicates dropped from train")
    return table[keep].reset_index(drop=True)


def read_gray(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("L"), dtype=np.float32)


def to_pixels(gray: np.ndarray, source: str = "") -> np.ndarray:
    """A file's pixels as the app would see them (MedicalImage default window) at model size."""
    image = MedicalImage(path=Path(source or "array"), frames=gray[None])
    return prepare_pixels(image.model_input(0), SIZE)


def load_pixels(table: pd.DataFrame, data: Path) -> np.ndarray:
    key = hashlib.sha256(("\n".join(table.file) + repr(SIZE)).encode()).hexdigest()[:16]
    cache = paths.user_cache_dir() / f"cxr-pixels-{key}.npy"
    if cache.is_file():
        return np.load(cache)
    start = time.time()
    pixels = np.stack([to_pixels(read_gray(data.parent / f)) for f in table.file])
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


# augmentation ---------------------------------------------------------------------------
def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Small rotations, shifts, anisotropic scale (Kermany is squashed, NIH is not), and
    brightness/contrast/gamma. No horizontal flips: laterality is anatomy (heart on the left)."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(8)
    scale_x = 1 + (torch.rand(n, generator=gen) * 2 - 1) * 0.15
    scale_y = 1 + (torch.rand(n, generator=gen) * 2 - 1) * 0.10
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * 0.06
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [
            torch.stack([cos / scale_x, -sin / scale_x, shift[:, 0]], 1),
            torch.stack([sin / scale_y, cos / scale_y, shift[:, 1]], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    gamma = torch.exp((torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * 0.25)
    x = x.clamp(0, 1) ** gamma
    contrast = 1 + (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * 0.2
    brightness = (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * 0.08
    mean = x.mean(dim=(2, 3), keepdim=True)
    return ((x - mean) * contrast + mean + brightness).clamp(0, 1)


def normalise(x01: torch.Tensor) -> torch.Tensor:
    return (x01 - MEAN) / STD


def as_unit(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pixels).float().div(255.0)[:, None]


# training -------------------------------------------------------------------------------
def masked_nll(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """-log P(allowed classes): plain cross-entropy when one class is allowed."""
    logp = torch.log_softmax(logits, 1)
    return -(torch.logsumexp(logp.masked_fill(~mask, -1e9), 1))


@torch.no_grad()
def predict_logits(model: CXRNet, pixels: np.ndarray, batch: int = 128) -> tuple[np.ndarray, np.ndarray]:
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


def train(
    table: pd.DataFrame, pixels: np.ndarray, epochs: int, seed: int, smoke: int = 0
) -> tuple[CXRNet, list[dict]]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    train_idx = np.flatnonzero(table.split == "train")
    val_idx = np.flatnonzero(table.split == "val")
    masks = torch.from_numpy(class_targets(table))
    positive = (table.binary_label != "NORMAL").to_numpy()
    # balance normal vs pneumonia within each source; NIH (adults) is drawn twice per epoch
    weights = np.zeros(len(table))
    for source in SOURCES:
        for pos in (False, True):
            sel = train_idx[(table.source.to_numpy()[train_idx] == source) & (positive[train_idx] == pos)]
            weights[sel] = 0.5 / max(len(sel), 1)
    for source in SOURCES:
        sel = train_idx[table.source.to_numpy()[train_idx] == source]
        weights[sel] *= len(sel)
    nih_train = train_idx[table.source.to_numpy()[train_idx] == SOURCES[1]]
    epoch_pool = np.concatenate([train_idx, nih_train])
    if smoke:
        epoch_pool = rng.choice(epoch_pool, smoke, replace=False)

    model = CXRNet()
    batch = 32
    steps = epochs * math.ceil(len(epoch_pool) / batch)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.2)
    images = as_unit(pixels)
    history: list[dict] = []
    best_state, best_score = None, -1.0
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(epoch_pool)
        start, total = time.time(), 0.0
        for i in range(0, len(order), batch):
            idx = torch.from_numpy(order[i : i + batch])
            x = normalise(augment(images[idx], gen))
            loss_each = masked_nll(model(x), masks[idx])
            w = torch.from_numpy(weights[idx.numpy()]).float()
            loss = (loss_each * w).sum() / w.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        logits, _ = predict_logits(model, pixels[val_idx])
        val = table.iloc[val_idx]
        p = p_pneumonia(logits)
        y = (val.binary_label != "NORMAL").to_numpy()
        scores = {
            source: auroc(y[(val.source == source).to_numpy()], p[(val.source == source).to_numpy()])
            for source in SOURCES
        }
        score = float(np.mean(list(scores.values())))
        record = {
            "epoch": epoch + 1,
            "loss": total / len(order),
            "val_auroc_kermany": scores[SOURCES[0]],
            "val_auroc_nih": scores[SOURCES[1]],
            "seconds": time.time() - start,
        }
        history.append(record)
        print(
            f"epoch {epoch + 1}/{epochs} loss {record['loss']:.4f} val AUROC kermany {scores[SOURCES[0]]:.4f} "
            f"nih {scores[SOURCES[1]]:.4f} ({record['seconds']:.0f} s)",
            flush=True,
        )
        if score > best_score:
            best_score, best_state = score, copy.deepcopy(model.state_dict())
            record["selected"] = True
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
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=paths.install_root() / "models" / MODEL_NAME)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--smoke", type=int, default=0, help="train on only this many images (pipeline check)")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    data = paths.shared_data_dir()
    if data is None:
        raise SystemExit("../shared/data is not available")
    table = load_table(data)
    pixels = load_pixels(table, data)
    started = time.time()
    model, history = train(table, pixels, args.epochs, args.seed, args.smoke)
    train_minutes = (time.time() - started) / 60
    logits, feats = predict_logits(model, pixels)
    masks = class_targets(table)
    y = (table.binary_label != "NORMAL").to_numpy()
    src = table.source.to_numpy()
    split = table.split.to_numpy()
    val = split == "val"
    kermany_test = (split == "test") & (src == SOURCES[0])
    nih_val = val & (src == SOURCES[1])

    temperature = fit_temperature(logits[val], masks[val])
    p = p_pneumonia(logits, temperature)
    threshold = choose_threshold(p[val], y[val], src[val])
    print(f"temperature {temperature:.3f}; operating threshold P(pneumonia) >= {threshold:.4f} (chosen on validation)")

    metrics: dict = {
        "kermany_official_test": with_bootstrap(y[kermany_test], p[kermany_test], threshold, args.seed),
        "kermany_validation": with_bootstrap(y[val & (src == SOURCES[0])], p[val & (src == SOURCES[0])], threshold, args.seed),
        "nih_validation": with_bootstrap(y[nih_val], p[nih_val], threshold, args.seed),
    }
    probs = torch.softmax(torch.from_numpy(logits) / temperature, 1).numpy()
    subtype = table.pneumonia_subtype.fillna("").to_numpy()
    bv = kermany_test & np.isin(subtype, ["bacteria", "virus"]) & y
    bv_pred = np.where(probs[bv, 1] >= probs[bv, 2], "bacteria", "virus")
    metrics["bacterial_vs_viral_kermany_test"] = {
        "accuracy": round(float((bv_pred == subtype[bv]).mean()), 4),
        "n": int(bv.sum()),
        "note": "pneumonia images only; subtype = larger of P(bacterial), P(viral)",
    }
    three_way = kermany_test
    pred3 = np.array(CXR_CLASSES)[probs[three_way].argmax(1)]
    truth3 = np.where(y[three_way], np.where(subtype[three_way] == "bacteria", "bacterial", "viral"), "normal")
    metrics["three_class_accuracy_kermany_test"] = round(float((pred3 == truth3).mean()), 4)

    curves, eces = {}, {}
    for name, sel in (("Kermany test", kermany_test), ("NIH validation", nih_val)):
        eces[name], curves[name] = expected_calibration_error(y[sel], p[sel])
    uncal = p_pneumonia(logits[kermany_test])
    metrics["calibration"] = {
        "ece_kermany_test": round(eces["Kermany test"], 4),
        "ece_kermany_test_before_temperature": round(expected_calibration_error(y[kermany_test], uncal)[0], 4),
        "ece_nih_validation": round(eces["NIH validation"], 4),
        "bins": 15,
        "temperature": round(temperature, 4),
        "reliability_plot": "reliability.png",
    }

    # gate: fitted on training radiographs, threshold at the 99th percentile of validation radiographs
    gate = fit_gate(feats[split == "train"])
    scores = gate_scores(gate, feats)
    gate_threshold = float(np.percentile(scores[val], 99.0))
    from medassist.training.cxr_gate_samples import non_cxr_samples, chest_dicom_samples

    cxr_test = (split == "test") | nih_val
    gate_eval = {
        "cxr_kermany_test_accepted": float((scores[kermany_test] <= gate_threshold).mean()),
        "cxr_nih_validation_accepted": float((scores[nih_val] <= gate_threshold).mean()),
        "cxr_test_accepted": float((scores[cxr_test] <= gate_threshold).mean()),
        "n_cxr_test": int(cxr_test.sum()),
    }
    for group, items in {**non_cxr_samples(data, args.seed), **chest_dicom_samples(data)}.items():
        group_pixels = np.stack([prepare_pixels(gray01, SIZE) for _, gray01 in items])
        _, group_feats = predict_logits(model, group_pixels)
        group_scores = gate_scores(gate, group_feats)
        key = "accepted" if group.startswith("chest_dicom") else "rejected"
        value = (group_scores <= gate_threshold) if key == "accepted" else (group_scores > gate_threshold)
        gate_eval[f"{group}_{key}"] = float(value.mean())
        gate_eval[f"n_{group}"] = len(items)
    non_cxr_keys = [k for k in gate_eval if k.endswith("_rejected")]
    total = sum(gate_eval[f"n_{k[: -len('_rejected')]}"] for k in non_cxr_keys)
    gate_eval["non_cxr_rejected"] = (
        sum(gate_eval[k] * gate_eval[f"n_{k[: -len('_rejected')]}"] for k in non_cxr_keys) / total
    )
    gate_eval = {k: round(v, 4) if isinstance(v, float) else v for k, v in gate_eval.items()}
    metrics["input_gate"] = gate_eval

    print(json.dumps({"history": history[-1], "metrics": metrics}, indent=1))
    write_bundle(args, model, gate, gate_threshold, temperature, threshold, metrics, history, table, curves, eces,
                 train_minutes, data)


def write_bundle(args, model, gate, gate_threshold, temperature, threshold, metrics, history, table, curves, eces,
                 train_minutes, data) -> None:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out / "weights.pt")
    torch.save(gate, out / "gate.pt")
    reliability_plot(curves, eces, out / "reliability.png")

    counts = (
        table.groupby(["source", "split", "binary_label"]).size().rename("images").reset_index().to_dict("records")
    )
    card = {
        "schema_version": "1",
        "name": MODEL_NAME,
        "version": "1.0.0",
        "display_name": "Chest X-ray pneumonia (bacterial / viral)",
        "task": "image-classification",
        "modality": "CR/DX frontal chest radiograph",
        "description": (
            "Compact residual CNN (0.9 M parameters, trained from scratch) giving P(pneumonia) on a frontal chest "
            "radiograph and, for pneumonia, whether it looks bacterial or viral. Probabilities are "
            "temperature-scaled on validation data; an input gate refuses images that are not chest radiographs."
        ),
        "weights": {"file": "weights.pt", "format": "state_dict", "sha256": sha256_file(out / "weights.pt")},
        "architecture": {"name": "cxr-resnet-small", "kwargs": {}},
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
            "Decision support for clinicians reading a frontal (PA/AP) chest radiograph of a child (trained mostly "
            "on ages 1-5) or an adult: flags likely pneumonia and suggests bacterial vs viral. Not for lateral "
            "views, CT, other body parts, or use without a clinician's review."
        ),
        "limitations": [
            "Pediatric-heavy training data: 4,674 of 5,468 training images are Guangzhou children aged 1-5 "
            "(Kermany); only 794 adult NIH images. Accuracy on adults is lower (see NIH validation metrics).",
            "Label noise: NIH labels are text-mined from reports (Pneumonia is a weak label); Kermany labels are "
            "from graders, bacterial/viral from the original curation.",
            "Kermany images were squashed to 224x224 without keeping the aspect ratio before we received them; "
            "the model resizes every input the same way and may be sensitive to the aspect ratio.",
            "Shortcut risk: Kermany normals and pneumonias differ in acquisition and age mix; the model may partly "
            "use such cues. Check the Grad-CAM / Integrated Gradients maps and their faithfulness scores.",
            "Trained at 128x128 px: small or subtle opacities may be missed.",
            "The NIH test split is withheld; NIH metrics are on the validation split, which also chose the "
            "temperature and threshold (optimistic). No external test set was available to the project.",
            "Bacterial vs viral is learned from pediatric data only.",
        ],
        "training_data": {
            "sources": [
                "Kermany et al., Cell 2018, pediatric chest X-ray (Guangzhou; CC BY 4.0), official train split; "
                "val = md5(patient_id) % 10 == 0 of train patients",
                "NIH ChestX-ray14 pneumonia subset at 300 px (patient-hash train/val; public domain)",
            ],
            "counts": counts,
            "exact_duplicates_removed_from_train": int(
                (pd.read_csv(data / "cxr" / "labels.csv").source.isin(SOURCES)).sum() - len(table)
            ),
            "patient_grouping": "Kermany val split by patient hash; NIH by patient hash",
            "augmentation": "rotation +-8 deg, anisotropic scale x +-15% / y +-10%, shift +-6%, gamma, contrast, "
            "brightness; no horizontal flip (laterality)",
            "class_balance": "loss weights balance normal/pneumonia within each source; NIH train drawn twice per epoch",
            "epochs": args.epochs,
            "seed": args.seed,
            "training_minutes_cpu": round(train_minutes, 1),
            "threads": args.threads,
            "history": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in h.items()} for h in history],
        },
        "metrics": metrics,
        "explanations": ["gradcam", "integrated_gradients"],
        "license": "Apache-2.0 (weights); training data CC BY 4.0 (Kermany) and public domain (NIH)",
        "authors": ["MedAssist team"],
        "training_script": "python -m medassist.training.cxr_pneumonia",
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
                "method": "Mahalanobis distance (Ledoit-Wolf covariance) of the per-stage feature mean/std "
                "from the training radiographs; threshold = 99th percentile of validation radiographs",
            },
            "reliability_plot": "reliability.png",
            "reference_outputs": "reference_outputs.json",
        },
    }
    (out / "metadata.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    write_reference_outputs(out, table, data)
    print(f"wrote {out}")


def write_reference_outputs(out: Path, table: pd.DataFrame, data: Path) -> None:
    """Run the shipped bundle through InferenceService on a few Kermany test files; tests replay these."""
    import tempfile

    from medassist.audit import AuditLog
    from medassist.inference.inputs import ImageInput
    from medassist.inference.registry import ModelRegistry
    from medassist.inference.runtime import ModelRuntime
    from medassist.inference.service import InferenceService
    from medassist.jobs import run_job

    test = table[(table.split == "test") & (table.source == SOURCES[0])]
    picks = pd.concat([test[test.pneumonia_subtype == s].head(2) for s in ("normal", "bacteria", "virus")])
    runtime = ModelRuntime(ModelRegistry([out.parent]), device_preference="cpu", threads=torch.get_num_threads())
    service = InferenceService(runtime, AuditLog(Path(tempfile.mkdtemp()) / "reference-audit.jsonl"))
    rows = []
    for file in picks.file:
        gray = read_gray(data.parent / file)
        image = MedicalImage(path=Path(file), frames=gray[None])
        pred = run_job(service.predict(MODEL_NAME, ImageInput(image)))
        rows.append({"file": file, "outputs": pred.outputs, "gate_score": pred.gate.score if pred.gate else None,
                     "positive": pred.positive})
        print(f"reference {file}: {json.dumps(pred.outputs)} gate {rows[-1]['gate_score']:.2f}")
    (out / "reference_outputs.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
