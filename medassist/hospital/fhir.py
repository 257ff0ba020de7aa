"""The findings of one study as a FHIR R4 ``collection`` Bundle an interface engine can file:
DiagnosticReport, one coded Observation per image and finding, the Patient, the ImagingStudy the
images belong to, and the algorithm as a Device.

* The patient is matched by identifier: the DICOM Patient ID with the MRN system the administrator
  configured (``fhir_patient_id_system``; without it the identifier has no system and the narrative
  says the match must be checked), on a Patient resource that also carries the name in every
  representation the header has, the birth date and the sex.
* The report is matched to its order by accession number (``basedOn`` a ServiceRequest identified
  by the accession number, type ACSN, with the configured system).
* ``effectiveDateTime`` is the study's date and time (with the header's UTC offset, else this
  workstation's), ``issued`` when the report was made; ``presentedForm`` carries the PDF.
* Observations: code SNOMED CT + RadLex, probability as value, interpretation POS / NEG (HL7 v3)
  from :func:`~medassist.domain.findings.findings_of`, the decision threshold as reference range,
  the algorithm as ``device``, the image as ``derivedFrom`` (the ImagingStudy, naming the instance)
  and the SR's tracking UID as identifier. A refused image gets an Observation with
  ``dataAbsentReason`` and the gate's reason. Subtypes are never reported.

FHIR R4 and R4B define these resources alike; the Bundle is validated with fhir.resources' R4B models.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from pydicom.valuerep import PersonName

from medassist import DECISION_SUPPORT_NOTICE, __version__
from medassist.domain.findings import FindingStatus
from medassist.domain.result_text import finding_text, finding_value_text, gate_text, refusal_text, result_sentence
from medassist.hospital import codes
from medassist.hospital.reported import reported
from medassist.hospital.sr import AnalysedImage, device_uid, tracking_uid
from medassist.settings.node import NodeSettings

DICOM_UID_SYSTEM = "urn:dicom:uid"
IDENTIFIER_TYPES = "http://terminology.hl7.org/CodeSystem/v2-0203"
NAME_REPRESENTATION = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"
GENDERS = {"M": "male", "F": "female", "O": "other"}


@dataclass(frozen=True)
class FhirTargets:
    """Where the interface engine files what: the hospital's identifier systems (URIs, may be empty)."""

    patient_id_system: str = ""
    accession_system: str = ""

    @classmethod
    def of(cls, settings: NodeSettings) -> "FhirTargets":
        return cls(settings.fhir_patient_id_system.strip(), settings.fhir_accession_system.strip())


def _oid(uid: str) -> str:
    return f"urn:oid:{uid}"


def _ref(resource: dict[str, Any], display: str | None = None) -> dict[str, Any]:
    reference: dict[str, Any] = {"reference": f"urn:uuid:{resource['id']}"}
    if display:
        reference["display"] = display
    return reference


def _narrative(lines: list[str]) -> dict[str, str]:
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def study_datetime(header: Dataset) -> str | None:
    """The study's date and time as a FHIR dateTime (a time needs a zone: the header's UTC offset,
    else this workstation's, which is where the hospital is); the date alone when there is no time."""
    date = str(header.get("StudyDate", "") or "")
    if len(date) != 8 or not date.isdigit():
        return None
    day = _dt.date(int(date[:4]), int(date[4:6]), int(date[6:]))
    time = str(header.get("StudyTime", "") or "").split(".")[0]
    if len(time) < 4 or not time.isdigit():
        return day.isoformat()
    moment = _dt.datetime.combine(day, _dt.time(int(time[:2]), int(time[2:4]), int(time[4:6] or 0)))
    offset = str(header.get("TimezoneOffsetFromUTC", "") or "")
    if len(offset) == 5 and offset[0] in "+-" and offset[1:].isdigit():
        sign = 1 if offset[0] == "+" else -1
        zone = _dt.timezone(sign * _dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[3:])))
        return moment.replace(tzinfo=zone).isoformat()
    return moment.astimezone().isoformat()


def _names(value: Any) -> list[dict[str, Any]]:
    """Every representation of a DICOM person name (alphabetic, ideographic, phonetic) as a HumanName."""
    name = value if isinstance(value, PersonName) else PersonName(str(value or ""))
    names = []
    for group, representation in ((name.alphabetic, None), (name.ideographic, "IDE"), (name.phonetic, "SYL")):
        if not group:
            continue
        parts = group.split("^")
        human: dict[str, Any] = {"use": "official", "text": " ".join(p for p in parts if p)}
        if parts[0]:
            human["family"] = parts[0]
        given = [p for p in parts[1:3] if p]
        if given:
            human["given"] = given
        if representation:
            human["extension"] = [{"url": NAME_REPRESENTATION, "valueCode": representation}]
        names.append(human)
    return names


