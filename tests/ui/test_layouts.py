"""Layouts hold at 1024x700 and at 1920x1080, presentation mode on and off (issue 27).

One real window with the demo loaded (results for several demo patients, a film whose header does not
match, studies on the worklist) is walked over every tab, the Records tab's sections and the Images
tab's DICOM tags, for demo patients 01, 02, 03, 04, 07, 20 and 21. On every page:

* every label, button, check box and combo box shown has room for its text: it fits its width, or it
  wraps into the height it was given, or it is elided with the full text in its tooltip; and it lies
  within the window, cut by nothing but the vertical scrolling of a scroll area (a long page scrolls
  down; nothing is hidden to the right);
* every cell of a table or tree shown (finding and drug names, values with their units, scores) fits its
  column, or wraps within its row, or holds its full text in its tooltip; and its column is within the
  view's width; every column heading shown fits its column;
* no scroll area, table or tree shows a horizontal scrollbar (pictures and plots pan, they are left out);
* the window is still the size it was given: no page asked for more.

Each failure names the size, mode, patient, page and text. Texts with a clinical number (a percentage, a
value with its unit, a score) are counted, so that the walk is seen to look at them. The 1024x700 walks run
in the default suite; the 1920x1080 walks are marked slow (``pytest -m slow``).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import pytest
from PySide6.QtCore import QModelIndex, QPoint, QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QApplication,
    QComboBox,
    QGraphicsView,
    QLabel,
    QLineEdit,
    QStyle,
    QStyleOptionComboBox,
    QTableView,
    QTreeView,
    QWidget,
)

from medassist.domain.prediction import GateVerdict, Prediction
from medassist.inference.applicability import newest_note

PATIENTS = ("DEMO-01", "DEMO-02", "DEMO-03", "DEMO-04", "DEMO-07", "DEMO-20", "DEMO-21")
# every patient at the small size, where space runs out; at the large, the featured patient, a film, heart-failure
# pillars and a severe pneumonia with sepsis signs
WALKS = {(1024, 700): PATIENTS, (1920, 1080): ("DEMO-01", "DEMO-03", "DEMO-07", "DEMO-21")}
# a percentage, a value with its unit, or a named score with its points
CLINICAL_NUMBER = re.compile(
    r"\d(?:[\d.,]*)\s*(?:%|mmol/L|mL/min|mg/dL|mg/L|g/dL|µmol/L|umol/L|mmHg|/min|kg|°C|mg/g|mg/mmol|points?\b|pt\b)"
    r"|\b(?:CURB-65|CRB-65|NEWS2|qSOFA|PSI|CHA2DS2-VASc?|HAS-BLED|KDIGO)\b[^.;]*\d", re.I)
TAGS = re.compile(r"<[^>]+>")


@dataclass
class Walk:
    """What one walk saw: each problem once (with the first text it was seen on and how often), and how
    many texts with a clinical number were checked."""

    where: str = ""
    seen: dict[str, tuple[str, int]] = field(default_factory=dict)
    numbers: int = 0

    def problem(self, widget: QWidget, why: str, text: str) -> None:
        key = f"{self.where}: {type(widget).__name__} {why}"
        first, count = self.seen.get(key, (text, 0))
        self.seen[key] = (first, count + 1)

    @property
    def problems(self) -> list[str]:
        return [f"{key}: {text[:90]!r}" + (f" (and {count - 1} more)" if count > 1 else "")
                for key, (text, count) in self.seen.items()]


def wait_until(condition, timeout_s: float = 120.0) -> None:
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the window did not settle")
        QTest.qWait(20)


def settle(window) -> None:
    """Every job finished, its result shown, and every posted layout request handled."""
    for _ in range(2):
        wait_until(lambda: not window.context.runner.running)
        QTest.qWait(30)
    QApplication.sendPostedEvents()


def plain(text: str) -> str:
    return " ".join(TAGS.sub(" ", text.replace("&nbsp;", " ").replace("&middot;", "·")).split())


def in_tooltip(text: str, tooltip: str) -> bool:
    return bool(tooltip) and plain(text) in plain(tooltip)


def cut(widget: QWidget, window: QWidget) -> tuple[bool, bool]:
    """Whether ``widget`` is cut (left-right, top-bottom) by the window or any widget it sits in; a cut by a
    scroll area's viewport top-bottom is scrolling, not a cut."""
    rect = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
    visible = rect & window.rect()
    scrolled = False
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        area = parent.parentWidget()
        if isinstance(area, QAbstractScrollArea) and parent is area.viewport():
            scrolled = True
        visible &= QRect(parent.mapTo(window, QPoint(0, 0)), parent.size())
        parent = parent.parentWidget()
    if visible.isEmpty():
        return (False, False) if scrolled else (True, True)
    return visible.width() < rect.width(), visible.height() < rect.height() and not scrolled


