"""A plain table of patients (CSV, XLSX or Parquet) read through a column mapping.

Which column is the ID, the name, the birth date, the sex... is guessed from the header
(``guess_mapping``) or given explicitly. The mapping a user confirms is remembered per file
layout, keyed by the sorted header (:func:`layout_key`), in the user's settings
(``Settings.column_mappings``), so the next export from the same system opens without asking
again; the readers here are given those remembered mappings and never read the settings themselves.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from medassist.bounded import RECORDS_FILE, TimedReader, size_text
from medassist.errors import InputError
from medassist.records.reading import (
    FILE_COLUMN,
    WHERE_COLUMN,
    as_text,
    drop_rows_without,
    finish,
    first_of_each_column,
    normalize_sex,
    parse_dates,
    parse_numbers,
    read_csv_rows,
    sniff_delimiter,
)
from medassist.records.schema import ImportReport, PatientRecords

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet")

# field -> (label shown in the mapping dialog, header words that usually mean it)
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "patient_id": ("Patient ID", ("patientid", "id", "mrn", "medicalrecordnumber", "patientnumber", "pid",
                                  "subjectid", "patient", "recordid", "nhsnumber", "identifier")),
    "full_name": ("Full name", ("name", "fullname", "patientname", "patient_name")),
    "given_name": ("Given name", ("givenname", "firstname", "first", "given", "forename", "vorname")),
    "family_name": ("Family name", ("familyname", "lastname", "last", "surname", "family", "nachname")),
    "birth_date": ("Birth date", ("birthdate", "dob", "dateofbirth", "birthday", "bdate", "born", "geburtsdatum")),
    "death_date": ("Death date", ("deathdate", "dod", "dateofdeath", "deceaseddate")),
    "sex": ("Sex", ("sex", "gender", "geschlecht")),
    "race": ("Race", ("race",)),
    "ethnicity": ("Ethnicity", ("ethnicity",)),
    "city": ("City", ("city", "town")),
    "state": ("State / region", ("state", "region", "province", "county")),
    "country": ("Country", ("country",)),
    "weight_kg": ("Weight (kg)", ("weightkg", "weight", "bodyweight")),
}
REQUIRED_FIELDS = ("patient_id",)
RememberedMappings = Mapping[str, Mapping[str, str]]  # layout_key -> field -> column (Settings.column_mappings)


def is_table_file(path: Path) -> bool:
    return path.suffix.lower() in TABLE_SUFFIXES


def _word(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def guess_mapping(columns: list[str]) -> dict[str, str]:
    """Field -> column for the columns whose header names a field; each column used once."""
    words = {column: _word(column) for column in columns}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for field_name, (_label, synonyms) in FIELDS.items():
        for synonym in synonyms:
            match = next((c for c in columns if c not in used and words[c] == _word(synonym)), None)
            if match is not None:
                mapping[field_name] = match
                used.add(match)
                break
    if "full_name" in mapping and ("given_name" in mapping or "family_name" in mapping):
        del mapping["full_name"]
    return mapping


def layout_key(columns: list[str]) -> str:
    """The file layout a mapping is remembered for: its column names, sorted."""
    return "|".join(sorted(str(c).strip() for c in columns))


def remembered_mapping(columns: list[str], remembered: RememberedMappings) -> dict[str, str] | None:
    """The mapping last confirmed for this layout, if it still fits the columns."""
    mapping = remembered.get(layout_key(columns))
    if not isinstance(mapping, Mapping) or not set(mapping.values()) <= set(columns):
        return None
    return {str(k): str(v) for k, v in mapping.items() if k in FIELDS}


def check_mapping(mapping: dict[str, str], columns: list[str], source: Path) -> None:
    """Raise :class:`InputError` when the mapping cannot be used with these columns."""
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        raise InputError(f"unknown mapping field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}", source)
    absent = {f: c for f, c in mapping.items() if c not in columns}
    if absent:
        field_name, column = next(iter(absent.items()))
        raise InputError(f"column '{column}' (mapped to {FIELDS[field_name][0]}) is not in the file", source)
    if "patient_id" not in mapping:
        shown = ", ".join(columns[:12]) + (" ..." if len(columns) > 12 else "")
        raise InputError(f"no patient ID column found among: {shown}; choose the columns to use", source)


def read_table_frame(path: Path, report: ImportReport, rows: int | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """The table as strings, and where each row is (``line N`` for text, ``row N`` for sheets).

    Bounded like every records file (:data:`medassist.bounded.RECORDS_FILE`): the file's size, what a
    workbook or Parquet file unpacks to, and the time spent reading (every read of the file checks it)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        with RECORDS_FILE.open(path) as handle:
            try:
                _check_unpacked_size(path, _workbook_unpacked_size(handle))
                handle.seek(0)
                frame = pd.read_excel(handle, dtype=object, nrows=rows, engine="openpyxl")
            except InputError:
                raise
            except Exception as exc:  # openpyxl raises many types for a damaged workbook
                raise InputError(f"not a readable Excel workbook ({type(exc).__name__}: {exc})", path) from None
        where = pd.Series([f"row {i + 2}" for i in range(len(frame))], index=frame.index, dtype=object)
    elif suffix == ".parquet":
        with RECORDS_FILE.open(path) as handle:
            try:
                _check_unpacked_size(path, _parquet_unpacked_size(handle))
                handle.seek(0)
                frame = pd.read_parquet(handle)
            except InputError:
                raise
            except Exception as exc:  # pyarrow raises several error types for a damaged file
                raise InputError(f"not a readable Parquet file ({type(exc).__name__}: {exc})", path) from None
            if rows is not None:
                frame = frame.head(rows)
            frame = _parquet_text(frame, path, handle, report)
        where = pd.Series(np.char.add("row ", np.arange(1, len(frame) + 1).astype(str)).astype(object), index=frame.index)
    else:
        raw = read_csv_rows(path, report, delimiter=sniff_delimiter(path))
        frame, where = raw.frame, raw.where
        if rows is not None:
            frame, where = frame.head(rows), where.head(rows)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = first_of_each_column(frame, path.name, report).reset_index(drop=True)
    where = where.reset_index(drop=True)
    if frame.columns.empty:
        raise InputError("the table has no columns", path)
    return frame, where


