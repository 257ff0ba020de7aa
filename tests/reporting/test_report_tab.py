"""Report tab (live preview, export, de-identify, print), session files and autosave in the real window."""

from __future__ import annotations

import os
import re

import pypdf
import pytest
from PySide6.QtGui import QPageSize
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QMessageBox

from medassist.persistence.autosave import find_crash_recovery
from medassist.persistence.session_file import save_session
from medassist.ui.app import create_window
from medassist.ui.autosave import AutosaveController, offer_restore
from medassist.ui.tabs.report_tab import print_pdf
from tests.reporting.builders import FAMILY, GIVEN, PATIENT, make_session

SHOTS = "/tmp/shots-report"


def text_of(path) -> str:
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in pypdf.PdfReader(path).pages))


@pytest.fixture()
def window(window, tmp_path):
    """The shared main window, sized for page previews, holding the test session."""
    window.resize(1300, 900)
    make_session(tmp_path, window.context.session)
    return window


def report_tab(window, qtbot):
    tab = window.tab_pages["Report"]
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.page_count > 0 and not tab.rendering, timeout=30000)
    return tab


def test_preview_renders_pages_of_the_current_patient(window, qtbot):
    tab = report_tab(window, qtbot)
    assert tab.showing_content and tab.page_count >= 3
    labels = [tab.pages_layout.itemAt(i).widget() for i in range(tab.pages_layout.count())]
    assert len(labels) == tab.page_count and not labels[0].pixmap().isNull()
    assert tab.pdf.startswith(b"%PDF")
    os.makedirs(SHOTS, exist_ok=True)
    qtbot.wait(100)
    window.grab().save(f"{SHOTS}/report_tab.png")


def test_preview_follows_new_decisions(window, qtbot):
    from medassist.domain.decisions import TreatmentDecision

    tab = report_tab(window, qtbot)
    before = tab.pdf
    window.context.session.set_decision(TreatmentDecision("x", "Paracetamol 1 g as needed", "accepted", "for fever"), PATIENT)
    qtbot.waitUntil(lambda: tab.pdf is not before and not tab.rendering, timeout=30000)
    assert b"%PDF" in tab.pdf
    tab.export_pdf(str(window.context.session.images[PATIENT][0].path.parent / "after.pdf"))
    qtbot.waitUntil(lambda: tab.last_export is not None, timeout=30000)
    assert "Paracetamol 1 g as needed" in text_of(tab.last_export)


def test_export_writes_the_report_and_audits_it(window, qtbot, tmp_path):
    tab = report_tab(window, qtbot)
    tab.export_pdf(str(tmp_path / "report"))  # no suffix: .pdf is added
    qtbot.waitUntil(lambda: tab.last_export is not None, timeout=30000)
    assert tab.last_export.name == "report.pdf"
    text = text_of(tab.last_export)
    assert f"{GIVEN} {FAMILY}" in text and "Doxycycline" in text
    events = [e for e in window.context.audit.read() if e["event"] == "report_exported"]
    assert events and events[-1]["patient_id"] == PATIENT and "cxr-pneumonia" in events[-1]["models"]


def test_deidentify_checkbox_changes_preview_and_export(window, qtbot, tmp_path):
    tab = report_tab(window, qtbot)
    tab.deidentify_box.setChecked(True)
    qtbot.waitUntil(lambda: "de-identified" in tab.status.text(), timeout=30000)
    tab.export_pdf(str(tmp_path / "anon.pdf"))
    qtbot.waitUntil(lambda: tab.last_export is not None, timeout=30000)
    text = text_of(tab.last_export)
    assert GIVEN not in text and FAMILY not in text and PATIENT not in text and "De-identified" in text


@pytest.mark.parametrize("deidentified", [False, True])
def test_export_writes_the_bytes_the_preview_shows(window, qtbot, tmp_path, deidentified):
    tab = report_tab(window, qtbot)
    if deidentified:
        tab.deidentify_box.setChecked(True)
        qtbot.waitUntil(lambda: "de-identified" in tab.status.text() and not tab.rendering, timeout=30000)
    shown = tab.pdf
    tab.export_pdf(str(tmp_path / "r.pdf"))
    qtbot.waitUntil(lambda: tab.last_export is not None, timeout=30000)
    assert tab.last_export.read_bytes() == shown
    assert tab.rendered.content.report_id in text_of(tab.last_export)
    events = [e for e in window.context.audit.read() if e["event"] == "report_exported"]
    assert events[-1]["report_id"] == tab.rendered.content.report_id and events[-1]["deidentified"] is deidentified


