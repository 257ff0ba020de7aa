"""Train the structured-data risk models (heart disease, Pima diabetes, chronic kidney disease).

    nice -n 10 python -m medassist.training.tabular_models [--data ../shared/data] [--only heart-disease] [--cards-only]

Each model is a small MLP over the features plus one missing-flag per feature, trained with
early stopping on a validation split, then temperature-calibrated on that split. Metrics are
computed on data the model never saw (held-out test split; for heart disease also a whole
hospital, VA Long Beach, as external validation, and 10-fold cross-validation on the classic
303 Cleveland rows) with bootstrap 95% intervals for the AUROC. The printed metrics are the
ones written into each ``models/<name>/metadata.json``.
"""

from __future__ import annotations

import argparse
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch

from medassist.domain.features import FeatureSpec
from medassist.models.tabular import TabularRiskNet, encode_rows
from medassist.training.bundle import torch_bytes, write_bundle
from medassist.training.metrics import binary_metrics

SEED = 7
DROP_RATE = 0.15
WEIGHTS = "model.pt"
REPO = Path(__file__).resolve().parents[2]
F = FeatureSpec

HEART_FEATURES = [
    F("age", "numeric", "Age", "years", source="demographic:age", valid_range=(18, 110)),
    F("sex", "binary", "Male sex", source="demographic:male"),
    F("cp", "categorical", "Chest pain type", categories=(1, 2, 3, 4),
      category_names=("typical angina", "atypical angina", "non-anginal pain", "asymptomatic")),
    F("trestbps", "numeric", "Resting systolic blood pressure", "mm[Hg]", source="measure:systolic_bp", valid_range=(60, 260)),
    F("chol", "numeric", "Serum total cholesterol", "mg/dL", source="measure:total_cholesterol", valid_range=(60, 700)),
    F("fbs", "binary", "Fasting blood sugar > 120 mg/dL", source="above:fasting_glucose:120"),
    F("restecg", "categorical", "Resting ECG", categories=(0, 1, 2),
      category_names=("normal", "ST-T wave abnormality", "left ventricular hypertrophy")),
    F("thalach", "numeric", "Maximum heart rate achieved (exercise test)", "/min", source="measure:max_heart_rate", valid_range=(50, 230)),
    F("exang", "binary", "Exercise-induced angina"),
    F("oldpeak", "numeric", "ST depression induced by exercise", "mm", valid_range=(-3, 8)),
    F("slope", "categorical", "Slope of peak exercise ST segment", categories=(1, 2, 3),
      category_names=("upsloping", "flat", "downsloping")),
    F("ca", "numeric", "Major vessels coloured by fluoroscopy (0-3)", "vessels", valid_range=(0, 3)),
    F("thal", "categorical", "Thallium stress test", categories=(3, 6, 7),
      category_names=("normal", "fixed defect", "reversible defect")),
]

PIMA_FEATURES = [
    F("pregnancies", "numeric", "Number of pregnancies", "count", valid_range=(0, 20)),
    F("glucose", "numeric", "Plasma glucose 2 h after oral glucose tolerance test", "mg/dL", source="measure:glucose_2h_ogtt", valid_range=(20, 400)),
    F("blood_pressure", "numeric", "Diastolic blood pressure", "mm[Hg]", source="measure:diastolic_bp", valid_range=(20, 160)),
    F("skin_thickness", "numeric", "Triceps skinfold thickness", "mm", valid_range=(3, 100)),
    F("insulin", "numeric", "Serum insulin 2 h after glucose load", "u[IU]/mL", valid_range=(5, 1000)),
    F("bmi", "numeric", "Body mass index", "kg/m2", source="measure:bmi", valid_range=(10, 80)),
    F("diabetes_pedigree", "numeric", "Diabetes pedigree function (family history score)", "", valid_range=(0, 3)),
    F("age", "numeric", "Age", "years", source="demographic:age", valid_range=(18, 110)),
]

