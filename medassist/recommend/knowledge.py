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
from medassist.errors import InputError

Severity = Literal["contraindicated", "major", "moderate", "minor"]
Line = Literal["first_line", "alternative", "conditional"]
AgeGroup = Literal["adult", "child", "any"]
Setting = Literal["outpatient", "inpatient", "severe"]

SEVERITY_ORDER: dict[str, int] = {"contraindicated": 3, "major": 2, "moderate": 1, "minor": 0}

KNOWLEDGE_FILES = ("ingredients.yaml", "treatments.yaml", "safety.yaml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """Where a fact comes from: guideline (or drug label), its year and the section that says it.

    A US prescribing information (label) is revised often; it may leave ``year`` empty rather than
    give a revision date we have not checked. Every guideline must give its year.
    """

    guideline: str
    year: int | None = Field(default=None, ge=1990, le=2100)
    section: str

    @model_validator(mode="after")
    def _year_unless_label(self) -> "Source":
        if self.year is None and "prescribing information" not in self.guideline.lower():
            raise ValueError(f"source '{self.guideline}' needs a year (only drug labels may omit it)")
        return self

    def cite(self) -> str:
        year = f" ({self.year})" if self.year else " (current label)"
        return f"{self.guideline}{year}, {self.section}"


class Ingredient(_Strict):
    """One active ingredient: its RxNorm ingredient code (RxCUI), names in records, and classes."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    rxcui: str = Field(pattern=r"^[0-9]+$")
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
    preferred_with: list[str] = Field(
        default_factory=list, description="condition words that make this option first line for the patient"
    )
    age_group: AgeGroup = "any"
    min_age_years: float | None = None
    dose: DoseRange
    note: str = ""
    requires: list[str] = Field(default_factory=list, description="inputs this option needs, e.g. potassium")
    settings: list[Setting] = Field(default_factory=list, description="care settings it applies to (empty: all)")
    source: Source


class Scenario(_Strict):
    """A guideline situation (e.g. adult outpatient CAP with comorbidities) and its options."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str
    age_group: AgeGroup
    setting: Literal["outpatient", "inpatient", "severe", "any"] = "any"
    comorbidities: Literal["with", "without", "any"] = "any"
    population: Literal["general", "pregnancy"] = "general"
    min_age_years: float | None = None
    max_age_years: float | None = None
    note: str = ""
    regimens: list[Regimen] = Field(min_length=1)


class Condition(_Strict):
    """A condition MedAssist can treat, how records name it, and its guideline scenarios."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str
    snomed: list[str] = Field(default_factory=list)
    icd10_prefixes: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list, description="lower-case words that name it in text or findings")
    exclude_keywords: list[str] = Field(default_factory=list)
    kind: Literal["infection_bacterial", "infection_viral", "infection_unspecified", "chronic"]
    questions: list[str] = Field(default_factory=list, description="inputs the guideline needs that records rarely hold")
    adult_questions: list[str] = Field(default_factory=list, description="questions asked only for adults (adult guideline text)")
    child_questions: list[str] = Field(default_factory=list, description="questions asked only for children (paediatric guideline text)")
    setting_questions: dict[Literal["adult", "child"], str] = Field(
        default_factory=dict, description="asked while the care setting is not given, in the age group's guideline words"
    )
    scenarios: list[Scenario] = Field(min_length=1)

    def questions_for(self, child: bool) -> list[str]:
        return self.questions + (self.child_questions if child else self.adult_questions)


class CriticalIllness(_Strict):
    """Record signs of sepsis or septic shock: they make the plan an ICU one and are reported as beyond it."""

    snomed: list[str]
    icd10_prefixes: list[str]
    keywords: list[str]
    vasopressor_class: str
    sepsis3_lactate_mmol_l: float = Field(gt=0)
    hypoperfusion_lactate_mmol_l: float = Field(gt=0)
    lactate_within_days: float = Field(gt=0, description="a lactate counts only this close to the latest observation")
    message: str
    sources: list[Source] = Field(min_length=1)


class TreatmentTables(_Strict):
    version: str
    comorbidity_keywords: list[str] = Field(description="conditions that make CAP 'with comorbidities' (ATS/IDSA 2019)")
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
    """Inside ``[min_egfr, max_egfr)`` (mL/min/1.73 m2 or CrCl mL/min, see ``measure``) do this."""

    min_egfr: float = 0.0
    max_egfr: float
    severity: Severity
    action: str


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
    reviewed_without_pair_rule: list[str] = Field(
        default_factory=list, description="offerable ingredients reviewed against the high-risk classes with no rule of their own"
    )
    renally_cleared_without_numbers: list[str] = Field(
        default_factory=list, description="ingredients whose label adjusts for kidney function but we encode no numbers"
    )
    pregnancy: list[PopulationCaution]
    paediatric: list[PopulationCaution]


class KnowledgeBase(BaseModel):
    """All three tables, cross-checked: every ingredient and class they name exists."""

    model_config = ConfigDict(frozen=True)

    ingredients: IngredientTable
    treatments: TreatmentTables
    safety: SafetyTables
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

        for condition in self.treatments.conditions:
            for scenario in condition.scenarios:
                for regimen in scenario.regimens:
                    for ing in regimen.ingredients:
                        check(ing, f"treatments {condition.id}/{scenario.id}/{regimen.id}")
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
    """Read and validate the three tables; :class:`InputError` names the file and the field at fault."""
    folder = folder or knowledge_dir()
    ingredients = _load_table(folder / "ingredients.yaml", IngredientTable)
    treatments = _load_table(folder / "treatments.yaml", TreatmentTables)
    safety = _load_table(folder / "safety.yaml", SafetyTables)
    try:
        return KnowledgeBase(ingredients=ingredients, treatments=treatments, safety=safety)
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
