"""The normalized record model every reader produces (documented in docs/records.md).

Seven pandas DataFrames with fixed columns and dtypes. Codes are kept with their system
(``SNOMED-CT``, ``RxNorm``, ``LOINC``, ``ICD-10``, ...). Dates are timezone-naive pandas
timestamps (``NaT`` when unknown). Every reader also returns an :class:`ImportReport`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import pandas as pd

# table -> {column: dtype}; "datetime64[ns]" columns hold NaT when unknown.
SCHEMA: dict[str, dict[str, str]] = {
    "patients": {
        "patient_id": "string",
        "given_name": "string",
        "family_name": "string",
        "birth_date": "datetime64[ns]",
        "death_date": "datetime64[ns]",
        "sex": "string",  # female | male | other | unknown
        "race": "string",
        "ethnicity": "string",
        "city": "string",
        "state": "string",
        "country": "string",
        "weight_kg": "float64",
        "pregnant": "boolean",
        "source": "string",
    },
    "conditions": {
        "patient_id": "string",
        "code": "string",
        "system": "string",
        "description": "string",
        "onset": "datetime64[ns]",
        "abatement": "datetime64[ns]",
        "encounter_id": "string",
        "source": "string",
    },
    "medications": {
        "patient_id": "string",
        "code": "string",
        "system": "string",
        "description": "string",
        "start": "datetime64[ns]",
        "stop": "datetime64[ns]",
        "reason_code": "string",
        "reason_description": "string",
        "status": "string",
        "encounter_id": "string",
        "source": "string",
    },
    "allergies": {
        "patient_id": "string",
        "code": "string",
        "system": "string",
        "description": "string",
        "category": "string",
        "reaction": "string",
        "severity": "string",
        "start": "datetime64[ns]",
        "stop": "datetime64[ns]",
        "source": "string",
    },
    "observations": {
        "patient_id": "string",
        "date": "datetime64[ns]",
        "code": "string",
        "system": "string",
        "description": "string",
        "value": "float64",
        "value_text": "string",
        "unit": "string",
        "category": "string",
        "encounter_id": "string",
        "source": "string",
    },
    "encounters": {
        "encounter_id": "string",
        "patient_id": "string",
        "start": "datetime64[ns]",
        "stop": "datetime64[ns]",
        "encounter_class": "string",
        "code": "string",
        "description": "string",
        "reason_code": "string",
        "reason_description": "string",
        "source": "string",
    },
    "notes": {
        "note_id": "string",
        "patient_id": "string",
        "date": "datetime64[ns]",
        "title": "string",
        "text": "string",
        "source": "string",
    },
}

TABLES: tuple[str, ...] = tuple(SCHEMA)


# The span a datetime64[ns] column can hold; a date outside it (a damaged year) is left empty.
EARLIEST_DATE = pd.Timestamp("1678-01-01", tz="UTC")
LATEST_DATE = pd.Timestamp("2261-12-31", tz="UTC")


def empty_table(table: str) -> pd.DataFrame:
    return pd.DataFrame({col: pd.Series(dtype=dtype) for col, dtype in SCHEMA[table].items()})


def conform(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Give ``frame`` exactly the schema's columns and dtypes (missing columns become empty)."""
    out = pd.DataFrame(index=frame.index)
    for col, dtype in SCHEMA[table].items():
        if col in frame:
            series = frame[col]
            if dtype.startswith("datetime"):
                series = pd.to_datetime(series, errors="coerce", utc=True)
                series = series.where(series.between(EARLIEST_DATE, LATEST_DATE)).dt.tz_localize(None)
                series = series.astype("datetime64[ns]")
            elif dtype == "float64":
                series = pd.to_numeric(series, errors="coerce").astype("float64")
            else:
                series = series.astype(dtype)
            out[col] = series
        else:
            out[col] = pd.Series(index=frame.index, dtype=dtype)
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class ImportProblem:
    """One thing a reader could not use: which file, where in it, and why."""

    file: str
    location: str  # "row 12", "line 3", "entry 5 (Observation/abc)", "" for whole-file
    reason: str
    severity: str = "warning"  # warning: row skipped or value dropped; error: file unusable

    def __str__(self) -> str:
        where = f" {self.location}" if self.location else ""
        return f"{self.file}{where}: {self.reason}"


@dataclass
class ImportReport:
    """What was read and what was not; shown to the user and savable as text."""

    files: list[str] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)

    def add(self, file: str, location: str, reason: str, severity: str = "warning") -> None:
        self.problems.append(ImportProblem(str(file), location, reason, severity))

    def extend(self, other: "ImportReport") -> None:
        self.files.extend(other.files)
        self.problems.extend(other.problems)

    @property
    def errors(self) -> list[ImportProblem]:
        return [p for p in self.problems if p.severity == "error"]

    def as_text(self) -> str:
        lines = [f"Files read: {len(self.files)}"] + [f"  {f}" for f in self.files]
        lines.append(f"Problems: {len(self.problems)}")
        lines.extend(f"  [{p.severity}] {p}" for p in self.problems)
        return "\n".join(lines) + "\n"


@dataclass
class PatientRecords:
    """All loaded records: one DataFrame per table, each conforming to :data:`SCHEMA`."""

    patients: pd.DataFrame = field(default_factory=lambda: empty_table("patients"))
    conditions: pd.DataFrame = field(default_factory=lambda: empty_table("conditions"))
    medications: pd.DataFrame = field(default_factory=lambda: empty_table("medications"))
    allergies: pd.DataFrame = field(default_factory=lambda: empty_table("allergies"))
    observations: pd.DataFrame = field(default_factory=lambda: empty_table("observations"))
    encounters: pd.DataFrame = field(default_factory=lambda: empty_table("encounters"))
    notes: pd.DataFrame = field(default_factory=lambda: empty_table("notes"))
    report: ImportReport = field(default_factory=ImportReport)

    @classmethod
    def from_frames(cls, report: ImportReport | None = None, **frames: pd.DataFrame) -> "PatientRecords":
        unknown = set(frames) - set(TABLES)
        if unknown:
            raise ValueError(f"unknown tables: {sorted(unknown)}")
        tables = {name: conform(name, frames[name]) if name in frames else empty_table(name) for name in TABLES}
        return cls(**tables, report=report or ImportReport())

    def counts(self) -> dict[str, int]:
        return {name: int(len(getattr(self, name))) for name in TABLES}

    @property
    def patient_ids(self) -> list[str]:
        return [str(p) for p in self.patients["patient_id"].tolist()]

    def has_patient(self, patient_id: str) -> bool:
        return bool((self.patients["patient_id"] == patient_id).any())

    def for_patient(self, table: str, patient_id: str) -> pd.DataFrame:
        frame: pd.DataFrame = getattr(self, table)
        return frame[frame["patient_id"] == patient_id]

    def patient_row(self, patient_id: str) -> pd.Series:
        rows = self.for_patient("patients", patient_id)
        if rows.empty:
            raise KeyError(f"no patient with ID {patient_id}")
        return rows.iloc[0]

    def display_name(self, patient_id: str) -> str:
        row = self.patient_row(patient_id)
        parts = [str(row[c]) for c in ("given_name", "family_name") if pd.notna(row[c]) and str(row[c])]
        return " ".join(parts) or patient_id

    @staticmethod
    def concat(parts: Iterable["PatientRecords"]) -> "PatientRecords":
        parts = list(parts)
        report = ImportReport()
        for part in parts:
            report.extend(part.report)
        frames = {name: pd.concat([getattr(p, name) for p in parts], ignore_index=True) for name in TABLES} if parts else {}
        return PatientRecords.from_frames(report=report, **frames)
