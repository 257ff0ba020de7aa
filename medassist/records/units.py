"""Unit conversion for the measures MedAssist uses (UCUM-style unit strings).

Only conversions that are exact or standard factors are known; anything else raises
:class:`UnitError`, so a value in an unexpected unit is reported, never silently misread.
"""

from __future__ import annotations

from medassist.errors import InputError


class UnitError(InputError):
    """A value's unit cannot be converted to the unit a measure needs."""


_ALIASES = {
    "mg/dl": "mg/dL", "mmol/l": "mmol/L", "umol/l": "umol/L", "µmol/l": "umol/L", "g/dl": "g/dL", "g/l": "g/L",
    "mg/l": "mg/L", "kg": "kg", "[lb_av]": "[lb_av]", "lb": "[lb_av]", "lbs": "[lb_av]", "g": "g",
    "cel": "Cel", "°c": "Cel", "c": "Cel", "degc": "Cel", "[degf]": "[degF]", "°f": "[degF]", "f": "[degF]",
    "degf": "[degF]", "cm": "cm", "m": "m", "[in_i]": "[in_i]", "in": "[in_i]", "mm[hg]": "mm[Hg]", "mmhg": "mm[Hg]",
    "/min": "/min", "{beats}/min": "/min", "beats/min": "/min", "bpm": "/min", "{breaths}/min": "/min",
    "%": "%", "kg/m2": "kg/m2", "kg/m^2": "kg/m2", "10*3/ul": "10*3/uL", "10^3/ul": "10*3/uL", "k/ul": "10*3/uL",
    "10*9/l": "10*3/uL", "10^9/l": "10*3/uL", "ml/min/{1.73_m2}": "mL/min/{1.73_m2}", "ml/min/1.73m2": "mL/min/{1.73_m2}",
    "ml/min": "mL/min/{1.73_m2}", "ng/ml": "ng/mL", "ug/l": "ng/mL", "u[iu]/ml": "u[IU]/mL", "uu/ml": "u[IU]/mL",
    "miu/l": "u[IU]/mL", "mg/g": "mg/g", "mg/mmol": "mg/mmol", "{inr}": "{INR}", "inr": "{INR}", "10*6/ul": "10*6/uL", "10^6/ul": "10*6/uL", "{ratio}": "{ratio}", "mmol/mol": "mmol/mol",
    "micromol/l": "umol/L", "breaths/min": "/min", "x10^9/l": "10*3/uL", "x10*9/l": "10*3/uL",
    "l/l": "L/L", "kpa": "kPa", "[ph]": "[pH]", "ph": "[pH]", "meq/l": "meq/L", "l/min": "L/min", "lpm": "L/min",
}

# (from, to) -> factor, or measure-specific factors keyed by (measure, from, to).
_FACTORS = {
    ("[lb_av]", "kg"): 0.45359237, ("g", "kg"): 0.001, ("m", "cm"): 100.0, ("[in_i]", "cm"): 2.54,
    ("g/L", "g/dL"): 0.1, ("mg/L", "mg/dL"): 0.1, ("mg/dL", "mg/L"): 10.0,
    ("kPa", "mm[Hg]"): 7.50062,
}
_MEASURE_FACTORS = {
    ("glucose", "mmol/L", "mg/dL"): 18.0182, ("fasting_glucose", "mmol/L", "mg/dL"): 18.0182, ("glucose_2h_ogtt", "mmol/L", "mg/dL"): 18.0182,
    ("total_cholesterol", "mmol/L", "mg/dL"): 38.67, ("ldl", "mmol/L", "mg/dL"): 38.67,
    ("hdl", "mmol/L", "mg/dL"): 38.67, ("triglycerides", "mmol/L", "mg/dL"): 88.57,
    ("creatinine", "umol/L", "mg/dL"): 1 / 88.42, ("urea_nitrogen", "mmol/L", "mg/dL"): 2.801,
    ("hemoglobin", "g/L", "g/dL"): 0.1, ("crp", "mg/dL", "mg/L"): 10.0,
    ("lactate", "mg/dL", "mmol/L"): 1 / 9.008,
    ("urine_acr", "mg/mmol", "mg/g"): 8.84,
    ("hematocrit", "L/L", "%"): 100.0, ("fio2", "{ratio}", "%"): 100.0,
    ("sodium", "meq/L", "mmol/L"): 1.0, ("potassium", "meq/L", "mmol/L"): 1.0,  # monovalent ions only  # KDIGO 2024 Table 5: 3 mg/mmol ~ 30 mg/g
}


def normalize_unit(unit: str | None) -> str:
    """The UCUM-style spelling of a unit; written variants (spaces, the Greek or micro sign for "u", a
    superscript 2) are read as the same unit, so "\u03bcmol/L", "mm Hg" and "mL/min/1.73 m\u00b2" are not dropped."""
    if unit is None:
        return ""
    text = str(unit).strip()
    found = _ALIASES.get(text.lower())
    if found is not None:
        return found
    plain = text.lower().replace("\u03bc", "u").replace("\u00b5", "u").replace("\u00b2", "2").replace(" ", "")
    return _ALIASES.get(plain, text)


def convert(value: float, from_unit: str | None, to_unit: str, measure: str | None = None) -> float:
    """Convert ``value`` to ``to_unit``; an empty source unit is taken as already ``to_unit``."""
    source, target = normalize_unit(from_unit), normalize_unit(to_unit)
    if not source or source == target:
        return float(value)
    if source == "[degF]" and target == "Cel":
        return (float(value) - 32.0) * 5.0 / 9.0
    if source == "Cel" and target == "[degF]":
        return float(value) * 9.0 / 5.0 + 32.0
    if source == "mmol/mol" and target == "%" and measure == "hba1c":
        return float(value) * 0.09148 + 2.152  # IFCC -> NGSP master equation
    if measure and (measure, source, target) in _MEASURE_FACTORS:
        return float(value) * _MEASURE_FACTORS[(measure, source, target)]
    if measure and (measure, target, source) in _MEASURE_FACTORS:
        return float(value) / _MEASURE_FACTORS[(measure, target, source)]
    if (source, target) in _FACTORS:
        return float(value) * _FACTORS[(source, target)]
    if (target, source) in _FACTORS:
        return float(value) / _FACTORS[(target, source)]
    raise UnitError(f"cannot convert {measure or 'value'} from '{from_unit}' to '{to_unit}'")
