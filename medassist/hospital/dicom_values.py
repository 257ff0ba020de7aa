"""Values from a received object made valid before MedAssist copies them into its own objects.

Real files carry values their senders never checked (Patient's Age "58", a 70-character
Study Description in an LO, "m" for sex, a Specific Character Set whose first value is empty).
The SR, the AI maps and the FHIR report copy the patient and study attributes, so every copied
value is checked against its VR (pydicom's validators, DICOM PS3.5 section 6.2) and repaired when
the meaning is certain (an age without its unit is in years, PS3.5 table 6.2-1 "AS"; a value over
its VR's length is cut to it) or emptied when it is not (an empty value is allowed for type 2 and 3
attributes, and type 1 values are UIDs, checked on receipt). Nothing is guessed.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from pathlib import Path

from pydicom import charset as dicom_charset
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.valuerep import MAX_VALUE_LEN, VALIDATORS

from medassist.errors import InputError
from medassist.imaging import dicom

UTF8 = "ISO_IR 192"
DEFAULT_WITH_EXTENSIONS = "ISO 2022 IR 6"
# Specific Character Set values pydicom can encode and highdicom accepts (highdicom has no Korean
# code-extension value: such studies are written in UTF-8, which holds every name)
_WRITABLE = {
    "ISO_IR 100", "ISO_IR 101", "ISO_IR 109", "ISO_IR 110", "ISO_IR 144", "ISO_IR 127", "ISO_IR 126",
    "ISO_IR 138", "ISO_IR 148", "ISO_IR 13", "ISO_IR 166", "ISO 2022 IR 6", "ISO 2022 IR 100",
    "ISO 2022 IR 101", "ISO 2022 IR 109", "ISO 2022 IR 110", "ISO 2022 IR 144", "ISO 2022 IR 127",
    "ISO 2022 IR 126", "ISO 2022 IR 138", "ISO 2022 IR 148", "ISO 2022 IR 13", "ISO 2022 IR 166",
    "ISO 2022 IR 87", "ISO 2022 IR 159", "ISO 2022 IR 58", UTF8, "GB18030", "GBK",
}
_TEXT_VRS = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UR", "UT"}
_AGE = re.compile(r"^\s*0*(\d{1,3})\s*([DWMY]?)\s*$", re.IGNORECASE)
_ENUMERATED = {"PatientSex": {"M", "F", "O"}}  # PS3.3 C.7.1.1
PN_GROUP_LIMIT = 64  # PS3.5 table 6.2-1: 64 characters per component group


def character_set(dataset: Dataset) -> list[str]:
    """The object's Specific Character Set as DICOM means it: an empty first value of a multi-valued
    set is the default repertoire with code extensions (PS3.3 C.12.1.1.2), an absent one the default."""
    raw = dataset.get("SpecificCharacterSet")
    if raw is None:
        return []
    values = [str(v).strip() for v in (raw if isinstance(raw, MultiValue) else [raw])]
    if len(values) > 1 and not values[0]:
        values[0] = DEFAULT_WITH_EXTENSIONS
    return [v for v in values if v and v != "ISO_IR 6"]  # "ISO_IR 6" is not a DICOM term: the default


def writable_character_set(values: list[str]) -> list[str] | str | None:
    """The source's character set when MedAssist can write it unchanged, else UTF-8; None: default."""
    if not values:
        return None
    if any(v not in _WRITABLE for v in values):
        return UTF8
    return values[0] if len(values) == 1 else values


def age_string(value: object) -> str:
    """Patient's Age in the AS form ``nnnU`` ("58" -> "058Y", "5m" -> "005M"); "" when it is not an age."""
    match = _AGE.match(str(value or ""))
    if not match:
        return ""
    return f"{int(match[1]):03d}{(match[2] or 'Y').upper()}"


def _valid(vr: str, value: object) -> bool:
    if vr == "PN" and any(len(group) > PN_GROUP_LIMIT for group in str(value).split("=")):
        return False  # pydicom checks the components of a name, not the length of each group
    validator = VALIDATORS.get(vr)
    return validator is None or bool(validator(vr, value)[0])


