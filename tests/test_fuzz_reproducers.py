"""Every damaged file in ``../shared/fuzz-reproducers`` (found by independent fuzzing; see its README)
opens, or fails with a one-line MedAssistError naming the file, through the public entry points:
``medassist image info|render``, ``medassist records import`` and opening a session file. Each
stands for a class of damage fixed in its reader; the file is read from there and never copied."""

from __future__ import annotations

import signal
from contextlib import contextmanager
from pathlib import Path

import pytest

from medassist.cli.main import main
from medassist.errors import MedAssistError
from medassist.imaging.loader import load_image
from medassist.jobs import run_job
from medassist.app import sessions
from medassist.records.importer import import_records
from medassist.session import Session

REPRODUCERS = Path(__file__).resolve().parents[1].parent / "shared" / "fuzz-reproducers"
HANG_SECONDS = 120  # a guard against a hang (the suite would never end), not a speed check


def reproducers(prefixes: tuple[str, ...], folder: str = "") -> list:
    where = REPRODUCERS / folder
    if not where.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason="../shared/fuzz-reproducers is not available"))]
    return [pytest.param(p, id=p.name) for p in sorted(where.iterdir()) if p.name.startswith(prefixes)]


@contextmanager
def no_hang():
    def hung(*_):
        raise TimeoutError(f"still running after {HANG_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(HANG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def refused_or_opened(open_it, path: Path) -> str:
    """"opened", or "refused" with a one-line error that names the file."""
    with no_hang():
        try:
            open_it(path)
        except MedAssistError as exc:
            assert exc.source is not None and exc.source.startswith(str(path)), exc
            assert exc.reason and "\n" not in exc.reason
            return "refused"
    return "opened"


def cli_outcome(capsys, *argv: str) -> int:
    """Exit status of the command line; 1 is an internal error (an exception that was not a MedAssistError)."""
    with no_hang():
        status = main(list(argv))
    err = capsys.readouterr().err
    assert status in (0, 2), err
    assert "internal error" not in err and len(err.strip().splitlines()) <= 1, err
    return status


@pytest.mark.parametrize("path", reproducers(("dicom_",)))
def test_damaged_dicom_opens_or_is_refused(path, tmp_path, capsys):
    def every_frame(p: Path) -> None:
        image = load_image(p)
        image.describe()
        for index in range(image.n_frames):
            image.display_frame(index)

    outcome = refused_or_opened(every_frame, path)
    info = cli_outcome(capsys, "image", "info", str(path))
    render = cli_outcome(capsys, "image", "render", str(path), "--out", str(tmp_path / "shown.png"))
    assert {info, render} == ({0} if outcome == "opened" else {2})


@pytest.mark.parametrize("path", reproducers(("fhir_", "records_")))
def test_damaged_records_are_read_or_refused(path, capsys):
    def read(p: Path) -> None:
        records = import_records(p, remembered={})
        records.counts()
        assert records.report.problems, "a damaged file is read with its damage reported"

    outcome = refused_or_opened(read, path)
    status = cli_outcome(capsys, "records", "import", str(path), "--json")
    assert outcome == "opened" or status == 2  # (2 also when a read file held no usable rows)


@pytest.mark.parametrize("path", reproducers(("",), "sessions"))
def test_damaged_sessions_restore_or_are_refused(path):
    def restore(p: Path) -> None:
        restored = run_job(sessions.open_session(p, remembered={}))
        sessions.restore(Session(), restored)
        restored.summary()

    refused_or_opened(restore, path)
