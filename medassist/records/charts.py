"""What the vitals and labs plots show for a patient: which observations can be plotted, and
each one's dated values in one unit (the reference range that fits the patient's age and sex is
:func:`medassist.clinical.ranges.reference_range`'s).

Measures listed in :mod:`medassist.records.codes` are converted to their unit by
:func:`medassist.records.summary.observation_series`; any other code is plotted in its most
common unit and values in other units are counted as left out, never mixed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from medassist.records.codes import CODE_TO_MEASURE, MEASURES
from medassist.records.schema import PatientRecords
from medassist.records.summary import observation_series
from medassist.records.units import normalize_unit

_VITAL_FIRST = ("systolic_bp", "diastolic_bp", "heart_rate", "respiratory_rate", "body_temperature",
                "oxygen_saturation", "body_weight", "body_height", "bmi")


@dataclass(frozen=True)
class ObservationChoice:
    """One plottable observation of a patient: a known measure, or a code plotted as recorded."""

    key: str  # measure name, or "code:<code>"
    title: str
    count: int
    category: str

    @property
    def label(self) -> str:
        return f"{self.title} ({self.count})"


@dataclass
class ObservationSeries:
    key: str
    title: str
    unit: str
    dates: np.ndarray  # datetime64[ns], oldest first
    values: np.ndarray
    left_out: int  # values that could not be put in ``unit``


def observation_choices(records: PatientRecords, patient_id: str) -> list[ObservationChoice]:
    """Numeric observations of the patient, vitals first, then labs and others by name."""
    frame = records.for_patient("observations", patient_id)
    frame = frame[frame["value"].notna() & frame["date"].notna()]
    if frame.empty:
        return []
    keys = frame["code"].map(lambda code: CODE_TO_MEASURE[code].name if code in CODE_TO_MEASURE else f"code:{code}")
    choices = []
    for key, rows in frame.groupby(keys.to_numpy(), sort=False):
        measure = MEASURES.get(key)
        title = measure.description if measure else str(rows["description"].dropna().iloc[0] if rows["description"].notna().any() else key[5:])
        category = str(rows["category"].dropna().iloc[0]) if rows["category"].notna().any() else ""
        choices.append(ObservationChoice(str(key), title, int(len(rows)), category))

    def order(choice: ObservationChoice) -> tuple:
        vital = _VITAL_FIRST.index(choice.key) if choice.key in _VITAL_FIRST else len(_VITAL_FIRST)
        return (vital, choice.category != "vital-signs", choice.category != "laboratory", choice.title.lower())

    return sorted(choices, key=order)


def series_for(records: PatientRecords, patient_id: str, key: str) -> ObservationSeries:
    """The dated values of one :class:`ObservationChoice` key, oldest first."""
    measure = MEASURES.get(key)
    frame = records.for_patient("observations", patient_id)
    if measure is not None:
        rows = frame[frame["code"].isin(measure.codes) & frame["value"].notna()]
        dated = [(v.date, v.value) for v in observation_series(records, patient_id, key) if v.date is not None]
        return ObservationSeries(
            key=key, title=measure.description, unit=measure.unit,
            dates=np.asarray([day.to_datetime64() for day, _ in dated], dtype="datetime64[ns]"),
            values=np.asarray([value for _, value in dated], dtype=float),
            left_out=int(len(rows) - len(dated)),
        )
    code = key.removeprefix("code:")
    rows = frame[(frame["code"] == code) & frame["value"].notna() & frame["date"].notna()].sort_values("date")
    units = rows["unit"].fillna("").map(normalize_unit)
    unit = units.value_counts().index[0] if len(units) else ""
    kept = rows[units == unit]
    title = str(kept["description"].dropna().iloc[0]) if kept["description"].notna().any() else code
    return ObservationSeries(
        key=key, title=title, unit=unit,
        dates=kept["date"].to_numpy(dtype="datetime64[ns]"), values=kept["value"].to_numpy(dtype=float),
        left_out=int(len(rows) - len(kept)),
    )


def default_choices(choices: list[ObservationChoice], limit: int = 2) -> list[str]:
    """Keys shown before the user picks: the first vitals the patient has."""
    preferred = [c.key for c in choices if c.key in ("systolic_bp", "body_weight", "heart_rate", "glucose", "hba1c")]
    return (preferred or [c.key for c in choices])[:limit]


def epoch_seconds(dates: np.ndarray | pd.Series) -> np.ndarray:
    """Naive-UTC datetimes as POSIX seconds (what pyqtgraph's date axis expects)."""
    return np.asarray(dates, dtype="datetime64[ns]").astype("int64") / 1e9
