"""Session files keep their results through the values codec: a file of format 1 (written by the
code before the codec, a fixture) opens with every result, gate verdict, film context, notice,
explanation, decision, review and attachment it held; a file from a newer MedAssist is refused
with a message saying so."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from medassist.domain import codec
from medassist.domain.clinical import FilmIdentity
from medassist.domain.figures import Figures
from medassist.domain.findings import FindingStatus, findings_of
from medassist.domain.result_text import refusal_text
from medassist.errors import InputError
from medassist.jobs import run_job
from medassist.app.sessions import open_session, restore
from medassist.persistence.session_file import FORMAT_VERSION, read_session_file
from medassist.session import Session

FORMAT_1 = Path(__file__).parent / "fixtures" / "format1.medassist"


def test_a_format_1_session_opens_with_every_result_and_decision():
    restored = run_job(open_session(FORMAT_1, remembered={}))
    assert restored.missing == ["records: /nonexistent/old-records.csv"]  # sources gone, results kept
    session = Session()
    restore(session, restored)
    cxr, heart = session.predictions["P-OLD-1"]
    assert cxr.gate is not None and cxr.gate.accepted and cxr.gate.threshold == 28.7566
    assert cxr.film is not None and cxr.film.identity == FilmIdentity.MISMATCH
    assert cxr.film.attached_by_clinician == "same child, header typed by the porter"
    assert cxr.image is not None and cxr.image.path == "/nonexistent/child_ap.png"
    notice = cxr.population_notice
    assert notice is not None and notice.metrics["bacterial_vs_viral_accuracy"] == 0.8641
    assert isinstance(notice.metrics["kermany_official_test"], Figures)
    assert cxr.subtypes[0].shares == {"bacterial pneumonia": 0.6154, "viral pneumonia": 0.3846}
    (gradcam,) = cxr.explanations
    np.testing.assert_array_equal(gradcam.values, np.arange(64, dtype=np.float32).reshape(8, 8) / 64)
    assert [f.status for f in findings_of(cxr)] == [FindingStatus.SUGGESTED]  # attached by the clinician
    # the refused record result keeps its verdict: it shows no number, and says why
    assert heart.refused and "outside the population" in refusal_text(heart)
    assert heart.explanations[0].values.dtype == np.float64 and heart.explanations[0].labels == ["age", "sex"]
    assert session.decisions["P-OLD-1"]["amoxicillin"].detail == {"kind": "option", "rank": 1}
    assert session.finding_reviews["P-OLD-1"]["Pneumonia"].status == "confirmed"
    assert session.film_attachments["P-OLD-1"]["b" * 64].clinician == "Dr A"


def _rewrite(source: Path, target: Path, change) -> Path:
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members["session.json"])
    change(manifest)
    members["session.json"] = json.dumps(manifest).encode("utf-8")
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def test_results_from_a_newer_medassist_are_refused_with_a_message(tmp_path):
    newer = _rewrite(FORMAT_1, tmp_path / "newer.medassist",
                     lambda m: m.update(format_version=FORMAT_VERSION, values_version=codec.VERSION + 1))
    with pytest.raises(InputError, match=f"written by a newer MedAssist \\(values version {codec.VERSION + 1}.*update"):
        read_session_file(newer)
    newest = _rewrite(FORMAT_1, tmp_path / "newest.medassist", lambda m: m.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(InputError, match="saved by a newer MedAssist"):
        read_session_file(newest)


def test_a_damaged_result_is_refused_naming_where_it_is(tmp_path):
    def damage(manifest):
        manifest["predictions"]["P-OLD-1"][1]["gate"]["accepted"] = "perhaps"

    with pytest.raises(InputError, match=r"predictions\.P-OLD-1\.1: gate\.accepted"):
        read_session_file(_rewrite(FORMAT_1, tmp_path / "damaged.medassist", damage))
