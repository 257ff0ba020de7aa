"""The Diagnosis tab: run every model that applies to the current image, all of the patient's
images, or the whole patient, in a worker; show each result with probability bars, the
operating threshold, the input gate's verdict and the model card one click away.

Any :class:`~medassist.domain.prediction.Prediction` renders here, whatever model made it.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from medassist import DECISION_SUPPORT_NOTICE
from medassist.imaging.image import MedicalImage
from medassist.domain.prediction import Prediction, linked_image
from medassist.domain.clinical import FilmIdentity, FilmRelation
from medassist.domain.findings import (
    Finding,
    FindingStatus,
    by_standing,
    findings_by_standing,
    findings_of,
    listed_findings,
)
from medassist.domain.result_text import (
    film_text,
    finding_value_text,
    gate_text,
    note_evidence_lines,
    refusal_text,
    score_text,
    share_lines,
    suggested_text,
)
from medassist.domain.decisions import FindingReview
from medassist.app.analysis import Analysis, analyse_patient
from medassist.jobs import Job
from medassist.ui.attach_film import ask_and_attach
from medassist.ui.context import AppContext
from medassist.ui.dialogs import show_model_card
from medassist.ui.presentation import apply_policy
from medassist.ui.tabs.base import Tab
from medassist.ui.widgets.fitting import fit_combo, flow_row, labelled
from medassist.ui.widgets.patient_status import PatientStatusLabel
from medassist.ui.workers import JobHandle

SCOPE_CURRENT = "Current image"
SCOPE_IMAGES = "All of the patient's images"
SCOPE_PATIENT = "Everything that applies (images, notes, record)"


# Colour follows the finding's status, never its number: red means suggested for the patient now.
STATUS_COLOURS = {
    FindingStatus.SUGGESTED: "#c0392b",
    FindingStatus.NOT_SUGGESTED: "#4a78a8",
    FindingStatus.PRIOR: "#8d96a0",
    FindingStatus.WITHHELD: "#8d96a0",
}
# A result with no answer (refused by its gate, no output) is neutral grey: never red, which means suggested.
NO_ANSWER_COLOUR = "#5f6b7a"


class ProbabilityBar(QWidget):
    """A horizontal bar of a finding's number (probability, or a note head's score) with the operating
    threshold drawn as a tick when there is one; its colour is the finding's status."""

    def __init__(self, finding: Finding) -> None:
        super().__init__()
        withheld = finding.status == FindingStatus.WITHHELD  # a film that may be someone else's: no number at all
        self.probability = 0.0 if withheld else float(finding.score)
        self.threshold = None if withheld else finding.threshold
        self.status = finding.status
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("" if withheld else score_text(finding))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        """Ten characters wide: enough to read a bar against its threshold at any type size."""
        return QSize(self.fontMetrics().horizontalAdvance("x" * 10), 18)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(self.fontMetrics().horizontalAdvance("x" * 30), 18)

    @property
    def colour(self) -> str:
        return STATUS_COLOURS[self.status]

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        rect = QRectF(0, 3, self.width() - 1, self.height() - 7)
        painter.setPen(QPen(QColor("#9aa5b1")))
        painter.setBrush(QColor("#eef1f4"))
        painter.drawRect(rect)
        fill = QRectF(rect.x(), rect.y(), rect.width() * max(0.0, min(1.0, self.probability)), rect.height())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(self.colour))
        painter.drawRect(fill)
        if self.threshold is not None:
            x = rect.x() + rect.width() * self.threshold
            painter.setPen(QPen(QColor("#111111"), 2))
            painter.drawLine(int(x), 0, int(x), self.height())
        painter.end()


