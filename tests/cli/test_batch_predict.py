"""``medassist predict`` over a folder: one JSON line per file in order, named errors, exit 1
when some failed; ``--resume`` after an interruption scores only the rest; the decode-ahead
queue stays bounded; the Ray engine gives the local engine's rows."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medassist.app import batch
from medassist.imaging.loader import image_files
from medassist.cli.main import main
from medassist.demo import public_dicom
from medassist.domain.prediction import Prediction
from medassist.imaging.loader import load_image

MODEL = "cxr-pneumonia"
VOLATILE = {"elapsed_ms", "created"}
GOOD, CORRUPT = 12, 2


def write_chest_pngs(folder: Path, count: int) -> None:
    """Downsampled crops of the public chest CR, each a little different."""
    frame = load_image(public_dicom("RG1_UNCR.dcm")).display_frame(0)
    frame = np.asarray(frame, dtype=np.float32)
    if frame.ndim == 3:
        frame = frame.mean(axis=2)
    small = frame[::4, ::4]
    for index in range(count):
        crop = small[index * 3 : small.shape[0] - index * 2, index * 2 : small.shape[1] - index * 3]
        lo, hi = float(crop.min()), float(crop.max())
        Image.fromarray(((crop - lo) / (hi - lo + 1e-6) * 255).astype(np.uint8)).save(folder / f"cxr{index:02d}.png")


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("batch")
    write_chest_pngs(folder, GOOD)
    (folder / "cxr05b-broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20)
    (folder / "cxr09b-torn.dcm").write_bytes(public_dicom("CT_small.dcm").read_bytes()[:700])
    return folder


def run_cli(capsys, *args: str) -> tuple[int, list[dict]]:
    code = main(["predict", "--model", MODEL, "--json", *args])
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines() if line.strip()]


def stable(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in VOLATILE}


@pytest.fixture(scope="module")
def full_run(image_folder) -> tuple[int, list[dict]]:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["predict", "--model", MODEL, "--json", "--workers", "2", str(image_folder)])
    return code, [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_folder_streams_one_line_per_file_in_order_with_errors_named(image_folder, full_run):
    code, rows = full_run
    expected = image_files([image_folder])
    assert [row["file"] for row in rows] == [str(p) for p in expected]
    assert len(rows) == GOOD + CORRUPT
    failed = {Path(row["file"]).name: row["error"] for row in rows if "error" in row}
    assert set(failed) == {"cxr05b-broken.png", "cxr09b-torn.dcm"}
    assert all(reason and "\n" not in reason for reason in failed.values())
    assert all(row["model"] == MODEL and ("outputs" in row or "gate" in row) for row in rows if "error" not in row)
    assert code == 1


def test_resume_after_an_interruption_scores_only_the_rest(image_folder, full_run, tmp_path, capsys):
    _code, rows = full_run
    output = tmp_path / "out.jsonl"
    done = 5
    torn = json.dumps(rows[done])
    output.write_text("".join(json.dumps(row) + "\n" for row in rows[:done]) + torn[: len(torn) // 2], encoding="utf-8")
    code, resumed = run_cli(capsys, "--workers", "2", "--output", str(output), "--resume", str(image_folder))
    assert code == 1
    assert [row["file"] for row in resumed] == [row["file"] for row in rows[done:]]
    complete = []
    for line in output.read_text(encoding="utf-8").splitlines():
        try:
            complete.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    scored = {row["file"]: stable(row) for row in complete if "error" not in row}
    assert scored == {row["file"]: stable(row) for row in rows if "error" not in row}

    code, again = run_cli(capsys, "--output", str(output), "--resume", str(image_folder))
    assert [Path(row["file"]).name for row in again] == ["cxr05b-broken.png", "cxr09b-torn.dcm"]


def _scored(name: str) -> Prediction:
    """A result that names the input it was made on (its input hash stands for the decoded file)."""
    return Prediction(model=MODEL, version="1", weights_sha256="0" * 64, task="image-classification", device="CPU",
                      source=name, input_sha256=name, outputs={"x": 0.5}, thresholds={}, positive=[])


def test_decode_ahead_never_holds_more_than_twice_the_workers(tmp_path, monkeypatch):
    files = [tmp_path / f"f{i:03d}.png" for i in range(60)]
    workers = 3
    lock = threading.Lock()
    decoded: list[str] = []
    consumed = 0
    most_waiting = 0

    def counting_loader(path: Path):
        time.sleep(0.001)
        with lock:
            decoded.append(path.name)
        return path.name

    class SlowService:
        def predict(self, model, source):
            nonlocal consumed, most_waiting
            time.sleep(0.004)  # the model is slower than decoding, so decoders race ahead
            with lock:
                consumed += 1
                most_waiting = max(most_waiting, len(decoded) - consumed)
            return _scored(source)
            yield  # a job: a generator that returns its result

    monkeypatch.setattr(batch, "_image_input", counting_loader)
    rows = list(batch.image_rows(SlowService(), MODEL, files, workers, None))
    assert [row["file"] for row in rows] == [str(f) for f in files]
    assert [row["input_sha256"] for row in rows] == [f.name for f in files]
    assert 0 < most_waiting <= 2 * workers


@pytest.mark.slow  # about 55 s here, most of it starting Ray and its actors
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed")
def test_ray_engine_rows_equal_the_local_engine(image_folder, full_run, tmp_path, capsys, monkeypatch):
    import ray

    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    _code, rows = full_run
    subset = tmp_path / "six"
    subset.mkdir()
    chosen = [Path(row["file"]) for row in rows][:7]  # six images and the broken PNG
    for path in chosen:
        (subset / path.name).write_bytes(path.read_bytes())
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        code, ray_rows = run_cli(capsys, "--engine", "ray", str(subset))
    finally:
        ray.shutdown()
    code_local, local_rows = run_cli(capsys, "--engine", "local", str(subset))
    assert code == code_local == 1
    assert [stable(row) for row in ray_rows] == [stable(row) for row in local_rows]
    assert sum("error" in row for row in ray_rows) == 1
