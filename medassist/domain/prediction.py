"""What a model run produces, in one shape for every model: images, notes and record data.

The Diagnosis tab, the audit log, ``medassist predict --json`` and the PDF report all read
these objects, so a new model type only has to fill them in. They are stored and carried in one
way, :mod:`medassist.domain.codec` (session files, the worklist, ``--json``, the model host).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Iterable, Literal

import numpy as np

from medassist.domain.arrays import OutOfBand
from medassist.domain.clinical import FilmContext
from medassist.domain.figures import Figures, PopulationFigures
from medassist.domain.tasks import Task

if TYPE_CHECKING:
    from medassist.imaging.image import MedicalImage

ExplanationKind = Literal["image_map", "token_scores", "feature_scores"]


@dataclass
class GateVerdict:
    """Whether the input is something the model was made for (out-of-distribution gate)."""

    score: float
    threshold: float
    accepted: bool
    reason: str


@dataclass
class Explanation:
    """An attribution for one output.

    ``image_map``: ``values`` is an HxW array aligned with the displayed image (frame).
    ``token_scores``: ``values[i]`` scores ``labels[i]`` (a word/token of the note).
    ``feature_scores``: ``values[i]`` scores ``labels[i]`` (an input feature), ``inputs`` holds the values used.
    """

    method: str
    target: str
    kind: ExplanationKind
    values: Annotated[np.ndarray, OutOfBand()]  # carried beside the value's JSON (domain.arrays)
    labels: list[str] | None = None
    inputs: dict[str, Any] | None = None
    faithfulness: dict[str, float] | None = None
    elapsed_ms: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class PopulationNotice:
    """The patient is outside the populations the model was validated in (or their age is
    unknown): shown beside the probability, with the nearest validated population's figures."""

    message: str
    patient_age_years: float | None
    age_source: str
    population: str
    population_age_range: str
    metrics: PopulationFigures = field(default_factory=dict)  # the nearest validated population's

    def headline(self) -> str:
        """One line of figures for a card or report: AUROC, sensitivity, specificity of the first set with an AUROC."""
        for name, row in self.metrics.items():
            if isinstance(row, Figures) and row.auroc is not None:
                interval = f" [{row.auroc_ci95[0]:.2f}, {row.auroc_ci95[1]:.2f}]" if row.auroc_ci95 else ""
                sensitivity = "n/a" if row.sensitivity is None else f"{row.sensitivity:.2f}"
                specificity = "n/a" if row.specificity is None else f"{row.specificity:.2f}"
                return (f"{name.replace('_', ' ')}: AUROC {row.auroc:.2f}{interval}, sensitivity {sensitivity}, "
                        f"specificity {specificity} (n = {row.n})")
        return ""


@dataclass(frozen=True)
class ImageLink:
    """Which loaded image, and which of its frames, an image model ran on: the typed link the
    viewer, the Explanations tab and the report follow (``Prediction.source`` is only a label)."""

    path: str
    frame: int
    image_sha256: str  # the file's content hash; "" when the image had none

    def refers_to(self, image: "MedicalImage") -> bool:
        """True for the image this link names: same path, and same content when both hashes are known."""
        return self.path == str(image.path) and (not self.image_sha256 or not image.sha256
                                                 or self.image_sha256 == image.sha256)


@dataclass(frozen=True)
class SubtypeSplit:
    """How a finding splits into subtypes (bacterial vs viral of pneumonia), and whether the split
    may be shown for this patient: only inside the population it was validated in (the card's
    ``subtype_populations``). :func:`medassist.domain.findings.subtype_shares` decides what is shown."""

    finding: str  # the finding that is split ("pneumonia")
    shares: dict[str, float]  # subtype output -> its share of the finding (they sum to 1)
    applies: bool  # the patient's age at the study is inside the validated population
    age_years: float | None  # the age the decision used (None: not known)
    validated_min_years: float | None = None  # the validated population's age range; both None when the
    validated_max_years: float | None = None  # card names no population for this split
    validated: bool = True  # False when the card names no population: the split is never shown


@dataclass
class Prediction:
    """One model's output on one input, with everything needed to trace it."""

    model: str
    version: str
    weights_sha256: str
    task: Task
    device: str
    source: str
    input_sha256: str
    outputs: dict[str, float]
    thresholds: dict[str, float]
    positive: list[str]
    gate: GateVerdict | None = None
    missing_inputs: list[str] = field(default_factory=list)
    elapsed_ms: float = 0.0
    explanations: list[Explanation] = field(default_factory=list)
    patient_id: str | None = None
    population_notice: PopulationNotice | None = None
    image: ImageLink | None = None  # set by image models
    film: FilmContext | None = None  # whose film and from when, set when a film is analysed for a patient
    subtypes: list[SubtypeSplit] = field(default_factory=list)  # image models whose card splits a finding
    created: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def refused(self) -> bool:
        """True when the gate refused the input: no probability may be shown."""
        return self.gate is not None and not self.gate.accepted


def linked_image(prediction: Prediction, images: Iterable["MedicalImage"]) -> tuple["MedicalImage", int] | None:
    """The loaded image (and frame) ``prediction`` was made on. Results saved before the typed
    link existed match a single-frame image by content hash."""
    for image in images:
        if prediction.image is not None:
            if prediction.image.refers_to(image):
                return image, min(prediction.image.frame, max(image.n_frames - 1, 0))
        elif image.sha256 and image.n_frames == 1 and prediction.input_sha256 == image.sha256:
            return image, 0
    return None
