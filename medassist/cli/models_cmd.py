"""``medassist models list|verify``: the model catalogue and its integrity."""

from __future__ import annotations

import argparse
import json

from medassist.hashing import sha256_file


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list or verify installed models")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    listing = verbs.add_parser("list", help="list bundled and user models with their status")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)
    verify = verbs.add_parser("verify", help="re-hash every model's weights; non-zero exit on any mismatch")
    verify.set_defaults(func=run_verify)


def run_list(args: argparse.Namespace) -> int:
    from medassist.composition import for_command

    entries = for_command().catalogue.scan()
    rows = []
    for entry in entries:
        card = entry.card
        rows.append(
            {
                "name": entry.name,
                "version": card.version if card else None,
                "task": card.task if card else None,
                "modality": card.modality if card else None,
                "labels": card.labels if card else None,
                "weights_sha256": card.weights.sha256 if card else None,
                "folder": str(entry.folder),
                "bundled": entry.bundled,
                "available": entry.available,
                "error": entry.error,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print("No models installed.")
    else:
        for row in rows:
            status = "ok" if row["available"] else f"REFUSED: {row['error']}"
            print(f"{row['name']:<24} {row['version'] or '-':<8} {row['task'] or '-':<24} {status}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from medassist.composition import for_command

    failures = 0
    entries = for_command().catalogue.scan()
    for entry in entries:
        if entry.card is None:
            print(f"FAIL {entry.name}: {entry.error}")
            failures += 1
            continue
        weights = entry.folder / entry.card.weights.file
        actual = sha256_file(weights) if weights.is_file() else "missing"
        ok = actual == entry.card.weights.sha256
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {entry.name} {entry.card.version} sha256={actual[:16]}"
              + ("" if ok else f" (card says {entry.card.weights.sha256[:16]})"))
    print(f"{len(entries) - failures} of {len(entries)} models verified")
    return 1 if failures else 0