class FindingRow(QWidget):
    """A finding as :mod:`medassist.domain.result_text` words it, its number as a bar, and the clinician's verdict."""

    review_requested = Signal(str, str, str)  # finding, "confirmed" | "rejected", note

    def __init__(self, finding: Finding, review: FindingReview | None) -> None:
        super().__init__()
        self.finding = finding
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        name = QLabel(finding.name)
        name.setTextFormat(Qt.TextFormat.PlainText)
        name.setWordWrap(True)
        if finding.counts_now:
            name.setStyleSheet(f"font-weight: bold; color: {STATUS_COLOURS[finding.status]}")
        row.addWidget(name, 2)
        self.bar = ProbabilityBar(finding)
        row.addWidget(self.bar, 3)
        self.value = QLabel(finding_value_text(finding))  # the number and its words: wraps, never cut
        self.value.setTextFormat(Qt.TextFormat.PlainText)
        self.value.setWordWrap(True)
        row.addWidget(self.value, 4)
        layout.addLayout(row)

        self.note: QLineEdit | None = None
        self.status: QLabel | None = None
        if not (finding.counts_now or review):
            return  # only findings that count now (and ones already reviewed) ask for a verdict
        verdict = QHBoxLayout()
        self.note = QLineEdit(review.note if review else "")
        self.note.setPlaceholderText("Clinician's note on this finding (optional)")
        self.confirm_button = QPushButton("Confirm")
        self.reject_button = QPushButton("Reject")
        self.confirm_button.clicked.connect(lambda: self.review_requested.emit(finding.name, "confirmed", self.note.text()))
        self.reject_button.clicked.connect(lambda: self.review_requested.emit(finding.name, "rejected", self.note.text()))
        self.status = QLabel(f"{review.status.capitalize()} by clinician" if review else "Not reviewed")
        self.status.setStyleSheet("color:#1e7b34; font-weight:bold" if review and review.status == "confirmed" else
                                  "color:#b00020; font-weight:bold" if review else "color:#5f6b7a")
        for widget in (self.note, self.confirm_button, self.reject_button, self.status):
            verdict.addWidget(widget, 1 if widget is self.note else 0)
        layout.addLayout(verdict)


class PredictionCard(QFrame):
    """One model result, read the same way for every model (see :mod:`medassist.domain.result_text`):
    where the input came from, whose film and from when, inside/outside the data the model knows,
    findings with their status (suggested, not suggested, prior, withheld) and the clinician's verdict,
    subtype shares only inside their validated population."""

    explain_requested = Signal(object)
    review_requested = Signal(str, str, str, str)  # model, finding, status, note
    attach_requested = Signal(object)  # the Prediction whose film the clinician wants to attach

    def __init__(self, prediction: Prediction, open_card: Callable[[str], None], title: str | None = None,
                 reviews: dict[str, FindingReview] | None = None, source: str | None = None,
                 presenting: bool = False) -> None:
        super().__init__()
        self.prediction = prediction
        reviews = reviews or {}
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        header = QHBoxLayout()
        self.title = QLabel(
            f"{title or prediction.model} (v{prediction.version}) \u00b7 {source if source is not None else _short_source(prediction.source)} "
            f"\u00b7 {prediction.device} \u00b7 {prediction.elapsed_ms:.0f} ms"
        )
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)  # a long title wraps; it never widens the card past the window
        self.title.setStyleSheet("font-weight: bold")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        header.addWidget(self.title, 1)
        card_button = QPushButton("Model card")
        card_button.setToolTip("Intended use, limitations, validation metrics and calibration of this model")
        card_button.clicked.connect(lambda: open_card(prediction.model))
        header.addWidget(card_button)
        self.explain_button = QPushButton("Explain")
        self.explain_button.setEnabled(not prediction.refused)
        self.explain_button.clicked.connect(lambda: self.explain_requested.emit(prediction))
        header.addWidget(self.explain_button)
        layout.addLayout(header)

        film = prediction.film
        self.film_label: QLabel | None = None
        self.attach_button: QPushButton | None = None
        if film is not None:
            text = film_text(film, show_values=not presenting)
            # a film to check is amber (red would say a finding is suggested)
            style = ("color:#8a5a00; font-weight:bold" if film.withheld or film.identity == FilmIdentity.MISMATCH
                     or film.relation == FilmRelation.PRIOR else "color:#5f6b7a")
            self.film_label = self._line(text, style)
            if film.withheld and not prediction.refused:
                self.attach_button = QPushButton("Attach to this patient\u2026")
                self.attach_button.setToolTip("Read this film as the patient's although its header does not match "
                                              "(asks for your reason; recorded in the audit trail)")
                self.attach_button.clicked.connect(lambda: self.attach_requested.emit(prediction))
                layout.addWidget(self.attach_button, 0, Qt.AlignmentFlag.AlignLeft)
        refusal = refusal_text(prediction)
        self.gate_label: QLabel | None = None
        if prediction.gate is not None:
            accepted = prediction.gate.accepted
            self.gate_label = self._line(gate_text(prediction.gate) if accepted else str(refusal),
                                         "color:#1e7b34" if accepted else f"color:{NO_ANSWER_COLOUR}; font-weight:bold")
        notice = prediction.population_notice
        if notice is not None and not prediction.refused:
            self.population_label = self._line(f"Outside the validated population: {notice.message}\n{notice.headline()}",
                                               "color:#8a5a00")
        if prediction.missing_inputs:
            self._line("Missing inputs: " + ", ".join(prediction.missing_inputs), "color:#5f6b7a")
        self.bars: dict[str, ProbabilityBar] = {}
        self.finding_rows: dict[str, FindingRow] = {}
        self.refusal_label: QLabel | None = None
        if refusal is not None:
            self.refusal_label = self.gate_label if prediction.refused else self._line(
                refusal, f"color:{NO_ANSWER_COLOUR}; font-weight:bold")
        listed = listed_findings(prediction)
        listed += [f for f in findings_of(prediction) if f not in listed and f.name in reviews]
        for finding in findings_by_standing(listed):
            row = FindingRow(finding, reviews.get(finding.name))
            row.review_requested.connect(lambda name, status, note: self.review_requested.emit(prediction.model, name, status, note))
            self.bars[finding.label] = row.bar
            self.finding_rows[finding.name] = row
            layout.addWidget(row)
        shares = share_lines(prediction)
        self.shares_label = self._line("; ".join(shares), "color:#5f6b7a") if shares else None
        self.suggested_label: QLabel | None = None
        if refusal is None:
            suggested = suggested_text(prediction)
            self.suggested_label = self._line(suggested, "font-weight:bold" if suggested.startswith("Suggested") else "")
            for line in note_evidence_lines(prediction):
                self._line(line, "color:#5f6b7a")

    def _line(self, text: str, style: str) -> QLabel:
        label = QLabel(text)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.setStyleSheet(style)
        self.layout().addWidget(label)
        return label


