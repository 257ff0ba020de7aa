"""Attribution bar chart for a structured-data prediction (Explanations tab, kind ``feature_scores``).

One row per input: its clinical name and the value used with its unit, and a bar from the zero
line (red raised the risk, blue lowered it, in probability points). Missing inputs are listed
below the chart, never drawn as if they had a value. When the answer is within
``MEANINGFUL_CHANGE`` of the training-average patient's, no bars are drawn and the view says why.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from medassist import DECISION_SUPPORT_NOTICE
from medassist.domain.prediction import Explanation, Prediction
from medassist.domain.result_text import attributions_withheld, percent, refusal_text

RAISES = QColor(205, 45, 45)
LOWERS = QColor(45, 105, 215)


class AttributionChart(QWidget):
    """Horizontal bars around a zero line, labelled with feature names, values and attributions."""

    ROW = 26
    LABEL_WIDTH = 330
    VALUE_WIDTH = 70

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, float]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_rows(self, rows: list[tuple[str, float]]) -> None:
        self.rows = rows
        self.setMinimumHeight(self.ROW * max(len(rows), 1) + 30)
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(760, self.ROW * max(len(self.rows), 1) + 30)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), self.palette().base())
        if not self.rows:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No known inputs to attribute")
            return
        left = self.LABEL_WIDTH
        right = self.width() - self.VALUE_WIDTH - 10
        zero = (left + right) / 2
        half = max((right - left) / 2, 10)
        biggest = max(abs(v) for _, v in self.rows) or 1.0
        font = QFont(painter.font())
        painter.setFont(font)
        text_pen = QPen(self.palette().text().color())
        for i, (label, value) in enumerate(self.rows):
            top = 8 + i * self.ROW
            painter.setPen(text_pen)
            painter.drawText(QRectF(6, top, left - 12, self.ROW), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                             painter.fontMetrics().elidedText(label, Qt.TextElideMode.ElideMiddle, left - 12))
            width = half * abs(value) / biggest
            bar = QRectF(zero if value >= 0 else zero - width, top + 5, width, self.ROW - 10)
            painter.fillRect(bar, RAISES if value >= 0 else LOWERS)
            painter.drawText(QRectF(right + 6, top, self.VALUE_WIDTH, self.ROW), Qt.AlignmentFlag.AlignVCenter,
                             f"{value * 100:+.1f} pt")
        painter.setPen(QPen(QColor(120, 120, 120), 1))
        painter.drawLine(int(zero), 4, int(zero), 8 + len(self.rows) * self.ROW)
        painter.drawText(QRectF(left, 8 + len(self.rows) * self.ROW, right - left, 20), Qt.AlignmentFlag.AlignCenter,
                         "<- lowers risk        raises risk ->")


class FeatureScoresView(QWidget):
    """Per-feature attributions with the values used and the inputs that were missing."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight: bold")
        self.subtitle = QLabel()
        self.subtitle.setWordWrap(True)
        self.chart = AttributionChart()
        self.withheld: str | None = None
        scroll = self.chart_area = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.chart)
        self.missing = QLabel()
        self.missing.setWordWrap(True)
        self.missing.setObjectName("missingInputs")
        self.missing.setStyleSheet("color: #9a3b00")
        self.footer = QLabel()
        self.footer.setWordWrap(True)
        notice = QLabel(DECISION_SUPPORT_NOTICE)
        notice.setWordWrap(True)
        notice.setStyleSheet("color: #8a6d00")
        for label in (self.title, self.subtitle, self.missing, self.footer):
            label.setTextFormat(Qt.TextFormat.PlainText)  # clinical text such as "> 120 mg/dL" shown as written
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.missing)
        layout.addWidget(self.footer)
        layout.addWidget(notice)

    def show_explanation(self, prediction: Prediction, explanation: Explanation) -> None:
        names = explanation.labels or []
        values = np.asarray(explanation.values, dtype=float)
        descriptions = explanation.extra.get("descriptions", {})
        shown = explanation.extra.get("inputs_shown", {})
        inputs = explanation.inputs or {}
        refusal = refusal_text(prediction)
        label = explanation.target
        positive_class = prediction.extra.get("positive_class", label)
        if refusal is not None:
            self.title.setText(f"{positive_class}: {refusal}")
        else:
            self.title.setText(f"{positive_class}: {percent(prediction.outputs[label])}")
        faith = explanation.faithfulness or {}
        withheld = attributions_withheld(explanation)
        self.withheld = withheld
        if withheld:
            self.chart.set_rows([])
            self.subtitle.setText(withheld)
        else:
            known = [i for i, name in enumerate(names) if inputs.get(name) is not None]
            known.sort(key=lambda i: -abs(values[i]))
            self.chart.set_rows([(f"{descriptions.get(names[i], names[i])} = {shown.get(names[i], inputs[names[i]])}", float(values[i]))
                                 for i in known])
            self.subtitle.setText(
                f"Integrated Gradients from the training-average patient ({percent(faith.get('baseline_probability', float('nan')))}) "
                f"to this patient ({percent(faith.get('probability', float('nan')))}); bars add up to the difference "
                f"(gap {faith.get('completeness_gap', float('nan')) * 100:.2f} points). Source: {prediction.source}."
            )
        self.chart_area.setVisible(not withheld)
        missing = explanation.extra.get("missing_inputs") or prediction.missing_inputs
        self.missing.setText(
            f"Missing inputs ({len(missing)}), not used and not guessed: " + "; ".join(missing)
            if missing else "All inputs were available."
        )
        problems = prediction.extra.get("record_problems") or []
        self.footer.setText("\n".join(problems))
