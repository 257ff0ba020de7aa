"""The model card (``models/<name>/metadata.json``), in the spirit of the MONAI bundle spec.

A model folder is offered to the user only if its card validates here and the weights'
SHA-256 matches the card. Card format 2 is typed throughout: what MedAssist acts on has its own
section with its own fields, and a key spelled another way is refused rather than ignored:

- ``modality``: the DICOM modality codes an image model reads (``["CR", "DX", "OT"]``; ``"OT"`` also
  admits ordinary picture files, whose content the input gate judges); other models name none;
- ``image`` (image models): ``preprocessing`` (size, mean, std), ``classes``, ``outputs``,
  ``subtypes``, ``temperature`` and the input ``gate`` (its file, SHA-256 and threshold);
- ``record`` (record models): ``features`` (:class:`~medassist.domain.features.FeatureSpec`), the
  positive class in words and how missing inputs enter the network;
- ``text`` (note models): label names and the encoder; ``recommender``: its feature space;
- ``metrics``: figures under one spelling each (:func:`check_metric_keys`); a validated population's
  figures typed (:class:`~medassist.domain.figures.Figures`);
- ``training_data.frameworks``: the versions of the libraries the model was trained with (the bundle
  writer records them).

``extra`` holds only what MedAssist shows and never acts on (a reliability plot's file name). A card of
format 1 (preprocessing, gate and features under an untyped ``extra``, modality as free text) is read
through :func:`migrate_card_v1`, in memory, never rewritten; where format 1 let MedAssist guess (an image
model's input size and normalisation) the migration refuses with a message saying what to add. A card of
a newer format is refused with a message saying so. docs/model-cards.md describes the format.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from medassist.bounded import MODEL_CARD, MODEL_FILE
from medassist.domain.features import FeatureSpec
from medassist.domain.figures import PopulationFigures, typed_figures
from medassist.domain.tasks import Task
from medassist.errors import ModelError

if TYPE_CHECKING:
    from medassist.imaging.image import MedicalImage

CARD_FILE = "metadata.json"
SCHEMA_VERSION = "2"
# One spelling per figure, so what reads a card (the population notice, the model card dialog, the
# report) finds what the training script wrote: a 95% interval is "<figure>_ci95" beside its figure,
# AUROC is "auroc", PR-AUC "prauc", the positives among n "n_positive" (medassist.training.metrics
# writes them so).
_INTERVAL = re.compile(r"(?i)(^|_)(ci|ci95|95ci|95)(_|$)")
_AREA = re.compile(r"(?i)^(auc|roc|pr_auc|auprc)$|(^|_)(roc_?auc|auc_?roc)$")  # not a deletion curve's "deletion_auc"
_POSITIVES = re.compile(r"(?i)^(positives|n_pos|npos|num_positives?|n_positives|positive_count)$")
_PROPORTIONS = ("auroc", "prauc", "accuracy", "sensitivity", "specificity")


def check_metric_keys(metrics: dict[str, Any], where: str = "metrics") -> None:
    """Raise ValueError at the first metric key spelled another way than the one way (at any depth),
    or a known figure of the wrong kind (a proportion outside 0-1, an interval that is not a pair, a
    count that is not a whole number)."""
    for key, value in metrics.items():
        name = str(key)
        if _INTERVAL.search(name) and not (name.endswith("_ci95") and name[:-len("_ci95")] in metrics):
            raise ValueError(f"{where}.{name}: a 95% interval is spelled '<figure>_ci95' beside its figure "
                             f"(e.g. 'auroc_ci95' beside 'auroc')")
        if _AREA.search(name):
            raise ValueError(f"{where}.{name}: the area under the ROC curve is spelled 'auroc' (PR-AUC: 'prauc')")
        if _POSITIVES.match(name):
            raise ValueError(f"{where}.{name}: the positives among 'n' are spelled 'n_positive'")
        if name in _PROPORTIONS and value is not None and not (_is_number(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"{where}.{name}: must be a proportion between 0 and 1 (or null), not {value!r}")
        if name.endswith("_ci95") and not (isinstance(value, list) and len(value) == 2 and all(map(_is_number, value))):
            raise ValueError(f"{where}.{name}: a 95% interval is a pair of numbers [low, high]")
        if name in ("n", "n_positive") and not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            raise ValueError(f"{where}.{name}: must be a whole number of cases, not {value!r}")
        if isinstance(value, dict):
            check_metric_keys(value, f"{where}.{name}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Section(BaseModel):
    """A typed part of a card: a key spelled another way is refused, never ignored."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


