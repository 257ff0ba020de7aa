"""Results and Query/Retrieve against a real PACS (Orthanc on loopback): the SR and the AI-map
capture arrive, C-FIND finds them, C-MOVE brings a study into the node; plus the SR, SC and
FHIR contents read back with highdicom and fhir.resources."""

from __future__ import annotations

import json


import highdicom as hd
import pydicom
import pytest

from medassist.hospital import pacs as scu
from medassist.hospital.results import AI_MAP_DESCRIPTION, export_study
from medassist.jobs import run_job
from tests.hospital.conftest import NODE_AET, SMALL_CHEST, Sender, wait_until

pytestmark = pytest.mark.data


def _receive_and_score(node, chest_dicom_files, name: str = SMALL_CHEST):
    dataset = pydicom.dcmread(next(p for p in chest_dicom_files if p.name == name))
    assert Sender(node.port).send([dataset]) == [0]
    wait_until(lambda: node.store.pending_count() == 0, 180, "the radiograph to be scored")
    entry = node.store.entry(dataset.SOPInstanceUID)
    assert entry["status"] == "scored"
    return dataset, entry


def _sr_values(report) -> dict[str, object]:
    """Concept meaning -> value for every item of the SR tree (as read back by highdicom)."""
    values: dict[str, object] = {}

    def walk(items) -> None:
        for item in items:
            meaning, kind = item.name.meaning, getattr(item.value_type, "value", item.value_type)
            if kind == "NUM":
                values[meaning] = float(item.value)
            elif kind == "TEXT":
                values[meaning] = item.value
            elif kind == "IMAGE":
                values[meaning] = item.referenced_sop_instance_uid
            if "ContentSequence" in item:
                walk(item.ContentSequence)

    walk(report.content)
    return values


def test_results_read_back_with_highdicom_and_fhir(hospital_node, chest_dicom_files, tmp_path):
    from fhir.resources.R4B.bundle import Bundle

    dataset, entry = _receive_and_score(hospital_node, chest_dicom_files)
    exported = run_job(export_study(hospital_node.store, dataset.StudyInstanceUID, tmp_path / "out",
                                    service=hospital_node.scorer.service))

    report = hd.sr.srread(exported.structured_report)
    assert isinstance(report, hd.sr.ComprehensiveSR)
    assert report.StudyInstanceUID == dataset.StudyInstanceUID and report.SeriesInstanceUID != dataset.SeriesInstanceUID
    values = _sr_values(report)
    result = entry["result"]
    assert values["Probability of pneumonia"] == pytest.approx(entry["outputs"]["pneumonia"], abs=1e-6)
    assert values["Decision threshold for pneumonia"] == pytest.approx(entry["thresholds"]["pneumonia"])
    assert values["Algorithm Name"] == "cxr-pneumonia" and values["Algorithm Version"] == result["version"]
    assert values["Model weights SHA-256"] == result["weights_sha256"]
    assert str(values["Input gate verdict"]).startswith("accepted: ")
    assert values["Source image"] == dataset.SOPInstanceUID
    assert "not a diagnosis" in str(values["Comment"])

    (capture_path,) = exported.ai_maps
    capture = pydicom.dcmread(capture_path)
    assert capture.SOPClassUID == pydicom.uid.SecondaryCaptureImageStorage
    assert capture.StudyInstanceUID == dataset.StudyInstanceUID and capture.SeriesDescription == AI_MAP_DESCRIPTION
    assert "AI_MAP" in capture.ImageType and capture.SourceImageSequence[0].ReferencedSOPInstanceUID == dataset.SOPInstanceUID
    assert capture.pixel_array.shape == (dataset.Rows, dataset.Columns, 3)
    pixels = capture.pixel_array.astype(int)
    assert (abs(pixels[..., 0] - pixels[..., 2]) > 30).any()  # coloured heat, not the grey source
    assert (pixels[1, 1] == 0).all() and (pixels[:, :, 0] > 200).any()  # the burned-in "AI MAP" banner

    bundle = Bundle.model_validate_json(exported.fhir_report.read_text(encoding="utf-8"))
    resources = [e.resource for e in bundle.entry]
    report_resource = resources[0]
    assert report_resource.__resource_type__ == "DiagnosticReport" and report_resource.status == "preliminary"
    observations = {o.code.text: o for o in resources[1:]}
    pneumonia = observations["Probability of pneumonia (cxr-pneumonia)"]
    assert float(pneumonia.valueQuantity.value) == pytest.approx(entry["outputs"]["pneumonia"], abs=1e-6)
    assert result["weights_sha256"] in pneumonia.method.text
    assert len(report_resource.result) == len(entry["outputs"])


def test_orthanc_receives_the_sr_and_capture_and_c_find_finds_them(hospital_node, orthanc, chest_dicom_files, tmp_path,
                                                                    capsys):
    from medassist.cli.main import main

    dataset, _entry = _receive_and_score(hospital_node, chest_dicom_files)
    capsys.readouterr()
    assert main(["results", dataset.StudyInstanceUID, "--out", str(tmp_path / "out"), "--send",
                 "--pacs", f"ORTHANC@127.0.0.1:{orthanc.port}", "--json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["sent_to"] == f"ORTHANC@127.0.0.1:{orthanc.port}" and len(exported["ai_maps"]) == 1
    (match,) = scu.find_studies(orthanc.settings, NODE_AET, study_instance_uid=dataset.StudyInstanceUID)
    assert match.instances == 2  # the SR and the AI-map capture; the source image was never sent there
    assert "SR" in match.modalities.split("\\")


def test_c_move_from_orthanc_brings_a_stored_study_into_the_node(hospital_node, orthanc, chest_dicom_files, capsys):
    prior = pydicom.dcmread(next(p for p in chest_dicom_files if p.name == "nih_dx_no_finding.dcm"))
    assert Sender(orthanc.port, calling=NODE_AET, called=orthanc.AET).send([prior]) == [0]
    matches = scu.find_studies(orthanc.settings, NODE_AET, patient_id=str(prior.PatientID))
    assert [m.study_instance_uid for m in matches] == [prior.StudyInstanceUID]
    assert hospital_node.store.entries() == []

    from medassist.cli.main import main

    capsys.readouterr()
    assert main(["qr", "--pacs", f"ORTHANC@127.0.0.1:{orthanc.port}", "move", prior.StudyInstanceUID]) == 0
    assert capsys.readouterr().out.startswith("1 objects moved")
    wait_until(lambda: hospital_node.store.pending_count() == 0 and hospital_node.store.entries(), 120,
               "the moved study to be scored")
    (entry,) = hospital_node.store.entries()
    assert entry["sop_instance_uid"] == prior.SOPInstanceUID and entry["origin"].startswith("C-STORE from ORTHANC")
    assert entry["status"] in ("scored", "refused")
