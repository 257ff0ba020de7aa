"""Runs the structured-data risk models on a patient's record or on typed-in feature values.

Accepted inputs: :class:`RecordInput` (features found by code in the record, see
:mod:`medassist.records.features`) or a plain ``dict`` of feature name -> value (the CLI's
``--features`` and tests). Every input the model needs but did not get is named in
``Prediction.missing_inputs``. One rule for every record model (:func:`record_gate`): it answers
only for a patient inside one of the card's ``validated_populations`` and with the card's
``minimum_inputs`` known; otherwise it refuses and says what is missing or why the patient is
outside, instead of showing a number built mostly on averages.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import torch

from medassist.errors import InputError, ModelError
from medassist.inference.card import ModelCard, RecordSpec
from medassist.hashing import sha256_bytes
from medassist.domain.inputs import RecordInput
from medassist.domain.prediction import GateVerdict, Prediction
from medassist.inference.runtime import LoadedModel
from medassist.jobs import Job, Progress
from medassist.domain.features import FeatureSpec
from medassist.models.tabular import TabularRiskNet, encode_rows, is_missing
from medassist.domain.result_text import age_text, clinical_label, compared
from medassist.records.features import features_from_record
from medassist.records.summary import age_years

_YES = {"yes": 1.0, "true": 1.0, "y": 1.0, "1": 1.0, "no": 0.0, "false": 0.0, "n": 0.0, "0": 0.0}


def record_spec(card: ModelCard) -> RecordSpec:
    """The card's ``record`` section (the validator requires it of a record model's card)."""
    if card.record is None:
        raise ModelError(f"model '{card.name}' has no 'record' section in its card")
    return card.record


def feature_specs(loaded: LoadedModel) -> list[FeatureSpec]:
    return list(record_spec(loaded.card).features)


def shown_value(spec: FeatureSpec, value: float | None) -> str:
    """An input as the report and the feature view print it ("missing" when it is)."""
    return "missing" if value is None else spec.describe_value(value)


def missing_label(spec: FeatureSpec) -> str:
    """How a missing input is named to the user: its clinical description."""
    return spec.description


def _sex_word(value: object) -> str | None:
    word = str(value).strip().lower() if value is not None else ""
    return {"m": "male", "male": "male", "f": "female", "female": "female", "1": "male", "1.0": "male",
            "0": "female", "0.0": "female"}.get(word)


def _typed_value(spec: FeatureSpec, value: Any, source: str) -> float | None:
    """One typed-in value checked against the card; a value that cannot be read is an InputError."""
    if is_missing(value) or (isinstance(value, str) and not value.strip()):
        return None
    if spec.kind == "categorical" and isinstance(value, str) and value.strip().lower() in [n.lower() for n in spec.category_names]:
        return float(spec.categories[[n.lower() for n in spec.category_names].index(value.strip().lower())])
    if spec.kind == "binary" and isinstance(value, (str, bool)):
        key = str(value).strip().lower()
        if key not in _YES:
            raise InputError(f"{spec.name} ({spec.description}) must be yes/no, got {value!r}", source)
        return _YES[key]
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{spec.name} ({spec.description}) must be a number, got {value!r}", source) from exc
    if spec.kind == "categorical" and number not in [float(c) for c in spec.categories]:
        options = ", ".join(f"{c:g}={n}" for c, n in zip(spec.categories, spec.category_names, strict=True))
        raise InputError(f"{spec.name} ({spec.description}) must be one of {options}, got {value!r}", source)
    if spec.kind == "binary" and number not in (0.0, 1.0):
        raise InputError(f"{spec.name} ({spec.description}) must be 0 or 1, got {value!r}", source)
    if spec.valid_range is not None and not spec.valid_range[0] <= number <= spec.valid_range[1]:
        low, high = spec.valid_range
        raise InputError(f"{spec.name} ({spec.description}) = {number:g} {spec.unit} is outside the plausible range {low:g}-{high:g}", source)
    return number


def gather_features(loaded: LoadedModel, source: object) -> tuple[dict[str, float | None], dict[str, Any]]:
    """Feature values for the model and a description of where they came from."""
    specs = feature_specs(loaded)
    if isinstance(source, RecordInput):
        if not source.records.has_patient(source.patient_id):
            raise InputError(f"no patient with ID {source.patient_id} in the loaded records", "records")
        found = features_from_record(source.records, source.patient_id, specs)
        sex = source.records.patient_row(source.patient_id)["sex"]
        origin = {
            "source": f"record of patient {source.patient_id}",
            "patient_id": source.patient_id,
            "provenance": found.provenance,
            "record_problems": found.problems,
            "age_years": age_years(source.records, source.patient_id),
            "sex": _sex_word(sex) if isinstance(sex, str) else None,
        }
        return found.values, origin
    if isinstance(source, dict):
        known = {s.name for s in specs}
        # "sex" may be typed in for a model without a sex input: it decides the population only.
        unknown = sorted(set(source) - known - {"sex"})
        if unknown:
            raise InputError(f"unknown input(s) {', '.join(unknown)} for {loaded.card.name}; it reads: {', '.join(s.name for s in specs)}", "features")
        values = {s.name: _typed_value(s, source.get(s.name), "features") for s in specs}
        if "sex" in source and "sex" not in known and _sex_word(source["sex"]) is None:
            raise InputError(f"sex must be female or male, got {source['sex']!r}", "features")
        sex = values.get("sex") if "sex" in known else source.get("sex")
        return values, {"source": "typed-in values", "provenance": {k: "entered" for k, v in values.items() if v is not None},
                        "age_years": values.get("age"), "sex": None if sex is None else _sex_word(sex)}
    raise InputError(f"{loaded.card.name} reads a patient's record or feature values, not {type(source).__name__}")


def encode_features(loaded: LoadedModel, values: dict[str, float | None]) -> tuple[list[FeatureSpec], np.ndarray, np.ndarray]:
    specs = feature_specs(loaded)
    columns, missing = encode_rows(specs, [values], fill=loaded.network(TabularRiskNet).center.detach().cpu().numpy())
    return specs, columns[0], missing[0]


def _population_words(card: ModelCard) -> str:
    parts = []
    for population in card.validated_populations:
        ages = ""
        if population.age_min_years is not None and population.age_max_years is not None:
            ages = f", aged {population.age_min_years:g}-{population.age_max_years:g} years"
        elif population.age_min_years is not None:
            ages = f", aged {population.age_min_years:g} years or more"
        parts.append(f"{population.description}{ages}")
    return "; ".join(parts)


def record_gate(card: ModelCard, specs: list[FeatureSpec], missing: np.ndarray, age: float | None, sex: str | None) -> GateVerdict:
    """The one rule every record model answers by: patient inside a validated population, the card's
    required inputs known, and at most ``len(specs) - min_known`` inputs missing (inside when at or
    below the limit, like every gate). The reason names what is missing or why the patient is outside."""
    rule = card.minimum_inputs
    assert rule is not None, "read_card guarantees minimum_inputs for record models"
    missing_count = int(missing.sum())
    allowed = len(specs) - rule.min_known
    missing_required = [missing_label(s) for s, flag in zip(specs, missing, strict=True) if flag and s.name in rule.required]
    inside = [p.contains(age, sex) for p in card.validated_populations]
    count = compared("inputs missing", missing_count, allowed)
    if not any(inside):
        if None in inside:
            unknown = " and ".join(w for w, v in (("age", age), ("sex", sex)) if v is None)
            why = f"the patient's {unknown} is not known"
        else:
            who = ", ".join(w for w in (sex, age_text(age) if age is not None else None) if w)
            why = f"this patient ({who}) is outside the population it was validated in"
        reason = f"{why}; validated in: {_population_words(card)}"
        return GateVerdict(score=float(missing_count), threshold=float(allowed), accepted=False, reason=reason)
    if missing_required:
        reason = (f"missing {', '.join(missing_required)}, which it always needs: without "
                  f"{'them' if len(missing_required) > 1 else 'it'} its answer is mostly its training cohort's baseline")
        return GateVerdict(score=float(missing_count), threshold=float(allowed), accepted=False, reason=reason)
    if missing_count > allowed:
        reason = f"{count}: {rule.min_known} of {len(specs)} inputs are needed, {len(specs) - missing_count} are known"
        return GateVerdict(score=float(missing_count), threshold=float(allowed), accepted=False, reason=reason)
    return GateVerdict(score=float(missing_count), threshold=float(allowed), accepted=True,
                       reason=f"{count}; patient within {_population_words(card)}")


class TabularTask:
    def predict(self, loaded: LoadedModel, source: object) -> Job[Prediction]:
        started = time.perf_counter()
        yield Progress(0.3, "Reading the inputs")
        values, origin = gather_features(loaded, source)
        specs, columns, missing = encode_features(loaded, values)
        label = loaded.card.labels[0]
        with loaded.lock, torch.no_grad():
            probability = float(loaded.network(TabularRiskNet).probability(torch.from_numpy(columns)[None].to(loaded.device),
                                                          torch.from_numpy(missing)[None].to(loaded.device)))
        missing_inputs = [missing_label(s) for s, flag in zip(specs, missing, strict=True) if flag]
        gate = record_gate(loaded.card, specs, missing, origin.get("age_years"), origin.get("sex"))
        threshold = float(loaded.card.thresholds.get(label, 0.5))
        inputs = {s.name: values[s.name] for s in specs}
        prediction = Prediction(
            model=loaded.card.name,
            version=loaded.card.version,
            weights_sha256=loaded.sha256,
            task=loaded.card.task,
            device=loaded.device_description,
            source=origin["source"],
            input_sha256=sha256_bytes(json.dumps(inputs, sort_keys=True).encode("utf-8")),
            outputs={label: probability},
            thresholds={label: threshold},
            positive=[label] if probability >= threshold else [],
            gate=gate,
            missing_inputs=missing_inputs,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            patient_id=origin.get("patient_id"),
            extra={
                "inputs": inputs,
                "inputs_shown": {s.name: shown_value(s, values[s.name]) for s in specs},
                "provenance": origin["provenance"],
                "record_problems": origin.get("record_problems", []),
                "positive_class": record_spec(loaded.card).positive_class,
                "output_names": {label: record_spec(loaded.card).positive_class or clinical_label(label)},
            },
        )
        yield Progress(1.0, "done")
        return prediction
