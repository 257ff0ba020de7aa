"""From a patient's clinical picture to grouped, ordered, explained, safety-checked treatment.

Order of authority: the guideline tables decide which options exist (chosen by care setting, age,
comorbidities, pregnancy, ejection fraction and stroke-risk score); the patient's current drugs decide
which are already in use (shown as current therapy with what to do: continue, titrate, change the
dose, review, hold, or stop and replace); guideline-directed therapy pillars (HFrEF's four, CKD's,
AF anticoagulation) are each reported as in place, to titrate, to start, to switch or not now, with
the reason; the safety layer decides which options are excluded or not now (shown with the reason,
never dropped) and what warnings each carries; the learned recommender only breaks ties. Missing
inputs that change the answer are returned as questions rather than guessed.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Callable, Literal, Mapping

from medassist.domain import treatment_text as text
from medassist.domain.clinical import EvidenceKind, ProblemEvidence
from medassist.domain.treatment import (
    CHANGE_ORDER,
    OTHER_MEDICATIONS,
    OTHER_PROBLEM,
    SEVERITY_ORDER,
    THIS_VISIT,
    ConditionGroup,
    CurrentTherapy,
    DoseAdvice,
    OrderingParts,
    PillarStatus,
    Recommendation,
    SafetyWarning,
    SettingSource,
    TherapyAction,
    TreatmentOption,
)
from medassist.recommend.criteria import evaluate
from medassist.recommend.knowledge import (
    Condition,
    DoseStep,
    KnowledgeBase,
    PrescribingRule,
    Regimen,
    Scenario,
    default_knowledge,
)
from medassist.recommend.patient import PatientContext

IngredientScorer = Callable[[PatientContext, list[str]], Mapping[str, float]]
_MG = re.compile(r"(\d+(?:\.\d+)?)\s*MG\b", re.IGNORECASE)


# condition matching ------------------------------------------------------------
def _evidence_text(evidence: ProblemEvidence) -> str:
    kind = {EvidenceKind.RECORD: "record", EvidenceKind.NOTE: "note", EvidenceKind.IMAGE: "image",
            EvidenceKind.CLINICIAN: "named by the clinician"}[evidence.kind]
    return f"{evidence.text} ({kind}{', ' + evidence.detail if evidence.detail else ''})"


def match_conditions(kb: KnowledgeBase, ctx: PatientContext) -> list[tuple[Condition, list[ProblemEvidence]]]:
    """Knowledge-base conditions the patient has, through the picture's problem concepts, with their evidence.

    Evidence that also belongs to one of the condition's ``except_concepts`` does not count (a viral
    pneumonia is not bacterial community-acquired pneumonia).
    """
    found: list[tuple[Condition, list[ProblemEvidence]]] = []
    for condition in kb.treatments.conditions:
        problem = ctx.picture.problem(condition.concept)
        if problem is None:
            continue
        excluded = {e for c in condition.except_concepts if (other := ctx.picture.problem(c)) for e in other.evidence}
        evidence = [e for e in problem.evidence if e not in excluded]
        if evidence:
            found.append((condition, evidence))
    return found


def _clinician_named(evidence: list[ProblemEvidence]) -> bool:
    return any(e.kind == EvidenceKind.CLINICIAN for e in evidence)


def _age_ok(min_age: float | None, max_age: float | None, age: float | None) -> bool:
    if age is None:
        return True
    return (min_age is None or age >= min_age) and (max_age is None or age < max_age)


def _comorbidities(kb: KnowledgeBase, ctx: PatientContext) -> list[str]:
    return [p.name for p in ctx.picture.problems if p.concept in kb.treatments.comorbidity_concepts]


def _select_scenarios(kb: KnowledgeBase, condition: Condition, ctx: PatientContext, setting: str | None,
                      questions: list[str]) -> list[tuple[Scenario, list[str]]]:
    """The guideline scenarios that fit the patient's age, the care setting, comorbidities, pregnancy and criteria."""
    chosen: list[tuple[Scenario, list[str]]] = []
    comorbid = _comorbidities(kb, ctx)
    assumed = setting is None
    setting = setting or "outpatient"
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
            why.append(f"setting: {text.SETTING_LABEL[setting]}{' (assumed)' if assumed else ''}")
        if scenario.comorbidities == "with" and not comorbid or scenario.comorbidities == "without" and comorbid:
            continue
        if scenario.comorbidities == "with":
            why.append("comorbidities: " + ", ".join(comorbid[:4]))
        if scenario.comorbidities == "without":
            why.append("no listed comorbidities in the record")
        verdict = evaluate(scenario.when, ctx, kb)
        if verdict.value is None:
            questions.append(f"{condition.label}: {scenario.undecided or scenario.label} - cannot tell: "
                             + "; ".join(verdict.unknown) + ".")
            continue
        if not verdict.value:
            continue
        why += verdict.met
        if scenario.ask:
            questions.append(f"{condition.label}: {scenario.ask}")
        if ctx.age_years is not None:
            why.append(f"age {ctx.age_years:.1f} years")
        chosen.append((scenario, why))
    if not chosen and ctx.age_years is not None and ctx.age_years < 0.25 and condition.kind != "chronic":
        questions.append(f"{condition.label}: the patient is younger than 3 months, outside the paediatric guideline's scope; seek specialist advice.")
    return chosen