CKD_FEATURES = [
    F("age", "numeric", "Age", "years", source="demographic:age", valid_range=(1, 110)),
    F("bp", "numeric", "Diastolic blood pressure", "mm[Hg]", source="measure:diastolic_bp", valid_range=(40, 180)),
    F("sg", "numeric", "Urine specific gravity", "{ratio}", source="measure:urine_specific_gravity", valid_range=(1.0, 1.04)),
    F("al", "numeric", "Urine albumin, dipstick grade (0-5)", "grade", valid_range=(0, 5)),
    F("su", "numeric", "Urine sugar, dipstick grade (0-5)", "grade", valid_range=(0, 5)),
    F("rbc", "binary", "Urine red blood cells abnormal"),
    F("pc", "binary", "Urine pus cells abnormal"),
    F("pcc", "binary", "Pus cell clumps present"),
    F("ba", "binary", "Bacteria in urine"),
    F("bgr", "numeric", "Random blood glucose", "mg/dL", source="measure:glucose", valid_range=(20, 600)),
    F("bu", "numeric", "Blood urea", "mg/dL", source="urea_from_bun", valid_range=(1, 400)),
    F("sc", "numeric", "Serum creatinine", "mg/dL", source="measure:creatinine", valid_range=(0.2, 80)),
    F("sod", "numeric", "Sodium", "mmol/L", source="measure:sodium", valid_range=(100, 180)),
    F("pot", "numeric", "Potassium", "mmol/L", source="measure:potassium", valid_range=(1.5, 50)),
    F("hemo", "numeric", "Hemoglobin", "g/dL", source="measure:hemoglobin", valid_range=(2, 20)),
    F("pcv", "numeric", "Packed cell volume (hematocrit)", "%", source="measure:hematocrit", valid_range=(5, 65)),
    F("wbcc", "numeric", "White blood cell count", "cells/uL", source="scaled:wbc:1000", valid_range=(1000, 30000)),
    F("rbcc", "numeric", "Red blood cell count", "10*6/uL", source="measure:red_blood_cells", valid_range=(1, 9)),
    F("htn", "binary", "Hypertension", source="condition:hypertension"),
    F("dm", "binary", "Diabetes mellitus", source="condition:diabetes"),
    F("cad", "binary", "Coronary artery disease", source="condition:coronary_artery_disease"),
    F("appet", "binary", "Poor appetite"),
    F("pe", "binary", "Pedal edema"),
    F("ane", "binary", "Anemia", source="condition:anemia"),
]


@dataclass
class Dataset:
    """One task: its rows as feature dicts, the outcome and named splits of row indices."""

    name: str
    features: list[FeatureSpec]
    rows: list[dict]
    outcome: np.ndarray
    splits: dict[str, np.ndarray]
    description: str


def stratified_split(outcome: np.ndarray, fractions: dict[str, float], seed: int = SEED) -> dict[str, np.ndarray]:
    """Seeded split of row indices keeping the outcome ratio in every part."""
    rng = np.random.RandomState(seed)
    parts: dict[str, list[int]] = {name: [] for name in fractions}
    for value in np.unique(outcome):
        index = rng.permutation(np.flatnonzero(outcome == value))
        start = 0
        names = list(fractions)
        for i, name in enumerate(names):
            end = len(index) if i == len(names) - 1 else start + int(round(fractions[name] * len(index)))
            parts[name].extend(index[start:end].tolist())
            start = end
    return {name: np.array(sorted(v), dtype=np.int64) for name, v in parts.items()}


def _rows(frame: pd.DataFrame, specs: list[FeatureSpec]) -> list[dict]:
    return [{s.name: (None if pd.isna(r[s.name]) else float(r[s.name])) for s in specs} for _, r in frame.iterrows()]


def heart_dataset(data: Path) -> Dataset:
    """All four sites; train/val from Cleveland (80%), Hungary and Switzerland, test = Cleveland's other 20%,
    external = VA Long Beach (never seen)."""
    frame = pd.read_csv(data / "tabular" / "uci_heart_disease" / "heart_disease_all_sites.csv")
    for column in ("chol", "trestbps"):
        frame.loc[frame[column] == 0, column] = np.nan  # 0 is the sites' missing code
    outcome = frame["target_binary"].to_numpy().astype(int)
    site = frame["site"].to_numpy()
    cleveland = np.flatnonzero(site == "cleveland")
    cleveland_parts = stratified_split(outcome[cleveland], {"pool": 0.8, "test": 0.2})
    pool = np.concatenate([cleveland[cleveland_parts["pool"]], np.flatnonzero(np.isin(site, ["hungarian", "switzerland"]))])
    pool_parts = stratified_split(outcome[pool], {"train": 0.82, "val": 0.18})
    splits = {
        "train": np.sort(pool[pool_parts["train"]]),
        "val": np.sort(pool[pool_parts["val"]]),
        "test": cleveland[cleveland_parts["test"]],
        "external_va": np.flatnonzero(site == "va_long_beach"),
        "cleveland_all": cleveland,
    }
    return Dataset("heart-disease", HEART_FEATURES, _rows(frame, HEART_FEATURES), outcome, splits,
                   "UCI Heart Disease (Cleveland, Hungarian, Switzerland, VA Long Beach; Janosi et al. 1988), CC BY 4.0")


