"""The Diagnosis and Explanations tabs drive the real model through the worker pool."""

from __future__ import annotations

import threading

import pytest

from medassist import DECISION_SUPPORT_NOTICE
from medassist.ui.tabs.diagnosis_tab import SCOPE_CURRENT, PredictionCard

MODEL = "cxr-pneumonia"


def test_diagnosis_runs_off_the_gui_thread_and_shows_findings(qtbot, window, kermany_image):
    session = window.session
    session.add_images([kermany_image])
    tab = window.tab_pages["Diagnosis"]
    assert tab.notice.text() == DECISION_SUPPORT_NOTICE
    tab.scope.setCurrentText(SCOPE_CURRENT)
    tab.run()
    handle = tab.handle
    assert handle is not None
    qtbot.waitUntil(lambda: tab.handle is None, timeout=60000)
    assert handle.thread_name is not None and handle.thread_name != threading.main_thread().name
    predictions = session.current_predictions()
    assert [p.model for p in predictions] == [MODEL]
    cards = tab.results.findChildren(PredictionCard)
    assert len(cards) == 1
    card = cards[0]
    assert set(card.bars) == set(predictions[0].thresholds)  # subtype shares are not findings
    assert card.bars["pneumonia"].threshold == predictions[0].thresholds["pneumonia"]
    assert card.gate_label.text().startswith("Inside the data the model knows")
    # a JPEG carries no age and this session has no record: the card says so, with the adult figures
    assert "Outside the validated population" in card.population_label.text()
    assert "age is not known" in card.population_label.text() and "AUROC" in card.population_label.text()


def explanations_after_diagnosis(qtbot, window, image):
    """The Explanations tab once the Diagnosis tab has analysed ``image``."""
    window.session.add_images([image])
    diagnosis = window.tab_pages["Diagnosis"]
    diagnosis.run()
    qtbot.waitUntil(lambda: diagnosis.handle is None, timeout=60000)
    return window.tab_pages["Explanations"]


def test_explanations_tab_computes_and_shows_a_map(qtbot, window, kermany_image):
    session = window.session
    tab = explanations_after_diagnosis(qtbot, window, kermany_image)
    assert tab.prediction_choice.count() == 1
    tab.method_choice.setCurrentIndex(tab.method_choice.findData("gradcam"))
    tab.target_choice.setCurrentIndex(tab.target_choice.findData("pneumonia"))
    tab.explain()
    qtbot.waitUntil(lambda: tab.handle is None, timeout=60000)
    prediction = session.current_predictions()[0]
    assert [(e.method, e.target) for e in prediction.explanations] == [("gradcam", "pneumonia")]
    assert tab.map_view.values is not None and tab.map_view.values.shape == kermany_image.shape
    assert tab.faithfulness.text().startswith("Faithfulness")
    tab.opacity.setValue(80)
    assert tab.map_view.opacity == pytest.approx(0.8)


def test_cancelled_explanation_leaves_the_result_unexplained(qtbot, window, kermany_image):
    session = window.session
    tab = explanations_after_diagnosis(qtbot, window, kermany_image)
    tab.method_choice.setCurrentIndex(tab.method_choice.findData("integrated_gradients"))
    tab.explain()
    tab.cancel()
    qtbot.waitUntil(lambda: tab.handle is None, timeout=60000)
    assert tab.status.text() == "Cancelled"
    assert session.current_predictions()[0].explanations == []
    assert tab.explain_button.isEnabled()
