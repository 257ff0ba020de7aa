"""The findings of one study as an IHE AI Results (AIR) DICOM SR: a TID 1500 Measurement Report
in a Comprehensive 3D SR, built with highdicom's templates.

* Observation context (TID 1001/1004): the algorithm as the Device Observer: its name, its
  manufacturer, ``name version`` as model name and the weights' SHA-256 as serial number (the one
  identity of a trained model), with a UID derived from all three.
* Image library (TID 1600): every analysed image.
* One measurement group (TID 1501) per image and finding: the finding coded (SNOMED CT, RadLex),
  the source image, the algorithm (TID 4019: name, version, weights SHA-256, threshold), the
  probability and the decision threshold, and qualitative evaluations: the finding Present or
  Absent (from :func:`~medassist.domain.findings.findings_of`, never ``Prediction.positive``), the
  input gate's verdict, and "decision support only". An image the gate refused gets one group with
  the verdict alone. Subtypes (bacterial / viral) are never findings and are not reported.
* A new version references the one it replaces (Predecessor Documents Sequence); the document is
  preliminary and unverified until a clinician signs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from medassist.domain.findings import Finding, FindingStatus
from medassist.domain.prediction import Prediction
from medassist.hospital import codes

MANUFACTURER = "MedAssist"
SR_SERIES_NUMBER = 9001
SR_SERIES_DESCRIPTION = "MedAssist AI findings - decision support, not a diagnosis"


@dataclass(frozen=True)
class AnalysedImage:
    """One analysed image of the study: its (sanitised) header, its result and that result's findings."""

    header: Dataset
    prediction: Prediction
    findings: list[Finding]


def device_uid(prediction: Prediction) -> str:
    """The algorithm's Device Observer UID: the same for the same name, version and weights."""
    return generate_uid(entropy_srcs=["medassist-device", prediction.model, prediction.version,
                                      prediction.weights_sha256])


def tracking_uid(image: AnalysedImage, label: str) -> str:
    """One finding of one image, tracked under the same UID across report versions (and in FHIR)."""
    return generate_uid(entropy_srcs=["medassist-finding", str(image.header.SOPInstanceUID), label,
                                      image.prediction.model, image.prediction.weights_sha256])


def _algorithm(prediction: Prediction, threshold: float | None = None) -> hd.sr.AlgorithmIdentification:
    parameters = [f"weights SHA-256 {prediction.weights_sha256}"]
    if threshold is not None:
        parameters.append(f"decision threshold {threshold}")
    return hd.sr.AlgorithmIdentification(name=prediction.model, version=prediction.version, parameters=parameters,
                                         manufacturer=MANUFACTURER)


def _evaluation(name: codes.Concept, value: codes.Concept | hd.sr.CodedConcept) -> hd.sr.QualitativeEvaluation:
    return hd.sr.QualitativeEvaluation(name.sr, value.sr if isinstance(value, codes.Concept) else value)


def _gate(prediction: Prediction) -> list[hd.sr.QualitativeEvaluation]:
    if prediction.gate is None:
        return []
    return [_evaluation(codes.INPUT_GATE, codes.GATE_INSIDE if prediction.gate.accepted else codes.GATE_OUTSIDE)]


def _source(header: Dataset) -> hd.sr.SourceImageForMeasurementGroup:
    return hd.sr.SourceImageForMeasurementGroup(referenced_sop_class_uid=str(header.SOPClassUID),
                                                referenced_sop_instance_uid=str(header.SOPInstanceUID))


