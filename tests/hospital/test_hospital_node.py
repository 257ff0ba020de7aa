"""The DICOM node on loopback: real chest radiographs in, scored on the worklist; callers checked;
nothing lost or scored twice when the node is killed mid-stream."""

from __future__ import annotations

import os

import pydicom
import pytest

from medassist.composition import for_command
from tests.hospital.conftest import SMALL_CHEST, Sender, copies_of, wait_until, worklist_json

pytestmark = pytest.mark.data


def test_real_chest_dicoms_sent_to_the_node_are_scored_on_the_worklist(hospital_node, chest_dicom_files, capsys):
    datasets = [pydicom.dcmread(path) for path in chest_dicom_files]
    assert Sender(hospital_node.port).send(datasets) == [0] * len(datasets)
    uids = {d.SOPInstanceUID for d in datasets}
    wait_until(lambda: hospital_node.store.pending_count() == 0, 180, "the node to score every object")

    rows = {row["sop_instance_uid"]: row for row in worklist_json(capsys)}
    assert set(rows) == uids
    card = hospital_node.services.catalogue.get("cxr-pneumonia").card
    for dataset in datasets:
        row = rows[dataset.SOPInstanceUID]
        assert row["model"] == "cxr-pneumonia" and row["score_count"] == 1
        assert row["status"] in ("scored", "refused") and row["gate"] is not None
        assert row["study_instance_uid"] == dataset.StudyInstanceUID and row["modality"] == dataset.Modality
        if row["status"] == "scored":
            assert row["gate"]["accepted"] and 0.0 <= row["outputs"]["pneumonia"] <= 1.0
            assert row["thresholds"] == card.thresholds
        # the stored object is the one that was sent
        assert pydicom.dcmread(row["path"]).SOPInstanceUID == dataset.SOPInstanceUID
    assert sum(r["status"] == "scored" for r in rows.values()) >= 1


def test_an_object_sent_twice_is_kept_once_and_never_overwritten(hospital_node, chest_dicom_files):
    dataset = pydicom.dcmread(next(p for p in chest_dicom_files if p.name == SMALL_CHEST))
    sender = Sender(hospital_node.port)
    assert sender.send([dataset]) == [0]
    path = hospital_node.store.entry(dataset.SOPInstanceUID)["path"]
    before = os.stat(path)
    altered = pydicom.dcmread(next(p for p in chest_dicom_files if p.name == SMALL_CHEST))
    altered.PatientName = "Someone^Else"
    assert sender.send([altered]) == [0]
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (before.st_ino, before.st_mtime_ns, before.st_size)
    assert str(pydicom.dcmread(path).PatientName) == str(dataset.PatientName)
    assert [e["sop_instance_uid"] for e in hospital_node.store.entries()] == [dataset.SOPInstanceUID]
    received = [line for line in hospital_node.audit.read() if line["event"] == "dicom_object_received"]
    assert [line["duplicate"] for line in received] == [False, True]


def test_unknown_calling_ae_title_is_refused_and_logged(hospital_node, chest_dicom_files):
    dataset = pydicom.dcmread(chest_dicom_files[0])
    assoc = Sender(hospital_node.port, calling="INTRUDER").associate([dataset])
    assert assoc.is_rejected and not assoc.is_established
    assert assoc.acceptor.primitive.diagnostic == 0x03  # calling AE title not recognised
    refused = [line for line in hospital_node.audit.read() if line["event"] == "dicom_association_refused"]
    assert refused and refused[-1]["calling_ae_title"] == "INTRUDER"
    assert hospital_node.store.entries() == []


def test_known_title_from_an_address_not_allowed_is_refused(hospital_node, chest_dicom_files):
    dataset = pydicom.dcmread(chest_dicom_files[0])
    assoc = Sender(hospital_node.port, bind_address="127.0.0.2").associate([dataset])
    assert assoc.is_rejected and not assoc.is_established
    refused = [line for line in hospital_node.audit.read() if line["event"] == "dicom_association_refused"]
    assert refused[-1]["address"] == "127.0.0.2"


def test_a_second_node_on_the_same_worklist_is_refused(hospital_node, node_settings):
    from medassist.errors import MedAssistError
    from medassist.hospital.service import HospitalNode

    with pytest.raises(MedAssistError, match="already running"):
        HospitalNode(node_settings, hospital_node.services, store=hospital_node.store).start()
    assert hospital_node.node.running


