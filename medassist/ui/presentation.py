"""Presentation mode: larger type for a projector, and no patient identifiers on screen.

What may be shown is decided in core (:class:`medassist.privacy.ShownPolicy`, from
``context.shown()``): views name the patient with its ``label``, pass dates, ages, file names
and free text through it, and show pictures through the pixel guard (burned-in text masked).
Views whose text comes whole from elsewhere (treatment options, result cards) hand their
widgets to :func:`apply_policy`, which passes every text they show through the same policy.
Switching the mode refreshes every tab.
"""

from __future__ import annotations

import re
from typing import Callable

from PySide6.QtWidgets import QAbstractButton, QLabel, QTextEdit, QTreeWidget, QTreeWidgetItemIterator, QWidget

from medassist import paths
from medassist.privacy import ShownPolicy

_TEXT_BETWEEN_TAGS = re.compile(r"(^|>)([^<]+)")


def style_sheet(presentation: bool) -> str:
    """The application style sheet, with the presentation overrides appended when asked."""
    styles = paths.resources_dir() / "styles"
    names = ["medassist.qss"] + (["presentation.qss"] if presentation else [])
    return "\n".join((styles / name).read_text(encoding="utf-8") for name in names if (styles / name).exists())


def _rich(text: str, scrub: Callable[[str], str]) -> str:
    """``scrub`` applied to the words of rich text only, never to its tags (a colour "#486581" is no number)."""
    return _TEXT_BETWEEN_TAGS.sub(lambda m: m[1] + scrub(m[2]), text) if "<" in text else scrub(text)


def apply_policy(root: QWidget, shown: ShownPolicy) -> None:
    """Every text ``root`` and its children show (labels, buttons, tooltips, tree items, rich text)
    through ``shown``; nothing changes outside presentation mode."""
    if not shown.presenting:
        return
    scrub = shown.text
    for widget in [root, *root.findChildren(QWidget)]:
        if widget.toolTip():
            widget.setToolTip(_rich(widget.toolTip(), scrub))
        if isinstance(widget, (QLabel, QAbstractButton)) and widget.text():
            widget.setText(_rich(widget.text(), scrub))
        elif isinstance(widget, QTextEdit) and widget.toPlainText():
            widget.setHtml(_rich(widget.toHtml(), scrub))
        elif isinstance(widget, QTreeWidget):
            items = QTreeWidgetItemIterator(widget)
            while items.value() is not None:
                item = items.value()
                for column in range(widget.columnCount()):
                    if item.text(column):
                        item.setText(column, scrub(item.text(column)))
                    if item.toolTip(column):
                        item.setToolTip(column, scrub(item.toolTip(column)))
                items += 1
