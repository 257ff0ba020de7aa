"""Synthea CSV exports: a folder with any subset of patients, conditions, medications,
allergies, observations and encounters ``.csv``.

Synthea versions differ slightly in their columns (some add FIPS or INCOME, older ones lack
the allergy SYSTEM column), so columns are looked up by name and only the ones a table cannot
do without are required. Codes: SNOMED-CT (conditions, encounters, most allergies), RxNorm
(medications), LOINC (observations). Synthea CSV exports carry no clinical notes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from medassist.errors import InputError
from medassist.records.reading import (
    FILE_COLUMN,
    WHERE_COLUMN,
    RawTable,
    as_text,
    drop_rows_without,
    finish,
    missing_columns,
    normalize_sex,
    parse_dates,
    parse_numbers,
    read_csv_rows,
)
from medassist.records.schema import ImportReport, PatientRecords

FILES: dict[str, str] = {
    "patients": "patients.csv",
    "conditions": "conditions.csv",
    "medications": "medications.csv",
    "allergies": "allergies.csv",
    "observations": "observations.csv",
    "encounters": "encounters.csv",
}

REQUIRED: dict[str, tuple[str, ...]] = {
    "patients": ("Id",),
    "conditions": ("PATIENT", "CODE"),
    "medications": ("PATIENT", "CODE"),
    "allergies": ("PATIENT", "CODE"),
    "observations": ("PATIENT", "CODE"),
    "encounters": ("Id", "PATIENT"),
}

_SEVERITY_ORDER = {"MILD": 1, "MODERATE": 2, "SEVERE": 3}


def synthea_files(folder: Path) -> dict[str, Path]:
    """The Synthea tables present in ``folder`` (file names compared case-insensitively)."""
    present = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    return {table: present[name] for table, name in FILES.items() if name in present}


def is_synthea_table(path: Path) -> bool:
    """Whether a single CSV is one of Synthea's tables (its name and its key columns say so)."""
    table = next((t for t, name in FILES.items() if name == path.name.lower()), None)
    if table is None:
        return False
    with open(path, "rb") as handle:
        header = handle.readline(65536).decode("latin-1").strip().lstrip("\ufeff").split(",")
    return all(column in header for column in REQUIRED[table])


def read_synthea(paths: dict[str, Path], report: ImportReport | None = None) -> PatientRecords:
    """Read the given Synthea tables (``{"patients": Path, ...}``) into :class:`PatientRecords`."""
    report = report if report is not None else ImportReport()
    tables: dict[str, pd.DataFrame] = {}
    unreadable: list[InputError] = []
    for table, path in paths.items():
        report.files.append(str(path))
        try:
            raw = read_csv_rows(path, report)
        except InputError as exc:
            unreadable.append(exc)
            report.add(path.name, "", f"{exc.reason}; file skipped", "error")
            continue
        if missing_columns(raw.frame, REQUIRED[table], path.name, report):
            continue
        tables[table] = _BUILDERS[table](raw, path.name, report)
    if unreadable and len(unreadable) == len(paths):
        raise unreadable[0]
    return finish(tables, report)


def _column(raw: RawTable, name: str) -> pd.Series:
    if name in raw.frame:
        return as_text(raw.frame[name])
    return pd.Series("", index=raw.frame.index, dtype=object)


def _start(raw: RawTable, file: str, **columns: pd.Series | str) -> pd.DataFrame:
    frame = pd.DataFrame(columns, index=raw.frame.index)
    frame[FILE_COLUMN] = file
    frame[WHERE_COLUMN] = raw.where
    frame["source"] = file
    return frame


def _dates(raw: RawTable, name: str, file: str, report: ImportReport) -> pd.Series:
    return parse_dates(_column(raw, name), raw.where, file, name, report)


def _patients(raw: RawTable, file: str, report: ImportReport) -> pd.DataFrame:
    frame = _start(
        raw, file,
        patient_id=_column(raw, "Id"),
        given_name=_column(raw, "FIRST"),
        family_name=_column(raw, "LAST"),
        birth_date=_dates(raw, "BIRTHDATE", file, report),
        death_date=_dates(raw, "DEATHDATE", file, report),
        sex=normalize_sex(_column(raw, "GENDER"), raw.where, file, report),
        race=_column(raw, "RACE"),
        ethnicity=_column(raw, "ETHNICITY"),
        city=_column(raw, "CITY"),
        state=_column(raw, "STATE"),
        country=_column(raw, "COUNTRY"),
    )
    return drop_rows_without(frame, "patient_id", "patient ID", file, report)


