"""Runner for ``image-classification`` cards: preprocessing from the card, temperature
scaling, the out-of-distribution gate, and on-demand explanations.

The card's typed ``image`` section (:class:`~medassist.inference.card.ImageSpec`) says how to use the network:
- ``preprocessing``: ``size`` [H, W], ``mean``, ``std`` (grayscale, resized without keeping the
  aspect ratio, exactly as the training script did through :func:`prepare_pixels`);
- ``classes`` (softmax order) and ``outputs``: each output label's probability is the sum of the
  listed classes' probabilities; ``subtypes``: outputs that split a parent output (never findings
  of their own: the result carries each split with whether the patient's age at the study is
  inside the population the card's ``subtype_populations`` validates it in);
- ``temperature``: divides the logits (fitted on validation data);
- ``gate``: a Mahalanobis gate over the network's gate features (one Gaussian per training
  population, nearest one counts), with its own file whose SHA-256 is verified before it is used.
  Refused inputs get no probabilities.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from medassist.errors import InputError, ModelError
from medassist.hashing import sha256_bytes, sha256_file
from medassist.inference.card import ImageSpec, ModelCard, card_file, image_applies
from medassist.domain.inputs import ImageInput
from medassist.clinical.films import header_age_years
from medassist.inference.population import population_notice
from medassist.domain.prediction import GateVerdict, ImageLink, Prediction, SubtypeSplit
from medassist.domain.result_text import compared
from medassist.inference.runtime import LoadedModel
from medassist.jobs import Job, Progress


def prepare_pixels(gray01: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Grayscale [0, 1] image (as the viewer shows it) -> uint8 at ``size``, aspect ratio not kept.

    Training and inference both go through here, so a model sees at run time exactly the
    pixels it was trained on.
    """
    gray = np.array(gray01, dtype=np.float32)  # one copy, then in place (see MedicalImage.display_frame)
    if gray.ndim != 2:
        raise ValueError(f"expected a 2-D grayscale image, got shape {gray.shape}")
    np.nan_to_num(gray, copy=False)
    np.clip(gray, 0.0, 1.0, out=gray)
    gray *= 255.0
    gray += 0.5
    as_bytes = gray.astype(np.uint8)
    resized = Image.fromarray(as_bytes, mode="L").resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.uint8)


