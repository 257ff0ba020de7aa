"""Results back where they belong: for an analysed study, a DICOM Comprehensive SR with the
findings, a Secondary Capture of each saliency map marked as an AI map (both in the source
study, for PACS), and a FHIR R4 DiagnosticReport with Observations (for the EHR).

Every object says which model produced it (name, version, weights SHA-256), what its input
gate decided, and that it is decision support, not a diagnosis. Files are written atomically.
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from medassist import DECISION_SUPPORT_NOTICE, __version__
from medassist.errors import InputError
from medassist.imaging.dicom import has_dicm_preamble, read_dataset
from medassist.settings.node import PacsSettings
from medassist.hospital.store import StudyStore
from medassist.jobs import Job, Progress
from medassist.atomic import atomic_write, atomic_write_bytes

if TYPE_CHECKING:
    from medassist.inference.service import ModelService

MANUFACTURER = "MedAssist"
SCHEME = "99MEDASSIST"  # private coding scheme for concepts with no standard code
ANALYSED = ("scored", "refused")
AI_MAP_DESCRIPTION = "AI saliency map (Grad-CAM) - decision support, not for diagnosis"
PROBABILITY_UNIT = hd.sr.CodedConcept("1", "UCUM", "no units")


def _concept(value: str, meaning: str) -> hd.sr.CodedConcept:
    return hd.sr.CodedConcept(value, SCHEME, meaning)


REPORT_TITLE = hd.sr.CodedConcept("18748-4", "LN", "Diagnostic imaging report")
GATE_VERDICT = _concept("GATE", "Input gate verdict")
WEIGHTS_SHA256 = _concept("WSHA256", "Model weights SHA-256")
POSITIVE_AT_THRESHOLD = _concept("POSITIVE", "Positive at threshold")


@dataclass
class ExportedResults:
    """Where one study's results went."""

    study_instance_uid: str
    structured_report: Path
    ai_maps: list[Path] = field(default_factory=list)
    fhir_report: Path | None = None
    sent_to: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"study_instance_uid": self.study_instance_uid, "structured_report": str(self.structured_report),
                "ai_maps": [str(p) for p in self.ai_maps], "fhir_report": str(self.fhir_report) if self.fhir_report else None,
                "sent_to": self.sent_to}


def analysed_entries(store: StudyStore, study_instance_uid: str) -> list[dict[str, Any]]:
    """The study's worklist rows that a model has analysed (scored or refused by its gate)."""
    entries = [e for e in store.study_entries(study_instance_uid) if e["status"] in ANALYSED]
    if not entries:
        raise InputError(f"study {study_instance_uid} has no analysed image yet", store.db_path)
    return entries


TYPE2_PATIENT_STUDY = ("PatientID", "PatientName", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                       "ReferringPhysicianName", "StudyID", "AccessionNumber")


def with_empty_type2(source: Dataset) -> Dataset:
    """Real files often lack type 2 patient/study attributes (e.g. no PatientID); the derived
    objects copy them, so absent ones become present-but-empty, as DICOM allows for type 2."""
    for keyword in TYPE2_PATIENT_STUDY:
        if keyword not in source:
            setattr(source, keyword, "")
    return source


# DICOM Structured Report ---------------------------------------------------------------------
def _text(name: hd.sr.CodedConcept, value: str) -> hd.sr.TextContentItem:
    return hd.sr.TextContentItem(name=name, value=value[:1024] or "-", relationship_type="CONTAINS")


