"""``medassist predict`` and ``medassist explain``: the Diagnosis tab's work, headless.

Images stream as JSON lines (one per file, in input order) with bounded memory: files are
decoded by a small thread pool a few ahead of the model, results are flushed as they come,
and ``--output FILE --resume`` skips files already scored after an interruption.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from medassist.atomic import atomic_write
from medassist.bounded import NOTE_FILE, log_lines
from medassist.domain.inputs import ImageInput, RecordInput, TextInput
from medassist.domain.tasks import Task
from medassist.errors import InputError

if TYPE_CHECKING:
    from medassist.composition import Services



def register(sub: argparse._SubParsersAction) -> None:
    predict = sub.add_parser("predict", help="run a model on images, a note or a patient record")
    predict.add_argument("--model", required=True, help="model name (see `medassist models list`)")
    predict.add_argument("files", nargs="*", type=Path, help="image files or folders, or a note text file")
    predict.add_argument("--text", help="note text for a text model")
    predict.add_argument("--records", type=Path, help="records (folder or file) for a record-based model")
    predict.add_argument("--patient", help="patient ID within --records")
    predict.add_argument("--json", action="store_true", help="one JSON object per line")
    predict.add_argument("--explain", metavar="METHOD", help="also compute this explanation (gradcam, ig, ...)")
    predict.add_argument("--output", type=Path, help="append JSON lines to this file (flushed per result)")
    predict.add_argument("--resume", action="store_true", help="with --output: skip files already in it")
    predict.add_argument("--workers", type=int, default=None, help="image decoding threads (default: cores)")
    predict.add_argument("--engine", choices=["local", "ray"], default="local", help="batch engine for many images")
    predict.add_argument("--ray-address", default=None, help="Ray cluster address (default: a local instance)")
    predict.add_argument("--progress", action="store_true", help="print progress to stderr")
    predict.set_defaults(func=run_predict)

    explain = sub.add_parser("explain", help="explain one model output and save the map")
    explain.add_argument("--model", required=True)
    explain.add_argument("--method", required=True, help="gradcam | ig (images); ig | attention_rollout (notes); ig (records)")
    explain.add_argument("--target", default=None, help="output label to explain (default: the top output)")
    explain.add_argument("--out", type=Path, help="overlay PNG for images (the raw map is saved beside it as .npy)")
    explain.add_argument("--text", help="note text for a text model")
    explain.add_argument("--records", type=Path)
    explain.add_argument("--patient")
    explain.add_argument("file", nargs="?", type=Path)
    explain.set_defaults(func=run_explain)


# inputs ---------------------------------------------------------------------------------------
def record_input(records_path: Path | None, patient: str | None, services: Services) -> RecordInput:
    from medassist.records.importer import import_records

    if records_path is None or patient is None:
        raise InputError("a record-based model needs --records PATH and --patient ID")
    records = import_records(records_path, remembered=services.settings.column_mappings)
    if not records.has_patient(patient):
        raise InputError(f"no patient with ID {patient}", records_path)
    return RecordInput(records, patient)


def text_input(text: str | None, files: list[Path]) -> TextInput:
    if text is not None:
        return TextInput(text, "text")
    if len(files) != 1:
        raise InputError("a text model needs --text or exactly one note file")
    path = files[0]
    raw = NOTE_FILE.read_bytes(path)
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        body = raw.decode("cp1252", errors="replace")
    if not body.strip():
        raise InputError("note is empty", path)
    return TextInput(body, str(path))


# output ---------------------------------------------------------------------------------------
def _emit(row: dict[str, Any], as_json: bool, sinks: list[TextIO]) -> None:
    """Write ``row`` to every output file (JSON line) and to stdout (JSON or a readable line)."""
    line = json.dumps(row, ensure_ascii=False)
    for sink in sinks:
        sink.write(line + "\n")
        sink.flush()
    sys.stdout.write((line if as_json else _human(row)) + "\n")
    sys.stdout.flush()


def _human(row: dict[str, Any]) -> str:
    if "error" in row:
        return f"{row['file']}: ERROR {row['error']}"
    if row.get("refusal"):
        return f"{row['file']}: {row['refusal']}"
    missing = f"; missing inputs: {', '.join(row['missing_inputs'])}" if row.get("missing_inputs") else ""
    notice = f"\n  NOTICE: {row['population_notice']['message']}" if row.get("population_notice") else ""
    return f"{row['file']}: {row['summary']}{missing} ({row['elapsed_ms']:.0f} ms){notice}"


def already_scored(output: Path) -> set[str]:
    """Files with a complete line in ``output`` (a torn last line from a crash is ignored; a line too
    long to be a result refuses the file: it is not the output of ``predict``)."""
    done: set[str] = set()
    if not output.exists():
        return done
    for line in log_lines(output, "predict --output"):
        try:
            row = json.loads(line.decode("utf-8", errors="replace"))
        except (ValueError, RecursionError):
            continue
        if isinstance(row, dict) and "file" in row and "error" not in row:  # every values version names it "file"
            done.add(row["file"])
    return done


def open_for_append(output: Path) -> TextIO:
    """Open ``output`` to add JSON lines; a torn last line left by a crash is ended first, so the
    next result starts on a line of its own instead of being glued to the fragment and lost."""
    output.parent.mkdir(parents=True, exist_ok=True)
    handle = open(output, "a+b")
    if handle.tell() > 0:
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) != b"\n":
            handle.write(b"\n")
    handle.close()
    return open(output, "a", encoding="utf-8")


def run_predict(args: argparse.Namespace) -> int:
    from medassist.composition import for_command

    services = for_command()  # the saved device, threads and model folders
    card = services.catalogue.get(args.model).card
    assert card is not None
    if args.resume and args.output is None:
        raise InputError("--resume needs --output FILE")
    sinks: list[TextIO] = []
    if args.output is not None:
        sinks.append(open_for_append(args.output))
    try:
        if card.task == Task.IMAGE:
            return _predict_images(args, services, card.name, sinks)
        source: TextInput | RecordInput
        if card.task == Task.TEXT:
            source = text_input(args.text, args.files)
        elif card.task == Task.RECORD:
            source = record_input(args.records, args.patient, services)
        else:
            raise InputError(f"model '{card.name}' (task {card.task}) is not run with `predict`")
        from medassist.app.batch import prediction_row

        row = prediction_row(services.models(), card.name, source, args.explain)
        _emit(row, args.json, sinks)
        return 0
    finally:
        for sink in sinks:
            sink.close()


def _predict_images(args: argparse.Namespace, services: Services, model: str, sinks: list[TextIO]) -> int:
    if not args.files:
        raise InputError("give image files or folders")
    from medassist.imaging.loader import image_files

    files = image_files(args.files)
    if args.resume:
        done = already_scored(args.output)
        files = [f for f in files if str(f) not in done]
    if not files:
        if args.progress:
            print("nothing to do: every file is already scored", file=sys.stderr)
        return 0
    workers = args.workers or max(os.cpu_count() or 1, 1)
    if args.engine == "ray":
        from functools import partial

        from medassist.app.batch_ray import ray_image_rows
        from medassist.composition import ray_worker_models

        rows = ray_image_rows(model, files, args.ray_address, args.explain, partial(ray_worker_models, services.settings))
    else:
        from medassist.app.batch import image_rows

        rows = image_rows(services.models(), model, files, workers, args.explain)
    failures = 0
    start = time.perf_counter()
    for index, row in enumerate(rows, 1):
        failures += "error" in row
        _emit(row, args.json, sinks)
        if args.progress:
            rate = index / max(time.perf_counter() - start, 1e-9)
            print(f"\r{index}/{len(files)} files, {rate:.1f}/s, {failures} failed", end="", file=sys.stderr, flush=True)
    if args.progress:
        print(file=sys.stderr)
    if failures == len(files):
        return 2
    return 1 if failures else 0


def run_explain(args: argparse.Namespace) -> int:
    from medassist.composition import for_command
    from medassist.domain.result_text import explanation_json
    from medassist.jobs import run_job

    services = for_command()
    card = services.catalogue.get(args.model).card
    assert card is not None
    if card.task == Task.IMAGE:
        if args.file is None or args.out is None:
            raise InputError("an image explanation needs FILE and --out OVERLAY.png")
        from medassist.imaging.loader import load_image

        source: ImageInput | TextInput | RecordInput = ImageInput(load_image(args.file))
    elif card.task == Task.TEXT:
        source = text_input(args.text, [args.file] if args.file else [])
    else:
        source = record_input(args.records, args.patient, services)
    explanation = run_job(services.models().explain(card.name, source, args.method, args.target))
    summary = explanation_json(explanation, with_values=card.task != Task.IMAGE)
    if isinstance(source, ImageInput):
        from medassist.imaging.overlay import save_overlay_png

        raw = args.out.with_suffix(".npy")
        atomic_write(raw, lambda handle: np.save(handle, np.asarray(explanation.values, dtype=np.float32)))
        save_overlay_png(source.image, source.frame, explanation.values, args.out)
        summary.update({"overlay": str(args.out), "map": str(raw)})
    print(json.dumps(summary, ensure_ascii=False))
    return 0
