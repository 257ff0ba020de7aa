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
    """Horizontal bars around a zero line, labelled with feature names, values and attributions.

    Rows, labels and values are sized from the font (presentation mode's large type included): the
    attribution ("+12.3 pt") always has room for its widest form, a label gets what the bars leave up
    to its full text and is elided in the middle beyond that (its full text is the chart's tooltip)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, float]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    @property
    def row_height(self) -> int:
        return self.fontMetrics().height() + 10

    @property
    def value_width(self) -> int:
        return self.fontMetrics().horizontalAdvance("+100.0 pt") + 6

    def label_width(self) -> int:
        """The labels' full width while the bars keep at least a third of the chart, else that share."""
        metrics = self.fontMetrics()
        widest = max((metrics.horizontalAdvance(label) for label, _ in self.rows), default=0) + 12
        return max(min(widest, int((self.width() - self.value_width) * 2 / 3)), 12)

    def set_rows(self, rows: list[tuple[str, float]]) -> None:
        self.rows = rows
        self.setToolTip("\n".join(f"{label}: {value * 100:+.1f} pt" for label, value in rows))
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        metrics = self.fontMetrics()
        widest = max((metrics.horizontalAdvance(label) for label, _ in self.rows), default=0) + 12
        return QSize(widest + self.value_width + metrics.horizontalAdvance("x" * 30), self.minimumSizeHint().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(self.value_width + self.fontMetrics().horizontalAdvance("x" * 24),
                     self.row_height * max(len(self.rows), 1) + self.fontMetrics().height() + 14)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), self.palette().base())
        if not self.rows:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No known inputs to attribute")
            return
        row_height, value_width = self.row_height, self.value_width
        left = self.label_width()
        right = self.width() - value_width - 10
        zero = (left + right) / 2
        half = max((right - left) / 2, 10)
        biggest = max(abs(v) for _, v in self.rows) or 1.0
        font = QFont(painter.font())
        painter.setFont(font)
        text_pen = QPen(self.palette().text().color())
        for i, (label, value) in enumerate(self.rows):
            top = 8 + i * row_height
            painter.setPen(text_pen)
            painter.drawText(QRectF(6, top, left - 12, row_height), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                             painter.fontMetrics().elidedText(label, Qt.TextElideMode.ElideMiddle, left - 12))
            width = half * abs(value) / biggest
            bar = QRectF(zero if value >= 0 else zero - width, top + 5, width, row_height - 10)
            painter.fillRect(bar, RAISES if value >= 0 else LOWERS)
            painter.drawText(QRectF(right + 6, top, value_width, row_height), Qt.AlignmentFlag.AlignVCenter,
                             f"{value * 100:+.1f} pt")
        painter.setPen(QPen(QColor(120, 120, 120), 1))
        painter.drawLine(int(zero), 4, int(zero), 8 + len(self.rows) * row_height)
        painter.drawText(QRectF(left, 8 + len(self.rows) * row_height, right - left, self.fontMetrics().height() + 4),
                         Qt.AlignmentFlag.AlignCenter,
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
