"""Session files round-trip every field; missing or changed sources are reported, the rest kept;
writes are atomic; autosave and crash detection."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from tests.reporting.builders import PATIENT

from medassist import __version__
from medassist.errors import InputError
from medassist.jobs import run_job
from medassist import atomic
from medassist.atomic import WriteError, atomic_write, atomic_write_bytes
from medassist.persistence.autosave import Autosaver, find_crash_recovery
from medassist.app.sessions import open_session, restore
from medassist.persistence.session_file import decode_array, encode_array, save_session
from medassist.session import Session
from medassist.domain import codec
from medassist.domain.arrays import ArrayShapes


def roundtrip(session: Session, path):
    save_session(session, path)
    restored = run_job(open_session(path, remembered={}))
    fresh = Session()
    restore(fresh, restored)
    return restored, fresh


def test_session_round_trips_every_field(demo_session, fake_readers, tmp_path):
    restored, fresh = roundtrip(demo_session, tmp_path / "work.medassist")
    assert restored.complete, restored.summary()
    assert fresh.current_patient_id == PATIENT
    assert fresh.record_sources == demo_session.record_sources
    assert fresh.records.patient_ids == demo_session.records.patient_ids
    assert fresh.clinician_name == "Dr Anna Weber"
    assert [(i.path, i.sha256) for i in fresh.images[PATIENT]] == [(i.path, i.sha256) for i in demo_session.images[PATIENT]]
    before, after = demo_session.predictions[PATIENT], fresh.predictions[PATIENT]
    assert len(after) == len(before) == 4
    for old, new in zip(before, after, strict=True):
        if old.film is None and old.task == "image-classification":
            # opening a session decides the film context of an image result saved without one (app.sessions.restore)
            assert new.film is not None
            assert {**codec.encode(new, ArrayShapes()), "film": None} == codec.encode(old, ArrayShapes())
        else:
            assert codec.encode(new, ArrayShapes()) == codec.encode(old, ArrayShapes())  # every field but array data
        assert new.outputs == old.outputs  # unrounded
        assert len(new.explanations) == len(old.explanations)
        for e_old, e_new in zip(old.explanations, new.explanations, strict=True):
            np.testing.assert_array_equal(e_new.values, e_old.values)
            assert e_new.values.dtype == e_old.values.dtype
            assert (e_new.labels, e_new.inputs, e_new.faithfulness) == (e_old.labels, e_old.inputs, e_old.faithfulness)
    assert {k: vars(d) for k, d in fresh.decisions[PATIENT].items()} == {k: vars(d) for k, d in demo_session.decisions[PATIENT].items()}
    assert fresh.clinician_notes == demo_session.clinician_notes
    assert fresh.confirmed_findings == demo_session.confirmed_findings == {PATIENT: ["Pneumonia"]}
    assert {k: vars(r) for k, r in fresh.finding_reviews[PATIENT].items()} == \
        {k: vars(r) for k, r in demo_session.finding_reviews[PATIENT].items()}
    manifest = restored.manifest
    assert manifest["medassist_version"] == __version__
    assert {m["weights_sha256"] for m in manifest["models"].values()} == {p.weights_sha256 for p in before}
    assert manifest["record_sources"][0]["sha256"] and manifest["images"][PATIENT][0]["sha256"]


def test_explanation_maps_are_stored_compressed(demo_session, tmp_path):
    path = save_session(demo_session, tmp_path / "s.medassist")
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("session.json"))
        members = {n for n in archive.namelist() if n.startswith("arrays/")}
        keys = [e["values"]["array"] for p in manifest["predictions"][PATIENT] for e in p["explanations"]]
        assert members == {f"arrays/{k}.npy.zlib" for k in keys}  # maps are referenced by key, not inlined as JSON
        gradcam = demo_session.predictions[PATIENT][0].explanations[0].values
        stored = archive.read(f"arrays/{keys[0]}.npy.zlib")
    np.testing.assert_array_equal(decode_array(stored, "float32"), gradcam)
    assert len(stored) < gradcam.nbytes  # compressed binary


def test_large_maps_are_kept_at_half_precision_and_reused_between_saves(demo_session, fake_readers, tmp_path):
    big = np.random.default_rng(0).random((1024, 1024)).astype(np.float32)
    prediction = demo_session.predictions[PATIENT][0]
    prediction.explanations[0].values = big
    first = save_session(demo_session, tmp_path / "a.medassist")
    restored = run_job(open_session(first, remembered={})).predictions[PATIENT][0].explanations[0].values
    assert restored.dtype == np.float32 and restored.shape == big.shape
    np.testing.assert_allclose(restored, big, rtol=1e-3, atol=1e-4)
    assert encode_array(big) is encode_array(big)  # compressed once, reused by the next autosave


def test_missing_and_changed_sources_are_reported_and_the_rest_kept(demo_session, fake_readers, tmp_path):
    path = save_session(demo_session, tmp_path / "s.medassist")
    (tmp_path / "ct_slice_042.png").unlink()
    chest = tmp_path / "maria_lopez_chest_pa.png"
    chest.write_bytes(chest.read_bytes() + b"changed")
    (tmp_path / "records.csv").unlink()
    restored = run_job(open_session(path, remembered={}))
    assert any("ct_slice_042.png" in m for m in restored.missing)
    assert any("records.csv" in m for m in restored.missing)
    assert any("maria_lopez_chest_pa.png" in c for c in restored.changed)
    assert "Missing sources" in restored.summary() and "Changed since" in restored.summary()
    fresh = Session()
    restore(fresh, restored)
    # the patient stays selectable from the stub; results, decisions and notes are all kept
    assert fresh.current_patient_id == PATIENT and fresh.current_patient_name() == "Maria Lopez-Garrido"
    assert len(fresh.predictions[PATIENT]) == 4 and len(fresh.decisions[PATIENT]) == 3
    assert fresh.clinician_notes[PATIENT] == demo_session.clinician_notes[PATIENT]
    assert fresh.images.get(PATIENT, []) == []


def test_changed_records_are_reread_and_flagged(demo_session, fake_readers, tmp_path):
    path = save_session(demo_session, tmp_path / "s.medassist")
    (tmp_path / "records.csv").write_text("patient_id\nP-000417\nP-000999\n", encoding="utf-8")
    restored = run_job(open_session(path, remembered={}))
    assert any("records.csv" in c for c in restored.changed)
    assert fake_readers.records_calls == [str(tmp_path / "records.csv")]
    assert restored.records.has_patient(PATIENT)


@pytest.mark.parametrize("payload", [b"not a zip", b"PK\x03\x04garbage"])
def test_damaged_session_file_is_a_clear_input_error(tmp_path, payload):
    bad = tmp_path / "bad.medassist"
    bad.write_bytes(payload)
    with pytest.raises(InputError, match="bad.medassist"):
        run_job(open_session(bad, remembered={}))


def test_newer_format_is_refused_with_a_reason(tmp_path):
    path = tmp_path / "new.medassist"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("session.json", '{"format": "medassist-session", "format_version": 99, "medassist_version": "9.0"}')
    with pytest.raises(InputError, match="newer MedAssist"):
        run_job(open_session(path, remembered={}))


# atomic writes ---------------------------------------------------------------------------------


def test_crash_mid_write_leaves_previous_file_and_no_temp(tmp_path):
    target = tmp_path / "report.pdf"
    target.write_bytes(b"%PDF previous complete report")

    def crash_halfway(handle):
        handle.write(b"%PDF half of the new")
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError):
        atomic_write(target, crash_halfway)
    assert target.read_bytes() == b"%PDF previous complete report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf"]


def test_crash_mid_session_save_keeps_previous_session(demo_session, fake_readers, tmp_path, monkeypatch):
    path = save_session(demo_session, tmp_path / "s.medassist")
    previous = path.read_bytes()
    demo_session.set_clinician_note("new text", PATIENT)
    real_fsync = os.fsync

    def fsync_then_die(fd):
        real_fsync(fd)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", fsync_then_die)
    with pytest.raises(WriteError, match="disk is full"):
        save_session(demo_session, path)
    assert path.read_bytes() == previous
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(atomic.TEMP_SUFFIX)]
    with zipfile.ZipFile(path) as archive:
        assert json.loads(archive.read("session.json"))["clinician_notes"][PATIENT] != "new text"


def test_read_only_folder_is_a_clear_error(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    with pytest.raises(WriteError, match="read-only") as caught:
        atomic_write_bytes(tmp_path / "r.pdf", b"data")
    assert "r.pdf" in str(caught.value)
    assert not (tmp_path / "r.pdf").exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user for real permissions")
def test_real_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(WriteError, match="read-only"):
            atomic_write_bytes(folder / "r.pdf", b"data")
    finally:
        folder.chmod(0o700)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(WriteError, match="does not exist"):
        atomic_write_bytes(tmp_path / "nope" / "r.pdf", b"data")


# autosave and crash detection -----------------------------------------------------------------


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_autosave_writes_only_when_changed_and_clean_exit_removes_it(demo_session, tmp_path):
    saver = Autosaver(demo_session, tmp_path)
    saver.start()
    assert saver.marker.exists()
    assert saver.save_now() is None  # nothing changed since the autosaver started
    demo_session.set_clinician_note("changed", PATIENT)
    assert saver.save_now() == saver.path and saver.path.exists()
    assert saver.save_now() is None
    assert find_crash_recovery(tmp_path) is None  # this process is alive: not a crash
    saver.finish()
    assert not saver.marker.exists() and not saver.path.exists()


def test_crash_is_detected_and_its_autosave_offered(demo_session, fake_readers, tmp_path):
    pid = dead_pid()
    save_session(demo_session, tmp_path / f"autosave-{pid}.medassist")
    (tmp_path / f"running-{pid}.json").write_text(f'{{"pid": {pid}, "started": "2024-03-05 09:00:00"}}')
    recovery = find_crash_recovery(tmp_path)
    assert recovery is not None and recovery.autosave.name == f"autosave-{pid}.medassist"
    restored = run_job(open_session(recovery.autosave, remembered={}))
    assert len(restored.predictions[PATIENT]) == 4
    recovery.discard()
    assert find_crash_recovery(tmp_path) is None
    assert not recovery.autosave.exists() and not recovery.marker.exists()


def test_crash_before_first_autosave_leaves_nothing_to_offer(tmp_path):
    pid = dead_pid()
    marker = tmp_path / f"running-{pid}.json"
    marker.write_text(f'{{"pid": {pid}}}')
    assert find_crash_recovery(tmp_path) is None
    assert not marker.exists()


def test_session_with_real_dicom_reopens_with_the_real_loader(shared_data, tmp_path):
    """Real files through the real loader: a chest radiograph and every CT file of a folder."""
    from medassist.imaging.loader import load_image, open_images

    chest = load_image(shared_data / "dicom" / "chest_radiographs" / "nih_dx_no_finding.dcm")
    ct = run_job(open_images(shared_data / "dicom" / "ct")).images
    session = Session()
    session.add_images([chest, *ct], "someone")
    path = save_session(session, tmp_path / "real.medassist")
    restored = run_job(open_session(path, remembered={}))
    assert restored.complete, restored.summary()
    assert [(i.path, i.sha256) for i in restored.images["someone"]] == [(i.path, i.sha256) for i in [chest, *ct]]