def _conditions(raw: RawTable, file: str, report: ImportReport) -> pd.DataFrame:
    frame = _start(
        raw, file,
        patient_id=_column(raw, "PATIENT"),
        code=_column(raw, "CODE"),
        system=_column(raw, "SYSTEM").where(_column(raw, "SYSTEM") != "", "SNOMED-CT"),
        description=_column(raw, "DESCRIPTION"),
        onset=_dates(raw, "START", file, report),
        abatement=_dates(raw, "STOP", file, report),
        encounter_id=_column(raw, "ENCOUNTER"),
    )
    return drop_rows_without(frame, "patient_id", "patient ID", file, report)


def _medications(raw: RawTable, file: str, report: ImportReport) -> pd.DataFrame:
    frame = _start(
        raw, file,
        patient_id=_column(raw, "PATIENT"),
        code=_column(raw, "CODE"),
        system="RxNorm",
        description=_column(raw, "DESCRIPTION"),
        start=_dates(raw, "START", file, report),
        stop=_dates(raw, "STOP", file, report),
        reason_code=_column(raw, "REASONCODE"),
        reason_description=_column(raw, "REASONDESCRIPTION"),
        encounter_id=_column(raw, "ENCOUNTER"),
    )
    return drop_rows_without(frame, "patient_id", "patient ID", file, report)


def _allergies(raw: RawTable, file: str, report: ImportReport) -> pd.DataFrame:
    reaction = (_column(raw, "DESCRIPTION1") + "; " + _column(raw, "DESCRIPTION2")).str.strip("; ")
    severity_rank = pd.concat(
        [_column(raw, "SEVERITY1").str.upper().map(_SEVERITY_ORDER), _column(raw, "SEVERITY2").str.upper().map(_SEVERITY_ORDER)],
        axis=1,
    ).max(axis=1)
    names = {rank: name.lower() for name, rank in _SEVERITY_ORDER.items()}
    system = _column(raw, "SYSTEM")
    frame = _start(
        raw, file,
        patient_id=_column(raw, "PATIENT"),
        code=_column(raw, "CODE"),
        system=system.where(system != "", "SNOMED-CT"),
        description=_column(raw, "DESCRIPTION"),
        category=_column(raw, "CATEGORY"),
        reaction=reaction,
        severity=severity_rank.map(names).fillna(""),
        start=_dates(raw, "START", file, report),
        stop=_dates(raw, "STOP", file, report),
    )
    return drop_rows_without(frame, "patient_id", "patient ID", file, report)


def _observations(raw: RawTable, file: str, report: ImportReport) -> pd.DataFrame:
    kind = _column(raw, "TYPE").str.lower()
    text = _column(raw, "VALUE")
    numeric_expected = kind == "numeric" if "TYPE" in raw.frame else pd.Series(False, index=raw.frame.index)
    value = parse_numbers(text, raw.where, file, "VALUE", report, must=numeric_expected)
    frame = _start(
        raw, file,
        patient_id=_column(raw, "PATIENT"),
        date=_dates(raw, "DATE", file, report),
        code=_column(raw, "CODE"),
        system="LOINC",
        description=_column(raw, "DESCRIPTION"),
        value=value,
        value_text=text.where(value.isna(), ""),
        unit=_column(raw, "UNITS"),
        category=_column(raw, "CATEGORY"),
        encounter_id=_column(raw, "ENCOUNTER"),
    )
    return drop_rows_without(frame, "patient_id", "patient ID", file, report)


def _encounters(raw: RawTable, file: str, report: ImportReport) -> pd.DataFrame:
    frame = _start(
        raw, file,
        encounter_id=_column(raw, "Id"),
        patient_id=_column(raw, "PATIENT"),
        start=_dates(raw, "START", file, report),
        stop=_dates(raw, "STOP", file, report),
        encounter_class=_column(raw, "ENCOUNTERCLASS"),
        code=_column(raw, "CODE"),
        description=_column(raw, "DESCRIPTION"),
        reason_code=_column(raw, "REASONCODE"),
        reason_description=_column(raw, "REASONDESCRIPTION"),
    )
    frame = drop_rows_without(frame, "patient_id", "patient ID", file, report)
    return drop_rows_without(frame, "encounter_id", "encounter ID", file, report)


_BUILDERS: dict[str, Callable[[RawTable, str, ImportReport], pd.DataFrame]] = {
    "patients": _patients,
    "conditions": _conditions,
    "medications": _medications,
    "allergies": _allergies,
    "observations": _observations,
    "encounters": _encounters,
}