def _sha256(value: str) -> str:
    value = value.lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ValueError("sha256 must be 64 hexadecimal characters")
    return value


Sha256Hex = Annotated[str, AfterValidator(_sha256)]  # a file's SHA-256, lower-cased hex


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
    sha256: Sha256Hex

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
    metrics: PopulationFigures = Field(default_factory=dict, description="headline held-out figures in this population: "
                                       "evaluation sets by name, or single figures")

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


class ImagePreprocessing(_Section):
    """How the training script turned the displayed film into the network's input, which the runner
    repeats exactly (:func:`medassist.inference.image_task.prepare_pixels`): grayscale, resized to
    ``size`` without keeping the aspect ratio, then ``(x/255 - mean) / std``."""

    size: tuple[int, int] = Field(description="[height, width] in pixels")
    mean: float
    std: float = Field(gt=0)
    keep_aspect_ratio: Literal[False] = False  # the one way MedAssist resizes

    @field_validator("size")
    @classmethod
    def _positive(cls, value: tuple[int, int]) -> tuple[int, int]:
        if min(value) < 1 or max(value) > 4096:
            raise ValueError("size must be two whole numbers of pixels between 1 and 4096")
        return value


class InputGate(_Section):
    """An out-of-distribution gate: a file of Gaussians (its SHA-256 checked before use) and the distance
    above which an input is refused."""

    file: str
    sha256: Sha256Hex
    threshold: float
    accepts: str = Field(description="what the gate accepts, in words ('frontal chest radiograph')")
    method: str = ""


class ImageSpec(_Section):
    """How an image model's network is run and read."""

    preprocessing: ImagePreprocessing
    classes: list[str] = Field(min_length=1, description="the network's softmax outputs, in order")
    outputs: dict[str, list[str]] = Field(description="output label -> the classes whose probabilities it sums")
    subtypes: dict[str, list[str]] = Field(default_factory=dict, description="finding -> the outputs that split it")
    temperature: float = Field(gt=0, description="divides the logits (1: not calibrated)")
    gate: InputGate | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "ImageSpec":
        for label, members in self.outputs.items():
            unknown = [c for c in members if c not in self.classes]
            if unknown or not members:
                raise ValueError(f"outputs.{label}: names classes the network does not have ({unknown or 'none'})")
        for parent, children in self.subtypes.items():
            unknown = [c for c in [parent, *children] if c not in self.outputs]
            if unknown:
                raise ValueError(f"subtypes.{parent}: names outputs the card does not define ({unknown})")
        return self


class RecordSpec(_Section):
    """How a record model reads a patient."""

    features: list[FeatureSpec] = Field(min_length=1)
    positive_class: str = Field(description="what the output's probability is of, in words")
    missing_policy: str = Field(default="", description="how a missing input enters the network (shown, not acted on)")


class EncoderSpec(_Section):
    """A note model's encoder, loaded from an installed package (never shipped in the folder)."""

    package: str
    version: str
    weights_file: str
    sha256: Sha256Hex
    note: str = ""


class TextSpec(_Section):
    """How a note model's outputs are named."""

    label_names: dict[str, str] = Field(default_factory=dict, description="output label -> clinical name")
    encoder: EncoderSpec | None = None


class RecommenderFeatures(_Section):
    """The recommender's input vector: known condition codes, age bands, sex; and the items it scores."""

    condition_codes: list[str]
    items: list[str] = Field(min_length=1)
    age_bands: list[float]


class RecommenderSpec(_Section):
    features: RecommenderFeatures
    knowledge_version: str = ""


