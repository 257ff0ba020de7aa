"""``medassist bench [--json] [--section NAME ...] [--write-docs PATH]``: measured speed on this machine."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="measure start-up, import, imaging, models, reports on this machine")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--section", action="append", help="only these sections (app, records, imaging, models, record_models, reporting, hospital, reading)")
    parser.add_argument("--write-docs", type=Path, default=None, help="also write the results as Markdown (e.g. docs/benchmarks.md)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from medassist.atomic import atomic_write_text
    from medassist.bench.runner import run_bench, to_markdown

    results = run_bench(args.section, progress=lambda name: print(f"benchmarking {name}...", file=sys.stderr, flush=True))
    markdown = to_markdown(results)
    if args.write_docs:
        atomic_write_text(args.write_docs, markdown)
    print(json.dumps(results, indent=2, default=str) if args.json else markdown)
    return 0
