"""Fuzzing session files (.medassist) with mutations of a real saved session: the only outcomes
are a restored session or a clean InputError naming the file; a failed save never leaves a
partial file over the previous one."""

from __future__ import annotations

import errno
import time
import zipfile

from collections.abc import Iterator
from pathlib import Path

import pytest

from medassist.errors import InputError
from medassist.jobs import run_job
from medassist import atomic
from medassist.atomic import TEMP_SUFFIX, WriteError
from medassist.app.sessions import open_session, restore
from medassist.persistence.session_file import save_session
from medassist.reporting.content import collect_report
from medassist.reporting.pdf import write_pdf
from medassist.session import Session
from tests.reporting.builders import PATIENT, FakeReaders, make_cards, make_session
from medassist.settings import Settings
from tests.mutators import json_value_mutant, mutations, npy_header_mutant, tally

OUTCOMES = ("restored", "refused")  # besides "crashed"

MUTANTS = 40
SLOW_MUTANTS = 400
MAX_SECONDS_PER_INPUT = 10.0


@pytest.fixture()
def saved_session(tmp_path, monkeypatch):
    """A real session file (records, two images, four predictions with maps) and its bytes."""
    import medassist.records.importer as importer

    monkeypatch.setattr(importer, "import_records", FakeReaders().import_records)
    session = make_session(tmp_path)
    path = save_session(session, tmp_path / "work.medassist")
    return session, path


def open_outcome(path) -> str:
    """Open one damaged session file: "restored", or "refused" with a one-line error naming it; never slow."""
    start = time.perf_counter()
    try:
        restored = run_job(open_session(path, remembered={}))
    except InputError as exc:
        assert exc.source == str(path) and exc.reason and "\n" not in exc.reason
        outcome = "refused"
    else:
        restore(Session(), restored)
        restored.summary()
        outcome = "restored"
    assert time.perf_counter() - start < MAX_SECONDS_PER_INPUT, f"{path.name} took too long"
    return outcome


def open_mutants(tmp_path, original: bytes, n: int) -> dict[str, int]:
    def written() -> Iterator[Path]:
        for index, mutant in enumerate(mutations(original, seed=11, n=n)):
            path = tmp_path / f"mutant{index % 50}.medassist"
            path.write_bytes(mutant)
            yield path

    return tally(tmp_path, open_outcome, OUTCOMES, written(), n)


def test_mutated_session_files_restore_or_fail_cleanly(saved_session, tmp_path):
    _session, path = saved_session
    outcomes = open_mutants(tmp_path, path.read_bytes(), MUTANTS)
    assert outcomes["refused"] > 0


@pytest.mark.slow
def test_mutated_session_files_long(saved_session, tmp_path):
    _session, path = saved_session
    outcomes = open_mutants(tmp_path, path.read_bytes(), SLOW_MUTANTS)
    assert outcomes["refused"] > 0


def rezip(path, members: dict[str, bytes], victim: str, data: bytes) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, original in members.items():
            archive.writestr(name, data if name == victim else original)


