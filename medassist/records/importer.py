"""One entry point for every records format: :func:`import_records` looks at the path and
picks the reader (Synthea CSV folder, FHIR JSON/NDJSON, plain patient table).

Problems inside a file go into the returned report; a path that holds no records at all
raises :class:`~medassist.errors.InputError` with a one-line reason. Nothing is written.
"""

from __future__ import annotations

from pathlib import Path

from medassist.errors import InputError
from medassist.records.fhir import fhir_files, is_fhir_json, read_fhir
from medassist.records.plausibility import set_aside_impossible_values
from medassist.records.schema import ImportReport, PatientRecords
from medassist.records.synthea import FILES, is_synthea_table, read_synthea, synthea_files
from medassist.records.table import RememberedMappings, is_table_file, read_table

FORMATS = {
    "synthea": "Synthea CSV export",
    "fhir": "FHIR R4 JSON / NDJSON",
    "table": "patient table (CSV, XLSX, Parquet)",
}


def detect_format(path: str | Path) -> str:
    """``synthea``, ``fhir`` or ``table``; raises :class:`InputError` for anything else."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file or folder", path)
    if path.is_dir():
        if synthea_files(path) or (path / "csv").is_dir() and synthea_files(path / "csv"):
            return "synthea"
        if fhir_files(path) or (path / "fhir").is_dir() and fhir_files(path / "fhir"):
            return "fhir"
        raise InputError(f"no Synthea CSV files ({', '.join(FILES.values())}) or FHIR JSON in this folder", path)
    suffix = path.suffix.lower()
    if suffix in (".ndjson", ".jsonl"):
        return "fhir"
    if suffix == ".json":
        if not is_fhir_json(path):
            raise InputError("JSON without a FHIR resourceType; not patient records", path)
        return "fhir"
    if suffix == ".csv" and is_synthea_table(path):
        return "synthea"
    if is_table_file(path):
        return "table"
    raise InputError(
        f"not a records file (expected a Synthea folder, FHIR .json/.ndjson, or a .csv/.xlsx/.parquet table; got '{suffix or 'no extension'}')",
        path,
    )


def import_records(path: str | Path, mapping: dict[str, str] | None = None, *,
                   remembered: RememberedMappings) -> PatientRecords:
    """Read records from ``path``; ``mapping`` (field -> column) applies to plain tables only, and
    without it a table is read with the mapping ``remembered`` for its layout (``Settings.column_mappings``)."""
    report = ImportReport()
    return set_aside_impossible_values(_read(Path(path), mapping, report, remembered), report)


def _read(path: Path, mapping: dict[str, str] | None, report: ImportReport, remembered: RememberedMappings) -> PatientRecords:
    kind = detect_format(path)
    if kind == "synthea":
        if path.is_file():
            table = next(t for t, name in FILES.items() if name == path.name.lower())
            return read_synthea({table: path}, report)
        folder = path if synthea_files(path) else path / "csv"
        return read_synthea(synthea_files(folder), report)
    if kind == "fhir":
        if path.is_file():
            return read_fhir([path], report)
        folder = path if fhir_files(path) else path / "fhir"
        return read_fhir(fhir_files(folder), report)
    return read_table(path, mapping, report, remembered=remembered)


def needs_column_mapping(path: str | Path) -> bool:
    """Whether ``path`` is a plain patient table (whose columns the user may be asked to map)."""
    try:
        return detect_format(path) == "table"
    except InputError:
        return False


def nothing_read(records: PatientRecords) -> bool:
    """True when an import produced no rows in any table."""
    return not any(records.counts().values())


__all__ = ["FORMATS", "ImportReport", "detect_format", "import_records", "needs_column_mapping", "nothing_read"]
