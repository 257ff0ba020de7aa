"""The signed report: render it for a patient (with its clinical picture and scores), and export it
with its audit line.

The Report tab's preview and ``medassist report`` render with :func:`patient_report`; Export
writes exactly those bytes with :func:`export_report`, which is the one place the
``report_exported`` audit line is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from medassist.app.picture import clinical_picture
from medassist.audit import AuditLog
from medassist.jobs import Job, Progress
from medassist.atomic import atomic_write_bytes
from medassist.inference.card import ModelCard
from medassist.reporting.content import collect_report
from medassist.reporting.pdf import RenderedReport, render_report
from medassist.session import Session
from medassist.settings import Settings


def patient_report(session: Session, patient_id: str, settings: Settings, cards: Mapping[str, ModelCard],
                   deidentified: bool) -> Job[RenderedReport]:
    """Collect what the session holds for the patient and lay it out (de-identified when asked); the
    models are described by the catalogue's ``cards``."""
    yield Progress(0.0, "Collecting the report")
    picture = clinical_picture(session, patient_id) if session.records.has_patient(patient_id) else None
    content = collect_report(session, patient_id, settings, cards, picture=picture)
    return (yield from render_report(content, deidentified))


def export_report(rendered: RenderedReport, target: Path, audit: AuditLog) -> Job[Path]:
    """Write the rendered report atomically and log the export (what, where, which models)."""
    yield Progress(0.5, f"Writing {target.name}")
    written = atomic_write_bytes(target, rendered.data)
    content = rendered.content
    audit.append("report_exported", file=str(written), report_id=content.report_id, deidentified=content.deidentified,
                 patient_id=None if content.deidentified else content.patient.patient_id,
                 models={m.name: m.weights_sha256 for m in content.models})
    yield Progress(1.0, "Report written")
    return written
