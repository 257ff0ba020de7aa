"""Evaluate the tables' criteria (:class:`~medassist.recommend.knowledge.Criteria`) on one patient.

Three-valued: a criterion whose input is not recorded is *unknown*, never false, so a rule that
needs it can ask for it ("weight needed to choose the apixaban dose") instead of assuming. A score
is compared through the range it could take with its missing items (CHA2DS2-VA 1-3 is neither
"2 or more" nor "below 2").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from medassist.recommend.knowledge import Criteria, Criterion, KnowledgeBase
from medassist.recommend.patient import PatientContext


@dataclass
class Verdict:
    """Whether criteria hold (None: cannot tell), with the criteria met and those that could not be checked."""

    value: bool | None
    met: list[str] = field(default_factory=list)  # "age 80 or older (82 years)"
    unknown: list[str] = field(default_factory=list)  # "weight 60 kg or less (no weight on record)"
    unmet: list[str] = field(default_factory=list)  # "CHA2DS2-VA 1 or more (CHA2DS2-VA 0)"


def _interval_check(low: float, high: float, c: Criterion) -> bool | None:
    """Whether every value in [low, high] meets the bounds (True), none does (False), or some do (None)."""
    def ok(x: float) -> bool:
        return ((c.at_least is None or x >= c.at_least) and (c.at_most is None or x <= c.at_most)
                and (c.above is None or x > c.above) and (c.below is None or x < c.below))
    if low == high:
        return ok(low)
    # the bounds describe one interval, so checking its ends and the bounds inside it is enough
    points = [low, high] + [b for b in (c.at_least, c.at_most) if b is not None and low <= b <= high]
    results = {ok(x) for x in points}
    return results.pop() if len(results) == 1 else None


def _shown(value: float, unit: str) -> str:
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    unit = {"mL/min/{1.73_m2}": "mL/min/1.73 m2", "mm[Hg]": "mm Hg", "{INR}": ""}.get(unit, unit)
    return f"{text}%" if unit == "%" else f"{text} {unit}".strip()


def check(criterion: Criterion, ctx: PatientContext, kb: KnowledgeBase) -> tuple[bool | None, str]:
    """One criterion on the patient: (True/False/None, the criterion with the patient's value)."""
    value, said = _check(criterion, ctx, kb)
    return (value if value is None or not criterion.negate else not value), said


def _check(criterion: Criterion, ctx: PatientContext, kb: KnowledgeBase) -> tuple[bool | None, str]:
    if criterion.concept is not None:
        return ctx.has(criterion.concept), criterion.says
    if criterion.taking is not None:
        names = [ctx.medication_labels.get(i, kb.ingredient(i).name) for i in ctx.taking(kb, criterion.taking)]
        return bool(names), f"{criterion.says} ({', '.join(names)})" if names else criterion.says
    if criterion.sex is not None:
        if ctx.sex not in ("female", "male"):
            return None, f"{criterion.says} (sex not recorded)"
        return ctx.sex == criterion.sex, criterion.says
    assert criterion.input is not None
    if criterion.input.startswith("score:"):
        score = ctx.scores.get(criterion.input[6:])
        if score is None:
            return (True, criterion.says) if criterion.missing else (None, f"{criterion.says} (score not computed)")
        low, high = score.possible_range
        shown = f"{score.name} {low}" if low == high else f"{score.name} {low}-{high} (missing: {', '.join(score.missing)})"
        if criterion.missing:
            return False, criterion.says
        return _interval_check(low, high, criterion), f"{criterion.says} ({shown})"
    found = ctx.measurement(criterion.input)
    band = ctx.picture.ejection_fraction_band if criterion.input == "ef" and found is None else None
    if band is not None:  # no LVEF measured, but the diagnosis states its band ("HFrEF": 40% or less)
        if criterion.missing:
            return False, criterion.says
        return (_interval_check(band.low, band.high, criterion),
                f"{criterion.says} (no LVEF recorded; the diagnosis says {band.name} ejection fraction: {band.evidence})")
    if criterion.missing:
        return found is None, criterion.says
    if found is None:
        return None, f"{criterion.says} (not recorded)"
    return _interval_check(found.value, found.value, criterion), f"{criterion.says} ({_shown(found.value, found.unit)})"


def evaluate(criteria: Criteria | None, ctx: PatientContext, kb: KnowledgeBase) -> Verdict:
    """``criteria`` on the patient; no criteria always hold."""
    if criteria is None:
        return Verdict(True)
    results = [check(c, ctx, kb) for c in criteria.criteria]
    met = [text for value, text in results if value is True]
    unknown = [text for value, text in results if value is None]
    unmet = [text for value, text in results if value is False]
    need = len(results) if criteria.match == "all" else 1 if criteria.match == "any" else int(criteria.match)
    if len(met) >= need:
        return Verdict(True, met, unknown, unmet)
    if len(met) + len(unknown) >= need:
        return Verdict(None, met, unknown, unmet)
    return Verdict(False, met, unknown, unmet)
