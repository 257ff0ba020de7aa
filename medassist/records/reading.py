"""Reading helpers every records reader shares: text with an encoding fallback, CSV rows that
remember their line, value parsing that reports each unusable value, and the cross-table
checks (duplicate IDs, unknown patients, mixed units) done once for every format.

Readers never guess silently: whatever they cannot use becomes an :class:`ImportProblem`
naming the file, the row or line, and the reason. Files are only ever read.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from medassist.bounded import RECORDS_FILE
from medassist.errors import InputError
from medassist.records.codes import CODE_TO_MEASURE
from medassist.records.schema import EARLIEST_DATE, LATEST_DATE, SCHEMA, TABLES, ImportReport, PatientRecords
from medassist.records.units import UnitError, convert, normalize_unit

MAX_COLUMNS = 10_000  # wide lab panels have hundreds; more is a damaged or non-record file
_ROWS_PER_CHECK = 1024  # rows between checks of the time budget
_SNIFF_BYTES = 8192  # a NUL byte here (outside UTF-16) means a binary file
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
FILE_COLUMN = "origin_file"  # reader bookkeeping columns, dropped by :func:`finish`
WHERE_COLUMN = "origin_where"

_SEX_WORDS = {
    "m": "male", "male": "male", "man": "male", "masculine": "male",
    "f": "female", "female": "female", "woman": "female", "w": "female", "feminine": "female",
    "o": "other", "other": "other", "x": "other", "diverse": "other", "d": "other",
    "u": "unknown", "unknown": "unknown", "unk": "unknown", "not known": "unknown", "": "unknown",
}
_LOOSE_DATE = re.compile(r"^\s*(\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|.*\b[A-Za-z]{3,9}\b.*\d{4}.*)")


def read_text(path: Path, report: ImportReport) -> str:
    """The file's text: UTF-8 (with or without BOM) or UTF-16 with a BOM; otherwise cp1252 or
    latin-1, reported, because a guessed encoding can change names and units. A file above the
    records size limit is refused before it is read (:data:`medassist.bounded.RECORDS_FILE`)."""
    with RECORDS_FILE.open(path) as handle:
        data = handle.read(_SNIFF_BYTES)
        if data[:2] not in _UTF16_BOMS and b"\x00" in data:
            raise InputError("binary file, not patient records", path)  # refused before the rest is read
        handle.seek(0)
        data = handle.read(RECORDS_FILE.max_bytes + 1)
    if len(data) > RECORDS_FILE.max_bytes:  # a file that grew while read, or a device with no size
        raise RECORDS_FILE.too_large(path)
    if not data.strip():
        raise InputError("the file is empty", path)
    if data[:2] in _UTF16_BOMS:
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:  # odd byte count or a broken surrogate pair
            report.add(path.name, f"byte {exc.start}", f"UTF-16 text is damaged ({exc.reason}); unreadable bytes replaced")
            return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        for encoding in ("cp1252", "latin-1"):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            report.add(path.name, f"line {line}", f"file is not UTF-8 (first bad byte on this line); read as {encoding}")
            return text
    raise InputError("cannot decode the file's text", path)  # latin-1 decodes any bytes; kept for type checkers


class _Lines:
    """Feeds physical lines to csv.reader and knows where each record started."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.pos = 0

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1]


@dataclass
class RawTable:
    """A delimited text file as strings: the rows that parsed and the line each started on."""

    frame: pd.DataFrame
    lines: np.ndarray

    @property
    def where(self) -> pd.Series:
        return pd.Series(np.char.add("line ", self.lines.astype(str)).astype(object), index=self.frame.index)