def critical_illness_signs(kb: KnowledgeBase, ctx: PatientContext) -> list[str]:
    """Signs of sepsis or septic shock: the picture's sepsis signs, a sepsis problem, a current vasopressor,
    and a current-episode lactate of 4 mmol/L or more (or above 2 with a vasopressor)."""
    spec = kb.treatments.critical_illness
    signs = list(ctx.picture.sepsis_signs)
    pressors = ctx.taking(kb, f"class:{spec.vasopressor_class}")
    if pressors:
        names = ", ".join(ctx.medication_labels.get(i, kb.ingredient(i).name) for i in pressors)
        signs.append(f"vasopressor in the current medications ({names})")
    sepsis = ctx.picture.problem(spec.concept)
    if sepsis is not None:
        signs += [_evidence_text(e) for e in sepsis.evidence]
    lactate = ctx.picture.current_measures.get("lactate")
    if lactate is not None:
        when = "" if lactate.date is None else f" on {lactate.date.isoformat()}"
        said = f"lactate {lactate.value:.1f} mmol/L{when}"
        if lactate.value >= spec.hypoperfusion_lactate_mmol_l:
            signs.append(f"{said}: {spec.hypoperfusion_lactate_mmol_l:g} mmol/L or more (hypoperfusion)")
        elif pressors and lactate.value > spec.sepsis3_lactate_mmol_l:
            signs.append(f"{said} with a vasopressor: Sepsis-3 septic shock if fluid resuscitation was adequate")
    return list(dict.fromkeys(signs))


# safety checks ------------------------------------------------------------------
def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _name(kb: KnowledgeBase, ctx: PatientContext, ingredient: str) -> str:
    return ctx.medication_labels.get(ingredient, kb.ingredient(ingredient).name)


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


def _interaction_warnings(kb: KnowledgeBase, ctx: PatientContext, ingredients: list[str],
                          replaced: frozenset[str] = frozenset()) -> list[SafetyWarning]:
    """Interactions of a new regimen with current drugs (except those it replaces) and within itself."""
    warnings: list[SafetyWarning] = []
    seen: set[tuple[str, str, str]] = set()
    current = [m for m in ctx.medications if m not in replaced]
    pairs = [(ing, cur, True) for ing in ingredients for cur in current if cur != ing]
    pairs += [(a, b, False) for i, a in enumerate(ingredients) for b in ingredients[i + 1:]]
    for x, y, with_current in pairs:
        for rule in kb.interactions_between(x, y):
            key = (min(x, y), max(x, y), rule.severity)  # the first (most specific) rule per pair and severity
            if key in seen:
                continue
            seen.add(key)
            other = f"current medication {kb.ingredient(y).name}" if with_current else f"{kb.ingredient(y).name} in the same regimen"
            warnings.append(SafetyWarning(
                rule.severity, "interaction",
                f"{kb.ingredient(x).name} with {other}: {rule.effect} {rule.management}",
                rule.source.cite(), [x, y],
            ))
    combined = set(current) | set(ingredients)
    for triple in kb.safety.three_way_interactions:
        groups = [{i for ref in group for i in kb.members(ref)} for group in triple.members]
        if all(g & combined for g in groups) and any(g & set(ingredients) for g in groups):
            involved = sorted({i for g in groups for i in g & combined})
            names = ", ".join(kb.ingredient(i).name for i in involved)
            warnings.append(SafetyWarning(triple.severity, "interaction", f"{names}: {triple.effect} {triple.management}", triple.source.cite(), involved))
    return warnings


def _kidney_warnings(kb: KnowledgeBase, ctx: PatientContext, ingredients: list[str], questions: list[str],
                     current: bool = False) -> list[SafetyWarning]:
    """Kidney limits by band; a drug already taken gets the band's current-use action (keep, reduce, stop)."""
    warnings: list[SafetyWarning] = []
    for ing in ingredients:
        name = kb.ingredient(ing).name
        for rule in kb.safety.renal:
            if ing not in kb.members(rule.ingredient):
                continue
            value, note = ctx.kidney_value(rule.measure)
            if value is None:
                questions.append(f"{_sentence(note)}: needed to check the dose of {name} (limits by kidney function).")
                continue
            for band in rule.bands:
                if band.min_egfr <= value < band.max_egfr:
                    severity, action, change = band.for_current() if current else (band.severity, band.action, "")
                    warnings.append(SafetyWarning(
                        severity, "kidney", f"{name} at {rule.measure} {value:.0f} ({note}): {action}",
                        rule.source.cite(), [ing], change=change, reason=f"{rule.measure} {value:.0f}",  # type: ignore[arg-type]
                    ))
        if ing in kb.safety.renally_cleared_without_numbers:
            egfr = ctx.value("egfr")
            if egfr is None:
                questions.append(f"{_sentence(ctx.no_egfr())}: {name} is cleared by the kidneys and its dosing interval depends on kidney function.")
            elif egfr < 50:
                warnings.append(SafetyWarning(
                    "moderate", "kidney",
                    f"{name} is cleared by the kidneys; at eGFR {egfr:.0f} check the label or local guidance for the dose and interval (not encoded here).",
                    "", [ing], change="review", reason=f"eGFR {egfr:.0f}: dose by the label",
                ))
    return warnings


def _population_warnings(kb: KnowledgeBase, ctx: PatientContext, ingredients: list[str], questions: list[str]) -> list[SafetyWarning]:
    warnings: list[SafetyWarning] = []
    for ing in ingredients:
        name = kb.ingredient(ing).name
        for caution in kb.safety.pregnancy:
            if ing not in kb.members(caution.target):
                continue
            if ctx.pregnant is True:
                warnings.append(SafetyWarning(caution.severity, "pregnancy", f"{name} in pregnancy: {caution.message}",
                                              caution.source.cite(), [ing],
                                              change="stop" if caution.severity == "contraindicated" else "review"))
            elif ctx.pregnant is None and ctx.could_be_pregnant:
                questions.append(f"Pregnancy status unknown: it matters for {name} ({caution.message})")
        for caution in kb.safety.paediatric:
            if ing not in kb.members(caution.target):
                continue
            if ctx.age_years is None:
                questions.append(f"Age unknown: it matters for {name} ({caution.message})")
            elif caution.max_age_years is not None and ctx.age_years < caution.max_age_years:
                warnings.append(SafetyWarning(caution.severity, "paediatric", f"{name} at age {ctx.age_years:.1f}: {caution.message}", caution.source.cite(), [ing]))
    return warnings


