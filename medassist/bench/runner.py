"""Runs every benchmark section, each in a fresh process (so peak memory is its own), prints
the results with the machine's description and writes them to docs/benchmarks.md."""

from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from medassist.bench import app
from medassist.bench.machine import describe_machine

# section -> "module:function" returning a dict of numbers (each area owns its function)
AREA_SECTIONS: dict[str, str] = {
    "records": "medassist.bench.records:bench_records",
    "imaging": "medassist.bench.imaging:bench_imaging",
    "models": "medassist.bench.models:bench_models",
    "record_models": "medassist.bench.record_models:bench_record_models",
    "reporting": "medassist.bench.reporting:bench_reporting",
    "hospital": "medassist.bench.hospital:bench_hospital",
    "reading": "medassist.bench.reading:bench_reading",
}
APP_MODEL = "cxr-pneumonia"


def run_area(target: str, timeout: int = 1800) -> dict[str, Any]:
    module, function = target.split(":")
    code = f"import json; from {module} import {function} as f; print('RESULT ' + json.dumps(f(), default=str))"
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env)
    line = next((row for row in reversed(out.stdout.splitlines()) if row.startswith("RESULT ")), None)
    if line is None:
        return {"error": (out.stderr or out.stdout).strip().splitlines()[-1:] or ["no output"]}
    return json.loads(line[len("RESULT "):])


def demo_chest_image() -> str | None:
    """The demo's chest radiograph: a CR or DX image (a name holding "CR", as 693_UNCR.dcm, a CT, does
    is no sign: the model's gate refuses that one, and the bench would time a refusal)."""
    import pydicom

    from medassist.demo import build_demo

    demo = build_demo()
    for paths in demo.image_paths.values():
        for path in paths:
            if pydicom.dcmread(path, stop_before_pixels=True, force=True).get("Modality") in ("CR", "DX"):
                return str(path)
    return None


def app_section() -> dict[str, Any]:
    image = demo_chest_image()
    if image is None:
        return {"note": "no demo chest radiograph available"}
    result: dict[str, Any] = {"cold_start": app.cold_start(image, APP_MODEL)}
    result["gui_responsiveness"] = app.gui_stall(image, APP_MODEL)
    result["first_analysis"] = app.first_analysis(image, APP_MODEL)
    result["image"] = Path(image).name
    return result


def run_bench(sections: list[str] | None = None, progress: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    chosen = sections or ["app", *AREA_SECTIONS]
    results: dict[str, Any] = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": describe_machine(),
    }
    for name in chosen:
        progress(name)
        if name == "app":
            results["app"] = app_section()
        elif name in AREA_SECTIONS:
            results[name] = run_area(AREA_SECTIONS[name])
        else:
            raise ValueError(f"unknown benchmark section '{name}' (known: app, {', '.join(AREA_SECTIONS)})")
    return results


def _flatten(prefix: str, value: Any, rows: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, rows)
    elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        for index, item in enumerate(value):
            name = item.get("model") or item.get("name") or str(index)
            _flatten(f"{prefix}.{name}", {k: v for k, v in item.items() if k not in ("model", "name")}, rows)
    else:
        rows.append((prefix, json.dumps(value) if isinstance(value, (list, bool)) or value is None else str(value)))


def to_markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    lines = [
        "# MedAssist benchmarks",
        "",
        f"Measured {results['date']} with `medassist bench` on: {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['memory_gib']} GiB, GPU: {machine['gpu'] or 'none'}, {machine['os']}, Python {machine['python']}, "
        f"torch {machine['torch']}, PySide6 {machine['pyside6']}.",
        "",
        "Targets: first paint < 1.5 s from process launch; first prediction after start < 3 s on CPU; GUI stall < 50 ms while models load and run; "
        "< 60 ms per chest radiograph on 2 CPU threads; Grad-CAM < 1.5x an inference.",
    ]
    for section, values in results.items():
        if section in ("date", "machine"):
            continue
        rows: list[tuple[str, str]] = []
        _flatten("", values, rows)
        lines += ["", f"## {section}", "", "| measure | value |", "| --- | --- |"]
        lines += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines) + "\n"
