"""Patient names in every character set, end to end: a film sent to the node in that character set
-> the worklist -> the SR (dciodvfy-clean, the name read back the same) -> FHIR (the name in each
representation) -> the PDF (the name in its text). Names from the examples of DICOM PS3.5
(annexes C, D, H, I, K) and pydicom's character-set test files."""

from __future__ import annotations

import json
import shutil
import subprocess

import pydicom
import pytest

from medassist.hospital.fhir import FhirTargets
from medassist.hospital.results import export_study
from medassist.jobs import run_job
from tests.hospital.conftest import SMALL_CHEST, dciodvfy_errors, new_study, send_and_score, worklist_json

pytestmark = [pytest.mark.data, pytest.mark.filterwarnings("ignore:Invalid value for VR AS")]  # the film's '58' on purpose

# (Specific Character Set, Patient's Name, the character set the SR is written in)
CASES = {
    "japanese-iso2022-ir87": (["", "ISO 2022 IR 87"], "Yamada^Tarou=山田^太郎=やまだ^たろう",
                              ["ISO 2022 IR 6", "ISO 2022 IR 87"]),
    "chinese-gb18030": ("GB18030", "Wang^XiaoDong=王^小东", "GB18030"),
    "chinese-utf8": ("ISO_IR 192", "Wang^XiaoDong=王^小東", "ISO_IR 192"),
    "latin1": ("ISO_IR 100", "Buc^Jérôme", "ISO_IR 100"),
    "korean-iso2022-ir149": (["", "ISO 2022 IR 149"], "Hong^Gildong=洪^吉洞=홍^길동", "ISO_IR 192"),  # highdicom lacks it: UTF-8
    "greek": ("ISO_IR 126", "Διονυσιος", "ISO_IR 126"),
    "cyrillic": ("ISO_IR 144", "Люкceмбypг", "ISO_IR 144"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_name_survives_node_worklist_sr_fhir_and_pdf(case, shared_node, chest_dicom_files, tmp_path, capsys):
    charset, name, written = CASES[case]
    source = next(p for p in chest_dicom_files if p.name == SMALL_CHEST)
    (film,) = new_study(source, f"charset-{case}", 1, SpecificCharacterSet=charset, PatientName=name,
                        PatientID=f"ID-{case}"[:16], PatientAge="58", PatientSex="F")
    (row,) = send_and_score(shared_node, [film])
    assert row["patient_name"] == name
    listed = next(r for r in worklist_json(capsys) if r["sop_instance_uid"] == str(film.SOPInstanceUID))
    assert listed["patient_name"] == name

    exported = run_job(export_study(shared_node.store, str(film.StudyInstanceUID), tmp_path / "out",
                                    shared_node.services, saliency=False, outbox=shared_node.outbox,
                                    targets=FhirTargets.of(shared_node.settings)))
    report = pydicom.dcmread(exported.structured_report)
    assert str(report.PatientName) == name and report.PatientAge == "058Y"
    assert (list(report.SpecificCharacterSet) if report["SpecificCharacterSet"].VM > 1
            else report.SpecificCharacterSet) == written
    assert dciodvfy_errors(exported.structured_report) == []

    bundle = json.loads(exported.fhir_report.read_text(encoding="utf-8"))
    (patient,) = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    groups = [g for g in name.split("=") if g]
    assert [n["text"] for n in patient["name"]] == [" ".join(p for p in g.split("^") if p) for g in groups]
    assert patient["identifier"][0]["value"] == f"ID-{case}"[:16]

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (poppler-utils)")
    text = subprocess.run(["pdftotext", str(exported.pdf), "-"], capture_output=True, text=True, check=True).stdout
    for group in groups:
        for part in (p for p in group.split("^") if p):
            assert part in text, f"{part!r} is not in the PDF's text"
