"""The application layer is the one path from loaded files to findings and the report:
the GUI's buttons and ``medassist report`` give the same findings and the same report content
for the same patient and films; a multi-frame film that was analysed shows as analysed (in the
report, the Explanations tab and after a session round trip); a treatment decision made in the
GUI prints as text in the PDF, never as a raw dict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from medassist.app import report as report_use_case
from medassist.app.analysis import analyse_patient, positive_findings
from medassist.app.images import load_images
from medassist.cli.main import main
from medassist.demo import build_demo
from medassist.demo.images import public_dicom
from medassist.domain.prediction import linked_image
from medassist.domain.findings import findings_of
from medassist.jobs import run_job
from medassist.app.sessions import open_session
from medassist.persistence.session_file import save_session
from medassist.reporting.content import ReportContent, collect_report
from medassist.session import Session
from medassist.settings import Settings
from tests.services import bundled_cards, cpu_service

PATIENT = "DEMO-20"  # the demo patient with a chest film, notes and a record


@pytest.fixture(scope="module")
def demo():
    return build_demo()


def two_frame_chest_film(folder: Path) -> Path:
    """The NEMA RG1 chest radiograph as a 2-frame CR object (frame 2 a little brighter)."""
    ds = pydicom.dcmread(public_dicom("RG1_UNCR.dcm"))
    film = ds.pixel_array[::4, ::4].astype(np.uint16)
    brighter = np.clip(film.astype(np.int32) + 40, 0, 2 ** int(ds.BitsStored) - 1).astype(np.uint16)
    ds.Rows, ds.Columns = film.shape
    ds.NumberOfFrames = 2
    ds.PixelData = np.ascontiguousarray(np.stack([film, brighter])).tobytes()
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    path = folder / "rg1-two-frames.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def test_a_multi_frame_film_that_was_analysed_shows_as_analysed(demo, tmp_path):
    from medassist.app.explain import image_for

    session = Session()
    session.set_records(demo.records)
    session.set_current_patient(PATIENT)
    film = load_images([two_frame_chest_film(tmp_path)])[0]
    assert film.n_frames == 2
    session.add_images([film], PATIENT)
    analysis = run_job(analyse_patient(session, cpu_service(), PATIENT, images=[film], image_models_only=True))
    [prediction] = analysis.predictions
    assert prediction.model == "cxr-pneumonia" and not prediction.refused
    assert prediction.image is not None and prediction.image.frame == 0
    assert prediction.input_sha256 != film.sha256  # the frame's hash: the old string match failed on it

    [panel] = collect_report(session, PATIENT, settings=Settings(), cards=bundled_cards()).images
    assert panel.findings != ["not analysed by a model"]
    assert panel.findings[0].startswith("Chest X-ray") and panel.frame == 0
    assert image_for(session, prediction) == (film, 0)

    save_session(session, tmp_path / "s.medassist")
    restored = run_job(open_session(tmp_path / "s.medassist", remembered={}))
    [again] = restored.predictions[PATIENT]
    assert again.image == prediction.image
    [reopened] = restored.images[PATIENT]
    assert linked_image(again, [reopened]) == (reopened, 0)


def _comparable(content: ReportContent) -> dict:
    """What the report says, without what differs by design between two runs: times, the report ID,
    the clinician's review (only the GUI has a clinician), and explanations (computed on demand in
    the GUI: a note's evidence shows as soon as its result does)."""
    return {
        "findings": sorted((f.model, f.version, f.input_label, f.label, f.status, f.text, f.score, f.threshold,
                            f.study, f.gate, f.note) for f in content.findings),
        "not_answered": sorted((n.model, n.version, n.input_label, n.reason) for n in content.not_answered),
        "images": [(p.label, p.frame, p.findings) for p in content.images],
        "treatments": sorted((t.label, t.status, t.detail, t.group) for t in content.treatments),
        "models": sorted((m.name, m.version, m.weights_sha256) for m in content.models),
    }


