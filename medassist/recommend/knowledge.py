"""The treatment knowledge base: versioned YAML tables in ``resources/knowledge/``, validated here.

The pydantic models below *are* the schema (``resources/knowledge/schema.json`` is generated
from them and a test keeps the two in step). A table that does not validate is refused with
an :class:`InputError` naming the file and the field, so a bad edit can never silently drop
a safety rule.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from medassist import paths
from medassist.atomic import atomic_write_text
from medassist.clinical.concepts import load_concepts
from medassist.errors import InputError

Severity = Literal["contraindicated", "major", "moderate", "minor"]
Line = Literal["first_line", "alternative", "conditional"]
AgeGroup = Literal["adult", "child", "any"]
Setting = Literal["outpatient", "inpatient", "severe"]
ChangeName = Literal["stop", "hold", "switch", "dose", "review", ""]

KNOWLEDGE_FILES = ("ingredients.yaml", "treatments.yaml", "safety.yaml")

# The patient values a criterion can read from the clinical picture (or a score: "score:CHA2DS2-VA").
INPUTS = ("age", "weight", "creatinine", "crcl", "egfr", "potassium", "systolic_bp", "heart_rate", "acr", "ef", "inr",
          "sodium")
_INPUT_PATTERN = r"^(age|weight|creatinine|crcl|egfr|potassium|systolic_bp|heart_rate|acr|ef|inr|sodium|score:[A-Za-z0-9-]+)$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """Where a fact comes from: guideline (or drug label), its year and the section that says it.

    A US prescribing information or an EU summary of product characteristics (a label) is revised often;
    it may leave ``year`` empty rather than give a revision date we have not checked. Every guideline
    must give its year.
    """

    guideline: str
    year: int | None = Field(default=None, ge=1990, le=2100)
    section: str

    @model_validator(mode="after")
    def _year_unless_label(self) -> "Source":
        label = any(word in self.guideline.lower() for word in ("prescribing information", "product characteristics"))
        if self.year is None and not label:
            raise ValueError(f"source '{self.guideline}' needs a year (only drug labels may omit it)")
        return self

    def cite(self) -> str:
        year = f" ({self.year})" if self.year else " (current label)"
        return f"{self.guideline}{year}, {self.section}"

    @property
    def name(self) -> str:
        """The guideline with its year, without the section ("ESC atrial fibrillation 2024")."""
        return f"{self.guideline} {self.year}" if self.year else self.guideline


class Criterion(_Strict):
    """One test on the patient's picture: a value against bounds, a problem concept, a current drug, or sex.

    Bounds are inclusive (``at_least``/``at_most``) or strict (``above``/``below``). A value that is not
    recorded makes the criterion *unknown*, never false: the rule then asks for it. ``missing: true``
    turns the test round (true when the input is not recorded), for scenarios chosen by an unknown value.
    """

    input: str | None = Field(default=None, pattern=_INPUT_PATTERN)
    at_least: float | None = None
    at_most: float | None = None
    above: float | None = None
    below: float | None = None
    missing: bool = False
    concept: str | None = Field(default=None, description="problem concept id (resources/knowledge/problems.yaml)")
    taking: str | None = Field(default=None, description="ingredient id or class:<name> among the current medications")
    sex: Literal["female", "male"] | None = None
    negate: bool = Field(default=False, description="true when the test fails (not taking, no such problem)")
    says: str = Field(description="how the criterion reads to a clinician, e.g. 'age 80 or older'")

    @model_validator(mode="after")
    def _one_test(self) -> "Criterion":
        tests = [self.input is not None, self.concept is not None, self.taking is not None, self.sex is not None]
        if sum(tests) != 1:
            raise ValueError(f"criterion '{self.says}' must test exactly one of input, concept, taking or sex")
        bounds = [self.at_least, self.at_most, self.above, self.below]
        if self.input is not None and not self.missing and all(b is None for b in bounds):
            raise ValueError(f"criterion '{self.says}' on {self.input} needs a bound")
        return self


class Criteria(_Strict):
    """Criteria joined by ``match``: all of them, any of them, or at least N of them (apixaban's "2 of 3")."""

    match: Literal["all", "any"] | int = "all"
    criteria: list[Criterion] = Field(min_length=1)


class Ingredient(_Strict):
    """One active ingredient: its RxNorm ingredient code (RxCUI) where checked, names in records, and classes.

    ``rxcui`` is empty for an ingredient whose code we could not confirm; it is matched by its names.
    """

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    rxcui: str | None = Field(default=None, pattern=r"^[0-9]+$")
    synonyms: list[str] = Field(default_factory=list)
    classes: list[str] = Field(default_factory=list)


class DoseRange(_Strict):
    """A dose written for people, plus the numbers a check can use when they are certain."""

    text: str
    per_kg: bool = False
    mg_per_kg_per_day: list[float] | None = Field(default=None, min_length=2, max_length=2, description="[low, high]")
    max_daily_mg: float | None = Field(default=None, gt=0)


class Regimen(_Strict):
    """A treatment option: one or more ingredients given together, for one line of therapy."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str
    ingredients: list[str] = Field(default_factory=list, description="empty for a no-drug option (supportive care)")
    line: Line
    grade: str = Field(default="", description="evidence grade as the guideline states it; empty when not encoded")
    pillar: str = Field(default="", description="the guideline-directed therapy pillar it fills (scenario.pillars)")
    preferred_when: Criteria | None = Field(default=None, description="makes an alternative first line for the patient")
    indicated_when: Criteria | None = Field(default=None, description="offered only when met (unknown: asked for)")
    replaces: list[str] = Field(default_factory=list, description="current drugs (ids or class:<name>) it is a switch from")
    switch_note: str = Field(default="", description="how to switch from a replaced drug (washout)")
    switch_line: Line | None = Field(default=None, description="its line when offered as a switch (default: its line)")
    age_group: AgeGroup = "any"
    min_age_years: float | None = None
    dose: DoseRange
    titration: str = Field(default="", description="the target dose, said when the drug is already taken")
    note: str = ""
    requires: list[str] = Field(default_factory=list, description="inputs this option needs, e.g. potassium")
    settings: list[Setting] = Field(default_factory=list, description="care settings it applies to (empty: all)")
    source: Source


class Scenario(_Strict):
    """A guideline situation (e.g. adult outpatient CAP with comorbidities, HFrEF) and its options."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str
    age_group: AgeGroup
    setting: Literal["outpatient", "inpatient", "severe", "any"] = "any"
    comorbidities: Literal["with", "without", "any"] = "any"
    population: Literal["general", "pregnancy"] = "general"
    min_age_years: float | None = None
    max_age_years: float | None = None
    when: Criteria | None = Field(default=None, description="chosen only when met (EF band, stroke-risk score)")
    undecided: str = Field(default="", description="asked when `when` cannot be decided for lack of inputs")
    ask: str = Field(default="", description="asked whenever the scenario is chosen (an input that would change it)")
    pillars: list[str] = Field(default_factory=list, description="guideline-directed therapy pillars, each reported")
    note: str = ""
    regimens: list[Regimen] = Field(min_length=1)


class RiskFactor(_Strict):
    """A factor the plan checks and shows for a condition (HAS-BLED's modifiable bleeding risk factors in AF).

    A factor that is a current drug (``when`` tests ``taking``) also puts ``change`` on that drug's row.
    """

    says: str
    when: Criteria
    severity: Severity = "major"
    change: ChangeName = ""
    source: Source


class Condition(_Strict):
    """A condition MedAssist can treat: the problem concept that names it, and its guideline scenarios."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str
    concept: str = Field(description="problem concept id in resources/knowledge/problems.yaml")
    except_concepts: list[str] = Field(
        default_factory=list, description="evidence that also belongs to these concepts does not count (viral pneumonia)")
    kind: Literal["infection_bacterial", "infection_viral", "infection_unspecified", "chronic"]
    questions: list[str] = Field(default_factory=list, description="inputs the guideline needs that records rarely hold")
    adult_questions: list[str] = Field(default_factory=list, description="questions asked only for adults (adult guideline text)")
    child_questions: list[str] = Field(default_factory=list, description="questions asked only for children (paediatric guideline text)")
    setting_questions: dict[Literal["adult", "child"], str] = Field(
        default_factory=dict, description="asked while the care setting is not given, in the age group's guideline words"
    )
    treated_by: list[str] = Field(default_factory=list, description="drugs (ids or class:<name>) that treat it besides its regimens")
    reads: list[str] = Field(default_factory=list, description="inputs shown with their source and date (INPUTS)")
    scores: list[str] = Field(default_factory=list, description="scores of the picture shown with the plan")
    risk_factor_title: str = ""
    risk_factors: list[RiskFactor] = Field(default_factory=list)
    scenarios: list[Scenario] = Field(min_length=1)

    def questions_for(self, child: bool) -> list[str]:
        return self.questions + (self.child_questions if child else self.adult_questions)


class CriticalIllness(_Strict):
    """Signs of sepsis or septic shock: they make the plan an ICU one and are reported as beyond it."""

    concept: str = Field(description="the problem concept for sepsis and septic shock")
    vasopressor_class: str
    sepsis3_lactate_mmol_l: float = Field(gt=0)
    hypoperfusion_lactate_mmol_l: float = Field(gt=0)
    message: str
    sources: list[Source] = Field(min_length=1)


class TreatmentTables(_Strict):
    version: str
    comorbidity_concepts: list[str] = Field(description="problem concepts that make CAP 'with comorbidities' (ATS/IDSA 2019)")
    therapeutic_classes: list[str] = Field(description="classes where one member taken means the class is in use")
    critical_illness: CriticalIllness
    conditions: list[Condition]


class IngredientTable(_Strict):
    version: str
    ingredients: list[Ingredient]


class AllergyRule(_Strict):
    """An allergy to ``allergen_class`` makes drugs of ``target_class`` excluded or cautioned."""

    allergen_class: str
    target_class: str
    severity: Severity
    severity_if_anaphylaxis: Severity | None = None
    message: str
    source: Source


class Interaction(_Strict):
    """A drug-drug interaction between two ingredient ids or class names (``class:<name>``)."""

    a: str
    b: str
    severity: Severity
    effect: str
    management: str
    source: Source


class ThreeWayInteraction(_Strict):
    """Three classes together (the NSAID + ACE inhibitor/ARB + diuretic 'triple whammy')."""

    id: str
    members: list[list[str]] = Field(min_length=3, max_length=3)
    severity: Severity
    effect: str
    management: str
    source: Source


class RenalBand(_Strict):
    """Inside ``[min_egfr, max_egfr)`` (mL/min/1.73 m2 or CrCl mL/min, see ``measure``) do this.

    ``severity``/``action`` are for starting the drug; ``current_severity``/``current_action``/``change``
    for a patient who already takes it (metformin: not started at eGFR 30-44, but a current dose is
    reduced), defaulting to the starting ones.
    """

    min_egfr: float = 0.0
    max_egfr: float
    severity: Severity
    action: str
    current_severity: Severity | None = None
    current_action: str = ""
    change: ChangeName = Field(default="", description="what a current drug needs (default: stop if contraindicated, else dose)")

    def for_current(self) -> tuple[str, str, str]:
        """(severity, action, change) for a drug already taken."""
        severity = self.current_severity or self.severity
        change = self.change or ("stop" if severity == "contraindicated" else "dose")
        return severity, self.current_action or self.action, change


class RenalRule(_Strict):
    """Kidney-function limits for an ingredient or ``class:<name>``; labels mostly use CrCl."""

    ingredient: str
    measure: Literal["eGFR", "CrCl"]
    bands: list[RenalBand] = Field(min_length=1)
    source: Source

    @model_validator(mode="after")
    def _bands_ordered(self) -> "RenalRule":
        for band in self.bands:
            if band.min_egfr >= band.max_egfr:
                raise ValueError(f"renal band {band.min_egfr}-{band.max_egfr} for {self.ingredient} is empty")
        return self


class RenalReviewed(_Strict):
    """An offerable ingredient whose label needs no dose change for kidney function (or says only this)."""

    ingredient: str
    note: str
    source: Source


class DoseStep(_Strict):
    """One step of a label's dose rule: when ``when`` is met, give ``dose`` (or avoid the drug)."""

    when: Criteria
    dose: str = Field(description="the dose for this step; empty when the drug is avoided")
    avoid: bool = False
    severity: Severity = "moderate"
    source: Source | None = Field(default=None, description="when the step comes from another label than the rule's")


class DoseRule(_Strict):
    """A label's dose-selection rule (DOACs): the first step whose criteria are met sets the dose."""

    ingredient: str
    standard: str = Field(description="the dose when no step applies")
    steps: list[DoseStep] = Field(min_length=1)
    source: Source


class PrescribingRule(_Strict):
    """A check on a drug against the patient's picture: starting it (``new``) or keeping it (``current``).

    A contraindicated rule on a new option excludes it, as "not now" when ``not_now`` (a present state
    such as potassium or blood pressure). On a current drug ``change`` says what it needs. ``alternative``
    names what to use instead.
    """

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    targets: list[str] = Field(min_length=1, description="ingredient ids or class:<name>")
    when: Criteria
    applies_to: list[Literal["new", "current"]] = Field(min_length=1)
    severity: Severity
    not_now: bool = False
    change: ChangeName = ""
    kind: str = Field(description="potassium | kidney | haemodynamic | heart failure | older adult | ...")
    message: str
    alternative: str = ""
    source: Source


class PopulationCaution(_Strict):
    """A caution for pregnancy or for children below an age, per ingredient or class."""

    target: str
    severity: Severity
    max_age_years: float | None = None
    message: str
    source: Source


class SafetyTables(_Strict):
    version: str
    allergy_classes: dict[str, list[str]] = Field(description="allergen class -> words that name it in allergy records")
    allergy_rules: list[AllergyRule]
    interactions: list[Interaction]
    three_way_interactions: list[ThreeWayInteraction]
    renal: list[RenalRule]
    renal_reviewed: list[RenalReviewed] = Field(
        default_factory=list, description="offerable ingredients whose label needs no dose change for kidney function")
    dose_rules: list[DoseRule] = Field(default_factory=list)
    prescribing_rules: list[PrescribingRule] = Field(
        default_factory=list, description="potassium, blood-pressure, heart-rate and heart-failure checks on starting or keeping a drug")
    older_adult_age: float = Field(default=65, description="age from which the older-adult rules apply (AGS Beers 2023, STOPP/START v3)")
    older_adult_rules: list[PrescribingRule] = Field(
        default_factory=list, description="AGS Beers 2023 and STOPP/START v3 criteria, each cited by list and item")
    reviewed_without_pair_rule: list[str] = Field(
        default_factory=list, description="offerable ingredients reviewed against the high-risk classes with no rule of their own"
    )
    renally_cleared_without_numbers: list[str] = Field(
        default_factory=list, description="ingredients whose label adjusts for kidney function but we encode no numbers"
    )
    pregnancy: list[PopulationCaution]
    paediatric: list[PopulationCaution]


class KnowledgeBase(BaseModel):
    """All three tables, cross-checked: every ingredient, class and problem concept they name exists."""

    model_config = ConfigDict(frozen=True)

    ingredients: IngredientTable
    treatments: TreatmentTables
    safety: SafetyTables
    concept_ids: frozenset[str] = Field(description="the problem concepts (problems.yaml) the tables may name")
    _by_id: dict[str, Ingredient] = PrivateAttr(default_factory=dict)
    _by_class: dict[str, frozenset[str]] = PrivateAttr(default_factory=dict)

    def model_post_init(self, __context: object) -> None:
        self._by_id = {i.id: i for i in self.ingredients.ingredients}
        by_class: dict[str, set[str]] = {}
        for ing in self.ingredients.ingredients:
            for cls in ing.classes:
                by_class.setdefault(cls, set()).add(ing.id)
        self._by_class = {cls: frozenset(ids) for cls, ids in by_class.items()}

    @property
    def version(self) -> str:
        return f"ingredients {self.ingredients.version}; treatments {self.treatments.version}; safety {self.safety.version}"

    @model_validator(mode="after")
    def _references_resolve(self) -> "KnowledgeBase":
        known = {i.id for i in self.ingredients.ingredients}
        classes = {c for i in self.ingredients.ingredients for c in i.classes}
        problems: list[str] = []

        def check(ref: str, where: str) -> None:
            if ref.startswith("class:"):
                if ref[6:] not in classes:
                    problems.append(f"{where}: unknown class '{ref[6:]}'")
            elif ref not in known:
                problems.append(f"{where}: unknown ingredient '{ref}'")

        def concept(name: str, where: str) -> None:
            if name not in self.concept_ids:
                problems.append(f"{where}: unknown problem concept '{name}'")

        def criteria(found: Criteria | None, where: str) -> None:
            for criterion in found.criteria if found else []:
                if criterion.taking:
                    check(criterion.taking, where)
                if criterion.concept:
                    concept(criterion.concept, where)

        for condition in self.treatments.conditions:
            for name in [condition.concept, *condition.except_concepts]:
                concept(name, f"treatments {condition.id}")
            for factor in condition.risk_factors:
                criteria(factor.when, f"treatments {condition.id} risk factor")
            for ref in condition.treated_by:
                check(ref, f"treatments {condition.id} treated_by")
            for name in condition.reads:
                if name not in INPUTS:
                    problems.append(f"treatments {condition.id}: unknown input '{name}'")
            for scenario in condition.scenarios:
                criteria(scenario.when, f"treatments {condition.id}/{scenario.id}")
                for regimen in scenario.regimens:
                    where = f"treatments {condition.id}/{scenario.id}/{regimen.id}"
                    for ref in [*regimen.ingredients, *regimen.replaces]:
                        check(ref, where)
                    criteria(regimen.preferred_when, where)
                    criteria(regimen.indicated_when, where)
                    if regimen.pillar and regimen.pillar not in scenario.pillars:
                        problems.append(f"{where}: pillar '{regimen.pillar}' is not one of the scenario's pillars")
        for name in [*self.treatments.comorbidity_concepts, self.treatments.critical_illness.concept]:
            concept(name, "treatments")
        for rule in self.safety.allergy_rules:
            for cls in (rule.allergen_class, rule.target_class):
                if cls not in classes:
                    problems.append(f"allergy rule: unknown class '{cls}'")
            if rule.allergen_class not in self.safety.allergy_classes:
                problems.append(f"allergy rule: allergen class '{rule.allergen_class}' has no record words")
        for item in self.safety.interactions:
            check(item.a, "interaction")
            check(item.b, "interaction")
        for triple in self.safety.three_way_interactions:
            for group in triple.members:
                for ref in group:
                    check(ref, f"three-way interaction {triple.id}")
        for renal in self.safety.renal:
            check(renal.ingredient, "renal rule")
        for reviewed in self.safety.renal_reviewed:
            check(reviewed.ingredient, "renal reviewed list")
        for dose in self.safety.dose_rules:
            check(dose.ingredient, "dose rule")
            for step in dose.steps:
                criteria(step.when, f"dose rule {dose.ingredient}")
        for prescribing in self.safety.prescribing_rules + self.safety.older_adult_rules:
            for ref in prescribing.targets:
                check(ref, f"prescribing rule {prescribing.id}")
            criteria(prescribing.when, f"prescribing rule {prescribing.id}")
        for ing in self.safety.renally_cleared_without_numbers:
            check(ing, "renally cleared list")
        for ing in self.safety.reviewed_without_pair_rule:
            check(ing, "reviewed-without-rule list")
        for cls in [*self.treatments.therapeutic_classes, self.treatments.critical_illness.vasopressor_class]:
            check(f"class:{cls}", "treatments")
        for caution in self.safety.pregnancy + self.safety.paediatric:
            check(caution.target, "population caution")
        if problems:
            raise ValueError("; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""))
        return self

    # look-ups -------------------------------------------------------------
    def ingredient(self, ingredient_id: str) -> Ingredient:
        return self._by_id[ingredient_id]

    def members(self, ref: str) -> set[str]:
        """Ingredient ids that ``ref`` (an ingredient id or ``class:<name>``) stands for."""
        if ref.startswith("class:"):
            return set(self._by_class.get(ref[6:], ()))
        return {ref}

    def interactions_between(self, first: str, second: str) -> list[Interaction]:
        """Pairwise interaction rules that apply to two ingredient ids (either order)."""
        found = []
        for rule in self.safety.interactions:
            a, b = self.members(rule.a), self.members(rule.b)
            if first in a and second in b or second in a and first in b:
                found.append(rule)
        return found

    def classes_of(self, ingredient_id: str) -> set[str]:
        found = self._by_id.get(ingredient_id)
        return set(found.classes) if found else set()

    def therapeutic_classes_of(self, ingredient_id: str) -> set[str]:
        """The classes in which taking ``ingredient_id`` means the class is already in use."""
        return self.classes_of(ingredient_id) & set(self.treatments.therapeutic_classes)

    def offerable_ingredients(self) -> set[str]:
        return {i for c in self.treatments.conditions for s in c.scenarios for r in s.regimens for i in r.ingredients}

    def has_pair_rule(self, ingredient_id: str) -> bool:
        return any(ingredient_id in self.members(r.a) | self.members(r.b) for r in self.safety.interactions)

    def has_renal_limits(self, ingredient_id: str) -> bool:
        """Whether the tables say what kidney function means for the drug: limits, a label dose rule that reads
        kidney function, "no change", or "check the label"."""
        kidney_inputs = {"crcl", "egfr", "creatinine"}
        return (any(ingredient_id in self.members(r.ingredient) for r in self.safety.renal)
                or any(r.ingredient == ingredient_id and any(c.input in kidney_inputs for s in r.steps for c in s.when.criteria)
                       for r in self.safety.dose_rules)
                or any(r.ingredient == ingredient_id for r in self.safety.renal_reviewed)
                or ingredient_id in self.safety.renally_cleared_without_numbers)

    def interaction_statement(self) -> str:
        """What the interaction check covers, said once in the tab, the CLI and the report."""
        classes = {ref[6:] for r in self.safety.interactions for ref in (r.a, r.b) if ref.startswith("class:")}
        return (f"Interaction table version {self.safety.version}: {len(self.safety.interactions)} pair rules and "
                f"{len(self.safety.three_way_interactions)} three-drug rule(s) over {len(classes)} drug classes "
                "(CYP3A4, QT, serotonergic, potassium, bleeding, kidney limits and more). It is not exhaustive: "
                "check a full interaction reference before prescribing.")


def knowledge_dir() -> Path:
    return paths.resources_dir() / "knowledge"


_Table = TypeVar("_Table", bound=BaseModel)


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"knowledge table is not readable YAML ({exc})", path) from exc
    if not isinstance(data, dict):
        raise InputError("knowledge table must be a mapping at the top level", path)
    return data


def _load_table(path: Path, model: type[_Table]) -> _Table:
    if not path.is_file():
        raise InputError("knowledge table is missing", path)
    try:
        return model.model_validate(_read_yaml(path))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(f"invalid knowledge table: {where}: {first['msg']} ({exc.error_count()} problem(s))", path) from exc


def load_knowledge(folder: Path | None = None) -> KnowledgeBase:
    """Read and validate the three tables (and the problem concepts beside them); :class:`InputError`
    names the file and the field at fault."""
    folder = folder or knowledge_dir()
    ingredients = _load_table(folder / "ingredients.yaml", IngredientTable)
    treatments = _load_table(folder / "treatments.yaml", TreatmentTables)
    safety = _load_table(folder / "safety.yaml", SafetyTables)
    concepts = frozenset(c.id for c in load_concepts(folder / "problems.yaml").concepts)
    try:
        return KnowledgeBase(ingredients=ingredients, treatments=treatments, safety=safety, concept_ids=concepts)
    except ValidationError as exc:
        raise InputError(f"knowledge tables disagree: {exc.errors()[0]['msg']}", folder) from exc


_CACHE: dict[Path, KnowledgeBase] = {}
_CACHE_LOCK = threading.Lock()


def default_knowledge() -> KnowledgeBase:
    """The bundled tables, loaded once per process."""
    folder = knowledge_dir()
    with _CACHE_LOCK:
        if folder not in _CACHE:
            _CACHE[folder] = load_knowledge(folder)
        return _CACHE[folder]


def json_schema() -> dict:
    """The JSON Schema of the three tables (written to ``resources/knowledge/schema.json``)."""
    return {
        "$comment": "Generated from medassist/recommend/knowledge.py; edit the pydantic models, then regenerate.",
        "ingredients.yaml": IngredientTable.model_json_schema(),
        "treatments.yaml": TreatmentTables.model_json_schema(),
        "safety.yaml": SafetyTables.model_json_schema(),
    }


def write_json_schema(path: Path | None = None) -> Path:
    path = path or knowledge_dir() / "schema.json"
    return atomic_write_text(path, json.dumps(json_schema(), indent=1, sort_keys=True) + "\n")


_WORD = re.compile(r"[^a-z0-9]+")


def normalise_text(text: str) -> str:
    """Lower-case words separated by single spaces, for matching names in records."""
    return " " + _WORD.sub(" ", str(text).lower()).strip() + " "


if __name__ == "__main__":
    print(write_json_schema())
