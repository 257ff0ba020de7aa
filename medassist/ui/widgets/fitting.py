"""Layouts that hold from 1024x700 to 1920x1080, at normal and presentation type size.

A tab's minimum width is the sum of what it cannot give up; these helpers keep that sum under a
1024 px window at presentation size (17 pt) without fixed pixel widths:

* :class:`FlowLayout` lays a row of controls out left to right and wraps onto a new line when the row
  is narrower than the controls (Qt's flow layout example, with expanding controls sharing a line's
  spare width); :func:`labelled` keeps a caption on the same line as its control.
* :class:`ElidedLabel` is one line that shortens with "…" when it has less room than its text, with the
  full text in its tooltip (the status bar's texts, which must never widen the window).
* :func:`fit_combo` lets a combo box shrink below its longest item (Qt elides the current text) and
  keeps the full current text in its tooltip.
* :func:`proportions` keeps a splitter's panes in proportion when the window is resized;
  :func:`wrap_items` makes a list's items wrap at its width.
* :class:`VerticalScroll` scrolls its content vertically, never horizontally, and lays it out again when
  shown; :class:`FitScrollArea` asks for its content's full height while the window has room and scrolls
  when it has not, down to a share of the window's height.
* :class:`ColumnFitter` sizes an item view's columns to their content, gives the rest to one column
  that wraps or elides (the model's tooltip holds the full text), and hides only the columns named
  optional that the view has no room for, so the view never needs a horizontal scrollbar and a
  clinical number is never behind one.
"""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import QEvent, QMargins, QObject, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLayout,
    QLayoutItem,
    QListView,
    QScrollArea,
    QSplitter,
    QFrame,
    QSizePolicy,
    QTableView,
    QTreeView,
    QWidget,
)


class FlowLayout(QLayout):
    """Items left to right at their preferred width, wrapping onto the next line when the line is full;
    a line's spare width goes to its horizontally expanding items. Height follows the width
    (``heightForWidth``), so a parent box layout gives the wrapped lines the room they need."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self.setSpacing(6)
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 (Qt API)
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 (Qt API)
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 (Qt API)
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 (Qt API)
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt API)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt API)
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 (Qt API)
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        """Everything on one line."""
        shown = self._shown()
        width = sum(item.sizeHint().width() for item in shown) + self.spacing() * max(len(shown) - 1, 0)
        height = max((item.sizeHint().height() for item in shown), default=0)
        return QSize(width, height).grownBy(self.contentsMargins())

    def minimumSize(self) -> QSize:  # noqa: N802 (Qt API)
        """The widest single item: anything wider wraps."""
        size = QSize()
        for item in self._shown():
            size = size.expandedTo(item.minimumSize())
        return size.grownBy(self.contentsMargins())

    def _shown(self) -> list[QLayoutItem]:
        return [item for item in self._items if not item.isEmpty()]

    def _arrange(self, rect: QRect, move: bool) -> int:
        """Place the items in ``rect`` (or only measure, ``move=False``); returns the height used."""
        margins: QMargins = self.contentsMargins()
        area = rect.marginsRemoved(margins)
        space = self.spacing()
        lines: list[list[tuple[QLayoutItem, int]]] = [[]]
        used = 0
        for item in self._shown():
            width = max(min(item.sizeHint().width(), area.width()), item.minimumSize().width())
            if lines[-1] and used + space + width > area.width():
                lines.append([])
                used = 0
            used += (space if lines[-1] else 0) + width
            lines[-1].append((item, width))
        y = area.y()
        for line in (line for line in lines if line):
            spare = area.width() - sum(width for _, width in line) - space * (len(line) - 1)
            growing = [item for item, _ in line if item.expandingDirections() & Qt.Orientation.Horizontal]
            widths = [width + (spare // len(growing) if spare > 0 and item in growing else 0) for item, width in line]
            heights = [item.heightForWidth(width) if item.hasHeightForWidth() else item.sizeHint().height()
                       for (item, _), width in zip(line, widths, strict=True)]
            height = max(heights)
            x = area.x()
            for (item, _), width, item_height in zip(line, widths, heights, strict=True):
                if move:
                    item.setGeometry(QRect(QPoint(x, y + (height - item_height) // 2), QSize(width, item_height)))
                x += width + space
            y += height + space
        return y - space - rect.y() + margins.bottom() if y > area.y() else margins.top() + margins.bottom()


class VerticalScroll(QScrollArea):
    """``content`` scrolled vertically when its place is shorter than it, never horizontally (it is as wide
    as its place: its text wraps)."""

    def __init__(self, content: QWidget) -> None:
        super().__init__()
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        # text set (or type resized) while a hidden tab held it: Qt skipped laying the content out then and does
        # not on show, so wrapped lines kept their old heights and the last ones were cut off: lay it out now
        layout = self.widget().layout()
        if layout is not None:
            layout.invalidate()
            layout.activate()


def wrap_items(view: QListView) -> QListView:
    """A list whose items wrap at its width, laid out again whenever that width changes (never scrolled
    sideways)."""
    view.setWordWrap(True)
    view.setResizeMode(QListView.ResizeMode.Adjust)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return view


def proportions(splitter: QSplitter, *weights: int) -> QSplitter:
    """The splitter's panes in these proportions of whatever size it has now and after every resize
    (sizes alone hold only until the first resize, which goes to the panes with a stretch factor)."""
    for index, weight in enumerate(weights):
        splitter.setStretchFactor(index, weight)
    splitter.setSizes([weight * 1000 for weight in weights])
    return splitter


def labelled(caption: str, widget: QWidget) -> QWidget:
    """``caption`` and ``widget`` as one item, so a flow layout never wraps a caption away from its control."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(QLabel(caption))
    row.addWidget(widget, 1)
    box.setSizePolicy(widget.sizePolicy().horizontalPolicy(), QSizePolicy.Policy.Preferred)
    return box