def _rule_warnings(kb: KnowledgeBase, ctx: PatientContext, ingredients: list[str], use: Literal["new", "current"],
                   questions: list[str]) -> list[SafetyWarning]:
    """Prescribing rules (potassium, blood pressure, heart rate, heart failure) and the older-adult criteria
    (AGS Beers 2023, STOPP/START v3) for a new regimen or for drugs already taken."""
    older = ctx.age_years is not None and ctx.age_years >= kb.safety.older_adult_age
    rules: list[PrescribingRule] = list(kb.safety.prescribing_rules) + (list(kb.safety.older_adult_rules) if older else [])
    warnings: list[SafetyWarning] = []
    for rule in rules:
        if use not in rule.applies_to:
            continue
        hit = [i for i in ingredients if any(i in kb.members(t) for t in rule.targets)]
        if not hit:
            continue
        verdict = evaluate(rule.when, ctx, kb)
        names = ", ".join(_name(kb, ctx, i) for i in hit)
        if verdict.value is None:
            if SEVERITY_ORDER[rule.severity] >= SEVERITY_ORDER["major"]:
                article = "an" if rule.kind[:1] in "aeiou" else "a"
                questions.append(f"Not recorded, so {article} {rule.kind} check could not be made: {'; '.join(verdict.unknown)}.")
            continue
        if not verdict.value:
            continue
        found = "; ".join(verdict.met)
        alternative = f" Instead: {rule.alternative}." if rule.alternative else ""
        said = f"{rule.message} ({found}).{alternative}"
        warnings.append(SafetyWarning(
            rule.severity, rule.kind, said if use == "current" else f"{names}: {said}", rule.source.cite(), hit,
            not_now=rule.not_now, change=rule.change, reason=found + (f"; instead: {rule.alternative}" if rule.alternative else ""),
        ))
    return warnings


def _shared_reasons(options: list[TreatmentOption]) -> list[str]:
    """Why a pillar's options are excluded, each reason once with every drug it holds for ("sacubitril, valsartan,
    lisinopril: not now: correct the potassium first ..."), not once per drug."""
    drugs_by_reason: dict[str, list[str]] = {}
    for option in options:
        for warning in option.warnings:
            if warning.severity != "contraindicated":
                continue
            names, _, said = warning.message.partition(": ")
            drugs = drugs_by_reason.setdefault(said, [])
            drugs += [name for name in names.split(", ") if name not in drugs]
    return [f"{', '.join(drugs)}: {said}" for said, drugs in drugs_by_reason.items()]


def _listed_mg(label: str) -> float | None:
    found = _MG.search(label)
    return None if found is None else float(found.group(1))


def dose_advice(kb: KnowledgeBase, ctx: PatientContext, ingredient: str,
                questions: list[str]) -> tuple[DoseAdvice, DoseStep | None] | None:
    """The label's dose for this patient (DOACs: age, weight, creatinine, CrCl, interacting drugs) and the step
    that set it (None: the standard dose), or None when the drug has no dose rule."""
    rule = next((r for r in kb.safety.dose_rules if r.ingredient == ingredient), None)
    if rule is None:
        return None
    name = kb.ingredient(ingredient).name
    unknown: list[str] = []
    for step in rule.steps:
        verdict = evaluate(step.when, ctx, kb)
        if verdict.value:
            source = (step.source or rule.source).cite()
            return DoseAdvice(step.dose or "do not use", True, verdict.met, unknown, source), step
        if verdict.value is None:
            unknown += verdict.unknown
    unknown = list(dict.fromkeys(unknown))
    if unknown:
        questions.append(f"{name}: the label's dose depends on {'; '.join(unknown)} - record it to choose the dose.")
    return DoseAdvice(rule.standard, False, [], unknown, rule.source.cite()), None


def _dose_warnings(kb: KnowledgeBase, ctx: PatientContext, ingredients: list[str], questions: list[str],
                   current: bool = False) -> tuple[list[SafetyWarning], DoseAdvice | None]:
    """Warnings from a label's dose rule: avoid, a reduced dose, or a dose that could not be verified."""
    warnings: list[SafetyWarning] = []
    advice: DoseAdvice | None = None
    for ing in ingredients:
        found = dose_advice(kb, ctx, ing, questions)
        if found is None:
            continue
        advice, step = found
        name = kb.ingredient(ing).name
        because = "; ".join(advice.met)
        if step is not None and step.avoid:
            warnings.append(SafetyWarning(step.severity, "dose", f"{name}: not recommended ({because}).", advice.source,
                                          [ing], change="stop", reason=because))
        elif step is not None:
            listed = _listed_mg(ctx.medication_labels.get(ing, "")) if current else None
            wanted = _listed_mg(advice.dose)
            if current and listed is not None and wanted is not None and listed > wanted:
                warnings.append(SafetyWarning("major", "dose", f"{name}: the label's dose for this patient is {advice.dose} "
                                              f"({because}); the record lists {listed:g} mg.", advice.source, [ing], change="dose",
                                              reason=f"label dose {advice.dose}: {because}"))
            else:
                warnings.append(SafetyWarning("moderate" if current else "minor", "dose",
                                              f"{name}: reduced dose {advice.dose} ({because}).", advice.source, [ing],
                                              change="review" if current else "", reason=f"check the dose is {advice.dose}"))
        if advice.unknown:
            warnings.append(SafetyWarning("moderate", "dose", f"{name}: dose not verified - the label's criteria need "
                                          f"{'; '.join(advice.unknown)}.", advice.source, [ing], change="review" if current else "",
                                          reason="dose not verified (missing inputs)"))
    return warnings, advice


def _requirement_questions(regimen: Regimen, ctx: PatientContext, questions: list[str]) -> None:
    if "potassium" in regimen.requires and ctx.value("potassium") is None:
        questions.append(f"No potassium on record: needed before starting {regimen.label}.")
    if "egfr" in regimen.requires and ctx.value("egfr") is None:
        questions.append(f"{_sentence(ctx.no_egfr())}: needed for {regimen.label}.")
    if regimen.dose.per_kg and ctx.weight_kg is None:
        questions.append(f"No weight on record: needed for mg/kg dosing of {regimen.label}.")


