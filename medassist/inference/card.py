"""The model card (``models/<name>/metadata.json``), in the spirit of the MONAI bundle spec.

A model folder is offered to the user only if its card validates here and the weights'
SHA-256 matches the card. Task-specific sections (preprocessing details, gate settings,
feature lists, tokenizer settings) go under ``extra`` or as additional keys.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from medassist.bounded import MODEL_CARD, MODEL_FILE
from medassist.domain.tasks import Task
from medassist.errors import ModelError

if TYPE_CHECKING:
    from medassist.imaging.image import MedicalImage

CARD_FILE = "metadata.json"
# One spelling per figure, so what reads a card (the population notice, the model card dialog, the
# report) finds what the training script wrote: a 95% interval is "<figure>_ci95" beside its figure,
# AUROC is "auroc" and PR-AUC "prauc" (medassist.training.metrics writes them so).
_INTERVAL = re.compile(r"(?i)(^|_)(ci|ci95|95ci|95)(_|$)")
_AREA = re.compile(r"(?i)^(auc|roc|pr_auc|auprc)$|(^|_)(roc_?auc|auc_?roc)$")  # not a deletion curve's "deletion_auc"


def check_metric_keys(metrics: dict[str, Any], where: str = "metrics") -> None:
    """Raise ValueError at the first metric key spelled another way than the one way (at any depth)."""
    for key, value in metrics.items():
        name = str(key)
        if _INTERVAL.search(name) and not (name.endswith("_ci95") and name[:-len("_ci95")] in metrics):
            raise ValueError(f"{where}.{name}: a 95% interval is spelled '<figure>_ci95' beside its figure "
                             f"(e.g. 'auroc_ci95' beside 'auroc')")
        if _AREA.search(name):
            raise ValueError(f"{where}.{name}: the area under the ROC curve is spelled 'auroc' (PR-AUC: 'prauc')")
        if isinstance(value, dict):
            check_metric_keys(value, f"{where}.{name}")


class TensorSpec(BaseModel):
    """One input or output: its meaning, shape, dtype, value range and preprocessing."""

    model_config = ConfigDict(extra="allow")

    name: str
    type: str = Field(description="image | text | tabular | tokens | probabilities | logits | ...")
    shape: list[int | str] = Field(default_factory=list)
    dtype: str = "float32"
    value_range: list[float] | None = None
    preprocessing: str | None = None
    description: str | None = None


class WeightsSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str
    format: Literal["state_dict", "torchscript"]
    sha256: str

    @field_validator("sha256")
    @classmethod
    def _is_hex_digest(cls, value: str) -> str:
        value = value.lower()
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise ValueError("sha256 must be 64 hexadecimal characters")
        return value

    @field_validator("file")
    @classmethod
    def _inside_folder(cls, value: str) -> str:
        if Path(value).is_absolute() or ".." in Path(value).parts:
            raise ValueError("weights file must be a relative path inside the model folder")
        return value


class ArchitectureSpec(BaseModel):
    """For state_dict weights: a network class MedAssist ships, named in its architecture registry."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kwargs: dict[str, Any] = Field(default_factory=dict)


class Population(BaseModel):
    """A population a model was validated on, with the figures measured there.

    A patient outside every validated population gets a refusal (``outside_population="refuse"``,
    record models) or a visible notice beside the result (``"notice"``, images).
    """

    model_config = ConfigDict(extra="forbid")

    description: str
    age_min_years: float | None = None
    age_max_years: float | None = None
    sexes: list[Literal["female", "male"]] | None = Field(default=None, description="None: any sex")
    metrics: dict[str, Any] = Field(default_factory=dict, description="headline held-out figures in this population")

    @field_validator("metrics")
    @classmethod
    def _metric_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_metric_keys(value)
        return value

    def contains(self, age_years: float | None, sex: str | None) -> bool | None:
        """True/False when the patient is inside/outside; None when age or sex needed to decide is unknown."""
        if (self.age_min_years is not None or self.age_max_years is not None) and age_years is None:
            return None
        if self.sexes is not None and sex is None:
            return None
        if self.age_min_years is not None and age_years is not None and age_years < self.age_min_years:
            return False
        if self.age_max_years is not None and age_years is not None and age_years > self.age_max_years:
            return False
        if self.sexes is not None and sex is not None and sex.lower() not in self.sexes:
            return False
        return True


