"""Predictions go through one service and land in the audit log, whole lines even under concurrency."""

from __future__ import annotations

import json
import threading

import pytest

from medassist.audit import AuditLog
from medassist.domain.prediction import Prediction
from medassist.domain.tasks import Task
from medassist.errors import ModelError
from medassist.inference.registry import ModelRegistry
from medassist.inference.runtime import ModelRuntime
from medassist.inference.service import InferenceService
from medassist.inference.tasks import TaskRunners
from medassist.jobs import CancelToken, Cancelled, Progress, run_job
from tests.inference.test_model_runtime import make_model


class DoublerTask:
    def predict(self, loaded, source):
        yield Progress(0.5, "running")
        import torch

        value = float(loaded.module(torch.tensor([float(source)]))[0])
        return Prediction(
            model=loaded.card.name, version=loaded.card.version, weights_sha256=loaded.sha256, task=Task.TEXT,
            device=loaded.device_description, source=f"value {source}", input_sha256="x" * 64,
            outputs={"y": value}, thresholds={"y": 1.0}, positive=["y"] if value >= 1 else [],
        )

    def explain(self, loaded, source, method, target):
        raise NotImplementedError


def service_on(folder, audit: AuditLog) -> InferenceService:
    """A service whose text task is the doubler's, for the test models in ``folder`` (their cards name a
    real task: every card's task is one of :class:`Task`'s)."""
    runners = TaskRunners()
    runners.add_handler(Task.TEXT, DoublerTask)
    runners.add_handler("refusing-task", RefusingTask)
    return InferenceService(ModelRuntime(ModelRegistry([folder]), "cpu", None), audit, runners)


def test_prediction_is_audited(tmp_path):
    make_model(tmp_path)
    audit = AuditLog(tmp_path / "audit.jsonl", "dr-test")
    service = service_on(tmp_path, audit)
    progress = []
    prediction = run_job(service.predict("doubler", 2.0, patient_id="p1"), progress.append)
    assert prediction.outputs == {"y": 4.0} and prediction.patient_id == "p1"
    assert progress[0].message.startswith("Loading") and progress[-1].fraction == 1.0
    [line] = audit.read()
    assert line["event"] == "prediction" and line["model"] == "doubler"
    assert line["weights_sha256"] == prediction.weights_sha256 and line["outputs"] == {"y": 4.0}
    assert line["user"] and line["app_user"] == "dr-test" and line["patient_id"] == "p1"


def test_cancel_stops_a_job_at_its_next_step(tmp_path):
    make_model(tmp_path)
    service = service_on(tmp_path, AuditLog(tmp_path / "a.jsonl", ""))
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_job(service.predict("doubler", 1.0), token=token)
    assert service.audit.read() == []


def test_concurrent_audit_lines_are_whole(tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl", "")
    payload = "x" * 5000

    def write(worker: int) -> None:
        for i in range(50):
            audit.append("test", worker=worker, i=i, payload=payload)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert len(lines) == 400
    assert {(r["worker"], r["i"]) for r in map(json.loads, lines)} == {(w, i) for w in range(8) for i in range(50)}


class RefusingTask(DoublerTask):
    def predict(self, loaded, source):
        prediction = yield from super().predict(loaded, source)
        from medassist.domain.prediction import GateVerdict

        prediction.gate = GateVerdict(score=9.0, threshold=1.0, accepted=False, reason="not what the model was made for")
        return prediction


def test_a_refused_input_never_yields_a_finding(tmp_path):
    make_model(tmp_path)
    service = service_on(tmp_path, AuditLog(tmp_path / "a.jsonl", ""))
    loaded = service.runtime.load("doubler")
    loaded.entry.card.task = "refusing-task"
    prediction = run_job(service.predict("doubler", 5.0))
    assert prediction.refused and prediction.positive == []
    [line] = service.audit.read()
    assert line["outputs"] == {} and line["positive"] == [] and line["gate"]["accepted"] is False


def test_a_task_without_a_runner_or_explainer_is_refused_with_its_name(tmp_path):
    make_model(tmp_path)
    service = service_on(tmp_path, AuditLog(tmp_path / "a.jsonl", ""))
    service.runtime.load("doubler").entry.card.task = "unknown-task"
    with pytest.raises(ModelError, match="no runner for task 'unknown-task'"):
        run_job(service.predict("doubler", 1.0))
    with pytest.raises(ModelError, match="cannot explain models of task 'test-task'"):
        TaskRunners().explainer("test-task")


def test_a_runner_is_made_once_on_its_first_use():
    made: list[str] = []
    runners = TaskRunners()
    runners.add_handler("test-task", lambda: made.append("doubler") or DoublerTask())
    assert made == []  # registering imports nothing
    first = runners.handler("test-task")
    assert runners.handler("test-task") is first and made == ["doubler"]
