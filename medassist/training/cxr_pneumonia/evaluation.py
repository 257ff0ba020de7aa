"""What the trained network is worth: temperature, operating threshold, held-out metrics with
bootstrap intervals, calibration (and its plot), saliency against radiologist boxes, and the
input gate with its acceptance on chest films and rejection of everything else."""

from __future__ import annotations

import argparse
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from medassist.inference.image_task import gate_distance, prepare_pixels
from medassist.models.cxr import CXR_CLASSES, CXRNet
from medassist.training.cxr_pneumonia import KERMANY, NIH, OUTPUTS, SHORT, SIZE
from medassist.training.cxr_pneumonia.augmentation import augment, draw_acquisition_marks, icu_film, poorly_exposed
from medassist.training.cxr_pneumonia.data import as_unit, class_targets, file_pixels, normalise, validation_sets
from medassist.training.cxr_pneumonia.training import masked_nll, p_pneumonia, predict_logits
from medassist.training.metrics import bootstrap_metrics, calibration_error


@dataclass
class Evaluation:
    """What the bundle is made of, besides the network: calibration, threshold, metrics, gate, plot."""

    temperature: float
    threshold: float
    metrics: dict
    gate: dict[str, torch.Tensor]
    gate_threshold: float
    reliability_png: bytes


def evaluate(args: argparse.Namespace, model: CXRNet, table: pd.DataFrame, pixels: np.ndarray, data: Path,
             shortcuts: dict) -> Evaluation:
    """Calibrate, choose the threshold, measure, check saliency and fit the input gate (printing as it goes)."""
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
        return bootstrap_metrics(y[sel], p[sel], threshold, args.seed)

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
        eces[name], curves[name] = calibration_error(y[sel], p[sel])
    metrics["calibration"] = {
        "ece_kermany_test": round(eces["Kermany test"], 4),
        "ece_kermany_test_before_temperature": round(calibration_error(y[kermany_test], p_pneumonia(logits[kermany_test]))[0], 4),
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
    return Evaluation(temperature, threshold, metrics, gate, gate_threshold, reliability_plot(curves, eces))


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


def reliability_plot(curves: dict[str, list[dict]], eces: dict[str, float]) -> bytes:
    """The reliability diagram as PNG bytes (written into the bundle with the weights)."""
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
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


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
    icu = np.stack([np.asarray(draw_acquisition_marks(Image.fromarray(pixels[i]), icu_rng)) for i in val_idx])
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
