"""Task handlers turn an input (image, note, patient record) into a :class:`Prediction`;
explainers attribute one of its outputs.

Both are chosen by the card's ``task`` from a :class:`TaskRunners` the model service is given.
The composition root (:mod:`medassist.composition`) fills it: handlers live in this package,
explainers in :mod:`medassist.explain` (a layer above: they read the handlers' gated forward
passes), so only the root, which sits above both, may name them. Each is registered as a loader
that imports its module on first use: a task's libraries load only when one of its models runs.
Every call is a job generator (see :mod:`medassist.jobs`).
"""

from __future__ import annotations

import threading
from typing import Callable, Generic, Protocol, TypeVar

from medassist.domain.prediction import Explanation, Prediction
from medassist.domain.tasks import Method
from medassist.errors import ModelError
from medassist.inference.runtime import LoadedModel
from medassist.jobs import Job


class TaskHandler(Protocol):
    def predict(self, loaded: LoadedModel, source: object) -> Job[Prediction]:
        """Run the model on ``source`` (the input types the task accepts)."""
        ...


class Explainer(Protocol):
    def __call__(self, loaded: LoadedModel, source: object, method: Method, target: str | None, /) -> Job[Explanation]:
        """Attribute output ``target`` (default: the top output) of the model on ``source`` with ``method``."""
        ...


_Runner = TypeVar("_Runner")


class _Loaded(Generic[_Runner]):
    """Runners by task, each made by its loader on first use. A loader imports outside the lock, so
    one task's slow import never holds up another's runs; two first calls at once keep the first runner."""

    def __init__(self, missing: str) -> None:
        self._missing = missing
        self._loaders: dict[str, Callable[[], _Runner]] = {}
        self._runners: dict[str, _Runner] = {}
        self._lock = threading.Lock()

    def add(self, task: str, loader: Callable[[], _Runner]) -> None:
        with self._lock:
            self._loaders[task] = loader
            self._runners.pop(task, None)

    def get(self, task: str) -> _Runner:
        with self._lock:
            runner, loader = self._runners.get(task), self._loaders.get(task)
        if runner is not None:
            return runner
        if loader is None:
            raise ModelError(self._missing.format(task=task))
        made = loader()
        with self._lock:
            return self._runners.setdefault(task, made)


class TaskRunners:
    """Which handler runs, and which explainer explains, each task's models."""

    def __init__(self) -> None:
        self._handlers: _Loaded[TaskHandler] = _Loaded("MedAssist has no runner for task '{task}'")
        self._explainers: _Loaded[Explainer] = _Loaded("MedAssist cannot explain models of task '{task}'")

    def add_handler(self, task: str, loader: Callable[[], TaskHandler]) -> None:
        self._handlers.add(task, loader)

    def add_explainer(self, task: str, loader: Callable[[], Explainer]) -> None:
        self._explainers.add(task, loader)

    def handler(self, task: str) -> TaskHandler:
        return self._handlers.get(task)

    def explainer(self, task: str) -> Explainer:
        return self._explainers.get(task)
