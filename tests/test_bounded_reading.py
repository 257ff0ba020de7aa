"""Huge and crafted files are refused, with one line naming the file and the limit, in bounded memory.

A 2 GiB sparse file of zeros with each extension MedAssist opens (images, DICOM, records, sessions,
model cards and weights, notes, JSON-lines logs), a 2 GiB CSV, and crafted files inside the size
limits (zeros after a DICOM prefix or file meta group, a deflate bomb, workbooks, Parquet files and
sessions that unpack to gigabytes, CSV rows that make the parser restart) are each refused. The time
a refusal takes is measured by ``medassist bench --section reading``, not asserted here; the time
budget itself is checked by setting it to zero.
"""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
import zlib

import numpy as np
import pandas as pd
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import DeflatedExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from medassist.domain import codec
from medassist.bench.reading import TEMP, sparse
from medassist.bench.runner import run_area
from medassist.bounded import MiB, ReadLimit
from medassist.errors import InputError
from medassist.imaging import dicom
from medassist.imaging.loader import load_image
from medassist.persistence import session_file
from medassist.records import fhir, reading, table
from medassist.records.importer import import_records

MEMORY_LIMIT_MIB = 500  # the whole process, MedAssist's imports included (they take about 140 MiB)


@pytest.fixture(scope="module")
def refusals() -> dict:
    """Every case of the reading benchmark, run in a fresh process (so its peak memory is theirs alone)."""
    return run_area("medassist.bench.reading:bench_reading", timeout=300)


def test_every_big_or_crafted_file_is_refused_in_bounded_memory(refusals):
    assert "error" not in refusals, refusals
    results = {name: case for name, case in refusals.items() if name != "peak_rss_mib"}
    assert len(results) >= 30 and all(name.split()[0] in ("image", "records", "session", "model", "audit") for name in results)
    for name, case in results.items():
        refusal = case["refusal"]
        assert refusal, f"{name}: the file was read"
        assert "\n" not in refusal and refusal.startswith(f"{TEMP}/"), f"{name}: {refusal}"  # one line naming the file
    # 2 GiB files: refused by their size, naming the limit (a .json without FHIR's resourceType is no records file)
    big = {name: case["refusal"] for name, case in results.items()
           if "zeros." in name or "2 GiB" in name or name.startswith("model") or name in ("image no extension", "image DICOMDIR")}
    assert len(big) == 12 + 9 + 2 + 1 + 2 + 1  # images, records, a CSV and a Synthea table, session, models, audit trail
    for name, refusal in big.items():
        if name == "records zeros.json":
            assert "JSON without a FHIR resourceType" in refusal
        elif name.startswith("audit"):
            assert "line 1 a line is longer than 1 MiB, the limit" in refusal, refusal
        else:
            assert "is 2.0 GiB, above the" in refusal and " limit for " in refusal, f"{name}: {refusal}"
    assert "runs of zero bytes where DICOM elements belong" in results["image file meta then zeros"]["refusal"]
    assert "no DICOM elements after the DICM prefix" in results["image DICM prefix then zeros"]["refusal"]
    assert "model.pt: file is 2.0 GiB" in results["model weights model.pt"]["refusal"]
    assert refusals["peak_rss_mib"] < MEMORY_LIMIT_MIB


def test_the_command_line_says_so_in_one_line(tmp_path, capsys):
    """``medassist image info`` / ``records import`` / ``audit verify`` on 2 GiB files: one line, exit status 2 (1: broken)."""
    from medassist.cli.main import main

    assert main(["image", "info", str(sparse(tmp_path / "big.png"))]) == 2
    assert capsys.readouterr().err.strip() == (f"medassist: error: {tmp_path}/big.png: file is 2.0 GiB, "
                                               "above the 1.0 GiB limit for an image file; not read")
    assert main(["records", "import", str(sparse(tmp_path / "big.csv"))]) == 2
    assert "big.csv: file is 2.0 GiB, above the 256 MiB limit for a records file; not read" in capsys.readouterr().err
    assert main(["audit", "verify", str(sparse(tmp_path / "audit.jsonl"))]) == 1
    assert "line 1 a line is longer than 1 MiB" in capsys.readouterr().out


def test_a_big_note_and_a_big_predict_output_are_refused(tmp_path):
    from medassist.cli.predict_cmd import already_scored, text_input

    with pytest.raises(InputError, match="file is 2.0 GiB, above the 8 MiB limit for a clinical note"):
        text_input(None, [sparse(tmp_path / "note.txt")])
    with pytest.raises(InputError, match="a line is longer than 1 MiB, the limit for a line of predict --output"):
        already_scored(sparse(tmp_path / "out.jsonl"))


