"""Model speed: ``python -m medassist.bench.models`` prints per-model numbers as JSON.

For every bundled image model: load time (hash check + build + weights), latency at batch 1
(the full handler: preprocessing, gate and temperature scaling, and the bare network),
throughput at batch 16, and Grad-CAM / Integrated Gradients times, on CPU with 2 threads
(and on CUDA when present). Runs on a real radiograph from ``../shared/data`` when available.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from medassist.composition import for_benchmark
from medassist.imaging.image import MedicalImage
from medassist.domain.inputs import ImageInput
from medassist.inference.runtime import DevicePreference, load_network
from medassist.inference.service import InferenceService
from medassist.jobs import run_job
from medassist.paths import shared_data_dir

SAMPLE = "cxr/images/kermany/test/PNEUMONIA/person100_bacteria_475.jpg"


def _median_ms(fn: Callable[[], Any], repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def sample_radiograph() -> MedicalImage:
    """A real Kermany test radiograph, or a smooth synthetic stand-in without the shared data."""
    data = shared_data_dir()
    if data is not None and (data / SAMPLE).is_file():
        from PIL import Image

        with Image.open(data / SAMPLE) as img:
            arr = np.asarray(img.convert("L"), dtype=np.float32)
        return MedicalImage(path=data / SAMPLE, frames=arr[None])
    yy, xx = np.mgrid[0:224, 0:224] / 223.0
    arr = (120 + 80 * np.sin(np.pi * xx) * np.sin(np.pi * yy)).astype(np.float32)
    return MedicalImage(path=Path("synthetic.png"), frames=arr[None])


def bench_image_model(name: str, device: DevicePreference = "cpu", threads: int = 2, repeats: int = 20) -> dict[str, Any]:
    services = for_benchmark(device, threads)
    entry = services.catalogue.get(name)
    card = entry.card
    assert card is not None  # get() returns usable entries only
    torch.set_num_threads(threads)
    start = time.perf_counter()
    load_network(entry.folder, card, torch.device(device))
    load_ms = (time.perf_counter() - start) * 1000.0

    service = services.models()
    assert isinstance(service, InferenceService)  # in this process: its runtime is timed directly
    runtime = service.runtime
    loaded = runtime.load(name)
    image = sample_radiograph()
    source = ImageInput(image)
    handler_ms = _median_ms(lambda: run_job(service.predict(name, source)), repeats)
    assert card.image is not None  # an image model's card has its image section
    size = card.image.preprocessing.size
    x1 = torch.randn(1, 1, *size, device=loaded.device)
    x16 = torch.randn(16, 1, *size, device=loaded.device)

    def forward(x: torch.Tensor) -> None:
        with torch.inference_mode():
            loaded.module(x)
        if loaded.device.type == "cuda":
            torch.cuda.synchronize()

    net_ms = _median_ms(lambda: forward(x1), repeats * 2)
    batch16_ms = _median_ms(lambda: forward(x16), max(repeats // 2, 3))
    result: dict[str, Any] = {
        "model": name,
        "device": runtime.describe(),
        "image": str(image.path.name),
        "load_ms": round(load_ms, 1),
        "latency_batch1_ms": round(handler_ms, 2),
        "network_batch1_ms": round(net_ms, 2),
        "throughput_batch16_images_per_s": round(16000.0 / batch16_ms, 1),
        "weights_mb": round(entry.weights_path.stat().st_size / 2**20, 2),
    }
    prediction = run_job(service.predict(name, source))
    if prediction.refused:
        result["explanations"] = "skipped: the gate refused the sample image (no shared data)"
        return result
    from medassist.explain import image as explain_image

    for method, runs in (("gradcam", repeats), ("integrated_gradients", 3)):
        times, faith = [], []
        for _ in range(runs + 1):
            explain_image._cache.clear()
            explanation = run_job(service.explain(name, source, method, "pneumonia"))
            times.append(explanation.elapsed_ms)
            faith.append(explanation.faithfulness)
        result[f"{method}_ms"] = round(statistics.median(times[1:]), 2)
        result[f"{method}_faithfulness"] = faith[-1]
    result["gradcam_over_inference"] = round(result["gradcam_ms"] / handler_ms, 2)
    return result


def bench_models(threads: int = 2) -> dict[str, Any]:
    """Numbers for every available image model, on CPU and (when present) CUDA."""
    results: dict[str, Any] = {"torch": torch.__version__, "threads": threads, "models": []}
    for entry in for_benchmark("cpu", threads).catalogue.available("image-classification"):
        results["models"].append(bench_image_model(entry.name, "cpu", threads))
        if torch.cuda.is_available():
            results["models"].append(bench_image_model(entry.name, "cuda", threads))
    return results


if __name__ == "__main__":
    print(json.dumps(bench_models(), indent=1))
