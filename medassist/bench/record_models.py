"""Benchmark of the record-based models on CPU: notes-model latency for a 1,000-word note (predict,
attention rollout, Integrated Gradients) and tabular inference + attribution time.

    python -m medassist.bench.record_models [--threads 2] [--repeats 3]

Prints one JSON object (milliseconds, median of ``repeats``). The note is built from sentences of
the kind MTSamples holds, so its token count per word is realistic (~1.3 WordPiece tokens/word).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from functools import partial
from typing import Callable

from medassist.composition import for_benchmark
from medassist.domain.inputs import TextInput
from medassist.domain.prediction import Explanation
from medassist.inference.service import InferenceService
from medassist.jobs import Job, run_job
from medassist.models.notes import NotesClassifier

_SENTENCES = (
    "The patient is a 64-year-old woman with a history of hypertension, hyperlipidemia and type 2 diabetes mellitus.",
    "She presents with three days of worsening shortness of breath, productive cough and subjective fevers.",
    "Chest x-ray showed a right lower lobe infiltrate consistent with community-acquired pneumonia.",
    "Home medications include metformin 1000 mg twice daily, lisinopril 20 mg daily and atorvastatin 40 mg nightly.",
    "On examination she was tachycardic with crackles at the right base and no peripheral edema.",
    "Laboratory studies were notable for leukocytosis and a creatinine of 1.4, up from a baseline of 1.1.",
    "She was started on ceftriaxone and azithromycin and her oxygen requirement improved over 48 hours.",
    "Echocardiogram showed preserved ejection fraction without regional wall motion abnormality.",
)

HEART_EXAMPLE = {"age": 63, "sex": 1, "cp": 4, "trestbps": 145, "chol": 233, "fbs": 1, "restecg": 2, "thalach": 150,
                 "exang": 0, "oldpeak": 2.3, "slope": 3, "ca": 0, "thal": 6}


def note_of(words: int) -> str:
    """A realistic clinical note of exactly ``words`` whitespace-separated words."""
    pieces: list[str] = []
    i = 0
    while len(pieces) < words:
        pieces.extend(_SENTENCES[i % len(_SENTENCES)].split())
        i += 1
    return " ".join(pieces[:words])


def _append_result(results: list[Explanation], job: Job[Explanation]) -> None:
    results.append(run_job(job))


def _median_ms(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


class _Results(dict):
    """A dict that can echo each number as it is measured (a slow machine still shows progress)."""

    def __init__(self, echo: bool) -> None:
        super().__init__()
        self.echo = echo

    def __setitem__(self, key: str, value: object) -> None:
        super().__setitem__(key, value)
        if self.echo:
            print(f"  {key}: {value}", flush=True)


def bench_record_models(threads: int = 2, repeats: int = 3, echo: bool = False) -> dict:
    """Latencies in ms on CPU with ``threads`` torch threads (models loaded once, first load timed)."""
    service = for_benchmark("cpu", threads).models()
    assert isinstance(service, InferenceService)  # in this process: its runtime loads the models timed here
    runtime = service.runtime
    results = _Results(echo)
    results["device"] = runtime.describe()

    for name in ("heart-disease", "diabetes-pima", "ckd"):
        runtime.load(name)
    example = {"heart-disease": HEART_EXAMPLE,
               "diabetes-pima": {"glucose": 148, "bmi": 33.6, "age": 50, "pregnancies": 6, "sex": "female"},
               "ckd": {"age": 48, "bp": 80, "sg": 1.02, "al": 1, "hemo": 15.4, "sc": 1.2, "htn": 1, "dm": 1}}
    for name, features in example.items():
        # (each lambda is called only inside this iteration, so reading the loop variables is safe)
        results[f"{name}_predict_ms"] = _median_ms(
            lambda: run_job(service.predict(name, features)), repeats * 10)  # noqa: B023
        results[f"{name}_integrated_gradients_ms"] = _median_ms(
            lambda: run_job(service.explain(name, features, "integrated_gradients")), repeats * 3)  # noqa: B023

    started = time.perf_counter()
    runtime.load("notes-problems")
    results["notes_model_load_ms"] = round((time.perf_counter() - started) * 1000, 1)
    note = TextInput(note_of(1000), "bench-1000-words")
    results["note_words"] = 1000
    classifier = runtime.load("notes-problems").module
    assert isinstance(classifier, NotesClassifier)
    results["note_chunks"] = int(classifier.chunk(note.text).input_ids.shape[0])
    results["notes_predict_ms"] = _median_ms(lambda: run_job(service.predict("notes-problems", note)), repeats)
    results["notes_attention_rollout_ms"] = _median_ms(
        lambda: run_job(service.explain("notes-problems", note, "attention_rollout", "hypertension")), repeats)
    for target in ("hypertension", "asthma"):  # named in four of its sentences; never named in it
        cpu = time.process_time()
        explanation: list[Explanation] = []
        explain = service.explain("notes-problems", note, "integrated_gradients", target)
        results[f"notes_integrated_gradients_{target}_ms"] = _median_ms(partial(_append_result, explanation, explain), 1)
        # CPU seconds of this process: on a shared machine the wall time above is mostly waiting
        results[f"notes_integrated_gradients_{target}_cpu_ms"] = round((time.process_time() - cpu) * 1000, 1)
        faith = explanation[0].faithfulness or {}
        results[f"notes_integrated_gradients_{target}_gap"] = {
            "completeness_gap": round(faith["completeness_gap"], 4),
            "logit_difference": round(faith["logit"] - faith["baseline_logit"], 4),
            "steps": faith["steps"], "sentences": faith["windows"]}
    return dict(results)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps(bench_record_models(args.threads, args.repeats, echo=True), indent=2))


if __name__ == "__main__":
    main()