def _short_source(source: str) -> str:
    return source.replace("\\", "/").rsplit("/", 1)[-1]


class DiagnosisTab(Tab):
    title = "Diagnosis"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.empty.set_text(
            "No results yet",
            "Load a chest radiograph or a patient record, then run a model here. "
            "Results are decision support, not a diagnosis.",
        )
        self.handle: JobHandle | None = None
        self._dialogs: list[QDialog] = []

        outer = QVBoxLayout(self.content)
        self.notice = QLabel(DECISION_SUPPORT_NOTICE)
        self.notice.setObjectName("decisionSupportNotice")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("background:#fff4ce; padding:4px; border:1px solid #e0c060;")
        outer.addWidget(self.notice)
        self.patient_label = QLabel()
        outer.addWidget(self.patient_label)

        self.scope = fit_combo(QComboBox())
        self.scope.addItems([SCOPE_CURRENT, SCOPE_IMAGES, SCOPE_PATIENT])
        self.scope.setCurrentText(SCOPE_PATIENT)  # what a clinician means by "run the models"; works without a film
        self.image_choice = fit_combo(QComboBox())
        self.run_button = QPushButton("Run models")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.hide()  # shown while models run: idle, it would take a line of a narrow window for nothing
        self.status = PatientStatusLabel()
        self.run_patient: str | None = None  # whose analysis is running (its progress is said about them)
        outer.addLayout(flow_row(labelled("Run on:", self.scope), labelled("Image:", self.image_choice),
                                 self.run_button, self.cancel_button, self.progress))
        outer.addWidget(self.status)

        self.results = QWidget()
        self.results_layout = QVBoxLayout(self.results)
        self.results_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.results)
        outer.addWidget(scroll, 1)

        self._titles: dict[str, str] | None = None
        context.bridge.prediction_added.connect(lambda _p: self.refresh_results())
        context.bridge.decisions_changed.connect(lambda _k: self.refresh_results())
        context.bridge.images_changed.connect(lambda _k: self.refresh_inputs())
        context.bridge.records_changed.connect(self.refresh_inputs)
        self.on_patient_changed(self.session.current_patient_id)

    # state ---------------------------------------------------------------------------------
    def on_patient_changed(self, patient_id: str | None) -> None:
        self.patient_label.setText(f"Patient: {self.context.shown(patient_id).label(with_id=True)}"
                                   if patient_id else "No patient selected")
        self.status.show_patient(patient_id)
        if self.handle is not None and patient_id != self.run_patient:
            self.status.setText("Models are running for another patient; their results go to that patient.")
        self.refresh_inputs()
        self.refresh_results()

    def refresh_inputs(self) -> None:
        current = self.image_choice.currentIndex()
        self.image_choice.clear()
        for image in self.session.current_images():
            self.image_choice.addItem(f"{self.context.shown().file_label(image.path.name)} ({image.modality})")
        if 0 <= current < self.image_choice.count():
            self.image_choice.setCurrentIndex(current)
        has_inputs = bool(self.session.current_images()) or self.session.current_patient_id is not None
        self.run_button.setEnabled(has_inputs and self.handle is None)
        self.show_content(has_inputs or bool(self.session.current_predictions()))

    def refresh_results(self) -> None:
        while self.results_layout.count() > 1:
            item = self.results_layout.takeAt(0)
            widget = item.widget()
            if widget is not None:
                widget.hide()  # gone from view and from the results now, deleted when control returns to the event loop
                widget.setParent(None)
                widget.deleteLater()
        predictions = self.session.current_predictions()
        reviews = self.session.current_finding_reviews()
        # suggested findings first, then results that suggest nothing now, then those with no answer; newest first in each
        for prediction in by_standing(reversed(predictions)):
            shown = self.context.shown(prediction.patient_id)
            source = shown.text(shown.file_label(_short_source(prediction.source)))
            card = PredictionCard(prediction, self.open_card, self.model_title(prediction.model), reviews, source,
                                  shown.presenting)
            apply_policy(card, shown)  # presentation mode: ages banded, dates shifted in the card's sentences
            card.explain_requested.connect(self._explain)
            card.review_requested.connect(self.review)
            card.attach_requested.connect(self.ask_to_attach)
            self.results_layout.insertWidget(self.results_layout.count() - 1, card)
        if predictions:
            self.show_content(True)

    def model_title(self, name: str) -> str:
        """The model's clinical title from its card in the catalogue (read once), else its name."""
        if self._titles is None:
            self._titles = {key: card.title for key, card in self.context.catalogue.cards().items()}
        return self._titles.get(name, name)

    def ask_to_attach(self, prediction: Prediction) -> None:
        """The clinician reads a film whose header does not match as this patient's (with a reason)."""
        found = linked_image(prediction, self.session.current_images())
        if found is None:
            self.context.show_message("Attach film", "The film of this result is no longer loaded.")
            return
        ask_and_attach(self, self.context, found[0])

    def review(self, model: str, finding: str, status: str, note: str) -> None:
        """The clinician's verdict on a finding goes to the session (which tells every tab)."""
        self.session.review_finding(FindingReview(finding, status, note.strip(), model))

    def selected_images(self) -> list[MedicalImage]:
        images = self.session.current_images()
        if self.scope.currentText() == SCOPE_CURRENT:
            index = self.image_choice.currentIndex()
            return [images[index]] if 0 <= index < len(images) else []
        return images

    # running -------------------------------------------------------------------------------
    def run(self) -> None:
        """Submit one worker job that runs every applicable (model, input) pair in turn."""
        if self.handle is not None:
            return
        scope = self.scope.currentText()
        images = self.selected_images()
        patient_id = self.session.current_patient_id
        session = self.session
        context = self.context
        self.run_patient = patient_id

        def make_job() -> Job[Analysis]:
            return analyse_patient(session, context.inference(), patient_id, images=images,
                                   image_models_only=scope != SCOPE_PATIENT)

        self.status.say(patient_id, "Starting...")
        self.progress.setValue(0)
        self.progress.show()
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.handle = self.context.runner.submit(
            "Diagnosis",
            make_job,
            on_result=self._finished,
            on_error=self._failed,
            on_progress=self._progress,
            on_cancelled=self._cancelled,
        )

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.status.say(self.run_patient, "Cancelling...")

    def _progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(100 * fraction))
        self.status.say(self.run_patient, message)

    def _done(self, message: str) -> None:
        self.handle = None
        self.cancel_button.setEnabled(False)
        self.progress.hide()
        self.status.say(self.run_patient, message)
        self.status.show_patient(self.session.current_patient_id)  # "running for another patient" is over
        self.refresh_inputs()

    def _finished(self, analysis: Analysis) -> None:
        note = f" ({analysis.refused} refused by an input gate)" if analysis.refused else ""
        images = "; " + "; ".join(analysis.not_analysed) if analysis.not_analysed else ""
        if analysis.predictions:
            self._done(f"{len(analysis.predictions)} result(s){note}{images}")
        else:
            self._done(("No model could run on these inputs" if analysis.problems else "No model applies to these inputs")
                       + images)
        if analysis.problems:
            self.context.show_message("Diagnosis", "\n".join(analysis.problems))

    def _failed(self, message: str) -> None:
        self._done(f"Failed: {message}")
        self.context.show_message("Diagnosis", message)

    def _cancelled(self) -> None:
        self._done("Cancelled; results finished before the cancel are kept")

    # cards and explanations ------------------------------------------------------------------
    def open_card(self, model: str) -> None:
        dialog = show_model_card(self, model, self.context.catalogue)
        if dialog is None:
            self.context.show_message("Model card", f"The card of '{model}' is not available.")
            return
        self._dialogs = [d for d in self._dialogs if d.isVisible()] + [dialog]

    def _explain(self, prediction: Prediction) -> None:
        self.context.navigation.show_explanation(prediction)
