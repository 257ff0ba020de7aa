"""``medassist records import PATH [--json]``: what an import reads and what it could not.

Exit 0 when records were imported (even with warnings), 2 when nothing could be read.
"""

from __future__ import annotations

import argparse
import json
import sys

from medassist.errors import InputError
from medassist.records import importer
from medassist.records.schema import TABLES
from medassist.records.table import FIELDS

EXIT_NOTHING_READ = 2


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("records", help="import patient records and report what was read")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    importing = verbs.add_parser(
        "import", help="read a Synthea folder, FHIR .json/.ndjson or a patient table; print counts and problems"
    )
    importing.add_argument("path", help="file or folder to read (it is never modified)")
    importing.add_argument("--json", action="store_true", help="print counts and problems as JSON")
    importing.add_argument(
        "--map", action="append", default=[], metavar="FIELD=COLUMN",
        help=f"column mapping for a patient table (fields: {', '.join(FIELDS)}); repeat for each field",
    )
    importing.set_defaults(func=run_import)


def _mapping(pairs: list[str]) -> dict[str, str] | None:
    if not pairs:
        return None
    mapping = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise InputError(f"--map expects FIELD=COLUMN, got '{pair}'")
        mapping[field.strip()] = column.strip()
    return mapping


def run_import(args: argparse.Namespace) -> int:
    from medassist.composition import for_command

    remembered = for_command().settings.column_mappings
    try:
        kind = importer.detect_format(args.path)
        records = importer.import_records(args.path, mapping=_mapping(args.map), remembered=remembered)
    except InputError as exc:
        print(f"medassist: cannot read records: {exc}", file=sys.stderr)
        return EXIT_NOTHING_READ
    counts = records.counts()
    problems = records.report.problems
    if args.json:
        print(json.dumps({
            "path": str(args.path),
            "format": kind,
            "counts": counts,
            "files": records.report.files,
            "problems": [
                {"file": p.file, "location": p.location, "reason": p.reason, "severity": p.severity} for p in problems
            ],
        }, indent=2))
    else:
        print(f"{args.path}: {importer.FORMATS[kind]}, {len(records.report.files)} file(s) read")
        for table in TABLES:
            print(f"  {table:<13}{counts[table]:>10,}")
        print(f"Problems: {len(problems)}")
        for problem in problems:
            print(f"  [{problem.severity}] {problem}")
    if importer.nothing_read(records):
        print(f"medassist: no patient records could be read from {args.path}", file=sys.stderr)
        return EXIT_NOTHING_READ
    return 0
