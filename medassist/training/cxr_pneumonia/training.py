"""The network, its loss, and the resumable training loop (a checkpoint after every epoch)."""

from __future__ import annotations

import copy
import math
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from medassist.atomic import atomic_write
from medassist.models.cxr import CXRNet
from medassist.training.cxr_pneumonia import SIZE, SOURCES, SHORT, STRIDES, WIDTHS
from medassist.training.cxr_pneumonia.augmentation import augment
from medassist.training.cxr_pneumonia.data import as_unit, balancing_weights, class_targets, normalise, validation_sets
from medassist.training.metrics import auroc


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


def p_pneumonia(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    p = torch.softmax(torch.from_numpy(logits) / temperature, 1).numpy()
    return p[:, 1] + p[:, 2]


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
        state = {"config": [epochs, per_epoch, seed, list(SIZE), list(WIDTHS)], "model": model.state_dict(),
                 "opt": opt.state_dict(), "sched": sched.state_dict(), "gen": gen.get_state(),
                 "torch_rng": torch.get_rng_state(), "np_rng": rng.bit_generator.state, "history": history,
                 "best": best_state, "best_score": best_score, "epoch": epoch + 1}
        atomic_write(checkpoint, partial(torch.save, state))
    assert best_state is not None
    model.load_state_dict(best_state)
    model.eval()
    return model, history
