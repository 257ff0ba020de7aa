"""Results back where they belong: for an analysed study, an IHE AI Results SR (TID 1500,
:mod:`medassist.hospital.sr`), an AI-map Secondary Capture per accepted image
(:mod:`medassist.hospital.capture`), a PDF of the findings and a FHIR R4 DiagnosticReport that
carries it (:mod:`medassist.hospital.fhir`); optionally sent to the PACS.

* Values copied from the films are made valid first (:mod:`medassist.hospital.dicom_values`);
  names keep their character set, or go to UTF-8 when it cannot hold the text written.
* Every object is kept under ``<store>/results/<StudyInstanceUID>/`` and recorded
  (:class:`~medassist.hospital.outbox.Outbox`): an unchanged study gets the same SR, maps and
  report again; a changed one a new SR version naming the last as predecessor. AI maps keep
  their UIDs, so nothing reaches the PACS twice under two UIDs.
* Sending skips what the PACS already acknowledged (unless ``resend``); a PACS that fails puts
  the study in the persistent retry queue, and the result says so (never a silent failure).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from medassist import __version__
from medassist.audit import AuditLog
from medassist.composition import Services
from medassist.domain.findings import findings_of
from medassist.errors import InputError
from medassist.hospital import dicom_values
from medassist.hospital.capture import ai_map_capture, fitted, map_uid
from medassist.hospital.fhir import FhirTargets, diagnostic_report_bundle
from medassist.hospital.outbox import Outbox
from medassist.hospital.reported import reported
from medassist.hospital.sr import AnalysedImage, measurement_report
from medassist.hospital.store import StudyStore
from medassist.hospital.worklist import prediction_of
from medassist.imaging.overlay import blend
from medassist.jobs import Job, Progress
from medassist.atomic import atomic_write, atomic_write_bytes
from medassist.settings import Settings
from medassist.settings.node import PacsSettings, Timeouts

if TYPE_CHECKING:
    from medassist.imaging.image import MedicalImage
    from medassist.inference.card import ModelCard
    from medassist.inference.service import ModelService

ANALYSED = ("scored", "refused")
SR_FORMAT = "tid1500-v1"  # part of the SR fingerprint: a new layout makes a new version
METHOD = "Grad-CAM"
TYPE2_PATIENT_STUDY = ("PatientID", "PatientName", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                       "ReferringPhysicianName", "StudyID", "AccessionNumber")


@dataclass
class ExportedResults:
    """Where one study's results went, and what was reused, sent or queued."""

    study_instance_uid: str
    structured_report: Path
    version: int
    reused: bool  # the study had not changed: the last SR (and maps, PDF, FHIR) were issued again
    supersedes: str | None = None  # SOP Instance UID of the SR version this one replaces
    ai_maps: list[Path] = field(default_factory=list)
    pdf: Path | None = None
    fhir_report: Path | None = None
    dicom_bytes: int = 0  # SR + AI maps: what goes to the PACS
    sent_to: str | None = None
    already_at_pacs: int = 0  # objects not sent again because the PACS had acknowledged them
    queued_for: str | None = None
    send_error: str | None = None
    sanitised: list[str] = field(default_factory=list)  # copied values made valid ("Patient's Age '58' -> '058Y'")

    def to_dict(self) -> dict[str, Any]:
        return {"study_instance_uid": self.study_instance_uid, "structured_report": str(self.structured_report),
                "version": self.version, "reused": self.reused, "supersedes": self.supersedes,
                "ai_maps": [str(p) for p in self.ai_maps], "pdf": str(self.pdf) if self.pdf else None,
                "fhir_report": str(self.fhir_report) if self.fhir_report else None, "dicom_bytes": self.dicom_bytes,
                "sent_to": self.sent_to, "already_at_pacs": self.already_at_pacs, "queued_for": self.queued_for,
                "send_error": self.send_error, "sanitised": self.sanitised}


def analysed_entries(store: StudyStore, study_instance_uid: str) -> list[dict[str, Any]]:
    """The study's worklist rows that a model has analysed (scored or refused by its gate)."""
    entries = [e for e in store.study_entries(study_instance_uid) if e["status"] in ANALYSED]
    if not entries:
        raise InputError(f"study {study_instance_uid} has no analysed image yet", store.db_path)
    return entries


def source_header(path: Path) -> tuple[Dataset, list[str]]:
    """The film's attributes as MedAssist copies them: decoded, valid for their VRs, with the type 2
    patient and study attributes present (empty when the film lacks them); and what was changed."""
    header = dicom_values.read_header(path)
    changes = dicom_values.sanitise(header)
    for keyword in TYPE2_PATIENT_STUDY:
        if keyword not in header:
            setattr(header, keyword, "")
    return header, changes


def fingerprint(images: list[AnalysedImage]) -> str:
    """What the SR says, hashed: the same study, results and format give the same fingerprint."""
    said = [[str(i.header.SOPInstanceUID), i.prediction.model, i.prediction.version, i.prediction.weights_sha256,
             None if i.prediction.gate is None else i.prediction.gate.accepted,
             [[f.label, f.status.value, round(f.score, 6), f.threshold] for f in i.findings]] for i in images]
    return hashlib.sha256(json.dumps([SR_FORMAT, __version__, said]).encode("utf-8")).hexdigest()


