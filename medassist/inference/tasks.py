"""Task handlers turn an input (image, note, patient record) into a :class:`Prediction`;
explainers attribute one of its outputs.

Both are chosen by the card's ``task``. Handlers live in this package, explainers in
:mod:`medassist.explain` (a layer above: it reads the handlers' gated forward passes); each
registers itself when its module is imported, on first use. Every call is a job generator
(see :mod:`medassist.jobs`).
"""

from __future__ import annotations

import importlib
from typing import Protocol, TypeVar

from medassist.errors import ModelError
from medassist.domain.prediction import Explanation, Prediction
from medassist.domain.tasks import Method, Task
from medassist.inference.runtime import LoadedModel
from medassist.jobs import Job

TASK_MODULES: dict[Task, str] = {
    Task.IMAGE: "medassist.inference.image_task",
    Task.TEXT: "medassist.inference.text_task",
    Task.RECORD: "medassist.inference.tabular_task",
}

EXPLAINER_MODULES: dict[Task, str] = {
    Task.IMAGE: "medassist.explain.image",
    Task.TEXT: "medassist.explain.text",
    Task.RECORD: "medassist.explain.tabular",
}

_Registered = TypeVar("_Registered")
_HANDLERS: dict[str, "TaskHandler"] = {}
_EXPLAINERS: dict[str, "Explainer"] = {}


class TaskHandler(Protocol):
    def predict(self, loaded: LoadedModel, source: object) -> Job[Prediction]:
        """Run the model on ``source`` (the input types the task accepts)."""
        ...


class Explainer(Protocol):
    def __call__(self, loaded: LoadedModel, source: object, method: Method, target: str | None, /) -> Job[Explanation]:
        """Attribute output ``target`` (default: the top output) of the model on ``source`` with ``method``."""
        ...


def register_task(task: str, handler: TaskHandler) -> None:
    _HANDLERS[task] = handler


def task_handler(task: str) -> TaskHandler:
    return _registered(_HANDLERS, TASK_MODULES, task, f"MedAssist has no runner for task '{task}'")


def register_explainer(task: str, explainer: Explainer) -> None:
    _EXPLAINERS[task] = explainer


def task_explainer(task: str) -> Explainer:
    return _registered(_EXPLAINERS, EXPLAINER_MODULES, task, f"MedAssist cannot explain models of task '{task}'")


def _registered(registry: dict[str, _Registered], modules: dict[Task, str], task: str, missing: str) -> _Registered:
    """What is registered for ``task``, importing the module that registers it on first use."""
    if task not in registry and task in modules:
        importlib.import_module(modules[Task(task)])
    if task not in registry:
        raise ModelError(missing)
    return registry[task]
