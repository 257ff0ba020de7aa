"""Values no living patient can have are set aside at import, never used.

A creatinine written "150" with no unit is taken in MedAssist's unit (mg/dL) and would read as a
kidney that has failed many times over; a potassium of 55 is a typing error. Each limit below is
the edge of what is physiologically possible (far outside any reference range), not a clinical
threshold: a value beyond it is kept in the record's text with the reason and listed in the import
report naming its file, but its number is not used by any score, rule or model.
A number recorded only as text ("5.6", as FHIR ``valueString`` carries it) is read as a number.
"""

from __future__ import annotations

import re

import pandas as pd

from medassist.records.codes import CODE_TO_MEASURE
from medassist.records.schema import ImportReport, PatientRecords
from medassist.records.units import UnitError, convert

# measure -> (lowest, highest) possible value in the measure's unit (records.codes.MEASURES)
POSSIBLE: dict[str, tuple[float, float]] = {
    "body_weight": (0.2, 500.0), "body_height": (20.0, 280.0), "bmi": (5.0, 150.0),
    "systolic_bp": (20.0, 330.0), "diastolic_bp": (5.0, 250.0), "heart_rate": (10.0, 350.0),
    "respiratory_rate": (1.0, 120.0), "body_temperature": (24.0, 46.0), "oxygen_saturation": (30.0, 100.0),
    "glucose": (5.0, 3000.0), "fasting_glucose": (5.0, 3000.0), "hba1c": (2.0, 25.0),
    "creatinine": (0.05, 40.0), "egfr": (0.0, 250.0), "urea_nitrogen": (0.5, 350.0),
    "sodium": (90.0, 200.0), "potassium": (1.0, 12.0), "lactate": (0.0, 40.0),
    "hemoglobin": (1.0, 30.0), "wbc": (0.0, 1000.0), "platelets": (0.0, 5000.0),
    "lvef": (3.0, 95.0), "inr": (0.5, 25.0), "urine_acr": (0.0, 30000.0),
}
_NUMBER = re.compile(r"^\s*[-+]?\d+(?:\.\d+)?\s*$")


def _set_aside(frame: pd.DataFrame, index: object, name: str, description: str, target: str, unit: str,
               limits: tuple[float, float], report: ImportReport) -> None:
    row = frame.loc[index]
    written = f"{float(row['value']):g}{' ' + unit if unit else ' (no unit)'}"
    reason = (f"{description} {written} is not a possible value (possible: {limits[0]:g}-{limits[1]:g} {target}"
              f"{'; a value without a unit is read in ' + target if not unit else ''}): set aside, not used")
    when = "" if pd.isna(row["date"]) else f" on {pd.Timestamp(row['date']).date().isoformat()}"
    report.add(str(row["source"]) if pd.notna(row["source"]) else "records",
               f"patient {row['patient_id']}, LOINC {row['code']}{when}", reason)
    frame.at[index, "value"] = float("nan")
    frame.at[index, "value_text"] = f"{written} (set aside: not a possible value)"


def set_aside_impossible_values(records: PatientRecords, report: ImportReport) -> PatientRecords:
    """Read numbers written as text; set aside values outside :data:`POSSIBLE` (reported, never used)."""
    frame = records.observations
    if frame.empty:
        return records
    frame = frame.copy()
    text_numbers = frame["value"].isna() & frame["value_text"].fillna("").str.match(_NUMBER)
    frame.loc[text_numbers, "value"] = pd.to_numeric(frame.loc[text_numbers, "value_text"], errors="coerce")
    numeric = frame[frame["value"].notna() & frame["code"].isin(list(CODE_TO_MEASURE))]
    units = numeric["unit"].fillna("")
    for (code, unit), group in numeric.groupby([numeric["code"], units], sort=False):
        measure = CODE_TO_MEASURE[str(code)]
        limits = POSSIBLE.get(measure.name)
        if limits is None:
            continue
        try:  # every known conversion is affine: value * scale + offset
            offset = convert(0.0, unit or None, measure.unit, measure.name)
            scale = convert(1.0, unit or None, measure.unit, measure.name) - offset
        except UnitError:
            continue  # an unknown unit is refused where the value is read (records.summary)
        converted = group["value"] * scale + offset
        for index in group.index[(converted < limits[0]) | (converted > limits[1])]:
            _set_aside(frame, index, measure.name, measure.description, measure.unit, str(unit), limits, report)
    records.observations = frame
    return records
