"""The Explanations tab shows note and record explanations in their own views, and a view asking
for another method gets it computed by the tab."""

from __future__ import annotations

import numpy as np
from medassist.domain.prediction import Explanation, Prediction
from tests.test_session import two_patients


def note_prediction() -> Prediction:
    return Prediction(
        model="notes-problems", version="1", weights_sha256="0" * 64, task="text-classification", device="CPU",
        source="note n1", input_sha256="1" * 64, outputs={"hypertension": 0.8}, thresholds={"hypertension": 0.5},
        positive=["hypertension"], patient_id="p1",
    )


def test_token_scores_open_in_the_note_view_and_other_methods_are_computed(window, monkeypatch):
    window.context.session.set_records(two_patients())
    tab = window.tab_pages["Explanations"]
    prediction = note_prediction()
    explanation = Explanation("integrated_gradients", "hypertension", "token_scores", np.array([0.9, -0.2, 0.1]),
                              labels=["Hypertension", "no", "pneumonia"])
    prediction.explanations.append(explanation)
    window.context.session.add_prediction(prediction)
    tab.refresh()
    tab.method_choice.addItem("Attention rollout", "attention_rollout")
    view = tab.views.currentWidget()
    assert type(view).__name__ == "TokenScoresView"
    asked = []
    monkeypatch.setattr(tab, "explain", lambda: asked.append(tab.method_choice.currentData()))
    view.method_requested.emit("attention_rollout")
    assert asked == ["attention_rollout"]
