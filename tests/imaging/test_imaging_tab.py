"""The Images tab with pytest-qt: loading through a worker, frames, window presets, overlay, tools."""

from __future__ import annotations

import numpy as np
import pytest

from medassist.imaging.loader import load_image
from medassist.session import Session
from tests.services import cpu_services


@pytest.fixture()
def tab(qtbot, user_home):
    from medassist.ui.bridge import SessionBridge
    from medassist.ui.context import AppContext
    from medassist.ui.tabs.images_tab import ImagesTab
    from medassist.ui.workers import JobRunner

    session = Session()
    runner = JobRunner()
    messages: list[tuple[str, str]] = []
    context = AppContext(session=session, bridge=SessionBridge(session), runner=runner, services=cpu_services(),
                         show_message=lambda title, text: messages.append((title, text)))
    widget = ImagesTab(context)
    widget.messages = messages
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    yield widget
    runner.shutdown(5000)


@pytest.fixture()
def ct_stack(tmp_path, dicom_writer):
    stack = np.stack([np.full((40, 50), 100 * i, np.int16) for i in range(4)])
    stack[:, 0, 0] = -1000
    return dicom_writer(tmp_path / "ct.dcm", stack, PixelSpacing=[0.5, 0.5], WindowCenter=40, WindowWidth=400,
                        RescaleSlope=1, RescaleIntercept=-24)


def test_images_load_through_a_worker_and_bad_files_are_reported(tab, qtbot, ct_stack, tmp_path):
    from medassist.ui.actions import open_images

    assert not tab.showing_content
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(ct_stack.read_bytes()[:-5000])
    open_images(tab.context, str(ct_stack))
    open_images(tab.context, str(bad))
    qtbot.waitUntil(lambda: len(tab.images) == 1 and bool(tab.messages), timeout=20000)
    assert tab.showing_content and tab.viewer.image.n_frames == 4
    assert str(bad) in tab.messages[0][1] and "truncated" in tab.messages[0][1]
    assert tab.viewer.image is tab.session.current_images()[0]  # the good image stays open


def test_frames_window_presets_and_readout(tab, ct_stack):
    image = load_image(ct_stack)
    tab.session.add_images([image])
    viewer = tab.viewer
    assert viewer.image is image and viewer.frame_bar.isVisibleTo(tab)
    viewer.frame_slider.setValue(2)
    assert viewer.frame == 2
    np.testing.assert_array_equal(viewer.canvas.image_item.image, image.frames[2])
    viewer.step_frame(1)
    assert viewer.frame == 3
    assert viewer.current_window().center == 40
    viewer.choose_preset("Lung")
    assert (viewer.current_window().center, viewer.current_window().width) == (-600, 1500)
    assert tuple(viewer.canvas.image_item.levels) == (-1350, 150)
    viewer._window_dragged(30, 0)  # right-drag to the right widens the window
    assert viewer.current_window().width > 1500
    viewer.reset_view()
    assert viewer.current_window().width == 400
    text = viewer.pixel_text(0, 0)
    assert "stored -1000" in text and "value -1024 HU" in text and "(0.0, 0.0) mm" in text


def test_overlay_shown_toggled_and_removed(tab, ct_stack):
    image = load_image(ct_stack)
    tab.session.add_images([image])
    heatmap = np.zeros((10, 10), np.float32)
    heatmap[2:5, 2:5] = 1
    tab.show_overlay(image, 1, heatmap, "Grad-CAM: pneumonia")
    viewer = tab.viewer
    assert viewer.frame == 1 and viewer.overlay_visible() and viewer.overlay_bar.isVisibleTo(tab)
    item = viewer.canvas.heatmap_item
    assert item.parentItem() is viewer.canvas.image_item  # shares the image's zoom, pan and rotation
    rect = item.mapRectToParent(item.boundingRect())
    assert (rect.width(), rect.height()) == (50, 40)  # stretched over the whole image
    assert viewer.pixel_text(12, 12).endswith("heatmap 1.00") and viewer.pixel_text(39, 49).endswith("heatmap 0.00")
    viewer.opacity_slider.setValue(30)
    assert item.opacity() == pytest.approx(0.3)
    viewer.overlay_toggle.setChecked(False)
    assert not viewer.overlay_visible()
    viewer.overlay_toggle.setChecked(True)
    viewer.set_frame(2)  # the map belongs to frame 1
    assert not viewer.overlay_visible()
    tab.show_overlay(image, 1, None, "")
    assert not viewer.overlay_visible() and not viewer.overlay_bar.isVisibleTo(tab)


