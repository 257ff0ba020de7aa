"""The model host: the desktop app's models in a process of their own give the same answers as the
service in this process, report progress, honour cancels, carry errors back, and fail cleanly when
the process dies. The window's process never imports torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from medassist.domain import codec
from medassist.domain.arrays import ArrayShapes
from medassist.audit import read_audit
from medassist.composition import build_services, host_service
from medassist.demo.images import public_dicom
from medassist.domain.inputs import ImageInput
from medassist.errors import ModelError
from medassist.imaging.loader import load_image
from medassist.inference.host import HostConfig, ModelHost
from medassist.jobs import CancelToken, Cancelled, run_job
from medassist.paths import bundled_models_dir
from medassist.settings import Settings

MODEL = "cxr-pneumonia"


@pytest.fixture(scope="module")
def film() -> ImageInput:
    return ImageInput(load_image(public_dicom("RG1_UNCR.dcm")))


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    audit = tmp_path_factory.mktemp("host") / "audit.jsonl"
    config = HostConfig(audit_path=audit, settings=Settings(device="cpu", cpu_threads=1, user_name="dr-host"),
                        warm_models=(MODEL,))
    started = ModelHost(config, host_service)
    assert started.wait_ready(240), "the model host did not start"
    yield started
    started.close()


def test_host_answers_as_the_service_in_this_process_does_and_audits_to_the_window_file(host, film):
    local = build_services(Settings(device="cpu", cpu_threads=1), host.config.audit_path.with_name("local.jsonl"),
                           [bundled_models_dir()]).models()
    steps = []
    remote = run_job(host.predict(MODEL, film, "P-7"), on_progress=steps.append)
    expected = run_job(local.predict(MODEL, film, "P-7"))
    assert remote.outputs == pytest.approx(expected.outputs, abs=1e-6)
    assert remote.positive == expected.positive and remote.patient_id == "P-7"
    assert remote.weights_sha256 == expected.weights_sha256
    assert any("Running" in step.message for step in steps), "the host's progress reaches the caller"
    assert host.describe() == "CPU, 1 thread" == remote.device  # the settings it was given

    explanation = run_job(host.explain(MODEL, film, "gradcam"))
    assert explanation.values.shape == film.image.frames[0].shape[:2]
    assert explanation.values.flags.writeable  # arrays arrive as the window's own, not read-only views

    lines = read_audit(host.config.audit_path)
    events = [line["event"] for line in lines]
    assert events[-2:] == ["prediction", "explanation"]
    assert lines[-2]["app_user"] == "dr-host" and lines[-2]["patient_id"] == "P-7"


def test_a_result_through_the_host_equals_the_one_made_in_this_process(host, film):
    """Field for field through the values codec (only the run's time and timestamp differ: gate verdict,
    image link, subtype splits, population notice, extra), and the explanation's map and faithfulness."""
    local = build_services(Settings(device="cpu", cpu_threads=1), host.config.audit_path.with_name("local.jsonl"),
                           [bundled_models_dir()]).models()
    remote = run_job(host.predict(MODEL, film, "P-7"))
    expected = run_job(local.predict(MODEL, film, "P-7"))
    assert remote.gate is not None and remote.image is not None and remote.subtypes

    def values(prediction):
        row = codec.encode(prediction, ArrayShapes())
        return {k: v for k, v in row.items() if k not in ("elapsed_ms", "created")}

    assert values(remote) == values(expected)
    remote_map = run_job(host.explain(MODEL, film, "gradcam"))
    local_map = run_job(local.explain(MODEL, film, "gradcam"))
    assert remote_map.values.dtype == local_map.values.dtype
    np.testing.assert_allclose(remote_map.values, local_map.values, atol=1e-6)
    assert remote_map.faithfulness == pytest.approx(local_map.faithfulness, abs=1e-6)


def test_host_errors_come_back_as_the_same_errors(host, film):
    with pytest.raises(ModelError, match="no model named 'no-such-model'"):
        run_job(host.predict("no-such-model", film))
    with pytest.raises(ModelError, match="not a recommender"):
        host.item_probabilities(MODEL, np.zeros(3, dtype=np.float32))