def check_label(walk: Walk, label: QLabel) -> None:
    text = label.text()
    if not text or label.pixmap() is not None and not label.pixmap().isNull():
        return
    if in_tooltip(text, label.toolTip()):
        return  # elided (or may be), the whole text a hover away
    if label.wordWrap():
        # wide enough for its longest word, and tall enough for its lines at its width
        if label.minimumSizeHint().width() > label.width() + 1:
            walk.problem(label, f"has a word wider than its {label.width()} px", plain(text))
        elif label.heightForWidth(label.width()) > label.height() + 1:
            walk.problem(label, f"needs {label.heightForWidth(label.width())} px of height, has {label.height()}",
                         plain(text))
    elif label.sizeHint().width() > label.width() + 1 or label.sizeHint().height() > label.height() + 1:
        walk.problem(label, f"is cut: needs {label.sizeHint().toTuple()}, has {label.size().toTuple()}", plain(text))


def check_button(walk: Walk, button: QAbstractButton) -> None:
    if button.text() and button.sizeHint().width() > button.width() + 1 and not in_tooltip(button.text(), button.toolTip()):
        walk.problem(button, f"is cut: needs {button.sizeHint().width()} px, has {button.width()}", button.text())


def check_combo(walk: Walk, combo: QComboBox) -> None:
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    field_rect = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                              QStyle.SubControl.SC_ComboBoxEditField, combo)
    text = combo.currentText()
    if combo.fontMetrics().horizontalAdvance(text) > field_rect.width() and not in_tooltip(text, combo.toolTip()):
        walk.problem(combo, f"elides its choice in {field_rect.width()} px without a tooltip", text)


def check_line_edit(walk: Walk, edit: QLineEdit) -> None:
    hint = edit.placeholderText()
    if hint and not edit.text() and edit.fontMetrics().horizontalAdvance(hint) > edit.width() - 14 \
            and not in_tooltip(hint, edit.toolTip()):
        walk.problem(edit, f"cuts its placeholder at {edit.width()} px without a tooltip", hint)


def columns(model, parent: QModelIndex) -> int:
    try:
        return model.columnCount(parent)
    except TypeError:  # list models keep columnCount private: one column
        return 1


def indexes(view: QAbstractItemView, parent: QModelIndex = QModelIndex()):
    """Every index whose row is shown (expanded parents only), each column."""
    model = view.model()
    for row in range(model.rowCount(parent)):
        if isinstance(view, QTreeView) and view.isRowHidden(row, parent):
            continue
        for column in range(columns(model, parent)):
            yield model.index(row, column, parent)
        first = model.index(row, 0, parent)
        if isinstance(view, QTreeView) and view.isExpanded(first):
            yield from indexes(view, first)


def check_view(walk: Walk, view: QAbstractItemView) -> None:
    model, viewport = view.model(), view.viewport()
    if model is None:
        return
    header = view.header() if isinstance(view, QTreeView) else view.horizontalHeader() if isinstance(view, QTableView) else None
    if header is not None and header.isVisible():
        metrics = header.fontMetrics()
        for column in range(header.count()):
            title = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
            if title and not header.isSectionHidden(column) and \
                    metrics.horizontalAdvance(title) + 8 > header.sectionSize(column) and \
                    not in_tooltip(title, str(model.headerData(column, Qt.Orientation.Horizontal,
                                                               Qt.ItemDataRole.ToolTipRole) or "")):
                walk.problem(view, f"cuts its column {column}'s heading ({header.sectionSize(column)} px)", title)
    for index in indexes(view):
        if header is not None and header.isSectionHidden(index.column()):
            continue
        rect = view.visualRect(index)
        if isinstance(view, QTreeView) and index.column() == 0 and view.isFirstColumnSpanned(index.row(), index.parent()):
            rect.setRight(viewport.width() - 1)
        if rect.isEmpty() or rect.bottom() < 0 or rect.top() > viewport.height():
            continue  # scrolled out of view (up or down), or a cell under a spanned heading
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        if not text:
            continue
        walk.numbers += bool(CLINICAL_NUMBER.search(text))
        if rect.left() < 0 or rect.right() > viewport.width():
            walk.problem(view, f"has column {index.column()} outside its {viewport.width()} px", text)
            continue
        tooltip = str(index.data(Qt.ItemDataRole.ToolTipRole) or "")
        font = index.data(Qt.ItemDataRole.FontRole)
        metrics = QFontMetrics(QFont(font).resolve(view.font()) if font is not None else view.font())
        room = rect.width() - 8 - (view.iconSize().width() if index.data(Qt.ItemDataRole.DecorationRole) is not None else 0)
        lines = text.split("\n")
        if max(metrics.horizontalAdvance(line) for line in lines) <= room:
            continue
        if view.wordWrap():
            wrapped = metrics.boundingRect(QRect(0, 0, max(room, 1), 100_000), int(Qt.TextFlag.TextWordWrap), text)
            if wrapped.width() <= room + 1 and wrapped.height() <= rect.height() + 2:
                continue
        if in_tooltip(text, tooltip):
            continue
        walk.problem(view, f"cuts a cell of column {index.column()} ({room} px)", text)


