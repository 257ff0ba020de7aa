"""Presentation mode is a privacy mode: walk every tab of the real window with the demo loaded,
collect every text a viewer could read (labels, buttons, item models, tooltips, titles, plot
and viewer text, the tag browser, the report preview) and search it for the demo patients'
identifiers, their initials, the featured patient's exact age, the true dates of the record and
of the films, the films' institution and UIDs; the films' burned-in text is masked."""

from __future__ import annotations

import datetime as dt
import io
import re

import numpy as np
import pandas as pd
import pypdf
import pytest
from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QGraphicsView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTabBar,
    QTextEdit,
    QWidget,
)

from medassist.demo import build_demo
from medassist.inference.applicability import newest_note
from medassist.domain.prediction import Explanation, GateVerdict, Prediction
from medassist.privacy import date_shift_days, identifiers_of

SHOTS = "/tmp/shots-presentation"
ROLES = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole)


def columns(model: QAbstractItemModel, parent: QModelIndex) -> int:
    try:
        return model.columnCount(parent)
    except TypeError:  # list models keep columnCount private: one column
        return 1


def model_texts(model: QAbstractItemModel, parent: QModelIndex = QModelIndex()) -> list[str]:
    texts = []
    for row in range(model.rowCount(parent)):
        for column in range(columns(model, parent)):
            index = model.index(row, column, parent)
            texts += [str(v) for role in ROLES if (v := model.data(index, role)) is not None]
            if column == 0 and model.rowCount(index) > 0:
                texts += model_texts(model, index)
    for column in range(columns(model, parent)):
        texts += [str(v) for role in ROLES if (v := model.headerData(column, Qt.Orientation.Horizontal, role)) is not None]
    return texts


def widget_texts(root: QWidget) -> list[str]:
    """Everything readable in ``root`` and its children, shown or not (a hidden widget can be shown)."""
    texts = [root.windowTitle(), root.toolTip()]
    for widget in [root, *root.findChildren(QWidget)]:
        texts += [widget.toolTip(), widget.windowTitle(), widget.accessibleName()]
        if isinstance(widget, (QLabel, QAbstractButton)):
            texts.append(widget.text())
        if isinstance(widget, QLineEdit):
            texts += [widget.text(), widget.placeholderText()]
        if isinstance(widget, (QTextEdit, QPlainTextEdit)):
            texts.append(widget.toPlainText())
        if isinstance(widget, QComboBox):
            texts += [widget.itemText(i) for i in range(widget.count())]
        if isinstance(widget, QTabBar):
            texts += [t for i in range(widget.count()) for t in (widget.tabText(i), widget.tabToolTip(i))]
        if isinstance(widget, QAbstractItemView) and widget.model() is not None:
            texts += model_texts(widget.model())
        if isinstance(widget, QGraphicsView) and widget.scene() is not None:
            for item in widget.scene().items():
                for attribute in ("toPlainText", "text"):
                    value = getattr(item, attribute, None)
                    if callable(value):
                        try:
                            texts.append(str(value()))
                        except TypeError:
                            pass
                texts.append(item.toolTip())
    return [t for t in texts if t]


