"""Results and Query/Retrieve against a real PACS (Orthanc on loopback, one per module): the IHE AIR
SR, the AI maps and the FHIR report read back and validated (highdicom, dciodvfy, fhir.resources);
sending twice never duplicates and a changed study supersedes; a whole-study C-MOVE with an SR
inside; a PACS that is down, then up (the retry queue drains); TLS to the PACS."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import highdicom as hd
import pydicom
import pytest

from medassist.hospital import pacs as scu
from medassist.hospital.capture import AI_MAP_DESCRIPTION
from medassist.hospital.fhir import FhirTargets
from medassist.hospital.results import export_study
from medassist.hospital.worklist import prediction_of
from medassist.jobs import run_job
from tests.hospital.conftest import (
    NODE_AET,
    SMALL_CHEST,
    OrthancPacs,
    Sender,
    dciodvfy_errors,
    free_port,
    new_study,
    orthanc_binary,
    send_and_score,
    wait_until,
)

pytestmark = pytest.mark.data


def _chest(files, name: str = SMALL_CHEST) -> Path:
    return next(p for p in files if p.name == name)


def _export(node, study: str, out: Path, pacs=None, **options):
    settings = node.settings
    return run_job(export_study(node.store, study, out, node.services, pacs=pacs,
                                calling_ae_title=settings.ae_title, targets=FhirTargets.of(settings),
                                outbox=node.outbox, **options))


def test_results_are_an_air_tid1500_report_with_coded_findings_and_clean_objects(shared_node, chest_dicom_files,
                                                                                 tmp_path):
    """Two films of one study (the NIH one says Patient's Age '58', which is invalid AS) -> SR, maps,
    PDF and FHIR, each checked by a tool MedAssist did not write."""
    from fhir.resources.R4B.bundle import Bundle

    nih = new_study(_chest(chest_dicom_files, "nih_dx_00000001_000_cardiomegaly.dcm"), "air", 1,
                    AccessionNumber="ACC-0001", StudyDate="20240105", StudyTime="093000")
    small = new_study(_chest(chest_dicom_files), "air", 1, AccessionNumber="ACC-0001", StudyDate="20240105",
                      StudyTime="093000", PatientID=nih[0].PatientID, PatientName="Doe^Jane")
    small[0].SOPInstanceUID = pydicom.uid.generate_uid(entropy_srcs=["air", "second"])
    small[0].file_meta.MediaStorageSOPInstanceUID = small[0].SOPInstanceUID
    rows = send_and_score(shared_node, [*nih, *small])
    assert all(r["accession_number"] == "ACC-0001" for r in rows)
    exported = _export(shared_node, nih[0].StudyInstanceUID, tmp_path / "out")
    assert any("Patient's Age '58' -> '058Y'" in change for change in exported.sanitised)

    report = hd.sr.srread(exported.structured_report)
    assert isinstance(report, hd.sr.Comprehensive3DSR)
    assert report.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    assert report.PatientAge == "058Y" and report.PreliminaryFlag == "PRELIMINARY"
    assert report.CodingSchemeIdentificationSequence[0].CodingSchemeDesignator == "99MEDASSIST"
    assert report.AccessionNumber == "ACC-0001"
    text = json.dumps(report.to_json_dict())
    for code in ("233604007", "399208008", "121012", "111001", "111003", "122157", "122411"):
        assert code in text  # Pneumonia, plain chest X-ray, device observer UID, algorithm name/version, probability, threshold
    assert "bacterial" not in text.lower() and "viral" not in text.lower()  # a subtype is never a finding
    result = prediction_of(rows[0])
    assert result is not None and result.weights_sha256 in text and "cxr-pneumonia" in text
    evidence = {uid for _, _, uid, _ in report.get_evidence()}
    assert evidence == {str(d.SOPInstanceUID) for d in [*nih, *small]}
    assert len(report.content.get_observation_groups() if hasattr(report.content, "get_observation_groups")
               else report.content[0].ContentSequence) > 0
    for row in rows:
        present = "52101004" if row["positive"] else "272519000"  # SNOMED Present / Absent, from findings_of
        if row["status"] == "scored":
            assert present in text

    assert len(exported.ai_maps) == sum(r["status"] == "scored" for r in rows)
    for path in [exported.structured_report, *exported.ai_maps]:
        assert dciodvfy_errors(path) == [], path.name
    capture = pydicom.dcmread(exported.ai_maps[0])
    assert capture.file_meta.TransferSyntaxUID == pydicom.uid.JPEGBaseline8Bit and capture.LossyImageCompression == "01"
    assert capture.SeriesDescription == AI_MAP_DESCRIPTION and "AI_MAP" in capture.ImageType
    assert max(capture.Rows, capture.Columns) <= 1024 and exported.ai_maps[0].stat().st_size < 500_000
    pixels = capture.pixel_array.astype(int)
    assert (abs(pixels[..., 0] - pixels[..., 2]) > 30).any()  # coloured heat, not the grey film

    bundle = Bundle.model_validate_json(exported.fhir_report.read_text(encoding="utf-8"))
    resources = {}
    for entry in bundle.entry:
        resources.setdefault(entry.resource.__resource_type__, []).append(entry.resource)
    (diagnostic,) = resources["DiagnosticReport"]
    assert diagnostic.subject.identifier.system == "urn:oid:1.2.3.4.5.6.7"
    assert diagnostic.subject.identifier.value == str(nih[0].PatientID)
    assert diagnostic.effectiveDateTime.replace(tzinfo=None).isoformat() == "2024-01-05T09:30:00"
    assert diagnostic.basedOn[0].identifier.value == "ACC-0001"
    assert diagnostic.basedOn[0].identifier.system == "urn:oid:1.2.3.4.5.6.8"
    assert diagnostic.presentedForm[0].data.startswith(b"%PDF")  # the model decodes the base64
    assert diagnostic.text.div and "Pneumonia" in diagnostic.text.div
    (device,) = resources["Device"]
    assert result.weights_sha256 in [v.value for v in device.version]
    observations = resources["Observation"]
    scored = [r for r in rows if r["status"] == "scored"]
    assert len([o for o in observations if o.valueQuantity]) == len(scored)  # one finding per film, no subtype
    for observation in observations:
        assert observation.code.coding[0].system == "http://snomed.info/sct"
        assert observation.code.coding[0].code == "233604007"
        assert observation.device.reference.startswith("urn:uuid:")
        assert "SOP Instance UID" in observation.derivedFrom[0].display
    instance_uids = {o.derivedFrom[0].display.rsplit(" ", 1)[-1] for o in observations}
    assert instance_uids == {r["sop_instance_uid"] for r in rows}
    for observation in observations:
        if observation.valueQuantity:
            row = next(r for r in rows if r["sop_instance_uid"] in observation.derivedFrom[0].display)
            assert float(observation.valueQuantity.value) == pytest.approx(row["outputs"]["pneumonia"], abs=1e-6)
            assert observation.interpretation[0].coding[0].code == ("POS" if row["positive"] else "NEG")


def test_sending_twice_never_duplicates_and_a_changed_study_supersedes(shared_node, shared_orthanc, chest_dicom_files,
                                                                      tmp_path, capsys):
    from medassist.cli.main import main

    first = new_study(_chest(chest_dicom_files), "twice", 1)
    send_and_score(shared_node, first)
    study = str(first[0].StudyInstanceUID)
    pacs = shared_orthanc.settings
    one = _export(shared_node, study, tmp_path / "1", pacs=pacs)
    assert one.sent_to == pacs.label and one.version == 1
    assert shared_orthanc.count(study) == {"SR": 1, "OT": 1}

    again = _export(shared_node, study, tmp_path / "2", pacs=pacs)  # nothing changed: nothing new goes
    assert again.reused and again.version == 1 and again.already_at_pacs == 2
    assert again.structured_report.name == one.structured_report.name
    assert shared_orthanc.count(study) == {"SR": 1, "OT": 1}
    forced = _export(shared_node, study, tmp_path / "3", pacs=pacs, resend=True)  # resend: the same UIDs again
    assert forced.already_at_pacs == 0 and shared_orthanc.count(study) == {"SR": 1, "OT": 1}

    # a second film of the study arrives: the next SR is version 2 and names version 1 as its predecessor
    second = new_study(_chest(chest_dicom_files), "twice", 2)[1:]
    send_and_score(shared_node, second)
    capsys.readouterr()
    assert main(["results", study, "--out", str(tmp_path / "4"), "--send", "--pacs", pacs.label, "--json",
                 "--no-saliency"]) == 0
    two = json.loads(capsys.readouterr().out)
    assert two["version"] == 2 and two["supersedes"] == str(pydicom.dcmread(one.structured_report).SOPInstanceUID)
    report = pydicom.dcmread(two["structured_report"])
    (predecessor,) = report.PredecessorDocumentsSequence
    assert predecessor.ReferencedSeriesSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID == two["supersedes"]
    assert report.SeriesInstanceUID == pydicom.dcmread(one.structured_report).SeriesInstanceUID
    assert report.InstanceNumber == 2
    assert shared_orthanc.count(study) == {"SR": 2, "OT": 1}  # the first map was not sent again


def test_whole_study_c_move_with_an_sr_inside_is_stored_whole(shared_node, shared_orthanc, chest_dicom_files, tmp_path,
                                                              capsys):
    """The PACS holds a film, MedAssist's SR and AI map of another node's study; moving the whole study
    into the node succeeds, the film is scored and the SR and the map are kept, not scored."""
    from medassist.cli.main import main
    from medassist.hospital.store import StudyStore

    film = new_study(_chest(chest_dicom_files, "nih_dx_no_finding.dcm"), "move", 1)
    other = StudyStore(tmp_path / "elsewhere")  # an earlier export from another workstation
    from medassist.hospital.store import ObjectHeader

    path = tmp_path / "film.dcm"
    film[0].save_as(path, enforce_file_format=True)
    other.add(ObjectHeader.from_dataset(film[0]), path.read_bytes(), "test", "cxr-pneumonia")
    row = other.claim_next()
    from medassist.hospital.scoring import Scorer

    Scorer(other, shared_node.services.models).score_one(row["sop_instance_uid"], row["path"], row["model"],
                                                         row["patient_id"])
    exported = run_job(export_study(other, str(film[0].StudyInstanceUID), tmp_path / "out", shared_node.services))
    objects = [film[0], pydicom.dcmread(exported.structured_report), *[pydicom.dcmread(p) for p in exported.ai_maps]]
    assert Sender(shared_orthanc.port, calling=NODE_AET, called=shared_orthanc.AET).send(objects) == [0] * len(objects)

    capsys.readouterr()
    assert main(["qr", "--pacs", shared_orthanc.settings.label, "move", str(film[0].StudyInstanceUID)]) == 0
    assert capsys.readouterr().out.startswith(f"{len(objects)} objects moved")
    study = str(film[0].StudyInstanceUID)
    wait_until(lambda: all(e["status"] not in ("queued", "scoring") for e in shared_node.store.study_entries(study))
               and len(shared_node.store.study_entries(study)) == len(objects), 120, "the moved study")
    by_modality = {e["modality"]: e for e in shared_node.store.study_entries(study)}
    assert by_modality["DX"]["status"] in ("scored", "refused")
    assert by_modality["SR"]["status"] == "kept" and by_modality["SR"]["model"] is None
    assert by_modality["OT"]["status"] == "received" and by_modality["OT"]["score_count"] == 0  # the AI map


def test_a_failed_c_move_says_what_the_pacs_said(shared_node, shared_orthanc):
    with pytest.raises(scu.PacsError) as raised:
        scu.move_study(shared_orthanc.settings, NODE_AET, "1.2.3.4.5.6.7.8.9", "NOWHERE")
    message = str(raised.value)
    assert "status 0x" in message and "sub-operations:" in message and "(0 failed)" not in message


def test_a_pacs_that_is_down_queues_the_results_and_the_queue_drains_when_it_is_back(
        shared_node, chest_dicom_files, tmp_path, capsys, monkeypatch):
    from medassist.cli.main import main
    from medassist.settings import Settings

    film = new_study(_chest(chest_dicom_files), "down", 1)
    send_and_score(shared_node, film)
    study = str(film[0].StudyInstanceUID)
    port = free_port()  # nothing listens there yet
    settings = Settings.load()
    settings.node = shared_node.settings.model_copy(update={"acse_timeout_s": 3.0, "retry_interval_s": 1.0})
    settings.save()
    capsys.readouterr()
    assert main(["results", study, "--out", str(tmp_path / "out"), "--send", "--pacs", f"ORTHANC@127.0.0.1:{port}",
                 "--json"]) == 3  # written, not sent: queued
    printed = capsys.readouterr()
    assert json.loads(printed.out)["queued_for"] == f"ORTHANC@127.0.0.1:{port}" and "queued for retry" in printed.err
    (queued,) = [q for q in shared_node.outbox.queued() if q.study_instance_uid == study]
    assert queued.attempts == 1 and "did not answer" in queued.last_error and len(queued.files) == 2
    assert study in shared_node.outbox.study_states() and "queued" in shared_node.outbox.study_states()[study]

    pacs = OrthancPacs(orthanc_binary(), tmp_path / "late-orthanc", shared_node.port, port=port)
    try:
        wait_until(lambda: not [q for q in shared_node.outbox.queued() if q.study_instance_uid == study], 60,
                   "the node's retry worker to drain the queue")
        assert pacs.count(study) == {"SR": 1, "OT": 1}
        assert "sent to" in shared_node.outbox.study_states()[study]
        sent = [line for line in shared_node.audit.read() if line["event"] == "results_sent"
                and line["study_instance_uid"] == study]
        assert sent and sent[-1]["from_retry_queue"] is True
    finally:
        pacs.stop()


def test_the_retry_queue_is_bounded_and_says_so(shared_node, tmp_path):
    from medassist.hospital.outbox import Outbox, RetryQueueFull
    from medassist.settings.node import PacsSettings

    outbox = Outbox(shared_node.store, limit=len(shared_node.outbox.queued()) + 1)
    nowhere = PacsSettings(ae_title="NOWHERE", host="127.0.0.1", port=free_port())
    outbox.enqueue("1.2.3.999.1", nowhere, NODE_AET, [tmp_path / "a.dcm"], "did not answer")
    outbox.enqueue("1.2.3.999.1", nowhere, NODE_AET, [tmp_path / "b.dcm"], "did not answer")  # replaces, no growth
    with pytest.raises(RetryQueueFull, match="full"):
        outbox.enqueue("1.2.3.999.2", nowhere, NODE_AET, [tmp_path / "c.dcm"], "did not answer")
    (item,) = [q for q in outbox.queued() if q.study_instance_uid == "1.2.3.999.1"]
    assert item.attempts == 2 and item.files == [tmp_path / "b.dcm"]
    with shared_node.store.connect() as db:
        db.execute("DELETE FROM retry_queue WHERE destination = ?", (nowhere.label,))


def test_results_go_to_the_pacs_over_tls(shared_node, chest_dicom_files, tmp_path):
    import shutil

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "pacs.pem", tmp_path / "pacs.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    pacs = OrthancPacs(orthanc_binary(), tmp_path / "tls-orthanc", shared_node.port, tls=(cert, key))
    try:
        film = new_study(_chest(chest_dicom_files), "tls", 1)
        send_and_score(shared_node, film)
        study = str(film[0].StudyInstanceUID)
        exported = _export(shared_node, study, tmp_path / "out", pacs=pacs.settings, saliency=False)
        assert exported.sent_to == pacs.settings.label and pacs.count(study) == {"SR": 1}
        plain = pacs.settings.model_copy(update={"tls": False})
        with pytest.raises(scu.PacsError):
            scu.echo(plain, NODE_AET)
    finally:
        pacs.stop()


def test_c_find_by_accession_number(shared_node, shared_orthanc, chest_dicom_files):
    film = new_study(_chest(chest_dicom_files), "accession", 1, AccessionNumber="ACC-FIND-7")
    assert Sender(shared_orthanc.port, calling=NODE_AET, called=shared_orthanc.AET).send(film) == [0]
    (match,) = scu.find_studies(shared_orthanc.settings, NODE_AET, accession_number="ACC-FIND-7")
    assert match.study_instance_uid == str(film[0].StudyInstanceUID) and match.accession_number == "ACC-FIND-7"


def test_outbox_of_a_node_uses_its_settings(shared_node):
    from medassist.hospital.outbox import Outbox

    outbox = Outbox.of(shared_node.settings, shared_node.store)
    assert outbox.limit == shared_node.settings.retry_queue_limit and outbox.interval_s == 1.0


def test_results_go_by_dicomweb_stow_rs_to_orthancs_dicomweb_plugin(shared_node, chest_dicom_files, tmp_path):
    if not OrthancPacs.DICOMWEB_PLUGIN.exists():
        pytest.skip("Orthanc's DICOMweb plugin is not installed (apt-get install orthanc-dicomweb)")
    pacs = OrthancPacs(orthanc_binary(), tmp_path / "web-orthanc", shared_node.port, dicomweb=True)
    try:
        film = new_study(_chest(chest_dicom_files), "stow", 1)
        send_and_score(shared_node, film)
        study = str(film[0].StudyInstanceUID)
        web = pacs.settings.model_copy(update={"dicomweb_url": f"http://127.0.0.1:{pacs.http_port}/dicom-web"})
        exported = _export(shared_node, study, tmp_path / "out", pacs=web)
        assert exported.sent_to == web.label == f"http://127.0.0.1:{pacs.http_port}/dicom-web"
        assert pacs.count(study) == {"SR": 1, "OT": 1}
        again = _export(shared_node, study, tmp_path / "again", pacs=web)
        assert again.already_at_pacs == 2  # the sent log knows this destination too
    finally:
        pacs.stop()
    gone = _export(shared_node, study, tmp_path / "down", pacs=web, resend=True)
    assert gone.queued_for == web.label and "did not answer" in (gone.send_error or "")
    with shared_node.store.connect() as db:
        db.execute("DELETE FROM retry_queue WHERE destination = ?", (web.label,))


def test_a_study_with_an_image_the_gate_refused(shared_node, shared_data, tmp_path):
    """A CT slice the radiograph model's gate refused (its result stored as the node stores one) and a
    film: the SR gives the refused image its gate verdict only, FHIR says why it has no value, and both
    objects are dciodvfy-clean (the CT's cross-sectional image-library descriptors included)."""
    from fhir.resources.R4B.bundle import Bundle

    from medassist.domain.prediction import GateVerdict, Prediction
    from medassist.hospital.store import ObjectHeader

    ct = pydicom.dcmread(shared_data / "dicom" / "ct" / "CT_small.dcm")
    header = ObjectHeader.from_dataset(ct)
    refused = Prediction(model="cxr-pneumonia", version="2.2.0", weights_sha256="ab" * 32, task="image-classification",
                         device="cpu", source=str(shared_data / "dicom" / "ct" / "CT_small.dcm"), input_sha256="cd" * 32,
                         outputs={}, thresholds={"pneumonia": 0.3075}, positive=[],
                         gate=GateVerdict(4.2, 1.0, False, "not a frontal chest radiograph (distance 4.20 > 1.00)"))
    assert shared_node.store.add_analysed(header, shared_data / "dicom" / "ct" / "CT_small.dcm", "test",
                                          "cxr-pneumonia", "refused", refused)
    exported = _export(shared_node, header.study_instance_uid, tmp_path / "out")
    assert exported.ai_maps == []  # no map for a refused image
    assert dciodvfy_errors(exported.structured_report) == []
    text = json.dumps(pydicom.dcmread(exported.structured_report).to_json_dict())
    assert "INPUT-GATE" in text and "OUTSIDE-KNOWN-DATA" in text and "122157" not in text  # no probability
    bundle = Bundle.model_validate_json(exported.fhir_report.read_text(encoding="utf-8"))
    (observation,) = [e.resource for e in bundle.entry if e.resource.__resource_type__ == "Observation"]
    assert observation.dataAbsentReason.coding[0].code == "not-performed" and observation.valueQuantity is None
    assert "not a frontal chest radiograph" in observation.dataAbsentReason.text