@pytest.mark.parametrize("patient", ["DEMO-03", PATIENT])  # positive note/record findings and a CT; a chest film
def test_gui_and_cli_give_the_same_findings_and_report(qtbot, window, demo, monkeypatch, tmp_path, patient):
    import medassist.records.importer as importer

    collected: list[ReportContent] = []

    def spy(session, patient_id, settings, cards, **kwargs):
        content = collect_report(session, patient_id, settings, cards, **kwargs)
        collected.append(content)
        return content

    monkeypatch.setattr(report_use_case, "collect_report", spy)
    monkeypatch.setattr(importer, "import_records", lambda path, mapping=None, remembered=None: demo.records)
    films = demo.image_paths[patient]
    assert main(["report", "--records", str(tmp_path), "--patient", patient, "--image", *map(str, films),
                 "--out", str(tmp_path / "cli.pdf"), "--no-explain", "--quiet"]) == 0
    cli = collected.pop()

    session = window.session  # the GUI: load, Run on everything, confirm what is positive, plan, preview
    session.set_records(demo.records)
    session.set_current_patient(patient)
    session.add_images(load_images(films), patient)
    diagnosis = window.tab_pages["Diagnosis"]
    diagnosis.scope.setCurrentText("Everything that applies")
    diagnosis.run()
    qtbot.waitUntil(lambda: diagnosis.handle is None, timeout=180_000)
    positive = positive_findings(session, patient)
    confirmed = [(p.model, f.name) for p in session.predictions[patient] for f in findings_of(p) if f.counts_now]
    for model, finding in confirmed:  # as the card's Confirm button does
        diagnosis.review(model, finding, "confirmed", "")
    treatment = window.tab_pages["Treatment"]
    treatment.refresh()
    runner = window.context.runner
    qtbot.waitUntil(lambda: not runner.running and treatment.result is not None, timeout=60_000)
    assert treatment.result.patient_id == patient and treatment._computed_findings == tuple(f for _, f in confirmed)
    report = window.tab_pages["Report"]
    collected.clear()
    report.refresh()
    qtbot.waitUntil(lambda: report.rendered is not None and not report.rendering, timeout=60_000)
    gui = collected[-1]

    assert cli.findings and cli.treatments and cli.images
    assert _comparable(gui) == _comparable(cli)
    assert sum(f.counts_now for f in cli.findings) == len(confirmed)  # subtype shares are a note, not findings
    assert all(f.review == "confirmed" for f in gui.findings if f.counts_now)
    if patient == PATIENT:
        assert any(p.findings[0].startswith("Chest X-ray") for p in cli.images)
    else:
        assert positive


def test_a_decision_made_in_the_gui_prints_as_text(qtbot, window, demo, tmp_path):
    import re

    import pypdf

    from medassist.ui.tabs.treatment_tab import OPTION_ROLE

    session = window.session
    session.set_records(demo.records)
    session.set_current_patient(demo.featured_patient_id)
    treatment = window.tab_pages["Treatment"]
    treatment.refresh()
    qtbot.waitUntil(lambda: treatment.result is not None, timeout=60_000)
    items = [treatment.tree.topLevelItem(g).child(c) for g in range(treatment.tree.topLevelItemCount())
             for c in range(treatment.tree.topLevelItem(g).childCount())]
    options = {item.data(0, OPTION_ROLE): item for item in items if item.data(0, OPTION_ROLE)}
    warned = [o for o in treatment.result.options if o.warnings and o.option_id in options] or \
             [o for o in treatment.result.options if o.option_id in options]
    chosen = warned[0]
    treatment.tree.setCurrentItem(options[chosen.option_id])
    treatment.comment.setText("started today")
    treatment.decide("accepted")
    assert session.current_decisions() and any(d.status == "accepted" for d in session.current_decisions())

    rendered = run_job(report_use_case.patient_report(session, demo.featured_patient_id, Settings(), bundled_cards(),
                                                      False))
    out = run_job(report_use_case.export_report(rendered, tmp_path / "decided.pdf", window.context.audit))
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pypdf.PdfReader(out).pages))
    assert "{'" not in text and "'severity'" not in text
    assert "started today" in text
    for warning in chosen.warnings[:1]:
        assert warning.message.split(".")[0][:40] in text
