"""From a patient to ranked, explained, safety-checked treatment options.

Order of authority: the guideline tables decide which options exist; the safety layer decides
which are excluded (shown with the reason, never dropped) and what warnings each carries; the
learned recommender only re-orders the options that remain. Missing inputs that change the
answer are returned as questions rather than guessed.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping

from medassist import DECISION_SUPPORT_NOTICE
from medassist.recommend.knowledge import (
    SEVERITY_ORDER,
    Condition,
    KnowledgeBase,
    Regimen,
    Scenario,
    default_knowledge,
    normalise_text,
)
from medassist.recommend.patient import PatientContext

LINE_WEIGHT = {"first_line": 1.0, "alternative": 0.6, "conditional": 0.35}
LINE_LABEL = {"first_line": "first line", "alternative": "alternative", "conditional": "only in stated circumstances"}
WARNING_PENALTY = {"major": 0.25, "moderate": 0.1, "minor": 0.02}
MODEL_WEIGHT = 0.3
SETTINGS = ("outpatient", "inpatient", "severe")


@dataclass
class SafetyWarning:
    """One thing that could go wrong with an option for this patient."""

    severity: str  # contraindicated | major | moderate | minor
    kind: str  # allergy | interaction | kidney | pregnancy | paediatric | potassium | duplicate
    message: str
    source: str = ""
    involves: list[str] = field(default_factory=list)


@dataclass
class TreatmentOption:
    option_id: str
    label: str
    condition_id: str
    condition: str
    scenario: str
    line: str
    ingredients: list[dict[str, str]]
    dose: str
    dose_for_patient: str | None
    note: str
    guideline_score: float
    model_score: float | None
    score: float
    rank: int | None
    rationale: list[str]
    sources: list[str]
    inputs: dict[str, Any]
    warnings: list[SafetyWarning]
    excluded: bool = False
    exclusion_reasons: list[str] = field(default_factory=list)

    @property
    def worst_severity(self) -> str | None:
        if not self.warnings:
            return None
        return max(self.warnings, key=lambda w: SEVERITY_ORDER[w.severity]).severity


@dataclass
class Recommendation:
    """The whole answer for one patient: ranked options, exclusions, warnings and questions."""

    patient_id: str
    generated_at: str
    knowledge_version: str
    conditions: list[dict[str, str]]
    options: list[TreatmentOption]
    excluded: list[TreatmentOption]
    warnings: list[SafetyWarning]  # about what the patient already takes
    questions: list[str]
    notes: list[str]
    inputs: dict[str, Any]
    model: dict[str, str] | None
    notice: str = DECISION_SUPPORT_NOTICE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def option(self, option_id: str) -> TreatmentOption:
        for opt in self.options + self.excluded:
            if opt.option_id == option_id:
                return opt
        raise KeyError(option_id)


IngredientScorer = Callable[[PatientContext, list[str]], Mapping[str, float]]


# condition matching ------------------------------------------------------------
def _matches(condition: Condition, description: str, code: str) -> bool:
    code = code.strip()
    if code and (code in condition.snomed or any(code.upper().startswith(p) for p in condition.icd10_prefixes)):
        return True
    text = normalise_text(description.replace("_", " "))
    if any(normalise_text(word) in text for word in condition.exclude_keywords):
        return False
    return any(normalise_text(word) in text for word in condition.keywords)


def match_conditions(kb: KnowledgeBase, ctx: PatientContext) -> list[tuple[Condition, list[str]]]:
    """Knowledge-base conditions the patient has, each with the record entries that show it."""
    found: list[tuple[Condition, list[str]]] = []
    for condition in kb.treatments.conditions:
        evidence = [
            f"{c.description} ({c.origin}{', ' + c.system + ' ' + c.code if c.system and c.code else ''})"
            for c in ctx.conditions
            if _matches(condition, c.description, c.code)
        ]
        if evidence:
            found.append((condition, evidence))
    return found


def _has_comorbidity(kb: KnowledgeBase, ctx: PatientContext) -> list[str]:
    words = [normalise_text(w) for w in kb.treatments.comorbidity_keywords]
    return [
        c.description for c in ctx.conditions
        if c.origin == "record" and any(w in normalise_text(c.description) for w in words)
    ]


def _age_ok(min_age: float | None, max_age: float | None, age: float | None) -> bool:
    if age is None:
        return True
    return (min_age is None or age >= min_age) and (max_age is None or age < max_age)


def _select_scenarios(kb: KnowledgeBase, condition: Condition, ctx: PatientContext, questions: list[str]) -> list[tuple[Scenario, list[str]]]:
    chosen: list[tuple[Scenario, list[str]]] = []
    comorbid = _has_comorbidity(kb, ctx)
    setting = ctx.setting
    needs_setting = any(s.setting != "any" for s in condition.scenarios)
    if needs_setting and setting is None:
        setting = "outpatient"
        questions.append(f"{condition.label}: care setting not given, outpatient assumed. Choose inpatient or severe (ICU) if that applies.")
    for scenario in condition.scenarios:
        why: list[str] = []
        if scenario.population == "pregnancy" and ctx.pregnant is not True:
            continue
        if (scenario.age_group == "adult" and ctx.is_child) or (scenario.age_group == "child" and not ctx.is_child):
            continue
        if not _age_ok(scenario.min_age_years, scenario.max_age_years, ctx.age_years):
            continue
        if scenario.setting != "any":
            wanted = "inpatient" if ctx.is_child and setting == "severe" else setting
            if scenario.setting != wanted:
                continue
            why.append(f"setting: {setting}{' (assumed)' if ctx.setting is None else ''}")
        if scenario.comorbidities == "with" and not comorbid or scenario.comorbidities == "without" and comorbid:
            continue
        if scenario.comorbidities == "with":
            why.append("comorbidities: " + ", ".join(comorbid[:4]))
        if scenario.comorbidities == "without":
            why.append("no listed comorbidities in the record")
        if ctx.age_years is not None:
            why.append(f"age {ctx.age_years:.1f} years")
        chosen.append((scenario, why))
    if not chosen and ctx.age_years is not None and ctx.age_years < 0.25 and condition.kind != "chronic":
        questions.append(f"{condition.label}: the patient is younger than 3 months, outside the paediatric guideline's scope; seek specialist advice.")
    return chosen


# safety checks ------------------------------------------------------------------
def _ref_matches(kb: KnowledgeBase, ref: str, ingredient: str) -> bool:
    return ingredient in kb.members(ref)


def _allergy_warnings(kb: KnowledgeBase, ctx: PatientContext, ingredients: list[str]) -> list[SafetyWarning]:
    warnings: list[SafetyWarning] = []
    for allergy in ctx.allergies:
        for ing in ingredients:
            name = kb.ingredient(ing).name
            best: SafetyWarning | None = None
            if ing in allergy.ingredients:
                best = SafetyWarning("contraindicated", "allergy", f"Allergy to {name} on record ({allergy.description}).", "", [ing])
            classes = kb.classes_of(ing)
            for rule in kb.safety.allergy_rules:
                if rule.allergen_class in allergy.classes and rule.target_class in classes:
                    severity = rule.severity_if_anaphylaxis if allergy.anaphylaxis and rule.severity_if_anaphylaxis else rule.severity
                    candidate = SafetyWarning(severity, "allergy", f"{name}: {rule.message} (recorded: {allergy.description})", rule.source.cite(), [ing])
                    if best is None or SEVERITY_ORDER[severity] > SEVERITY_ORDER[best.severity]:
                        best = candidate
            if best is not None:
                warnings.append(best)
    return warnings


def _interaction_warnings(kb: KnowledgeBase, ctx: PatientContext, ingredients: list[str]) -> list[SafetyWarning]:
    warnings: list[SafetyWarning] = []
    seen: set[tuple[str, str, str]] = set()
    pairs = [(ing, cur, True) for ing in ingredients for cur in ctx.medications if cur != ing]
    pairs += [(a, b, False) for i, a in enumerate(ingredients) for b in ingredients[i + 1:]]
    for x, y, with_current in pairs:
        for rule in kb.interactions_between(x, y):
            key = (min(x, y), max(x, y), rule.effect)
            if key in seen:
                continue
            seen.add(key)
            other = f"current medication {kb.ingredient(y).name}" if with_current else f"{kb.ingredient(y).name} in the same regimen"
            warnings.append(SafetyWarning(
                rule.severity, "interaction",
                f"{kb.ingredient(x).name} with {other}: {rule.effect} {rule.management}",
                rule.source.cite(), [x, y],
            ))
    combined = set(ctx.medications) | set(ingredients)
    for rule in kb.safety.three_way_interactions:
        groups = [{i for ref in group for i in kb.members(ref)} for group in rule.members]
        if all(g & combined for g in groups) and any(g & set(ingredients) for g in groups):
            involved = sorted({i for g in groups for i in g & combined})
            names = ", ".join(kb.ingredient(i).name for i in involved)
            warnings.append(SafetyWarning(rule.severity, "interaction", f"{names}: {rule.effect} {rule.management}", rule.source.cite(), involved))
    return warnings


def current_medication_warnings(kb: KnowledgeBase, ctx: PatientContext, questions: list[str]) -> list[SafetyWarning]:
    """Problems with what the patient already takes: interactions, kidney limits, pregnancy (shown above the options)."""
    warnings: list[SafetyWarning] = []
    for warning in _kidney_warnings(kb, ctx, ctx.medications, questions) + _population_warnings(kb, ctx, ctx.medications, questions):
        label = ctx.medication_labels.get(warning.involves[0], "") if warning.involves else ""
        warnings.append(SafetyWarning(warning.severity, warning.kind, f"Current medication ({label}): {warning.message}", warning.source, warning.involves))
    meds = ctx.medications
    for i, x in enumerate(meds):
        for y in meds[i + 1:]:
            for rule in kb.interactions_between(x, y):
                warnings.append(SafetyWarning(
                    rule.severity, "interaction",
                    f"Current medications {kb.ingredient(x).name} and {kb.ingredient(y).name}: {rule.effect} {rule.management}",
                    rule.source.cite(), [x, y],
                ))
    for rule in kb.safety.three_way_interactions:
        groups = [{i for ref in group for i in kb.members(ref)} & set(meds) for group in rule.members]
        if all(groups):
            names = ", ".join(kb.ingredient(i).name for i in sorted(set().union(*groups)))
            warnings.append(SafetyWarning(rule.severity, "interaction", f"Current medications {names}: {rule.effect} {rule.management}", rule.source.cite(), sorted(set().union(*groups))))
    return sorted(warnings, key=lambda w: -SEVERITY_ORDER[w.severity])


def _kidney_warnings(kb: KnowledgeBase, ctx: PatientContext, ingredients: list[str], questions: list[str]) -> list[SafetyWarning]:
    warnings: list[SafetyWarning] = []
    for ing in ingredients:
        name = kb.ingredient(ing).name
        for rule in kb.safety.renal:
            if not _ref_matches(kb, rule.ingredient, ing):
                continue
            value, note = ctx.kidney.value_for(rule.measure)
            if value is None:
                questions.append(f"No eGFR or creatinine on record: needed to check the dose of {name} (limits by kidney function).")
                continue
            for band in rule.bands:
                if band.min_egfr <= value < band.max_egfr:
                    warnings.append(SafetyWarning(
                        band.severity, "kidney",
                        f"{name} at {rule.measure} {value:.0f} ({note}): {band.action}",
                        rule.source.cite(), [ing],
                    ))
        if ing in kb.safety.renally_cleared_without_numbers:
            if ctx.kidney.egfr is None:
                questions.append(f"No eGFR or creatinine on record: {name} is cleared by the kidneys and its dosing interval depends on kidney function.")
            elif ctx.kidney.egfr < 50:
                warnings.append(SafetyWarning(
                    "moderate", "kidney",
                    f"{name} is cleared by the kidneys; at eGFR {ctx.kidney.egfr:.0f} check the label or local guidance for the interval (not encoded here).",
                    "", [ing],
                ))
    return warnings


def _population_warnings(kb: KnowledgeBase, ctx: PatientContext, ingredients: list[str], questions: list[str]) -> list[SafetyWarning]:
    warnings: list[SafetyWarning] = []
    for ing in ingredients:
        name = kb.ingredient(ing).name
        for caution in kb.safety.pregnancy:
            if not _ref_matches(kb, caution.target, ing):
                continue
            if ctx.pregnant is True:
                warnings.append(SafetyWarning(caution.severity, "pregnancy", f"{name} in pregnancy: {caution.message}", caution.source.cite(), [ing]))
            elif ctx.pregnant is None and ctx.could_be_pregnant:
                questions.append(f"Pregnancy status unknown: it matters for {name} ({caution.message})")
        for caution in kb.safety.paediatric:
            if not _ref_matches(kb, caution.target, ing):
                continue
            if ctx.age_years is None:
                questions.append(f"Age unknown: it matters for {name} ({caution.message})")
            elif caution.max_age_years is not None and ctx.age_years < caution.max_age_years:
                warnings.append(SafetyWarning(caution.severity, "paediatric", f"{name} at age {ctx.age_years:.1f}: {caution.message}", caution.source.cite(), [ing]))
    return warnings


def _requirement_checks(kb: KnowledgeBase, ctx: PatientContext, regimen: Regimen, questions: list[str]) -> list[SafetyWarning]:
    warnings: list[SafetyWarning] = []
    if "potassium" in regimen.requires:
        if ctx.potassium is None:
            questions.append(f"No potassium on record: needed before starting {regimen.label}.")
        elif ctx.potassium >= 5.0:
            warnings.append(SafetyWarning(
                "major", "potassium",
                f"Potassium {ctx.potassium:.1f} mmol/L (5.0 or higher): {regimen.label} raises potassium further; correct or monitor before starting.",
                "", list(regimen.ingredients),
            ))
    if "egfr" in regimen.requires and ctx.kidney.egfr is None:
        questions.append(f"No eGFR or creatinine on record: needed for {regimen.label}.")
    if regimen.dose.per_kg and ctx.weight_kg is None:
        questions.append(f"No weight on record: needed for mg/kg dosing of {regimen.label}.")
    for ing in regimen.ingredients:
        if ing in ctx.medications:
            warnings.append(SafetyWarning(
                "minor", "duplicate",
                f"Already taking {kb.ingredient(ing).name} ({ctx.medication_labels.get(ing, 'current medication')}).",
                "", [ing],
            ))
    return warnings


def _dose_for_patient(regimen: Regimen, ctx: PatientContext) -> str | None:
    dose = regimen.dose
    if not dose.per_kg or dose.mg_per_kg_per_day is None or ctx.weight_kg is None:
        return None
    low, high = (v * ctx.weight_kg for v in dose.mg_per_kg_per_day)
    capped = ""
    if dose.max_daily_mg is not None and high > dose.max_daily_mg:
        low, high = min(low, dose.max_daily_mg), dose.max_daily_mg
        capped = f", capped at the {dose.max_daily_mg:.0f} mg/day maximum"
    amount = f"{low:.0f} mg/day" if abs(high - low) < 0.5 else f"{low:.0f}-{high:.0f} mg/day"
    return f"At {ctx.weight_kg:.1f} kg ({ctx.weight_note}): {amount}{capped}"


# the recommendation -------------------------------------------------------------
def recommend(
    ctx: PatientContext,
    kb: KnowledgeBase | None = None,
    scorer: IngredientScorer | None = None,
    model_info: dict[str, str] | None = None,
    model_note: str | None = None,
    only_conditions: list[str] | None = None,
) -> Recommendation:
    """Build the recommendation for ``ctx``.

    ``scorer`` maps ingredient ids to the learned recommender's probabilities; it is only used to
    order options that the safety layer left in. ``only_conditions`` restricts to the conditions
    named by the clinician (diagnoses given or findings confirmed).
    """
    kb = kb or default_knowledge()
    questions: list[str] = []
    notes = list(ctx.notes)
    if model_note:
        notes.append(model_note)
    matched = match_conditions(kb, ctx)
    if only_conditions:
        wanted = [normalise_text(w.replace("_", " ")) for w in only_conditions]
        named = ((c, [e for e in evidence if any(w in normalise_text(e) for w in wanted)]) for c, evidence in matched)
        matched = [(c, evidence) for c, evidence in named if evidence]
    if not matched:
        notes.append("No condition in the record matches the treatment tables (pneumonia, influenza, hypertension, type 2 diabetes, heart failure, CKD, COPD, asthma, hyperlipidaemia).")

    for condition, _ in matched:
        questions.extend(condition.questions)
    if matched and ctx.age_years is None:
        questions.append("No birth date on record: adult guidance is shown; children need different options and doses.")

    all_ingredients = sorted({i for c, _ in matched for s in c.scenarios for r in s.regimens for i in r.ingredients})
    model_scores = dict(scorer(ctx, all_ingredients)) if scorer is not None and all_ingredients else {}

    options: list[TreatmentOption] = []
    seen_ids: set[str] = set()
    for condition, evidence in matched:
        for scenario, why in _select_scenarios(kb, condition, ctx, questions):
            for regimen in scenario.regimens:
                if regimen.id in seen_ids or not _age_ok(regimen.min_age_years, None, ctx.age_years):
                    continue
                seen_ids.add(regimen.id)
                options.append(_build_option(kb, ctx, condition, evidence, scenario, why, regimen, model_scores, questions))

    # Acute infections first (they are why the clinician is here today), then each condition's options by score.
    order = {c.id: (c.kind == "chronic", i) for i, (c, _) in enumerate(matched)}
    included = sorted((o for o in options if not o.excluded), key=lambda o: (order[o.condition_id], -o.score, o.label))
    for rank, option in enumerate(included, start=1):
        option.rank = rank
    excluded = [o for o in options if o.excluded]
    return Recommendation(
        patient_id=ctx.patient_id,
        generated_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        knowledge_version=kb.version,
        conditions=[{"id": c.id, "label": c.label, "evidence": "; ".join(e)} for c, e in matched],
        options=included,
        excluded=excluded,
        warnings=current_medication_warnings(kb, ctx, []),
        questions=list(dict.fromkeys(questions)),
        notes=notes,
        inputs=ctx.inputs(),
        model=model_info,
    )


def _build_option(
    kb: KnowledgeBase,
    ctx: PatientContext,
    condition: Condition,
    evidence: list[str],
    scenario: Scenario,
    why: list[str],
    regimen: Regimen,
    model_scores: Mapping[str, float],
    questions: list[str],
) -> TreatmentOption:
    ingredients = list(regimen.ingredients)
    line = regimen.line
    rationale = [f"Condition: {condition.label} - from {'; '.join(evidence)}."]
    preferred = [w for w in regimen.preferred_with if any(normalise_text(w) in normalise_text(c.description) for c in ctx.conditions)]
    if preferred and line != "first_line":
        rationale.append(f"Moved to first line because the patient has {', '.join(preferred)}.")
        line = "first_line"
    rationale.append(f"Guideline: {scenario.label}; {LINE_LABEL[line]} ({regimen.source.cite()}).")
    if why:
        rationale.append("Scenario chosen from: " + "; ".join(why) + ".")
    if regimen.note:
        rationale.append(regimen.note)

    warnings = _allergy_warnings(kb, ctx, ingredients)
    warnings += _interaction_warnings(kb, ctx, ingredients)
    warnings += _kidney_warnings(kb, ctx, ingredients, questions)
    warnings += _population_warnings(kb, ctx, ingredients, questions)
    warnings += _requirement_checks(kb, ctx, regimen, questions)
    warnings.sort(key=lambda w: -SEVERITY_ORDER[w.severity])

    known = [model_scores[i] for i in ingredients if i in model_scores]
    model_score = sum(known) / len(known) if known else None
    if model_score is not None:
        names = ", ".join(f"{kb.ingredient(i).name} {model_scores[i]:.2f}" for i in ingredients if i in model_scores)
        rationale.append(f"Similar patients (learned recommender, synthetic Synthea records): prescribing likelihood {names}.")
    elif model_scores:
        rationale.append("Similar patients: the learned recommender has not seen these ingredients; ordered by guideline only.")

    guideline_score = LINE_WEIGHT[line]
    penalty = min(0.5, sum(WARNING_PENALTY.get(w.severity, 0.0) for w in warnings))
    score = guideline_score + MODEL_WEIGHT * (model_score or 0.0) - penalty
    reasons = [w.message for w in warnings if w.severity == "contraindicated"]
    sources = [regimen.source.cite()] + sorted({w.source for w in warnings if w.source})
    return TreatmentOption(
        option_id=regimen.id,
        label=regimen.label,
        condition_id=condition.id,
        condition=condition.label,
        scenario=scenario.label,
        line=line,
        ingredients=[{"id": i, "name": kb.ingredient(i).name, "rxcui": kb.ingredient(i).rxcui} for i in ingredients],
        dose=regimen.dose.text,
        dose_for_patient=_dose_for_patient(regimen, ctx),
        note=scenario.note,
        guideline_score=guideline_score,
        model_score=None if model_score is None else round(model_score, 4),
        score=round(score, 4),
        rank=None,
        rationale=rationale,
        sources=sources,
        inputs=ctx.inputs(),
        warnings=warnings,
        excluded=bool(reasons),
        exclusion_reasons=reasons,
    )
