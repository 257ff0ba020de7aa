"""Menu actions that load data: each runs its core job in a worker and reports problems to the user."""

from __future__ import annotations

from pathlib import Path

from medassist.jobs import Progress
from medassist.ui.context import AppContext, TabKind


def open_records(context: AppContext, path: str, mapping: dict[str, str] | None = None) -> None:
    """Import records from ``path`` off the GUI thread; on success they replace the session's records.

    A plain patient table first asks (here, on the GUI thread) which column is which; the answer is
    remembered for that layout in the user's settings.
    """
    from medassist.errors import InputError
    from medassist.records.importer import needs_column_mapping

    if mapping is None and needs_column_mapping(path):
        from medassist.ui.records_dialogs import ask_column_mapping

        try:
            answer = ask_column_mapping(path, context.settings.column_mappings)
        except InputError as exc:
            context.show_message("Could not import records", str(exc))
            return
        if answer is None:
            return
        layout, mapping = answer
        context.change_settings(context.settings.with_column_mapping(layout, mapping))
    remembered = context.settings.column_mappings

    def job():
        from medassist.records.importer import import_records

        yield Progress(0.1, f"Reading {Path(path).name}")
        return import_records(path, mapping, remembered=remembered)

    def done(records) -> None:
        context.session.set_records(records, [str(path)])
        problems = records.report.problems
        if problems:
            context.show_message(
                "Records imported with problems",
                f"{len(problems)} problem(s) while reading {path}; see the import report in the Records tab.\n"
                + "\n".join(str(p) for p in problems[:5]),
            )

    context.runner.submit(f"Import {Path(path).name}", job, on_result=done,
                          on_error=lambda message: context.show_message("Could not import records", message))


def open_images(context: AppContext, path: str, patient_id: str | None = None) -> None:
    """Load a file, folder or DICOMDIR; good images join the patient, each bad file is reported."""

    def job():
        from medassist.imaging.loader import open_images as load

        return (yield from load(Path(path)))

    def done(batch) -> None:
        if batch.images:
            context.session.add_images(batch.images, patient_id)
        if batch.problems:
            context.show_message("Some images could not be opened", "\n".join(batch.problems[:10]))

    context.runner.submit(f"Open {Path(path).name}", job, on_result=done,
                          on_error=lambda message: context.show_message("Could not open image", message))


def start_demo(context: AppContext) -> None:
    """Load the synthetic demo cohort and its public DICOM images, then open the featured patient."""

    def job():
        from medassist.demo import build_demo
        from medassist.imaging.loader import open_images as load

        yield Progress(0.05, "Building demo cohort")
        demo = build_demo()
        images = {}
        total = max(sum(len(v) for v in demo.image_paths.values()), 1)
        done_count = 0
        for pid, paths in demo.image_paths.items():
            for path in paths:
                batch = yield from load(path)
                images.setdefault(pid, []).extend(batch.images)
                done_count += 1
                yield Progress(0.1 + 0.9 * done_count / total, f"Loading demo image {path.name}")
        return demo, images

    def done(result) -> None:
        demo, images = result
        context.session.set_demo(True)
        context.session.set_records(demo.records, ["demo cohort (synthetic)"])
        for pid, imgs in images.items():
            context.session.add_images(imgs, pid)
        context.session.set_current_patient(demo.featured_patient_id)

    context.runner.submit("Start demo", job, on_result=done,
                          on_error=lambda message: context.show_message("Demo could not start", message))


def reset_demo(context: AppContext) -> None:
    """Discard what was done in the demo (model results, decisions, notes, opened images) and reload it."""
    context.runner.cancel_all()
    context.session.reset()
    context.navigation.show_tab(TabKind.RECORDS)
    start_demo(context)


def export_study_results(context: AppContext, study_instance_uid: str, parent) -> None:
    """Ask for a folder (and whether to send to the PACS), then write the study's SR, AI maps, PDF and
    FHIR report in a worker: the Worklist and Report tabs both call this."""
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    from medassist.hospital.fhir import FhirTargets
    from medassist.hospital.outbox import Outbox
    from medassist.hospital.results import export_study
    from medassist.hospital.store import StudyStore

    out_dir = QFileDialog.getExistingDirectory(parent, "Folder for the study's results")
    if not out_dir:
        return
    node = context.settings.node
    pacs = node.pacs
    send = pacs is not None and QMessageBox.question(
        parent, "Send to PACS", f"Also send the SR and AI maps to {pacs.ae_title} at {pacs.host}:{pacs.port}? "
        "What it already holds is not sent again."
    ) == QMessageBox.StandardButton.Yes

    def job():
        store = StudyStore()
        return (yield from export_study(store, study_instance_uid, Path(out_dir), context.services,
                                        pacs=pacs if send else None, calling_ae_title=node.ae_title,
                                        targets=FhirTargets.of(node), outbox=Outbox.of(node, store),
                                        timeouts=node.timeouts()))

    def done(exported) -> None:
        sent = (f"\nSent to {exported.sent_to}" + (f" ({exported.already_at_pacs} objects it already held were not sent "
                                                   "again)" if exported.already_at_pacs else "")
                if exported.sent_to else "")
        queued = (f"\nNOT SENT: {exported.send_error}. Queued for retry to {exported.queued_for} (Worklist tab)."
                  if exported.queued_for else "")
        version = f"version {exported.version}" + (" (unchanged, issued again)" if exported.reused else "")
        context.show_message("Results exported", f"Structured report ({version}): {exported.structured_report}\n"
                             f"AI maps: {len(exported.ai_maps)}\nPDF: {exported.pdf}\nFHIR report: {exported.fhir_report}"
                             + sent + queued)

    context.runner.submit("Export results", job, on_result=done,
                          on_error=lambda message: context.show_message("Could not export results", message))