def pima_dataset(data: Path) -> Dataset:
    frame = pd.read_csv(data / "tabular" / "pima_diabetes" / "pima_indians_diabetes.csv")
    for column in ("glucose", "blood_pressure", "skin_thickness", "insulin", "bmi"):
        frame.loc[frame[column] == 0, column] = np.nan  # zeros mean "not measured"
    outcome = frame["outcome"].to_numpy().astype(int)
    splits = stratified_split(outcome, {"train": 0.7, "val": 0.15, "test": 0.15})
    return Dataset("diabetes-pima", PIMA_FEATURES, _rows(frame, PIMA_FEATURES), outcome, splits,
                   "Pima Indians Diabetes (NIDDK; Smith et al. 1988), 768 women of Pima heritage aged >= 21")


def ckd_dataset(data: Path) -> Dataset:
    frame = pd.read_csv(data / "tabular" / "chronic_kidney_disease" / "chronic_kidney_disease.csv")
    coding = {
        "rbc": {"abnormal": 1, "normal": 0}, "pc": {"abnormal": 1, "normal": 0},
        "pcc": {"present": 1, "notpresent": 0}, "ba": {"present": 1, "notpresent": 0},
        "htn": {"yes": 1, "no": 0}, "dm": {"yes": 1, "no": 0}, "cad": {"yes": 1, "no": 0},
        "appet": {"poor": 1, "good": 0}, "pe": {"yes": 1, "no": 0}, "ane": {"yes": 1, "no": 0},
    }
    for column, mapping in coding.items():
        text = frame[column].astype("string").str.strip().str.lower()
        unknown = set(text.dropna()) - set(mapping)
        if unknown:
            raise ValueError(f"CKD column {column}: unexpected values {sorted(unknown)}")
        frame[column] = text.map(mapping).astype(float)
    outcome = (frame["class"].astype(str).str.strip() == "ckd").to_numpy().astype(int)
    splits = stratified_split(outcome, {"train": 0.7, "val": 0.15, "test": 0.15})
    return Dataset("ckd", CKD_FEATURES, _rows(frame, CKD_FEATURES), outcome, splits,
                   "UCI Chronic Kidney Disease (Rubini et al. 2015, Apollo Hospitals, India), CC BY 4.0")


def fit(specs: list[FeatureSpec], rows: list[dict], outcome: np.ndarray, train: np.ndarray, val: np.ndarray,
        hidden: int, weight_decay: float, missing_flags: bool) -> TabularRiskNet:
    """Early-stopped MLP on ``train``, temperature fitted on ``val``."""
    torch.manual_seed(SEED)
    columns, missing = encode_rows(specs, [rows[i] for i in train])
    observed = 1.0 - np.repeat(missing, [len(s.columns) for s in specs], axis=1)
    center = (columns * observed).sum(0) / np.maximum(observed.sum(0), 1)
    spread = np.sqrt((((columns - center) * observed) ** 2).sum(0) / np.maximum(observed.sum(0), 1))
    scale = np.where(spread > 1e-6, spread, 1.0)
    model = TabularRiskNet(n_columns=columns.shape[1], n_features=len(specs), hidden=hidden, missing_flags=missing_flags)
    model.center.copy_(torch.from_numpy(center.astype(np.float32)))
    model.scale.copy_(torch.from_numpy(scale.astype(np.float32)))

    def tensors(index: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c, m = encode_rows(specs, [rows[i] for i in index], fill=center.astype(np.float32))
        return torch.from_numpy(c), torch.from_numpy(m), torch.from_numpy(outcome[index].astype(np.float32))

    x_train, m_train, y_train = tensors(train)
    x_val, m_val, y_val = tensors(val)
    widths = torch.tensor([len(s.columns) for s in specs])
    fill = torch.from_numpy(center.astype(np.float32))
    generator = torch.Generator().manual_seed(SEED)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    optimizer = torch.optim.AdamW(model.net.parameters(), lr=1e-2, weight_decay=weight_decay)
    best, best_state, patience = float("inf"), None, 0
    for _ in range(2000):
        model.train()
        # Hide a random DROP_RATE of the known inputs each epoch, so the network learns what any
        # input's missing flag means (records often lack inputs the study always measured).
        dropped = (torch.rand(m_train.shape, generator=generator) < DROP_RATE).float() * (1 - m_train)
        m_epoch = m_train + dropped
        column_dropped = dropped.repeat_interleave(widths, dim=1).bool()
        x_epoch = torch.where(column_dropped, fill.expand_as(x_train), x_train)
        optimizer.zero_grad()
        loss_fn(model.raw_logit(x_epoch, m_epoch), y_train).backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            val_loss = float(loss_fn(model.raw_logit(x_val, m_val), y_val))
        if val_loss < best - 1e-5:
            best, patience = val_loss, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            patience += 1
            if patience >= 100:
                break
    assert best_state is not None
    model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        val_logits = model.raw_logit(x_val, m_val)
    log_t = torch.zeros((), requires_grad=True)
    optimizer_t = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200)

    def closure() -> torch.Tensor:
        optimizer_t.zero_grad()
        loss = loss_fn(val_logits / log_t.exp(), y_val)
        loss.backward()
        return loss

    optimizer_t.step(closure)
    # Only ever soften (T >= 1): a few dozen validation rows cannot justify sharpening, and a
    # separable validation split (CKD) would push T towards 0.
    model.temperature.fill_(float(log_t.detach().exp().clamp(1.0, 4.0)))
    return model


