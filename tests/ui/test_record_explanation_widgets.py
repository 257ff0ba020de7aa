"""The Explanations-tab widgets for record models, rendered offscreen from real model output.
Screenshots go to /tmp/shots-recmodels/ (look at them when changing the widgets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from medassist.domain.inputs import TextInput
from medassist.inference.service import InferenceService
from medassist.jobs import run_job
from medassist.ui.widgets.feature_view import FeatureScoresView
from medassist.ui.widgets.token_view import TokenScoresView, highlighted_html
from tests.services import cpu_service

SHOTS = Path("/tmp/shots-recmodels")
NOTE = (
    "CHIEF COMPLAINT: Shortness of breath.\n"
    "HISTORY OF PRESENT ILLNESS: A 71-year-old woman with hypertension, atrial fibrillation on warfarin and "
    "congestive heart failure with an ejection fraction of 30% presents with worsening dyspnea and leg swelling.\n"
    "ASSESSMENT: Acute on chronic systolic heart failure exacerbation. No evidence of pneumonia."
)


@pytest.fixture(scope="module")
def service() -> InferenceService:
    return cpu_service(threads=2)


def test_highlighted_html_keeps_text_and_escapes_it():
    text = "BP <140> & stable\nno edema"
    spans = [(0, 2), (3, 8), (9, 10), (11, 17), (18, 20), (21, 26)]
    markup = highlighted_html(text, spans, [1.0, 0.0, 0.0, -1.0, 0.0, 0.5], signed=True)
    assert "&lt;140&gt;" in markup and "&amp;" in markup and "<br>" in markup
    assert markup.count("<span") == 3
    assert "rgba(220, 40, 40" in markup and "rgba(40, 100, 230" in markup


def test_token_view_switches_methods(qtbot, service):
    view = TokenScoresView()
    qtbot.addWidget(view)
    view.resize(900, 560)
    prediction = run_job(service.predict("notes-problems", TextInput(NOTE, "note.txt")))
    ig = run_job(service.explain("notes-problems", TextInput(NOTE), "integrated_gradients", "hypertension"))
    view.show_explanation(prediction, ig)
    assert view.method == "integrated_gradients"
    assert "Hypertension" in view.title.text()
    assert "hypertension" in view.summary.text().lower()
    SHOTS.mkdir(exist_ok=True)
    view.grab().save(str(SHOTS / "token_view_ig.png"))
    with qtbot.waitSignal(view.method_requested, timeout=1000) as blocker:
        view.findChild(type(view.buttons.buttons()[0]), "attention_rollout").setChecked(True)
    assert blocker.args == ["attention_rollout"]
    rollout = run_job(service.explain("notes-problems", TextInput(NOTE), "attention_rollout", "hypertension"))
    view.show_explanation(prediction, rollout)
    assert view.method == "attention_rollout"
    view.grab().save(str(SHOTS / "token_view_rollout.png"))
    view.findChild(type(view.buttons.buttons()[0]), "integrated_gradients").setChecked(True)
    assert "raised the score" in view.legend.text()


def test_feature_view_lists_missing_inputs(qtbot, service):
    features = {"age": 61, "sex": 1, "cp": 4, "trestbps": 150, "fbs": 0, "restecg": 2, "thalach": 118, "exang": 1, "oldpeak": 2.0}
    prediction = run_job(service.predict("heart-disease", features))
    explanation = run_job(service.explain("heart-disease", features, "integrated_gradients"))
    view = FeatureScoresView()
    qtbot.addWidget(view)
    view.resize(900, 520)
    view.show_explanation(prediction, explanation)
    assert "Serum total cholesterol" in view.missing.text() and "[chol]" not in view.missing.text()
    assert len(view.chart.rows) == 9 and view.withheld is None
    assert any(label.startswith("Chest pain type = asymptomatic") for label, _ in view.chart.rows)
    assert any(label == "Resting systolic blood pressure = 150 mmHg" for label, _ in view.chart.rows)
    assert "trestbps" not in " ".join(label for label, _ in view.chart.rows)
    SHOTS.mkdir(exist_ok=True)
    view.grab().save(str(SHOTS / "feature_view_heart.png"))


def test_feature_view_withholds_attributions_when_the_answer_is_the_baseline(qtbot, service):
    """58-year-old man, cholesterol 188: the answer equals the training-average patient's (42%), and
    Integrated Gradients would still split it into +12 points for sex and -15 for cholesterol."""
    features = {"age": 58, "sex": 1, "trestbps": 130, "chol": 188, "fbs": 0, "thalach": 137}
    prediction = run_job(service.predict("heart-disease", features))
    explanation = run_job(service.explain("heart-disease", features, "integrated_gradients"))
    assert not prediction.refused
    assert abs(explanation.faithfulness["probability"] - explanation.faithfulness["baseline_probability"]) < 0.05
    assert max(abs(v) for v in explanation.values) > 0.1  # the bars that would mislead
    view = FeatureScoresView()
    qtbot.addWidget(view)
    view.resize(900, 400)
    view.show_explanation(prediction, explanation)
    assert view.withheld and view.chart.rows == [] and "no input moved it meaningfully" in view.subtitle.text()
    view.grab().save(str(SHOTS / "feature_view_withheld.png"))