def _per_kg_dose(regimen: Regimen, ctx: PatientContext) -> str | None:
    dose = regimen.dose
    if not dose.per_kg or dose.mg_per_kg_per_day is None or ctx.weight_kg is None:
        return None
    low, high = (v * ctx.weight_kg for v in dose.mg_per_kg_per_day)
    capped = ""
    if dose.max_daily_mg is not None and high > dose.max_daily_mg:
        low, high = min(low, dose.max_daily_mg), dose.max_daily_mg
        capped = f", capped at the {dose.max_daily_mg:.0f} mg/day maximum"
    amount = f"{low:.0f} mg/day" if abs(high - low) < 0.5 else f"{low:.0f}-{high:.0f} mg/day"
    weight = ctx.picture.weight
    where = "" if weight is None else weight.source
    return f"At {ctx.weight_kg:.1f} kg ({where}): {amount}{capped}"


def current_medication_warnings(kb: KnowledgeBase, ctx: PatientContext, questions: list[str]) -> list[SafetyWarning]:
    """Problems with what the patient already takes: kidney limits, pregnancy, potassium and other prescribing
    rules, older-adult criteria, label doses, and interactions among the current drugs."""
    warnings: list[SafetyWarning] = []
    meds = ctx.medications
    single = (_kidney_warnings(kb, ctx, meds, questions, current=True) + _population_warnings(kb, ctx, meds, questions)
              + _rule_warnings(kb, ctx, meds, "current", questions) + _dose_warnings(kb, ctx, meds, questions, current=True)[0])
    for warning in single:  # one warning per drug it holds for, naming that drug (two anticholinergics in dementia)
        for drug in warning.involves or [""]:
            label = ctx.medication_labels.get(drug, "")
            warnings.append(SafetyWarning(warning.severity, warning.kind, f"Current medication ({label}): {warning.message}",
                                          warning.source, [drug] if drug else [], change=warning.change,
                                          reason=warning.reason))
    for i, x in enumerate(meds):
        for y in meds[i + 1:]:
            rules = {rule.severity: rule for rule in reversed(kb.interactions_between(x, y))}
            for rule in rules.values():
                warnings.append(SafetyWarning(
                    rule.severity, "interaction",
                    f"Current medications {kb.ingredient(x).name} and {kb.ingredient(y).name}: {rule.effect} {rule.management}",
                    rule.source.cite(), [x, y], change="review" if SEVERITY_ORDER[rule.severity] >= SEVERITY_ORDER["major"] else "",
                    reason=f"{kb.ingredient(x).name} with {kb.ingredient(y).name}: {rule.severity} interaction",
                ))
    for triple in kb.safety.three_way_interactions:
        groups = [{i for ref in group for i in kb.members(ref)} & set(meds) for group in triple.members]
        if all(groups):
            involved = sorted(set().union(*groups))
            names = ", ".join(kb.ingredient(i).name for i in involved)
            warnings.append(SafetyWarning(triple.severity, "interaction", f"Current medications {names}: {triple.effect} {triple.management}",
                                          triple.source.cite(), involved, change="review", reason=f"{triple.id.replace('_', ' ')}: {names}"))
    return sorted(warnings, key=lambda w: -SEVERITY_ORDER[w.severity])


def _risk_factor_warnings(kb: KnowledgeBase, ctx: PatientContext, matched: list[Condition]) -> list[SafetyWarning]:
    """A condition's risk factor that is a current drug (AF: an NSAID or antiplatelet raising bleeding risk) on that drug."""
    warnings: list[SafetyWarning] = []
    for condition in matched:
        for factor in condition.risk_factors:
            refs = [c.taking for c in factor.when.criteria if c.taking and not c.negate]
            if not factor.change or not refs or not evaluate(factor.when, ctx, kb).value:
                continue
            for med in dict.fromkeys(m for ref in refs for m in ctx.taking(kb, ref)):
                label = ctx.medication_labels.get(med, kb.ingredient(med).name)
                warnings.append(SafetyWarning(
                    factor.severity, "bleeding risk", f"Current medication ({label}): {condition.risk_factor_title} "
                    f"with {condition.label.lower()}: {factor.says}.", factor.source.cite(), [med], change=factor.change,
                    reason=f"{condition.risk_factor_title.lower()}: {factor.says}"))
    return warnings


# current therapy -----------------------------------------------------------------
def _condition_ingredients(condition: Condition) -> set[str]:
    return {i for s in condition.scenarios for r in s.regimens for i in r.ingredients}


def _treats(kb: KnowledgeBase, condition: Condition, ingredient: str) -> bool:
    """Whether a drug the patient takes is one of the condition's guideline drugs, of their class, or of the drugs
    that treat it besides them (a sulfonylurea for type 2 diabetes)."""
    offered = _condition_ingredients(condition)
    return (ingredient in offered or any(ingredient in kb.members(ref) for ref in condition.treated_by)
            or bool(kb.therapeutic_classes_of(ingredient) & {c for i in offered for c in kb.therapeutic_classes_of(i)}))


def _already_taken(kb: KnowledgeBase, ctx: PatientContext, regimen: Regimen, replaced: set[str]) -> list[str]:
    """Current drugs that are, or share a therapeutic class with, an ingredient of ``regimen`` (switches aside)."""
    return [
        med for med in ctx.medications if med not in replaced
        and any(med == ing or kb.therapeutic_classes_of(med) & kb.therapeutic_classes_of(ing) for ing in regimen.ingredients)
    ]


def _therapy_action(warnings: list[SafetyWarning], acute_severe: bool) -> tuple[TherapyAction, list[str]]:
    """The most urgent change the warnings ask of a current drug (a minor warning asks none), and why."""
    asking = [w for w in warnings if w.severity != "minor"]
    change = max((w.change for w in asking), key=CHANGE_ORDER.__getitem__, default="")
    reasons = list(dict.fromkeys(w.reason or w.message for w in asking if w.change == change)) if change else []
    if change:
        return change, reasons  # type: ignore[return-value]
    return ("acute review" if acute_severe else "continue"), []