def _save(dataset: Dataset, path: Path) -> Path:
    dicom_values.encode_fully(dataset)
    return atomic_write(path, lambda handle: dataset.save_as(handle, enforce_file_format=True))


def _predecessor(path: Path) -> Dataset:
    return pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID", "SOPInstanceUID",
                                                                           "StudyInstanceUID", "SeriesInstanceUID"])


def _patient_block(header: Dataset) -> Any:
    """The PDF's patient block from the film's header (the node has no record of the patient)."""
    from medassist.reporting.content import PatientBlock

    name = header.get("PatientName", "")
    groups = [g for g in (getattr(name, "alphabetic", ""), getattr(name, "ideographic", ""),
                          getattr(name, "phonetic", "")) if g]
    shown = " = ".join(g.replace("^", " ").strip() for g in groups) or "(no name)"
    birth = str(header.get("PatientBirthDate", "") or "")
    born = _dt.date(int(birth[:4]), int(birth[4:6]), int(birth[6:])) if len(birth) == 8 and birth.isdigit() else None
    age = str(header.get("PatientAge", "") or "")
    units = {"Y": "years", "M": "months", "W": "weeks", "D": "days"}
    return PatientBlock(name=shown, patient_id=str(header.get("PatientID", "") or "-"), birth_date=born,
                        age=f"{int(age[:3])} {units[age[3]]}" if len(age) == 4 else "unknown",
                        sex=str(header.get("PatientSex", "") or "unknown"), location="",
                        record_ids=[str(header.get("AccessionNumber", "") or "")])


def results_pdf(images: list[AnalysedImage], settings: Settings, cards: Mapping[str, ModelCard]) -> bytes:
    """The findings as the app's report lays them out (patient, findings, explanations, the models
    described by their ``cards``; the facility from ``settings``), for the EHR. The films and AI maps
    are in the PACS: the PDF carries the words only, which keeps it small and quick to make."""
    from medassist.jobs import run_job
    from medassist.reporting.content import collect_report
    from medassist.reporting.pdf import build_pdf
    from medassist.session import Session

    session = Session()
    key = str(images[0].header.get("PatientID", "") or "study")
    for image in images:
        prediction = reported(image.prediction, image.findings)
        prediction.patient_id = key
        session.add_prediction(prediction)
    content = collect_report(session, key, settings, cards)
    content.patient = _patient_block(images[0].header)
    return run_job(build_pdf(content))