def walk_page(walk: Walk, window, page: QWidget) -> None:
    """Check every widget shown on ``page`` and the patient banner."""
    for root in (window.banner, page):
        for widget in [root, *root.findChildren(QWidget)]:
            if not widget.isVisible():
                continue
            text = ""
            if isinstance(widget, QLabel):
                text = widget.text()
                check_label(walk, widget)
            elif isinstance(widget, QAbstractButton):
                text = widget.text()
                check_button(walk, widget)
            elif isinstance(widget, QComboBox):
                text = widget.currentText()
                check_combo(walk, widget)
            elif isinstance(widget, QLineEdit):
                check_line_edit(walk, widget)
            if isinstance(widget, (QLabel, QAbstractButton, QComboBox, QLineEdit)):
                walk.numbers += bool(CLINICAL_NUMBER.search(plain(text)))
                across, down = cut(widget, window)
                if across or down:
                    walk.problem(widget, f"is cut by what holds it ({'left-right' if across else 'top-bottom'})",
                                 plain(text) or widget.objectName())
            if isinstance(widget, QAbstractItemView):
                check_view(walk, widget)
            if isinstance(widget, QAbstractScrollArea) and not isinstance(widget, QGraphicsView) \
                    and widget.horizontalScrollBar().isVisible():
                walk.problem(widget, "shows a horizontal scrollbar", widget.objectName())


def open_tab(window, title: str) -> QWidget:
    page = window.build_tab(title)
    window.tabs.setCurrentWidget(page)
    settle(window)
    return page


def walk_window(window, width: int, height: int, presenting: bool, patients=PATIENTS) -> Walk:
    walk = Walk()
    window.set_presentation_mode(presenting)
    window.resize(width, height)
    settle(window)
    for number, patient in enumerate(patients):
        window.session.set_current_patient(patient)
        settle(window)
        for index in range(window.tabs.count()):
            title = window.tabs.tabText(index)
            if title == "Report" and number > 0:
                continue  # pages scaled to the preview's width, the same for every patient: rendered once a walk
            page = open_tab(window, title)
            walk.where = f"{width}x{height} {'presenting' if presenting else 'normal'} {patient} {title}"
            if title == "Report":
                wait_until(lambda report=page: report.pdf is not None and not report.rendering and not report.stale)
                settle(window)
            if title == "Records":
                sections = page.panel.sections
                for section in range(sections.count()):
                    sections.setCurrentIndex(section)
                    QTest.qWait(10)
                    walk.where = f"{width}x{height} {'presenting' if presenting else 'normal'} {patient} " \
                                 f"Records/{sections.tabText(section)}"
                    walk_page(walk, window, page)
                sections.setCurrentIndex(0)
                continue
            if title == "Images" and page.showing_content:
                for side in range(page.side.count()):
                    page.side.setCurrentIndex(side)
                    QTest.qWait(10)
                    walk_page(walk, window, page)
                page.side.setCurrentIndex(0)
                continue
            walk_page(walk, window, page)
    assert window.size().toTuple() == (width, height), f"the window grew to {window.size().toTuple()}"
    return walk