def read_csv_rows(path: Path, report: ImportReport, delimiter: str = ",") -> RawTable:
    """Every well-formed row of a CSV, as strings; each malformed row is reported and skipped.

    A row with an unbalanced quote would swallow the rest of the file in a plain CSV parser;
    here it is reported and reading resumes on the next line (each such restart re-reads up to the
    csv module's field limit, so crafted rows could make reading slow: it stops at the time budget).
    """
    deadline = RECORDS_FILE.deadline(path)
    text = read_text(path, report)
    lines = list(io.StringIO(text, newline=""))
    if not lines:  # e.g. nothing but a byte-order mark
        raise InputError("the file has no text", path)
    try:
        header = next(csv.reader([lines[0]], delimiter=delimiter), [])
    except csv.Error as exc:  # e.g. a field over the csv module's size limit
        raise InputError(f"the first line is not a readable CSV header ({exc})", path) from None
    columns = [name.strip() for name in header]
    if not any(columns):
        raise InputError("the first line has no column names", path)
    if len(columns) > MAX_COLUMNS:
        raise InputError(f"the first line has {len(columns):,} columns, more than the {MAX_COLUMNS:,} a records table may have", path)
    width = len(columns)
    feeder = _Lines(lines)
    feeder.pos = 1
    rows: list[list[str]] = []
    starts: list[int] = []
    reader = csv.reader(feeder, delimiter=delimiter)
    for step in itertools.count():
        if step % _ROWS_PER_CHECK == 0:
            deadline.check()
        start = feeder.pos
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            report.add(path.name, f"line {start + 1}", f"malformed row ({exc}); row skipped")
            feeder.pos = start + 1
            reader = csv.reader(feeder, delimiter=delimiter)
            continue
        if not record or (len(record) == 1 and not record[0].strip()):
            continue
        if len(record) == width:
            rows.append(record)
            starts.append(start + 1)
            continue
        spanned = feeder.pos - start
        if spanned > 1:
            report.add(path.name, f"line {start + 1}", "malformed row (unbalanced quote); row skipped")
            feeder.pos = start + 1
            reader = csv.reader(feeder, delimiter=delimiter)
        else:
            report.add(path.name, f"line {start + 1}", f"malformed row: expected {width} fields, found {len(record)}; row skipped")
    frame = pd.DataFrame(rows or None, columns=columns, dtype="str")
    return RawTable(frame=first_of_each_column(frame, path.name, report), lines=np.asarray(starts, dtype=np.int64))


def first_of_each_column(frame: pd.DataFrame, file: str, report: ImportReport) -> pd.DataFrame:
    """Keep the first of columns that share a name (a damaged header); the later ones are reported and dropped,
    since every reader picks columns by name and a repeated name would give it two columns instead of one."""
    repeated = frame.columns.duplicated()
    if not repeated.any():
        return frame
    names = sorted({str(name) for name in frame.columns[repeated] if str(name).strip()})
    if names:
        report.add(file, "header", f"column name repeated ({', '.join(names)}); only the first such column is read")
    return frame.loc[:, ~repeated]


def sniff_delimiter(path: Path) -> str:
    """The delimiter of a patient table (comma, semicolon, tab or pipe), from its header line."""
    with open(path, "rb") as handle:
        first = handle.readline(65536).decode("latin-1")
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


def as_text(values: pd.Series) -> pd.Series:
    """Strings with surrounding blanks removed; missing values become empty strings."""
    return values.fillna("").astype(str).str.strip()


def parse_dates(
    values: pd.Series, where: pd.Series, file: str, column: str, report: ImportReport
) -> pd.Series:
    """Dates as naive UTC timestamps; each value that is not a date is reported and left empty.

    ISO 8601 first (Synthea, FHIR); then day/month/year forms with separators or month names.
    Ambiguous forms like 03/04/1980 are read month first, as pandas does.
    """
    text = as_text(values)
    present = text != ""
    parsed, outside = _timestamps(text.where(present), "ISO8601")
    retry = present & parsed.isna() & ~outside & text.str.match(_LOOSE_DATE)
    if retry.any():
        loose, loose_outside = _timestamps(text[retry], "mixed")
        parsed = parsed.where(~retry, loose)
        outside = outside | loose_outside.reindex(outside.index, fill_value=False)
    bad = present & parsed.isna() & ~outside
    for index in np.flatnonzero(bad.to_numpy()):
        report.add(file, str(where.iloc[index]), f"unknown date '{text.iloc[index]}' in {column}; left empty")
    for index in np.flatnonzero(outside.to_numpy()):
        report.add(file, str(where.iloc[index]), f"date '{text.iloc[index]}' in {column} is outside 1678-2261; left empty")
    return parsed.dt.tz_localize(None).astype("datetime64[ns]")