def flow_row(*widgets: QWidget) -> FlowLayout:
    """A :class:`FlowLayout` holding ``widgets`` in order."""
    row = FlowLayout()
    for widget in widgets:
        row.addWidget(widget)
    return row


class ElidedLabel(QLabel):
    """One line of plain text that gives up width down to six characters, drawn elided ("…") when
    shorter than the text; the tooltip holds the full text."""

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt API)
        super().setText(text)
        self.setToolTip(text)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(self.fontMetrics().horizontalAdvance("x" * 6), super().minimumSizeHint().height())

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        rect = self.contentsRect()
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(rect, int(self.alignment()),
                         self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width()))
        painter.end()


def fit_combo(combo: QComboBox, characters: int = 14) -> QComboBox:
    """Let ``combo`` shrink to about ``characters`` characters (it asks for its longest item when there is
    room, in a :class:`FlowLayout`, by expanding) and keep its full current text in its tooltip."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(characters)
    combo.setSizePolicy(QSizePolicy.Policy.Expanding, combo.sizePolicy().verticalPolicy())
    def follow() -> None:
        combo.setToolTip(combo.currentText())

    combo.currentIndexChanged.connect(follow)
    model = combo.model()  # its signals still come while a caller blocks the combo's own
    for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset, model.dataChanged):
        signal.connect(follow)
    return combo


class FitScrollArea(VerticalScroll):
    """Text above a view that must keep most of the window: as tall as the text at the current width while
    that is at most ``share`` of the window's height, else the whole lines that fit in it (at least three), scrolled
    vertically. Call ``updateGeometry()`` after its text changes."""

    def __init__(self, content: QWidget, share: float = 0.3) -> None:
        super().__init__(content)
        self.share = share
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)

    def _content_height(self) -> int:
        content = self.widget()
        width = max(self.viewport().width(), 1)
        return content.heightForWidth(width) if content.hasHeightForWidth() else content.sizeHint().height()

    def _most(self) -> int:
        """Whole lines (at least three) within ``share`` of the window's height: no line shown cut in half."""
        line = self.fontMetrics().lineSpacing()
        return max(int(self.window().height() * self.share / line), 3) * line + 4

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(super().sizeHint().width(), min(self._content_height(), self._most()))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(super().minimumSizeHint().width(), min(self._content_height(), self._most()))

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        self.window().installEventFilter(self)  # its share follows the window's height (installed once by Qt)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if watched is self.window() and event.type() == QEvent.Type.Resize:
            self.updateGeometry()
        return False

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self.updateGeometry()  # wrapped text changes height with the width