class MinimumInputs(BaseModel):
    """The least a record model needs to answer: these inputs, and at least ``min_known`` in all.

    Below it the network's answer is mostly its training cohort's baseline, so the model refuses
    and names what is missing (one rule for every record model, see ``tabular_task.record_gate``).
    """

    model_config = ConfigDict(extra="forbid")

    required: list[str] = Field(default_factory=list, description="feature names that must be known")
    min_known: int = Field(ge=1, description="known inputs needed, counting the required ones")
    basis: str = Field(description="the measurement the minimum rests on")


class ModelCard(BaseModel):
    model_config = ConfigDict(extra="allow", protected_namespaces=())

    schema_version: Literal["1"] = "1"
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    version: str
    display_name: str | None = None
    task: Task
    modality: str
    description: str
    weights: WeightsSpec
    architecture: ArchitectureSpec | None = None
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    labels: list[str]
    thresholds: dict[str, float] = Field(default_factory=dict)
    intended_use: str
    limitations: list[str]
    training_data: dict[str, Any]
    metrics: dict[str, Any]
    explanations: list[str] = Field(default_factory=list)
    license: str | None = None
    authors: list[str] = Field(default_factory=list)
    training_script: str | None = None
    validated_populations: list[Population] = Field(default_factory=list)
    outside_population: Literal["refuse", "notice"] = "notice"
    subtype_populations: dict[str, Population] = Field(
        default_factory=dict,
        description="finding -> the population its subtype split (extra.subtypes) was validated in; the split is "
                    "shown only for patients inside it, and never for a finding this does not name")
    minimum_inputs: MinimumInputs | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("metrics")
    @classmethod
    def _metric_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_metric_keys(value)
        return value

    @field_validator("limitations")
    @classmethod
    def _has_limitations(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("a model card must state at least one limitation")
        return value

    @property
    def title(self) -> str:
        return self.display_name or self.name


def read_card(folder: str | Path) -> ModelCard:
    """Parse and validate ``folder/metadata.json``; raise :class:`ModelError` naming the problem."""
    folder = Path(folder)
    path = folder / CARD_FILE
    if not path.is_file():
        raise ModelError(f"no {CARD_FILE} model card", folder)
    try:
        raw = json.loads(MODEL_CARD.read_bytes(path))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ModelError(f"model card is not readable JSON ({exc})", path) from exc
    if not isinstance(raw, dict):
        raise ModelError("model card must be a JSON object", path)
    try:
        card = ModelCard.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "card"
        raise ModelError(f"invalid model card: {where}: {first['msg']} ({exc.error_count()} problem(s))", path) from exc
    if card.task == Task.RECORD and (
            card.minimum_inputs is None or not card.validated_populations or card.outside_population != "refuse"):
        raise ModelError("a record model's card must declare minimum_inputs and validated_populations, "
                         "with outside_population 'refuse'", path)
    if card.weights.format == "state_dict" and card.architecture is None:
        raise ModelError("state_dict weights need an 'architecture' naming a MedAssist network", path)
    for name in named_files(raw):
        named = card_file(folder, name)
        if named.is_file():
            try:
                MODEL_FILE.check_size(named)  # weights and gates are hashed, then loaded whole
            except ModelError as exc:
                raise ModelError(f"{name}: {exc.reason}", folder) from exc
    return card


def named_files(value: Any) -> list[Any]:
    """Every value stored under a ``"file"`` key anywhere in a card (weights, input gate, ...)."""
    if isinstance(value, dict):
        found = [value["file"]] if "file" in value else []
        return found + [name for key, item in value.items() for name in named_files(item)]
    if isinstance(value, list):
        return [name for item in value for name in named_files(item)]
    return []


def card_file(folder: Path, name: Any) -> Path:
    """The path of a file a card names. It must stay inside the model folder once symlinks are
    resolved, so a card cannot make MedAssist read (or hash, or load) a file elsewhere."""
    if not isinstance(name, str) or not name:
        raise ModelError(f"model card names a file that is not a file name ({name!r})", folder)
    try:
        inside = (folder / name).resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError, ValueError) as exc:  # symlink loop, NUL byte
        raise ModelError(f"model card names a file that cannot be resolved ('{name}': {exc})", folder) from exc
    if not inside:
        raise ModelError(f"model card names a file outside its model folder ('{name}'): refused", folder)
    return folder / name


def card_modalities(card: ModelCard) -> set[str]:
    """DICOM modality codes named in the card's modality text (e.g. 'CR/DX frontal chest radiograph')."""
    return set(re.findall(r"\b[A-Z]{2}\b", card.modality))


def image_applies(card: ModelCard, image: "MedicalImage") -> bool:
    """Ordinary picture files always qualify (the gate decides); DICOM must carry a modality the card names."""
    if image.modality == "OT" or not image.is_dicom:
        return True
    return image.modality in card_modalities(card)