def _patient(header: Dataset, targets: FhirTargets) -> dict[str, Any]:
    patient: dict[str, Any] = {"resourceType": "Patient", "id": str(uuid.uuid4())}
    patient_id = str(header.get("PatientID", "") or "")
    if patient_id:
        identifier: dict[str, Any] = {"use": "usual", "type": {"coding": [{"system": IDENTIFIER_TYPES, "code": "MR",
                                                                           "display": "Medical record number"}]},
                                      "value": patient_id}
        if targets.patient_id_system:
            identifier["system"] = targets.patient_id_system
        patient["identifier"] = [identifier]
    names = _names(header.get("PatientName", ""))
    if names:
        patient["name"] = names
    birth = str(header.get("PatientBirthDate", "") or "")
    if len(birth) == 8 and birth.isdigit():
        patient["birthDate"] = f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"
    patient["gender"] = GENDERS.get(str(header.get("PatientSex", "") or ""), "unknown")
    return patient


def _subject(patient: dict[str, Any]) -> dict[str, Any]:
    subject = _ref(patient)
    identifiers = patient.get("identifier")
    if identifiers and identifiers[0].get("system"):
        subject["identifier"] = {k: identifiers[0][k] for k in ("system", "value")}
    return subject


def _imaging_study(images: list[AnalysedImage], patient: dict[str, Any], started: str | None,
                   extra: Sequence[Dataset]) -> dict[str, Any]:
    series: dict[str, dict[str, Any]] = {}
    for dataset in [image.header for image in images] + list(extra):
        entry = series.setdefault(str(dataset.SeriesInstanceUID), {
            "uid": str(dataset.SeriesInstanceUID),
            "modality": {"system": codes.FHIR_SYSTEMS["DCM"], "code": str(dataset.get("Modality", "") or "OT")},
            "instance": []})
        if dataset.get("SeriesNumber") not in (None, ""):
            entry["number"] = int(dataset.SeriesNumber)
        instance: dict[str, Any] = {"uid": str(dataset.SOPInstanceUID),
                                    "sopClass": {"system": "urn:ietf:rfc:3986", "code": _oid(str(dataset.SOPClassUID))}}
        if dataset.get("InstanceNumber") not in (None, ""):
            instance["number"] = int(dataset.InstanceNumber)
        entry["instance"].append(instance)
    study: dict[str, Any] = {
        "resourceType": "ImagingStudy", "id": str(uuid.uuid4()), "status": "available",
        "identifier": [{"system": DICOM_UID_SYSTEM, "value": _oid(str(images[0].header.StudyInstanceUID))}],
        "subject": _subject(patient), "numberOfSeries": len(series),
        "numberOfInstances": sum(len(s["instance"]) for s in series.values()), "series": list(series.values()),
    }
    if started:
        study["started"] = started
    return study


def _device(image: AnalysedImage) -> dict[str, Any]:
    prediction = image.prediction
    return {
        "resourceType": "Device", "id": str(uuid.uuid4()), "status": "active",
        "identifier": [{"system": DICOM_UID_SYSTEM, "value": _oid(device_uid(prediction))}],
        "manufacturer": "MedAssist",
        "deviceName": [{"name": prediction.model, "type": "model-name"}],
        "type": {"text": "AI image analysis algorithm (decision support software)"},
        "version": [{"value": prediction.version},
                    {"type": {"text": "weights SHA-256"}, "value": prediction.weights_sha256},
                    {"type": {"text": "MedAssist"}, "value": __version__}],
        "note": [{"text": DECISION_SUPPORT_NOTICE}],
    }


