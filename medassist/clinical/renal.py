"""Kidney function from the record: eGFR (recorded, else CKD-EPI 2021), Cockcroft-Gault creatinine
clearance for labels that dose by it, and the KDIGO G and A categories.

Sources:
- Inker LA et al. New creatinine- and cystatin C-based equations to estimate GFR without race.
  N Engl J Med 2021;385:1737-49 (the race-free CKD-EPI 2021 creatinine equation).
- Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum creatinine.
  Nephron 1976;16:31-41 (actual body weight, as drug labels use it).
- KDIGO 2024 Clinical Practice Guideline for the Evaluation and Management of CKD,
  Figure 2 / Table 5 (GFR categories G1-G5, albuminuria categories A1-A3).
"""

from __future__ import annotations

from medassist.domain.clinical import Measurement, RenalFunction

ADULT_AGE = 18.0

# KDIGO 2024 GFR categories (mL/min/1.73 m2): lower bound -> category
_G_CATEGORIES = ((90.0, "G1"), (60.0, "G2"), (45.0, "G3a"), (30.0, "G3b"), (15.0, "G4"), (0.0, "G5"))
G_CATEGORY_TEXT = {
    "G1": "normal or high (eGFR 90 or more)", "G2": "mildly decreased (eGFR 60-89)",
    "G3a": "mildly to moderately decreased (eGFR 45-59)", "G3b": "moderately to severely decreased (eGFR 30-44)",
    "G4": "severely decreased (eGFR 15-29)", "G5": "kidney failure (eGFR below 15)",
}
A_CATEGORY_TEXT = {"A1": "normal to mildly increased (ACR below 30 mg/g)", "A2": "moderately increased (ACR 30-300 mg/g)",
                   "A3": "severely increased (ACR above 300 mg/g)"}


def ckd_epi_2021(creatinine_mg_dl: float, age: float, female: bool) -> float:
    """Race-free CKD-EPI creatinine equation (Inker et al., NEJM 2021), mL/min/1.73 m2."""
    kappa, alpha = (0.7, -0.241) if female else (0.9, -0.302)
    ratio = creatinine_mg_dl / kappa
    value = 142.0 * min(ratio, 1.0) ** alpha * max(ratio, 1.0) ** -1.200 * 0.9938**age
    return value * (1.012 if female else 1.0)


def cockcroft_gault(creatinine_mg_dl: float, age: float, weight_kg: float, female: bool) -> float:
    """Creatinine clearance (mL/min) as drug labels use it (actual body weight)."""
    value = (140.0 - age) * weight_kg / (72.0 * creatinine_mg_dl)
    return value * (0.85 if female else 1.0)


def g_category(egfr: float) -> str:
    return next(name for bound, name in _G_CATEGORIES if egfr >= bound)


def a_category(acr: float, unit: str = "mg/g") -> str:
    """KDIGO albuminuria category, judged in the unit the ratio was reported in: the guideline's
    thresholds are 30 and 300 mg/g or 3 and 30 mg/mmol (a rounded equivalence: 3 mg/mmol is 26.5 mg/g)."""
    low, high = (3.0, 30.0) if unit == "mg/mmol" else (30.0, 300.0)
    return "A1" if acr < low else "A2" if acr <= high else "A3"


def renal_function(egfr: Measurement | None, creatinine: Measurement | None, albuminuria: Measurement | None,
                   age: float | None, sex: str, weight: Measurement | None) -> RenalFunction:
    """eGFR as recorded, else computed from creatinine for an adult of known sex; CrCl when weight is known too.

    A creatinine newer than the recorded eGFR gives the eGFR (computed from it): the older value is
    stale, and the source says so."""
    computed = False
    adult_of_known_sex = age is not None and age >= ADULT_AGE and sex in ("female", "male")
    stale = (egfr is not None and creatinine is not None and egfr.date is not None and creatinine.date is not None
             and creatinine.date > egfr.date)
    if (egfr is None or stale) and creatinine is not None and adult_of_known_sex:
        assert age is not None
        value = ckd_epi_2021(creatinine.value, age, sex == "female")
        when = f" ({creatinine.date.isoformat()})" if creatinine.date else ""
        older = "" if egfr is None or egfr.date is None else \
            f"; the recorded eGFR {egfr.value:g} is older ({egfr.date.isoformat()})"
        egfr = Measurement(round(value, 1), "mL/min/{1.73_m2}", creatinine.date,
                           f"computed: CKD-EPI 2021 from creatinine {creatinine.value:.2f} mg/dL{when}{older}")
        computed = True
    crcl = None
    if creatinine is not None and weight is not None and adult_of_known_sex:
        assert age is not None
        value = cockcroft_gault(creatinine.value, age, weight.value, sex == "female")
        crcl = Measurement(round(value, 1), "mL/min", creatinine.date,
                           f"computed: Cockcroft-Gault from creatinine {creatinine.value:.2f} mg/dL, age {int(age)}, "
                           f"weight {weight.value:.0f} kg")
    return RenalFunction(
        egfr=egfr, egfr_computed=computed, creatinine=creatinine, crcl=crcl, albuminuria=albuminuria,
        g_stage=None if egfr is None else g_category(egfr.value),
        a_stage=None if albuminuria is None else a_category(albuminuria.value),
    )
