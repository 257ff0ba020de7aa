"""Whose film, and from when: a film's DICOM header compared with the patient's record.

:func:`film_context` is the one place this is decided; the app layer sets its result on every
image result made for a patient (``Prediction.film``) and :mod:`medassist.domain.findings` reads it.

Identity. Each item the header and the record both state is compared; an item either side lacks
is not compared (never guessed):

* name: DICOM PN ``Family^Given^Middle`` against the record's given and family names, compared as
  words with case, accents, punctuation and digits (Synthea appends digits) removed, in any order:
  a family name of the record must be in the header, and so must a given name (or its initial)
  unless the header holds the family name only;
* patient ID (case and spaces ignored), birth date, sex (M/F);
* age at the study: the header's Patient's Age against the record's age on the study date (more
  than :data:`AGE_TOLERANCE_YEARS` apart), or a study dated before the patient's birth.

Anything contradicting the record makes the film a ``MISMATCH``: its findings are withheld from
the patient until the clinician attaches it with a reason (``app.films.attach_film``). Two
identifiers (name and birth date, or name and ID) is the usual standard for patient
identification, and a hospital's PACS ID may differ from the record's: the clinician's attach
action covers that case, with an audit line, rather than a weaker rule.

Time. A study dated before the current episode's start (``clinical.picture.episode_start``: the
latest encounter) is a ``PRIOR``; its findings are shown with the date, never as current ones. A
film without a study date is ``UNDATED``.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from typing import Any

import pandas as pd

from medassist.domain.clinical import FilmContext, FilmIdentity, FilmRelation, IdentityProblem
from medassist.records.schema import PatientRecords

# Patient's Age is whole units ("064Y"): an age at the study more than this far from the record's
# cannot be rounding. Without a study date the record's age today is compared, with 2 years + 10% slack
# (the film may be years old).
AGE_TOLERANCE_YEARS = 1.0

_SEX = {"M": "male", "F": "female"}
_AGE_UNITS = {"Y": 1.0, "M": 1.0 / 12.0, "W": 7.0 / 365.25, "D": 1.0 / 365.25}


def dicom_date(value: object) -> _dt.date | None:
    """A DICOM DA value ('20040826'; the first 8 digits of a DT) as a date; None when absent or invalid."""
    text = str(value or "").strip()
    if not re.fullmatch(r"\d{8}.*", text):
        return None
    try:
        return _dt.datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        return None


def header_age_years(metadata: dict[str, Any]) -> float | None:
    """Age at the study from the header: Patient's Age ('045Y', '006M', '010W', '003D'; a bare
    number, as in NIH's DICOMs, is years), else study date minus birth date; None when neither is usable."""
    match = re.fullmatch(r"(\d{1,3})\s*([YMWD]?)", str(metadata.get("patient_age") or "").strip().upper())
    if match:
        return int(match.group(1)) * _AGE_UNITS[match.group(2) or "Y"]
    birth, study = dicom_date(metadata.get("patient_birth_date")), dicom_date(metadata.get("study_date"))
    if birth is None or study is None or study < birth:
        return None
    return (study - birth).days / 365.25


def name_words(text: object) -> list[str]:
    """A name as comparable words: accents and case removed, split at ^, spaces, commas, hyphens and
    apostrophes, digits dropped ('Specimen-Smith^Agnès' -> ['specimen', 'smith', 'agnes'])."""
    plain = unicodedata.normalize("NFKD", str(text or ""))
    plain = "".join(c for c in plain if not unicodedata.combining(c)).casefold()
    return [w for w in re.split(r"[^a-z]+", re.sub(r"\d+", "", plain)) if w]


def _names_agree(header: list[str], given: list[str], family: list[str]) -> bool | None:
    """True/False when the header's name can/cannot be the record's; None when there is nothing to compare."""
    if not header or not (given or family):
        return None
    words = set(header)
    if family and not words & set(family):
        return False
    if not given or words <= set(family):
        return True  # a header with the family name only says nothing about the given name
    initials = {w for w in words if len(w) == 1}
    return bool(words & set(given)) or any(g[0] in initials for g in given)


