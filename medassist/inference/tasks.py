"""Task handlers turn an input (image, note, patient record) into a :class:`Prediction`;
explainers attribute one of its outputs.

Both are chosen by the card's ``task``. Handlers live in this package, explainers in
:mod:`medassist.explain` (a layer above: it reads the handlers' gated forward passes); each
registers itself when its module is imported, on first use. Every call is a job generator
(see :mod:`medassist.jobs`).
"""

from __future__ import annotations

import importlib
from typing import Protocol

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
    if task not in _HANDLERS and task in TASK_MODULES:
        importlib.import_module(TASK_MODULES[Task(task)])
    if task not in _HANDLERS:
        raise ModelError(f"MedAssist has no runner for task '{task}'")
    return _HANDLERS[task]


def register_explainer(task: str, explainer: Explainer) -> None:
    _EXPLAINERS[task] = explainer


def task_explainer(task: str) -> Explainer:
    if task not in _EXPLAINERS and task in EXPLAINER_MODULES:
        importlib.import_module(EXPLAINER_MODULES[Task(task)])
    if task not in _EXPLAINERS:
        raise ModelError(f"MedAssist cannot explain models of task '{task}'")
    return _EXPLAINERS[task]
