"""Records import benchmark: time and peak memory for a generated 100,000-patient table (CSV
and Parquet) and for the largest Synthea cohort in ``../shared/data``.

Time (wall clock and this process's CPU time, which a busy machine inflates less) is measured
on a plain run; peak memory twice: Python + NumPy/pandas allocations on a
second run under ``tracemalloc`` (which slows the code it watches and misses Arrow's own
buffers), and the whole process's peak resident memory in a fresh process, less what that
process held after importing MedAssist.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from medassist.bench import machine
from medassist.paths import shared_data_dir
from medassist.records.importer import import_records

PATIENTS = 100_000
_GIVEN = ("Ann", "Bob", "Chloe", "David", "Eva", "Farid", "Grace", "Hiro", "Ines", "Jamal", "Kofi", "Lena")
_FAMILY = ("Okafor", "Smith", "Nguyen", "Garcia", "Müller", "Kowalski", "Haddad", "Tanaka", "Silva", "Novak")


def patient_table(rows: int = PATIENTS, seed: int = 7) -> pd.DataFrame:
    """A synthetic patient table laid out like an EHR export (seeded, reproducible)."""
    rng = np.random.default_rng(seed)
    birth = pd.Timestamp("1930-01-01") + pd.to_timedelta(rng.integers(0, 33_000, rows), unit="D")
    given = np.asarray(_GIVEN, dtype=object)[rng.integers(0, len(_GIVEN), rows)]
    family = np.asarray(_FAMILY, dtype=object)[rng.integers(0, len(_FAMILY), rows)]
    return pd.DataFrame({
        "MRN": [f"MRN{i:07d}" for i in range(rows)],
        "First Name": given,
        "Last Name": family,
        "Date of Birth": birth.strftime("%Y-%m-%d"),
        "Sex": rng.choice(np.array(["F", "M"], dtype=object), rows),
        "City": rng.choice(np.array(["Leeds", "Omaha", "Lagos", "Pune"], dtype=object), rows),
        "Weight": np.round(rng.normal(75, 15, rows), 1),
    })


def largest_synthea_cohort() -> Path | None:
    """The Synthea cohort with the most patients (``patients.csv`` rows), if the data is present."""
    data = shared_data_dir()
    if data is None:
        return None
    folders = [p.parent for p in (data / "synthea").glob("*/csv/patients.csv")]
    if not folders:
        return None
    return max(folders, key=lambda folder: sum(1 for _ in open(folder / "patients.csv", "rb")))


def _peak_rss_child(path: str, queue: "multiprocessing.Queue[float]") -> None:
    baseline = machine.peak_rss_mib()  # MedAssist and pandas are imported by now
    import_records(path, remembered={})
    queue.put(machine.peak_rss_mib() - baseline)


def peak_rss_mib(path: Path) -> float:
    """Growth of peak resident memory (MiB) while a fresh process imports ``path``."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_peak_rss_child, args=(str(path), queue))
    process.start()
    result = queue.get(timeout=600)
    process.join()
    return round(result, 1)


def measure(path: Path) -> dict:
    """Seconds for one import, its peak traced memory and peak process memory growth in MiB."""
    gc.collect()
    start, cpu_start = time.perf_counter(), time.process_time()
    records = import_records(path, remembered={})
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    del records
    gc.collect()
    tracemalloc.start()
    records = import_records(path, remembered={})
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"seconds": round(seconds, 3), "cpu_seconds": round(cpu_seconds, 3), "traced_peak_mib": round(peak / 2**20, 1), "rss_growth_mib": peak_rss_mib(path),
            "counts": records.counts(), "problems": len(records.report.problems)}


def bench_records() -> dict:
    """Import timings and peak memory, keyed by what was imported."""
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="medassist-bench-") as folder:
        table = patient_table()
        csv_path, parquet_path = Path(folder) / "patients_100k.csv", Path(folder) / "patients_100k.parquet"
        table.to_csv(csv_path, index=False)
        table.to_parquet(parquet_path)
        results["table_100k_csv"] = measure(csv_path)
        results["table_100k_parquet"] = measure(parquet_path)
    cohort = largest_synthea_cohort()
    if cohort is not None:
        results[f"synthea_{cohort.parent.name}"] = measure(cohort)
    return results


def main() -> None:
    results = bench_records()
    for name, result in results.items():
        print(f"{name:<36} {result['seconds']:>6.2f} s (CPU {result['cpu_seconds']:.2f} s)  traced peak {result['traced_peak_mib']:>6.1f} MiB  "
              f"RSS growth {result['rss_growth_mib']:>6.1f} MiB  "
              f"patients {result['counts']['patients']:>7,}  problems {result['problems']}")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