def _record_name(row: pd.Series) -> tuple[list[str], list[str], str]:
    given = "" if pd.isna(row["given_name"]) else str(row["given_name"])
    family = "" if pd.isna(row["family_name"]) else str(row["family_name"])
    return name_words(given), name_words(family), f"{given} {family}".strip()


def _years(age: float) -> str:
    return f"{int(age)} years" if age >= 2 else f"{int(age * 12)} months"


def identity_problems(metadata: dict[str, Any], records: PatientRecords, patient_id: str) -> tuple[list[IdentityProblem], int]:
    """Every item of the header that contradicts the record, and how many items could be compared."""
    row = records.patient_row(patient_id)
    problems: list[IdentityProblem] = []
    compared = 0

    header_name = str(metadata.get("patient_name") or "").strip()
    given, family, shown_name = _record_name(row)
    agree = _names_agree(name_words(header_name), given, family)
    if agree is not None:
        compared += 1
        if not agree:
            problems.append(IdentityProblem("name", header_name, shown_name))

    header_id = str(metadata.get("patient_id") or "").strip()
    if header_id:
        compared += 1
        if re.sub(r"\s+", "", header_id).casefold() != re.sub(r"\s+", "", patient_id).casefold():
            problems.append(IdentityProblem("patient ID", header_id, patient_id))

    birth = None if pd.isna(row["birth_date"]) else pd.Timestamp(row["birth_date"]).date()
    header_birth = dicom_date(metadata.get("patient_birth_date"))
    if header_birth is not None and birth is not None:
        compared += 1
        if header_birth != birth:
            problems.append(IdentityProblem("birth date", header_birth.isoformat(), birth.isoformat()))

    header_sex = _SEX.get(str(metadata.get("patient_sex") or "").strip().upper())
    record_sex = None if pd.isna(row["sex"]) else str(row["sex"])
    if header_sex and record_sex in ("male", "female"):
        compared += 1
        if header_sex != record_sex:
            problems.append(IdentityProblem("sex", header_sex, record_sex))

    study = dicom_date(metadata.get("study_date"))
    film_age = header_age_years(metadata)
    if birth is not None and study is not None and study < birth:
        compared += 1
        problems.append(IdentityProblem("study date", study.isoformat(), f"born {birth.isoformat()}"))
    elif birth is not None and film_age is not None and header_birth is None:
        # (with a header birth date the age follows from it and was compared above)
        compared += 1
        on = study or _dt.date.today()
        record_age = (on - birth).days / 365.25
        slack = AGE_TOLERANCE_YEARS if study is not None else 2 + 0.1 * record_age
        if abs(film_age - record_age) > slack:
            when = f" on {study.isoformat()}" if study is not None else " today"
            problems.append(IdentityProblem("age at the study", _years(film_age), _years(record_age) + when))
    return problems, compared


def film_context(metadata: dict[str, Any], records: PatientRecords, patient_id: str,
                 episode_start: _dt.date, attached_by_clinician: str = "") -> FilmContext:
    """Whose film and from when, for a film analysed as ``patient_id``'s (see the module docstring)."""
    study = dicom_date(metadata.get("study_date"))
    relation = (FilmRelation.UNDATED if study is None
                else FilmRelation.PRIOR if study < episode_start else FilmRelation.CURRENT)
    if not patient_id or not records.has_patient(patient_id):
        return FilmContext(study, relation, FilmIdentity.NOT_CHECKED, episode_start=episode_start)
    problems, compared = identity_problems(metadata, records, patient_id)
    identity = (FilmIdentity.MISMATCH if problems else FilmIdentity.MATCHES if compared else FilmIdentity.NOT_CHECKED)
    return FilmContext(study, relation, identity, tuple(problems),
                       attached_by_clinician if identity == FilmIdentity.MISMATCH else "", episode_start)