def _current_therapy(kb: KnowledgeBase, ctx: PatientContext, matched: list[Condition], acute_severe: bool,
                     warnings: list[SafetyWarning]) -> list[CurrentTherapy]:
    """One entry per medication line of the record (its ingredients together), with the conditions it treats."""
    by_label: dict[str, list[str]] = {}
    for med in ctx.medications:
        by_label.setdefault(ctx.medication_labels.get(med, kb.ingredient(med).name), []).append(med)
    therapies = []
    for label, meds in by_label.items():
        mine = [w for w in warnings if set(meds) & set(w.involves)]
        action, reasons = _therapy_action(mine, acute_severe)
        therapies.append(CurrentTherapy(
            option_id="current_" + "_".join(meds), ingredients=meds, name="/".join(kb.ingredient(m).name for m in meds),
            record_label=label, condition_ids=[c.id for c in matched if any(_treats(kb, c, m) for m in meds)],
            plan=text.therapy_plan(action, reasons, []), warnings=mine, action=action, reasons=reasons,
        ))
    return therapies


# options -------------------------------------------------------------------------------
@dataclass
class _Built:
    """An option and the regimen it came from, while the plan is assembled."""

    option: TreatmentOption
    regimen: Regimen


def _build_option(kb: KnowledgeBase, ctx: PatientContext, condition: Condition, evidence: list[ProblemEvidence],
                  scenario: Scenario, why: list[str], regimen: Regimen, replaced: list[str],
                  model_scores: Mapping[str, float], questions: list[str], position: int) -> TreatmentOption:
    ingredients = list(regimen.ingredients)
    line = regimen.line
    rationale = [f"Condition: {condition.label} - from {'; '.join(_evidence_text(e) for e in evidence)}."]
    preferred = evaluate(regimen.preferred_when, ctx, kb) if regimen.preferred_when else None
    if replaced and regimen.switch_line is not None:
        line = regimen.switch_line  # a switch from a drug already taken has its own line (warfarin -> DOAC)
    elif preferred is not None and preferred.value and line != "first_line":
        rationale.append(f"Moved to first line because of {', '.join(preferred.met)}.")
        line = "first_line"
    rationale.append(f"Guideline: {scenario.label}; {text.line_label(line)} ({regimen.source.cite()})"
                     + (f"; {regimen.grade}" if regimen.grade else "") + ".")
    if why:
        rationale.append("Scenario chosen from: " + "; ".join(why) + ".")
    if replaced:
        names = ", ".join(_name(kb, ctx, r) for r in replaced)
        rationale.append(f"Switch from {names}." + (f" {regimen.switch_note}" if regimen.switch_note else ""))
    if regimen.note:
        rationale.append(regimen.note)

    replaced_set = frozenset(replaced)
    warnings = _allergy_warnings(kb, ctx, ingredients)
    warnings += _interaction_warnings(kb, ctx, ingredients, replaced_set)
    warnings += _kidney_warnings(kb, ctx, ingredients, questions)
    warnings += _population_warnings(kb, ctx, ingredients, questions)
    warnings += _rule_warnings(kb, ctx, ingredients, "new", questions)
    dose_warnings, advice = _dose_warnings(kb, ctx, ingredients, questions)
    warnings += dose_warnings
    _requirement_questions(regimen, ctx, questions)
    warnings.sort(key=lambda w: -SEVERITY_ORDER[w.severity])

    known = [model_scores[i] for i in ingredients if i in model_scores]
    similarity = round(sum(known) / len(known), 4) if known else None
    if similarity is not None:
        names = ", ".join(f"{kb.ingredient(i).name} {model_scores[i]:.2f}" for i in ingredients if i in model_scores)
        rationale.append(f"Similar patients (learned recommender, synthetic Synthea records; tie-break only): prescribing likelihood {names}.")
    major = any(SEVERITY_ORDER[w.severity] >= SEVERITY_ORDER["major"] for w in warnings)
    reasons = [w.message for w in warnings if w.severity == "contraindicated"]
    sources = [regimen.source.cite()] + sorted({w.source for w in warnings if w.source})
    dose_for_patient = _per_kg_dose(regimen, ctx)
    if advice is not None:
        dose_for_patient = text.dose_advice_text(advice)
    return TreatmentOption(
        option_id=regimen.id, label=regimen.label, condition_id=condition.id, condition=condition.label,
        scenario=scenario.label, line=line,
        ingredients=[{"id": i, "name": kb.ingredient(i).name, "rxcui": kb.ingredient(i).rxcui or ""} for i in ingredients],
        dose=regimen.dose.text, dose_for_patient=dose_for_patient, note=scenario.note,
        ordering=OrderingParts(line, major, similarity, position), rank=None, rationale=rationale, sources=sources,
        inputs=ctx.inputs(), warnings=warnings, excluded=bool(reasons), exclusion_reasons=reasons,
        guideline=regimen.source.name, grade=regimen.grade, pillar=regimen.pillar, replaces=list(replaced),
        dose_advice=advice,
    )