@pytest.fixture()
def limited(monkeypatch):
    """Give one module's read limit other values (a smaller size, no time at all) for one test."""
    def limit(module, name: str, **changes) -> ReadLimit:
        changed = dataclasses.replace(getattr(module, name), **changes)
        monkeypatch.setattr(module, name, changed)
        return changed

    return limit


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_table_reading_stops_at_its_time_budget(tmp_path, limited, suffix):
    """Every read of the file checks the budget, inside pandas, openpyxl and pyarrow too."""
    limited(reading, "RECORDS_FILE", seconds=0.0)
    limited(table, "RECORDS_FILE", seconds=0.0)
    path = tmp_path / f"patients{suffix}"
    frame = pd.DataFrame({"MRN": [str(i) for i in range(10)], "Sex": "F"})
    {".csv": lambda: frame.to_csv(path, index=False), ".xlsx": lambda: frame.to_excel(path, index=False),
     ".parquet": lambda: frame.to_parquet(path)}[suffix]()
    with pytest.raises(InputError, match=r"reading stopped after 0 s, the time limit for a records file") as caught:
        import_records(path, remembered={})
    assert caught.value.source == str(path)


def test_fhir_validation_stops_at_its_time_budget(tmp_path, limited):
    limited(fhir, "RECORDS_FILE", seconds=0.0)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Patient", "id": "p1", "gender": "female"}))
    with pytest.raises(InputError, match="reading stopped after 0 s") as caught:
        import_records(path, remembered={})
    assert caught.value.source == str(path)


def test_a_dicom_header_read_stops_at_its_time_budget(tmp_path, limited):
    limited(dicom, "IMAGE_FILE", seconds=0.0)
    path = tmp_path / "ct.dcm"
    _dataset().save_as(path, enforce_file_format=True)
    with pytest.raises(InputError, match="reading stopped after 0 s, the time limit for an image file"):
        load_image(path)


def test_a_repeated_element_is_refused_at_once(tmp_path):
    """Non-zero bytes repeated (here (0008,0008) CS of length 0, 200,000 times): 16 in a row refuse the file."""
    path = tmp_path / "repeated.dcm"
    path.write_bytes(b"\0" * 128 + b"DICM" + b"\x08\x00\x08\x00CS\x00\x00" * 200_000)
    with pytest.raises(InputError, match=r"element \(0008,0008\) repeats 16 times in a row"):
        dicom.read_header(path)


def test_a_deflate_bomb_is_refused_before_pydicom_inflates_it(tmp_path, limited):
    limited(dicom, "IMAGE_FILE", max_bytes=4 * MiB)
    path = tmp_path / "bomb.dcm"
    ds = _dataset()
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    ds.save_as(path, enforce_file_format=True)  # a real deflated file, small: it opens
    assert dicom.read_header(path).SOPInstanceUID == ds.SOPInstanceUID
    meta_end = 144 + int.from_bytes(path.read_bytes()[140:144], "little")
    squeezer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    bomb = squeezer.compress(b"\0" * (16 * MiB)) + squeezer.flush()  # 16 MiB of zeros in about 16 KB
    path.write_bytes(path.read_bytes()[:meta_end] + bomb)
    assert path.stat().st_size < 64 * 1024
    with pytest.raises(InputError, match="deflated data inflates to more than 4 MiB, the limit for an image file"):
        dicom.read_header(path)


def test_a_workbook_that_unpacks_to_more_than_the_limit_is_refused(tmp_path, limited):
    limited(table, "RECORDS_FILE", max_bytes=1 * MiB)
    path = tmp_path / "patients.xlsx"
    pd.DataFrame({"MRN": ["1", "2"], "Sex": ["F", "M"]}).to_excel(path, index=False)
    assert import_records(path, remembered={}).counts()["patients"] == 2  # small: it opens
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/padding.xml", b" " * (2 * MiB))  # compresses to a few KB
    with pytest.raises(InputError, match=r"the table unpacks to 2 MiB, above the 1 MiB limit for a records file"):
        import_records(path, remembered={})


def test_a_parquet_file_that_unpacks_to_more_than_the_limit_is_refused(tmp_path, limited):
    limited(table, "RECORDS_FILE", max_bytes=1 * MiB)
    path = tmp_path / "patients.parquet"
    pd.DataFrame({"MRN": "MRN0000001", "Sex": ["F"] * 400_000}).to_parquet(path)  # 800,000 cells
    assert path.stat().st_size < 64 * 1024
    with pytest.raises(InputError, match=r"the table unpacks to \d+ MiB, above the 1 MiB limit"):
        import_records(path, remembered={})


def test_a_session_whose_arrays_declare_more_than_the_limit_is_refused(tmp_path, limited):
    """Each array member is small (zlib of zeros) but declares 8 MiB: the sum is checked before any is inflated."""
    limited(session_file, "SESSION_FILE", max_bytes=16 * MiB)
    path = tmp_path / "bomb.medassist"
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((1024, 2048), dtype=np.float32))
    member = zlib.compress(buffer.getvalue(), 9)
    manifest = {"format": session_file.FORMAT, "format_version": session_file.FORMAT_VERSION,
                "values_version": codec.VERSION}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(session_file.MANIFEST, json.dumps(manifest))
        for index in range(3):
            archive.writestr(f"{session_file.ARRAY_FOLDER}a{index}.npy.zlib", member)
    assert path.stat().st_size < 1 * MiB
    with pytest.raises(InputError, match=r"the session's arrays declare 24 MiB, above the 16 MiB limit for a session file"):
        session_file.read_session_file(path)


def _dataset() -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.PatientName, ds.PatientID = "OT", "Test^Patient", "P1"
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = bytes(range(64))
    return ds
