"""The Worklist tab with a running node: received radiographs appear scored, most urgent first,
filter and read/unread work, and opening a row loads the study into Images and Diagnosis."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from tests.hospital.conftest import NODE_AET, SENDER_AET, Sender

pytestmark = pytest.mark.data


@pytest.fixture()
def worklist_window(qtbot, user_home):
    """The main window with the node turned on in Settings (loopback, any free port); stopped after."""
    from medassist.settings.node import NodeSettings
    from medassist.settings import Settings
    from medassist.ui.app import create_window

    settings = Settings.load()
    settings.node = NodeSettings(enabled=True, ae_title=NODE_AET, port=0, allowed_calling_ae_titles=[SENDER_AET])
    settings.save()
    win = create_window()
    qtbot.addWidget(win)
    win.resize(1400, 800)
    win.show()
    tab = win.tab_pages["Worklist"]
    try:
        yield win, tab
    finally:
        tab.stop_node()
        win.context.runner.shutdown(10000)


def test_worklist_tab_shows_received_studies_by_urgency_and_opens_them(worklist_window, chest_dicom_files, qtbot):
    win, tab = worklist_window
    assert tab.node is not None, "the node should start with the window when Settings turn it on"
    assert tab.node.settings.bind_address == "127.0.0.1"
    datasets = [pydicom.dcmread(p) for p in chest_dicom_files]
    assert Sender(tab.node.port).send(datasets) == [0] * len(datasets)
    qtbot.waitUntil(lambda: len(tab.all_entries) == len(datasets)
                    and all(e["status"] in ("scored", "refused", "error") for e in tab.all_entries), timeout=180_000)
    assert tab.showing_content and tab.model.rowCount() == len(datasets)

    shown = [tab.entry_at(row) for row in range(tab.proxy.rowCount())]
    keys = [(2 if e["positive"] else 1, e["top_probability"] or 0.0) for e in shown]
    assert keys == sorted(keys, reverse=True)  # most urgent first
    assert all(not e["read"] for e in shown)

    # each finding with its own probability and threshold; never a subtype (the model's raw positives list one)
    findings = tab.model.COLUMNS.index("Findings")
    for row in range(tab.proxy.rowCount()):
        entry, text = tab.entry_at(row), tab.proxy.index(row, findings).data()
        if entry["status"] == "scored":
            assert text.startswith("Pneumonia ") and "(threshold 30.8%)" in text, text
            assert f"{entry['outputs']['pneumonia'] * 100:.1f}%" in text
        assert "bacterial" not in text and "viral" not in text
    # a study whose PACS was down waits in the retry queue, shown under the table
    from medassist.hospital.outbox import Outbox
    from medassist.settings.node import PacsSettings

    down = PacsSettings(ae_title="PACS", host="127.0.0.1", port=1)
    Outbox(tab.store).enqueue(shown[0]["study_instance_uid"], down, NODE_AET, [Path(shown[0]["path"])],
                              "did not answer")
    tab.refresh()
    assert tab.queue_label.text().startswith("Retry queue: 1 of at most 100 studies wait for PACS@127.0.0.1:1")
    assert tab.retry_button.isEnabled()
    results = tab.model.COLUMNS.index("Results")
    assert any("queued for PACS@127.0.0.1:1" in str(tab.proxy.index(r, results).data()) for r in range(tab.proxy.rowCount()))

    win.tabs.setCurrentWidget(tab)
    tab.table.selectRow(0)
    qtbot.wait(50)
    win.grab().save("/tmp/worklist-tab.png")

    probe = max(shown, key=lambda e: len(e["patient_id"] or ""))  # "1" would match every row's date
    tab.search.setText(probe["patient_id"])
    assert 1 <= tab.proxy.rowCount() < len(datasets)
    tab.search.setText("")
    tab.filter_box.setCurrentIndex(tab.filter_box.findData("pending"))
    assert tab.proxy.rowCount() == 0
    tab.filter_box.setCurrentIndex(tab.filter_box.findData("all"))

    first = shown[0]
    tab.table.selectRow(0)
    tab.open_row(0)
    qtbot.waitUntil(lambda: any(str(i.path) == first["path"] for i in win.session.current_images()), timeout=60_000)
    assert win.tabs.currentWidget() is win.tab_pages["Images"]
    assert tab.store.entry(first["sop_instance_uid"])["read"]
    predictions = win.session.current_predictions()
    assert [p.source for p in predictions] == [first["path"]]
    assert predictions[0].outputs == first["outputs"]
    # the Report tab finds the opened film's study for the SR / FHIR export
    from medassist.hospital.worklist import analysed_studies

    uids = [str(i.metadata.get("sop_instance_uid")) for i in win.session.current_images()]
    assert analysed_studies(tab.store.entries(), uids) == [first["study_instance_uid"]]
    unread = tab.filter_box.findData("unread")
    tab.filter_box.setCurrentIndex(unread)
    assert tab.proxy.rowCount() == len(datasets) - 1


def test_score_a_folder_lists_each_image_once_with_its_result(qtbot, user_home, shared_data, tmp_path):
    """The batch engine of `predict` from the Worklist tab: real radiographs (JPEG and DICOM) scored,
    listed with their gate verdicts; scoring the same folder again adds nothing."""
    import shutil

    from medassist.ui.app import create_window

    folder = tmp_path / "films"
    folder.mkdir()
    kermany = sorted((shared_data / "cxr" / "images" / "kermany" / "test" / "PNEUMONIA").glob("*.jp*g"))[:2]
    assert len(kermany) == 2
    for path in [*kermany, shared_data / "dicom" / "chest_radiographs" / "gdcm-CR-MONO1-10-chest.dcm"]:
        shutil.copy(path, folder / path.name)
    win = create_window()
    qtbot.addWidget(win)
    tab = win.tab_pages["Worklist"]
    assert tab.node is None  # off by default
    try:
        with qtbot.waitSignal(win.context.runner.jobs_changed, timeout=5000):
            tab.score_folder(str(folder))
        qtbot.waitUntil(lambda: not win.context.runner.running, timeout=180_000)
        tab.refresh()
        entries = tab.all_entries
        assert sorted(Path(e["path"]).name for e in entries) == sorted(p.name for p in folder.iterdir())
        assert all(e["status"] in ("scored", "refused") and e["gate"] is not None for e in entries)
        assert all(e["origin"] == f"folder {folder}" and e["score_count"] == 1 for e in entries)
        pictures = [e for e in entries if e["modality"] == "OT"]
        assert len(pictures) == 2 and all(e["study_description"] == "folder films" for e in pictures)

        tab.score_folder(str(folder))
        qtbot.waitUntil(lambda: not win.context.runner.running, timeout=180_000)
        tab.refresh()
        assert len(tab.all_entries) == len(entries)

        from medassist.errors import InputError
        from medassist.hospital.results import export_study
        from medassist.jobs import run_job

        with pytest.raises(InputError, match="DICOM studies only"):
            run_job(export_study(tab.store, pictures[0]["study_instance_uid"], tmp_path / "out", win.context.services,
                                 saliency=False))
    finally:
        win.context.runner.shutdown(10000)
