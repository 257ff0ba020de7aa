"""The labelled radiographs, their pixels exactly as the app shows them, and the balancing that
takes film view and source out of the label."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from medassist import paths
from medassist.atomic import atomic_write
from medassist.imaging.loader import load_image
from medassist.inference.image_task import prepare_pixels
from medassist.training.cxr_pneumonia import ADULT_YEARS, KERMANY, MEAN, NIH, SHORT, SIZE, SOURCE_SHARE, SOURCES, STD


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
    atomic_write(cache, lambda handle: np.save(handle, pixels))
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


def shortcut_check(table: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    """How well view alone, source alone, or both predict the label on validation films.

    ``raw``: logistic regression fitted and scored without weights (the shortcut the data offers).
    ``balanced``: fitted with the training weights and scored with the same balancing on the
    validation split (what the network is trained under): ~0.5 means no information."""
    from sklearn.linear_model import LogisticRegression

    from medassist.training.metrics import auroc, rounded

    train, val = table[table.split == "train"], table[table.split == "val"]
    w_train, w_val = balancing_weights(train), balancing_weights(val)
    y_train = (train.binary_label != "NORMAL").to_numpy()
    y_val = (val.binary_label != "NORMAL").to_numpy()
    out: dict[str, dict[str, float | None]] = {}
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
            "raw_val_auroc": rounded(auroc(y_val[va], raw.predict_proba(x_val)[:, 1])),
            "balanced_val_auroc": rounded(auroc(y_val[va], balanced.predict_proba(x_val)[:, 1], w_val[va])),
        }
        print(f"shortcut check, {name}: validation AUROC raw {out[name]['raw_val_auroc']:.3f}, "
              f"under the balancing {out[name]['balanced_val_auroc']:.3f}")
    return out


def validation_sets(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """Validation films by source; NIH ones are adults only (what selection is about)."""
    val = table.split.to_numpy() == "val"
    src = table.source.to_numpy()
    sets = {SHORT[KERMANY]: val & (src == KERMANY)}
    for source in NIH:
        sets[SHORT[source]] = val & (src == source) & table.adult.to_numpy()
    return sets


def normalise(x01: torch.Tensor) -> torch.Tensor:
    return (x01 - MEAN) / STD


def as_unit(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pixels).float().div(255.0)[:, None]