class Frameworks(BaseModel):
    """The versions the model was trained with: Python and MedAssist always, then each library installed
    (``torch``, ``numpy``, ...), as the bundle writer records them."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, str] = Field(init=False)

    python: str
    medassist: str


class TrainingData(BaseModel):
    """Where the training data came from (free-form, shown on the model card) and the framework versions."""

    model_config = ConfigDict(extra="allow")

    frameworks: Frameworks | None = Field(default=None, description="None: the card predates recording them")


# each task's typed section, which its card must have (a text model's may be left out)
TASK_SECTIONS: dict[Task, str] = {Task.IMAGE: "image", Task.RECORD: "record", Task.TEXT: "text",
                                  Task.RECOMMENDATION: "recommender"}
_MODALITY = re.compile(r"^[A-Z0-9]{2,16}$")


class ModelCard(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    schema_version: Literal["2"]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    version: str
    display_name: str | None = None
    task: Task
    modality: list[str] = Field(default_factory=list, description="DICOM modality codes an image model reads; "
                                "'OT' also admits ordinary picture files (the input gate judges them)")
    description: str
    weights: WeightsSpec
    architecture: ArchitectureSpec | None = None
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    labels: list[str]
    thresholds: dict[str, float] = Field(default_factory=dict)
    intended_use: str
    limitations: list[str]
    training_data: TrainingData
    metrics: dict[str, Any]
    explanations: list[str] = Field(default_factory=list)
    license: str | None = None
    authors: list[str] = Field(default_factory=list)
    training_script: str | None = None
    validated_populations: list[Population] = Field(default_factory=list)
    outside_population: Literal["refuse", "notice"] = "notice"
    subtype_populations: dict[str, Population] = Field(
        default_factory=dict,
        description="finding -> the population its subtype split (image.subtypes) was validated in; the split is "
                    "shown only for patients inside it, and never for a finding this does not name")
    minimum_inputs: MinimumInputs | None = None
    image: ImageSpec | None = None
    record: RecordSpec | None = None
    text: TextSpec | None = None
    recommender: RecommenderSpec | None = None
    history: list[dict[str, Any]] = Field(default_factory=list, description="earlier versions' figures")
    extra: dict[str, Any] = Field(default_factory=dict, description="shown, never acted on")

    @model_validator(mode="before")
    @classmethod
    def _read_older_formats(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        version = str(data.get("schema_version", "1"))  # format 1 cards could leave it out
        if version == "1":
            return migrate_card_v1(data)
        if version.isdigit() and int(version) > int(SCHEMA_VERSION):
            raise ValueError(f"card format {version} is newer than this MedAssist reads (format {SCHEMA_VERSION}): "
                             "update MedAssist to use this model")
        return data

    @model_validator(mode="after")
    def _sections_match_the_task(self) -> "ModelCard":
        wanted = TASK_SECTIONS[self.task]
        for section in TASK_SECTIONS.values():
            if section != wanted and getattr(self, section) is not None:
                raise ValueError(f"a {self.task} model's card has no '{section}' section")
        if getattr(self, wanted) is None and self.task != Task.TEXT:
            raise ValueError(f"a {self.task} model's card needs its '{wanted}' section")
        if (self.task == Task.IMAGE) != bool(self.modality):
            raise ValueError("an image model names the DICOM modalities it reads (e.g. [\"CR\", \"DX\"]); "
                             "other models name none")
        bad = [code for code in self.modality if not _MODALITY.match(code)]
        if bad:
            raise ValueError(f"modality: {bad} are not DICOM modality codes (upper-case, e.g. 'CR', 'DX', 'OT')")
        return self

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

    @property
    def modality_text(self) -> str:
        """The modalities in words for the model card dialog and ``medassist models``."""
        return "/".join(self.modality) if self.modality else "-"


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


def image_applies(card: ModelCard, image: "MedicalImage") -> bool:
    """Whether the card names the image's DICOM modality; an ordinary picture file is "OT" whatever it
    shows (the input gate then judges its content)."""
    return (image.modality if image.is_dicom else "OT") in card.modality


# ---------------------------------------------------------------------------------------------
# format 1 -> format 2 (in memory; the file is never rewritten)

_V1_IMAGE = ("preprocessing", "classes", "outputs", "subtypes", "temperature", "gate")
_V1_RECORD = ("features", "positive_class", "missing_policy")
_V1_TEXT = ("label_names", "encoder")
_V1_RECOMMENDER = ("features", "knowledge_version")
_V2_FIELDS: set[str] = set()  # filled below, once ModelCard exists


def _renamed_positives(value: Any) -> Any:
    """Format 1 figures with ``positives`` for the positives among the cases: format 2 spells it ``n_positive``."""
    if isinstance(value, dict):
        return {("n_positive" if key == "positives" else key): _renamed_positives(item) for key, item in value.items()}
    return value


def migrate_card_v1(raw: dict[str, Any]) -> dict[str, Any]:
    """A format 1 card as format 2: what MedAssist read from ``extra`` moves to the task's typed section,
    modality codes are the upper-case two-letter words of the old text (the rule that read it) plus "OT"
    for an image model (format 1 read every ordinary picture), ``positives`` among ``n`` becomes
    ``n_positive``, a population's free-form figures keep those :class:`Figures` has, and keys format 2
    does not know move to ``extra`` (shown, never acted on). Where format 1 let MedAssist guess, the
    migration refuses: an image model without ``extra.preprocessing`` (its input size and normalisation)
    and a record model without ``extra.features``."""
    card = {key: value for key, value in raw.items() if key != "extra"}
    extra = dict(raw.get("extra") or {}) if isinstance(raw.get("extra"), dict) else {}
    task = card.get("task")
    text = card.get("modality")
    card["schema_version"] = SCHEMA_VERSION
    card["modality"] = []
    if task == Task.IMAGE:
        if "preprocessing" not in extra:
            raise ValueError("card format 1 without extra.preprocessing: MedAssist no longer guesses an image model's "
                             "input size and normalisation; give image.preprocessing {size, mean, std} in a format 2 "
                             "card (docs/model-cards.md)")
        codes = re.findall(r"\b[A-Z]{2}\b", text) if isinstance(text, str) else []
        card["modality"] = sorted(set(codes) | {"OT"})
        labels = card.get("labels") if isinstance(card.get("labels"), list) else []
        image = {key: extra.pop(key) for key in _V1_IMAGE if key in extra}
        # what format 1's reader assumed when these were left out, now written down: each label a class of
        # its own, its probability the class's, and no temperature scaling
        image.setdefault("classes", labels)
        classes = image["classes"] if isinstance(image["classes"], list) else []
        image.setdefault("outputs", {str(label): [label] for label in classes})
        image.setdefault("temperature", 1.0)
        card["image"] = image
    elif task == Task.RECORD:
        if "features" not in extra:
            raise ValueError("card format 1 without extra.features: a record model's card must list its inputs "
                             "(record.features in format 2, docs/model-cards.md)")
        labels = card.get("labels")
        first = str(labels[0]) if isinstance(labels, list) and labels else ""
        card["record"] = {key: extra.pop(key) for key in _V1_RECORD if key in extra}
        card["record"].setdefault("positive_class", first)  # format 1's reader showed the label itself
    elif task == Task.TEXT:
        section = {key: extra.pop(key) for key in _V1_TEXT if key in extra}
        if section:
            card["text"] = section
    elif task == Task.RECOMMENDATION:
        card["recommender"] = {key: extra.pop(key) for key in _V1_RECOMMENDER if key in extra}
    for key in list(card):
        if key not in _V2_FIELDS:
            extra[key] = card.pop(key)
    if "metrics" in card:
        card["metrics"] = _renamed_positives(card["metrics"])
    for population in (card.get("validated_populations") or []) + list((card.get("subtype_populations") or {}).values()):
        if isinstance(population, dict) and "metrics" in population:
            population["metrics"] = typed_figures(population["metrics"])
    card["extra"] = extra
    return card


_V2_FIELDS.update(ModelCard.model_fields)
