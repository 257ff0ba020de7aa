"""The one entry point for running and explaining models, used by the CLI, the GUI and tests.

``medassist predict`` and the Diagnosis tab call the same :meth:`InferenceService.predict`
job; every prediction is written to the audit log. The desktop app reaches the same service in
a process of its own (:class:`medassist.inference.host.ModelHost`); both answer to
:class:`ModelService`, which is what the use cases take. Only the composition root
(:mod:`medassist.composition`) builds one, from the settings, with its runtime, audit log and task runners.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from medassist.audit import AuditLog
from medassist.domain.prediction import Explanation, Prediction
from medassist.domain.tasks import Method, Task
from medassist.errors import ModelError
from medassist.inference.registry import ModelRegistry
from medassist.inference.runtime import ModelRuntime
from medassist.inference.tasks import TaskRunners
from medassist.jobs import Job, Progress


class ModelService(Protocol):
    """Running and explaining the catalogue's models, in this process or in the model host."""

    @property
    def registry(self) -> ModelRegistry:
        """The catalogue the models are loaded from (cards and folders; no torch needed)."""

    def describe(self) -> str:
        """The device the models run on, in words."""

    def prepare(self, model: str) -> None:
        """Load and verify ``model`` now (raises :class:`ModelError` when it cannot be offered)."""

    def prepare_explanations(self) -> None:
        """Import the explanation libraries now rather than on the first Explain."""

    def predict(self, model: str, source: object, patient_id: str | None = None) -> Job[Prediction]:
        """A job: run ``model`` on ``source`` (audit-logged)."""

    def explain(self, model: str, source: object, method: str, target: str | None = None) -> Job[Explanation]:
        """A job: attribute ``target`` of ``model`` on ``source`` (audit-logged)."""

    def item_probabilities(self, model: str, features: np.ndarray) -> np.ndarray:
        """A recommender's per-item probabilities for one encoded patient."""


class InferenceService:
    def __init__(self, runtime: ModelRuntime, audit: AuditLog, runners: TaskRunners) -> None:
        self.runtime = runtime
        self.audit = audit
        self.runners = runners

    @property
    def registry(self) -> ModelRegistry:
        return self.runtime.registry

    def describe(self) -> str:
        return self.runtime.describe()

    def prepare(self, model: str) -> None:
        """Load ``model`` and import its task's runner: what a first prediction would otherwise wait for
        (a recommender has no runner: :meth:`item_probabilities` runs it)."""
        task = self.runtime.load(model).card.task
        if task != Task.RECOMMENDATION:
            self.runners.handler(task)

    def prepare_explanations(self) -> None:
        """captum (and the matplotlib it imports), ~1 s of import, paid before the user's first Explain."""
        import captum.attr  # noqa: F401

    def item_probabilities(self, model: str, features: np.ndarray) -> np.ndarray:
        loaded = self.runtime.load(model)
        if loaded.card.task != Task.RECOMMENDATION:
            raise ModelError(f"model '{loaded.card.name}' is a {loaded.card.task} model, not a recommender", loaded.folder)
        with loaded.lock, torch.no_grad():
            logits = loaded.module(torch.from_numpy(features).unsqueeze(0).to(loaded.device))
            return torch.sigmoid(logits)[0].cpu().numpy()

    def predict(self, model: str, source: object, patient_id: str | None = None) -> Job[Prediction]:
        yield Progress(0.0, f"Loading {model}")
        loaded = self.runtime.load(model)
        yield Progress(0.2, f"Running {loaded.card.title} on {loaded.device_description}")
        prediction = yield from self.runners.handler(loaded.card.task).predict(loaded, source)
        if prediction.refused:
            prediction.positive = []  # a refused input never yields a finding, whatever the handler computed
        if patient_id is not None:
            prediction.patient_id = patient_id
        if loaded.device_note:
            prediction.extra.setdefault("device_note", loaded.device_note)
        self.audit.record_prediction(prediction)
        yield Progress(1.0, f"{loaded.card.title} done")
        return prediction

    def explain(self, model: str, source: object, method: str, target: str | None = None) -> Job[Explanation]:
        """Attribute ``target`` of ``model`` on ``source``; ``method`` may be an alias (``ig``), resolved once here."""
        chosen = Method.parse(method)
        yield Progress(0.0, f"Loading {model}")
        loaded = self.runtime.load(model)
        explanation = yield from self.runners.explainer(loaded.card.task)(loaded, source, chosen, target)
        self.audit.append(
            "explanation",
            model=loaded.card.name,
            model_version=loaded.card.version,
            weights_sha256=loaded.sha256,
            method=chosen.value,
            target=explanation.target,
            faithfulness=explanation.faithfulness,
        )
        yield Progress(1.0, f"{chosen.display_name} done")
        return explanation
