"""The clinical picture in the Records tab: headline values with their sources and dates, problems by
concept with their evidence, what this episode's notes state, the care setting the scores suggest,
the sepsis signs and a Scores panel (each score's value, items, missing items, band and citation);
and the latest values table with H/L flags for the patient's age and sex.

Every sentence comes from :mod:`medassist.domain.result_text`; this module only lays them out.
Amber marks what needs attention (a high score, a sepsis sign, a flagged value): red is kept for
suggested findings (docs/decisions.md).
"""

from __future__ import annotations

import html
from typing import Callable

from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QTableWidgetItem, QTextBrowser

from medassist.clinical.ranges import flagged_values
from medassist.domain.clinical import ClinicalPicture, ScoreResult
from medassist.domain.result_text import (
    care_setting_text,
    fact_line,
    measurement_text,
    picture_rows,
    problem_line,
    range_text,
    score_item_line,
    score_sentence,
)

ATTENTION = "#a15c00"
_LEVEL_COLOURS = {"high": ATTENTION, "moderate": "#6b5a00", "low": "#2e5e2e", "unknown": "#444"}

Shown = Callable[[str], str]


def _e(text: str, shown: Shown) -> str:
    return html.escape(shown(text))


def _score_line(score: ScoreResult, shown: Shown) -> str:
    return f"<b style='color:{_LEVEL_COLOURS[score.level]}'>{_e(score_sentence(score), shown)}</b>"


def _score_details(score: ScoreResult, shown: Shown) -> str:
    items = "".join(f"<li>{_e(score_item_line(i, bool(score.stage)), shown)}</li>" for i in score.items)
    return (f"<p style='margin:6px 0 2px 0'><b>{html.escape(score.name)}</b></p><ul style='margin-top:0'>{items}</ul>"
            f"<p style='margin:0 0 6px 20px; color:#555; font-size:small'>Source: {html.escape(score.citation)}</p>")


def picture_html(picture: ClinicalPicture, shown: Shown = lambda text: text) -> str:
    """The whole picture as one HTML page (``shown`` de-identifies text in presentation mode)."""
    rows = "".join(f"<tr><td style='padding-right:10px'><b>{html.escape(label)}</b></td><td>{_e(text, shown)}</td></tr>"
                   for label, text in picture_rows(picture))
    parts = [f"<table cellspacing='2'>{rows}</table>"]
    setting = picture.care_setting
    setting_colour = ATTENTION if setting.suggested in ("inpatient", "severe") else "#222"
    parts.append(f"<h3 style='margin-bottom:2px'>Care setting</h3><p style='color:{setting_colour}'>"
                 f"{_e(care_setting_text(setting), shown)}</p>")
    if picture.sepsis_signs:
        signs = "".join(f"<li><b>{_e(sign, shown)}</b></li>" for sign in picture.sepsis_signs)
        parts.append(f"<h3 style='margin-bottom:2px; color:{ATTENTION}'>Sepsis signs</h3><ul>{signs}</ul>")
    scores = "".join(f"<li>{_score_line(score, shown)}</li>" for score in picture.scores.values())
    skipped = "".join(f"<li>{html.escape(name)} not computed: {_e(why, shown)}</li>"
                      for name, why in picture.not_scored.items())
    parts.append(f"<h3 style='margin-bottom:2px'>Scores</h3><ul>{scores + skipped or '<li>No score applies.</li>'}</ul>")
    problems = "".join(f"<li>{_e(problem_line(p), shown)}</li>" for p in picture.problems) or "<li>none recorded</li>"
    parts.append(f"<h3 style='margin-bottom:2px'>Active problems (by concept, with evidence)</h3><ul>{problems}</ul>")
    if picture.facts:
        stated = "".join(f"<li>{_e(fact_line(n, f), shown)}</li>" for n, f in picture.facts.items())
        parts.append(f"<h3 style='margin-bottom:2px'>Stated in this episode</h3><ul>{stated}</ul>")
    if picture.scores:
        parts.append("<h3 style='margin-bottom:2px'>Score details: points, values, sources, missing items</h3>")
        parts += [_score_details(score, shown) for score in picture.scores.values()]
    return "".join(parts)


class PictureView(QTextBrowser):
    """The picture as a scrollable page; :attr:`picture` is what it shows."""

    def __init__(self) -> None:
        super().__init__()
        self.picture: ClinicalPicture | None = None
        self.setOpenLinks(False)
        self.setPlaceholderText("No patient selected.")

    def show_picture(self, picture: ClinicalPicture | None, shown: Shown = lambda text: text) -> None:
        self.picture = picture
        if picture is None:
            self.clear()
            return
        bar = self.verticalScrollBar().value()
        self.setHtml(picture_html(picture, shown))
        self.verticalScrollBar().setValue(bar)


def latest_value_rows(picture: ClinicalPicture) -> list[tuple[list[str], str, str]]:
    """(cells, flag, the range's source) per measure for the latest-values table: measure, value, date,
    reference, flag."""
    rows = []
    for row in flagged_values(picture):
        reference = (f"{range_text(row.reference.low, row.reference.high, row.value.unit)} ({row.reference.short})"
                     if row.reference is not None else row.note)
        date = row.value.date.isoformat() if row.value.date else "undated"
        source = row.reference.source if row.reference is not None else row.note
        rows.append(([row.description, measurement_text(row.value), date, reference, row.flag], row.flag, source))
    return rows


def flag_item(item: QTableWidgetItem, flag: str) -> None:
    """Bold amber for a value outside the range for the patient's age and sex."""
    if flag:
        font = QFont(item.font())
        font.setBold(True)
        item.setFont(font)
        item.setForeground(QBrush(QColor(ATTENTION)))