def predict(model: TabularRiskNet, specs: list[FeatureSpec], rows: list[dict]) -> np.ndarray:
    """Calibrated probabilities for feature dicts (missing features flagged, never guessed)."""
    columns, missing = encode_rows(specs, rows, fill=model.center.numpy())
    with torch.no_grad():
        return model.probability(torch.from_numpy(columns), torch.from_numpy(missing)).numpy()


def cross_validate(dataset: Dataset, index: np.ndarray, recipe: "Recipe", folds: int = 10) -> dict:
    """Stratified k-fold CV of the whole recipe (train/val inside each fold) on ``index`` rows."""
    outcome = dataset.outcome[index]
    rng = np.random.RandomState(SEED)
    fold_of = np.zeros(len(index), dtype=int)
    for value in (0, 1):
        members = rng.permutation(np.flatnonzero(outcome == value))
        fold_of[members] = np.arange(len(members)) % folds
    probs = np.zeros(len(index))
    for k in range(folds):
        rest = np.flatnonzero(fold_of != k)
        inner = stratified_split(outcome[rest], {"train": 0.85, "val": 0.15}, seed=SEED + k)
        model = fit(dataset.features, dataset.rows, dataset.outcome, index[rest[inner["train"]]], index[rest[inner["val"]]],
                    recipe.hidden, recipe.weight_decay, recipe.missing_flags)
        held = np.flatnonzero(fold_of == k)
        probs[held] = predict(model, dataset.features, [dataset.rows[index[i]] for i in held])
    return {"folds": folds, **binary_metrics(outcome, probs)}


@dataclass(frozen=True)
class Recipe:
    """How one model is trained; ``missing_flags`` is off where missingness gives the answer away."""

    loader: Callable[[Path], Dataset]
    target: str
    missing_flags: bool
    hidden: int = 16
    weight_decay: float = 1e-2


SETTINGS: dict[str, Recipe] = {
    # Missing cholesterol/ca/thal/slope mark the Swiss and VA sites (high prevalence): flags off.
    "heart-disease": Recipe(heart_dataset, "Heart disease (angiographic, >50% narrowing)", missing_flags=False),
    "diabetes-pima": Recipe(pima_dataset, "Diabetes (Pima, WHO criteria)", missing_flags=True),
    # Healthy rows are the complete ones in UCI CKD: flags off.
    "ckd": Recipe(ckd_dataset, "Chronic kidney disease", missing_flags=False),
}


def evaluate(name: str, model: TabularRiskNet, dataset: Dataset) -> dict:
    """Metrics on every split except train (CIs on the held-out ones)."""
    metrics = {}
    for split, index in dataset.splits.items():
        if split in ("train", "cleveland_all"):
            continue
        probs = predict(model, dataset.features, [dataset.rows[i] for i in index])
        metrics[split] = binary_metrics(dataset.outcome[index], probs, ci=split != "val")
    return metrics