def _image_findings(entry: dict[str, Any], source: Dataset) -> hd.sr.ContainerContentItem:
    result = entry["result"] or {}
    container = hd.sr.ContainerContentItem(name=codes.DCM.Finding, relationship_type="CONTAINS")
    items: list[Any] = [
        hd.sr.ImageContentItem(name=codes.DCM.SourceImage, referenced_sop_class_uid=source.SOPClassUID,
                               referenced_sop_instance_uid=source.SOPInstanceUID, relationship_type="CONTAINS"),
    ]
    gate = entry["gate"]
    if gate is not None:
        verdict = "accepted" if gate["accepted"] else "REFUSED"
        items.append(_text(GATE_VERDICT, f"{verdict}: {gate['reason']}"))
    for label, probability in sorted(entry["outputs"].items()):
        items.append(hd.sr.NumContentItem(name=_concept(f"P-{label}"[:16].upper(), f"Probability of {label}"),
                                          value=round(float(probability), 6), unit=PROBABILITY_UNIT,
                                          relationship_type="CONTAINS"))
    for label, threshold in sorted(entry["thresholds"].items()):
        items.append(hd.sr.NumContentItem(name=_concept(f"T-{label}"[:16].upper(), f"Decision threshold for {label}"),
                                          value=float(threshold), unit=PROBABILITY_UNIT, relationship_type="CONTAINS"))
    if gate is None or gate["accepted"]:
        items.append(_text(POSITIVE_AT_THRESHOLD, ", ".join(entry["positive"]) or "none"))
    items.append(_text(codes.DCM.AlgorithmName, str(result.get("model", entry["model"]))))
    items.append(_text(codes.DCM.AlgorithmVersion, str(result.get("version", ""))))
    items.append(_text(WEIGHTS_SHA256, str(result.get("weights_sha256", ""))))
    container.ContentSequence = hd.sr.ContentSequence(items, is_root=False)
    return container


def structured_report(entries: list[dict[str, Any]], sources: list[Dataset]) -> hd.sr.ComprehensiveSR:
    """A Comprehensive SR in the source study: one Finding container per analysed image."""
    root = hd.sr.ContainerContentItem(name=REPORT_TITLE)
    items: list[Any] = [_text(codes.DCM.Comment, DECISION_SUPPORT_NOTICE)]
    items += [_image_findings(entry, source) for entry, source in zip(entries, sources, strict=True)]
    root.ContentSequence = hd.sr.ContentSequence(items, is_root=False)
    report = hd.sr.ComprehensiveSR(
        evidence=sources,
        content=root,
        series_instance_uid=generate_uid(),
        series_number=9001,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        is_complete=True,
        is_final=False,  # preliminary until a clinician verifies it
        is_verified=False,
    )
    report.SeriesDescription = "MedAssist AI findings - decision support, not a diagnosis"
    return report


# Secondary Capture of the saliency map -------------------------------------------------------
AI_MAP_LABEL = "AI MAP (Grad-CAM) - decision support, not for diagnosis"


