"""Staged start: the window can paint before the heavy libraries are imported, and the tabs that
need them are built afterwards; torch waits for the worker's warm-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

CHILD = """
import json, sys
from medassist.ui.app import create_window
window = create_window(build_tabs=False)
heavy = ('pandas', 'pydicom', 'pyqtgraph', 'reportlab', 'torch', 'captum', 'scipy')
before = [m for m in heavy if m in sys.modules]
stand_ins = [window.tabs.tabText(i) for i in range(window.tabs.count())]
window.build_tabs()
print(json.dumps({'before_tabs': before, 'stand_ins': stand_ins, 'tabs': sorted(window.tab_pages),
                  'torch_after_tabs': 'torch' in sys.modules}))
"""


def test_window_paints_before_heavy_imports_and_tabs_follow(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MEDASSIST_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=300, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["before_tabs"] == []
    assert result["stand_ins"] == ["Records", "Images", "Diagnosis", "Treatment", "Explanations", "Report", "Worklist"]
    assert result["tabs"] == sorted(result["stand_ins"])
    assert result["torch_after_tabs"] is False  # torch is the warm-up's job, in a worker


def test_warm_up_loads_the_default_model_in_a_worker(window, qtbot):
    import threading

    from medassist.ui.context import WARM_MODEL

    seen = []
    original = window.context.inference

    def inference():
        seen.append(threading.current_thread() is threading.main_thread())
        return original()

    window.context.inference = inference
    done = []
    window.context.runner.submit("warm-up", window.context.warm_up, on_result=done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=240000)
    assert seen[0] is False  # the service (torch, captum) is made in the worker; later calls only read it
    assert original().runtime.load_count == {WARM_MODEL: 1}


def test_staged_start_builds_the_open_tab_first_and_the_rest_once_the_models_are_ready(qtbot, user_home):
    import gc

    from medassist.ui.app import after_first_paint, create_window
    from medassist.ui.main_window import TAB_TITLES

    window = create_window(build_tabs=False)
    qtbot.addWidget(window)
    window.show()
    seen: dict[str, list[str]] = {}

    def note(stage: str):
        return lambda: seen.setdefault(stage, sorted(window.tab_pages))

    try:
        after_first_paint(window, on_models_warm=note("models"), on_tabs_ready=note("window ready"),
                          on_started=note("started"))
        assert not gc.isenabled()  # no full collection freezes the window while start-up imports
        qtbot.waitUntil(lambda: "started" in seen, timeout=240000)
        assert seen["window ready"] == ["Records"]  # the tab on show, before the others' imports
        assert seen["models"] == ["Records"]  # torch waits for the window; the other tabs wait for the models
        assert seen["started"] == sorted(TAB_TITLES)
        assert [window.tabs.widget(i) for i in range(len(TAB_TITLES))] == [window.tab_pages[t] for t in TAB_TITLES]
        assert window.tabs.currentIndex() == 0
        assert gc.isenabled() and gc.get_freeze_count() > 0  # start-up's objects stay out of later collections
        assert "captum" in sys.modules and window.context.inference_loaded
    finally:
        window.context.runner.shutdown(5000)
        gc.unfreeze()
        gc.enable()


def test_a_tab_opened_before_start_up_builds_it_is_built_at_once(qtbot, user_home):
    from medassist.ui.app import create_window

    window = create_window(build_tabs=False)
    qtbot.addWidget(window)
    window.tabs.setCurrentIndex(2)
    assert sorted(window.tab_pages) == ["Diagnosis"]
    assert window.tabs.currentWidget() is window.tab_pages["Diagnosis"]
    window.build_tabs()  # start-up's later step keeps the page the user is on
    assert window.tabs.currentIndex() == 2 and len(window.tab_pages) == 7
    window.context.runner.shutdown(5000)


def test_background_preparation_waits_until_no_job_runs(qtbot):
    from medassist.jobs import Progress
    from medassist.ui.workers import JobRunner

    runner = JobRunner()
    order: list[str] = []

    def users_prediction():
        yield Progress(0.5, "predicting")
        time.sleep(0.3)
        order.append("prediction")

    runner.submit("predict", users_prediction)
    runner.when_idle(lambda: order.append("background"))
    assert order == []
    qtbot.waitUntil(lambda: len(order) == 2, timeout=10000)
    assert order == ["prediction", "background"]
    runner.when_idle(lambda: order.append("at once"))  # idle now: no wait
    assert order[-1] == "at once"
    runner.shutdown(5000)
