"""``medassist results`` (SR + AI-map SC + PDF + FHIR for an analysed study, optionally sent to PACS),
``medassist outbox`` (what waits for a PACS that was down) and ``medassist qr`` (C-ECHO, C-FIND,
C-MOVE against the configured PACS)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from medassist.errors import InputError

if TYPE_CHECKING:
    from medassist.settings import Settings
    from medassist.settings.node import PacsSettings

def register(sub: argparse._SubParsersAction) -> None:
    results = sub.add_parser("results", help="export an analysed study's DICOM SR, AI-map captures and FHIR report")
    results.add_argument("study", help="Study Instance UID (see `medassist worklist`)")
    results.add_argument("--out", type=Path, required=True, help="folder for the SR, the captures and the FHIR JSON")
    results.add_argument("--send", action="store_true",
                         help="also C-STORE the SR and AI maps to the PACS (what it already holds is not sent again)")
    results.add_argument("--resend", action="store_true", help="with --send: send everything again (same UIDs)")
    results.add_argument("--pacs", default=None, metavar="AET@HOST:PORT", help="PACS (default: Settings)")
    results.add_argument("--no-saliency", action="store_true", help="skip the Grad-CAM captures")
    results.add_argument("--json", action="store_true")
    results.set_defaults(func=run_results)

    outbox = sub.add_parser("outbox", help="results waiting for a PACS that was down (the retry queue)")
    outbox.add_argument("--retry", action="store_true", help="send everything queued now")
    outbox.add_argument("--json", action="store_true")
    outbox.set_defaults(func=run_outbox)

    qr = sub.add_parser("qr", help="Query/Retrieve against the configured PACS")
    qr.add_argument("--pacs", default=None, metavar="AET@HOST:PORT", help="PACS (default: Settings)")
    actions = qr.add_subparsers(dest="qr_action", metavar="ACTION", required=True)
    actions.add_parser("echo", help="C-ECHO the PACS")
    find = actions.add_parser("find", help="C-FIND studies (study level)")
    find.add_argument("--patient-id", default="")
    find.add_argument("--patient-name", default="", help="DICOM wildcards allowed, e.g. 'DOE^*'")
    find.add_argument("--accession", default="", help="the order's accession number")
    find.add_argument("--json", action="store_true")
    move = actions.add_parser("move", help="C-MOVE a study to this node (the node must be running)")
    move.add_argument("study", help="Study Instance UID")
    move.add_argument("--to", default=None, help="destination AE title (default: the node's)")
    qr.set_defaults(func=run_qr)


def pacs_settings(value: str | None, settings: Settings) -> PacsSettings:
    """``AET@HOST:PORT`` from the command line, else the PACS saved in Settings."""
    from medassist.settings.node import PacsSettings

    if value:
        return PacsSettings.parse(value)
    saved = settings.node.pacs
    if saved is None:
        raise InputError("no PACS configured; give --pacs AET@HOST:PORT or set one in Settings > DICOM node")
    return saved


QUEUED_EXIT = 3  # results written, not sent: queued for retry


def run_results(args: argparse.Namespace) -> int:
    """Exit 0 when written (and sent, with --send); 3 when written but the PACS failed and the
    study waits in the retry queue, so a script never takes a failed send for a sent one."""
    from medassist.hospital.fhir import FhirTargets
    from medassist.hospital.outbox import Outbox
    from medassist.hospital.results import export_study
    from medassist.composition import for_command
    from medassist.hospital.store import StudyStore
    from medassist.jobs import run_job

    services = for_command()
    pacs = pacs_settings(args.pacs, services.settings) if args.send else None
    node = services.settings.node
    store = StudyStore()
    exported = run_job(export_study(store, args.study, args.out, services, pacs=pacs, calling_ae_title=node.ae_title,
                                    saliency=not args.no_saliency, resend=args.resend, targets=FhirTargets.of(node),
                                    outbox=Outbox.of(node, store), timeouts=node.timeouts()))
    summary = exported.to_dict()
    if args.json:
        print(json.dumps(summary, indent=1, ensure_ascii=False))
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")
    if exported.queued_for:
        print(f"not sent: {exported.send_error}; queued for retry to {exported.queued_for} "
              "(see `medassist outbox`)", file=sys.stderr)
        return QUEUED_EXIT
    return 0


def run_outbox(args: argparse.Namespace) -> int:
    from medassist.composition import for_command
    from medassist.hospital.outbox import Outbox
    from medassist.hospital.store import StudyStore

    services = for_command()
    outbox = Outbox.of(services.settings.node, StudyStore())
    if args.retry:
        sent, left = outbox.drain(services.audit, due_only=False)
        print(f"{sent} studies sent, {left} still queued", file=sys.stderr)
    queued = [item.to_dict() for item in outbox.queued()]
    if args.json:
        print(json.dumps(queued, indent=1))
    else:
        for item in queued:
            print(f"{item['study_instance_uid']} -> {item['destination']}: {item['attempts']} tries, next "
                  f"{item['next_attempt_at'][:19]}, last error: {item['last_error']}")
        if not queued:
            print("the retry queue is empty", file=sys.stderr)
    return 0


def run_qr(args: argparse.Namespace) -> int:
    from medassist.composition import for_command
    from medassist.hospital import pacs as scu

    settings = for_command().settings
    pacs = pacs_settings(args.pacs, settings)
    node = settings.node
    if args.qr_action == "echo":
        scu.echo(pacs, node.ae_title, node.timeouts())
        print(f"{pacs.ae_title}@{pacs.host}:{pacs.port} answered C-ECHO")
    elif args.qr_action == "find":
        matches = scu.find_studies(pacs, node.ae_title, args.patient_id, args.patient_name,
                                   accession_number=args.accession, timeouts=node.timeouts())
        if args.json:
            print(json.dumps([m.to_dict() for m in matches], indent=1))
        else:
            for m in matches:
                print(f"{m.study_date:<8} {m.modalities:<6} {m.patient_id:<16} {m.accession_number:<16} {m.patient_name:<24} "
                      f"{m.study_description[:30]:<30} {m.study_instance_uid}")
            if not matches:
                print("no studies found", file=sys.stderr)
    else:
        moved = scu.move_study(pacs, node.ae_title, args.study, args.to or node.ae_title, node.timeouts())
        print(f"{moved} objects moved to {args.to or node.ae_title}")
    return 0