def demo_identifiers(session) -> dict[str, re.Pattern[str]]:
    """Each identifier of each demo patient (record and image headers) -> a whole-token pattern."""
    found: dict[str, re.Pattern[str]] = {}
    records = session.records

    def add(value: str, case_sensitive: bool = True) -> None:
        value = str(value).strip()
        if len(value) >= 2:
            flags = 0 if case_sensitive else re.I
            found[value] = re.compile(r"(?<![\w])" + re.escape(value) + r"(?![\w])", flags)

    for patient_id in records.patient_ids:
        ids = identifiers_of(records, patient_id)
        for name in ids.names:
            add(name, case_sensitive=False)
            for part in name.split():
                add(part)  # capitalised name words; the ordinary lower-case word ("normal") is not the name
        for identifier in ids.ids:
            add(identifier, case_sensitive=False)
        if ids.birth_date is not None:
            for form in (ids.birth_date.isoformat(), f"{ids.birth_date:%d.%m.%Y}", f"{ids.birth_date:%m/%d/%Y}",
                         f"{ids.birth_date:%Y%m%d}", f"{ids.birth_date:%d %B %Y}"):
                add(form)
    for patient_id in records.patient_ids:  # initials are identifiers too ("A.S.", DICOM "C.R.")
        for name in identifiers_of(records, patient_id).names:
            parts = name.split()
            if len(parts) >= 2:
                found[f"{parts[0][0]}.{parts[-1][0]}."] = re.compile(
                    r"(?<![\w.])" + re.escape(f"{parts[0][0]}.{parts[-1][0]}.") + r"(?![\w])")
    for images in session.images.values():
        for image in images:
            dataset = image.metadata.get("dataset")
            for keyword in ("InstitutionName", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
                value = str(getattr(dataset, keyword, "") or "").strip()
                if len(value) >= 8:
                    add(value, case_sensitive=False)
            name = str(image.metadata.get("patient_name") or "").split()
            if len(name) >= 2 and name[0][0].isalpha() and name[-1][0].isalpha():
                found[f"{name[-1][0]}.{name[0][0]}."] = re.compile(  # DICOM names are family^given
                    r"(?<![\w.])" + re.escape(f"{name[-1][0]}.{name[0][0]}.") + r"(?![\w])", re.I)
            for key in ("patient_name", "patient_id", "patient_birth_date"):
                value = str(image.metadata.get(key) or "")
                # the public sample files carry IDs like "0010" and names like "OB": too short to tell from
                # the tag numbers and value representations the tag browser rightly shows
                if len(value) >= 3 and not (value.isdigit() and len(value) < 5):
                    add(value, case_sensitive=False)  # whole: the sample names' words ("NAME", "Stroke") are ordinary
    return found


def leaks(texts: list[str], identifiers: dict[str, re.Pattern[str]]) -> dict[str, str]:
    out = {}
    for text in texts:
        for value, pattern in identifiers.items():
            if pattern.search(text):
                out.setdefault(value, text[:120])
    return out


def add_results(session, patient_id: str) -> None:
    """Results as the models leave them (sources name the note ID and the image file), without running torch."""
    note = newest_note(session, patient_id)
    words = note.text.split()[:12]
    image = session.images[patient_id][0]
    session.add_prediction(Prediction(
        model="notes-problems", version="1.0.0", weights_sha256="a" * 64, task="text-classification", device="CPU",
        source=note.source, input_sha256="b" * 64, outputs={"Mode of onset: acute": 0.729, "pneumonia": 0.912},
        thresholds={"Mode of onset: acute": 0.5, "pneumonia": 0.5}, positive=["pneumonia"], patient_id=patient_id,
        explanations=[Explanation("Integrated Gradients", "pneumonia", "token_scores",
                                  np.linspace(-1, 1, len(words)).astype(np.float32), labels=words)]))
    session.add_prediction(Prediction(
        model="cxr-pneumonia", version="1.0.0", weights_sha256="c" * 64, task="image-classification", device="CPU",
        source=str(image.path), input_sha256=image.sha256 or "d" * 64, outputs={"pneumonia": 0.873},
        thresholds={"pneumonia": 0.41}, positive=["pneumonia"], gate=GateVerdict(0.02, 0.06, True, "frontal chest radiograph"),
        patient_id=patient_id))
    session.add_prediction(Prediction(
        model="heart-disease", version="1.0.0", weights_sha256="e" * 64, task="tabular-classification", device="CPU",
        source=f"record of patient {patient_id}", input_sha256="f" * 64, outputs={"heart disease": 0.334},
        thresholds={"heart disease": 0.5}, positive=[], patient_id=patient_id))


@pytest.fixture()
def demo_window(window, qtbot):
    window.resize(1400, 900)
    window.start_demo()
    qtbot.waitUntil(lambda: window.session.demo and not window.context.runner.running, timeout=120000)
    demo = build_demo()  # after the demo job: importing pydicom from two threads at once can half-initialise it
    featured = demo.featured_patient_id
    window.session.set_current_patient(featured)
    # the featured patient has no film of their own: lend them the demo's film, so that the viewer corners,
    # the tags, the image sources and the film-mismatch warning are walked too
    lent = next(images for images in window.session.images.values() if images)
    ultrasound = next(i for images in window.session.images.values() for i in images if i.path.name == "US1_UNCR.dcm")
    window.session.add_images([lent[0], ultrasound], featured)  # and an ultrasound with burned-in text
    qtbot.waitUntil(lambda: bool(window.session.current_images()), timeout=120000)
    add_results(window.session, featured)
    window.set_presentation_mode(True)
    return window


def walk(window, qtbot, shots: str | None = None) -> list[str]:
    """Visit every tab (Records' inner sections too) and return every text seen on the way."""
    texts = []
    records = window.tab_pages["Records"]
    qtbot.waitUntil(lambda: records.list_ready, timeout=30000)
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        page = window.tabs.currentWidget()
        if page is window.tab_pages["Report"]:
            qtbot.waitUntil(lambda report=page: report.pdf is not None and not report.rendering, timeout=60000)
            pdf = pypdf.PdfReader(io.BytesIO(page.pdf))
            texts += [p.extract_text() for p in pdf.pages] + [str(pdf.metadata.title), str(pdf.metadata.subject)]
        if page is records:
            for section in range(records.panel.sections.count()):
                records.panel.sections.setCurrentIndex(section)
                qtbot.wait(20)
                texts += widget_texts(window)
        qtbot.wait(50)
        texts += widget_texts(window)
        if shots:
            window.grab().save(f"{shots}/{window.tabs.tabText(index)}.png")
    return texts


def true_dates(window, patient_id: str) -> dict[str, re.Pattern[str]]:
    """The featured patient's true dates (record and films) in the spellings the views use; a true date that
    is also another date of the record moved by the offset is left out (it may rightly be shown)."""
    records = window.session.records
    when: set[dt.date] = set()
    for table, column in (("conditions", "onset"), ("medications", "start"), ("notes", "date"), ("encounters", "start")):
        when |= {pd.Timestamp(v).date() for v in records.for_patient(table, patient_id)[column].dropna()}
    films = set()
    for image in window.session.images.get(patient_id, []):
        value = str(image.metadata.get("study_date") or "")
        if len(value) == 8:
            films.add(dt.date(int(value[:4]), int(value[4:6]), int(value[6:])))
    shift = dt.timedelta(days=date_shift_days(patient_id))
    shifted = {d + shift for d in when | films}
    found = {}
    for day in (when | films) - shifted:
        for form in {day.isoformat(), f"{day.day} {day:%B %Y}", f"{day:%d-%b-%y}".upper()}:
            found[form] = re.compile(r"(?<![\w-])" + re.escape(form) + r"(?![\w-])", re.I)
    for day in films - shifted:
        found[f"{day:%Y%m%d}"] = re.compile(r"(?<!\d)" + f"{day:%Y%m%d}" + r"(?!\d)")
    return found


def exact_age(window, patient_id: str) -> dict[str, re.Pattern[str]]:
    birth = pd.Timestamp(window.session.records.patient_row(patient_id)["birth_date"]).date()
    today = dt.date.today()
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    return {f"{age} y": re.compile(rf"(?<![\d-]){age}(?:\.\d+)?\s*(?:y|yrs?|years?)\b(?!\s*-\s*\d)(?!-)"),
            f"aged {age}": re.compile(rf"\baged?\s*:?\s*{age}\b(?!\s*-)", re.I)}


def test_no_view_shows_an_identifier_in_presentation_mode(demo_window, qtbot):
    import os

    os.makedirs(SHOTS, exist_ok=True)
    window = demo_window
    featured = window.session.current_patient_id
    identifiers = demo_identifiers(window.session)
    assert "Arthur" in identifiers and "DEMO-01" in identifiers and "A.S." in identifiers  # the search finds what it must
    assert "BAPTIST MED CTR" in identifiers  # the ultrasound's institution
    forbidden = {**identifiers, **true_dates(window, featured), **exact_age(window, featured)}
    viewer = window.tab_pages["Images"].viewer
    texts = walk(window, qtbot, SHOTS)
    window.tabs.setCurrentWidget(window.tab_pages["Images"])
    window.tab_pages["Images"].side.setCurrentIndex(1)  # the tag browser: through the confidentiality profile
    for image in window.session.current_images():
        window.tab_pages["Images"].show_image(image)
        qtbot.waitUntil(lambda: not viewer.canvas.notice.isVisible(), timeout=60000)  # checked for burned-in text
        texts += widget_texts(window)
        if image.path.name == "US1_UNCR.dcm":
            assert viewer.canvas.mask_item.isVisible()  # its burned-in text is masked
            window.grab().save(f"{SHOTS}/Images-ultrasound.png")
    viewer.demographics_action.trigger()  # even if the presenter shows the corners again
    texts += [label.text() for label in viewer.canvas.corners.values()]
    texts += [QApplication.instance().activeWindow().windowTitle() if QApplication.instance().activeWindow() else ""]
    found = leaks(texts, forbidden)
    assert not found, "\n".join(f"{value!r} in {text!r}" for value, text in found.items())
    assert window.context.shown("DEMO-01").label() in window.banner.identity.text()


def test_the_same_walk_finds_identifiers_outside_presentation_mode(demo_window, qtbot):
    """The walk is able to see identifiers: with presentation mode off, they are all over the screen."""
    window = demo_window
    window.set_presentation_mode(False)
    found = leaks(walk(window, qtbot), demo_identifiers(window.session))
    assert {"Arthur", "Sample", "DEMO-01", "DEMO-01-N01"} <= set(found)
    birth = pd.Timestamp(window.session.records.patient_row("DEMO-01")["birth_date"]).date().isoformat()
    assert birth in found


def test_presentation_mode_keeps_the_window_on_screen_and_off_restores_it(demo_window, qtbot):
    """Larger type wraps or scrolls instead of widening the window past the screen; turning the mode
    off gives back exactly the geometry it had before."""
    window = demo_window
    window.set_presentation_mode(False)
    window.resize(1024, 700)
    qtbot.wait(50)
    before = window.geometry()
    window.set_presentation_mode(True)
    walk(window, qtbot)  # every tab at presentation size
    widest = {title: page.minimumSizeHint().width() for title, page in window.tab_pages.items()}
    widest["banner"] = window.banner.minimumSizeHint().width()
    assert window.width() <= before.width() and window.height() <= before.height(), widest
    window.set_presentation_mode(False)
    qtbot.wait(50)
    assert window.geometry() == before