def test_a_cancelled_call_stops_here_and_the_host_keeps_serving(host, film):
    token = CancelToken()

    def cancel_at_first_step(_step):
        token.cancel()

    with pytest.raises(Cancelled):
        run_job(host.explain(MODEL, film, "integrated_gradients"), on_progress=cancel_at_first_step, token=token)
    again = run_job(host.predict(MODEL, film))
    assert MODEL == again.model and again.outputs


def test_a_host_that_dies_fails_its_calls_with_a_message(tmp_path, film):
    config = HostConfig(audit_path=tmp_path / "audit.jsonl", settings=Settings(device="cpu", cpu_threads=1))
    doomed = ModelHost(config, host_service)
    assert doomed.wait_ready(240)
    doomed._process.kill()
    doomed._process.join(10)
    with pytest.raises(ModelError, match="model process stopped"):
        run_job(doomed.predict(MODEL, film))
    assert not doomed.alive
    doomed.close()


def test_a_host_that_cannot_start_says_why(tmp_path, film):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the audit folder should be")
    config = HostConfig(audit_path=blocker / "audit.jsonl", settings=Settings(device="cpu", cpu_threads=1))
    broken = ModelHost(config, host_service)
    assert broken.wait_ready(240) is False
    with pytest.raises(ModelError, match="could not start: .*not-a-folder"):
        run_job(broken.predict(MODEL, film))
    broken.close()


WINDOW_WITH_HOST = """
import json, sys, time

def main():
    from medassist.ui.launch import start_model_host
    host = start_model_host()
    from PySide6.QtWidgets import QApplication
    from medassist.app.analysis import analyse_patient
    from medassist.app.treatment import plan_treatment
    from medassist.jobs import run_job
    from medassist.ui.app import create_window
    window = create_window(demo=True, model_host=host)
    window.start_demo()
    context, session = window.context, window.context.session
    deadline = time.time() + 240
    while time.time() < deadline and (not session.records.patient_ids or context.runner.running):
        QApplication.processEvents()
        time.sleep(0.02)
    patient = session.current_patient_id
    analysis = run_job(analyse_patient(session, context.inference(), patient, explain=True))
    plan = run_job(plan_treatment(session, patient, ['pneumonia'], context.inference(), context.audit))
    context.inference().prepare_explanations()
    context.close_models()
    print(json.dumps({'torch_here': 'torch' in sys.modules, 'captum_here': 'captum' in sys.modules,
                      'same_service': context.inference is not None and host.config.audit_path == context.audit.path,
                      'predictions': [p.model for p in analysis.predictions], 'problems': analysis.problems,
                      'explained': sum(len(p.explanations) for p in analysis.predictions),
                      'recommender': (plan.model or {}).get('name')}))

main()
"""