def open_member_mutants(saved_path, tmp_path, n: int) -> dict[str, int]:
    """Mutate each member inside a well-formed zip (whole-file damage stops at the zip's CRC check),
    so the manifest parser and the array decoder see the damage."""
    with zipfile.ZipFile(saved_path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    def written() -> Iterator[Path]:
        for victim in members:
            for index, mutant in enumerate(mutations(members[victim], seed=len(victim), n=n)):
                path = tmp_path / f"{victim.replace('/', '_')}-{index % 50}.medassist"
                rezip(path, members, victim, mutant)
                yield path

    return tally(tmp_path, open_outcome, OUTCOMES, written(), n * len(members))


def test_mutated_members_inside_a_valid_zip_restore_or_fail_cleanly(saved_session, tmp_path):
    _session, path = saved_session
    outcomes = open_member_mutants(path, tmp_path, 8)
    assert outcomes["refused"] > 0


@pytest.mark.slow
def test_mutated_members_long(saved_session, tmp_path):
    _session, path = saved_session
    outcomes = open_member_mutants(path, tmp_path, 80)
    assert outcomes["refused"] > 0


def test_session_with_a_damaged_member_is_refused(saved_session, tmp_path):
    """A well-formed zip whose manifest is not JSON, or whose arrays are garbage."""
    _session, path = saved_session
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    for victim in members:
        bad = tmp_path / f"bad-{victim.replace('/', '_')}.medassist"
        with zipfile.ZipFile(bad, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data[: len(data) // 2] if name == victim else data)
        try:
            run_job(open_session(bad, remembered={}))
        except InputError as exc:
            assert exc.source == str(bad) and "\n" not in exc.reason


# full disk and read-only folder, for saving a session and exporting a PDF -------------------------

FAULTS = [(errno.ENOSPC, "disk is full"), (errno.EROFS, "read-only")]


def fail_at(monkeypatch, where: str, code: int) -> None:
    """Make the temp-file write or the final rename fail as a full or read-only disk would."""
    def refuse(*args, **kwargs):
        raise OSError(code, "simulated")

    monkeypatch.setattr(atomic.os, where, refuse)


@pytest.mark.parametrize("where", ["replace", "fsync"])
@pytest.mark.parametrize("code,says", FAULTS)
def test_saving_a_session_to_a_full_or_read_only_disk(saved_session, tmp_path, monkeypatch, where, code, says):
    session, path = saved_session
    previous = path.read_bytes()
    session.set_clinician_note("changed after the last save", PATIENT)
    fail_at(monkeypatch, where, code)
    with pytest.raises(WriteError, match=says) as caught:
        save_session(session, path)
    assert str(tmp_path) in str(caught.value)
    assert path.read_bytes() == previous
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(TEMP_SUFFIX)]


@pytest.mark.parametrize("code,says", FAULTS)
def test_exporting_a_pdf_to_a_full_or_read_only_disk(tmp_path, monkeypatch, code, says):
    session = make_session(tmp_path)
    content = collect_report(session, PATIENT, cards=make_cards(), settings=Settings())
    target = tmp_path / "report.pdf"
    target.write_bytes(b"%PDF-1.4 the previous report")
    fail_at(monkeypatch, "replace", code)
    with pytest.raises(WriteError, match=says) as caught:
        run_job(write_pdf(content, target))
    assert str(tmp_path) in str(caught.value)
    assert target.read_bytes() == b"%PDF-1.4 the previous report"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(TEMP_SUFFIX)]


# structure-aware mutants: a manifest with odd types, missing or unknown keys, deep nesting and long
# integers; arrays with damaged .npy headers, wrong lengths and compression bombs --------------------

VALUE_MUTANTS = 30  # in the default run
SLOW_VALUE_MUTANTS = 10_000


def open_value_mutants(saved_path, tmp_path, n: int) -> dict[str, int]:
    import json
    import random

    with zipfile.ZipFile(saved_path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members["session.json"])
    arrays = sorted(name for name in members if name.startswith("arrays/"))
    rng = random.Random(16)

    def written() -> Iterator[Path]:
        for index in range(n):
            path = tmp_path / f"value-{index % 50}.medassist"
            if arrays and rng.random() < 0.3:
                victim = rng.choice(arrays)
                rezip(path, members, victim, npy_header_mutant(members[victim], rng))
            else:
                rezip(path, members, "session.json", json_value_mutant(manifest, rng))
            yield path

    return tally(tmp_path, open_outcome, OUTCOMES, written(), n)


def test_value_mutants_restore_or_fail_cleanly(saved_session, tmp_path):
    _session, path = saved_session
    outcomes = open_value_mutants(path, tmp_path, VALUE_MUTANTS)
    assert outcomes["refused"] > 0 and outcomes["restored"] > 0


@pytest.mark.slow
def test_value_mutants_long(saved_session, tmp_path):
    _session, path = saved_session
    outcomes = open_value_mutants(path, tmp_path, SLOW_VALUE_MUTANTS)
    assert outcomes["refused"] > 0 and outcomes["restored"] > 0
