"""DICOM node benchmark: objects per second received and scored, and the delay from a film's
arrival to its score on the worklist. Everything runs on loopback with a throw-away store.

The delay is bracketed, because the last byte of a C-STORE is not visible to a client: from the
moment the sender starts sending the object (upper bound) and from the node's acknowledgement
(lower bound; the object is then written, fsynced and committed) to the worklist row being scored.
Run: ``python -m medassist.bench.hospital``.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pydicom
from pydicom.uid import generate_uid
from pynetdicom import AE

from medassist.composition import for_benchmark
from medassist.settings.node import NodeSettings
from medassist.hospital.service import HospitalNode
from medassist.hospital.store import StudyStore
from medassist.paths import shared_data_dir

SOURCE = "dicom/chest_radiographs/gdcm-CR-MONO1-10-chest.dcm"
# a 3-image study (one CR in three transfer syntaxes, 1955x1841, same Study Instance UID)
RESULTS_STUDY = ("RG1_UNCR.dcm", "RG1_J2KR.dcm", "RG1_J2KI.dcm")
RESULTS_RUNS = 3
STREAM = 100
SINGLES = 10
WAIT_S = 600


def _copies(path: Path, count: int, tag: str) -> list[Any]:
    out = []
    for index in range(count):
        dataset = pydicom.dcmread(path)
        dataset.SOPInstanceUID = generate_uid(entropy_srcs=[tag, str(index), str(time.time_ns())])
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        out.append(dataset)
    return out


def bench_results(data: Path, tmp: Path) -> dict[str, Any]:
    """``medassist results`` on a scored 3-image study: seconds per study for a first issue (the first
    run in the process imports captum, as the command does), for a new issue once warm (a fresh store
    each time), and for issuing an unchanged study again; and the bytes of what goes to the PACS and the EHR."""
    from medassist.hospital.results import export_study
    from medassist.hospital.scoring import Scorer
    from medassist.hospital.store import ObjectHeader
    from medassist.jobs import run_job

    files = [data / "dicom" / "chest_radiographs" / name for name in RESULTS_STUDY]
    if not all(path.is_file() for path in files):
        return {"note": "the RG1 chest radiographs are not available"}
    services = for_benchmark("auto", None)  # as the command runs by default: every core, a GPU when there is one

    def scored(run: int) -> tuple[StudyStore, str]:
        store = StudyStore(tmp / f"results-node-{run}")
        scorer = Scorer(store, services.models)
        for path in files:
            header = ObjectHeader.from_dataset(pydicom.dcmread(path, stop_before_pixels=True))
            store.add(header, path.read_bytes(), "bench", "cxr-pneumonia")
            row = store.claim_next()
            assert row is not None
            scorer.score_one(row["sop_instance_uid"], row["path"], row["model"], row["patient_id"])
        return store, store.entries()[0]["study_instance_uid"]

    seconds, exported = [], None
    for run in range(RESULTS_RUNS):
        store, study = scored(run)
        start = time.perf_counter()
        exported = run_job(export_study(store, study, tmp / f"results-{run}", services))
        seconds.append(time.perf_counter() - start)
    assert exported is not None
    start = time.perf_counter()
    again = run_job(export_study(store, study, tmp / "results-again", services))
    unchanged = time.perf_counter() - start
    assert again.reused
    return {
        "study": f"{len(files)} images of {files[0].name.split('_')[0]} (1955x1841 CR)",
        "results_first_s": round(seconds[0], 2),
        "results_warm_s_median": round(statistics.median(seconds[1:]), 2),
        "results_unchanged_again_s": round(unchanged, 2),
        "dicom_objects_sent": 1 + len(exported.ai_maps),
        "dicom_bytes_sent_per_study": exported.dicom_bytes,
        "fhir_bytes_per_study": exported.fhir_report.stat().st_size if exported.fhir_report else 0,
        "pdf_bytes_per_study": exported.pdf.stat().st_size if exported.pdf else 0,
    }


def bench_hospital() -> dict[str, Any]:
    data = shared_data_dir()
    if data is None or not (data / SOURCE).is_file():
        return {"note": f"{SOURCE} not available"}
    with tempfile.TemporaryDirectory(prefix="medassist-bench-results-") as tmp:
        results = bench_results(data, Path(tmp))
    source = data / SOURCE
    scored_at: dict[str, float] = {}
    done = threading.Condition()

    def on_scored(uid: str, _status: str) -> None:
        with done:
            scored_at[uid] = time.perf_counter()
            done.notify_all()

    def wait_for(uids: list[str]) -> None:
        deadline = time.monotonic() + WAIT_S
        with done:
            while not all(u in scored_at for u in uids):
                if not done.wait(max(deadline - time.monotonic(), 0.01)) and time.monotonic() > deadline:
                    raise TimeoutError("objects were not scored in time")

    with tempfile.TemporaryDirectory(prefix="medassist-bench-node-") as tmp:
        settings = NodeSettings(enabled=True, port=0, allowed_calling_ae_titles=["BENCH"], score_workers=2)
        node = HospitalNode(settings, for_benchmark("auto", None), StudyStore(Path(tmp) / "node"), on_scored=on_scored)
        node.start()
        try:
            sample = pydicom.dcmread(source)
            ae = AE(ae_title="BENCH")
            ae.add_requested_context(sample.SOPClassUID, sample.file_meta.TransferSyntaxUID)

            def send(datasets: list[Any]) -> list[tuple[float, float]]:
                """C-STORE on one association; (start, acknowledged) per object."""
                assoc = ae.associate("127.0.0.1", node.port, ae_title=settings.ae_title)
                times = []
                try:
                    for dataset in datasets:
                        start = time.perf_counter()
                        assoc.send_c_store(dataset)
                        times.append((start, time.perf_counter()))
                finally:
                    assoc.release()
                return times

            warm = _copies(source, 1, "warm")
            send(warm)  # loads torch and the model; not timed
            wait_for([warm[0].SOPInstanceUID])

            to_score, from_ack = [], []
            for dataset in _copies(source, SINGLES, "single"):
                ((start, acked),) = send([dataset])
                wait_for([dataset.SOPInstanceUID])
                to_score.append(scored_at[dataset.SOPInstanceUID] - start)
                from_ack.append(scored_at[dataset.SOPInstanceUID] - acked)

            stream = _copies(source, STREAM, "stream")
            times = send(stream)
            start, received = times[0][0], times[-1][1]
            wait_for([d.SOPInstanceUID for d in stream])
            finished = max(scored_at[d.SOPInstanceUID] for d in stream)
        finally:
            node.stop()
    return {
        "object": f"{source.name} ({source.stat().st_size / 1e6:.2f} MB, {sample.Rows}x{sample.Columns})",
        "score_workers": settings.score_workers,
        "stream_objects": STREAM,
        "received_objects_per_s": round(STREAM / (received - start), 1),
        "received_and_scored_objects_per_s": round(STREAM / (finished - start), 1),
        "delay_send_start_to_score_ms_median": round(1000 * statistics.median(to_score), 1),
        "delay_ack_to_score_ms_median": round(1000 * statistics.median(from_ack), 1),
        "delay_send_start_to_score_ms_max": round(1000 * max(to_score), 1),
        "single_objects": SINGLES,
        "results": results,
    }


if __name__ == "__main__":
    print(json.dumps(bench_hospital(), indent=2))