def _pillar_statuses(kb: KnowledgeBase, ctx: PatientContext, scenarios: list[Scenario], built: list[_Built],
                     treated: list[CurrentTherapy], not_indicated: dict[str, list[str]]) -> list[PillarStatus]:
    """Each guideline-directed therapy pillar: in place (titrate, review or switch), start, not now, not indicated."""
    statuses: list[PillarStatus] = []
    for pillar in dict.fromkeys(p for s in scenarios for p in s.pillars):
        regimens = [r for s in scenarios for r in s.regimens if r.pillar == pillar]
        classes = {c for r in regimens for i in r.ingredients for c in kb.therapeutic_classes_of(i) | {i}}
        in_place = [t for t in treated if any(m in classes or kb.therapeutic_classes_of(m) & classes for m in t.ingredients)]
        mine = [b.option for b in built if b.regimen.pillar == pillar]
        offered = [o for o in mine if not o.excluded]
        if in_place:
            therapy = in_place[0]
            switches = [o for o in offered if o.replaces and set(o.replaces) & set(therapy.ingredients)]
            if switches and switches[0].line == "first_line" and therapy.action in ("continue", "titrate"):
                switch = switches[0]
                statuses.append(PillarStatus(pillar, "switch", f"{therapy.record_label} -> {switch.label}",
                                             [therapy.option_id, switch.option_id]))
                note = next((b.regimen.switch_note for b in built if b.option is switch), "")
                therapy.action, therapy.reasons, therapy.replacements = "switch", [note] if note else [], [switch.option_id]
                therapy.plan = text.therapy_plan("switch", therapy.reasons, [switch.label])
            elif therapy.action in ("stop", "hold", "review", "dose", "switch"):
                statuses.append(PillarStatus(pillar, "switch" if therapy.action == "switch" else "review",
                                             f"{therapy.record_label}: {therapy.plan}", [therapy.option_id]))
            else:
                regimen = next((r for r in regimens if set(r.ingredients) & set(therapy.ingredients)), None)
                if regimen is not None and regimen.titration:
                    statuses.append(PillarStatus(pillar, "titrate", f"{therapy.record_label}: titrate to {regimen.titration} "
                                                 "if tolerated", [therapy.option_id]))
                    _titrate(therapy, f"{pillar}: {regimen.titration}")
                else:  # a fixed or monitored dose (statin in CKD, warfarin by INR, a DOAC by its label)
                    statuses.append(PillarStatus(pillar, "in place", therapy.record_label, [therapy.option_id]))
        elif offered:
            best = min(offered, key=lambda o: o.ordering.key())
            statuses.append(PillarStatus(pillar, "switch" if best.replaces else "start", best.label, [o.option_id for o in offered]))
        elif elsewhere := [r for r in not_indicated.get(pillar, []) if r.startswith("start: ")]:
            # an option of this pillar is offered under another condition (an SGLT2 inhibitor under type 2 diabetes),
            # even if this condition's other options of it are excluded
            statuses.append(PillarStatus(pillar, "start", elsewhere[0][len("start: "):]))
        elif mine:
            statuses.append(PillarStatus(pillar, "not now" if any(o.not_now for o in mine) else "excluded",
                                         "; ".join(_shared_reasons(mine)), [o.option_id for o in mine]))
        elif not_indicated.get(pillar):
            reasons = list(dict.fromkeys(not_indicated[pillar]))
            undecided = any(r.startswith("cannot tell") for r in reasons)
            statuses.append(PillarStatus(pillar, "undecided" if undecided else "not indicated", "; ".join(reasons)))
    return statuses


def _titrate(therapy: CurrentTherapy, target: str) -> None:
    therapy.action, therapy.reasons = "titrate", [target]
    therapy.plan = text.therapy_plan("titrate", therapy.reasons, [])


def _pillar_in_place(kb: KnowledgeBase, ctx: PatientContext, scenario: Scenario, pillar: str) -> list[str]:
    """Current drugs that fill ``pillar`` of ``scenario`` (same drug or therapeutic class as one of its regimens)."""
    if not pillar:
        return []
    classes = {c for r in scenario.regimens if r.pillar == pillar for i in r.ingredients for c in kb.therapeutic_classes_of(i) | {i}}
    return [m for m in ctx.medications if m in classes or kb.therapeutic_classes_of(m) & classes]


def _ranker_note(options: list[TreatmentOption], scorer_used: bool, model_note: str | None) -> str | None:
    """One sentence on what the learned recommender added for this patient (said once, not per row)."""
    if not scorer_used:
        return model_note
    if not options:
        return None
    known = [o for o in options if o.ordering.similarity is not None]
    with_model = [o.option_id for o in sorted(options, key=lambda o: o.ordering.key())]
    without = [o.option_id for o in sorted(options, key=lambda o: o.ordering.key(use_similarity=False))]
    if not known:
        return "The learned recommender knows none of the offered ingredients, so it adds nothing to the order for this patient."
    if with_model == without:
        return (f"The learned recommender knows the ingredients of {len(known)} of {len(options)} options but breaks no tie "
                "for this patient; the order is guideline line and safety only.")
    return (f"The learned recommender broke ties among options of the same line and safety for this patient "
            f"({len(known)} of {len(options)} options have ingredients it knows).")


def _care_setting(kb: KnowledgeBase, ctx: PatientContext, questions: list[str]) -> tuple[str | None, SettingSource, str, list[str]]:
    """The setting the plan uses: sepsis signs make it ICU; else the clinician's choice; else what the scores
    suggest (said, and asked to confirm); else outpatient is assumed and asked for."""
    care = ctx.picture.care_setting
    signs = critical_illness_signs(kb, ctx)
    alerts: list[str] = []
    if signs:
        spec = kb.treatments.critical_illness
        alerts.append("Sepsis or septic shock in the record: " + "; ".join(signs) + ". " + spec.message
                      + " Sources: " + "; ".join(src.cite() for src in spec.sources) + ".")
        return "severe", "sepsis", text.setting_note("severe", "sepsis", chosen=care.chosen), alerts
    if care.chosen is not None:
        return care.chosen, "chosen", text.setting_note(care.chosen, "chosen"), alerts
    if care.suggested is not None:
        questions.append(text.setting_question(care.suggested, care.reason))
        return care.suggested, "suggested", text.setting_note(care.suggested, "suggested", care.reason), alerts
    return None, "assumed", text.setting_note(None, "assumed"), alerts


