"""Task handlers turn an input (image, note, patient record) into a :class:`Prediction`.

A handler is chosen by the card's ``task``; handlers live in their own modules and are
imported on first use. Each method is a job generator (see :mod:`medassist.jobs`).
"""

from __future__ import annotations

import importlib
from typing import Protocol

from medassist.errors import ModelError
from medassist.inference.prediction import Explanation, Prediction
from medassist.inference.runtime import LoadedModel
from medassist.jobs import Job

TASK_MODULES: dict[str, str] = {
    "image-classification": "medassist.inference.image_task",
    "text-classification": "medassist.inference.text_task",
    "tabular-classification": "medassist.inference.tabular_task",
}

_HANDLERS: dict[str, "TaskHandler"] = {}


class TaskHandler(Protocol):
    def predict(self, loaded: LoadedModel, source: object) -> Job[Prediction]:
        """Run the model on ``source`` (the input types the task accepts)."""
        ...

    def explain(self, loaded: LoadedModel, source: object, method: str, target: str | None) -> Job[Explanation]:
        """Attribute output ``target`` (default: the top output) with ``method``."""
        ...


def register_task(task: str, handler: TaskHandler) -> None:
    _HANDLERS[task] = handler


def task_handler(task: str) -> TaskHandler:
    if task not in _HANDLERS and task in TASK_MODULES:
        importlib.import_module(TASK_MODULES[task])
    if task not in _HANDLERS:
        raise ModelError(f"MedAssist has no runner for task '{task}'")
    return _HANDLERS[task]
