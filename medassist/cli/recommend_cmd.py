"""``medassist recommend``: the Treatment tab's ranked, safety-checked options, headless."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from medassist.domain.treatment import SETTINGS
from medassist.domain.treatment_text import plan_text
from medassist.errors import InputError
from medassist.jobs import run_job


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("recommend", help="treatment options for a patient, with safety checks")
    parser.add_argument("--records", type=Path, required=True, help="records (folder or file)")
    parser.add_argument("--patient", required=True, help="patient ID within --records")
    parser.add_argument("--diagnosis", action="append", default=[], metavar="NAME_OR_CODE",
                        help="focus on this diagnosis (name, SNOMED-CT or ICD-10 code); repeatable")
    parser.add_argument("--setting", choices=SETTINGS, help="care setting for acute infections (default: outpatient, with a note)")
    parser.add_argument("--no-model", action="store_true", help="rules only; do not load the learned ranker")
    parser.add_argument("--json", action="store_true", help="print the full recommendation as JSON")
    parser.set_defaults(func=run_recommend)


def run_recommend(args: argparse.Namespace) -> int:
    from medassist.app.treatment import plan_for_records
    from medassist.composition import for_command
    from medassist.records.importer import import_records

    services = for_command()
    records = import_records(args.records, remembered=services.settings.column_mappings)
    if not records.has_patient(args.patient):
        raise InputError(f"no patient with ID {args.patient}", args.records)
    service = None if args.no_model else services.models()
    result = run_job(plan_for_records(records, args.patient, args.diagnosis, args.setting, service, services.audit))
    print(json.dumps(result.to_dict(), indent=2, default=str) if args.json else plan_text(result))
    return 0
