"""``medassist records import``: counts and problems; exit 0 when imported, 2 when nothing could be read."""

from __future__ import annotations

import json

from medassist.cli.main import main


def test_import_prints_counts_and_problems(tmp_path, capsys):
    path = tmp_path / "patients.csv"
    path.write_text("MRN,Name,DOB,Sex\n1,Ann Doe,1950-01-01,F\n2,Bob Roe,someday,M\n2,Bob Again,1960-01-01,M\n", encoding="utf-8")
    assert main(["records", "import", str(path)]) == 0
    out = capsys.readouterr().out
    assert "patient table" in out
    assert "  patients              2" in out
    assert "Problems: 2" in out
    assert "[warning] patients.csv line 3: unknown date 'someday' in DOB; left empty" in out
    assert "[warning] patients.csv line 4: duplicate patient ID 2 (first at patients.csv line 3); row skipped" in out


def test_import_json_output(shared_data, capsys):
    folder = shared_data / "synthea" / "cohort_b_nebraska_111pts"
    assert main(["records", "import", str(folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["format"] == "synthea"
    assert report["counts"]["patients"] == 111 and report["counts"]["encounters"] == 7584
    assert report["problems"] == [] and len(report["files"]) == 5


def test_explicit_mapping_on_the_command_line(tmp_path, capsys):
    path = tmp_path / "odd.csv"
    path.write_text("Key,Label\nK1,Eva Koch\n", encoding="utf-8")
    assert main(["records", "import", str(path), "--json", "--map", "patient_id=Key", "--map", "full_name=Label"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["patients"] == 1


def test_nothing_readable_exits_2_naming_the_file(tmp_path, capsys):
    path = tmp_path / "prices.csv"
    path.write_text("item,price\napple,1\n", encoding="utf-8")
    assert main(["records", "import", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "no patient ID column" in err and err.count("\n") == 1
    bundle = tmp_path / "directory.json"
    bundle.write_text(json.dumps({"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": {"resourceType": "Organization", "id": "o1", "name": "Clinic"}}]}), encoding="utf-8")
    assert main(["records", "import", str(bundle)]) == 2
    assert f"no patient records could be read from {bundle}" in capsys.readouterr().err
    assert main(["records", "import", str(tmp_path / "absent")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
