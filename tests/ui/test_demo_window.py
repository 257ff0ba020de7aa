"""Demo sessions in the real window: name/version/icon, presentation mode, and Reset demo."""

from __future__ import annotations

import importlib.util

import pytest
from PySide6.QtWidgets import QApplication

from medassist import APP_NAME, __version__
from medassist.demo import build_demo
from medassist.domain.decisions import TreatmentDecision
from medassist.privacy import pseudonym
from medassist.settings import Settings
from medassist.ui.app import create_window


def test_name_version_and_icon_in_title_app_and_taskbar(window):
    app = QApplication.instance()
    assert window.windowTitle().startswith(f"{APP_NAME} {__version__}")
    sizes = {size.width() for size in app.windowIcon().availableSizes()}
    assert {16, 32, 48, 256} <= sizes
    assert not window.windowIcon().isNull()
    assert app.desktopFileName() == "medassist"
    assert not window.reset_demo_action.isEnabled()


def test_presentation_mode_hides_identifiers_enlarges_type_and_is_remembered(qtbot, window):
    demo = build_demo()
    window.session.set_records(demo.records)
    window.session.set_current_patient(demo.featured_patient_id)
    assert "Arthur Sample" in window.banner.identity.text() and "Arthur Sample" in window.windowTitle()

    window.presentation_action.trigger()
    banner = window.banner.identity.text()
    subject = pseudonym(demo.featured_patient_id)  # a pseudonym, never initials (they identify in a small room)
    assert subject in banner and "A.S." not in banner and "Sample" not in banner and demo.featured_patient_id not in banner
    assert "born" not in banner and "Arthur" not in window.windowTitle()
    assert subject in window.windowTitle() and "A.S." not in window.windowTitle()
    assert "17pt" in QApplication.instance().styleSheet()
    assert not window.tab_pages["Images"].viewer.demographics_action.isChecked()
    assert Settings.load().presentation_mode is True

    again = create_window()
    qtbot.addWidget(again)
    assert again.presentation_action.isChecked()

    window.presentation_action.trigger()
    assert "Arthur Sample" in window.banner.identity.text()
    assert window.tab_pages["Images"].viewer.demographics_action.isChecked()
    assert "17pt" not in QApplication.instance().styleSheet()
    assert Settings.load().presentation_mode is False


@pytest.mark.skipif(importlib.util.find_spec("medassist.imaging.loader") is None,
                    reason="the image loader (images helper) is not on this branch yet")
def test_reset_demo_restores_the_demo_in_one_click(qtbot, window):
    window.start_demo()
    featured = build_demo().featured_patient_id
    qtbot.waitUntil(lambda: window.session.current_patient_id == featured and bool(window.session.images),
                    timeout=60000)
    assert window.reset_demo_action.isEnabled() and window.demo_badge.isVisible()
    images_before = {pid: len(imgs) for pid, imgs in window.session.images.items()}
    other = window.session.records.patient_ids[3]
    window.session.set_clinician_note("scribbled during the demo", featured)
    window.session.set_decision(TreatmentDecision("opt-1", "Doxycycline", status="accepted"), featured)
    window.session.confirm_finding("Pneumonia", featured)
    window.session.set_current_patient(other)
    window.tabs.setCurrentIndex(3)

    window.reset_demo_action.trigger()
    qtbot.waitUntil(lambda: window.session.current_patient_id == featured and not window.context.runner.running,
                    timeout=60000)
    session = window.session
    assert session.clinician_notes == {} and session.confirmed_findings == {}
    # The Treatment tab lists the recomputed plan's options as "not decided"; no decision survives the reset.
    assert all(d.status == "pending" for decisions in session.decisions.values() for d in decisions.values())
    assert {pid: len(imgs) for pid, imgs in session.images.items()} == images_before
    assert window.tabs.currentIndex() == 0 and session.demo
