"""``medassist audit verify [PATH]``: check that no line of the audit trail was edited or removed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from medassist.audit import audit_files, verify_chain
from medassist.errors import InputError

EXIT_BROKEN = 1


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("audit", help="check the audit trail")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    verify = verbs.add_parser("verify", help="check each audit file's hash chain; names the first broken line")
    verify.add_argument("path", type=Path, nargs="?", help="an audit file or folder (default: this user's audit folder)")
    verify.add_argument("--json", action="store_true", help="print JSON")
    verify.set_defaults(func=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    """Exit 0 when every file's chain is intact, 1 when one is broken."""
    if args.path is not None and not args.path.exists():
        raise InputError("no such file or folder", args.path)
    checks = []
    for path in audit_files(args.path):
        try:
            checks.append(verify_chain(path))
        except OSError as exc:
            raise InputError(f"cannot be read ({exc.strerror or exc})", path) from exc
    if args.json:
        print(json.dumps([{"file": str(c.path), "lines": c.lines, "intact": c.intact, "broken_line": c.broken_line,
                           "reason": c.reason} for c in checks], indent=2))
    else:
        for check in checks:
            if check.intact:
                print(f"ok      {check.path} ({check.lines} lines)")
            else:
                print(f"BROKEN  {check.path}: line {check.broken_line} {check.reason}")
        print(f"{sum(c.intact for c in checks)} of {len(checks)} audit file(s) intact")
    return 0 if all(c.intact for c in checks) else EXIT_BROKEN