def write_card(name: str, data: Path, out_root: Path) -> dict:
    """Rewrite one card for the weights already in ``out_root/name`` (no training): the metrics
    measured when they were trained are kept, everything else is rebuilt by :func:`build_card`."""
    recipe = SETTINGS[name]
    dataset = recipe.loader(data)
    out = out_root / name
    old = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    model = TabularRiskNet(**old["architecture"]["kwargs"])
    weights = (out / WEIGHTS).read_bytes()
    model.load_state_dict(torch.load(io.BytesIO(weights), weights_only=True))
    model.eval()
    write_bundle(out, build_card(name, recipe, dataset, model, old["metrics"]), {WEIGHTS: weights})
    return old["metrics"]


def train_one(name: str, data: Path, out_root: Path) -> dict:
    recipe = SETTINGS[name]
    dataset = recipe.loader(data)
    model = fit(dataset.features, dataset.rows, dataset.outcome, dataset.splits["train"], dataset.splits["val"],
                recipe.hidden, recipe.weight_decay, recipe.missing_flags)
    metrics = evaluate(name, model, dataset)
    metrics["temperature"] = round(float(model.temperature), 4)
    if name == "heart-disease":
        metrics["cleveland_303_cv10"] = cross_validate(dataset, dataset.splits["cleveland_all"], recipe)
    print(f"== {name}\n{json.dumps(metrics, indent=1)}")
    write_bundle(out_root / name, build_card(name, recipe, dataset, model, metrics), {WEIGHTS: torch_bytes(model.state_dict())})
    return metrics


# The least each model needs (see MinimumInputs in the card): inputs without which the held-out
# AUROC falls furthest, and a count no lower than the inputs a general record can supply.
MINIMUM_INPUTS: dict[str, tuple[list[str], int]] = {
    "heart-disease": (["age", "sex", "thalach"], 6),
    "diabetes-pima": (["glucose", "age", "bmi"], 4),
    "ckd": (["sg", "al", "sc", "hemo"], 8),
}

POPULATIONS: dict[str, dict] = {
    "heart-disease": {"description": "Adults referred for coronary angiography (Cleveland, Budapest, Zurich/Basel; 1980s)",
                      "sexes": ["female", "male"]},
    "diabetes-pima": {"description": "Women of Pima heritage (Arizona)", "sexes": ["female"]},
    "ckd": {"description": "Patients of one hospital in India (2015), sex not recorded", "sexes": None},
}


def validated_population(name: str, dataset: Dataset, metrics: dict) -> dict:
    """The population the model was fitted and tested on: its age range from the data, its held-out figures."""
    ages = [r["age"] for r in dataset.rows if r.get("age") is not None]
    test = metrics["test"]
    return {**POPULATIONS[name], "age_min_years": float(min(ages)), "age_max_years": float(max(ages)),
            "metrics": {"test": {"n": test["n"], "auroc": test["auroc"]}}}


def minimum_inputs(name: str, model: TabularRiskNet, dataset: Dataset) -> dict:
    """The declared minimum, with the held-out AUROC measured with only the inputs a record can supply
    and with each required one of them hidden."""
    required, min_known = MINIMUM_INPUTS[name]
    index = np.concatenate([dataset.splits["val"], dataset.splits["test"]])
    from_record = [s.name for s in dataset.features if s.source is not None]

    def auroc_with(names: list[str]) -> float:
        """The AUROC (medassist.training.metrics) with only ``names`` known, every other input missing."""
        rows = [{k: (v if k in names else None) for k, v in dataset.rows[i].items()} for i in index]
        return binary_metrics(dataset.outcome[index], predict(model, dataset.features, rows))["auroc"]

    hidden = ", ".join(f"without {n} {auroc_with([m for m in from_record if m != n]):.2f}" for n in required if n in from_record)
    basis = (f"Validation+test AUROC (n={len(index)}) with only the {len(from_record)} inputs a record can supply "
             f"({', '.join(from_record)}): {auroc_with(from_record):.2f}" + (f"; {hidden}" if hidden else "")
             + f"; all inputs {auroc_with([s.name for s in dataset.features]):.2f}.")
    return {"required": required, "min_known": min_known, "basis": basis}


