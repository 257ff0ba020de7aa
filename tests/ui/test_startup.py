"""Staged start: the window can paint before the heavy libraries are imported, and the tabs that
need them are built afterwards; torch waits for the worker's warm-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys

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
