"""From a patient to grouped, ordered, explained, safety-checked treatment options.

Order of authority: the guideline tables decide which options exist; the patient's current
drugs decide which are already in use (shown as current therapy, never offered again); the
safety layer decides which are excluded (shown with the reason, never dropped) and what
warnings each carries; the learned recommender only breaks ties. Care setting, severity
(including sepsis signs in the record) and age choose the guideline scenario. Missing inputs
that change the answer are returned as questions rather than guessed.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Literal, Mapping

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

LINE_ORDER = {"first_line": 0, "alternative": 1, "conditional": 2}
LINE_LABEL = {"first_line": "first line", "alternative": "alternative", "conditional": "only in stated circumstances"}
SETTINGS = ("outpatient", "inpatient", "severe")
SETTING_LABEL = {"outpatient": "outpatient", "inpatient": "hospital ward", "severe": "severe / ICU"}
THIS_VISIT, OTHER_PROBLEM, OTHER_MEDICATIONS = "this visit", "other active problem", "other current medications"
ORDERING_RULE = (
    "Order: this visit's problems (acute illness, confirmed findings, diagnoses given) first, then other active "
    "problems. Within each condition: (1) guideline line - first line, then alternative, then only in stated "
    "circumstances; (2) safety - an option with a major warning goes below every option without one, whatever its "
    "line, and is marked MAJOR; (3) the learned recommender's similar-patient likelihood breaks remaining ties, only "
    "where it knows the ingredients (otherwise the guideline table's order stays). Contraindicated options are listed as excluded, "
    "with the reason. A drug or class the patient already takes is shown as current therapy, not as a new option."
)


@dataclass
class SafetyWarning:
    """One thing that could go wrong with an option for this patient."""

    severity: str  # contraindicated | major | moderate | minor
    kind: str  # allergy | interaction | kidney | pregnancy | paediatric | potassium
    message: str
    source: str = ""
    involves: list[str] = field(default_factory=list)


@dataclass
class OrderingParts:
    """Where an option sits and why: the three parts of :data:`ORDERING_RULE`, shown instead of a score."""

    line: str  # first_line | alternative | conditional
    major_warning: bool
    similarity: float | None  # learned recommender, mean over the ingredients it knows; None if it knows none
    table_position: int

    def key(self, use_similarity: bool = True) -> tuple[Any, ...]:
        # An ingredient the recommender has not seen counts as no evidence (0), so it never outranks one it scores.
        tie = (-(self.similarity or 0.0),) if use_similarity else ()
        return (self.major_warning, LINE_ORDER[self.line], *tie, self.table_position)

    def describe(self) -> str:
        similarity = "similarity not known" if self.similarity is None else f"similarity {self.similarity:.2f}"
        return f"{LINE_LABEL[self.line]}; {'MAJOR warning' if self.major_warning else 'no major warning'}; {similarity}"


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
    ordering: OrderingParts
    rank: int | None
    rationale: list[str]
    sources: list[str]
    inputs: dict[str, Any]
    warnings: list[SafetyWarning]
    excluded: bool = False
    exclusion_reasons: list[str] = field(default_factory=list)
    kind: str = "new option"

    @property
    def worst_severity(self) -> str | None:
        return worst_severity(self.warnings)


def worst_severity(warnings: list[SafetyWarning]) -> str | None:
    """The most serious severity among ``warnings`` (None without warnings)."""
    return max((w.severity for w in warnings), key=SEVERITY_ORDER.__getitem__, default=None)


@dataclass
class CurrentTherapy:
    """A drug the patient already takes, shown with the conditions it treats and any problem found."""

    option_id: str  # "current_<ingredient ids>", so a decision (continue / stop) can be kept like an option's
    ingredients: list[str]  # one record line can hold several (piperacillin/tazobactam)
    name: str
    record_label: str
    condition_ids: list[str]
    plan: str
    warnings: list[SafetyWarning]
    kind: str = "current therapy"
    excluded: bool = False
    rank: int | None = None

    @property
    def label(self) -> str:
        return f"Current therapy: {self.record_label}"

    @property
    def worst_severity(self) -> str | None:
        return worst_severity(self.warnings)


@dataclass
class ConditionGroup:
    """One condition and what the plan does about it: new options, current therapy, or wait."""

    condition_id: str
    label: str
    role: str  # this visit | other active problem | other current medications
    evidence: str
    plan: str
    current_therapy: list[str]  # CurrentTherapy option ids
    options: list[str]  # offered option ids, in order
    excluded: list[str]
    not_offered: list[str] = field(default_factory=list)  # why guideline options were left out (already taken, setting)


@dataclass
class Recommendation:
    """The whole answer for one patient, serialised as is for the CLI and shown as is by the tab."""

    patient_id: str
    generated_at: str
    knowledge_version: str
    setting: str | None  # the setting the plan uses
    setting_note: str
    conditions: list[dict[str, str]]
    groups: list[ConditionGroup]
    options: list[TreatmentOption]
    excluded: list[TreatmentOption]
    current_therapy: list[CurrentTherapy]
    warnings: list[SafetyWarning]  # about what the patient already takes
    alerts: list[str]  # critical illness in the record: beyond the options shown
    questions: list[str]
    notes: list[str]
    ordering_rule: str
    ranker_note: str | None  # said once: what the learned recommender did (or did not) add for this patient
    interaction_table: str
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

    def item(self, option_id: str) -> TreatmentOption | CurrentTherapy:
        """An option or a current therapy by id (both can carry a clinician's decision)."""
        for therapy in self.current_therapy:
            if therapy.option_id == option_id:
                return therapy
        return self.option(option_id)

    def group_of(self, option_id: str) -> ConditionGroup | None:
        for group in self.groups:
            if option_id in group.options + group.excluded + group.current_therapy:
                return group
        return None


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


def _select_scenarios(kb: KnowledgeBase, condition: Condition, ctx: PatientContext, setting: str | None, questions: list[str]) -> list[tuple[Scenario, list[str]]]:
    """The guideline scenarios that fit the patient's age, the care setting in use, comorbidities and pregnancy."""
    chosen: list[tuple[Scenario, list[str]]] = []
    comorbid = _has_comorbidity(kb, ctx)
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
            why.append(f"setting: {SETTING_LABEL[setting]}{' (assumed)' if assumed else ''}")
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


def critical_illness_signs(kb: KnowledgeBase, ctx: PatientContext) -> list[str]:
    """Signs of sepsis or septic shock in the record: vasopressors, a recent high lactate, diagnosis codes."""
    spec = kb.treatments.critical_illness
    signs: list[str] = []
    pressors = [i for i in ctx.medications if spec.vasopressor_class in kb.classes_of(i)]
    if pressors:
        names = ", ".join(ctx.medication_labels.get(i, kb.ingredient(i).name) for i in pressors)
        signs.append(f"vasopressor in the current medications ({names})")
    for c in ctx.conditions:
        code = c.code.strip()
        text = normalise_text(c.description.replace("_", " "))
        if (code and (code in spec.snomed or any(code.upper().startswith(p) for p in spec.icd10_prefixes))) or any(
            normalise_text(w) in text for w in spec.keywords
        ):
            signs.append(f"{c.description} ({c.origin})")
    if ctx.lactate is not None:
        if ctx.lactate >= spec.hypoperfusion_lactate_mmol_l:
            signs.append(f"{ctx.lactate_note}: {spec.hypoperfusion_lactate_mmol_l:g} mmol/L or more (hypoperfusion)")
        elif pressors and ctx.lactate > spec.sepsis3_lactate_mmol_l:
            signs.append(f"{ctx.lactate_note} with a vasopressor: Sepsis-3 septic shock if fluid resuscitation was adequate")
    return list(dict.fromkeys(signs))


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
    combined = set(ctx.medications) | set(ingredients)
    for triple in kb.safety.three_way_interactions:
        groups = [{i for ref in group for i in kb.members(ref)} for group in triple.members]
        if all(g & combined for g in groups) and any(g & set(ingredients) for g in groups):
            involved = sorted({i for g in groups for i in g & combined})
            names = ", ".join(kb.ingredient(i).name for i in involved)
            warnings.append(SafetyWarning(triple.severity, "interaction", f"{names}: {triple.effect} {triple.management}", triple.source.cite(), involved))
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
            rules = {rule.severity: rule for rule in reversed(kb.interactions_between(x, y))}
            for rule in rules.values():
                warnings.append(SafetyWarning(
                    rule.severity, "interaction",
                    f"Current medications {kb.ingredient(x).name} and {kb.ingredient(y).name}: {rule.effect} {rule.management}",
                    rule.source.cite(), [x, y],
                ))
    for triple in kb.safety.three_way_interactions:
        groups = [{i for ref in group for i in kb.members(ref)} & set(meds) for group in triple.members]
        if all(groups):
            names = ", ".join(kb.ingredient(i).name for i in sorted(set().union(*groups)))
            warnings.append(SafetyWarning(triple.severity, "interaction", f"Current medications {names}: {triple.effect} {triple.management}", triple.source.cite(), sorted(set().union(*groups))))
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
def _evidence_origins(condition: Condition, ctx: PatientContext) -> set[str]:
    return {c.origin for c in ctx.conditions if _matches(condition, c.description, c.code)}


def _condition_ingredients(condition: Condition) -> set[str]:
    return {i for s in condition.scenarios for r in s.regimens for i in r.ingredients}


def _treats(kb: KnowledgeBase, condition: Condition, ingredient: str) -> bool:
    """Whether a drug the patient takes is one of the condition's guideline drugs or of their class."""
    offered = _condition_ingredients(condition)
    return ingredient in offered or bool(kb.therapeutic_classes_of(ingredient) & {c for i in offered for c in kb.therapeutic_classes_of(i)})


def _already_taken(kb: KnowledgeBase, ctx: PatientContext, regimen: Regimen) -> list[str]:
    """Current drugs that are, or share a therapeutic class with, an ingredient of ``regimen``."""
    return [
        med for med in ctx.medications
        if any(med == ing or kb.therapeutic_classes_of(med) & kb.therapeutic_classes_of(ing) for ing in regimen.ingredients)
    ]


def _current_therapy(kb: KnowledgeBase, ctx: PatientContext, matched: list[Condition], acute_severe: bool) -> list[CurrentTherapy]:
    """One entry per medication line of the record (its ingredients together), with the conditions it treats."""
    current_warnings = current_medication_warnings(kb, ctx, [])
    plan = "continue / review" if not acute_severe else "review during the acute illness (hold or adjust as needed)"
    by_label: dict[str, list[str]] = {}
    for med in ctx.medications:
        by_label.setdefault(ctx.medication_labels.get(med, kb.ingredient(med).name), []).append(med)
    therapies = []
    for label, meds in by_label.items():
        therapies.append(CurrentTherapy(
            option_id="current_" + "_".join(meds), ingredients=meds, name="/".join(kb.ingredient(m).name for m in meds),
            record_label=label, condition_ids=[c.id for c in matched if any(_treats(kb, c, m) for m in meds)],
            plan=plan, warnings=[w for w in current_warnings if set(meds) & set(w.involves)],
        ))
    return therapies


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
    between options of the same guideline line and safety. ``only_conditions`` restricts to the
    conditions named by the clinician (diagnoses given or findings confirmed).
    """
    kb = kb or default_knowledge()
    questions: list[str] = []
    notes = list(ctx.notes)
    matched = match_conditions(kb, ctx)
    if only_conditions:
        wanted = [normalise_text(w.replace("_", " ")) for w in only_conditions]
        named = ((c, [e for e in evidence if any(w in normalise_text(e) for w in wanted)]) for c, evidence in matched)
        matched = [(c, evidence) for c, evidence in named if evidence]
    if not matched:
        notes.append("No condition in the record matches the treatment tables (pneumonia, influenza, hypertension, type 2 diabetes, heart failure, CKD, COPD, asthma, hyperlipidaemia).")

    # Setting: what the clinician chose, overridden by sepsis signs in the record; asked for while unknown.
    signs = critical_illness_signs(kb, ctx)
    alerts: list[str] = []
    setting = ctx.setting
    if setting is None:
        setting_note = "not given: outpatient assumed until answered"
    else:
        setting_note = f"{SETTING_LABEL[setting]} (chosen)"
    if signs:
        spec = kb.treatments.critical_illness
        alerts.append("Sepsis or septic shock in the record: " + "; ".join(signs) + ". " + spec.message
                      + " Sources: " + "; ".join(src.cite() for src in spec.sources) + ".")
        if setting != "severe":
            setting_note = (f"{SETTING_LABEL['severe']}, because of sepsis signs in the record"
                            + ("" if ctx.setting is None else f" (chosen: {SETTING_LABEL[ctx.setting]})"))
        setting = "severe"
    acute_severe = setting == "severe"

    # This visit's problems first (acute illness, confirmed findings, diagnoses given), then other active problems.
    def role(condition: Condition) -> str:
        origins = _evidence_origins(condition, ctx)
        return THIS_VISIT if condition.kind != "chronic" or origins & {"confirmed finding", "diagnosis given"} else OTHER_PROBLEM

    matched.sort(key=lambda pair: (role(pair[0]) != THIS_VISIT, pair[0].kind == "chronic"))
    for condition, _ in matched:
        needs_setting = any(s.setting != "any" for s in condition.scenarios)
        if needs_setting and setting is None:
            age_group: Literal["adult", "child"] = "child" if ctx.is_child else "adult"
            text = condition.setting_questions.get(age_group, "Care setting (outpatient, ward, ICU): the regimens differ.")
            questions.append(f"{condition.label}: {text} Outpatient is assumed until the setting is chosen.")
    if matched and ctx.age_years is None:
        questions.append("No birth date on record: adult guidance is shown; children need different options and doses.")

    therapies = _current_therapy(kb, ctx, [c for c, _ in matched], acute_severe)
    all_ingredients = sorted({i for c, _ in matched for s in c.scenarios for r in s.regimens for i in r.ingredients})
    model_scores = dict(scorer(ctx, all_ingredients)) if scorer is not None and all_ingredients else {}

    groups: list[ConditionGroup] = []
    options: list[TreatmentOption] = []
    seen_ids: set[str] = set()
    for condition, evidence in matched:
        group_role = role(condition)
        treated = [t.option_id for t in therapies if condition.id in t.condition_ids]
        group = ConditionGroup(condition.id, condition.label, group_role, "; ".join(evidence), "", treated, [], [])
        groups.append(group)
        if condition.kind == "chronic" and acute_severe:
            group.plan = ("current therapy: review during the acute illness; no new drug started" if treated
                          else "review after the acute episode: no chronic therapy is started in an acute severe illness")
            continue
        if condition.kind == "chronic" and group_role == OTHER_PROBLEM and treated:
            group.plan = "current therapy: continue / review (no new drug proposed for a treated condition)"
            continue
        group.plan = "new options" + ("; current therapy: continue / review" if treated else "")
        questions.extend(condition.questions_for(ctx.is_child))
        position = 0
        for scenario, why in _select_scenarios(kb, condition, ctx, setting, questions):
            for regimen in scenario.regimens:
                position += 1
                if regimen.id in seen_ids or not _age_ok(regimen.min_age_years, None, ctx.age_years):
                    continue
                if regimen.settings and (setting or "outpatient") not in regimen.settings:
                    group.not_offered.append(f"{regimen.label}: not for the {SETTING_LABEL[setting or 'outpatient']} setting.")
                    continue
                taken = _already_taken(kb, ctx, regimen)
                if taken:
                    names = ", ".join(dict.fromkeys(ctx.medication_labels.get(t, kb.ingredient(t).name) for t in taken))
                    group.not_offered.append(f"{regimen.label}: already taking {names} (same drug or class; see current therapy).")
                    continue
                seen_ids.add(regimen.id)
                option = _build_option(kb, ctx, condition, evidence, scenario, why, regimen, model_scores, questions, position)
                options.append(option)

    included: list[TreatmentOption] = []
    for group in groups:
        mine = [o for o in options if o.condition_id == group.condition_id]
        ordered = sorted((o for o in mine if not o.excluded), key=lambda o: o.ordering.key())
        group.options = [o.option_id for o in ordered]
        group.excluded = [o.option_id for o in mine if o.excluded]
        included += ordered
    for rank, option in enumerate(included, start=1):
        option.rank = rank
    excluded = [o for o in options if o.excluded]
    unlinked = [t.option_id for t in therapies if not t.condition_ids]
    if unlinked:
        groups.append(ConditionGroup("other_medications", "Other current medications", OTHER_MEDICATIONS,
                                     "current medications in the record", therapies[0].plan, unlinked, [], []))
    return Recommendation(
        patient_id=ctx.patient_id,
        generated_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds"),
        knowledge_version=kb.version,
        setting=setting,
        setting_note=setting_note,
        conditions=[{"id": c.id, "label": c.label, "evidence": "; ".join(e)} for c, e in matched],
        groups=groups,
        options=included,
        excluded=excluded,
        current_therapy=therapies,
        warnings=current_medication_warnings(kb, ctx, []),
        alerts=alerts,
        questions=list(dict.fromkeys(questions)),
        notes=notes,
        ordering_rule=ORDERING_RULE,
        ranker_note=_ranker_note(included, scorer is not None, model_note),
        interaction_table=kb.interaction_statement(),
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
    position: int,
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
    similarity = round(sum(known) / len(known), 4) if known else None
    if similarity is not None:
        names = ", ".join(f"{kb.ingredient(i).name} {model_scores[i]:.2f}" for i in ingredients if i in model_scores)
        rationale.append(f"Similar patients (learned recommender, synthetic Synthea records; tie-break only): prescribing likelihood {names}.")
    major = any(SEVERITY_ORDER[w.severity] >= SEVERITY_ORDER["major"] for w in warnings)
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
        ordering=OrderingParts(line, major, similarity, position),
        rank=None,
        rationale=rationale,
        sources=sources,
        inputs=ctx.inputs(),
        warnings=warnings,
        excluded=bool(reasons),
        exclusion_reasons=reasons,
    )