def _timestamps(text: pd.Series, form: str) -> tuple[pd.Series, pd.Series]:
    """UTC nanosecond timestamps, and where a date parsed but lies outside what they can hold
    (before 1678 or after 2261, e.g. a damaged year '021-08-23'): those are left empty. pandas may
    parse such dates at a coarser unit, which must not reach the nanosecond column."""
    parsed = pd.to_datetime(text, errors="coerce", utc=True, format=form)
    outside = parsed.notna() & ~parsed.between(EARLIEST_DATE, LATEST_DATE)
    return parsed.mask(outside).astype("datetime64[ns, UTC]"), outside


def parse_numbers(
    values: pd.Series, where: pd.Series, file: str, column: str, report: ImportReport, must: pd.Series | None = None
) -> pd.Series:
    """Numbers; a non-empty value that is not a number is reported (only where ``must`` is true)."""
    text = as_text(values)
    numbers = pd.to_numeric(text.str.replace(",", ".", regex=False).where(text != ""), errors="coerce")
    bad = (text != "") & numbers.isna()
    if must is not None:
        bad &= must
    for index in np.flatnonzero(bad.to_numpy()):
        report.add(file, str(where.iloc[index]), f"'{text.iloc[index]}' in {column} is not a number; kept as text")
    return numbers.astype("float64")


def normalize_sex(values: pd.Series, where: pd.Series, file: str, report: ImportReport) -> pd.Series:
    """female | male | other | unknown; an unrecognized value is reported and kept as unknown."""
    text = as_text(values).str.lower()
    mapped = text.map(_SEX_WORDS)
    for index in np.flatnonzero(mapped.isna().to_numpy()):
        report.add(file, str(where.iloc[index]), f"unknown sex '{text.iloc[index]}'; recorded as unknown")
    return mapped.fillna("unknown")


def missing_columns(frame: pd.DataFrame, required: tuple[str, ...], file: str, report: ImportReport) -> bool:
    """Report (as an error: the file is skipped) required columns the file lacks."""
    absent = [name for name in required if name not in frame.columns]
    if absent:
        report.add(file, "", f"missing required column(s) {', '.join(absent)}; file skipped", "error")
    return bool(absent)


def drop_rows_without(frame: pd.DataFrame, column: str, label: str, file: str, report: ImportReport) -> pd.DataFrame:
    """Rows with an empty ``column`` cannot be attached to anything: report and drop them."""
    empty = as_text(frame[column]) == ""
    for where in frame.loc[empty, WHERE_COLUMN]:
        report.add(file, str(where), f"no {label}; row skipped")
    return frame.loc[~empty]


def finish(tables: dict[str, pd.DataFrame], report: ImportReport) -> PatientRecords:
    """Cross-table checks every format needs, then the typed :class:`PatientRecords`.

    Duplicate patient and encounter IDs keep the first row; patients referenced by other
    tables but absent from the patient table are added with their ID only (and reported), so
    no row is unreachable; observation rows whose unit differs from the rest of their code are
    reported (kept, converted when plotted where a conversion is known).
    """
    tables = {name: frame for name, frame in tables.items() if frame is not None}
    if "patients" in tables:
        tables["patients"] = _drop_duplicates(tables["patients"], "patient_id", "patient ID", report)
    if "encounters" in tables:
        tables["encounters"] = _drop_duplicates(tables["encounters"], "encounter_id", "encounter ID", report)
    _add_referenced_patients(tables, report)
    if "observations" in tables:
        _report_mixed_units(tables["observations"], report)
    clean = {name: _blank_to_missing(name, frame.drop(columns=[c for c in (FILE_COLUMN, WHERE_COLUMN) if c in frame]))
             for name, frame in tables.items()}
    return PatientRecords.from_frames(report=report, **{name: clean[name] for name in TABLES if name in clean})


