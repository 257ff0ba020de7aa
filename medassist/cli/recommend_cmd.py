"""``medassist recommend``: the Treatment tab's ranked, safety-checked options, headless."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from medassist import DECISION_SUPPORT_NOTICE
from medassist.errors import InputError
from medassist.jobs import run_job
from medassist.recommend.engine import SETTINGS, Recommendation


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
    from medassist.recommend.service import recommendation_job
    from medassist.records.importer import import_records

    records = import_records(args.records)
    if not records.has_patient(args.patient):
        raise InputError(f"no patient with ID {args.patient}", args.records)
    result = run_job(recommendation_job(
        records, args.patient, diagnoses=args.diagnosis, setting=args.setting, use_model=not args.no_model,
    ))
    print(json.dumps(result.to_dict(), indent=2, default=str) if args.json else format_text(result))
    return 0


def format_text(result: Recommendation) -> str:
    """A readable summary: ranked options with why and warnings, exclusions, questions."""
    lines = [DECISION_SUPPORT_NOTICE, "", f"Patient {result.patient_id}"]
    lines += [f"  condition: {c['label']} <- {c['evidence']}" for c in result.conditions]
    if result.model:
        lines.append(f"  learned ranker: {result.model['name']} {result.model['version']} (sha256 {result.model['weights_sha256'][:12]}...)")
    lines += [f"  note: {n}" for n in result.notes]
    lines.append("")
    lines.append("Options (ranked):")
    for opt in result.options:
        lines.append(f"  {opt.rank:>2}. {opt.label} [{opt.condition}; {opt.line.replace('_', ' ')}; score {opt.score:.2f}]")
        lines.append(f"      dose: {opt.dose}")
        if opt.dose_for_patient:
            lines.append(f"      for this patient: {opt.dose_for_patient}")
        lines += [f"      why: {r}" for r in opt.rationale]
        lines += [f"      [{w.severity.upper()}] {w.message}" for w in opt.warnings]
    if result.excluded:
        lines.append("")
        lines.append("Excluded (not offered):")
        for opt in result.excluded:
            lines.append(f"  - {opt.label} [{opt.condition}]")
            lines += [f"      reason: {r}" for r in opt.exclusion_reasons]
    if result.questions:
        lines.append("")
        lines.append("Questions (missing inputs that matter):")
        lines += [f"  ? {q}" for q in result.questions]
    return "\n".join(lines)
