"""The values codec: every kind of value a result carries comes back whole through every array
channel; older versions are migrated, a newer one is refused with a message saying so; damaged
documents name what is wrong; the checked-in JSON schema is the one the code gives."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from medassist.domain import codec
from medassist.domain.arrays import MAX_ARRAY_BYTES, ArrayShapes, InlineArrays, KeyedArrays
from medassist.domain.clinical import FilmContext, FilmIdentity, FilmRelation, IdentityProblem
from medassist.domain.decisions import FilmAttachment, FindingReview, TreatmentDecision
from medassist.domain.figures import Figures
from medassist.domain.prediction import (Explanation, GateVerdict, ImageLink, PopulationNotice, Prediction,
                                         SubtypeSplit)
from medassist.domain.tasks import Task

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "values.schema.json"


def full_prediction() -> Prediction:
    """A result with every part a result can have, and arrays of three kinds and dtypes."""
    rng = np.random.default_rng(4)
    return Prediction(
        model="cxr-pneumonia", version="2.2.0", weights_sha256="a" * 64, task=Task.IMAGE, device="CPU, 2 threads",
        source="/films/child_ap.dcm", input_sha256="b" * 64,
        outputs={"pneumonia": 0.8125, "bacterial pneumonia": 0.5, "viral pneumonia": 0.3125},
        thresholds={"pneumonia": 0.3075}, positive=["pneumonia"],
        gate=GateVerdict(12.5, 28.7566, True, "looks like a frontal chest radiograph"),
        missing_inputs=["age"], elapsed_ms=40.5, patient_id="P-1", created="2025-01-02T03:04:05+00:00",
        explanations=[
            Explanation("gradcam", "pneumonia", "image_map", rng.random((24, 32), dtype=np.float32),
                        faithfulness={"deletion_auc": 0.2, "insertion_auc": 0.6}, elapsed_ms=12.0,
                        extra={"frame": np.int64(0), "model_resolution": [128, 128]}),
            Explanation("integrated_gradients", "pneumonia", "token_scores", rng.normal(size=7),  # float64
                        labels=[f"w{i}" for i in range(7)], extra={"spans": [[0, 2], [3, 5]]}),
            Explanation("integrated_gradients", "heart_disease", "feature_scores",
                        np.array([0.1, -0.05], dtype=np.float32), labels=["age", "sex"],
                        inputs={"age": np.float32(7.5), "sex": None}, faithfulness={"completeness_gap": 0.001}),
        ],
        population_notice=PopulationNotice(
            "Patient aged 7.0 years (DICOM) is outside the populations", 7.0, "DICOM", "Children aged 1-5 years",
            "1-5 years", {"kermany_official_test": Figures(n=624, n_positive=390, auroc=0.9808, auroc_ci95=(0.9714, 0.9885),
                                                           sensitivity=0.9795, specificity=0.8162),
                          "bacterial_vs_viral_accuracy": 0.8641}),
        image=ImageLink("/films/child_ap.dcm", 0, "b" * 64),
        film=FilmContext(dt.date(2025, 1, 1), FilmRelation.PRIOR, FilmIdentity.MISMATCH,
                         (IdentityProblem("name", "OLD^BOB", "Ada Old"), IdentityProblem("sex", "M", "female")),
                         "same child, header typed by the porter", dt.date(2025, 2, 1)),
        subtypes=[SubtypeSplit("pneumonia", {"bacterial pneumonia": 0.6154, "viral pneumonia": 0.3846}, False, 7.0,
                               1.0, 5.0)],
        extra={"frame": 0, "input_size": [128, 128], "temperature": np.float64(1.094541)},
    )


def assert_same(got: object, expected: object) -> None:
    """Every field equal, arrays to the bit and in the same dtype."""
    assert codec.encode(got, ArrayShapes()) == codec.encode(expected, ArrayShapes())
    for new, old in zip(getattr(got, "explanations", [got]), getattr(expected, "explanations", [expected]), strict=True):
        if isinstance(old, Explanation):
            assert isinstance(new, Explanation) and new.values.dtype == old.values.dtype
            np.testing.assert_array_equal(new.values, old.values)


@pytest.mark.parametrize("channel", [KeyedArrays, InlineArrays])
def test_every_kind_of_value_round_trips_through_json(channel):
    prediction = full_prediction()
    values = [prediction, prediction.explanations[0],
              TreatmentDecision("amoxicillin", "Amoxicillin 1 g", "accepted", "first line", {"kind": "option", "rank": 1}),
              FindingReview("Pneumonia", "confirmed", "crackles", "cxr-pneumonia", "2025-01-02T03:05:00+00:00"),
              FilmAttachment("b" * 64, "/films/child_ap.dcm", "same child", "Dr A", "2025-01-02T03:06:00+00:00")]
    for value in values:
        arrays = channel()
        text = json.dumps(codec.encode(value, arrays))  # plain JSON: no numpy, no dates left in it
        back = codec.decode(type(value), json.loads(text), arrays)
        assert_same(back, value)
    assert back.attached == "2025-01-02T03:06:00+00:00"
    reread = codec.decode(Prediction, json.loads(json.dumps(codec.encode(prediction, arrays := channel()))), arrays)
    assert reread.task is Task.IMAGE and reread.film is not None and reread.film.identity_problems[1].item == "sex"
    assert reread.population_notice is not None and isinstance(reread.population_notice.metrics["kermany_official_test"], Figures)
    assert "AUROC 0.98 [0.97, 0.99]" in reread.population_notice.headline()


def test_a_document_names_its_format_version_and_kind_and_holds_its_arrays():
    prediction = full_prediction()
    document = json.loads(json.dumps(codec.document(prediction)))
    assert (document["format"], document["version"], document["kind"]) == ("medassist-values", codec.VERSION, "prediction")
    assert document["value"]["explanations"][0]["values"]["shape"] == [24, 32]
    assert_same(codec.from_document(Prediction, document), prediction)
    with pytest.raises(codec.CodecError, match="holds a 'prediction', not a 'finding_review'"):
        codec.from_document(FindingReview, document)


def test_a_newer_version_is_refused_with_a_message_that_says_so():
    document = codec.document(TreatmentDecision("a", "A"))
    document["version"] = codec.VERSION + 1
    with pytest.raises(codec.CodecError, match=f"newer MedAssist \\(values version {codec.VERSION + 1}; this one reads "
                                               f"up to {codec.VERSION}\\): update MedAssist"):
        codec.from_document(TreatmentDecision, document)


def test_a_result_stored_before_the_codec_reads_as_version_0():
    """What ``Prediction.to_dict`` stored in worklist rows: ``file`` for the source, explanation
    summaries without arrays (dropped), and everything else the result had."""
    old = {"file": "/films/a.dcm", "image": {"path": "/films/a.dcm", "frame": 0, "image_sha256": "c" * 64},
           "film": None, "model": "cxr-pneumonia", "version": "2.2.0", "weights_sha256": "a" * 64,
           "task": "image-classification", "device": "cpu", "patient_id": "P", "input_sha256": "c" * 64,
           "outputs": {"pneumonia": 0.62}, "thresholds": {"pneumonia": 0.3075}, "positive": ["pneumonia"],
           "gate": {"score": 1.0, "threshold": 2.0, "accepted": True, "reason": "inside"},
           "population_notice": {"message": "age unknown", "patient_age_years": None, "age_source": "unknown",
                                 "population": "NIH adults", "population_age_range": "18-89 years",
                                 "metrics": {"nih": {"n": 238, "n_positive": 63, "auroc": 0.7848}}},
           "subtypes": [], "missing_inputs": [], "elapsed_ms": 30.1, "created": "2025-01-01T00:00:00+00:00",
           "explanation": [{"method": "gradcam", "shape": [8, 8]}], "extra": {"frame": 0}}
    prediction = codec.from_document(Prediction, old)
    assert prediction.source == "/films/a.dcm" and prediction.image == ImageLink("/films/a.dcm", 0, "c" * 64)
    assert prediction.explanations == [] and prediction.gate is not None and prediction.gate.accepted
    assert prediction.population_notice is not None and prediction.population_notice.metrics["nih"].auroc == 0.7848


def test_a_version_1_notice_keeps_its_message_and_the_figures_it_can_type():
    data = codec.encode(full_prediction(), KeyedArrays())
    data["explanations"] = []
    data["population_notice"]["metrics"] = {"test": {"n": 60, "positives": 37, "auroc": 1.0, "note": "optimistic"},
                                            "accuracy": 0.9, "comment": "free text"}
    notice = codec.decode(Prediction, data, KeyedArrays(), version=1).population_notice
    assert notice is not None and notice.message.startswith("Patient aged 7.0")
    assert notice.metrics == {"test": Figures(n=60, n_positive=37, auroc=1.0), "accuracy": 0.9}


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["explanations"][0]["values"].update(array="a9"), r"explanations\.0\.values: .*array a9 is missing"),
    (lambda d: d["explanations"][0]["values"].update(dtype="object"), "not numeric"),
    (lambda d: d["explanations"][0]["values"].update(shape=[65536, 65536]), f"more than the {MAX_ARRAY_BYTES:,} allowed"),
    (lambda d: d["explanations"][0]["values"].update(shape=[32, 24]), r"has shape \(24, 32\) where its value declares"),
    (lambda d: d["gate"].update(score="high"), r"gate\.score: Input should be a valid number"),
    (lambda d: d.update(task="segmentation"), "task: Input should be"),
    (lambda d: d["film"].update(relation="tomorrow"), r"film\.relation"),
    (lambda d: d.pop("outputs"), "outputs: Field required"),
])
def test_a_damaged_value_is_refused_naming_the_field(change, message):
    arrays = KeyedArrays()
    data = json.loads(json.dumps(codec.encode(full_prediction(), arrays)))
    change(data)
    with pytest.raises(codec.CodecError, match=message):
        codec.decode(Prediction, data, arrays)


def test_an_unknown_status_of_a_decision_or_review_is_refused():
    with pytest.raises(codec.CodecError, match="status"):
        codec.decode(TreatmentDecision, {"option_id": "a", "label": "A", "status": "acepted"}, KeyedArrays())
    with pytest.raises(codec.CodecError, match="status"):
        codec.decode(FindingReview, {"finding": "x", "status": "maybe", "reviewed": "2025-01-01"}, KeyedArrays())


def test_something_the_codec_cannot_store_is_refused_not_stringified():
    prediction = full_prediction()
    prediction.extra["callback"] = object()
    with pytest.raises(codec.CodecError, match="cannot store a value of type object"):
        codec.encode(prediction, KeyedArrays())


def test_the_checked_in_schema_is_the_one_the_code_gives():
    """docs/values.schema.json documents the stored format; regenerate it with
    ``python -c "from medassist.domain import codec; import json; print(json.dumps(codec.json_schema(), indent=1))"``."""
    assert json.loads(SCHEMA.read_text(encoding="utf-8")) == codec.json_schema()