LIMITATIONS = {
    "heart-disease": [
        "Trained on 1980s angiography referral populations (Cleveland, Budapest, Zurich/Basel); VA Long Beach (men, 75% diseased) is the external check and shows the shift.",
        "Several inputs (chest pain type, exercise test, fluoroscopy, thallium) are rarely in a general record; without them the model leans on age, sex, blood pressure and cholesterol and is much less accurate. Missing inputs are listed with every prediction.",
        "The outcome is >50% narrowing of a major vessel at angiography, not a heart attack risk over time.",
    ],
    "diabetes-pima": [
        "768 women aged 21+ of Pima heritage (Arizona); not validated in men or other populations, and refuses men and patients under 21.",
        "Glucose and insulin are 2-hour oral glucose tolerance test values, not random or fasting values; a random glucose is not used in their place.",
        "Skinfold thickness and insulin were missing for many participants; the model was trained with missing flags and predictions without them are less certain.",
    ],
    "ckd": [
        "400 patients from one Indian hospital (2015); the data set is nearly separable and its metrics are optimistic for any real population.",
        "Urine dipstick grades, microscopy and symptoms (appetite, pedal edema) are rarely coded in a record and usually appear as missing inputs.",
        "Diagnoses (hypertension, diabetes, CAD, anemia) are read from the record's active problem list: a diagnosis that is not coded is read as absent.",
        "Refuses to estimate without urine specific gravity, urine albumin, serum creatinine and hemoglobin: with those missing the network answers with its training cohort's baseline (62% CKD), e.g. P(CKD) 0.76 for a healthy synthetic 34-year-old without urinalysis.",
    ],
}


def build_card(name: str, recipe: Recipe, dataset: Dataset, model: TabularRiskNet, metrics: dict) -> dict:
    target = recipe.target
    n_columns = int(model.center.numel())
    counts = {split: {"n": int(len(index)), "n_positive": int(dataset.outcome[index].sum())} for split, index in dataset.splits.items()}
    return {
        "schema_version": "2",
        "name": name,
        "version": "1.0.0",
        "display_name": target,
        "task": "tabular-classification",
        "description": (
            f"Calibrated probability of {target.lower()} from {len(dataset.features)} inputs: a small PyTorch MLP "
            f"({recipe.hidden} hidden units{', with a missing flag per input' if recipe.missing_flags else ''}), "
            "temperature-scaled on a validation split. Inputs missing from the record are listed with each prediction."
        ),
        "weights": {"file": WEIGHTS, "format": "state_dict", "sha256": None},  # set by the bundle writer
        "architecture": {"name": "tabular-risk-mlp", "kwargs": {"n_columns": n_columns, "n_features": len(dataset.features), "hidden": recipe.hidden,
                                                                   "missing_flags": recipe.missing_flags}},
        "inputs": [
            {"name": s.name, "type": "tabular", "dtype": "float32", "description": s.description,
             "preprocessing": f"{s.kind}{' in ' + s.unit if s.unit else ''}; missing -> flag", **({"unit": s.unit} if s.unit else {})}
            for s in dataset.features
        ],
        "outputs": [{"name": name.replace("-", "_"), "type": "probabilities", "shape": [1], "value_range": [0.0, 1.0],
                     "description": "temperature-calibrated probability of the positive class"}],
        "labels": [name.replace("-", "_")],
        "thresholds": {name.replace("-", "_"): 0.5},
        "intended_use": f"Decision support: an estimate of {target.lower()} to weigh with the clinical picture, with the inputs that moved it. Not a diagnosis.",
        "limitations": LIMITATIONS[name],
        "training_data": {"dataset": dataset.description, "splits": counts, "seed": SEED},
        "metrics": metrics,
        "explanations": ["integrated_gradients"],
        "license": "Apache-2.0 (weights trained on CC BY 4.0 / CC0 data)",
        "training_script": "python -m medassist.training.tabular_models",
        "validated_populations": [validated_population(name, dataset, metrics)],
        "outside_population": "refuse",
        "minimum_inputs": minimum_inputs(name, model, dataset),
        "record": {
            "features": [asdict(s) for s in dataset.features],
            "positive_class": target,
            "missing_policy": (
                "Every missing input is listed in the prediction's missing_inputs and shown to the user; it enters the network "
                "at its training mean (neutral, zero attribution)"
                + (" together with a missing flag the network was trained with." if recipe.missing_flags else
                   ". No missing flags: in this data set missingness itself predicts the outcome, so flags would leak it.")
                + f" Training hid a random {DROP_RATE:.0%} of the known inputs each epoch."
            ),
        },
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "models")
    parser.add_argument("--only", choices=sorted(SETTINGS))
    parser.add_argument("--cards-only", action="store_true", help="rewrite the cards of the existing weights, no training")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    names = [args.only] if args.only else list(SETTINGS)
    step = write_card if args.cards_only else train_one
    return {name: step(name, args.data, args.out) for name in names}


if __name__ == "__main__":
    main()