def test_measurements_rotation_tags_and_demographics(tab, ct_stack, tmp_path, dicom_writer):
    image = load_image(ct_stack)
    plain = load_image(dicom_writer(tmp_path / "nospacing.dcm", np.zeros((20, 20), np.uint16), modality="OT"))
    tab.session.add_images([image, plain])
    tab.show_image(image)
    viewer = tab.viewer
    viewer.canvas.add_measurement("distance", [(0, 0), (30, 40)])
    viewer.canvas.add_measurement("angle", [(0, 10), (0, 0), (10, 0)])
    assert viewer.measurement_texts() == ["25.0 mm", "90.0°"]
    viewer.canvas.rotate(90)
    assert viewer.measurement_texts() == ["25.0 mm", "90.0°"]  # measured in image pixels, whatever the view
    tab.show_image(plain)
    assert viewer.measurement_texts() == []
    viewer.canvas.add_measurement("distance", [(0, 0), (3, 4)])
    assert viewer.measurement_texts() == ["5.0 px"]
    tab.tags.search.setText("patient")
    visible = tab.tags.visible_rows()
    assert "Patient's Name" in visible and "Rows" not in visible
    tl = viewer.canvas.corners["tl"]
    assert tl.isVisibleTo(tab) and "Test Patient" in tl.text()
    viewer.demographics_action.trigger()
    assert not tl.isVisibleTo(tab) and viewer.canvas.corners["bl"].isVisibleTo(tab)


def test_thumbnails_follow_the_patient(tab, ct_stack):
    from medassist.records.schema import PatientRecords
    import pandas as pd

    image = load_image(ct_stack)
    tab.session.add_images([image], patient_id="P1")
    assert not tab.showing_content  # images belong to P1, no patient selected
    records = PatientRecords.from_frames(patients=pd.DataFrame({"patient_id": ["P1", "P2"]}))
    tab.session.set_records(records)
    tab.session.set_current_patient("P1")
    assert tab.showing_content and tab.thumbnails.count() == 1
    tab.session.set_current_patient("P2")
    assert not tab.showing_content and tab.thumbnails.count() == 0


def test_cine_drag_measure_and_cursor_mapping_under_rotation(tab, qtbot, ct_stack):
    from PySide6.QtCore import QPointF

    image = load_image(ct_stack)
    tab.session.add_images([image])
    viewer, canvas = tab.viewer, tab.viewer.canvas
    viewer.fps.setValue(50)
    viewer.play_button.setChecked(True)
    qtbot.waitUntil(lambda: viewer.frame >= 2, timeout=5000)
    viewer.play_button.setChecked(False)
    assert not viewer.cine.isActive()

    canvas.rotate(90)
    canvas.flip(True)
    to_view = canvas.image_item.mapToView
    viewer.set_tool("distance")  # a drag from pixel (row 2, col 4) to (row 2, col 24): 20 px = 10 mm
    canvas.view.measure_drag.emit(to_view(QPointF(4, 2)), to_view(QPointF(14, 2)), False)
    canvas.view.measure_drag.emit(to_view(QPointF(4, 2)), to_view(QPointF(24, 2)), True)
    assert viewer.measurement_texts() == ["10.0 mm"]
    viewer.set_tool("angle")
    for col, row in ((10, 0), (0, 0), (0, 10)):
        canvas.view.clicked_at.emit(to_view(QPointF(col, row)))
    assert viewer.measurement_texts() == ["10.0 mm", "90.0°"]

    canvas._mouse_moved(canvas.image_item.mapToScene(QPointF(7.5, 5.5)))
    assert viewer.readout.text().startswith("x 7, y 5 px = (3.5, 2.5) mm")
