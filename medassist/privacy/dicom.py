"""DICOM headers de-identified by the Basic Application Level Confidentiality Profile (PS3.15 Annex E).

Used for every header a de-identified report carries and for the tag browser in presentation
mode. Options retained (PS3.15 Table E.1-1 columns; CID 7050 codes written into the copy):

- Clean Pixel Data Option (113101): burned-in text is found and blacked out
  (:mod:`medassist.privacy.pixels`);
- Retain Longitudinal Temporal Information with Modified Dates Option (113107): every date moves
  by the patient's one offset (:func:`medassist.privacy.date_shift_days`), so intervals stay true;
  times of day are kept;
- Retain Patient Characteristics Option (113108): sex, size, weight and the like stay, except the
  age, which is removed (the report and the screen give it as a 5-year band).

Not retained: UIDs (each replaced by a ``2.25`` UID derived from the original and the session's
salt, so references between objects still agree), device identity, institution identity, safe
private attributes, descriptors. The rules work by value representation first and by name
second, and are stricter than the profile's table where that is simpler: every person name,
every private element and every free-text element that is not known to be safe is removed, so
an attribute the table lists and this module does not name is still not kept.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
from typing import Any

from medassist.privacy import SESSION_SALT

PROFILE = "Basic Application Level Confidentiality Profile"
RETAINED_OPTIONS = (
    "Clean Pixel Data Option",
    "Retain Longitudinal Temporal Information with Modified Dates Option",
    "Retain Patient Characteristics Option (without the age)",
)
# CID 7050 De-identification Method: the profile and the options above
METHOD_CODES = (("113100", "Basic Application Confidentiality Profile"), ("113101", "Clean Pixel Data Option"),
                ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
                ("113108", "Retain Patient Characteristics Option"))
_FREE_TEXT_VRS = frozenset({"LO", "SH", "ST", "LT", "UT", "UC", "UR", "AE", "PN"})
# free text known to carry no identity: the device's make and software, and what the pixels are
SAFE_TEXT = frozenset({
    "Manufacturer", "ManufacturerModelName", "SoftwareVersions", "ContrastBolusAgent", "SequenceName",
    "ConvolutionKernel", "ReceiveCoilName", "TransmitCoilName", "WindowCenterWidthExplanation", "CodeValue",
    "CodingSchemeDesignator", "CodeMeaning", "CodingSchemeVersion", "TransducerData", "ProcessingFunction",
})
# removed whatever their VR (PS3.15 Table E.1-1 entries that are coded or numeric, and the age: see above)
REMOVED = frozenset({
    "PatientAge", "PatientBirthDate", "PatientBirthTime", "AccessionNumber", "StudyID", "InstitutionName",
    "InstitutionAddress", "InstitutionalDepartmentName", "StationName", "DeviceSerialNumber", "PatientTelephoneNumbers",
    "MilitaryRank", "BranchOfService", "MedicalRecordLocator", "EthnicGroup", "Occupation", "SmokingStatus",
    "PatientReligiousPreference", "LastMenstrualDate", "PatientState", "AdmissionID",
    "IssuerOfAdmissionID", "ReferencedPatientSequence", "ReferencedStudySequence", "ReferencedPerformedProcedureStepSequence",
    "RequestAttributesSequence", "OtherPatientIDsSequence", "ProtocolName",
    "PerformedProcedureStepID", "ScheduledProcedureStepID", "RequestedProcedureID", "FillerOrderNumberImagingServiceRequest",
    "PlacerOrderNumberImagingServiceRequest", "ResponsibleOrganization", "ResponsiblePerson", "OperatorIdentificationSequence",
    "PhysiciansOfRecordIdentificationSequence", "PerformingPhysicianIdentificationSequence",
    "ReferringPhysicianIdentificationSequence", "PhysiciansReadingStudyIdentificationSequence", "InstanceCreatorUID",
    "PatientIdentityRemoved", "DeidentificationMethod", "DeidentificationMethodCodeSequence",
})
# UIDs that name a kind of object or encoding, never an instance: kept
_CLASS_UIDS = ("ClassUID", "TransferSyntaxUID", "SOPClassesInStudy", "CodingSchemeUID")
_DATE_FORMATS = {"DA": "%Y%m%d", "DT": "%Y%m%d%H%M%S"}


def _new_uid(uid: str, salt: bytes) -> str:
    """A ``2.25`` UID (PS3.5 B.2) derived from the original: the same original always maps to the same UID."""
    return "2.25." + str(int.from_bytes(hmac.new(salt, uid.encode(), hashlib.sha256).digest()[:16], "big"))


def _shift(value: str, vr: str, days: int) -> str | None:
    """A DA or DT value moved by ``days`` (the rest of a DT, fractions and offset, kept); None if unreadable."""
    text = value.strip()
    try:
        when = _dt.datetime.strptime(text[:8], "%Y%m%d") + _dt.timedelta(days=days)
    except ValueError:
        return None
    return when.strftime("%Y%m%d") + (text[8:] if vr == "DT" else "")


def _keep_uid(keyword: str) -> bool:
    return keyword.endswith(_CLASS_UIDS)


def confidential_copy(dataset: Any, shift_days: int, salt: bytes = SESSION_SALT, pixels_cleaned: bool = False) -> Any:
    """A de-identified copy of a pydicom ``Dataset`` (the original is untouched); pixel data, if any, is
    left out: the cleaned picture travels beside the header (:class:`medassist.privacy.pixels.CleanedPixels`)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence

    def clean(source: Dataset) -> Dataset:
        out = Dataset()
        for element in source:
            keyword, vr = element.keyword or "", str(element.VR)
            group = element.tag.group
            if element.tag.is_private or keyword in REMOVED or vr == "PN" or 0x5000 <= group <= 0x50FF \
                    or 0x6000 <= group <= 0x60FF:
                continue  # private, listed, person names, overlays and curves (PS3.15 E.1-1: X)
            if keyword in ("PixelData", "FloatPixelData", "DoubleFloatPixelData"):
                continue
            if vr == "SQ":
                out.add_new(element.tag, "SQ", Sequence([clean(item) for item in element.value or []]))
            elif vr == "UI":
                if element.value and not _keep_uid(keyword):
                    values = element.value if element.VM > 1 else [element.value]
                    out.add_new(element.tag, "UI", [_new_uid(str(v), salt) for v in values] if element.VM > 1
                                else _new_uid(str(values[0]), salt))
                else:
                    out.add_new(element.tag, "UI", element.value)
            elif vr in _DATE_FORMATS:
                shifted = _shift(str(element.value or ""), vr, shift_days) if element.value else ""
                if shifted is not None:
                    out.add_new(element.tag, vr, shifted)
            elif vr in _FREE_TEXT_VRS or keyword.endswith(("ID", "IDs", "Name", "Names", "Address", "Comments",
                                                              "Description", "Location")):
                if keyword in SAFE_TEXT:
                    out.add_new(element.tag, vr, element.value)
            else:
                out.add_new(element.tag, vr, element.value)
        return out

    copy = clean(dataset)
    meta = getattr(dataset, "file_meta", None)
    if meta is not None:
        copy.file_meta = FileMetaDataset(clean(meta))
    copy.PatientIdentityRemoved = "YES"
    copy.DeidentificationMethod = "MedAssist: PS3.15 basic profile, options as coded"  # LO: 64 characters at most
    codes = []
    for value, meaning in METHOD_CODES if pixels_cleaned else METHOD_CODES[:1] + METHOD_CODES[2:]:
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
        codes.append(item)
    copy.DeidentificationMethodCodeSequence = Sequence(codes)
    if pixels_cleaned:
        copy.BurnedInAnnotation = "NO"
    return copy
