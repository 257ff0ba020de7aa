"""``medassist`` entry point: subcommands are registered by the modules in :data:`COMMAND_MODULES`.

Errors a user can cause (bad path, bad input, refused model) print one line and exit
non-zero; tracebacks are shown only with ``--debug``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

from medassist import __version__
from medassist.errors import MedAssistError

COMMAND_MODULES = (
    "medassist.cli.gui_cmd",
    "medassist.cli.models_cmd",
    "medassist.cli.selftest_cmd",
    "medassist.cli.records_cmd",
    "medassist.cli.image_cmd",
    "medassist.cli.predict_cmd",
    "medassist.cli.recommend_cmd",
    "medassist.cli.picture_cmd",
    "medassist.cli.report_cmd",
    "medassist.cli.bench_cmd",
    "medassist.cli.desktop_cmd",
    "medassist.cli.node_cmd",
    "medassist.cli.hospital_cmd",
    "medassist.cli.audit_cmd",
)

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medassist", description="MedAssist offline clinical decision support.")
    parser.add_argument("--version", action="version", version=f"MedAssist {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--user", metavar="NAME", help="user name recorded in the audit trail (default: Settings > User name)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    if args.user:
        from medassist.settings import USER_ENV

        os.environ[USER_ENV] = args.user  # read through Settings.app_user, also in worker processes
    try:
        return int(args.func(args) or 0)
    except MedAssistError as exc:
        if args.debug:
            raise
        print(f"medassist: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("medassist: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # last line of defence: one line, not a traceback
        if args.debug:
            raise
        print(f"medassist: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
