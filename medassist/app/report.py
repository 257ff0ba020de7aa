"""The signed report: render it for a patient, and export it with its audit line.

The Report tab's preview and ``medassist report`` render with :func:`patient_report`; Export
writes exactly those bytes with :func:`export_report`, which is the one place the
``report_exported`` audit line is written.
"""

from __future__ import annotations

from pathlib import Path

from medassist.audit import AuditLog
from medassist.jobs import Job, Progress
from medassist.atomic import atomic_write_bytes
from medassist.reporting.content import collect_report
from medassist.reporting.pdf import RenderedReport, render_report
from medassist.session import Session
from medassist.settings import Settings


def patient_report(session: Session, patient_id: str, settings: Settings, deidentified: bool) -> Job[RenderedReport]:
    """Collect what the session holds for the patient and lay it out (de-identified when asked)."""
    yield Progress(0.0, "Collecting the report")
    content = collect_report(session, patient_id, settings=settings)
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
