"""Whole-application timings, each in a fresh process and counted from its launch: first paint,
tabs ready, first prediction after start, the GUI's longest event-loop stall while the models
warm up and while they run, and the first analysis of a demo patient once the app has settled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

# The app's own staged start (medassist.ui.launch.main): the model host, then the window, first
# paint, the first tab while the host warms the default model, then the other tabs.
# Every stage is printed as a Unix time; the parent subtracts the moment it launched the process,
# so interpreter start-up and every import count.
_STAGED_START = """
import json, sys, time
from medassist.ui.launch import start_model_host
host = start_model_host()  # first, as medassist-gui does
from PySide6.QtCore import QTimer
from medassist.ui import app as gui
mode, image, model = sys.argv[1:4]
qt = gui.application()
window = gui.create_window(build_tabs=False, model_host=host)
gaps, cpu_gaps, last, last_cpu, marks = [], [], [0.0], [0.0], {}
def tick():
    now, cpu = time.perf_counter(), time.thread_time()  # the GUI thread's own CPU time
    if last[0]:
        gaps.append(now - last[0])
        cpu_gaps.append(cpu - last_cpu[0])
    last[0], last_cpu[0] = now, cpu
timer = QTimer(); timer.setInterval(5); timer.timeout.connect(tick)
def fail(message):
    print('ERROR ' + message, flush=True); qt.exit(1)
def summary(start, end):
    window, cpu = gaps[start:end] or [0.0], cpu_gaps[start:end] or [0.0]
    return {'max_stall_ms': round(1000 * max(window), 1),
            'p99_gap_ms': round(1000 * sorted(window)[int(0.99 * (len(window) - 1))], 1), 'ticks': len(window),
            'max_gui_thread_cpu_ms': round(1000 * max(cpu), 1)}
def source():
    from medassist.imaging.loader import load_image
    from medassist.domain.inputs import ImageInput
    return ImageInput(load_image(image))
def predict():
    prediction = yield from window.context.inference().predict(model, source())
    return prediction
def work():
    service, src = window.context.inference(), source()
    marks['start'] = len(gaps)
    yield from service.predict(model, src)
    yield from service.explain(model, src, 'gradcam')
    yield from service.explain(model, src, 'integrated_gradients')
    marks['end'] = len(gaps)
def finish(_):
    timer.stop()
    print('STALL ' + json.dumps({'during_inference_and_explanations': summary(marks['start'], marks['end']),
                                 'from_first_paint_to_tabs_ready': summary(0, marks['tabs']),
                                 'during_first_model_load': summary(marks['warm_start'], marks['warm']),
                                 'from_models_warm_to_start_up_over': summary(marks['warm'], marks['started'])}), flush=True)
    qt.exit(0)
def warm():
    marks['warm'] = len(gaps)  # also says: warm-up done
    done('warm')
def analyse():  # the demo's first patient, as a presenter's first click once the app has settled
    from medassist.app.analysis import analyse_patient
    from medassist.demo import build_demo
    session = window.session
    session.set_records(build_demo().records)
    session.set_current_patient('DEMO-01')
    begun = time.perf_counter()
    analysis = yield from analyse_patient(session, window.context.inference(), 'DEMO-01')
    return {'first_analysis_s': round(time.perf_counter() - begun, 3), 'models': len(analysis.predictions)}
def analysed(result):
    print('ANALYSIS ' + json.dumps(result), flush=True)
    qt.exit(0)
def when_settled(then):  # no job left: the host has loaded every model
    if window.context.runner.running:
        QTimer.singleShot(100, lambda: when_settled(then))
    else:
        then()
def started():
    marks['started'] = len(gaps)
    if mode == 'stall':  # the user's work once start-up is over
        window.context.runner.submit('bench', work, on_result=finish, on_error=fail)
    elif mode == 'analysis':
        when_settled(lambda: window.context.runner.submit('bench', analyse, on_result=analysed, on_error=fail))
    else:
        done('started')
def done(what):
    marks.setdefault(what, True)
    if mode == 'predict' and {'warm', 'predicted', 'started'} <= set(marks):
        qt.exit(0)
def predicted(_prediction):
    gui.startup_mark('first_prediction')
    done('predicted')
def tabs_ready():
    marks['tabs'] = len(gaps)
    if mode == 'predict':  # the user's first click, as soon as the tabs are there
        window.context.runner.submit('predict', predict, on_result=predicted, on_error=fail)
