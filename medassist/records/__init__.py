"""Patient records: readers for EHR exports into one normalized, typed model."""

from medassist.records.schema import ImportProblem, ImportReport, PatientRecords

__all__ = ["ImportProblem", "ImportReport", "PatientRecords"]
