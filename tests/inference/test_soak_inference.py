"""Soak: many consecutive predictions with Grad-CAM on the same and on different images, with no
memory growth after warm-up (and, in the slow soak only, no slowdown: timings depend on the machine's
load, so the default suite leaves them to ``medassist bench``); a model asked for by 16 threads at
once loads once."""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from medassist.audit import read_audit
from medassist.demo import public_dicom
from medassist.imaging.image import MedicalImage
from medassist.imaging.loader import load_image
from medassist.domain.inputs import ImageInput
from medassist.inference.registry import ModelRegistry
from medassist.inference.runtime import ModelRuntime
from medassist.inference.service import InferenceService
from medassist.jobs import run_job
from medassist.paths import bundled_models_dir
from tests.services import cpu_service

MODEL = "cxr-pneumonia"
pytestmark = pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads RSS from /proc")


def rss_bytes() -> int:
    import os

    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def chest_inputs(count: int) -> list[ImageInput]:
    """Different crops of the public chest CR as displayed (different sizes, so nothing is reused
    by shape); each is accepted by the model's input gate, so Grad-CAM runs on every one."""
    image = load_image(public_dicom("RG1_UNCR.dcm"))
    frame = np.asarray(image.display_frame(0), dtype=np.float32)[::4, ::4]
    inputs = []
    for index in range(count):
        crop = np.ascontiguousarray(frame[index * 5 :, index * 3 :])
        inputs.append(ImageInput(MedicalImage(path=Path(f"crop{index}.png"), frames=crop[None], modality="CR")))
    return inputs


def soak(service: InferenceService, runs: int) -> tuple[list[float], list[int]]:
    """Predict + Grad-CAM ``runs`` times, alternating one image and a rotating set; times and RSS."""
    same, *others = chest_inputs(6)
    timings, memory = [], []
    for index in range(runs):
        source = same if index % 2 == 0 else others[(index // 2) % len(others)]
        start = time.perf_counter()
        prediction = run_job(service.predict(MODEL, source))
        explanation = run_job(service.explain(MODEL, source, "gradcam"))
        timings.append(time.perf_counter() - start)
        memory.append(rss_bytes())
        assert prediction.gate is not None and prediction.gate.accepted and prediction.outputs
        assert np.isfinite(explanation.values).all()
    return timings, memory


def fresh_service(tmp_path) -> InferenceService:
    return cpu_service(threads=2, audit=tmp_path / "audit.jsonl")


def check_trends(timings: list[float], memory: list[int], warm: int, window: int, growth: float,
                 slowdown: float | None) -> dict:
    """Memory after the run within ``growth`` of memory after warm-up; with ``slowdown``, the last
    window's median time within that factor of the first window's."""
    settled = memory[warm]
    first = statistics.median(timings[warm : warm + window])
    last = statistics.median(timings[-window:])
    numbers = {"rss_after_warmup_mb": settled / 2**20, "rss_end_mb": memory[-1] / 2**20,
               "median_first_ms": first * 1000, "median_last_ms": last * 1000}
    print(numbers)
    assert memory[-1] <= settled * (1 + growth), numbers
    if slowdown is not None:
        assert last <= first * slowdown, numbers
    return numbers


def test_short_soak_keeps_memory(tmp_path):
    service = fresh_service(tmp_path)
    timings, memory = soak(service, 40)
    check_trends(timings, memory, warm=10, window=10, growth=0.10, slowdown=None)
    events = [line["event"] for line in read_audit(tmp_path / "audit.jsonl")]
    assert events.count("prediction") == 40 and len(events) == 2 * 40


@pytest.mark.slow
def test_soak_1000_predictions_with_explanations(tmp_path):
    service = fresh_service(tmp_path)
    timings, memory = soak(service, 1000)
    check_trends(timings, memory, warm=100, window=100, growth=0.05, slowdown=1.5)
    events = [line["event"] for line in read_audit(tmp_path / "audit.jsonl")]
    assert events.count("prediction") == 1000 and len(events) == 2 * 1000


def test_real_model_requested_by_16_threads_loads_once():
    runtime = ModelRuntime(ModelRegistry([bundled_models_dir()]), device_preference="cpu", threads=2)
    barrier = threading.Barrier(16)
    loaded, errors = [], []

    def ask():
        try:
            barrier.wait(10)
            loaded.append(runtime.load(MODEL))
        except Exception as exc:  # collected and asserted below, so a failure names its cause
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(loaded) == 16 and len({id(model) for model in loaded}) == 1
    assert runtime.load_count == {MODEL: 1}
