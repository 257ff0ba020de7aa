"""Every file MedAssist writes goes through one atomic writer (:mod:`medassist.atomic`): a crash or a
full disk while settings (column mappings included) are saved leaves the previous file whole, no temporary
file is left, a file that must not change is never replaced, and no module writes a file another way."""

from __future__ import annotations

import errno
import re
from pathlib import Path

import pytest

from medassist import atomic
from medassist.atomic import WriteError, atomic_write_bytes
from medassist.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def _refuse_renames(monkeypatch, code: int) -> None:
    """Every rename into place fails (the data was written to the temporary file first)."""
    def refuse(source, target):
        raise OSError(code, errno.errorcode.get(code, "error"))

    monkeypatch.setattr(atomic.os, "replace", refuse)


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith((atomic.TEMP_SUFFIX, ".tmp"))]


def test_settings_survive_a_failed_save_whole(user_home, monkeypatch):
    saved = Settings(cpu_threads=1, clinician_name="Dr A. Okafor", column_mappings={"MRN|Sex": {"patient_id": "MRN"}})
    saved.save()
    previous = Settings.path().read_bytes()
    _refuse_renames(monkeypatch, errno.ENOSPC)
    with pytest.raises(WriteError, match="disk is full") as caught:
        Settings(cpu_threads=2, clinician_name="Dr B").save()
    assert caught.value.source == str(Settings.path())
    assert Settings.path().read_bytes() == previous
    assert Settings.load() == saved
    assert _leftovers(Settings.path().parent) == []


def test_an_oversized_settings_file_gives_the_defaults_without_being_read(user_home):
    path = Settings.path()
    with open(path, "wb") as handle:  # 2 GiB, sparse: reading it would take 2 GiB of memory
        handle.write(b'{"cpu_threads": 1')
        handle.truncate(2**31)
    assert Settings.load() == Settings()


def test_a_file_that_must_not_change_is_never_replaced(tmp_path):
    """The hospital store's objects: a second write of the same name keeps the first bytes."""
    target = tmp_path / "object.dcm"
    atomic_write_bytes(target, b"first", keep_existing=True)
    atomic_write_bytes(target, b"second", keep_existing=True)
    assert target.read_bytes() == b"first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["object.dcm"]


# Writes that are not atomic replacements, each with its reason; anything else found is a failure.
APPENDS = {
    "medassist/audit.py": "the audit trail: whole lines appended under a lock (O_APPEND), hash-chained",
    "medassist/cli/predict_cmd.py": "predict --output: JSON lines appended, a torn last line is ended first",
    "medassist/bench/records.py": "benchmark inputs in a temporary folder deleted after the run",
    "medassist/bench/imaging.py": "benchmark inputs in a temporary folder deleted after the run",
    "medassist/bench/reading.py": "sparse benchmark inputs in a temporary folder deleted after the run",
}
WRITES = re.compile(r"""\.write_text\(|\.write_bytes\(|open\([^)]*["'][wax]b?\+?["']|json\.dump\(|\.to_csv\(|"""
                    r"""\.to_parquet\(|\.to_excel\(|\bnp\.savez?\(|\btorch\.save\(|savefig\(|"""
                    r"""\bos\.replace\(|\.replace\(checkpoint|shutil\.copy|(?<!self)(?<!super\(\))\.save(_as)?\(""")
IN_MEMORY = re.compile(r"\b(handle|buffer|BytesIO)\b")  # written to the atomic writer's handle or to memory


def test_no_module_writes_a_file_but_through_the_atomic_writer():
    found = []
    for path in sorted((REPO / "medassist").rglob("*.py")):
        name = path.relative_to(REPO).as_posix()
        if name in APPENDS or name == "medassist/atomic.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if WRITES.search(line) and not IN_MEMORY.search(line) and "settings.save()" not in line:  # Settings.save is atomic
                found.append(f"{name}:{number}: {line.strip()}")
    assert found == [], "files written without medassist.atomic:\n" + "\n".join(found)
