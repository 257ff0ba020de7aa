"""The Explanations tab: why did a model say what it said?

Pick a result, a method and an output; the map is computed in a worker (cached by the core),
stored on the result, and shown by kind: image maps side by side (image | map | overlay) with
their faithfulness score, note highlights and feature attributions in their own views.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from medassist.domain.tasks import Task, method_name
from medassist import DECISION_SUPPORT_NOTICE
from medassist.app.explain import explain_result, image_for, source_for
from medassist.domain.prediction import Explanation, Prediction
from medassist.domain.findings import findings_of, subtype_shares
from medassist.domain.result_text import faithfulness_text, faithfulness_verdict, percent
from medassist.imaging.image import MedicalImage
from medassist.jobs import Job
from medassist.ui.context import AppContext
from medassist.ui.tabs.base import Tab
from medassist.ui.widgets.fitting import fit_combo, flow_row, labelled, VerticalScroll
from medassist.ui.widgets.patient_status import PatientStatusLabel
from medassist.ui.widgets.image_map_view import ImageMapView
from medassist.ui.workers import JobHandle

VIEW_MODULES = {
    "token_scores": ("medassist.ui.widgets.token_view", "TokenScoresView"),
    "feature_scores": ("medassist.ui.widgets.feature_view", "FeatureScoresView"),
}


class ExplanationsTab(Tab):
    title = "Explanations"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.empty.set_text(
            "Nothing to explain yet",
            "Run a model in the Diagnosis tab; saliency maps, note highlights and feature attributions appear here.",
        )
        self.handle: JobHandle | None = None
        self.predictions: list[Prediction] = []
        self.current: tuple[Prediction, Explanation] | None = None
        self._kind_views: dict[str, QWidget] = {}

        outer = QVBoxLayout(self.content)
        notice = QLabel(DECISION_SUPPORT_NOTICE + " Saliency maps show what drove the model, not where disease is.")
        notice.setWordWrap(True)
        notice.setStyleSheet("background:#fff4ce; padding:4px; border:1px solid #e0c060;")
        outer.addWidget(notice)

        # the choices shrink (their tooltips keep the full text) and the row wraps: the tab never widens the window
        self.prediction_choice = fit_combo(QComboBox(), characters=20)
        self.prediction_choice.currentIndexChanged.connect(self._prediction_changed)
        self.method_choice = fit_combo(QComboBox(), characters=10)
        self.target_choice = fit_combo(QComboBox(), characters=20)
        self.target_choice.currentIndexChanged.connect(self._target_changed)
        self.explain_button = QPushButton("Explain")
        self.explain_button.clicked.connect(self.explain)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        outer.addLayout(flow_row(labelled("Result:", self.prediction_choice), labelled("Method:", self.method_choice),
                                 labelled("Output:", self.target_choice), self.explain_button, self.cancel_button))

        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.valueChanged.connect(lambda v: self.map_view.set_opacity(v / 100))
        self.viewer_button = QPushButton("Show on viewer")
        self.viewer_button.setToolTip("Put this map on the Images tab's heatmap layer")
        self.viewer_button.setEnabled(False)
        self.viewer_button.clicked.connect(self.show_on_viewer)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.hide()  # shown while an explanation is computed: idle, it would take a line for nothing
        outer.addLayout(flow_row(labelled("Overlay opacity:", self.opacity), self.viewer_button, self.progress))
        self.faithfulness = QLabel()
        self.faithfulness.setObjectName("faithfulnessLabel")
        self.faithfulness.setWordWrap(True)
        self.status = PatientStatusLabel()
        self.explaining_for: str | None = None  # whose result is being explained (its progress is said about them)
        outer.addWidget(self.faithfulness)
        outer.addWidget(self.status)

        self.views = QStackedWidget()
        self.map_view = ImageMapView()
        self.text_view = QTextBrowser()
        self.views.addWidget(self.map_view)
        self.views.addWidget(self.text_view)
        outer.addWidget(VerticalScroll(self.views), 1)  # a short window scrolls the explanation, never cuts it

        context.bridge.prediction_added.connect(lambda _p: self.refresh())
        context.pixel_guard().ready.connect(lambda _key: self._redisplay())
        self.on_patient_changed(self.session.current_patient_id)

    # choices -------------------------------------------------------------------------------
    def on_patient_changed(self, patient_id: str | None) -> None:
        self.status.show_patient(patient_id)
        self.refresh()

    def refresh(self) -> None:
        chosen = self.selected_prediction()
        self.predictions = [p for p in self.session.current_predictions() if not p.refused]
        self.prediction_choice.blockSignals(True)
        self.prediction_choice.clear()
        for p in self.predictions:
            shown = self.context.shown(p.patient_id)
            source = shown.text(shown.file_label(Path(p.source).name))
            self.prediction_choice.addItem(f"{p.model}: {source} ({p.created[11:16]})")
        self.prediction_choice.blockSignals(False)
        if chosen in self.predictions:
            self.prediction_choice.setCurrentIndex(self.predictions.index(chosen))
        elif self.predictions:
            self.prediction_choice.setCurrentIndex(len(self.predictions) - 1)
        self._prediction_changed()
        self.show_content(bool(self.predictions))

    def selected_prediction(self) -> Prediction | None:
        index = self.prediction_choice.currentIndex()
        return self.predictions[index] if 0 <= index < len(self.predictions) else None

    def select_prediction(self, prediction: Prediction) -> None:
        self.refresh()
        if prediction in self.predictions:
            self.prediction_choice.setCurrentIndex(self.predictions.index(prediction))

    def _prediction_changed(self) -> None:
        prediction = self.selected_prediction()
        self.method_choice.clear()
        self.target_choice.clear()
        if prediction is None:
            return
        methods = self._methods_for(prediction)
        for method in methods:
            self.method_choice.addItem(method_name(method), method)
        self.target_choice.blockSignals(True)
        for text, label in self._target_items(prediction):
            self.target_choice.addItem(text, label)
        self.target_choice.blockSignals(False)
        if prediction.explanations:
            self.display(prediction, prediction.explanations[-1])
        else:
            self._show_image_only(prediction)
            self._target_changed()

    @staticmethod
    def _target_items(prediction: Prediction) -> list[tuple[str, str]]:
        """The outputs to explain: an image or record model's findings (and a subtype only where its share
        may be shown); for a note, its suggestions first, then what it mentions otherwise."""
        outputs = sorted(prediction.outputs, key=lambda k: -prediction.outputs[k])
        if prediction.task != Task.TEXT:
            items = [(f"{f.name}: {f.status}", f.label) for f in findings_of(prediction)]
            return items + [(f"{label} (share of {shares.finding})", label)
                            for shares in subtype_shares(prediction) for label in shares.shares]
        names = prediction.extra.get("label_names", {})
        items = [(f"{s['name']}: suggested (model score {percent(s['probability'])})", s["problem"])
                 for s in prediction.extra.get("suggestions", [])]
        items += [(f"{m['name']}: mentioned, {m['assertion']}", m["problem"])
                  for m in prediction.extra.get("mentioned_not_suggested", [])]
        listed = {label for _, label in items}
        items += [(f"{names.get(label, label)}: not mentioned", label) for label in outputs if label not in listed]
        return items

    def _target_changed(self) -> None:
        """Choosing a problem of a note shows its evidence at once (it needs no model run)."""
        prediction = self.selected_prediction()
        if prediction is not None and prediction.task == Task.TEXT and self.method_choice.currentData() == "evidence":
            self.explain()

    def _methods_for(self, prediction: Prediction) -> list[str]:
        if self.context.inference_loaded:
            try:
                card = self.context.catalogue.get(prediction.model).card
                if card is not None and card.explanations:
                    return list(card.explanations)
            except Exception:  # model gone since it ran: offer what the result already has
                pass
        return sorted({e.method for e in prediction.explanations}) or ["gradcam", "integrated_gradients"]

    # running -------------------------------------------------------------------------------
    def explain(self) -> None:
        prediction = self.selected_prediction()
        if prediction is None or self.handle is not None:
            return
        method = self.method_choice.currentData()
        target = self.target_choice.currentData()
        patient_id = self.explaining_for = self.session.current_patient_id
        if source_for(self.session, prediction) is None:
            self.status.say(patient_id, "The input of this result is no longer loaded; open it again to explain it.")
            return
        context = self.context
        session = self.session

        def make_job() -> Job[Explanation]:
            return explain_result(session, context.inference(), prediction, method, target)

        self.progress.setValue(0)
        self.progress.show()
        self.status.say(patient_id, f"Computing {method_name(method)} for {target}...")
        self.explain_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.handle = context.runner.submit(
            "Explanation",
            make_job,
            on_result=lambda explanation: self._finished(prediction, explanation),
            on_error=self._failed,
            on_progress=lambda f, m: (self.progress.setValue(int(100 * f)), self.status.say(patient_id, m)),
            on_cancelled=lambda: self._done("Cancelled"),
        )

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()

    def _done(self, message: str) -> None:
        self.handle = None
        self.explain_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.hide()
        self.status.say(self.explaining_for, message)

    def _failed(self, message: str) -> None:
        self._done(f"Failed: {message}")

    def _finished(self, prediction: Prediction, explanation: Explanation) -> None:
        self.progress.setValue(100)
        self._done(f"{method_name(explanation.method)} for {explanation.target} "
                   f"in {explanation.elapsed_ms:.0f} ms")
        if prediction is self.selected_prediction():
            self.display(prediction, explanation)

    # display -------------------------------------------------------------------------------
    def display(self, prediction: Prediction, explanation: Explanation) -> None:
        """Show an explanation in the view for its kind."""
        self.current = (prediction, explanation)
        self.faithfulness.setText(faithfulness_text(explanation.faithfulness))
        if explanation.kind == "image_map":
            found = image_for(self.session, prediction)
            if found is None:
                self._text_fallback(explanation, "the image is no longer loaded")
                return
            image, frame = found
            gray = self._shown_pixels(image, frame)
            if isinstance(gray, str):
                self._text_fallback(explanation, gray)
                return
            if gray.ndim == 3:
                gray = (gray.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).astype(np.uint8)
            verdict = faithfulness_verdict(explanation.faithfulness)
            caption = f"{method_name(explanation.method)}: {explanation.target}" + (
                f"  (faithfulness: {verdict})" if verdict is not None else "")
            self.map_view.set_content(gray, np.asarray(explanation.values, dtype=np.float32), caption)
            self.map_view.set_opacity(self.opacity.value() / 100)
            self.views.setCurrentWidget(self.map_view)
            self.viewer_button.setEnabled(True)
            return
        self.viewer_button.setEnabled(False)
        view = self._kind_view(explanation.kind)
        if view is None:
            self._text_fallback(explanation, "its viewer is not installed")
            return
        view.show_explanation(prediction, explanation)
        self.views.setCurrentWidget(view)

    def _kind_view(self, kind: str) -> QWidget | None:
        if kind in self._kind_views:
            return self._kind_views[kind]
        spec = VIEW_MODULES.get(kind)
        if spec is None:
            return None
        try:
            import importlib

            cls = getattr(importlib.import_module(spec[0]), spec[1])
        except (ImportError, AttributeError):
            return None
        view = cls()
        requested = getattr(view, "method_requested", None)
        if requested is not None:
            requested.connect(self._explain_with)
        self._kind_views[kind] = view
        self.views.addWidget(view)
        return view

    def _explain_with(self, method: str) -> None:
        """A view asked for another method of the shown result: select it and compute it."""
        index = self.method_choice.findData(method)
        if index >= 0:
            self.method_choice.setCurrentIndex(index)
            self.explain()

    def _shown_pixels(self, image: MedicalImage, frame: int) -> np.ndarray | str:
        """The frame as it may be shown; in presentation mode with burned-in text masked (checked in a worker),
        or why it is not shown."""
        if not self.context.settings.presentation_mode:
            return image.display_frame(frame)
        cleaned = self.context.pixel_guard().cleaned(image, frame)
        if cleaned is None:
            return "being checked for burned-in text"
        return cleaned.pixels if cleaned.pixels is not None else f"not shown in presentation mode: {cleaned.problem}"

    def _redisplay(self) -> None:
        if self.current is not None and self.context.settings.presentation_mode:
            self.display(*self.current)

    def _text_fallback(self, explanation: Explanation, why: str) -> None:
        values = np.asarray(explanation.values).reshape(-1)
        labels = explanation.labels or []
        rows = sorted(zip(labels, values, strict=True), key=lambda r: -abs(float(r[1])))[:30]
        body = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{float(v):+.4f}</td></tr>" for k, v in rows)
        self.text_view.setHtml(
            f"<p><i>Plain view ({html.escape(why)}).</i></p><p>{html.escape(explanation.method)} for "
            f"{html.escape(explanation.target)}</p><table>{body}</table>"
        )
        self.views.setCurrentWidget(self.text_view)

    def _show_image_only(self, prediction: Prediction) -> None:
        self.current = None
        self.viewer_button.setEnabled(False)
        self.faithfulness.setText("No explanation yet: choose a method and an output, then Explain.")
        found = image_for(self.session, prediction)
        if found is None:  # a note or record result: no view may go on showing another result's explanation,
            self.text_view.clear()  # nor empty picture panes that belong to a radiograph
            self.views.setCurrentWidget(self.text_view)
            return
        gray = self._shown_pixels(*found)
        if isinstance(gray, str):
            self.map_view.clear()
            self.faithfulness.setText(f"The picture is {gray}.")
        elif gray.ndim == 2:
            self.map_view.set_content(gray, None)
        self.views.setCurrentWidget(self.map_view)

    def show_on_viewer(self) -> None:
        """Hand the map to the Images tab's heatmap layer, when that viewer offers one."""
        if self.current is None:
            return
        prediction, explanation = self.current
        found = image_for(self.session, prediction)
        label = f"{method_name(explanation.method)}: {explanation.target}"
        if found is None or not self.context.navigation.show_overlay(found[0], found[1],
                                                                     np.array(explanation.values, copy=True), label):
            self.status.say(self.session.current_patient_id, "The Images viewer cannot show overlays in this build.")