def _repaired(keyword: str, vr: str, value: str) -> str:
    """One value made valid for its VR, or "" when no repair keeps its meaning."""
    if vr == "AS":
        value = age_string(value)
    elif vr == "CS":
        value = value.strip().upper()
    elif vr == "DA":
        value = value.strip().replace(".", "")  # the ACR-NEMA form YYYY.MM.DD
    elif vr == "TM":
        value = value.strip().replace(":", "")  # the ACR-NEMA form HH:MM:SS
    elif vr == "PN":
        value = "=".join(group[:PN_GROUP_LIMIT] for group in value.split("=")).rstrip("=")
    elif vr in MAX_VALUE_LEN and vr not in ("DS", "IS", "UI"):
        value = value.strip()[: MAX_VALUE_LEN[vr]]
    allowed = _ENUMERATED.get(keyword)
    if allowed is not None and value not in allowed:
        return ""
    return value if _valid(vr, value) else ""


def sanitise(dataset: Dataset) -> list[str]:
    """Make every text value of ``dataset`` (nested sequences included) valid for its VR, in place;
    returns what was changed ("Patient's Age '58' -> '058Y'"), for the audit line."""
    changes: list[str] = []
    for element in list(dataset):
        if element.tag.is_private:
            continue
        if element.VR == "SQ":
            for item in element.value or []:
                changes += sanitise(item)
            continue
        if element.VR not in _TEXT_VRS or element.value in (None, ""):
            continue
        values = list(element.value) if isinstance(element.value, MultiValue) else [element.value]
        keyword = element.keyword
        fixed = [v if _valid(element.VR, v) and v in _ENUMERATED.get(keyword, {v}) else _repaired(keyword, element.VR, str(v))
                 for v in values]
        if [str(v) for v in fixed] != [str(v) for v in values]:
            shown = "\\".join(str(v) for v in fixed)
            changes.append(f"{element.name} {str(element.value)!r} -> {shown!r}")
            element.value = fixed if len(fixed) > 1 else fixed[0]
    return changes


def read_header(path: Path) -> Dataset:
    """The object's attributes without its pixels, decoded, with a Specific Character Set that DICOM
    writers accept (an empty first value spelled out); raises :class:`InputError` for a non-DICOM file."""
    if not dicom.has_dicm_preamble(path):
        raise InputError("not a DICOM object: SR and FHIR results are made for DICOM studies only", path)
    dataset = dicom.read_header(path)  # bounded like every image read
    values = character_set(dataset)
    for element in dataset.iterall():  # decode every text value with the source's own character set
        _ = element.value
    if values:
        dataset.SpecificCharacterSet = values if len(values) > 1 else values[0]
    elif "SpecificCharacterSet" in dataset:
        del dataset.SpecificCharacterSet
    return dataset


def _texts(dataset: Dataset) -> Iterable[tuple[str, str]]:
    for element in dataset.iterall():
        if element.VR in _TEXT_VRS and element.VR != "UR" and element.value not in (None, ""):
            values = element.value if isinstance(element.value, (MultiValue, list)) else [element.value]
            for value in values:
                yield element.VR, str(value)


def fits_character_set(dataset: Dataset) -> bool:
    """True when every text value of ``dataset`` survives encoding with its Specific Character Set."""
    values = character_set(dataset)
    encodings = dicom_charset.convert_encodings(values or ["ISO_IR 6"])
    for _vr, text in _texts(dataset):
        if text.isascii():
            continue
        with warnings.catch_warnings():  # pydicom warns, then replaces what it cannot encode
            warnings.simplefilter("ignore")
            try:
                decoded = dicom_charset.decode_bytes(dicom_charset.encode_string(text, encodings), encodings, set())
            except (UnicodeError, LookupError, ValueError):
                return False
        if decoded != text:
            return False
    return True


def encode_fully(dataset: Dataset) -> None:
    """Switch ``dataset`` to UTF-8 when some text would not survive its present character set."""
    if not fits_character_set(dataset):
        dataset.SpecificCharacterSet = UTF8
