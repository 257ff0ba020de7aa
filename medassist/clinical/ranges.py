"""Reference ranges that fit the patient's age and sex, for the Records tab's plots and H/L flags.

* **Children's vital signs** by age band: heart rate (awake), respiratory rate, systolic and
  diastolic blood pressure from the American Heart Association's PALS normal values (PALS 2015
  provider manual; heart and respiratory rates from Fleming S et al., Lancet 2011;377:1011-8):

  ============================  ===========  ===========  ==========  ==========
  age band                      heart rate   resp. rate   systolic    diastolic
  ============================  ===========  ===========  ==========  ==========
  neonate (under 28 days)       100-205      30-53        67-84       35-53
  infant (28 days to 1 year)    100-190      30-53        72-104      37-56
  toddler (1-2 years)           98-140       22-37        86-106      42-63
  preschool (3-5 years)         80-120       20-28        89-112      46-72
  school age (6-9 years)        75-118       18-25        97-115      57-76
  preadolescent (10-11 years)   75-118       18-25        102-120     61-80
  adolescent (12-15 years)      60-100       12-20        110-131     64-83
  ============================  ===========  ===========  ==========  ==========

  From 16 years the adult ranges apply (as for NEWS2, RCP 2017). A 4-year-old's respiratory rate
  of 22/min is normal here; the adult band (12-20) would flag it.
* **Children's laboratory values**: only the analytes whose adult range also holds for children
  (sodium, glucose, HbA1c, CRP, procalcitonin, lactate, platelets; potassium from 1 year) keep it;
  for the others (creatinine, urea, haemoglobin, white cells...) MedAssist has no paediatric range
  and shows none rather than a misleading adult one.
* **Adults**: the ranges of :data:`medassist.records.codes.MEASURES`, with the haemoglobin lower
  limit by sex and pregnancy from the WHO anaemia thresholds (WHO 2011, Haemoglobin
  concentrations for the diagnosis of anaemia: 13.0 g/dL men, 12.0 non-pregnant women, 11.0 in
  pregnancy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from medassist.domain.clinical import ClinicalPicture, Measurement
from medassist.records.codes import MEASURES

PALS = "PALS 2015 normal values (AHA; heart and respiratory rates from Fleming 2011)"
ADULT_FROM_YEARS = 16.0
CHILD_BELOW_YEARS = 18.0

# upper age (years, exclusive), band name, {measure: (low, high)}
_PAEDIATRIC_VITALS: tuple[tuple[float, str, dict[str, tuple[float, float]]], ...] = (
    (28 / 365.25, "neonate, under 28 days", {"heart_rate": (100, 205), "respiratory_rate": (30, 53),
                                             "systolic_bp": (67, 84), "diastolic_bp": (35, 53)}),
    (1.0, "infant, under 1 year", {"heart_rate": (100, 190), "respiratory_rate": (30, 53),
                                   "systolic_bp": (72, 104), "diastolic_bp": (37, 56)}),
    (3.0, "toddler, 1-2 years", {"heart_rate": (98, 140), "respiratory_rate": (22, 37),
                                 "systolic_bp": (86, 106), "diastolic_bp": (42, 63)}),
    (6.0, "preschool, 3-5 years", {"heart_rate": (80, 120), "respiratory_rate": (20, 28),
                                   "systolic_bp": (89, 112), "diastolic_bp": (46, 72)}),
    (10.0, "school age, 6-9 years", {"heart_rate": (75, 118), "respiratory_rate": (18, 25),
                                     "systolic_bp": (97, 115), "diastolic_bp": (57, 76)}),
    (12.0, "preadolescent, 10-11 years", {"heart_rate": (75, 118), "respiratory_rate": (18, 25),
                                          "systolic_bp": (102, 120), "diastolic_bp": (61, 80)}),
    (ADULT_FROM_YEARS, "adolescent, 12-15 years", {"heart_rate": (60, 100), "respiratory_rate": (12, 20),
                                                   "systolic_bp": (110, 131), "diastolic_bp": (64, 83)}),
)
# adult ranges that hold for children too (from 1 year for potassium: infants run higher)
_CHILD_KEEPS_ADULT = {"sodium": 0.0, "glucose": 0.0, "fasting_glucose": 0.0, "hba1c": 0.0, "crp": 0.0,
                      "procalcitonin": 0.0, "lactate": 0.0, "platelets": 0.0, "oxygen_saturation": 0.0,
                      "body_temperature": 0.0, "potassium": 1.0}
_HAEMOGLOBIN_LOW = {"male": 13.0, "female": 12.0}  # WHO 2011
_HAEMOGLOBIN_LOW_PREGNANT = 11.0


@dataclass(frozen=True)
class ReferenceRange:
    low: float
    high: float
    source: str  # "PALS 2015 ... (preschool, 3-5 years)", "adult reference"
    short: str = "adult"  # what a narrow table column says: "PALS, 3-5 years", "adult", "WHO, female"


def reference_range(measure: str, age_years: float | None, sex: str = "unknown",
                    pregnant: bool | None = None) -> ReferenceRange | None:
    """The range ``measure`` is judged against for this patient, or None when MedAssist has none
    that fits (a child's creatinine, a measure without a range)."""
    if age_years is not None and age_years < ADULT_FROM_YEARS:
        for upper, band, ranges in _PAEDIATRIC_VITALS:
            if age_years < upper:
                if measure in ranges:
                    low, high = ranges[measure]
                    return ReferenceRange(low, high, f"{PALS} ({band})", f"PALS, {band.split(', ')[-1]}")
                break
    spec = MEASURES.get(measure)
    if spec is None or spec.normal_range is None:
        return None
    paediatric_vital = measure in _PAEDIATRIC_VITALS[0][2]  # from 16 the adult vital-sign ranges apply
    if age_years is not None and age_years < CHILD_BELOW_YEARS and not paediatric_vital \
            and age_years < _CHILD_KEEPS_ADULT.get(measure, CHILD_BELOW_YEARS):
        return None
    low, high = spec.normal_range
    if measure == "hemoglobin" and (pregnant or sex in _HAEMOGLOBIN_LOW):
        low = _HAEMOGLOBIN_LOW_PREGNANT if pregnant else _HAEMOGLOBIN_LOW[sex]
        why = "pregnancy" if pregnant else sex
        return ReferenceRange(low, high, f"adult reference; lower limit for {why}: WHO 2011 anaemia threshold",
                              f"WHO, {why}")
    if age_years is None:
        return ReferenceRange(low, high, "adult reference (age unknown)", "adult, age unknown")
    if age_years >= CHILD_BELOW_YEARS:
        return ReferenceRange(low, high, "adult reference")
    return ReferenceRange(low, high, "adult reference, which holds for children too", "adult, holds for children")


def no_range_reason(measure: str, age_years: float | None) -> str:
    """Why :func:`reference_range` gave none: said beside the value instead of a flag."""
    if age_years is not None and age_years < CHILD_BELOW_YEARS and MEASURES.get(measure) is not None \
            and MEASURES[measure].normal_range is not None:
        return "no paediatric range: not flagged"
    return "no reference range"


def flag(value: float, reference: ReferenceRange | None) -> Literal["H", "L", ""]:
    """"H" above the range, "L" below it, "" inside it or without one."""
    if reference is None:
        return ""
    return "H" if value > reference.high else "L" if value < reference.low else ""


@dataclass(frozen=True)
class FlaggedValue:
    """The latest value of one measure with the range that fits the patient and its H/L flag."""

    measure: str
    description: str
    value: Measurement
    reference: ReferenceRange | None
    flag: Literal["H", "L", ""]
    note: str = ""  # why there is no range to flag against


def flagged_values(picture: ClinicalPicture) -> list[FlaggedValue]:
    """Every measure the patient has (latest value), vitals first, flagged for their age and sex."""
    age = picture.age_years
    rows = []
    for name, measurement in picture.measures.items():
        reference = reference_range(name, age, picture.sex, picture.pregnant)
        note = "" if reference is not None else no_range_reason(name, age)
        rows.append(FlaggedValue(name, MEASURES[name].description, measurement, reference,
                                 flag(measurement.value, reference), note))
    order = {name: i for i, name in enumerate(VITALS_FIRST)}
    return sorted(rows, key=lambda r: (order.get(r.measure, len(order)), r.description.lower()))


VITALS_FIRST = ("respiratory_rate", "oxygen_saturation", "systolic_bp", "diastolic_bp", "heart_rate",
                "body_temperature", "body_weight", "body_height", "bmi")