def recommend(
    ctx: PatientContext,
    kb: KnowledgeBase | None = None,
    scorer: IngredientScorer | None = None,
    model_info: dict[str, str] | None = None,
    model_note: str | None = None,
    only_conditions: list[str] | None = None,
) -> Recommendation:
    """Build the recommendation for ``ctx``.

    ``scorer`` maps ingredient ids to the learned recommender's probabilities; it only breaks ties
    between options of the same guideline line and safety. ``only_conditions`` restricts the plan to
    the conditions the clinician named (diagnoses given or findings confirmed).
    """
    kb = kb or default_knowledge()
    questions: list[str] = []
    notes = list(ctx.notes)
    matched = match_conditions(kb, ctx)
    if only_conditions:
        named = set(only_conditions)
        matched = [(c, ev) for c, ev in matched if any(e.kind == EvidenceKind.CLINICIAN and e.text in named for e in ev)]
    if not matched:
        labels = ", ".join(c.label for c in kb.treatments.conditions)
        notes.append(f"No condition in the record matches the treatment tables ({labels}).")

    setting, setting_source, setting_note, alerts = _care_setting(kb, ctx, questions)
    acute_severe = setting == "severe"

    def role(condition: Condition, evidence: list[ProblemEvidence]) -> str:
        return THIS_VISIT if condition.kind != "chronic" or _clinician_named(evidence) else OTHER_PROBLEM

    matched.sort(key=lambda pair: (role(*pair) != THIS_VISIT, pair[0].kind == "chronic"))
    for condition, _ in matched:
        needs_setting = any(s.setting != "any" for s in condition.scenarios)
        if needs_setting and setting is None:
            age_group: Literal["adult", "child"] = "child" if ctx.is_child else "adult"
            said = condition.setting_questions.get(age_group, "Care setting (outpatient, ward, ICU): the regimens differ.")
            questions.append(f"{condition.label}: {said} Outpatient is assumed until the setting is chosen.")
    if matched and ctx.age_years is None:
        questions.append("No birth date on record: adult guidance is shown; children need different options and doses.")

    current_warnings = current_medication_warnings(kb, ctx, questions)
    current_warnings += _risk_factor_warnings(kb, ctx, [c for c, _ in matched])
    current_warnings.sort(key=lambda w: -SEVERITY_ORDER[w.severity])
    therapies = _current_therapy(kb, ctx, [c for c, _ in matched], acute_severe, current_warnings)
    all_ingredients = sorted({i for c, _ in matched for s in c.scenarios for r in s.regimens for i in r.ingredients})
    model_scores = dict(scorer(ctx, all_ingredients)) if scorer is not None and all_ingredients else {}
    scores = [ctx.scores[name] for c, _ in matched for name in c.scores if name in ctx.scores]

    groups: list[ConditionGroup] = []
    built: list[_Built] = []
    offered_sets: dict[frozenset[str], str] = {}
    seen_ids: set[str] = set()
    for condition, evidence in matched:
        group_role = role(condition, evidence)
        treated = [t for t in therapies if condition.id in t.condition_ids]
        group = ConditionGroup(condition.id, condition.label, group_role, "; ".join(_evidence_text(e) for e in evidence),
                               "", [t.option_id for t in treated], [], [])
        groups.append(group)
        if condition.kind == "chronic" and acute_severe:
            group.plan = ("current therapy: review during the acute illness; no new drug started" if treated
                          else "review after the acute episode: no chronic therapy is started in an acute severe illness")
            continue
        scenarios = _select_scenarios(kb, condition, ctx, setting, questions)
        gdmt = any(s.pillars for s, _ in scenarios)
        replacing = any(t.action == "stop" for t in treated)
        if condition.kind == "chronic" and group_role == OTHER_PROBLEM and treated and not gdmt and not replacing:
            group.plan = text.group_plan(0, [t.action for t in treated], [], False)
            continue
        questions.extend(condition.questions_for(ctx.is_child))
        group.findings = _group_findings(kb, ctx, condition)
        only_pillars = bool(treated) and gdmt and not replacing
        mine: list[_Built] = []
        not_indicated: dict[str, list[str]] = {}
        position = 0
        for scenario, why in scenarios:
            if only_pillars and not scenario.pillars:
                continue
            for regimen in scenario.regimens:
                position += 1
                if regimen.id in seen_ids or not _age_ok(regimen.min_age_years, None, ctx.age_years):
                    continue
                if regimen.settings and (setting or "outpatient") not in regimen.settings:
                    group.not_offered.append(f"{regimen.label}: not for the {text.SETTING_LABEL[setting or 'outpatient']} setting.")
                    continue
                indicated = evaluate(regimen.indicated_when, ctx, kb)
                if not indicated.value:
                    reason = (f"cannot tell whether indicated: {'; '.join(indicated.unknown)}" if indicated.value is None
                              else f"not indicated: {'; '.join(indicated.unmet)}")
                    group.not_offered.append(f"{regimen.label}: {reason}.")
                    if indicated.value is None:
                        questions.append(f"{regimen.label}: {reason}.")
                    if regimen.pillar:
                        not_indicated.setdefault(regimen.pillar, []).append(reason)
                    continue
                replaced = sorted({m for ref in regimen.replaces for m in ctx.taking(kb, ref)})
                filled = _pillar_in_place(kb, ctx, scenario, regimen.pillar)
                if filled and not replaced:
                    names = ", ".join(dict.fromkeys(_name(kb, ctx, t) for t in filled))
                    group.not_offered.append(f"{regimen.label}: the {regimen.pillar} pillar is in place ({names}).")
                    continue
                taken = _already_taken(kb, ctx, regimen, set(replaced))
                if taken:
                    names = ", ".join(dict.fromkeys(_name(kb, ctx, t) for t in taken))
                    stopping = all(t.action == "stop" for t in therapies if set(t.ingredients) & set(taken))
                    group.not_offered.append(f"{regimen.label}: " + (f"{names} is to be stopped (see current therapy)." if stopping
                                             else f"already taking {names} (same drug or class; see current therapy)."))
                    continue
                key = frozenset(regimen.ingredients)
                if key in offered_sets:
                    elsewhere = offered_sets[key]
                    if elsewhere != condition.label:
                        group.not_offered.append(f"{regimen.label}: offered under {elsewhere}.")
                        if regimen.pillar:
                            not_indicated.setdefault(regimen.pillar, []).append(f"start: {regimen.label}, offered under {elsewhere}")
                    continue
                seen_ids.add(regimen.id)
                option = _build_option(kb, ctx, condition, evidence, scenario, why, regimen, replaced, model_scores,
                                       questions, position)
                mine.append(_Built(option, regimen))
                if not option.excluded and key:
                    offered_sets[key] = condition.label
        built += mine
        options = [b.option for b in mine]
        group.pillars = _pillar_statuses(kb, ctx, [s for s, _ in scenarios], mine, treated, not_indicated)
        for therapy in treated:  # a drug of the guideline's regimens with a target (loop diuretic: to congestion)
            target = next((r.titration for s, _ in scenarios for r in s.regimens
                           if r.titration and set(r.ingredients) & set(therapy.ingredients)), "")
            if therapy.action == "continue" and target:
                _titrate(therapy, target)
        if replacing:
            alternatives = sorted((o for o in options if not o.excluded), key=lambda o: o.ordering.key())
            for therapy in treated:
                if therapy.action == "stop":
                    therapy.replacements = [o.option_id for o in alternatives[:3]]
                    therapy.plan = text.therapy_plan("stop", therapy.reasons, [o.label for o in alternatives[:3]])
        group.plan = text.group_plan(sum(not o.excluded for o in options), [t.action for t in treated], group.pillars, replacing)

    # This visit's problems first; then the other problems whose plan asks for something (a drug to stop, change or
    # start), then those where the current therapy simply continues.
    acting = {"stop", "hold", "switch", "dose", "review"}

    def asks(group: ConditionGroup) -> bool:
        return (any(t.action in acting for t in therapies if t.option_id in group.current_therapy)
                or any(p.status in ("start", "switch", "review", "not now") for p in group.pillars)
                or any(b.option.condition_id == group.condition_id and not b.option.excluded for b in built))

    groups.sort(key=lambda g: (g.role != THIS_VISIT, not asks(g)))
    options = [b.option for b in built]
    included: list[TreatmentOption] = []
    for group in groups:
        mine_options = [o for o in options if o.condition_id == group.condition_id]
        ordered = sorted((o for o in mine_options if not o.excluded), key=lambda o: o.ordering.key())
        group.options = [o.option_id for o in ordered]
        group.excluded = [o.option_id for o in mine_options if o.excluded]
        included += ordered
    for rank, option in enumerate(included, start=1):
        option.rank = rank
    excluded = [o for o in options if o.excluded]
    unlinked = [t for t in therapies if not t.condition_ids]
    if unlinked:
        plan = "review during the acute illness" if acute_severe else "continue / review unless a warning says otherwise"
        groups.append(ConditionGroup("other_medications", "Other current medications", OTHER_MEDICATIONS,
                                     "current medications in the record", plan, [t.option_id for t in unlinked], [], []))
    return Recommendation(
        patient_id=ctx.patient_id,
        generated_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds"),
        knowledge_version=kb.version,
        setting=setting,
        setting_note=setting_note,
        conditions=[{"id": c.id, "label": c.label, "evidence": "; ".join(_evidence_text(e) for e in ev)} for c, ev in matched],
        groups=groups,
        options=included,
        excluded=excluded,
        current_therapy=therapies,
        warnings=current_warnings,
        alerts=alerts,
        questions=list(dict.fromkeys(questions)),
        notes=notes,
        ordering_rule=text.ORDERING_RULE,
        ranker_note=_ranker_note(included, scorer is not None, model_note),
        interaction_table=kb.interaction_statement(),
        inputs=ctx.inputs(),
        model=model_info,
        setting_source=setting_source,
        scores=list({s.name: s for s in scores}.values()),
    )