def gate_distance(mean: torch.Tensor, precision: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """Mahalanobis distance of each feature row to the nearest of the gate's Gaussians
    (``mean`` (K, D) or (D,), ``precision`` (K, D, D) or (D, D)). The training script measures
    the gate with this same function."""
    dim = features.shape[1]
    centred = features[:, None, :] - mean.reshape(1, -1, dim)
    squared = torch.einsum("nkd,kde,nke->nk", centred, precision.reshape(-1, dim, dim), centred)
    return torch.sqrt(torch.clamp(squared, min=0.0)).min(1).values


@dataclass
class ImageGate:
    """Mahalanobis distance of the gate features (film layout, pooled stage statistics) to the
    nearest of the training radiographs' populations (children, adults)."""

    mean: torch.Tensor
    precision: torch.Tensor
    threshold: float
    description: str

    def score(self, features: torch.Tensor) -> torch.Tensor:
        return gate_distance(self.mean, self.precision, features)

    def verdict(self, score: float) -> GateVerdict:
        accepted = bool(score <= self.threshold)
        distance = compared("distance from the training images", score, self.threshold)
        if accepted:
            reason = f"looks like a {self.description} ({distance})"
        else:
            reason = f"does not look like a {self.description} ({distance}); the model shows no findings for it"
        return GateVerdict(score=float(score), threshold=float(self.threshold), accepted=accepted, reason=reason)


def image_spec(card: ModelCard) -> ImageSpec:
    """The card's ``image`` section (the validator requires it of an image model's card)."""
    if card.image is None:
        raise ModelError(f"model '{card.name}' has no 'image' section in its card")
    return card.image


def load_gate(folder: Path, card: ModelCard) -> ImageGate | None:
    """The card's gate, after checking its file against the SHA-256 in the card."""
    spec = image_spec(card).gate
    if spec is None:
        return None
    path = card_file(folder, spec.file)
    if not path.is_file():
        raise ModelError(f"input gate file '{spec.file}' is missing", folder)
    actual = sha256_file(path)
    if actual != spec.sha256:
        raise ModelError(f"input gate SHA-256 mismatch (card {spec.sha256[:12]}..., file {actual[:12]}...): refused", path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    return ImageGate(mean=state["mean"].float(), precision=state["precision"].float(), threshold=spec.threshold,
                     description=spec.accepts)


@dataclass
class ImageModelSpec:
    """What the handler needs from one card, parsed once per loaded model."""

    size: tuple[int, int]
    mean: float
    std: float
    classes: list[str]
    outputs: dict[str, list[str]]
    subtypes: dict[str, list[str]]
    temperature: float
    gate: ImageGate | None

    @classmethod
    def from_loaded(cls, loaded: LoadedModel) -> "ImageModelSpec":
        spec = image_spec(loaded.card)
        prep = spec.preprocessing
        return cls(size=prep.size, mean=prep.mean, std=prep.std, classes=list(spec.classes),
                   outputs={k: list(v) for k, v in spec.outputs.items()},
                   subtypes={k: list(v) for k, v in spec.subtypes.items()}, temperature=spec.temperature,
                   gate=load_gate(loaded.folder, loaded.card))

    def tensor(self, pixels: np.ndarray) -> torch.Tensor:
        """uint8 pixels at the model size -> normalised (1, 1, H, W) float tensor."""
        x = torch.from_numpy(pixels.astype(np.float32) / 255.0)
        return ((x - self.mean) / self.std)[None, None]

    def output_probabilities(self, logits: torch.Tensor) -> dict[str, float]:
        probs = torch.softmax(logits / self.temperature, dim=-1).reshape(-1).tolist()
        by_class = dict(zip(self.classes, probs, strict=True))
        return {label: float(sum(by_class[c] for c in members)) for label, members in self.outputs.items()}

    @staticmethod
    def positives(outputs: dict[str, float], thresholds: dict[str, float]) -> list[str]:
        """Outputs at or above their operating threshold (a subtype has none, so it is never one)."""
        return [label for label, t in thresholds.items() if outputs.get(label, 0.0) >= t]

    def splits(self, card: ModelCard, outputs: dict[str, float], age: float | None) -> list[SubtypeSplit]:
        """Each finding's subtype shares, with whether the split was validated in people of this age."""
        found = []
        for parent, children in self.subtypes.items():
            total = outputs.get(parent, 0.0)
            if total <= 0 or not children:
                continue
            population = card.subtype_populations.get(parent)
            inside = population is not None and age is not None and population.contains(age, None) is True
            found.append(SubtypeSplit(
                finding=parent, shares={c: outputs.get(c, 0.0) / total for c in children}, applies=inside,
                age_years=None if age is None else round(age, 2),
                validated_min_years=population.age_min_years if population else None,
                validated_max_years=population.age_max_years if population else None,
                validated=population is not None))
        return found


_SPECS: dict[tuple[str, str], ImageModelSpec] = {}
_SPECS_LOCK = threading.Lock()


def model_spec(loaded: LoadedModel) -> ImageModelSpec:
    key = (str(loaded.folder), loaded.sha256)
    with _SPECS_LOCK:
        spec = _SPECS.get(key)
        if spec is None:
            spec = _SPECS[key] = ImageModelSpec.from_loaded(loaded)
        return spec


def patient_age(source: ImageInput) -> tuple[float | None, str]:
    """Age at the film (DICOM PatientAge, else birth date vs study date), else the record's age."""
    age = header_age_years(source.image.metadata)
    if age is not None:
        return age, "DICOM"
    if source.patient_age_years is not None:
        return source.patient_age_years, "patient record"
    return None, "unknown"


def image_of(source: object) -> ImageInput:
    if not isinstance(source, ImageInput):
        raise InputError(f"an image model needs an image, not {type(source).__name__}")
    image = source.image
    if not 0 <= source.frame < image.n_frames:
        raise InputError(f"frame {source.frame} does not exist ({image.n_frames} frames)", image.path)
    return source


def input_digest(source: ImageInput) -> str:
    image = source.image
    if image.sha256 and image.n_frames == 1:
        return image.sha256
    return sha256_bytes(np.ascontiguousarray(image.frames[source.frame]).tobytes())


def source_name(source: ImageInput) -> str:
    name = str(source.image.path)
    return f"{name}#frame{source.frame}" if source.image.n_frames > 1 else name


@dataclass
class Forward:
    """One gated forward pass: the gate's verdict and, if accepted, the probabilities."""

    pixels: np.ndarray
    gate: GateVerdict | None
    outputs: dict[str, float]


def run_forward(loaded: LoadedModel, spec: ImageModelSpec, source: ImageInput) -> Forward:
    pixels = prepare_pixels(source.image.model_input(source.frame), spec.size)
    x = spec.tensor(pixels).to(loaded.device)
    module = loaded.module
    with loaded.lock, torch.inference_mode():
        with_features = getattr(module, "forward_with_features", None)
        if spec.gate is not None and with_features is not None:
            logits, features = with_features(x)
            score = float(spec.gate.score(torch.cat(features, 1).float().cpu())[0])
            verdict: GateVerdict | None = spec.gate.verdict(score)
            if not image_applies(loaded.card, source.image):
                verdict = GateVerdict(score, spec.gate.threshold, False,
                                      f"DICOM modality {source.image.modality} is not one this model reads "
                                      f"({loaded.card.modality_text}); no findings are shown")
        else:
            logits, verdict = module(x), None
    outputs = {} if verdict is not None and not verdict.accepted else spec.output_probabilities(logits.cpu())
    return Forward(pixels=pixels, gate=verdict, outputs=outputs)


_FORWARDS: "OrderedDict[tuple, Forward]" = OrderedDict()
_FORWARDS_LOCK = threading.Lock()
FORWARD_CACHE_SIZE = 64


def remember_forward(loaded: LoadedModel, source: ImageInput, forward: Forward) -> None:
    key = (loaded.sha256, input_digest(source), source.frame)
    with _FORWARDS_LOCK:
        _FORWARDS[key] = forward
        _FORWARDS.move_to_end(key)
        while len(_FORWARDS) > FORWARD_CACHE_SIZE:
            _FORWARDS.popitem(last=False)


def gated_forward(loaded: LoadedModel, spec: ImageModelSpec, source: ImageInput) -> Forward:
    """The forward pass of the last prediction on this input, or a fresh one (explanations use it:
    the gate verdict and default target come for free after a prediction)."""
    key = (loaded.sha256, input_digest(source), source.frame)
    with _FORWARDS_LOCK:
        cached = _FORWARDS.get(key)
    if cached is not None:
        return cached
    forward = run_forward(loaded, spec, source)
    remember_forward(loaded, source, forward)
    return forward


class ImageClassificationHandler:
    """The ``image-classification`` task: gated prediction and image explanations."""

    def predict(self, loaded: LoadedModel, source: object) -> Job[Prediction]:
        src = image_of(source)
        start = time.perf_counter()
        spec = model_spec(loaded)
        yield Progress(0.3, "Checking the image is a chest radiograph")
        result = run_forward(loaded, spec, src)
        remember_forward(loaded, src, result)
        card = loaded.card
        refused = result.gate is not None and not result.gate.accepted
        extra: dict[str, Any] = {"frame": src.frame, "input_size": list(spec.size), "temperature": spec.temperature}
        age, age_source = patient_age(src)
        prediction = Prediction(
            model=card.name,
            version=card.version,
            weights_sha256=loaded.sha256,
            task=card.task,
            device=loaded.device_description,
            source=source_name(src),
            input_sha256=input_digest(src),
            outputs=result.outputs,
            thresholds=dict(card.thresholds),
            positive=[] if refused else spec.positives(result.outputs, card.thresholds),
            gate=result.gate,
            elapsed_ms=(time.perf_counter() - start) * 1000.0,
            population_notice=None if refused else population_notice(card, age, age_source),
            image=ImageLink(str(src.image.path), src.frame, src.image.sha256),
            subtypes=[] if refused else spec.splits(card, result.outputs, age),
            extra=extra,
        )
        yield Progress(0.9, "Gate refused the image" if refused else "Findings ready")
        return prediction