def _groups(image: AnalysedImage, number: int) -> list[hd.sr.MeasurementsAndQualitativeEvaluations]:
    prediction = image.prediction
    use = _evaluation(codes.INTENDED_USE, codes.DECISION_SUPPORT)
    if prediction.refused:
        return [hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=tracking_uid(image, "input gate"),
                                                         identifier=f"Image {number}: input gate"),
            algorithm_id=_algorithm(prediction), source_images=[_source(image.header)],
            qualitative_evaluations=[*_gate(prediction), use])]
    groups = []
    for finding in image.findings:
        concept = codes.finding_concept(finding.label, finding.name)
        evaluations = _gate(prediction)
        if finding.status in (FindingStatus.SUGGESTED, FindingStatus.NOT_SUGGESTED):
            present = finding.status == FindingStatus.SUGGESTED
            evaluations.insert(0, _evaluation(concept, codes.PRESENT if present else codes.ABSENT))
        measurements = [hd.sr.Measurement(name=codes.PROBABILITY.sr, value=round(finding.score, 6), unit=codes.NO_UNITS)]
        if finding.threshold is not None:
            measurements.append(hd.sr.Measurement(name=codes.THRESHOLD.sr, value=finding.threshold, unit=codes.NO_UNITS))
        groups.append(hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=tracking_uid(image, finding.label),
                                                         identifier=f"Image {number}: {finding.name}"),
            finding_type=concept.sr, algorithm_id=_algorithm(prediction, finding.threshold),
            source_images=[_source(image.header)], measurements=measurements,
            qualitative_evaluations=[*evaluations, use]))
    return groups


def library_view(header: Dataset) -> Dataset:
    """What the image library (TID 1601-1604) reads of an image. Its projection and cross-sectional
    descriptors need Patient Orientation and Imager Pixel Spacing (or the plane's geometry), which
    many radiographs lack: without them the entry keeps the modality and size only (the
    descriptors are optional), instead of failing."""
    view = Dataset()
    for keyword in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "Modality", "Rows",
                    "Columns", "FrameOfReferenceUID", "PatientOrientation", "ImagerPixelSpacing", "PixelSpacing",
                    "ImageOrientationPatient", "ImagePositionPatient", "SliceThickness"):
        if keyword in header and header.get(keyword) not in (None, ""):
            setattr(view, keyword, header.get(keyword))
    projection = ("PatientOrientation", "ImagerPixelSpacing")
    cross_section = ("PixelSpacing", "ImageOrientationPatient", "ImagePositionPatient", "SliceThickness")
    needed = projection if view.get("Modality") in ("CR", "DX", "IO", "MG", "PX", "RF", "RG", "XA") else cross_section
    orientation = view.get("PatientOrientation")
    if not all(k in view for k in needed) or (orientation is not None and len(orientation) != 2):
        view.Modality = ""  # highdicom then writes the entry without the modality-specific descriptors
    return view


def measurement_report(images: list[AnalysedImage], character_set: Any, series_instance_uid: str,
                       sop_instance_uid: str, version: int, predecessors: list[Dataset]) -> hd.sr.Comprehensive3DSR:
    """The study's TID 1500 report (``version`` is its Instance Number; ``predecessors`` the
    versions it replaces)."""
    first = images[0].prediction
    device = hd.sr.DeviceObserverIdentifyingAttributes(
        uid=device_uid(first), name=first.model, manufacturer_name=MANUFACTURER,
        model_name=f"{first.model} {first.version}", serial_number=first.weights_sha256)
    context = hd.sr.ObservationContext(observer_device_context=hd.sr.ObserverContext(
        observer_type=hd.sr.CodedConcept("121007", "DCM", "Device"), observer_identifying_attributes=device))
    groups = [group for number, image in enumerate(images, 1) for group in _groups(image, number)]
    report = hd.sr.MeasurementReport(
        observation_context=context, procedure_reported=codes.procedure_concept(first.model).sr,
        imaging_measurements=groups, title=codes.REPORT_TITLE.sr,
        referenced_images=[library_view(image.header) for image in images])
    sr = hd.sr.Comprehensive3DSR(
        evidence=[image.header for image in images], content=report[0], series_instance_uid=series_instance_uid,
        series_number=SR_SERIES_NUMBER, sop_instance_uid=sop_instance_uid, instance_number=version,
        manufacturer=MANUFACTURER, is_complete=True, is_final=False, is_verified=False,
        previous_versions=predecessors or None, coding_schemes=[codes.SCHEME_DECLARATION],
        specific_character_set=character_set, series_description=SR_SERIES_DESCRIPTION)
    return sr
