"""``medassist report``: run the models that apply to a patient and write the signed-report PDF, headless.

Records are imported, the given images loaded, and :func:`medassist.app.analysis.analyse_patient`
runs every installed model that applies (image models on the images, notes models on the newest note, record
models on the record), explained with the first method its card lists; the treatment
recommender's options are listed as not yet decided. The PDF is written atomically.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from medassist.errors import InputError, MedAssistError
from medassist.jobs import Progress, run_job
from medassist.session import Session


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


def run(args: argparse.Namespace) -> int:
    from medassist.app.analysis import analyse_patient, positive_findings
    from medassist.app.images import load_images
    from medassist.app.report import export_report, patient_report
    from medassist.app.treatment import consider_plan, plan_treatment
    from medassist.composition import for_command
    from medassist.records.importer import import_records

    def say(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    def progress(step: Progress) -> None:
        say(f"[{step.fraction:4.0%}] {step.message}")

    if args.out.suffix.lower() != ".pdf":
        raise InputError("the report must be written to a .pdf file", args.out)
    services = for_command()  # the saved settings: device, threads, facility, clinician, model folders
    settings = services.settings
    records = import_records(args.records, remembered=settings.column_mappings)
    if not records.has_patient(args.patient):
        raise InputError(f"no patient with ID {args.patient} in these records", args.records)
    session = Session()
    session.set_records(records, [str(args.records)])
    session.set_current_patient(args.patient)
    session.add_images(load_images(args.image), args.patient)
    session.set_clinician_name(args.clinician if args.clinician is not None else settings.clinician_name)

    service = services.models()
    analysis = run_job(analyse_patient(session, service, args.patient, explain=not args.no_explain), on_progress=progress)
    problems = analysis.problems + analysis.not_analysed
    try:  # headless, the findings that count now stand in for the clinician's confirmation
        plan = run_job(plan_treatment(session, args.patient, positive_findings(session, args.patient),
                                      service, services.audit))
        consider_plan(session, plan)
    except MedAssistError as exc:  # the report is still worth having without treatment options
        problems.append(f"treatment recommendations unavailable: {exc}")
    for problem in problems:
        say(f"warning: {problem}")

    rendered = run_job(patient_report(session, args.patient, settings, services.catalogue.cards(), args.deidentify),
                       on_progress=progress)
    out = run_job(export_report(rendered, args.out, services.audit))
    content = rendered.content
    suggested = sum(1 for f in content.findings if f.counts_now)
    print(f"Report written: {out} ({len(content.findings)} findings, {suggested} suggested now, "
          f"{len(content.not_answered)} model(s) did not answer, {len(content.treatments)} treatment options"
          f"{', de-identified' if args.deidentify else ''})")
    return 0