def test_export_after_a_change_renders_once_and_shows_what_it_writes(window, qtbot, tmp_path):
    from medassist.domain.decisions import TreatmentDecision

    tab = report_tab(window, qtbot)
    window.context.session.set_decision(TreatmentDecision("y", "Saline nebuliser", "accepted", ""), PATIENT)
    assert tab.stale
    tab.export_pdf(str(tmp_path / "changed.pdf"))
    qtbot.waitUntil(lambda: tab.last_export is not None, timeout=30000)
    assert "Saline nebuliser" in text_of(tab.last_export)
    assert tab.last_export.read_bytes() == tab.pdf  # the preview now shows exactly what was written


def test_export_to_missing_folder_reports_error_and_keeps_running(window, qtbot, tmp_path):
    messages = []
    window.context.show_message = lambda title, text: messages.append((title, text))
    tab = report_tab(window, qtbot)
    tab.export_pdf(str(tmp_path / "no" / "such" / "folder" / "r.pdf"))
    qtbot.waitUntil(lambda: bool(messages), timeout=30000)
    assert messages[0][0] == "Could not save the report" and "does not exist" in messages[0][1]


def test_print_paints_every_page(window, qtbot, tmp_path):
    tab = report_tab(window, qtbot)
    printer = QPrinter(QPrinter.PrinterMode.ScreenResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    assert print_pdf(tab.pdf, printer) == tab.page_count
    assert len(pypdf.PdfReader(tmp_path / "printed.pdf").pages) == tab.page_count


def test_save_and_open_session_through_the_window(window, qtbot, tmp_path, fake_readers):
    files = window.session_files
    files.path = tmp_path / "work.medassist"
    files.save()
    qtbot.waitUntil(lambda: files.path.exists(), timeout=30000)
    other = create_window()
    qtbot.addWidget(other)
    other.session_files.open(files.path)
    qtbot.waitUntil(lambda: other.context.session.current_patient_id == PATIENT, timeout=30000)
    assert len(other.context.session.predictions[PATIENT]) == 4
    assert other.context.session.clinician_notes == window.context.session.clinician_notes
    other.context.runner.shutdown(5000)


def test_autosave_then_crash_restore(window, qtbot, tmp_path, fake_readers):
    # the tabs' own work on the new patient (the treatment tab stores the options it computed) comes first
    qtbot.waitUntil(lambda: not window.context.runner.running, timeout=30000)
    controller = AutosaveController(window.context, window, interval_s=0.05)
    controller.start()
    qtbot.wait(200)
    assert not controller.autosaver.path.exists()  # nothing changed since start: nothing written
    window.context.session.set_clinician_note("Seen again at 14:00.", PATIENT)
    qtbot.waitUntil(lambda: controller.autosaver.path.exists(), timeout=30000)
    controller.timer.stop()
    # simulate a crashed process: its marker and autosave stay behind under a dead pid
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    folder = controller.autosaver.folder
    save_session(window.context.session, folder / f"autosave-{child.pid}.medassist")
    (folder / f"running-{child.pid}.json").write_text(f'{{"pid": {child.pid}, "started": "yesterday"}}')
    fresh = create_window()
    qtbot.addWidget(fresh)
    asked = []
    recovery = offer_restore(fresh.context, fresh, ask=lambda parent, r: asked.append(r) or QMessageBox.StandardButton.Yes)
    assert asked and recovery.autosave.name == f"autosave-{child.pid}.medassist"
    qtbot.waitUntil(lambda: fresh.context.session.current_patient_id == PATIENT, timeout=30000)
    qtbot.waitUntil(lambda: not recovery.autosave.exists(), timeout=10000)
    assert len(fresh.context.session.predictions[PATIENT]) == 4
    assert find_crash_recovery(folder) is None
    controller.finish()
    assert not controller.autosaver.marker.exists() and not controller.autosaver.path.exists()
    fresh.context.runner.shutdown(5000)


def test_no_prompt_without_a_crash(window, user_home):
    asked = []
    assert offer_restore(window.context, window, ask=lambda parent, r: asked.append(r)) is None
    assert asked == []
