"""``medassist node`` (the DICOM node, headless, until SIGINT/SIGTERM) and ``medassist worklist``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medassist.composition import Services
    from medassist.hospital.service import HospitalNode
    from medassist.settings import Settings
    from medassist.settings.node import NodeSettings


def register(sub: argparse._SubParsersAction) -> None:
    node = sub.add_parser("node", help="run the DICOM node (C-ECHO, C-STORE) and score what arrives, until interrupted")
    node.add_argument("--port", type=int, default=None, help="TCP port (default: Settings; 0 picks a free one)")
    node.add_argument("--aet", default=None, help="the node's AE title (default: Settings)")
    node.add_argument("--bind", default=None, help="address to listen on (default: Settings, 127.0.0.1)")
    node.add_argument("--allow-aet", action="append", default=None, metavar="TITLE",
                      help="calling AE title allowed to connect (repeatable; default: Settings)")
    node.add_argument("--allow-address", action="append", default=None, metavar="IP",
                      help="caller address allowed to connect (repeatable; default: Settings)")
    node.add_argument("--workers", type=int, default=None, help="scoring workers (default: Settings)")
    node.set_defaults(func=run_node)

    worklist = sub.add_parser("worklist", help="list the studies the node received, with status, gate verdict and scores")
    worklist.add_argument("--json", action="store_true", help="one JSON array")
    worklist.add_argument("--status", action="append", default=None, help="only rows with this status (repeatable)")
    worklist.set_defaults(func=run_worklist)


def node_settings(args: argparse.Namespace, settings: Settings) -> NodeSettings:
    """The saved node settings with the command line's overrides."""
    from medassist.settings.node import NodeSettings

    overrides: dict[str, Any] = {}
    for option, field in (("port", "port"), ("aet", "ae_title"), ("bind", "bind_address"),
                          ("allow_aet", "allowed_calling_ae_titles"), ("allow_address", "allowed_addresses"),
                          ("workers", "score_workers")):
        value = getattr(args, option)
        if value is not None:
            overrides[field] = value
    from pydantic import ValidationError

    from medassist.errors import InputError

    try:
        return NodeSettings.model_validate({**settings.node.model_dump(), **overrides})
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise InputError(f"{'.'.join(str(p) for p in problem['loc'])}: {problem['msg']}", "node settings") from exc


def hospital_node(args: argparse.Namespace, services: Services) -> HospitalNode:
    """The node this command runs: the saved node settings with the command line's overrides, scoring
    with the command's services (the saved device and threads)."""
    from medassist.hospital.service import HospitalNode

    return HospitalNode(node_settings(args, services.settings), services)


def run_node(args: argparse.Namespace) -> int:
    from medassist.composition import for_command

    hospital = hospital_node(args, for_command())
    settings = hospital.settings
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    requeued = hospital.start()
    print(json.dumps({"listening": settings.bind_address, "port": hospital.port, "ae_title": settings.ae_title,
                      "requeued": requeued, "store": str(hospital.store.root)}), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        hospital.stop()
    print(json.dumps({"stopped": True, "pending": hospital.store.pending_count()}), flush=True)
    return 0


def run_worklist(args: argparse.Namespace) -> int:
    from medassist.hospital.store import StudyStore

    entries = StudyStore().entries()
    if args.status:
        entries = [e for e in entries if e["status"] in args.status]
    if args.json:
        for entry in entries:
            entry.pop("result", None)
        print(json.dumps(entries, ensure_ascii=False, indent=1))
        return 0
    for e in entries:
        gate = e["gate"]
        verdict = "" if gate is None else ("gate: accepted" if gate["accepted"] else "gate: REFUSED")
        findings = "; ".join(f["text"] for f in e["findings"])
        print(f"{e['status']:<9} {e['modality']:<3} {e['patient_id'][:16]:<16} {e['accession_number'][:16]:<16} "
              f"{e['study_date']:<8} {findings:<40} {verdict:<15} {e['sop_instance_uid']}")
    if not entries:
        print("the worklist is empty", file=sys.stderr)
    return 0