class ColumnFitter(QObject):
    """Keeps an item view's columns within its width, refitted whenever the view is resized.

    Every column is shown at its content width (header included) except ``stretch``, which takes what
    is left (optional columns are hidden to leave it ``stretch_minimum`` characters) and wraps (a
    word-wrapping view or delegate) or elides (its tooltip holds the full text), and the ``optional`` columns, shown in that order while they fit
    beside the rest and hidden when they do not: only columns whose content is said elsewhere (a
    tooltip, a detail pane) are optional, never one with a clinical number or a warning. ``hidden_columns``
    names those hidden now. Content widths are measured again by ``fit(remeasure=True)`` (after the rows
    change) and when the view's font changes (presentation mode). ``caps`` gives a column the most
    characters of width it takes (longer text wraps or elides).
    """

    def __init__(self, view: QTableView | QTreeView, stretch: int, optional: Sequence[int] = (),
                 stretch_minimum: int = 12, caps: dict[int, int] | None = None) -> None:
        super().__init__(view)
        self.view = view
        self.stretch = stretch
        self.optional = list(optional)
        self.stretch_minimum = stretch_minimum
        self.caps = caps or {}
        self.hidden_columns: list[int] = []
        self._widths: dict[int, int] = {}
        self._fitting = self._again = False
        self._fitted_width = -1
        header = self.header
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        for watched in (view, view.viewport(), view.verticalScrollBar()):
            watched.installEventFilter(self)

    @property
    def header(self) -> QHeaderView:
        view = self.view
        return view.header() if isinstance(view, QTreeView) else view.horizontalHeader()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        kind = event.type()
        if watched is self.view and kind in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.fit(remeasure=True)
        elif kind in (QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.Hide):
            self.fit()  # the view or its viewport resized or shown, or the vertical scrollbar came or went
        return False

    def _measure(self, column: int) -> int:
        """The column's widest text (of the rows Qt samples) or its header, whichever is wider, plus room."""
        view, header = self.view, self.header
        metrics = view.fontMetrics()
        cap = self.caps.get(column)
        width = max(view.sizeHintForColumn(column), header.sectionSizeHint(column))
        if cap is not None:
            width = min(width, metrics.horizontalAdvance("x" * cap))
            if column == 0 and isinstance(view, QTreeView):  # the branch indicator and the child's indent
                width += view.indentation() * (2 if view.rootIsDecorated() else 1)
        return max(width + metrics.horizontalAdvance("x"), header.minimumSectionSize())  # the header's floor

    def fit(self, remeasure: bool = False) -> None:
        """Fit the columns to the view's current width (again if fitting them showed or hid the vertical
        scrollbar, which changes that width)."""
        model = self.view.model()
        if model is None:
            return
        if self._fitting:  # the viewport changed while fitting: fit once more when done
            self._again = True
            return
        self._fitting = True
        try:
            if remeasure or len(self._widths) != model.columnCount():
                for column in self.hidden_columns:  # Qt measures a hidden column (and its header) as 0 wide
                    self.header.setSectionHidden(column, False)
                self._widths = {c: self._measure(c) for c in range(model.columnCount())}
            self._again, tries = True, 0
            while (self._again or self._fitted_width != self._room()) and tries < 4:
                self._again, tries = False, tries + 1
                self._fitted_width = self._room()
                self._fit_to(self._fitted_width)
        finally:
            self._fitting = False

    def _room(self) -> int:
        """The viewport's width less the vertical scrollbar's even while it is hidden: wrapped rows that make it
        come and go would otherwise refit the columns back and forth."""
        view = self.view
        scrollbar = view.verticalScrollBar()
        hidden = not scrollbar.isVisible() and view.verticalScrollBarPolicy() != Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        return view.viewport().width() - (scrollbar.sizeHint().width() if hidden else 0)

    def _fit_to(self, available: int) -> None:
        """Show, hide and size the columns for ``available`` pixels."""
        header, widths = self.header, self._widths
        metrics = self.view.fontMetrics()
        floor = min(widths[self.stretch], metrics.horizontalAdvance("x" * self.stretch_minimum))
        used = floor + sum(width for column, width in widths.items()
                           if column != self.stretch and column not in self.optional)
        self.hidden_columns = []
        for column in self.optional:
            if used + widths[column] <= available:
                used += widths[column]
            else:
                self.hidden_columns.append(column)
        for column, width in widths.items():
            header.setSectionHidden(column, column in self.hidden_columns)
            if column != self.stretch and column not in self.hidden_columns:
                header.resizeSection(column, width)
        # what is left, even below its minimum (to six characters) when the columns always shown leave less:
        # more lines, never cut off at the right
        header.resizeSection(self.stretch, max(available - used + floor, min(floor, metrics.horizontalAdvance("x" * 6))))
        self.view.doItemsLayout()  # row heights for the new widths (wrapped text)
