"""``medassist gui [--demo]``: open the desktop window."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("gui", help="open the MedAssist window")
    parser.add_argument("--demo", action="store_true", help="open the synthetic demo cohort, ready to click")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from medassist.ui.launch import main as gui_main

    return gui_main(["--demo"] if args.demo else [])
