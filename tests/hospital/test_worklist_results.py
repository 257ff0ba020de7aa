"""The worklist store keeps everything a result has (image link, gate verdict, population notice,
film context, subtype splits, explanations with their arrays); a worklist written before the values
codec still opens with what its rows stored; a row from a newer MedAssist is an error that says so."""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

from tests.domain.test_codec import assert_same, full_prediction

from medassist.domain import codec
from medassist.domain.figures import Figures
from medassist.domain.findings import FindingStatus, findings_of
from medassist.hospital.store import ObjectHeader, StudyStore
from medassist.hospital.worklist import prediction_of

OLD_WORKLIST = Path(__file__).parent / "fixtures" / "worklist-before-codec.sqlite.gz"


def _header(n: int) -> ObjectHeader:
    return ObjectHeader(sop_instance_uid=f"1.2.3.{n}", sop_class_uid="1.2.840.10008.5.1.4.1.1.1.1",
                        study_instance_uid="1.2.3.100", series_instance_uid="1.2.3.200", patient_id="P-1", modality="DX")


def test_the_worklist_keeps_everything_a_result_has(tmp_path):
    store = StudyStore(tmp_path)
    made = full_prediction()
    assert store.add_analysed(_header(1), tmp_path / "child_ap.dcm", "test", made.model, "scored", made)
    entry = store.entry("1.2.3.1")
    kept = prediction_of(entry)
    assert kept is not None
    assert_same(kept, made)  # image link, notice, film, splits, explanations and their arrays, extra
    assert kept.population_notice is not None and kept.film is not None and kept.subtypes and kept.image is not None
    assert len(kept.explanations) == 3 and kept.explanations[0].values.shape == (24, 32)
    assert entry["gate"] == {"score": 12.5, "threshold": 28.7566, "accepted": True,
                             "reason": "looks like a frontal chest radiograph"}
    # the film context came back: an attached prior study, so its finding is a prior one and none counts now
    assert entry["positive"] == [] and entry["findings"][0]["status"] == str(FindingStatus.PRIOR)


def test_a_worklist_written_before_the_codec_opens_with_what_it_stored(tmp_path):
    """The fixture was written by the code before the values codec (``Prediction.to_dict`` rows):
    one scored child's film with its population notice, film context and split, one refused CT."""
    (tmp_path / "worklist.sqlite").write_bytes(gzip.decompress(OLD_WORKLIST.read_bytes()))
    store = StudyStore(tmp_path)
    scored, refused = (store.entry(f"1.2.826.0.1.3680043.8.498.{n}") for n in (1, 2))
    prediction = prediction_of(scored)
    assert prediction is not None and prediction.source == "/archive/child_ap.dcm"
    assert prediction.image is not None and prediction.image.path == "/archive/child_ap.dcm"
    assert prediction.gate is not None and prediction.gate.accepted
    notice = prediction.population_notice
    assert notice is not None and notice.patient_age_years == 7.0
    assert notice.metrics["kermany_official_test"] == Figures(n=624, n_positive=390, auroc=0.9808,
                                                              auroc_ci95=(0.9714, 0.9885))
    assert prediction.film is not None and str(prediction.film.study_date) == "2025-01-01"
    assert prediction.subtypes and prediction.subtypes[0].validated_max_years == 5
    assert [f.label for f in findings_of(prediction) if f.counts_now] == ["pneumonia"] == scored["positive"]
    assert refused["status"] == "refused" and refused["outputs"] == {} and not refused["gate"]["accepted"]


def test_a_row_written_by_a_newer_medassist_is_an_error_that_says_so(tmp_path):
    store = StudyStore(tmp_path)
    store.add_analysed(_header(1), tmp_path / "a.dcm", "test", "cxr-pneumonia", "scored", full_prediction())
    with sqlite3.connect(store.db_path) as db:
        stored = json.loads(db.execute("SELECT result_json FROM objects").fetchone()[0])
        stored["version"] = codec.VERSION + 1
        db.execute("UPDATE objects SET result_json = ?", (json.dumps(stored),))
    entry = store.entries()[0]
    assert entry["status"] == "error" and entry["findings"] == []
    assert f"written by a newer MedAssist (values version {codec.VERSION + 1}" in entry["error"]
