"""The real main window, offscreen: tabs, patient propagation, worker jobs, cancel and failures."""

from __future__ import annotations

import threading
import time

from medassist import DEMO_NOTICE
from medassist.hashing import sha256_file
from medassist.jobs import Progress
from tests.test_session import two_patients

TAB_TITLES = ["Records", "Images", "Diagnosis", "Treatment", "Explanations", "Report", "Worklist"]


def test_tabs_exist_in_clinical_order(window):
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == TAB_TITLES


def test_empty_states_tell_the_user_what_to_do(window):
    for page in window.tab_pages.values():
        if not page.showing_content:
            assert page.empty.hint.text()


def test_patient_switch_reaches_every_tab_and_the_banner(window):
    session = window.context.session
    session.set_records(two_patients())
    session.set_current_patient("p2")
    assert all(page.shown_patient_id == "p2" for page in window.tab_pages.values())
    assert "Ben Okafor" in window.banner.identity.text() and "Ben Okafor" in window.windowTitle()


def test_job_runs_off_the_gui_thread_and_returns(window, qtbot):
    gui_thread = threading.current_thread().name

    def job():
        yield Progress(0.5, "half")
        return threading.current_thread().name

    results = []
    with qtbot.waitSignal(window.context.runner.jobs_changed, timeout=5000):
        handle = window.context.runner.submit("thread check", job, on_result=results.append)
    qtbot.waitUntil(lambda: bool(results), timeout=5000)
    assert results[0] != gui_thread and handle.thread_name == results[0]


def test_cancel_stops_a_running_job(window, qtbot):
    started = threading.Event()

    def job():
        started.set()
        for i in range(1000):
            time.sleep(0.01)
            yield Progress(i / 1000, "working")
        return "finished"

    cancelled, results = [], []
    handle = window.context.runner.submit("long", job, on_result=results.append, on_cancelled=lambda: cancelled.append(1))
    assert started.wait(5)
    window.jobs.cancel_latest()
    qtbot.waitUntil(lambda: bool(cancelled), timeout=5000)
    assert results == [] and handle.token.cancelled


def test_failing_job_shows_a_message_and_app_survives(window, qtbot):
    def job():
        yield Progress(0.1, "about to fail")
        raise ValueError("corrupt input")

    handle = window.context.runner.submit("bad job", job,
                                          on_error=lambda m: window.context.show_message("Job failed", m))
    qtbot.waitUntil(lambda: handle.done, timeout=5000)
    qtbot.waitUntil(lambda: getattr(window, "_last_message", None) is not None, timeout=5000)
    assert "corrupt input" in window._last_message.text()
    assert window.isVisible()
    ok = []
    window.context.runner.submit("next job", lambda: iter(()), on_result=ok.append)
    qtbot.waitUntil(lambda: bool(ok), timeout=5000)


def test_demo_badge_is_visible_in_demo_mode(window):
    assert not window.demo_badge.isVisibleTo(window)
    window.set_demo(True)
    assert window.demo_badge.isVisibleTo(window) and window.demo_badge.text() == DEMO_NOTICE
    assert "[DEMO]" in window.windowTitle()


def test_the_start_up_job_hashes_the_one_model_catalogue_off_the_gui_thread(window, qtbot, monkeypatch):
    import medassist.inference.registry as registry_module
    from medassist.ui.dialogs import ModelCatalogDialog, show_model_card

    hashed_on = []
    monkeypatch.setattr(registry_module, "sha256_file",
                        lambda path: hashed_on.append(threading.current_thread().name) or sha256_file(path))
    warmed = []
    window.context.runner.submit("Preparing models", window.context.warm_up, on_result=warmed.append)
    qtbot.waitUntil(lambda: bool(warmed), timeout=120000)
    catalogue = window.context.catalogue
    assert window.context.inference().runtime.registry is catalogue
    hashed = len(hashed_on)
    listed = ModelCatalogDialog(catalogue, window)
    qtbot.addWidget(listed)
    assert {e.name for e in listed.entries if e.available} >= {"cxr-pneumonia", "notes-problems"}
    assert hashed > len(listed.entries)  # each weights file once, and the loaded model's again in full
    qtbot.addWidget(ModelCatalogDialog(catalogue, window))
    qtbot.addWidget(show_model_card(window, "cxr-pneumonia", catalogue))
    assert len(hashed_on) == hashed and threading.current_thread().name not in hashed_on


def test_tabs_reach_each_other_through_the_context_navigation(window, tmp_path):
    from medassist.ui.context import TabKind
    from tests.reporting.builders import make_session

    session = make_session(tmp_path, window.context.session)
    cxr = session.current_predictions()[0]
    explanations, images = window.tab_pages["Explanations"], window.tab_pages["Images"]
    window.tab_pages["Diagnosis"]._explain(cxr)  # the Explain button of a result
    assert window.tabs.currentWidget() is explanations and explanations.selected_prediction() is cxr

    explanations.current = (cxr, cxr.explanations[0])
    explanations.show_on_viewer()
    chest = session.current_images()[0]
    assert window.tabs.currentWidget() is images and images.viewer.image is chest
    window.context.navigation.show_tab(TabKind.REPORT)
    assert window.tabs.currentWidget() is window.tab_pages["Report"]


def test_tabs_and_actions_never_import_the_main_window():
    import ast
    from pathlib import Path

    ui = Path(__file__).resolve().parents[2] / "medassist" / "ui"
    importers = []
    for path in [ui / "actions.py", *sorted((ui / "tabs").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if any(name.startswith("medassist.ui.main_window") for name in names):
                importers.append(path.name)
    assert importers == []
