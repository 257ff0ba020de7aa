"""The one entry point for running and explaining models, used by the CLI, the GUI and tests.

``medassist predict`` and the Diagnosis tab call the same :meth:`InferenceService.predict`
job; every prediction is written to the audit log.
"""

from __future__ import annotations

from medassist.audit import AuditLog
from medassist.domain.prediction import Explanation, Prediction
from medassist.domain.tasks import Method
from medassist.inference.runtime import ModelRuntime
from medassist.inference.tasks import task_explainer, task_handler
from medassist.jobs import Job, Progress


class InferenceService:
    def __init__(self, runtime: ModelRuntime | None = None, audit: AuditLog | None = None) -> None:
        self.runtime = runtime or ModelRuntime()
        self.audit = audit or AuditLog()

    def prepare(self, model: str) -> None:
        """Load ``model`` and import its task's runner: what a first prediction would otherwise wait for."""
        task_handler(self.runtime.load(model).card.task)

    def predict(self, model: str, source: object, patient_id: str | None = None) -> Job[Prediction]:
        yield Progress(0.0, f"Loading {model}")
        loaded = self.runtime.load(model)
        yield Progress(0.2, f"Running {loaded.card.title} on {loaded.device_description}")
        prediction = yield from task_handler(loaded.card.task).predict(loaded, source)
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
        explanation = yield from task_explainer(loaded.card.task)(loaded, source, chosen, target)
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
