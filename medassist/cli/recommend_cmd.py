"""``medassist recommend``: the Treatment tab's ranked, safety-checked options, headless."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from medassist import DECISION_SUPPORT_NOTICE
from medassist.errors import InputError
from medassist.jobs import run_job
from medassist.recommend.engine import SETTINGS, CurrentTherapy, Recommendation


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
    """The same answer as the Treatment tab, as text: groups, current therapy, ordering parts, warnings, questions."""
    lines = [DECISION_SUPPORT_NOTICE, "", f"Patient {result.patient_id}", f"  care setting in use: {result.setting_note}"]
    if result.model:
        lines.append(f"  learned ranker (tie-break only): {result.model['name']} {result.model['version']} "
                     f"(sha256 {result.model['weights_sha256'][:12]}...)")
    lines += [f"  !! {a}" for a in result.alerts]
    lines += [f"  note: {n}" for n in result.notes]
    for group in result.groups:
        lines += ["", f"{group.label} ({group.role}): {group.plan}"]
        if group.evidence:
            lines.append(f"  from: {group.evidence}")
        for option_id in group.current_therapy:
            therapy = result.item(option_id)
            if not isinstance(therapy, CurrentTherapy):
                continue
            lines.append(f"  - {therapy.label}: {therapy.plan}")
            lines += [f"      [{w.severity.upper()}] {w.message}" for w in therapy.warnings]
        for option_id in group.options:
            opt = result.option(option_id)
            lines.append(f"  {opt.rank:>2}. {opt.label} [{opt.ordering.describe()}]")
            lines.append(f"      dose: {opt.dose}")
            if opt.dose_for_patient:
                lines.append(f"      for this patient: {opt.dose_for_patient}")
            lines += [f"      why: {r}" for r in opt.rationale]
            lines += [f"      [{w.severity.upper()}] {w.message}" for w in opt.warnings]
        for option_id in group.excluded:
            opt = result.option(option_id)
            lines.append(f"   x  {opt.label} (excluded, not offered)")
            lines += [f"      reason: {r}" for r in opt.exclusion_reasons]
        lines += [f"   -  not offered: {n}" for n in group.not_offered]
    if result.questions:
        lines.append("")
        lines.append("Questions (missing inputs that matter):")
        lines += [f"  ? {q}" for q in result.questions]
    lines += ["", f"Ordering rule: {result.ordering_rule}"]
    if result.ranker_note:
        lines.append(f"Learned recommender: {result.ranker_note}")
    lines.append(result.interaction_table)
    return "\n".join(lines)
