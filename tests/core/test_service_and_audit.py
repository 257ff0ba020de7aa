"""Predictions go through one service and land in the audit log, whole lines even under concurrency."""

from __future__ import annotations

import json
import threading

import pytest

from medassist.audit import AuditLog
from medassist.domain.prediction import Prediction
from medassist.domain.tasks import Task
from medassist.inference import tasks
from medassist.inference.registry import ModelRegistry
from medassist.inference.runtime import ModelRuntime
from medassist.inference.service import InferenceService
from medassist.jobs import CancelToken, Cancelled, Progress, run_job
from tests.core.test_model_runtime import make_model


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


@pytest.fixture(autouse=True)
def doubler_task(monkeypatch):
    """The doubler's card names a real task (every task is one of Task's); its runner is this test's,
    for the test only."""
    monkeypatch.setitem(tasks._HANDLERS, Task.TEXT, DoublerTask())


def test_prediction_is_audited(tmp_path):
    make_model(tmp_path)
    audit = AuditLog(tmp_path / "audit.jsonl")
    service = InferenceService(ModelRuntime(ModelRegistry([tmp_path]), "cpu"), audit)
    progress = []
    prediction = run_job(service.predict("doubler", 2.0, patient_id="p1"), progress.append)
    assert prediction.outputs == {"y": 4.0} and prediction.patient_id == "p1"
    assert progress[0].message.startswith("Loading") and progress[-1].fraction == 1.0
    [line] = audit.read()
    assert line["event"] == "prediction" and line["model"] == "doubler"
    assert line["weights_sha256"] == prediction.weights_sha256 and line["outputs"] == {"y": 4.0}
    assert line["user"] and line["patient_id"] == "p1"


def test_cancel_stops_a_job_at_its_next_step(tmp_path):
    make_model(tmp_path)
    service = InferenceService(ModelRuntime(ModelRegistry([tmp_path]), "cpu"), AuditLog(tmp_path / "a.jsonl"))
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_job(service.predict("doubler", 1.0), token=token)
    assert AuditLog(tmp_path / "a.jsonl").read() == []


def test_concurrent_audit_lines_are_whole(tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl")
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


def test_a_refused_input_never_yields_a_finding(tmp_path, monkeypatch):
    make_model(tmp_path)
    monkeypatch.setitem(tasks._HANDLERS, Task.TEXT, RefusingTask())
    service = InferenceService(ModelRuntime(ModelRegistry([tmp_path]), "cpu"), AuditLog(tmp_path / "a.jsonl"))
    prediction = run_job(service.predict("doubler", 5.0))
    assert prediction.refused and prediction.positive == []
    [line] = AuditLog(tmp_path / "a.jsonl").read()
    assert line["outputs"] == {} and line["positive"] == [] and line["gate"]["accepted"] is False
