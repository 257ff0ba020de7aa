"""Validated scores computed from the clinical picture, each a pure function of named inputs.

CHA2DS2-VASc (Lip GYH et al., Refining clinical risk stratification for predicting stroke and
thromboembolism in atrial fibrillation using a novel risk factor-based approach: the Euro Heart
Survey on Atrial Fibrillation. Chest 2010;137:263-72) and CHA2DS2-VA, the same score without the
sex category (Van Gelder IC et al., 2024 ESC Guidelines for the management of atrial fibrillation,
Eur Heart J 2024, section on stroke prevention). The problems are read by concept; an age or sex
that is not recorded is a missing item (points ``None``), and the result gives the range.
"""

from __future__ import annotations

from typing import Literal

from medassist.domain.clinical import ClinicalPicture, ScoreItem, ScoreResult

_CHEST_2010 = "Lip et al., Chest 2010 (CHA2DS2-VASc)"
_ESC_2024 = "ESC atrial fibrillation guidelines (Van Gelder et al., Eur Heart J) 2024, stroke prevention: CHA2DS2-VA"


def _problem(picture: ClinicalPicture, criterion: str, points: int, concepts: tuple[str, ...]) -> ScoreItem:
    found = [p for p in picture.problems if p.concept in concepts]
    value = "; ".join(p.name for p in found) if found else "not in the problem list"
    return ScoreItem(criterion, points if found else 0, value, "problem list", max_points=points)


def _heart_failure(picture: ClinicalPicture) -> ScoreItem:
    ef = picture.ejection_fraction
    reduced = ef is not None and ef.value <= 40
    if picture.has("heart_failure") or reduced:
        value = "heart failure in the problem list" if picture.has("heart_failure") else f"LVEF {ef.value:.0f}%"  # type: ignore[union-attr]
        return ScoreItem("Congestive heart failure or LV dysfunction", 1, value, "problem list / LVEF")
    return ScoreItem("Congestive heart failure or LV dysfunction", 0, "not in the problem list", "problem list")


def _age_items(picture: ClinicalPicture) -> list[ScoreItem]:
    if picture.age is None:
        return [ScoreItem("Age 75 or older (2) / 65-74 (1)", None, "no birth date", "", max_points=2)]
    years = picture.age.years
    points = 2 if years >= 75 else 1 if years >= 65 else 0
    return [ScoreItem("Age 75 or older (2) / 65-74 (1)", points, f"{years:.0f} years", picture.age.source, max_points=2)]


def _items(picture: ClinicalPicture) -> list[ScoreItem]:
    return [
        _heart_failure(picture),
        _problem(picture, "Hypertension", 1, ("hypertension",)),
        *_age_items(picture),
        _problem(picture, "Diabetes mellitus", 1, ("diabetes",)),
        _problem(picture, "Stroke, TIA or thromboembolism", 2, ("stroke",)),
        _problem(picture, "Vascular disease (myocardial infarction, coronary or peripheral artery disease)", 1,
                 ("coronary_artery_disease", "peripheral_arterial_disease")),
    ]


def _result(name: str, maximum: int, items: list[ScoreItem], citation: str) -> ScoreResult:
    points = sum(i.points or 0 for i in items)
    low, high = points, points + sum(i.max_points for i in items if i.points is None)
    level: Literal["low", "moderate", "high", "unknown"] = (
        "high" if low >= 2 else "low" if high == 0 else "moderate" if low == high == 1 else "unknown")
    return ScoreResult(name, points, maximum, tuple(items), name, citation, level)


def cha2ds2_va(picture: ClinicalPicture) -> ScoreResult:
    """CHA2DS2-VA (ESC 2024): 0-8; 2 or more: oral anticoagulation recommended, 1: to be considered."""
    result = _result("CHA2DS2-VA", 8, _items(picture), _ESC_2024)
    low, high = result.possible_range
    if low >= 2:
        advice = "oral anticoagulation recommended (ESC 2024: Class I, Level C)"
    elif high < 1:
        advice = "no anticoagulation for stroke prevention"
    elif low == high == 1:
        advice = "oral anticoagulation should be considered (ESC 2024: Class IIa, Level C)"
    else:
        advice = "cannot be decided until the missing items are known"
    shown = f"{low}" if low == high else f"{low}-{high}"
    return ScoreResult(result.name, result.points, result.maximum, result.items, f"CHA2DS2-VA {shown}: {advice}",
                       result.citation, result.level, advice)


def cha2ds2_vasc(picture: ClinicalPicture) -> ScoreResult:
    """CHA2DS2-VASc (Lip 2010; AHA/ACC/ACCP/HRS 2023 thresholds: 2 or more in men, 3 or more in women)."""
    sex = picture.sex
    if sex == "female":
        sex_item = ScoreItem("Sex category (female)", 1, "female", "patient record")
    elif sex == "male":
        sex_item = ScoreItem("Sex category (female)", 0, "male", "patient record")
    else:
        sex_item = ScoreItem("Sex category (female)", None, "sex not recorded", "")
    result = _result("CHA2DS2-VASc", 9, [*_items(picture), sex_item], _CHEST_2010)
    low, high = result.possible_range
    threshold = 3 if sex == "female" else 2
    if sex in ("female", "male") and low >= threshold:
        advice = "anticoagulation recommended (AHA/ACC/ACCP/HRS 2023: Class 1)"
    elif sex in ("female", "male") and high < threshold - 1:
        advice = "no anticoagulation for stroke prevention"
    elif sex in ("female", "male") and low == high == threshold - 1:
        advice = "anticoagulation reasonable (AHA/ACC/ACCP/HRS 2023: Class 2a)"
    else:
        advice = "cannot be decided until the missing items are known"
    shown = f"{low}" if low == high else f"{low}-{high}"
    return ScoreResult(result.name, result.points, result.maximum, result.items, f"CHA2DS2-VASc {shown}: {advice}",
                       result.citation, result.level, advice)