def test_c_echo_answers_an_allowed_caller(hospital_node):
    assoc = Sender(hospital_node.port).associate()
    assert assoc.is_established
    assert assoc.send_c_echo().Status == 0
    assoc.release()


def _kill_during_stream(node_process, chest_dicom_files, capsys, count: int, kill_after: int) -> None:
    """Send ``count`` objects, kill -9 the node after ``kill_after`` were acknowledged, restart,
    resend everything (as a modality retries); every object ends up stored once and scored once."""
    source = next(p for p in chest_dicom_files if p.name == SMALL_CHEST)
    datasets = copies_of(source, count, tag=f"kill9-{count}")
    node = node_process()
    acknowledged: list[str] = []

    def on_stored(dataset) -> None:
        acknowledged.append(dataset.SOPInstanceUID)
        if len(acknowledged) == kill_after:
            node.kill9()

    statuses = Sender(node.port).send(datasets, on_stored=on_stored)
    assert node.proc.returncode == -9 and len(acknowledged) >= kill_after
    assert len(statuses) < count  # the stream was cut by the kill

    from medassist.hospital.store import StudyStore

    store = StudyStore()
    held = {e["sop_instance_uid"] for e in store.entries()}
    assert set(acknowledged) <= held  # everything acknowledged before the kill survived it

    restarted = node_process()
    assert Sender(restarted.port).send(datasets) == [0] * count
    wait_until(lambda: store.pending_count() == 0 and len(store.entries()) == count, 600, "every object to be scored")
    rows = worklist_json(capsys)
    assert sorted(r["sop_instance_uid"] for r in rows) == sorted(d.SOPInstanceUID for d in datasets)
    assert {r["status"] for r in rows} == {"scored"}
    assert all(r["score_count"] == 1 for r in rows)
    files = [p for p in store.objects_dir.rglob("*") if p.is_file()]
    assert len(files) == count and not [p for p in files if p.name.startswith(".incoming-")]
    restarted.stop()
    assert restarted.proc.returncode == 0  # SIGTERM: a clean stop


def test_kill_9_during_a_stream_of_200_objects_loses_nothing_and_scores_each_once(node_process, chest_dicom_files,
                                                                                 capsys):
    _kill_during_stream(node_process, chest_dicom_files, capsys, count=200, kill_after=80)


def test_tls_node_answers_tls_callers_and_not_plain_ones(user_home, node_settings, tmp_path):
    import shutil
    import ssl
    import subprocess

    from pynetdicom import AE
    from pynetdicom.sop_class import Verification

    from medassist.hospital.service import HospitalNode

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "node.pem", tmp_path / "node.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    settings = node_settings.model_copy(update={"tls_certificate": str(cert), "tls_key": str(key)})
    node = HospitalNode(settings, for_command())
    node.start()
    try:
        client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(cert))
        ae = AE(ae_title="MODALITY1")
        ae.add_requested_context(Verification)
        secure = ae.associate("127.0.0.1", node.port, ae_title="MEDASSIST", tls_args=(client, "127.0.0.1"))
        assert secure.is_established and secure.send_c_echo().Status == 0
        secure.release()
        plain = ae.associate("127.0.0.1", node.port, ae_title="MEDASSIST")
        assert not plain.is_established
    finally:
        node.stop()


def test_an_object_whose_uid_is_not_a_uid_is_refused_and_nothing_is_written(hospital_node, chest_dicom_files):
    dataset = pydicom.dcmread(next(p for p in chest_dicom_files if p.name == SMALL_CHEST))
    with pytest.warns(UserWarning, match="Invalid value for VR UI"):  # pydicom warns, then sends it anyway
        dataset.StudyInstanceUID = "1.2.3/../../outside"
        statuses = Sender(hospital_node.port).send([dataset])
    assert statuses == [0xC000]
    assert hospital_node.store.entries() == []
    assert not [p for p in hospital_node.store.root.rglob("*") if p.suffix == ".dcm"]
    refused = [line for line in hospital_node.audit.read() if line["event"] == "dicom_object_refused"]
    assert "not a valid DICOM UID" in refused[-1]["reason"]


