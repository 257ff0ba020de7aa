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
    from medassist.app.analysis import analyse_patient, positive_findings
    from medassist.domain.result_text import result_json
    from medassist.domain.tasks import Task
    from medassist.app.images import load_images
    from medassist.app.report import export_report, patient_report
    from medassist.app.treatment import consider_plan, decide, plan_treatment
    from medassist.composition import for_command
    from medassist.jobs import run_job
    from medassist.session import Session

    test = SelfTest()
    test.state["debug"] = getattr(args, "debug", False)
    out_dir = args.out or Path(tempfile.mkdtemp(prefix="medassist-selftest-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    services = for_command()
    service = services.models()
    session = Session(demo=True)

    def build_demo() -> dict[str, Any]:
        from medassist.demo import build_demo as make

        demo = make()
        test.state["demo"] = demo
        session.set_records(demo.records, ["demo cohort (synthetic)"])
        session.set_current_patient(demo.featured_patient_id)
        return {"patients": len(demo.records.patient_ids), "featured": demo.featured_patient_id}

    def open_images() -> dict[str, Any]:
        demo = test.state["demo"]
        for pid, paths in demo.image_paths.items():
            session.add_images(load_images(paths), pid)
        return {"images": sum(len(v) for v in session.images.values())}

    def verify_models() -> dict[str, Any]:
        entries = services.catalogue.scan()
        refused = {e.name: e.error for e in entries if not e.available}
        if refused:
            raise RuntimeError(f"refused models: {refused}")
        if not entries:
            raise RuntimeError("no bundled models found")
        cards = [e.card for e in entries if e.card is not None]
        test.state["models"] = {card.name: card.task for card in cards}
        return {"models": [f"{card.name} {card.version}" for card in cards]}

    def analyse(pid: str, explain: bool) -> dict[str, Any]:
        analysis = run_job(analyse_patient(session, service, pid, explain=explain))
        if analysis.problems:
            raise RuntimeError("; ".join(analysis.problems))
        return {p.model: {"outputs": result_json(p)["outputs"], "positive": result_json(p)["positive"],
                          "gate": p.gate.accepted if p.gate else None, "missing_inputs": p.missing_inputs,
                          "explained": [e.method for e in p.explanations]}
                for p in session.predictions.get(pid, [])}

    def every_model_ran() -> dict[str, Any]:
        """Models the featured patient did not exercise run on the first demo patient they apply to."""
        ran = {p.model for preds in session.predictions.values() for p in preds}
        wanted = {name for name, task in test.state["models"].items() if task != Task.RECOMMENDATION}
        for pid in session.records.patient_ids:
            if wanted <= ran:
                break
            analyse(pid, explain=False)
            ran = {p.model for preds in session.predictions.values() for p in preds}
        if not wanted <= ran:
            raise RuntimeError(f"no demo input for: {sorted(wanted - ran)}")
        return {"models_run": sorted(ran)}

    def recommend() -> dict[str, Any]:
        pid = session.patient_key
        plan = run_job(plan_treatment(session, pid, positive_findings(session, pid), service, services.audit))
        decisions = consider_plan(session, plan)
        if not plan.options:
            raise RuntimeError("no treatment options for the featured patient")
        first = decide(session, services.audit, plan, plan.options[0], "accepted", "self-test")
        return {"options": len(decisions), "first": first.label}

    def write_report() -> dict[str, Any]:
        rendered = run_job(patient_report(session, session.patient_key, services.settings, services.catalogue.cards(),
                                          deidentified=False))
        out = run_job(export_report(rendered, out_dir / "self-test-report.pdf", services.audit))
        return {"pdf": str(out), "bytes": out.stat().st_size}

    test.step("build demo cohort", build_demo)
    test.step("open demo images", open_images)
    test.step("verify bundled models", verify_models)
    test.step("analyse featured patient (all applicable models, explained)",
              lambda: analyse(session.patient_key, explain=True))
    test.step("run every bundled model once", every_model_ran)
    test.step("recommend treatment", recommend)
    test.step("write report PDF", write_report)
    summary = {
        "medassist_version": __version__,
        "passed": test.passed,
        "device": service.describe(),
        "audit_log": str(services.audit.path),
        "out": str(out_dir),
        "steps": test.steps,
    }
    print(json.dumps(summary, indent=2, default=str))
    return 0 if test.passed else 1