def _check_unpacked_size(path: Path, unpacked: int) -> None:
    """A compressed table (a workbook is a zip, Parquet pages are compressed) is refused when what it
    unpacks to is above the records limit: a few megabytes can unpack to gigabytes."""
    if unpacked > RECORDS_FILE.max_bytes:
        raise InputError(f"the table unpacks to {size_text(unpacked)}, above the {size_text(RECORDS_FILE.max_bytes)} "
                         f"limit for {RECORDS_FILE.what}; not read", path)


def _workbook_unpacked_size(handle: TimedReader) -> int:
    import zipfile

    with zipfile.ZipFile(handle) as archive:
        return sum(member.file_size for member in archive.infolist())


def _parquet_unpacked_size(handle: TimedReader) -> int:
    """Its pages uncompressed, and at least two bytes a cell (as in a text table: a character and a
    comma), since dictionary encoding lets a few bytes stand for millions of cells."""
    import pyarrow.parquet as pq

    metadata = pq.ParquetFile(handle).metadata
    pages = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    return max(pages, 2 * metadata.num_rows * metadata.num_columns)


def _parquet_text(frame: pd.DataFrame, path: Path, handle: TimedReader, report: ImportReport) -> pd.DataFrame:
    """Text columns as Python strings, decoded now rather than lazily later: Arrow defers UTF-8
    checks, so a damaged column would fail far from the file. Invalid bytes are replaced and reported."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for position, name in enumerate(frame.columns):
        values = frame.iloc[:, position]
        if not pd.api.types.is_string_dtype(values.dtype):
            continue
        try:
            frame.isetitem(position, values.astype(object))
        except (pa.ArrowException, UnicodeDecodeError, ValueError):
            try:
                handle.seek(0)
                raw = pq.read_table(handle, columns=[str(name)]).column(0).cast(pa.binary()).to_pylist()[: len(frame)]
            except InputError:
                raise
            except Exception as exc:  # pyarrow raises several error types for a damaged file
                raise InputError(f"not a readable Parquet file (column {name}: {type(exc).__name__}: {exc})", path) from None
            decoded = [None if v is None else v.decode("utf-8", "replace") for v in raw]
            frame.isetitem(position, pd.Series(decoded, index=frame.index, dtype=object))
            report.add(path.name, f"column {name}", "text is not valid UTF-8; unreadable bytes replaced with \ufffd")
    return frame


def table_columns(path: Path) -> tuple[list[str], pd.DataFrame]:
    """Header and the first rows, for the mapping dialog (reads only what it shows)."""
    frame, _where = read_table_frame(path, ImportReport(), rows=20)
    return list(frame.columns), frame


def read_table(path: Path, mapping: dict[str, str] | None = None, report: ImportReport | None = None, *,
               remembered: RememberedMappings) -> PatientRecords:
    """Patients from a plain table; ``mapping`` (field -> column) defaults to the one ``remembered`` for
    this layout, else to the guessed one."""
    report = report if report is not None else ImportReport()
    report.files.append(str(path))
    frame, where = read_table_frame(path, report)
    columns = list(frame.columns)
    if mapping is None:
        mapping = remembered_mapping(columns, remembered) or guess_mapping(columns)
    check_mapping(mapping, columns, path)
    file = path.name

    def column(field_name: str) -> pd.Series:
        if field_name in mapping:
            return as_text(_cell_text(frame[mapping[field_name]]))
        return pd.Series("", index=frame.index, dtype=object)

    def dates(field_name: str) -> pd.Series:
        return parse_dates(column(field_name), where, file, mapping.get(field_name, field_name), report)

    given, family = column("given_name"), column("family_name")
    if "full_name" in mapping:
        split_given, split_family = _split_names(column("full_name"))
        given = given.where(given != "", split_given)
        family = family.where(family != "", split_family)
    patients = pd.DataFrame({
        "patient_id": column("patient_id"),
        "given_name": given,
        "family_name": family,
        "birth_date": dates("birth_date"),
        "death_date": dates("death_date"),
        "sex": normalize_sex(column("sex"), where, file, report) if "sex" in mapping else "unknown",
        "race": column("race"), "ethnicity": column("ethnicity"),
        "city": column("city"), "state": column("state"), "country": column("country"),
        "weight_kg": parse_numbers(column("weight_kg"), where, file, mapping.get("weight_kg", "weight"), report),
        "source": file, FILE_COLUMN: file, WHERE_COLUMN: where,
    })
    patients = drop_rows_without(patients, "patient_id", "patient ID", file, report)
    return finish({"patients": patients}, report)


def _cell_text(values: pd.Series) -> pd.Series:
    """Cells as text; timestamps from sheets and Parquet keep only their date when midnight."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%dT%H:%M:%S").str.replace("T00:00:00", "", regex=False)
    if values.dtype == object:
        stamps = values.map(lambda v: hasattr(v, "isoformat"))
        if stamps.any():
            values = values.where(~stamps, values[stamps].map(lambda v: v.isoformat().removesuffix("T00:00:00")))
    numbers = pd.api.types.is_float_dtype(values)
    text = values.astype(object).where(values.notna(), "")
    if numbers:
        text = text.map(lambda v: (str(int(v)) if float(v).is_integer() else str(v)) if v != "" else "")
    return text


def _split_names(names: pd.Series) -> tuple[pd.Series, pd.Series]:
    """'Family, Given' or 'Given ... Family' -> (given, family)."""
    parts = names.str.rpartition(" ")
    given, family = parts[0].str.strip(), parts[2]
    comma = names.str.contains(",", regex=False)
    if comma.any():
        reversed_parts = names[comma].str.partition(",")
        family = family.where(~comma, reversed_parts[0].str.strip())
        given = given.where(~comma, reversed_parts[2].str.strip())
    return given.fillna(""), family.fillna("")