def _blank_to_missing(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Empty strings from the file become missing values, as the schema's empty tables have."""
    frame = frame.copy()
    for column, dtype in SCHEMA[table].items():
        if dtype == "string" and column in frame:
            frame[column] = frame[column].astype("string").replace("", pd.NA)
    return frame


def _drop_duplicates(frame: pd.DataFrame, column: str, label: str, report: ImportReport) -> pd.DataFrame:
    duplicated = frame.duplicated(column, keep="first").to_numpy()
    if not duplicated.any():
        return frame
    first_where = frame.loc[~duplicated].set_index(column)[[FILE_COLUMN, WHERE_COLUMN]]
    for row in frame.loc[duplicated].itertuples(index=False):
        key = getattr(row, column)
        first = first_where.loc[key]
        report.add(getattr(row, FILE_COLUMN), getattr(row, WHERE_COLUMN),
                   f"duplicate {label} {key} (first at {first[FILE_COLUMN]} {first[WHERE_COLUMN]}); row skipped")
    return frame.loc[~duplicated]


def _add_referenced_patients(tables: dict[str, pd.DataFrame], report: ImportReport) -> None:
    patients = tables.get("patients")
    known = set(patients["patient_id"]) if patients is not None else set()
    stubs: dict[str, tuple[str, str]] = {}
    for name in TABLES:
        if name == "patients" or name not in tables:
            continue
        frame = tables[name]
        unknown = ~frame["patient_id"].isin(known) & ~frame["patient_id"].isin(stubs.keys())
        if not unknown.any():
            continue
        firsts = frame.loc[unknown].drop_duplicates("patient_id")
        for row in firsts.itertuples(index=False):
            stubs[row.patient_id] = (getattr(row, FILE_COLUMN), getattr(row, WHERE_COLUMN))
    if not stubs:
        return
    for pid, (file, where) in stubs.items():
        reason = ("patient ID not in the patient table; patient added with its ID only" if patients is not None
                  else "no patient table; patient added with its ID only")
        report.add(file, where, f"{reason} ({pid})")
    added = pd.DataFrame({
        "patient_id": list(stubs), "sex": "unknown", "source": [f[0] for f in stubs.values()],
        FILE_COLUMN: [f[0] for f in stubs.values()], WHERE_COLUMN: [f[1] for f in stubs.values()],
    })
    tables["patients"] = added if patients is None else pd.concat([patients, added], ignore_index=True)


def _report_mixed_units(frame: pd.DataFrame, report: ImportReport) -> None:
    numeric = frame[frame["value"].notna()] if "value" in frame else frame.iloc[0:0]
    if numeric.empty:
        return
    units = numeric["unit"].fillna("").map(normalize_unit)
    per_code = units.groupby(numeric["code"]).nunique()
    for code in per_code[per_code > 1].index:
        rows = numeric[numeric["code"] == code]
        code_units = units[rows.index]
        usual = code_units.value_counts().index[0]
        measure = CODE_TO_MEASURE.get(str(code))
        for index in code_units.index[code_units != usual]:
            row = rows.loc[index]
            unit = row["unit"] if isinstance(row["unit"], str) else ""
            system = row["system"] if isinstance(row["system"], str) else ""
            what = f"{system} {code} ({row['description']})".strip()
            if measure is not None:
                try:
                    convert(1.0, unit, measure.unit, measure.name)
                    tail = f"converted to {measure.unit} when shown"
                except UnitError:
                    tail = f"cannot be converted to {measure.unit}; not plotted"
            else:
                tail = "values in this unit are not plotted with the others"
            report.add(row[FILE_COLUMN], row[WHERE_COLUMN],
                       f"mixed units: {what} in '{unit}' while other rows use '{usual}'; {tail}")