def _group_findings(kb: KnowledgeBase, ctx: PatientContext, condition: Condition) -> list[str]:
    """What the plan read for a condition, with source and date (EF, kidney function, potassium), and its risk
    factors (AF: HAS-BLED's modifiable bleeding risk factors); the scores are said once, with the plan."""
    found: list[str] = []
    for name in condition.reads:
        measurement = ctx.measurement(name)
        band = ctx.picture.ejection_fraction_band if name == "ef" else None
        if measurement is None:
            stated = f"; the diagnosis says {band.name} ejection fraction: {band.evidence}" if band is not None else ""
            found.append(f"{_READ_LABEL[name]}: not recorded{stated}")
            continue
        when = "" if measurement.date is None else f", {measurement.date.isoformat()}"
        unit = _UNIT_SHOWN.get(measurement.unit, measurement.unit)
        found.append(f"{_READ_LABEL[name]} {measurement.value:g}{'' if unit in ('%', '') else ' '}{unit} ({measurement.source}{when})")
    if condition.risk_factors:
        verdicts = [(factor, evaluate(factor.when, ctx, kb)) for factor in condition.risk_factors]
        present = [f"{factor.says} ({'; '.join(v.met)})" for factor, v in verdicts if v.value]
        unknown = [f"{factor.says} ({'; '.join(v.unknown)})" for factor, v in verdicts if v.value is None]
        if present:
            found += [f"{condition.risk_factor_title}: {p}" for p in present]
        else:
            found.append(f"{condition.risk_factor_title}: none found in the record")
        found += [f"{condition.risk_factor_title}, not checked: {u}" for u in unknown]
    return found


_UNIT_SHOWN = {"mL/min/{1.73_m2}": "mL/min/1.73 m2", "mm[Hg]": "mm Hg", "{INR}": ""}
_READ_LABEL = {"ef": "LVEF", "egfr": "eGFR", "crcl": "CrCl (Cockcroft-Gault)", "potassium": "Potassium",
               "systolic_bp": "Systolic BP", "heart_rate": "Heart rate", "acr": "Urine ACR", "weight": "Weight",
               "creatinine": "Creatinine", "age": "Age", "inr": "INR", "sodium": "Sodium"}
