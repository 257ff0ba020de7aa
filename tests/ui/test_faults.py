"""Faults: a tampered or corrupted model copy is refused; workers failing mid-job leave the window
usable; audit lines from several processes at once are never lost or interleaved."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from medassist.audit import verify_chain
from medassist.errors import InputError, ModelError
from medassist.jobs import Progress
from medassist.paths import bundled_models_dir

MODEL = "cxr-pneumonia"
REPO = Path(__file__).resolve().parents[2]


def flip_a_byte(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at % len(data)] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture()
def model_copy(tmp_path, monkeypatch) -> Path:
    """The bundled chest model copied to a folder that MEDASSIST_MODELS_DIR points at."""
    models = tmp_path / "models"
    shutil.copytree(bundled_models_dir() / MODEL, models / MODEL)
    monkeypatch.setenv("MEDASSIST_MODELS_DIR", str(models))
    return models / MODEL


def fresh_service(audit: Path):
    """A service on the default model folders (the copy's, through MEDASSIST_MODELS_DIR)."""
    from medassist.settings import Settings
    from tests.services import cpu_service

    return cpu_service(threads=1, audit=audit, folders=Settings().model_folders)


def test_the_intact_copy_loads(model_copy):
    runtime = fresh_service(model_copy.parent / "audit.jsonl").runtime
    assert runtime.registry.get(MODEL).folder == model_copy
    runtime.load(MODEL)


@pytest.mark.parametrize("file,says", [("weights.pt", "SHA-256 mismatch"), ("gate.pt", "gate SHA-256 mismatch")])
def test_a_tampered_model_file_is_refused(model_copy, file, says):
    from medassist.domain.inputs import ImageInput
    from medassist.jobs import run_job
    from tests.inference.test_soak_inference import chest_inputs

    flip_a_byte(model_copy / file, at=(model_copy / file).stat().st_size // 2)
    service = fresh_service(model_copy.parent / "audit.jsonl")
    source: ImageInput = chest_inputs(1)[0]
    with pytest.raises(ModelError, match=says) as caught:
        run_job(service.predict(MODEL, source))
    assert file in str(caught.value) or str(model_copy) in str(caught.value)
    assert "\n" not in caught.value.reason


def test_a_truncated_weights_file_is_refused_by_the_cli(model_copy, capsys):
    from medassist.cli.main import main

    weights = model_copy / "weights.pt"
    weights.write_bytes(weights.read_bytes()[:1000])
    image = model_copy.parent / "cxr.png"
    shutil.copy(model_copy / "reliability.png", image)
    code = main(["predict", "--model", MODEL, "--json", str(image)])
    captured = capsys.readouterr()
    assert code != 0
    assert "mismatch" in captured.err + captured.out and "Traceback" not in captured.err


# workers failing mid-job ---------------------------------------------------------------------


def test_workers_failing_mid_job_leave_a_concurrent_job_and_the_window_working(window, qtbot):
    """Out of memory and a bad file in two workers while a third keeps working; then a new job runs."""
    release = threading.Event()

    def steady():
        for step in range(50):
            if release.is_set():
                break
            time.sleep(0.01)
            yield Progress(step / 50, "working")
        return "steady done"

    def out_of_memory():
        yield Progress(0.3, "decoding")
        raise MemoryError

    def bad_file():
        yield Progress(0.6, "reading")
        raise InputError("not a DICOM file", "scan.dcm")

    runner = window.context.runner
    results, errors = [], []
    runner.submit("steady", steady, on_result=results.append, on_error=errors.append)
    failed = [runner.submit(title, job, on_error=errors.append) for title, job in
              (("oom", out_of_memory), ("bad", bad_file))]
    qtbot.waitUntil(lambda: all(handle.done for handle in failed), timeout=10000)
    release.set()
    qtbot.waitUntil(lambda: results == ["steady done"], timeout=10000)
    assert len(errors) == 2
    assert any("memory" in message.lower() for message in errors)
    assert any("scan.dcm" in message and "not a DICOM file" in message for message in errors)
    assert window.isVisible() and window.isEnabled()
    after = []
    runner.submit("next", lambda: iter(()), on_result=after.append)
    qtbot.waitUntil(lambda: bool(after), timeout=5000)


# audit log across processes ------------------------------------------------------------------

WRITER = """
import sys
from medassist.audit import AuditLog
log = AuditLog(sys.argv[1], "")
for i in range(int(sys.argv[3])):
    log.append("soak", writer=int(sys.argv[2]), index=i, padding="x" * (i % 97) * 40)
"""


def test_audit_lines_from_four_processes_are_never_lost_or_interleaved(tmp_path):
    path = tmp_path / "audit.jsonl"
    lines_each = 200
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(n), str(lines_each)], cwd=REPO)
               for n in range(4)]
    assert [w.wait(120) for w in writers] == [0, 0, 0, 0]
    raw = path.read_text(encoding="utf-8")
    assert raw.endswith("\n")
    rows = [json.loads(line) for line in raw.splitlines()]
    assert len(rows) == 4 * lines_each
    for writer in range(4):
        assert [r["index"] for r in rows if r["writer"] == writer] == list(range(lines_each))
    check = verify_chain(path)  # each writer chained its line to the line really before it
    assert check.intact and check.lines == 4 * lines_each, check
