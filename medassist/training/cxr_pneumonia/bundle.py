"""The chest radiograph model's card (format 2: typed ``image`` section, DICOM modality codes, the
population its bacterial/viral split was validated in), and its bundle written through the one
bundle writer (:func:`medassist.training.bundle.write_bundle`): weights, input gate, reliability
plot, card; then reference outputs of the written bundle, which tests replay."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from medassist.atomic import atomic_write_text
from medassist.imaging.loader import load_image
from medassist.inference.card import read_card
from medassist.models.cxr import CXR_CLASSES, CXRNet
from medassist.training.bundle import torch_bytes, write_bundle
from medassist.training.cxr_pneumonia import (
    ADULT_YEARS, KERMANY, MEAN, MODEL_NAME, NIH, OUTPUTS, SHORT, SIZE, SOURCE_SHARE, STD, STRIDES, SUBTYPES, VERSION, WIDTHS,
)
from medassist.training.cxr_pneumonia.evaluation import Evaluation


def previous_history(out: Path) -> list[dict]:
    """The card's ``history`` section: earlier versions' figures, carried forward on every retrain."""
    card_path = out / "metadata.json"
    if not card_path.is_file():
        return []
    previous = read_card(out)  # a format 1 card reads through the migration
    history = list(previous.history)
    if previous.version != VERSION and all(h.get("version") != previous.version for h in history):
        assert previous.image is not None  # an image model's card
        history.append({
            "version": previous.version,
            "weights_sha256": previous.weights.sha256,
            "description": previous.description,
            "input_size": list(previous.image.preprocessing.size),
            "training_data": previous.training_data.model_dump().get("sources"),
            "thresholds": previous.thresholds,
            "temperature": previous.image.temperature,
            "metrics": previous.metrics,
        })
    return history


KERMANY_CHILDREN = ("Children aged 1-5 years, one hospital (Guangzhou Women and Children's Medical Center; "
                    "Kermany et al. 2018)")


def subtype_populations(metrics: dict) -> dict[str, dict]:
    """Where the bacterial/viral split was validated: only the Kermany children have those labels."""
    return {"pneumonia": {
        "description": f"{KERMANY_CHILDREN}: bacterial vs viral labels exist only there; figure: official Kermany test split",
        "age_min_years": 1, "age_max_years": 5, "sexes": None,
        "metrics": {"bacterial_vs_viral_accuracy": metrics["bacterial_vs_viral_kermany_test"]["accuracy"]},
    }}


def populations(metrics: dict, table: pd.DataFrame) -> list[dict]:
    """Where the figures come from: Guangzhou children aged 1-5, and NIH adults."""
    def headline(name: str) -> dict:
        row = metrics[name]
        return {k: row[k] for k in ("n", "n_positive", "auroc", "auroc_ci95", "accuracy", "sensitivity", "specificity")}

    nih_ages = table.loc[table.source.isin(NIH) & table.adult, "age"].dropna()
    return [
        {
            "description": f"{KERMANY_CHILDREN}, AP films; figures: official Kermany test split",
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


def write_cxr_bundle(args: argparse.Namespace, model: CXRNet, evaluation: Evaluation, history: list[dict],
                     table: pd.DataFrame, data: Path) -> None:
    """Weights, input gate, reliability plot and card through the bundle writer, then the reference outputs."""
    out: Path = args.out
    files = {"weights.pt": torch_bytes(model.state_dict()), "gate.pt": torch_bytes(evaluation.gate),
             "reliability.png": evaluation.reliability_png}
    written = write_bundle(out, build_card(args, model, evaluation, history, table, previous_history(out)), files)
    write_reference_outputs(out, table, data)
    print(f"weights SHA-256 {written.weights.sha256}; {sum(p.numel() for p in model.parameters())} parameters; "
          f"trained {sum(h['seconds'] for h in history) / 60:.1f} min on cpu ({args.threads} threads)")
    print(f"wrote {out}")


def build_card(args: argparse.Namespace, model: CXRNet, evaluation: Evaluation, history: list[dict],
               table: pd.DataFrame, carried_history: list[dict]) -> dict[str, Any]:
    """The model card; the files' SHA-256 are set by the bundle writer from the bytes it writes."""
    n_params = sum(p.numel() for p in model.parameters())
    train_minutes = sum(h["seconds"] for h in history) / 60
    counts = (
        table.groupby(["source", "split", "binary_label"]).size().rename("images").reset_index().to_dict("records")
    )
    return {
        "schema_version": "2",
        "name": MODEL_NAME,
        "version": VERSION,
        "display_name": "Chest X-ray pneumonia (bacterial / viral)",
        "task": "image-classification",
        "modality": ["CR", "DX", "OT"],  # "OT": ordinary picture files too (the input gate judges them)
        "description": (
            f"Compact residual CNN ({n_params / 1e6:.2f} M parameters, trained from scratch at {SIZE[0]} px) giving "
            "P(pneumonia) on a frontal chest radiograph and, for pneumonia, whether it looks bacterial or viral. "
            "Trained so that film view (AP/PA) and source carry no information about the label. Probabilities are "
            "temperature-scaled on validation data; an input gate refuses images that are not chest radiographs."
        ),
        "weights": {"file": "weights.pt", "format": "state_dict", "sha256": None},
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
        "thresholds": {"pneumonia": round(evaluation.threshold, 4)},
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
        "metrics": evaluation.metrics,
        "validated_populations": populations(evaluation.metrics, table),
        "outside_population": "notice",
        "subtype_populations": subtype_populations(evaluation.metrics),
        "explanations": ["gradcam", "integrated_gradients"],
        "license": "Apache-2.0 (weights); training data CC BY 4.0 (Kermany) and public domain (NIH)",
        "authors": ["MedAssist team"],
        "training_script": (
            f"python -m medassist.training.cxr_pneumonia --epochs {args.epochs} --per-epoch {args.per_epoch} "
            f"--seed {args.seed} --threads {args.threads}"
        ),
        "history": carried_history,
        "image": {
            "classes": list(CXR_CLASSES),
            "outputs": OUTPUTS,
            "subtypes": SUBTYPES,
            "temperature": round(evaluation.temperature, 6),
            "preprocessing": {"size": list(SIZE), "mean": MEAN, "std": STD, "keep_aspect_ratio": False},
            "gate": {
                "file": "gate.pt",
                "sha256": None,
                "threshold": round(evaluation.gate_threshold, 4),
                "accepts": "frontal chest radiograph",
                "method": "Mahalanobis distance (Ledoit-Wolf covariance) of the film's standardised 8x8 layout "
                "and the per-stage feature mean/std to the nearest of two Gaussians, one per training population "
                "(Kermany children, NIH adults), each fitted on its training radiographs as they are, with the "
                "training augmentations and as ICU-style portable films (devices, markers, rotation, cropping, "
                "collimation); threshold = 99.5th percentile of validation radiographs",
            },
        },
        "extra": {
            "reliability_plot": "reliability.png",
            "reference_outputs": "reference_outputs.json",
        },
    }


