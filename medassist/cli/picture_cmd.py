"""``medassist picture --records PATH --patient ID [--json]``: the patient's clinical picture, headless.

The same use case as the Records tab (:func:`medassist.app.picture.clinical_picture`): values with
their sources and dates, problems by concept with their evidence, the validated scores with their
items and missing inputs, the care setting the scores suggest and the sepsis signs. ``--json``
carries the values and the same sentences.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from medassist import DECISION_SUPPORT_NOTICE
from medassist.clinical.ranges import flagged_values
from medassist.domain.clinical import ClinicalPicture
from medassist.domain.result_text import (
    care_setting_text,
    fact_line,
    flag_line,
    measurement_text,
    picture_rows,
    problem_line,
    score_item_line,
    score_sentence,
)

SETTINGS = ("outpatient", "inpatient", "severe")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("picture", help="the patient's clinical picture: values, problems, scores, care setting")
    parser.add_argument("--records", type=Path, required=True, help="records (folder or file)")
    parser.add_argument("--patient", required=True, help="patient ID within --records")
    parser.add_argument("--setting", choices=SETTINGS, help="the care setting the clinician chose (default: none chosen)")
    parser.add_argument("--json", action="store_true", help="print the picture as JSON (values and sentences)")
    parser.set_defaults(func=run_picture)


def run_picture(args: argparse.Namespace) -> int:
    from medassist.app.picture import clinical_picture
    from medassist.composition import for_command
    from medassist.records.importer import import_records
    from medassist.session import Session

    remembered = for_command().settings.column_mappings
    session = Session()
    session.set_records(import_records(args.records, remembered=remembered), [str(args.records)])
    picture = clinical_picture(session, args.patient, setting=args.setting)
    print(json.dumps(picture_json(picture), indent=2, default=str) if args.json else picture_text(picture))
    return 0


def _flags(picture: ClinicalPicture) -> list[dict[str, Any]]:
    return [{"measure": r.measure, "name": r.description, "value": r.value.value, "unit": r.value.unit,
             "date": r.value.date, "text": measurement_text(r.value, with_date=True),
             "reference": None if r.reference is None else {"low": r.reference.low, "high": r.reference.high,
                                                            "source": r.reference.source},
             "flag": r.flag, "note": r.note} for r in flagged_values(picture)]


def picture_json(picture: ClinicalPicture) -> dict[str, Any]:
    """The picture's values (``dataclasses.asdict``) with the sentences every view shows."""
    data = dataclasses.asdict(picture)
    for name, score in picture.scores.items():
        data["scores"][name].update(missing=list(score.missing), possible_range=list(score.possible_range),
                                    sentence=score_sentence(score),
                                    item_lines=[score_item_line(i, bool(score.stage)) for i in score.items])
    for entry, problem in zip(data["problems"], picture.problems, strict=True):
        entry["line"] = problem_line(problem)
    data["care_setting"]["text"] = care_setting_text(picture.care_setting)
    data["summary"] = [{"label": label, "text": text} for label, text in picture_rows(picture)]
    data["fact_lines"] = [fact_line(name, fact) for name, fact in picture.facts.items()]
    data["flags"] = _flags(picture)
    data["notice"] = DECISION_SUPPORT_NOTICE
    return data


def picture_text(picture: ClinicalPicture) -> str:
    lines = [DECISION_SUPPORT_NOTICE, "", f"Patient {picture.patient_id}, on {picture.on.isoformat()}"]
    lines += [f"  {label}: {text}" for label, text in picture_rows(picture)]
    lines += ["", "Active problems (by concept, with evidence):"]
    lines += [f"  - {problem_line(p)}" for p in picture.problems] or ["  none recorded"]
    if picture.facts:
        lines += ["", "Stated this episode:"] + [f"  - {fact_line(n, f)}" for n, f in picture.facts.items()]
    lines += ["", "Scores:"]
    for score in picture.scores.values():
        lines.append(f"  {score_sentence(score)}")
        lines += [f"      {score_item_line(i, bool(score.stage))}" for i in score.items]
        lines.append(f"      Source: {score.citation}")
    lines += [f"  {name}: not computed: {why}" for name, why in picture.not_scored.items()]
    lines += ["", f"Care setting: {care_setting_text(picture.care_setting)}"]
    lines += ["Sepsis signs:"] + ([f"  !! {s}" for s in picture.sepsis_signs] or ["  none in this episode"])
    flagged = [flag_line(r.flag, r.description, r.value, r.reference.low, r.reference.high, r.reference.source)
               for r in flagged_values(picture) if r.flag and r.reference is not None]
    if flagged:
        lines += ["", "Outside the range for age and sex:"] + [f"  {line}" for line in flagged]
    return "\n".join(lines)
