"""``medassist report`` headless: records + images in, PDF out; which models run on what."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pypdf
import pytest
from tests.reporting.builders import FAMILY, GIVEN, PATIENT, make_cards, make_images, make_predictions, make_records

from medassist.cli.main import main
from medassist.inference.applicability import applicable_runs
from medassist.domain.prediction import Explanation
from medassist.jobs import Progress, run_job
from medassist.session import Session
from medassist.app.analysis import analyse_patient


def pdf_text(path) -> str:
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in pypdf.PdfReader(path).pages))


@pytest.fixture()
def no_models(tmp_path, monkeypatch):
    (tmp_path / "models").mkdir()
    monkeypatch.setenv("MEDASSIST_MODELS_DIR", str(tmp_path / "models"))


def test_report_command_writes_pdf_with_patient_and_images(fake_readers, no_models, tmp_path, capsys):
    make_images(tmp_path)
    (tmp_path / "records.csv").write_text("x", encoding="utf-8")
    out = tmp_path / "out" / "report.pdf"
    out.parent.mkdir()
    code = main(["report", "--records", str(tmp_path / "records.csv"), "--patient", PATIENT,
                 "--image", str(tmp_path / "maria_lopez_chest_pa.png"), str(tmp_path / "ct_slice_042.png"),
                 "--out", str(out), "--clinician", "Dr Lee", "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert "Report written" in capsys.readouterr().out
    text = pdf_text(out)
    assert f"{GIVEN} {FAMILY}" in text and "Dr Lee" in text and "No model was run" in text
    assert sum(len(p.images) for p in pypdf.PdfReader(out).pages) == 2
    assert [p.name for p in out.parent.iterdir()] == ["report.pdf"]


def test_report_command_deidentifies(fake_readers, no_models, tmp_path):
    (tmp_path / "records.csv").write_text("x", encoding="utf-8")
    out = tmp_path / "deid.pdf"
    assert main(["report", "--records", str(tmp_path / "records.csv"), "--patient", PATIENT, "--out", str(out),
                 "--deidentify", "--quiet"]) == 0
    text = pdf_text(out)
    assert GIVEN not in text and PATIENT not in text and "De-identified" in text


def test_report_command_unknown_patient_is_one_line_error(fake_readers, no_models, tmp_path, capsys):
    (tmp_path / "records.csv").write_text("x", encoding="utf-8")
    code = main(["report", "--records", str(tmp_path / "records.csv"), "--patient", "NOPE", "--out", str(tmp_path / "r.pdf")])
    assert code == 2 and "no patient with ID NOPE" in capsys.readouterr().err
    assert not (tmp_path / "r.pdf").exists()


class FakeService:
    """Returns the demo predictions for matching inputs; records every call."""

    def __init__(self, cards, predictions) -> None:
        entries = [SimpleNamespace(card=c, available=True, name=c.name) for c in cards]
        self.registry = SimpleNamespace(available=lambda task=None: entries)
        self.by_model = {}
        for p in predictions:
            self.by_model.setdefault(p.model, []).append(p)
        self.calls: list[tuple[str, str]] = []

    def predict(self, model, source, patient_id=None):
        yield Progress(0.5, "fake")
        self.calls.append(("predict", model))
        prediction = self.by_model[model].pop(0)
        prediction.explanations = []
        return prediction

    def explain(self, model, source, method, target=None):
        yield Progress(0.5, "fake")
        self.calls.append(("explain", f"{model}:{method}:{target}"))
        return Explanation(method, target, "image_map", source.image.frames[0] * 0)


def test_analyse_runs_image_models_on_each_image_and_explains_accepted_only(tmp_path):
    session = Session()
    session.set_records(make_records())
    images = make_images(tmp_path)
    session.add_images(images, PATIENT)
    card = make_cards()["cxr-pneumonia"].model_copy(update={"explanations": ["gradcam", "integrated_gradients"]})
    predictions = make_predictions(images)[:2]  # accepted chest image, refused CT slice
    service = FakeService([card], predictions)
    runs = applicable_runs(session, service.registry, PATIENT)
    assert [(run.model, type(run.source).__name__) for run in runs] == [("cxr-pneumonia", "ImageInput")] * 2
    analysis = run_job(analyse_patient(session, service, PATIENT, explain=True))
    assert analysis.problems == []
    assert service.calls == [("predict", "cxr-pneumonia"), ("explain", "cxr-pneumonia:gradcam:pneumonia"),
                             ("predict", "cxr-pneumonia")]
    stored = session.predictions[PATIENT]
    assert len(stored) == 2 and len(stored[0].explanations) == 1 and stored[1].explanations == []


def test_notes_and_record_models_apply_once():
    session = Session()
    session.set_records(make_records())
    base = make_cards()["cxr-pneumonia"]
    notes_card = base.model_copy(update={"name": "notes", "task": "text-classification"})
    record_card = base.model_copy(update={"name": "heart", "task": "tabular-classification"})
    registry = FakeService([notes_card, record_card], []).registry
    runs = applicable_runs(session, registry, PATIENT)
    assert [(run.model, type(run.source).__name__) for run in runs] == [("notes", "TextInput"), ("heart", "RecordInput")]
    assert "productive cough" in runs[0].source.text