def test_a_study_no_bundled_model_reads_is_kept_but_not_queued(hospital_node, shared_data, capsys):
    ct = sorted((shared_data / "dicom" / "ct").glob("*.dcm"))
    if not ct:
        pytest.skip("no CT file in ../shared/data/dicom/ct")
    dataset = pydicom.dcmread(ct[0])
    assert Sender(hospital_node.port).send([dataset]) == [0]
    (row,) = worklist_json(capsys)
    assert row["sop_instance_uid"] == dataset.SOPInstanceUID and row["modality"] == "CT"
    assert row["status"] == "received" and row["model"] is None and row["score_count"] == 0
    assert hospital_node.store.pending_count() == 0


def test_half_open_connections_do_not_lock_out_real_callers(user_home, node_settings):
    """20 connections that never send an association request, on a node allowing 4 associations:
    a real caller still gets in at once (half-open ones are not counted, and are dropped after the
    ACSE timeout)."""
    import socket

    from medassist.hospital.service import HospitalNode

    node = HospitalNode(node_settings.model_copy(update={"maximum_associations": 4, "acse_timeout_s": 2.0}),
                        for_command())
    node.start()
    idle = [socket.create_connection(("127.0.0.1", node.port), timeout=5) for _ in range(20)]
    try:
        assoc = Sender(node.port).associate()
        assert assoc.is_established and assoc.send_c_echo().Status == 0
        assoc.release()
        idle[0].settimeout(10)
        assert idle[0].recv(1) == b""  # the node dropped the silent connection after its ACSE timeout
    finally:
        for sock in idle:
            sock.close()
        node.stop()


def test_the_association_limit_counts_requested_associations(user_home, node_settings):
    from medassist.hospital.service import HospitalNode

    node = HospitalNode(node_settings.model_copy(update={"maximum_associations": 2}), for_command())
    node.start()
    held = [Sender(node.port).associate() for _ in range(2)]
    try:
        assert all(a.is_established for a in held)
        third = Sender(node.port).associate()
        assert third.is_rejected and third.acceptor.primitive.diagnostic == 0x02  # local limit exceeded
        refused = [line for line in node.audit.read() if line["event"] == "dicom_association_refused"]
        assert "maximum associations (2)" in refused[-1]["reason"]
    finally:
        for assoc in held:
            assoc.release()
        node.stop()


def test_sr_pr_ko_and_seg_objects_are_kept_with_their_study_and_not_scored(hospital_node, chest_dicom_files):
    from pydicom.uid import generate_uid

    from tests.hospital.conftest import new_study

    (film,) = new_study(next(p for p in chest_dicom_files if p.name == SMALL_CHEST), "kept", 1)
    classes = {"SR": "1.2.840.10008.5.1.4.1.1.88.34", "PR": "1.2.840.10008.5.1.4.1.1.11.1",
               "KO": "1.2.840.10008.5.1.4.1.1.88.59", "SEG": "1.2.840.10008.5.1.4.1.1.66.4"}
    others = []
    for modality, sop_class in classes.items():
        dataset = pydicom.Dataset()
        for keyword in ("PatientID", "PatientName", "StudyInstanceUID", "StudyDate"):
            setattr(dataset, keyword, film.get(keyword, ""))
        dataset.SOPClassUID, dataset.Modality = sop_class, modality
        dataset.SOPInstanceUID = generate_uid(entropy_srcs=["kept", modality])
        dataset.SeriesInstanceUID = generate_uid(entropy_srcs=["kept-series", modality])
        dataset.file_meta = pydicom.dataset.FileMetaDataset()
        dataset.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
        others.append(dataset)
    assert Sender(hospital_node.port).send([film, *others]) == [0] * 5
    rows = {e["modality"]: e for e in hospital_node.store.study_entries(str(film.StudyInstanceUID))}
    assert set(rows) == {"CR", *classes}
    for modality in classes:
        assert rows[modality]["status"] == "kept" and rows[modality]["model"] is None
        assert rows[modality]["score_count"] == 0
        assert pydicom.dcmread(rows[modality]["path"]).SOPClassUID == classes[modality]
    from medassist.hospital.worklist import matches

    assert not matches(rows["SR"], "all") and matches(rows["SR"], "kept")