def _observations(images: list[AnalysedImage], subject: dict[str, Any], study: dict[str, Any],
                  devices: dict[str, dict[str, Any]], effective: str | None, issued: str) -> list[dict[str, Any]]:
    observations = []
    for number, image in enumerate(images, 1):
        prediction = image.prediction
        where = _ref(study, f"image {number}: SOP Instance UID {image.header.SOPInstanceUID}")
        common: dict[str, Any] = {
            "resourceType": "Observation", "status": "preliminary",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "imaging", "display": "Imaging"}]}],
            "subject": subject, "issued": issued, "device": _ref(devices[prediction.weights_sha256]),
            "derivedFrom": [where],
            "method": {"text": f"{prediction.model} {prediction.version} (weights SHA-256 {prediction.weights_sha256})"},
        }
        if effective:
            common["effectiveDateTime"] = effective
        refusal = refusal_text(prediction)
        if refusal is not None:
            label = next(iter(prediction.thresholds), "")
            concept = codes.finding_concept(label, label) if label else codes.INPUT_GATE
            observations.append({**common, "id": str(uuid.uuid4()), "code": concept.fhir(concept.meaning),
                                 "identifier": [{"system": DICOM_UID_SYSTEM, "value": _oid(tracking_uid(image, "input gate"))}],
                                 "dataAbsentReason": {"coding": [{
                                     "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                                     "code": "not-performed", "display": "Not Performed"}], "text": refusal},
                                 "note": [{"text": refusal}, {"text": DECISION_SUPPORT_NOTICE}],
                                 "text": _narrative([f"Image {number}: {refusal}"])})
            continue
        gate = [gate_text(prediction.gate)] if prediction.gate is not None else []
        for finding in image.findings:
            concept = codes.finding_concept(finding.label, finding.name)
            observation: dict[str, Any] = {
                **common, "id": str(uuid.uuid4()), "code": concept.fhir(finding.name),
                "identifier": [{"system": DICOM_UID_SYSTEM, "value": _oid(tracking_uid(image, finding.label))}],
                "valueQuantity": {"value": round(finding.score, 6), "unit": "probability",
                                  "system": codes.FHIR_SYSTEMS["UCUM"], "code": "1"},
                "note": [{"text": text} for text in (*gate, DECISION_SUPPORT_NOTICE)],
                "text": _narrative([f"Image {number}: {finding_text(finding)}", *gate]),
            }
            if finding.threshold is not None:
                observation["referenceRange"] = [{
                    "high": {"value": finding.threshold, "unit": "probability", "system": codes.FHIR_SYSTEMS["UCUM"],
                             "code": "1"},
                    "text": f"decision threshold {finding.threshold}: suggested at or above it"}]
            if finding.status in (FindingStatus.SUGGESTED, FindingStatus.NOT_SUGGESTED):
                positive = finding.status == FindingStatus.SUGGESTED
                observation["interpretation"] = [{
                    "coding": [{"system": codes.INTERPRETATION_SYSTEM, "code": "POS" if positive else "NEG",
                                "display": "Positive" if positive else "Negative"}],
                    "text": finding_value_text(finding)}]
            observations.append(observation)
    return observations


def diagnostic_report_bundle(images: list[AnalysedImage], targets: FhirTargets, sr: Dataset, maps: Sequence[Dataset],
                             pdf: bytes | None, issued: _dt.datetime) -> dict[str, Any]:
    """The study's Bundle, validated (raises ``pydantic.ValidationError`` if a resource is malformed)."""
    from fhir.resources.R4B.bundle import Bundle

    header = images[0].header
    issued_text = issued.astimezone().isoformat(timespec="seconds")
    effective = study_datetime(header)
    patient = _patient(header, targets)
    subject = _subject(patient)
    study = _imaging_study(images, patient, effective, [sr, *maps])
    devices = {image.prediction.weights_sha256: _device(image) for image in images}
    observations = _observations(images, subject, study, devices, effective, issued_text)
    lines = [f"Image {n}: {result_sentence(reported(image.prediction, image.findings))}" for n, image in enumerate(images, 1)]
    if not targets.patient_id_system:
        lines.append("The patient identifier has no MRN system (Settings > DICOM node > FHIR): check the patient "
                     "match by name, birth date and sex.")
    if effective is None:
        lines.append("The study has no date: effectiveDateTime is not given.")
    suggested = {f.label: f for image in images for f in image.findings if f.counts_now}
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport", "id": str(uuid.uuid4()), "status": "preliminary",
        "identifier": [{"system": DICOM_UID_SYSTEM, "value": _oid(str(sr.SOPInstanceUID))}],
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD",
                                  "display": "Radiology"}]}],
        "code": codes.FHIR_REPORT_CODE.fhir("MedAssist AI findings (decision support)"),
        "subject": subject, "issued": issued_text,
        "performer": [{"display": f"MedAssist {__version__} (decision support software)"}],
        "result": [_ref(o) for o in observations], "imagingStudy": [_ref(study)],
        "conclusion": " ".join(lines) + " " + DECISION_SUPPORT_NOTICE,
        "text": _narrative([*lines, DECISION_SUPPORT_NOTICE]),
    }
    if suggested:
        report["conclusionCode"] = [codes.finding_concept(label, f.name).fhir(f.name) for label, f in suggested.items()]
    if effective:
        report["effectiveDateTime"] = effective
    accession = str(header.get("AccessionNumber", "") or "")
    if accession:
        order: dict[str, Any] = {"type": {"coding": [{"system": IDENTIFIER_TYPES, "code": "ACSN",
                                                      "display": "Accession ID"}]}, "value": accession}
        if targets.accession_system:
            order["system"] = targets.accession_system
        report["basedOn"] = [{"type": "ServiceRequest", "identifier": order}]
    if pdf is not None:
        report["presentedForm"] = [{"contentType": "application/pdf", "language": "en",
                                    "data": base64.b64encode(pdf).decode("ascii"),
                                    "title": "MedAssist AI findings (decision support, not a diagnosis)",
                                    "creation": issued_text}]
    resources = [report, patient, study, *devices.values(), *observations]
    bundle = {"resourceType": "Bundle", "type": "collection", "timestamp": issued_text,
              "identifier": {"system": DICOM_UID_SYSTEM, "value": _oid(str(sr.SOPInstanceUID))},
              "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]}
    return json.loads(Bundle.model_validate(bundle).model_dump_json(exclude_none=True))
