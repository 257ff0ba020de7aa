"""``medassist report``: run the models that apply to a patient and write the signed-report PDF, headless.

Records are imported, the given images loaded, every installed model that applies is run
(``medassist.inference.applicability``: image models on the images, notes models on the newest
note, record models on the record) and explained with the first method its card lists; the
treatment recommender's options are listed as not yet decided. The PDF is written atomically.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from medassist.errors import InputError, MedAssistError
from medassist.jobs import Job, Progress, run_job
from medassist.session import Session, TreatmentDecision


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("report", help="run the models for one patient and write the PDF report")
    parser.add_argument("--records", required=True, type=Path, help="records file or folder (e.g. a Synthea CSV export)")
    parser.add_argument("--patient", required=True, help="patient ID within --records")
    parser.add_argument("--image", action="extend", nargs="+", type=Path, default=[], metavar="FILE",
                        help="images (or DICOM folders) of this patient")
    parser.add_argument("--out", required=True, type=Path, help="the PDF to write")
    parser.add_argument("--deidentify", action="store_true", help="remove names, IDs, birth date and shift dates")
    parser.add_argument("--clinician", default=None, help="clinician named in the signature block (default: settings)")
    parser.add_argument("--no-explain", action="store_true", help="skip explanations (faster)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(func=run)


def load_images(paths: list[Path]) -> list[Any]:
    from medassist.imaging.loader import load_image

    images = []
    for path in paths:
        if not path.exists():
            raise InputError("no such image file or folder", path)
        if path.is_dir():
            from medassist.imaging.loader import open_images

            batch = run_job(open_images(path))
            if not batch.images:
                raise InputError("no readable image in this folder: " + "; ".join(batch.problems[:3]), path)
            images.extend(batch.images)
        else:
            images.append(load_image(path))
    return images


def plan_runs(session: Session, patient_id: str, registry) -> list[tuple[str, object]]:
    """(model name, input) for every installed model and input of this patient it is made for."""
    try:
        from medassist.inference.applicability import applicable_runs
    except ImportError:  # without the applicability rules: image models on the patient's images only
        from medassist.inference.inputs import ImageInput

        return [(entry.card.name, ImageInput(image)) for entry in registry.available()
                if entry.card.task == "image-classification" for image in session.images.get(patient_id, [])]
    return [(run.model, run.source) for run in applicable_runs(session, registry, patient_id)]


def _explain_target(prediction) -> str | None:
    if prediction.positive:
        return prediction.positive[0]
    return max(prediction.outputs, key=prediction.outputs.get) if prediction.outputs else None


def analyse(session: Session, patient_id: str, service, explain: bool = True) -> Job[list[str]]:
    """Run (and explain) every applicable model; returns problems worth telling the user."""
    registry = service.runtime.registry
    cards = {entry.card.name: entry.card for entry in registry.available()}
    runs = plan_runs(session, patient_id, registry)
    problems: list[str] = []
    for index, (name, source) in enumerate(runs):
        card = cards[name]
        yield Progress(index / max(len(runs), 1), f"Running {card.title}")
        try:
            prediction = yield from service.predict(card.name, source, patient_id=patient_id)
        except MedAssistError as exc:
            problems.append(f"{card.name}: {exc}")
            continue
        session.add_prediction(prediction)
        target = _explain_target(prediction)
        if explain and card.explanations and not prediction.refused and target is not None:
            try:
                explanation = yield from service.explain(card.name, source, card.explanations[0], target)
            except MedAssistError as exc:
                problems.append(f"{card.name} explanation: {exc}")
                continue
            session.add_explanation(prediction, explanation)
    return problems


def recommended_options(session: Session, patient_id: str, service) -> Job[list[TreatmentDecision]]:
    """The recommender's options (when it is installed), as decisions still to be made."""
    try:
        from medassist.recommend.service import recommendation_job
    except ImportError:
        return []
    positive = sorted({label for p in session.predictions.get(patient_id, []) if not p.refused for label in p.positive})
    result = yield from recommendation_job(session.records, patient_id, confirmed_findings=positive,
                                           runtime=service.runtime, audit=service.audit)
    decisions = []
    for option in result.options + result.excluded:
        detail = {"rank": option.rank, "excluded": option.excluded, "exclusion_reasons": option.exclusion_reasons,
                  "warnings": [f"{w.severity}: {w.message}" for w in option.warnings]}
        decisions.append(TreatmentDecision(option.option_id, option.label, "pending", "", detail))
    return decisions


def run(args: argparse.Namespace) -> int:
    from medassist.inference.service import InferenceService
    from medassist.records.importer import import_records
    from medassist.reporting.content import collect_report
    from medassist.reporting.deidentify import deidentify
    from medassist.reporting.pdf import write_pdf
    from medassist.settings import Settings

    def say(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    if args.out.suffix.lower() != ".pdf":
        raise InputError("the report must be written to a .pdf file", args.out)
    records = import_records(args.records)
    if not records.has_patient(args.patient):
        raise InputError(f"no patient with ID {args.patient} in these records", args.records)
    session = Session()
    session.set_records(records, [str(args.records)])
    session.set_current_patient(args.patient)
    session.add_images(load_images(args.image), args.patient)
    settings = Settings.load()
    session.clinician_name = args.clinician if args.clinician is not None else settings.clinician_name

    service = InferenceService()
    problems = run_job(analyse(session, args.patient, service, explain=not args.no_explain),
                       on_progress=lambda p: say(f"[{p.fraction:4.0%}] {p.message}"))
    for decision in run_job(recommended_options(session, args.patient, service)):
        session.set_decision(decision, args.patient)
    for problem in problems:
        say(f"warning: {problem}")

    content = collect_report(session, args.patient, settings=settings)
    if args.deidentify:
        content = deidentify(content)
    out = run_job(write_pdf(content, args.out), on_progress=lambda p: say(f"[{p.fraction:4.0%}] {p.message}"))
    service.audit.append("report_exported", file=str(out), report_id=content.report_id, deidentified=args.deidentify,
                         patient_id=None if args.deidentify else args.patient,
                         models={m.name: m.weights_sha256 for m in content.models})
    findings = sum(1 for f in content.findings if f.positive)
    print(f"Report written: {out} ({len(content.findings)} results, {findings} positive, "
          f"{len(content.treatments)} treatment options{', de-identified' if args.deidentify else ''})")
    return 0
