"""A note with each word highlighted by its score, switchable between the evidence of one problem,
Integrated Gradients and attention rollout (Explanations tab, kind ``token_scores``).

Evidence (the default) marks what a suggestion rests on: green the mention and its sentence that
are the patient's, grey struck-through mentions of the same problem that are negated, family
history, hypothetical, uncertain or a past episode. Integrated Gradients is signed: red words raised
the problem's score, blue words lowered it. Attention rollout is unsigned and class-agnostic:
orange shows where the encoder looked. The view asks for a method it has not been given via
:attr:`method_requested`; the tab computes it in a worker and calls :meth:`show_explanation` again.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QLabel, QRadioButton, QTextBrowser, QVBoxLayout, QWidget

from medassist.domain.tasks import Method, method_name
from medassist import DECISION_SUPPORT_NOTICE
from medassist.domain.prediction import Explanation, Prediction
from medassist.ui.widgets.fitting import flow_row

NOTE_METHODS = (Method.EVIDENCE, Method.INTEGRATED_GRADIENTS, Method.ATTENTION_ROLLOUT)


def word_colour(score: float, scale: float, signed: bool) -> str | None:
    """CSS background for a word, or None when it is too faint to matter."""
    strength = min(abs(score) / scale, 1.0) if scale > 0 else 0.0
    if strength < 0.08:
        return None
    alpha = 0.15 + 0.75 * strength
    if not signed:
        return f"rgba(255, 140, 0, {alpha:.2f})"
    return f"rgba(220, 40, 40, {alpha:.2f})" if score > 0 else f"rgba(40, 100, 230, {alpha:.2f})"


def evidence_style(score: float) -> str | None:
    """CSS for a word of an evidence view: the mention, its sentence, or a mention not taken."""
    if score >= 1.0:
        return "background-color:rgba(30,150,60,0.55); font-weight:bold"
    if score > 0:
        return "background-color:rgba(30,150,60,0.18)"
    if score <= -1.0:
        return "background-color:rgba(120,120,120,0.35); text-decoration:line-through"
    if score < 0:
        return "background-color:rgba(120,120,120,0.12)"
    return None


def highlighted_html(text: str, spans: list[tuple[int, int]], scores: np.ndarray, signed: bool,
                     evidence: bool = False) -> str:
    """The note as HTML with every scored word wrapped in a coloured span; layout kept."""
    scores = np.asarray(scores, dtype=float)
    scale = float(np.percentile(np.abs(scores), 99)) if len(scores) else 0.0
    parts: list[str] = []
    cursor = 0
    for (start, end), score in zip(spans, scores, strict=True):
        parts.append(html.escape(text[cursor:start]))
        word = html.escape(text[start:end])
        if evidence:
            style = evidence_style(float(score))
        else:
            colour = word_colour(float(score), scale, signed)
            style = f"background-color:{colour}" if colour else None
        parts.append(f'<span style="{style}">{word}</span>' if style else word)
        cursor = end
    parts.append(html.escape(text[cursor:]))
    body = "".join(parts).replace("\n", "<br>")
    return f'<div style="font-size:11pt; line-height:140%">{body}</div>'


class TokenScoresView(QWidget):
    """Highlighted note text for one prediction, one explanation per method."""

    method_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._explanations: dict[str, Explanation] = {}
        self._prediction: Prediction | None = None
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight: bold")
        self.buttons = QButtonGroup(self)
        switch = flow_row(QLabel("Highlight by:"))  # wraps under a narrow window instead of widening it
        for method, title in ((m.value, m.display_name) for m in NOTE_METHODS):
            button = QRadioButton(title)
            button.setObjectName(method)
            self.buttons.addButton(button)
            switch.addWidget(button)
            button.toggled.connect(lambda checked, m=method: checked and self._switch(m))
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        notice = QLabel(DECISION_SUPPORT_NOTICE)
        notice.setWordWrap(True)
        notice.setStyleSheet("color: #8a6d00")
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(switch)
        layout.addWidget(self.legend)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.summary)
        layout.addWidget(notice)

    @property
    def method(self) -> str | None:
        checked = self.buttons.checkedButton()
        return checked.objectName() if checked else None

    def show_explanation(self, prediction: Prediction, explanation: Explanation) -> None:
        """Show ``explanation`` (kept, so switching back to its method needs no new run)."""
        if self._prediction is not prediction or any(e.target != explanation.target for e in self._explanations.values()):
            self._explanations = {}
        self._prediction = prediction
        self._explanations[explanation.method] = explanation
        button = self.findChild(QRadioButton, explanation.method)
        if button is not None and not button.isChecked():
            button.blockSignals(True)
            button.setChecked(True)
            button.blockSignals(False)
        self._render(explanation)

    def _switch(self, method: str) -> None:
        if method in self._explanations:
            self._render(self._explanations[method])
        else:
            self.legend.setText(f"Computing {method_name(method)}...")
            self.method_requested.emit(method)

    def _render(self, explanation: Explanation) -> None:
        prediction = self._prediction
        names = prediction.extra.get("label_names", {}) if prediction else {}
        target = names.get(explanation.target, explanation.target)
        probability = prediction.outputs.get(explanation.target) if prediction else None
        shown = f" - {probability:.0%}" if probability is not None and not prediction.refused else ""
        model = prediction.model if prediction else ""
        self.title.setText(f"{model}: {target}{shown}  ({method_name(explanation.method)})")
        signed = explanation.method == "integrated_gradients"
        evidence = explanation.method == "evidence"
        if evidence:
            self.legend.setText(
                "<span style='background:rgba(30,150,60,.55)'>&nbsp;<b>green</b>&nbsp;</span> the mention and sentence "
                f"the suggestion of <b>{html.escape(target)}</b> rests on; "
                "<span style='background:rgba(120,120,120,.35)'>&nbsp;<s>grey</s>&nbsp;</span> mentions that are not the "
                "patient's problem now (negated, family history, hypothetical, uncertain, past episode).")
        elif signed:
            self.legend.setText(
                "<span style='background:rgba(220,40,40,.6)'>&nbsp;red&nbsp;</span> words raised the score for "
                f"<b>{html.escape(target)}</b>, <span style='background:rgba(40,100,230,.6)'>&nbsp;blue&nbsp;</span> "
                "lowered it (its evidence sentences read alone).")
        else:
            self.legend.setText(
                "<span style='background:rgba(255,140,0,.6)'>&nbsp;orange&nbsp;</span> words are where the encoder looked "
                "(attention rollout; the same for every problem).")
        words = explanation.labels or []
        text = explanation.extra.get("text") or " ".join(words)
        spans = [tuple(s) for s in explanation.extra.get("spans", [])]
        if not spans:
            spans, cursor = [], 0
            for word in words:
                start = text.index(word, cursor)
                spans.append((start, start + len(word)))
                cursor = start + len(word)
        values = np.asarray(explanation.values, dtype=float)
        self.text.setHtml(highlighted_html(text, spans, values, signed, evidence))
        if evidence:
            self.summary.setText(evidence_summary(explanation.extra.get("evidence", []), target))
            return
        order = np.argsort(-values if signed else -np.abs(values))[:8]
        top = ", ".join(html.escape(words[i].strip(".,;:()")) for i in order if values[i] > 0 or not signed)
        faith = explanation.faithfulness or {}
        gap = f"; completeness gap {faith['completeness_gap']:.3f} logit" if "completeness_gap" in faith else ""
        read = f"; attributed: {html.escape(explanation.extra['attributed'])}" if "attributed" in explanation.extra else ""
        self.summary.setText(f"Strongest words: {top}<br><small>{explanation.elapsed_ms / 1000:.1f} s{gap}{read}</small>")


def evidence_summary(mentions: list[dict], target: str) -> str:
    """The sentences a problem is mentioned in, each with its status, as short HTML lines."""
    if not mentions:
        return f"The note does not mention {html.escape(target)}: nothing is suggested."
    lines = []
    for mention in mentions:
        status = "past episode" if mention["assertion"] == "historical" else mention["assertion"]
        mark = "evidence" if mention.get("patients_problem") else f"mentioned, {status}"
        lines.append(f"<b>{html.escape(mark)}</b>: {html.escape(mention['sentence'])}")
    return "<br>".join(lines[:8]) + (f"<br>... and {len(lines) - 8} more" if len(lines) > 8 else "")