def write_reference_outputs(out: Path, table: pd.DataFrame, data: Path) -> None:
    """Run the shipped bundle through InferenceService on a few Kermany test and adult NIH validation films; tests replay these."""
    import tempfile

    from medassist.composition import build_services
    from medassist.domain.inputs import ImageInput
    from medassist.jobs import run_job
    from medassist.settings import Settings

    test = table[(table.split == "test") & (table.source == KERMANY)]
    nih_val = table[(table.split == "val") & (table.source == NIH[1]) & table.adult]
    picks = pd.concat([test[test.pneumonia_subtype == s].head(2) for s in ("normal", "bacteria", "virus")]
                      + [nih_val[nih_val.binary_label == label].head(1) for label in ("NORMAL", "PNEUMONIA")])
    settings = Settings(device="cpu", cpu_threads=torch.get_num_threads())
    service = build_services(settings, Path(tempfile.mkdtemp()) / "reference-audit.jsonl", [out.parent]).models()
    rows = []
    for file in picks.file:
        image = load_image(data.parent / file)
        pred = run_job(service.predict(MODEL_NAME, ImageInput(image)))
        rows.append({"file": file, "outputs": pred.outputs, "gate_score": pred.gate.score if pred.gate else None,
                     "positive": pred.positive})
        print(f"reference {file}: {json.dumps(pred.outputs)} gate {rows[-1]['gate_score']:.2f}")
    atomic_write_text(out / "reference_outputs.json", json.dumps(rows, indent=1) + "\n")
