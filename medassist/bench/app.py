"""Whole-application timings, each in a fresh process: cold start to first paint, first
prediction after start, and the GUI's longest event-loop stall while models run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

_FIRST_PAINT = """
import os, sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from medassist.ui.app import application, create_window
app = application()
w = create_window()
class Probe(QObject):
    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Type.Paint:
            print('PAINT', time.time(), 'torch' in sys.modules, flush=True)
            os._exit(0)
        return False
p = Probe(); w.installEventFilter(p); w.show()
QTimer.singleShot(20000, lambda: os._exit(3))
app.exec()
"""

_FIRST_PREDICTION = """
import sys, time
from medassist.imaging.loader import load_image
from medassist.inference.inputs import ImageInput
from medassist.inference.service import InferenceService
from medassist.jobs import run_job
image = load_image(sys.argv[1])
prediction = run_job(InferenceService().predict(sys.argv[2], ImageInput(image)))
print('PREDICTED', time.time(), flush=True)
"""

_STALL_PROBE = """
import json, sys, time
from PySide6.QtCore import QTimer
from medassist.imaging.loader import load_image
from medassist.inference.inputs import ImageInput
from medassist.ui.app import application, create_window
app = application()
w = create_window(); w.show()
gaps, last, marks = [], [time.perf_counter()], {}
def tick():
    now = time.perf_counter(); gaps.append(now - last[0]); last[0] = now
timer = QTimer(); timer.setInterval(5); timer.timeout.connect(tick); timer.start()
source, model = ImageInput(load_image(sys.argv[1])), sys.argv[2]
def warm_up():
    yield from w.context.inference().predict(model, source)
    marks['warm'] = len(gaps)
def work():
    service = w.context.inference()
    marks['start'] = len(gaps)
    yield from service.predict(model, source)
    yield from service.explain(model, source, 'gradcam')
    yield from service.explain(model, source, 'integrated_gradients')
    marks['end'] = len(gaps)
def summary(window):
    window = window or [0.0]
    return {'max_stall_ms': round(1000 * max(window), 1),
            'p99_gap_ms': round(1000 * sorted(window)[int(0.99 * (len(window) - 1))], 1), 'ticks': len(window)}
def finish(_):
    timer.stop()
    print('STALL ' + json.dumps({'during_inference_and_explanations': summary(gaps[marks['start']:marks['end']]),
                                 'during_first_model_load': summary(gaps[:marks['warm']])}), flush=True)
    app.exit(0)
def fail(message):
    print('ERROR ' + message, flush=True); app.exit(1)
def then_work(_):
    w.context.runner.submit('bench', work, on_result=finish, on_error=fail)
QTimer.singleShot(300, lambda: w.context.runner.submit('warm-up', warm_up, on_result=then_work, on_error=fail))
app.exec()
"""


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def cold_start(repeats: int = 3) -> dict[str, Any]:
    """Seconds from launching a fresh interpreter to the main window's first paint."""
    times, torch_loaded = [], []
    for _ in range(repeats):
        start = time.time()
        out = subprocess.run([sys.executable, "-c", _FIRST_PAINT], capture_output=True, text=True, env=_child_env(), timeout=120)
        line = next((l for l in out.stdout.splitlines() if l.startswith("PAINT")), None)
        if line is None:
            return {"error": (out.stderr or out.stdout)[-500:]}
        _, stamp, torch_flag = line.split()
        times.append(float(stamp) - start)
        torch_loaded.append(torch_flag == "True")
    return {"first_paint_s_median": round(sorted(times)[len(times) // 2], 3), "first_paint_s_all": [round(t, 3) for t in times],
            "torch_imported_before_paint": any(torch_loaded), "target_s": 2.0}


def first_prediction(image: str, model: str) -> dict[str, Any]:
    """Seconds from a fresh interpreter to the first finished prediction (imports, load, verify, run)."""
    start = time.time()
    out = subprocess.run([sys.executable, "-c", _FIRST_PREDICTION, image, model], capture_output=True, text=True,
                         env=_child_env(), timeout=300)
    line = next((l for l in out.stdout.splitlines() if l.startswith("PREDICTED")), None)
    if line is None:
        return {"error": (out.stderr or out.stdout)[-500:]}
    return {"first_prediction_s": round(float(line.split()[1]) - start, 3), "model": model, "target_s": 3.0}


def gui_stall(image: str, model: str) -> dict[str, Any]:
    """Longest event-loop gap (5 ms timer probe) while a prediction, Grad-CAM and IG run in a worker."""
    out = subprocess.run([sys.executable, "-c", _STALL_PROBE, image, model], capture_output=True, text=True,
                         env=_child_env(), timeout=600)
    line = next((l for l in out.stdout.splitlines() if l.startswith("STALL")), None)
    if line is None:
        return {"error": (out.stderr or out.stdout)[-500:]}
    result = json.loads(line.split(" ", 1)[1])
    result["target_ms"] = 50
    result["model"] = model
    return result
