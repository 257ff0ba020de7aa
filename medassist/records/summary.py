"""A patient at a glance, computed from :class:`PatientRecords`: age, active problems, current
medications, allergies and the latest value of a measure in MedAssist's unit.

Features for models, safety checks for treatments, the patient panel and the report all
ask these questions; they are answered here once.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from medassist.records.codes import CODE_TO_MEASURE, MEASURES
from medassist.records.schema import PatientRecords
from medassist.records.units import UnitError, convert


@dataclass(frozen=True)
class ObservedValue:
    """A measured value converted to the measure's unit, with when and what it came from."""

    measure: str
    value: float
    unit: str
    date: pd.Timestamp | None
    code: str
    original_value: float
    original_unit: str


def reference_date(records: PatientRecords, patient_id: str) -> pd.Timestamp:
    """'Now' for a patient: death date if deceased, else today (synthetic records may be dated ahead)."""
    row = records.patient_row(patient_id)
    death = row["death_date"]
    return pd.Timestamp(death) if pd.notna(death) else pd.Timestamp.now().normalize()


def age_years(records: PatientRecords, patient_id: str, on: pd.Timestamp | None = None) -> float | None:
    birth = records.patient_row(patient_id)["birth_date"]
    if pd.isna(birth):
        return None
    on = on if on is not None else reference_date(records, patient_id)
    return float((on - birth).days / 365.25)


def active_conditions(records: PatientRecords, patient_id: str) -> pd.DataFrame:
    frame = records.for_patient("conditions", patient_id)
    return frame[frame["abatement"].isna()].sort_values("onset", ascending=False)


# FHIR MedicationRequests often carry only a status, no end date.
ENDED_MEDICATION_STATUSES = ("stopped", "completed", "cancelled", "entered-in-error", "not-taken")


def current_medications(records: PatientRecords, patient_id: str) -> pd.DataFrame:
    frame = records.for_patient("medications", patient_id)
    ended = frame["status"].isin(ENDED_MEDICATION_STATUSES).fillna(False).astype(bool)
    return frame[frame["stop"].isna() & ~ended].sort_values("start", ascending=False)


def active_allergies(records: PatientRecords, patient_id: str) -> pd.DataFrame:
    frame = records.for_patient("allergies", patient_id)
    return frame[frame["stop"].isna()]


def observation_series(records: PatientRecords, patient_id: str, measure: str) -> list[ObservedValue]:
    """Every value of ``measure`` for the patient, oldest first, converted; unconvertible ones skipped."""
    spec = MEASURES[measure]
    frame = records.for_patient("observations", patient_id)
    frame = frame[frame["code"].isin(spec.codes) & frame["value"].notna()].sort_values("date")
    values = []
    for row in frame.itertuples(index=False):
        try:
            converted = convert(float(row.value), None if pd.isna(row.unit) else str(row.unit), spec.unit, measure)
        except UnitError:
            continue
        values.append(
            ObservedValue(
                measure=measure,
                value=converted,
                unit=spec.unit,
                date=None if pd.isna(row.date) else pd.Timestamp(row.date),
                code=str(row.code),
                original_value=float(row.value),
                original_unit="" if pd.isna(row.unit) else str(row.unit),
            )
        )
    return values


def latest_value(records: PatientRecords, patient_id: str, measure: str) -> ObservedValue | None:
    series = observation_series(records, patient_id, measure)
    return series[-1] if series else None


def latest_values(records: PatientRecords, patient_id: str) -> dict[str, ObservedValue]:
    """The latest convertible value of every known measure the patient has, in one pass over their
    observations (what :func:`latest_value` gives for each measure, for a whole summary at once)."""
    frame = records.for_patient("observations", patient_id)
    frame = frame[frame["code"].isin(CODE_TO_MEASURE) & frame["value"].notna()]
    order = frame["date"].rank(method="first", na_option="top")  # undated first, as observation_series sorts
    latest: dict[str, ObservedValue] = {}
    for row in frame.assign(_order=order).sort_values("_order", ascending=False).itertuples(index=False):
        measure = CODE_TO_MEASURE[row.code].name
        if measure in latest:
            continue
        spec = MEASURES[measure]
        try:
            converted = convert(float(row.value), None if pd.isna(row.unit) else str(row.unit), spec.unit, measure)
        except UnitError:
            continue
        latest[measure] = ObservedValue(measure, converted, spec.unit, None if pd.isna(row.date) else pd.Timestamp(row.date),
                                        str(row.code), float(row.value), "" if pd.isna(row.unit) else str(row.unit))
    return latest