def results_for(session, patient_id: str) -> None:
    """Results as the models leave them, without running torch: a note's problems (if the patient has a
    note), a film (the patient's, else another patient's: a header that does not match), a record model."""
    note = newest_note(session, patient_id)
    if note is not None:
        session.add_prediction(Prediction(
            model="notes-problems", version="2.0.0", weights_sha256="a" * 64, task="text-classification",
            device="CPU", source=note.source, input_sha256="b" * 64,
            outputs={"pneumonia": 0.912, "Mode of onset: acute": 0.729, "hypertension": 0.184},
            thresholds={"pneumonia": 0.5, "Mode of onset: acute": 0.5, "hypertension": 0.5},
            positive=["pneumonia"], patient_id=patient_id))
    image = (session.images.get(patient_id) or [next(i for images in session.images.values() for i in images)])[0]
    session.add_prediction(Prediction(
        model="cxr-pneumonia", version="2.2.0", weights_sha256="c" * 64, task="image-classification", device="CPU",
        source=str(image.path), input_sha256=image.sha256 or "d" * 64,
        outputs={"pneumonia": 0.873, "bacterial": 0.61, "viral": 0.39}, thresholds={"pneumonia": 0.41},
        positive=["pneumonia"], gate=GateVerdict(0.02, 0.06, True, "frontal chest radiograph"), patient_id=patient_id))
    session.add_prediction(Prediction(
        model="heart-disease", version="1.0.0", weights_sha256="e" * 64, task="tabular-classification", device="CPU",
        source=f"record of patient {patient_id}", input_sha256="f" * 64, outputs={"heart disease": 0.334},
        thresholds={"heart disease": 0.5}, positive=[], patient_id=patient_id,
        missing_inputs=["Maximum heart rate achieved (exercise test)", "Thallium stress test"]))


def fill_worklist(session) -> None:
    """Three studies on the worklist: positive, negative, refused by the input gate."""
    from medassist.hospital.store import ObjectHeader, StudyStore

    store = StudyStore()
    image = next(i for images in session.images.values() for i in images)
    for number, (probability, accepted) in enumerate(((0.873, True), (0.12, True), (0.5, False)), start=1):
        prediction = Prediction(
            model="cxr-pneumonia", version="2.2.0", weights_sha256="c" * 64, task="image-classification", device="CPU",
            source=str(image.path), input_sha256="d" * 64, outputs={"pneumonia": probability},
            thresholds={"pneumonia": 0.308}, positive=["pneumonia"] if probability > 0.308 else [],
            gate=GateVerdict(0.02, 0.06, accepted, "frontal chest radiograph" if accepted else "not a chest radiograph"))
        header = ObjectHeader(sop_instance_uid=f"1.2.826.0.1.3680043.8.498.{number}1",
                              sop_class_uid="1.2.840.10008.5.1.4.1.1.1.1",
                              study_instance_uid=f"1.2.826.0.1.3680043.8.498.{number}2",
                              series_instance_uid=f"1.2.826.0.1.3680043.8.498.{number}3",
                              patient_id=f"WL-{number:04d}", patient_name=f"Worklist^Patient{number}",
                              study_date="20260309", modality="DX", view_position="PA", accession_number=f"ACC{number:06d}")
        store.add_analysed(header, image.path, "folder /demo", "cxr-pneumonia", "scored" if accepted else "refused",
                           prediction)


@pytest.fixture(scope="module")
def demo_window(qapp, tmp_path_factory):
    """One window for every walk: the demo, results for each walked patient, studies on the worklist."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MEDASSIST_HOME", str(tmp_path_factory.mktemp("layout-home")))
        from medassist.ui.app import create_window

        window = create_window()
        window.show()
        window.start_demo()
        wait_until(lambda: window.session.demo and not window.context.runner.running, 300)
        for patient in PATIENTS:
            results_for(window.session, patient)
        fill_worklist(window.session)
        window.build_tab("Worklist").refresh()
        settle(window)
        yield window
        window.set_presentation_mode(False)
        window.context.runner.shutdown(10000)
        window.close()


@pytest.mark.parametrize("presenting", [False, True], ids=["normal", "presenting"])
@pytest.mark.parametrize("width, height", [  # the small size, where room runs out, in the default suite
    pytest.param(1024, 700, id="1024x700"), pytest.param(1920, 1080, id="1920x1080", marks=pytest.mark.slow)])
def test_every_tab_keeps_its_text_readable_and_in_view(demo_window, width, height, presenting):
    walk = walk_window(demo_window, width, height, presenting, WALKS[width, height])
    assert not walk.problems, f"{len(walk.problems)} problems:\n" + "\n".join(walk.problems[:40])
    assert walk.numbers > 100  # the walk did look at percentages, values with units and scores