def export_study(store: StudyStore, study_instance_uid: str, out_dir: Path, services: Services,
                 pacs: PacsSettings | None = None, calling_ae_title: str = "MEDASSIST", saliency: bool = True,
                 resend: bool = False, targets: FhirTargets | None = None, outbox: Outbox | None = None,
                 timeouts: Timeouts | None = None) -> Job[ExportedResults]:
    """Issue (or issue again, unchanged) the study's SR, AI maps, PDF and FHIR report, copy them to
    ``out_dir`` and, with ``pacs``, send what that PACS does not hold yet (everything with ``resend``).
    ``services`` (the caller's, from the composition root) make the maps (their model service is asked
    for only when a map has to be made: in this process it imports torch), describe the models and
    keep the audit lines."""
    from medassist.imaging.loader import load_image

    outbox = outbox or Outbox(store)
    audit = services.audit
    entries = analysed_entries(store, study_instance_uid)
    # highdicom warns about single-component patient names it copies verbatim from the source files
    warnings.filterwarnings("ignore", message=".*unlikely to represent the intended person name", category=UserWarning)
    images, sanitised = [], []
    for entry in entries:
        header, changes = source_header(Path(entry["path"]))
        prediction = prediction_of(entry)
        assert prediction is not None  # analysed rows hold a result
        images.append(AnalysedImage(header, prediction, findings_of(prediction)))
        sanitised += [f"{entry['sop_instance_uid']}: {c}" for c in changes]
    archive = outbox.results_dir(study_instance_uid)
    archive.mkdir(parents=True, exist_ok=True)
    yield Progress(0.05, "Writing the structured report")
    charset = dicom_values.writable_character_set(dicom_values.character_set(images[0].header))
    print_ = fingerprint(images)
    latest = outbox.latest_report(study_instance_uid)
    reused = latest is not None and latest.fingerprint == print_ and latest.path.is_file()
    if reused:
        assert latest is not None
        sr_path, version, supersedes = latest.path, latest.version, None
        sr: Dataset = pydicom.dcmread(sr_path, stop_before_pixels=True)
    else:
        version = latest.version + 1 if latest else 1
        predecessors = [_predecessor(latest.path)] if latest and latest.path.is_file() else []
        supersedes = latest.sop_instance_uid if latest else None
        series = latest.series_instance_uid if latest else generate_uid()
        sr = measurement_report(images, charset, series, generate_uid(), version, predecessors)
        sr_path = _save(sr, archive / f"SR_{sr.SOPInstanceUID}.dcm")
        outbox.record_issued(sr, "sr", sr_path, print_, version, supersedes)

    maps: list[Path] = []
    accepted = [image for image in images if not image.prediction.refused]
    new_maps = False
    if saliency and accepted:
        for number, image in enumerate(accepted, 1):
            uid = map_uid(image.header, image.prediction, METHOD)
            kept = outbox.issued_path(uid)
            if kept is not None:  # the same film, weights and format: the map already issued
                maps.append(kept)
                continue
            yield Progress(0.1 + 0.6 * (number - 1) / len(accepted), f"AI map {number}/{len(accepted)}")
            explanation, film = _explain(services.models(), image, load_image)
            display = film.display_frame(0)
            capture = ai_map_capture(image.header, blend(fitted(display), np.asarray(explanation.values)),
                                     image.prediction, METHOD, explanation.target, charset, number)
            path = _save(capture, archive / f"SC_{capture.SOPInstanceUID}.dcm")
            outbox.record_issued(capture, "ai_map", path)
            maps.append(path)
            new_maps = True

    pdf_path = archive / f"Report_{study_instance_uid}.pdf"
    fhir_path = archive / f"DiagnosticReport_{study_instance_uid}.json"
    if not (reused and not new_maps and pdf_path.is_file() and fhir_path.is_file()):
        yield Progress(0.75, "Writing the PDF and the FHIR DiagnosticReport")
        pdf = results_pdf(images, services.settings, services.catalogue.cards())
        atomic_write_bytes(pdf_path, pdf)
        map_headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in maps]
        bundle = diagnostic_report_bundle(images, targets or FhirTargets(), sr, map_headers, pdf,
                                          _dt.datetime.now(_dt.timezone.utc))
        atomic_write_bytes(fhir_path, json.dumps(bundle, indent=1, ensure_ascii=False).encode("utf-8"))

    out_dir.mkdir(parents=True, exist_ok=True)
    copies = {path: out_dir / path.name for path in (sr_path, *maps, pdf_path, fhir_path)}
    for source, target in copies.items():
        if source.resolve() != target.resolve():
            atomic_write_bytes(target, source.read_bytes())  # results are small (a JPEG map, an SR, a PDF)
    exported = ExportedResults(study_instance_uid, copies[sr_path], version, reused, supersedes,
                               [copies[p] for p in maps], copies[pdf_path], copies[fhir_path],
                               sum(p.stat().st_size for p in (sr_path, *maps)), sanitised=sanitised)
    audit.append("results_exported", study_instance_uid=study_instance_uid, sr_sop_instance_uid=str(sr.SOPInstanceUID),
                 version=version, reused=reused, supersedes=supersedes, ai_maps=len(maps), sanitised=sanitised)
    if pacs is not None:
        yield Progress(0.9, f"Sending to {pacs.ae_title}")
        _send(outbox, audit, exported, pacs, calling_ae_title, [sr_path, *maps], resend, timeouts)
    yield Progress(1.0, "Results exported")
    return exported


def _explain(service: "ModelService", image: AnalysedImage, load: Any) -> tuple[Any, "MedicalImage"]:
    from medassist.domain.inputs import ImageInput
    from medassist.jobs import run_job

    film = load(image.prediction.image.path if image.prediction.image else image.prediction.source)
    return run_job(service.explain(image.prediction.model, ImageInput(film), "gradcam")), film


def _send(outbox: Outbox, audit: AuditLog, exported: ExportedResults, pacs: PacsSettings, calling_ae_title: str,
          files: list[Path], resend: bool, timeouts: Timeouts | None) -> None:
    """Send what ``pacs`` does not hold yet; a failure queues the rest for retry and is reported."""
    from medassist.hospital.pacs import PacsError, send_files

    uids = {path: str(pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SOPInstanceUID"]).SOPInstanceUID)
            for path in files}
    held = set() if resend else outbox.sent_to(pacs.label, list(uids.values()))
    todo = [path for path in files if uids[path] not in held]
    exported.already_at_pacs = len(files) - len(todo)
    if not todo:
        exported.sent_to = pacs.label
        return
    try:
        stored = send_files(pacs, calling_ae_title, todo, timeouts)
    except PacsError as exc:
        outbox.record_sent(pacs.label, exc.stored)
        left = [path for path in todo if uids[path] not in set(exc.stored)]
        exported.send_error = exc.reason
        outbox.enqueue(exported.study_instance_uid, pacs, calling_ae_title, left, exc.reason)
        exported.queued_for = pacs.label
        audit.append("results_queued", study_instance_uid=exported.study_instance_uid, destination=pacs.label,
                     reason=exc.reason, objects=len(left))
        return
    outbox.record_sent(pacs.label, stored)
    exported.sent_to = pacs.label
    audit.append("results_sent", study_instance_uid=exported.study_instance_uid, destination=pacs.label,
                 objects=len(stored), from_retry_queue=False)

