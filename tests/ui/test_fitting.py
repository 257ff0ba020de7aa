"""The layout helpers on their own (medassist/ui/widgets/fitting.py): a row of controls wraps instead of
widening its window; an item view keeps every column that is not optional in view, squeezing the
stretching column rather than pushing it off to the right."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QPushButton, QTableView, QWidget

from medassist.ui.widgets.fitting import ColumnFitter, flow_row


def test_a_row_of_controls_wraps_instead_of_asking_for_more_width(qtbot):
    box = QWidget()
    qtbot.addWidget(box)
    buttons = [QPushButton(f"Action number {n}") for n in range(6)]
    row = flow_row(*buttons)
    box.setLayout(row)
    widest = max(button.sizeHint().width() for button in buttons)
    one_line = row.heightForWidth(row.sizeHint().width())
    # a box as narrow as the widest button holds the row: one button a line, six lines
    assert row.minimumSize().width() == widest
    assert row.heightForWidth(widest) >= 6 * buttons[0].sizeHint().height() > one_line


def _table(qtbot, width: int) -> tuple[QTableView, ColumnFitter]:
    model = QStandardItemModel(0, 5)
    model.setHorizontalHeaderLabels(["Observation", "Value", "Date", "Reference for age and sex", "H/L"])
    model.appendRow([QStandardItem(t) for t in ("Estimated glomerular filtration rate", "50 mL/min/1.73 m\u00b2",
                                                "2026-12-06", "60-200 mL/min/1.73 m\u00b2 (adult)", "L")])
    view = QTableView()
    view.setWordWrap(True)
    view.setModel(model)
    qtbot.addWidget(view)
    fitter = ColumnFitter(view, stretch=0, optional=[3, 2])
    view.resize(width, 200)
    view.show()
    qtbot.waitExposed(view)
    fitter.fit(remeasure=True)
    return view, fitter


@pytest.mark.parametrize("width", [320, 245])  # at 245 px the name is squeezed below its 12 characters
def test_a_narrow_table_hides_only_optional_columns_and_keeps_the_value_and_flag_in_view(qtbot, width):
    wide, wide_fitter = _table(qtbot, 1400)
    assert wide_fitter.hidden_columns == []
    narrow, fitter = _table(qtbot, width)
    header = narrow.horizontalHeader()
    assert fitter.hidden_columns == [3, 2]  # the reference range and the date: said elsewhere
    right = narrow.viewport().width()
    for column in (0, 1, 4):  # the name, the value with its unit, the H/L flag
        assert not header.isSectionHidden(column)
        assert header.sectionViewportPosition(column) + header.sectionSize(column) <= right, column
    assert not narrow.horizontalScrollBar().isVisible()