def painted():
    last[0], last_cpu[0] = time.perf_counter(), time.thread_time()  # the first tab's build counts as a gap too
    marks['warm_start'] = 0  # the warm-up starts at first paint, beside the tabs' build
    timer.start()
    gui.after_first_paint(window, on_models_warm=warm, on_tabs_ready=tabs_ready, on_started=started)  # as main() does
probe = gui.FirstPaintProbe(painted)
window.installEventFilter(probe)
window.show()
QTimer.singleShot(280000, lambda: fail('timed out'))
qt.exec()
"""


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def _staged_start(mode: str, image: str, model: str, timeout: int) -> tuple[dict[str, Any], str]:
    """Launch the app's staged start in a fresh interpreter; seconds from launch to each stage."""
    with tempfile.TemporaryDirectory() as home:  # no user settings, autosaves or crash files
        env = dict(_child_env(), MEDASSIST_STARTUP_TIMING="1", MEDASSIST_HOME=home)
        launched = time.time()
        out = subprocess.run([sys.executable, "-c", _STAGED_START, mode, image, model], capture_output=True, text=True,
                             env=env, timeout=timeout)
    stages: dict[str, Any] = {}  # seconds per stage, whether torch was imported by then, any error
    for line in out.stdout.splitlines():
        if line.startswith("STARTUP "):
            _, stage, stamp, torch_flag = line.split()
            stages[stage] = round(float(stamp) - launched, 3)
            stages[f"{stage}_torch_imported"] = torch_flag == "torch=True"
    stall = next((row.split(" ", 1)[1] for row in out.stdout.splitlines() if row.startswith(("STALL ", "ANALYSIS "))), "")
    if "first_paint" not in stages or out.returncode != 0:
        stages["error"] = (out.stderr or out.stdout)[-500:]
    return stages, stall


def _median(values: list[float]) -> float:
    return round(sorted(values)[len(values) // 2], 3)


def cold_start(image: str, model: str, repeats: int = 3) -> dict[str, Any]:
    """Seconds from launching a fresh interpreter to the window's first paint, to its first tab
    (the window is ready), to the first prediction (asked for as soon as the window is ready; the
    model warms up meanwhile), to the models' warm-up, to every tab built and to captum's import
    (start-up over)."""
    runs = [_staged_start("predict", image, model, timeout=300)[0] for _ in range(repeats)]
    failed = next((r["error"] for r in runs if "error" in r), None)
    if failed:
        return {"error": failed}
    result: dict[str, Any] = {}
    for stage in ("first_paint", "tabs_ready", "first_prediction", "models_warm", "all_tabs_built", "explanations_ready"):
        times = [r[stage] for r in runs if stage in r]
        if times:
            result[f"{stage}_s_median"] = _median(times)
            result[f"{stage}_s_all"] = times
    result["torch_imported_before_paint"] = any(r.get("first_paint_torch_imported") for r in runs)
    result["model"] = model
    result["targets_s"] = {"first_paint": 1.5, "first_prediction": 3.0}
    return result


def first_analysis(image: str, model: str) -> dict[str, Any]:
    """Seconds of the first analysis of the demo's first patient (a note and three record models)
    asked for once start-up is over and no job runs (the model host has loaded every model), and
    when that was, from launch."""
    stages, line = _staged_start("analysis", image, model, timeout=600)
    if not line:
        return {"error": stages.get("error", "no result")}
    result: dict[str, Any] = json.loads(line)
    result["all_models_warm_s"] = stages.get("all_models_warm")
    return result


def gui_stall(image: str, model: str) -> dict[str, Any]:
    """Longest event-loop gap (5 ms timer probe) from first paint until the first tab is built,
    while the models warm up from first paint (beside that tab's build: this is what the user
    meets), from then until start-up is over (every tab built, captum imported), and then while a prediction,
    Grad-CAM and IG run in a worker. Beside each, the most CPU time the
    GUI thread itself spent within one gap: on a shared machine a gap is mostly waiting for a
    core, and this says how much of it was the app's own work on the GUI thread."""
    stages, line = _staged_start("stall", image, model, timeout=600)
    if not line:
        return {"error": stages.get("error", "no result")}
    result = json.loads(line)
    result["target_ms"] = 50
    result["model"] = model
    return result
