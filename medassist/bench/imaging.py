"""Imaging benchmark: time to open and first display real DICOM files, memory for a 500-slice series.

"Open" is :func:`load_image` (read, decode, modality LUT, hash); "first display" is the 8-bit
frame with the VOI LUT applied (:meth:`MedicalImage.display_frame`) and, when Qt is installed,
the viewer's first paint of it (offscreen). Run: ``python -m medassist.bench.imaging``.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from medassist.imaging.loader import load_image, open_images
from medassist.jobs import run_job
from medassist.paths import shared_data_dir

FILES = {
    "chest_cr_j2k_1955x1841": "dicom/chest_radiographs/RG1_J2KR.dcm",
    "ct_512_j2k": "dicom/ct/693_J2KR.dcm",
    "ct_512_big_endian": "dicom/ct/anon_apct.dcm",
    "mr_16_frames": "dicom/mr/MR-MONO2-8-16x-heart.dcm",
}
REPEATS = 3
SERIES_SLICES = 500


def _viewer() -> tuple[Any, Any]:
    """An offscreen viewer when Qt is available (the benchmark also runs headless without it)."""
    try:
        from PySide6.QtWidgets import QApplication

        from medassist.ui.viewer import ImageViewer
    except ImportError:
        return None, None
    app = QApplication.instance() or QApplication([])
    viewer = ImageViewer()
    viewer.resize(1000, 800)
    viewer.show()
    app.processEvents()
    return app, viewer


def time_file(path: Path, app: Any, viewer: Any) -> dict[str, float]:
    runs: dict[str, list[float]] = {"open_s": [], "display_frame_s": [], "viewer_first_paint_s": []}
    for _ in range(REPEATS):
        start = time.perf_counter()
        image = load_image(path)
        opened = time.perf_counter()
        image.display_frame(0)
        shown = time.perf_counter()
        runs["open_s"].append(opened - start)
        runs["display_frame_s"].append(shown - opened)
        if viewer is not None:
            start = time.perf_counter()
            viewer.set_image(image)
            viewer.canvas.grab()  # forces the render of the frame at the viewer's size
            app.processEvents()
            runs["viewer_first_paint_s"].append(time.perf_counter() - start)
    result = {f"{name}_first": round(values[0], 4) for name, values in runs.items() if values}
    result.update({f"{name}_median": round(statistics.median(values), 4) for name, values in runs.items() if values})
    result["open_plus_first_display_s"] = round(
        runs["open_s"][0] + (runs["viewer_first_paint_s"] or runs["display_frame_s"])[0], 4
    )
    return result


def write_series(folder: Path, slices: int, size: int = 512) -> None:
    """A synthetic CT series: int16 slices of a disc phantom, 1.25 mm apart."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    yy, xx = np.mgrid[:size, :size]
    disc = ((yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size * 0.4) ** 2).astype(np.int16)
    study, series = generate_uid(), generate_uid()
    for i in range(slices):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, generate_uid()
        ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.Modality = study, series, "CT"
        ds.InstanceNumber = i + 1
        ds.ImagePositionPatient = [0, 0, i * 1.25]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [0.7, 0.7]
        ds.Rows = ds.Columns = size
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.PixelData = (disc * (1000 + i)).tobytes()
        ds.save_as(folder / f"slice{i:04d}.dcm", enforce_file_format=True)


def bench_series(slices: int = SERIES_SLICES) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="medassist-bench-series-") as tmp:
        folder = Path(tmp)
        write_series(folder, slices)
        tracemalloc.start()
        start = time.perf_counter()
        batch = run_job(open_images(folder))
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        image = batch.images[0]
        return {
            "slices": image.n_frames,
            "shape": f"{image.shape[1]}x{image.shape[0]}",
            "open_s": round(elapsed, 2),
            "frames_mb": round(image.frames.nbytes / 2**20, 1),
            "peak_traced_mb": round(peak / 2**20, 1),
            "problems": len(batch.problems),
        }


def bench_imaging() -> dict[str, Any]:
    data = shared_data_dir()
    result: dict[str, Any] = {}
    app, viewer = _viewer()
    for name, relative in FILES.items():
        path = data / relative if data is not None else None
        result[name] = time_file(path, app, viewer) if path is not None and path.exists() else {"note": "shared data not available"}
    result["series_500_slices"] = bench_series()
    return result


if __name__ == "__main__":
    print(json.dumps(bench_imaging(), indent=2))