def test_the_demo_workflow_with_a_model_host_never_imports_torch_in_the_window(tmp_path):
    """Every model of the demo patient's analysis, its explanations and the learned treatment ranking
    run in the host: the window's process imports neither torch nor captum, and the host's audit
    lines land in the window's one audit file."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MEDASSIST_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", WINDOW_WITH_HOST], capture_output=True, text=True, env=env,
                         timeout=600, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["torch_here"] is False and result["captum_here"] is False
    assert result["same_service"] is True
    assert len(result["predictions"]) >= 3  # the note and record models of the demo's first patient
    assert result["problems"] == [] and result["explained"] >= 1
    assert result["recommender"] == "med-recommender"
    audit_files = list(tmp_path.rglob("session-*.jsonl"))
    assert len(audit_files) == 1, "the host writes the window's audit file"
    events = [json.loads(line)["event"] for line in audit_files[0].read_text().splitlines()]
    assert events.count("prediction") == len(result["predictions"]) and "explanation" in events
    assert "recommendation" in events


def test_the_window_starts_a_new_host_when_its_host_has_died(qtbot, user_home, film):
    from medassist.ui.app import create_window
    from medassist.ui.launch import start_model_host

    window = create_window(build_tabs=False, model_host=start_model_host())
    qtbot.addWidget(window)
    first = window.context.inference()
    try:
        assert isinstance(first, ModelHost) and first.wait_ready(240)
        first._process.kill()
        qtbot.waitUntil(lambda: not first.alive, timeout=10000)
        second = window.context.inference()
        assert second is not first and isinstance(second, ModelHost)
        assert second.config.audit_path == first.config.audit_path  # the same audit file
        assert run_job(second.predict(MODEL, film)).outputs
    finally:
        window.context.close_models()


def test_the_tabs_work_through_a_model_host(qtbot, user_home):
    """The Diagnosis, Explanations and Treatment tabs of a window whose models run in the host:
    results, an explanation with its progress, and the learned tie-break, as in this process."""
    from medassist.demo import build_demo
    from medassist.ui.app import create_window
    from medassist.ui.launch import start_model_host
    from medassist.ui.tabs.diagnosis_tab import SCOPE_PATIENT, PredictionCard

    window = create_window(model_host=start_model_host())
    qtbot.addWidget(window)
    window.show()
    try:
        session = window.session
        session.set_records(build_demo().records)
        session.set_current_patient("DEMO-06")  # typical angina, positive exercise ECG
        diagnosis = window.tab_pages["Diagnosis"]
        diagnosis.scope.setCurrentText(SCOPE_PATIENT)
        diagnosis.run()
        qtbot.waitUntil(lambda: diagnosis.handle is None, timeout=240000)
        cards = {card.prediction.model: card for card in diagnosis.results.findChildren(PredictionCard)}
        heart = cards["heart-disease"].prediction
        assert not heart.refused and heart.positive

        explanations = window.tab_pages["Explanations"]
        window.show_explanation(heart)
        shown: list[int] = []
        explanations.progress.valueChanged.connect(shown.append)
        explanations.explain()
        qtbot.waitUntil(lambda: explanations.handle is None, timeout=240000)
        assert explanations.current is not None and explanations.current[1].faithfulness
        assert explanations.current[0] is heart and shown[-1] == 100
        assert any(0 < value < 100 for value in shown), "the host's progress reaches the tab"

        treatment = window.tab_pages["Treatment"]
        qtbot.waitUntil(lambda: treatment.result is not None and not window.context.runner.running, timeout=240000)
        assert treatment.result.model is not None and treatment.result.model["name"] == "med-recommender"
        assert "tie-break: med-recommender" in treatment.conditions.text()
    finally:
        window.context.runner.shutdown(5000)
        window.context.close_models()


def test_after_start_up_the_host_is_asked_to_load_every_other_model(window):
    """So that a first analysis (the notes model's libraries: about 6 s) does not wait for them;
    a model that cannot load is left to say so on its first run."""
    from medassist.inference.host import WARM_MODEL

    asked: list[str] = []

    class Recorder:
        def prepare(self, model: str) -> None:
            asked.append(model)
            if len(asked) == 1:  # the first one cannot load: the others are still loaded
                raise ModelError("weights do not match the card")

    window.context.services._models = Recorder()
    run_job(window.context.warm_other_models())
    available = {entry.name for entry in window.context.catalogue.available()}
    assert set(asked) == available - {WARM_MODEL} and len(asked) == len(available) - 1
    assert "notes-problems" in asked and len(asked) >= 4


def test_changed_settings_start_a_host_with_them(qtbot, user_home):
    from medassist.ui.app import create_window
    from medassist.ui.launch import start_model_host

    window = create_window(build_tabs=False, model_host=start_model_host())
    qtbot.addWidget(window)
    context = window.context
    try:
        first = context.inference()
        context.change_settings(context.settings.model_copy(update={"device": "cpu", "cpu_threads": 1,
                                                                    "user_name": "dr-new"}))  # Settings > OK
        second = context.inference()
        assert second is not first and not first._process.is_alive()
        assert isinstance(second, ModelHost) and second.wait_ready(240)
        assert second.describe() == "CPU, 1 thread"
        assert second.config.settings.app_user == "dr-new" and second.config.audit_path == context.audit.path
        assert context.audit.app_user == "dr-new" and Settings.load().cpu_threads == 1
    finally:
        context.close_models()