def labelled_overlay(overlay_rgb: np.ndarray, label: str = AI_MAP_LABEL) -> np.ndarray:
    """Burn a banner into the top of the overlay so that no viewer can show the map unlabelled."""
    from PIL import Image, ImageDraw, ImageFont

    picture = Image.fromarray(np.ascontiguousarray(overlay_rgb, dtype=np.uint8), mode="RGB")
    size = max(10, picture.width // 45)
    font = ImageFont.load_default(size=size)
    draw = ImageDraw.Draw(picture)
    box = draw.textbbox((0, 0), label, font=font)
    draw.rectangle((0, 0, min(picture.width, box[2] + 2 * size), box[3] + size), fill=(0, 0, 0))
    draw.text((size, size // 2), label, fill=(255, 220, 0), font=font)
    return np.asarray(picture)

def saliency_capture(source: Dataset, overlay_rgb: np.ndarray, method: str, target: str, model: str,
                     version: str, series_instance_uid: str, instance_number: int) -> hd.sc.SCImage:
    """The overlay as an RGB Secondary Capture in the source study, labelled as an AI map."""
    orientation = tuple(str(v) for v in source.get("PatientOrientation", None) or ())
    known = len(orientation) == 2 and all(orientation)
    image = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=source,
        pixel_array=labelled_overlay(overlay_rgb),
        photometric_interpretation="RGB",
        bits_allocated=8,
        coordinate_system="PATIENT",
        patient_orientation=(orientation[0], orientation[1]) if known else ("A", "F"),  # replaced by "unknown" below when not known
        series_instance_uid=series_instance_uid,
        series_number=9002,
        sop_instance_uid=generate_uid(),
        instance_number=instance_number,
        manufacturer=MANUFACTURER,
    )
    if not known:
        # type 2: the source does not say, so neither does the map (highdicom types the attribute as a list)
        image.PatientOrientation = ""  # type: ignore[assignment]
    image.SeriesDescription = AI_MAP_DESCRIPTION
    image.ImageType = ["DERIVED", "SECONDARY", "AI_MAP"]
    image.BurnedInAnnotation = "NO"
    image.ImageComments = (f"AI map: {method} for '{target}' by {model} {version} (MedAssist {__version__}). "
                           f"{DECISION_SUPPORT_NOTICE}")[:10240]
    image.DerivationDescription = f"{method} saliency of {model} {version} blended over the source image"[:1024]
    reference = Dataset()
    reference.ReferencedSOPClassUID = source.SOPClassUID
    reference.ReferencedSOPInstanceUID = source.SOPInstanceUID
    image.SourceImageSequence = [reference]
    return image


# FHIR R4 DiagnosticReport --------------------------------------------------------------------
def fhir_report(entries: list[dict[str, Any]], study_instance_uid: str) -> dict[str, Any]:
    """A FHIR R4 ``collection`` Bundle: one preliminary DiagnosticReport and one Observation per probability."""
    from fhir.resources.R4B.bundle import Bundle

    first = entries[0]
    if first["patient_id"]:
        subject = {"identifier": {"value": first["patient_id"]}, "display": first["patient_name"] or first["patient_id"]}
    else:
        subject = {"display": "unknown patient (the DICOM header has no Patient ID)"}
    imaging = {"identifier": {"system": "urn:dicom:uid", "value": f"urn:oid:{study_instance_uid}"}}
    observations: list[dict[str, Any]] = []
    lines: list[str] = []
    for entry in entries:
        result = entry["result"] or {}
        model = f"{result.get('model', entry['model'])} {result.get('version', '')} (weights SHA-256 {result.get('weights_sha256', '')})"
        gate = entry["gate"]
        if gate is not None and not gate["accepted"]:
            lines.append(f"Image {entry['sop_instance_uid']}: refused by the input gate ({gate['reason']}).")
        else:
            lines.append(f"Image {entry['sop_instance_uid']}: positive at threshold: {', '.join(entry['positive']) or 'none'}.")
        for label, probability in sorted(entry["outputs"].items()):
            threshold = entry["thresholds"].get(label)
            observation: dict[str, Any] = {
                "resourceType": "Observation",
                "id": str(uuid.uuid4()),
                "status": "preliminary",
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                          "code": "imaging", "display": "Imaging"}]}],
                "code": {"text": f"Probability of {label} ({result.get('model', entry['model'])})"},
                "subject": subject,
                "effectiveDateTime": entry["scored_at"],
                "valueQuantity": {"value": round(float(probability), 6), "unit": "probability",
                                  "system": "http://unitsofmeasure.org", "code": "1"},
                "method": {"text": model},
                "derivedFrom": [imaging],
                "note": [{"text": DECISION_SUPPORT_NOTICE}],
            }
            if threshold is not None:
                positive = label in entry["positive"]
                observation["interpretation"] = [{"text": f"{'at or above' if positive else 'below'} the decision "
                                                          f"threshold {threshold}"}]
            observations.append(observation)
    issued = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    report = {
        "resourceType": "DiagnosticReport",
        "id": str(uuid.uuid4()),
        "status": "preliminary",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD",
                                  "display": "Radiology"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "18748-4", "display": "Diagnostic imaging study"}],
                 "text": "MedAssist AI findings"},
        "subject": subject,
        "issued": issued,
        "performer": [{"display": f"MedAssist {__version__} (decision support software)"}],
        "result": [{"reference": f"urn:uuid:{o['id']}"} for o in observations],
        "imagingStudy": [imaging],
        "conclusion": " ".join(lines) + " " + DECISION_SUPPORT_NOTICE,
    }
    resources = [report, *observations]
    bundle = {"resourceType": "Bundle", "type": "collection", "timestamp": issued,
              "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]}
    return json.loads(Bundle.model_validate(bundle).model_dump_json(exclude_none=True))


# the export job --------------------------------------------------------------------------------
def export_study(store: StudyStore, study_instance_uid: str, out_dir: Path, service: "ModelService | None" = None,
                 pacs: PacsSettings | None = None, calling_ae_title: str = "MEDASSIST",
                 saliency: bool = True) -> Job[ExportedResults]:
    """Write the SR, the AI-map Secondary Captures and the FHIR report of one analysed study
    to ``out_dir``; with ``pacs``, also C-STORE the SR and the captures there."""
    from medassist.imaging.loader import load_image
    from medassist.imaging.overlay import overlay_image
    from medassist.domain.inputs import ImageInput
    from medassist.jobs import run_job

    entries = analysed_entries(store, study_instance_uid)
    out_dir.mkdir(parents=True, exist_ok=True)
    # highdicom warns about single-component patient names it copies verbatim from the source files
    warnings.filterwarnings("ignore", message=".*unlikely to represent the intended person name", category=UserWarning)
    sources = [with_empty_type2(_source_dataset(Path(e["path"]))) for e in entries]
    yield Progress(0.05, "Writing the structured report")
    report = structured_report(entries, sources)
    sr_path = out_dir / f"SR_{report.SOPInstanceUID}.dcm"
    _save_dataset(report, sr_path)
    exported = ExportedResults(study_instance_uid, sr_path)

    if saliency:
        if service is None:
            from medassist.inference.service import InferenceService

            service = InferenceService()
        series_uid = generate_uid()
        accepted = [(e, s) for e, s in zip(entries, sources, strict=True) if e["gate"] is None or e["gate"]["accepted"]]
        for index, (entry, source) in enumerate(accepted, 1):
            yield Progress(0.1 + 0.7 * (index - 1) / max(len(accepted), 1), f"Saliency map {index}/{len(accepted)}")
            image = load_image(entry["path"])
            explanation = run_job(service.explain(entry["model"], ImageInput(image), "gradcam"))
            result = entry["result"] or {}
            capture = saliency_capture(source, overlay_image(image, 0, explanation.values), "Grad-CAM",
                                       explanation.target, result.get("model", entry["model"]),
                                       str(result.get("version", "")), series_uid, index)
            path = out_dir / f"SC_{capture.SOPInstanceUID}.dcm"
            _save_dataset(capture, path)
            exported.ai_maps.append(path)

    yield Progress(0.85, "Writing the FHIR DiagnosticReport")
    fhir_path = out_dir / f"DiagnosticReport_{study_instance_uid}.json"
    atomic_write_bytes(fhir_path, json.dumps(fhir_report(entries, study_instance_uid), indent=1).encode("utf-8"))
    exported.fhir_report = fhir_path

    if pacs is not None:
        from medassist.hospital.pacs import send_files

        yield Progress(0.9, f"Sending to {pacs.ae_title}")
        send_files(pacs, calling_ae_title, [sr_path, *exported.ai_maps])
        exported.sent_to = f"{pacs.ae_title}@{pacs.host}:{pacs.port}"
    yield Progress(1.0, "Results exported")
    return exported


def _source_dataset(path: Path) -> Dataset:
    if not has_dicm_preamble(path):
        raise InputError("not a DICOM object: SR and FHIR results are made for DICOM studies only", path)
    return read_dataset(path)  # bounded like every image read


def _save_dataset(dataset: Dataset, path: Path) -> None:
    atomic_write(path, lambda handle: dataset.save_as(handle, enforce_file_format=True))
