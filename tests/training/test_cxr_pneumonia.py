"""The chest radiograph training package, piece by piece on synthetic films (training the real model
takes hours on a CPU): every module imports, each script answers ``--help``, augmentation keeps
shapes and ranges, one resumable epoch runs and checkpoints, calibration, threshold, metrics and
gate work on its outputs, and the bundle it writes is admitted and runs in the app's own service."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from medassist.domain.inputs import ImageInput
from medassist.imaging.loader import load_image
from medassist.jobs import run_job
from medassist.training.cxr_pneumonia import KERMANY, MODEL_NAME, NIH, SIZE, SOURCES
from medassist.training.cxr_pneumonia.augmentation import augment, icu_film, poorly_exposed
from medassist.training.cxr_pneumonia.bundle import build_card
from medassist.training.cxr_pneumonia.data import as_unit, class_targets, validation_sets
from medassist.training.cxr_pneumonia.evaluation import Evaluation, choose_threshold, fit_gate, fit_temperature, gate_scores
from medassist.training.cxr_pneumonia.training import masked_nll, p_pneumonia, predict_logits, train
from medassist.training.bundle import torch_bytes, write_bundle
from medassist.training.metrics import bootstrap_metrics
from tests.services import cpu_service

MODULES = ("data", "augmentation", "training", "evaluation", "bundle", "__main__")
SCRIPTS = ("tabular_models", "notes_classifier", "recommender")


def _table() -> pd.DataFrame:
    """Four normal and four pneumonia films per (source, split), AP and PA mixed; NIH adults."""
    rows = []
    for source in SOURCES:
        for split in ("train", "val"):
            for i in range(8):
                pneumonia = i % 2 == 1
                rows.append({"file": f"{source}/{split}/{i}.png", "source": source, "split": split,
                             "binary_label": "PNEUMONIA" if pneumonia else "NORMAL",
                             "pneumonia_subtype": ("bacteria" if i % 4 == 1 else "virus") if pneumonia else "normal",
                             "view": "AP" if i < 4 else "PA", "age": 3.0 if source == KERMANY else 40.0 + i})
    table = pd.DataFrame(rows)
    table["adult"] = table.age >= 18
    return table


@pytest.fixture(scope="module")
def films() -> np.ndarray:
    """Synthetic 8-bit films at model size: a bright chest-like oval, brighter patches for pneumonia."""
    table = _table()
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:SIZE[0], 0:SIZE[1]] / SIZE[0]
    oval = ((xx - 0.5) ** 2 / 0.16 + (yy - 0.5) ** 2 / 0.2) < 1
    pixels = []
    for label in table.binary_label:
        film = 60 + 90 * oval + rng.normal(0, 12, SIZE)
        if label == "PNEUMONIA":
            film[70:100, 30:60] += 60
        pixels.append(np.clip(film, 0, 255).astype(np.uint8))
    return np.stack(pixels)


def test_every_module_imports_and_every_script_answers_help(capsys):
    for name in MODULES:
        importlib.import_module(f"medassist.training.cxr_pneumonia.{name}")
    for script in SCRIPTS:
        with pytest.raises(SystemExit) as done:
            importlib.import_module(f"medassist.training.{script}").main(["--help"])
        assert done.value.code == 0 and "usage:" in capsys.readouterr().out
    shown = subprocess.run([sys.executable, "-m", "medassist.training.cxr_pneumonia", "--help"],
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and "--per-epoch" in shown.stdout
    assert "Train the bundled chest radiograph model" in shown.stdout


def test_augmentation_keeps_shapes_and_ranges(films):
    gen, rng = torch.Generator().manual_seed(1), np.random.default_rng(1)
    augmented = augment(as_unit(films[:8]), gen, rng)
    assert augmented.shape == (8, 1, *SIZE) and float(augmented.min()) >= 0.0 and float(augmented.max()) <= 1.0
    icu = icu_film(films[0], rng)
    assert icu.shape == SIZE and icu.dtype == np.uint8
    assert poorly_exposed(icu, rng).shape == SIZE


def test_one_epoch_then_calibration_metrics_gate_and_a_bundle_the_app_runs(films, tmp_path):
    torch.set_num_threads(1)
    table = _table()
    model, history = train(table, films, epochs=1, per_epoch=32, seed=3, work=tmp_path / "work")
    assert (tmp_path / "work" / "checkpoint.pt").is_file() and history[0]["epoch"] == 1
    assert train(table, films, epochs=1, per_epoch=32, seed=3, work=tmp_path / "work")[1] == history  # resumed, not retrained

    logits, features = predict_logits(model, films)
    masks = class_targets(table)
    assert logits.shape == (len(table), 3) and np.isfinite(masked_nll(torch.from_numpy(logits), torch.from_numpy(masks)).numpy()).all()
    groups = list(validation_sets(table).values())
    temperature = fit_temperature(logits, masks, groups)
    p = p_pneumonia(logits, temperature)
    y = (table.binary_label != "NORMAL").to_numpy()
    threshold = choose_threshold(p, y, groups)
    assert 0.25 <= temperature <= 8.0 and 0.0 <= threshold <= 1.0

    population = np.where(table.source.to_numpy() == KERMANY, "children", "adults")
    gate = fit_gate(features, population)
    scores = gate_scores(gate, features)
    gate_threshold = float(np.percentile(scores, 99.5))

    row = bootstrap_metrics(y, p, threshold, seed=3, n=50)
    metrics = {name: row for name in ("kermany_official_test", "nih_validation_adults", "nih_pneumonia300_validation_adults",
                                      "nih_cxr14_1024_validation_adults", "nih_validation_adults_ap", "nih_validation_adults_pa")}
    metrics["bacterial_vs_viral_kermany_test"] = {"accuracy": 0.5, "n": 8}
    evaluation = Evaluation(temperature, threshold, metrics, gate, gate_threshold, b"\x89PNG\r\n\x1a\n")
    args = argparse.Namespace(epochs=1, per_epoch=32, seed=3, threads=1)
    card = build_card(args, model, evaluation, history, table, [])
    assert card["validated_populations"][1]["age_max_years"] == 47.0 and set(NIH) <= set(table.source)
    root = tmp_path / "models"
    written = write_bundle(root / MODEL_NAME, card, {"weights.pt": torch_bytes(model.state_dict()),
                                                      "gate.pt": torch_bytes(gate), "reliability.png": evaluation.reliability_png})
    assert written.image is not None and written.image.gate is not None and written.image.gate.sha256
    assert written.training_data.frameworks is not None and (written.training_data.frameworks.model_extra or {})["torch"]
    assert written.subtype_populations["pneumonia"].age_max_years == 5 and written.modality == ["CR", "DX", "OT"]

    service = cpu_service(threads=1, audit=tmp_path / "audit.jsonl", folders=[root])
    png = tmp_path / "film.png"
    Image.fromarray(films[1]).save(png)
    prediction = run_job(service.predict(MODEL_NAME, ImageInput(load_image(png))))
    assert prediction.weights_sha256 == written.weights.sha256 and prediction.gate is not None
    assert set(prediction.outputs) == {"pneumonia", "bacterial pneumonia", "viral pneumonia"}
