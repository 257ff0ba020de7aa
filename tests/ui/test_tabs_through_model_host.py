"""The window as users run it: its models in the model host (``medassist-gui``), started by the
composition root with the saved settings. The Diagnosis tab analyses a demo patient's chest film in
the host, on the saved device and threads, and the Explanations tab draws its Grad-CAM map from there."""

from __future__ import annotations

import torch

from medassist.demo import build_demo
from medassist.inference.host import ModelHost
from medassist.settings import Settings
from medassist.ui.tabs.diagnosis_tab import SCOPE_IMAGES, PredictionCard

PATIENT = "DEMO-20"  # the demo's chest film
MODEL = "cxr-pneumonia"


def test_a_chest_film_is_analysed_and_explained_in_the_model_host_with_the_saved_settings(qtbot, user_home):
    from medassist.app.images import load_images
    from medassist.ui.app import create_window
    from medassist.ui.launch import start_model_host

    Settings(device="cpu", cpu_threads=1).save()
    threads_here = torch.get_num_threads()
    window = create_window(model_host=start_model_host())
    qtbot.addWidget(window)
    window.show()
    try:
        host = window.context.inference()
        assert isinstance(host, ModelHost) and host.wait_ready(240)
        assert host.describe() == "CPU, 1 thread"  # the host read the saved settings itself
        demo = build_demo()
        session = window.session
        session.set_records(demo.records)
        session.set_current_patient(PATIENT)
        session.add_images(load_images(demo.image_paths[PATIENT]), PATIENT)

        diagnosis = window.tab_pages["Diagnosis"]
        diagnosis.scope.setCurrentText(SCOPE_IMAGES)
        diagnosis.run()
        qtbot.waitUntil(lambda: diagnosis.handle is None, timeout=240_000)
        [card] = [c for c in diagnosis.results.findChildren(PredictionCard) if c.prediction.model == MODEL]
        film = card.prediction
        assert not film.refused and film.device == "CPU, 1 thread" and film.film is not None

        explanations = window.tab_pages["Explanations"]
        window.show_explanation(film)
        explanations.method_choice.setCurrentIndex(explanations.method_choice.findData("gradcam"))
        explanations.explain()
        qtbot.waitUntil(lambda: explanations.handle is None, timeout=240_000)
        [explanation] = film.explanations
        assert explanation.method == "gradcam" and explanation.faithfulness
        assert explanations.map_view.values is not None
        assert explanations.map_view.values.shape == session.images[PATIENT][0].shape
        assert torch.get_num_threads() == threads_here  # it all ran in the host: this process kept its threads
    finally:
        window.context.runner.shutdown(5000)
        window.context.close_models()
