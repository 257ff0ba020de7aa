"""A treatment plan as plain values: what the engine decided for one patient, before anyone words it.

The engine (:mod:`medassist.recommend.engine`) fills these; :mod:`medassist.domain.treatment_text`
turns them into sentences for the Treatment tab, ``medassist recommend`` and the PDF, so the three
say the same plan in the same words. ``Recommendation.to_dict`` is what ``--json`` prints.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from medassist import DECISION_SUPPORT_NOTICE
from medassist.domain.clinical import ScoreResult
from medassist.domain.result_text import score_sentence

SEVERITY_ORDER: dict[str, int] = {"contraindicated": 3, "major": 2, "moderate": 1, "minor": 0}
LINE_ORDER = {"first_line": 0, "alternative": 1, "conditional": 2}
SETTINGS = ("outpatient", "inpatient", "severe")
THIS_VISIT, OTHER_PROBLEM, OTHER_MEDICATIONS = "this visit", "other active problem", "other current medications"

# What a warning asks of a drug the patient already takes, most urgent first.
Change = Literal["stop", "hold", "switch", "dose", "review", ""]
CHANGE_ORDER: dict[str, int] = {"stop": 5, "hold": 4, "switch": 3, "dose": 2, "review": 1, "": 0}
# What the plan does with a current drug (the words are in treatment_text.ACTION_WORDS).
TherapyAction = Literal["stop", "hold", "dose", "review", "switch", "titrate", "continue", "acute review"]
# Where the care setting the plan uses came from.
SettingSource = Literal["chosen", "suggested", "sepsis", "assumed"]


@dataclass
class SafetyWarning:
    """One thing that could go wrong with an option or a current drug for this patient.

    ``not_now`` marks a blocking finding that is a present state (potassium, blood pressure, kidney
    function) rather than a lasting contraindication: the option is "not now (reason)", not "excluded".
    ``change`` is what the warning asks of a drug already taken (stop, hold, dose change, review).
    """

    severity: str  # contraindicated | major | moderate | minor
    kind: str  # allergy | interaction | kidney | pregnancy | paediatric | potassium | haemodynamic | older adult | dose | ...
    message: str
    source: str = ""
    involves: list[str] = field(default_factory=list)
    not_now: bool = False
    change: Change = ""
    reason: str = ""  # the short why (the criterion met: "potassium 5.3 mmol/L"), for a current drug's plan


def worst_severity(warnings: list[SafetyWarning]) -> str | None:
    """The most serious severity among ``warnings`` (None without warnings)."""
    return max((w.severity for w in warnings), key=SEVERITY_ORDER.__getitem__, default=None)


def blocking(warnings: list[SafetyWarning]) -> list[SafetyWarning]:
    return [w for w in warnings if w.severity == "contraindicated"]


@dataclass
class OrderingParts:
    """Where an option sits and why: the three parts of the ordering rule, shown instead of a score."""

    line: str  # first_line | alternative | conditional
    major_warning: bool
    similarity: float | None  # learned recommender, mean over the ingredients it knows; None if it knows none
    table_position: int

    def key(self, use_similarity: bool = True) -> tuple[Any, ...]:
        # An ingredient the recommender has not seen counts as no evidence (0), so it never outranks one it scores.
        tie = (-(self.similarity or 0.0),) if use_similarity else ()
        return (self.major_warning, LINE_ORDER[self.line], *tie, self.table_position)


@dataclass
class DoseAdvice:
    """The dose a label gives this patient, from its criteria (DOACs, renal dosing): which step and why."""

    dose: str  # "2.5 mg twice daily"
    reduced: bool
    met: list[str]  # criteria that applied ("age 80 or older (82)")
    unknown: list[str]  # criteria that could not be checked (missing input)
    source: str


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
    guideline: str = ""  # the guideline (or label) that proposes it, with its year
    grade: str = ""  # the evidence grade as that guideline states it ("Class 1, LOE A"); empty when not encoded
    pillar: str = ""  # the guideline-directed therapy pillar it fills ("beta-blocker"), if any
    replaces: list[str] = field(default_factory=list)  # current ingredient ids it replaces (a switch)
    dose_advice: DoseAdvice | None = None

    @property
    def worst_severity(self) -> str | None:
        return worst_severity(self.warnings)

    @property
    def not_now(self) -> bool:
        """Excluded only by present states (potassium, blood pressure, kidney function): "not now", not "never"."""
        blocks = blocking(self.warnings)
        return self.excluded and bool(blocks) and all(w.not_now for w in blocks)

    @property
    def action(self) -> str:
        if self.excluded:
            return "not now" if self.not_now else "excluded"
        return "switch" if self.replaces else "start"


@dataclass
class CurrentTherapy:
    """A drug the patient already takes, shown with the conditions it treats, what to do with it and why."""

    option_id: str  # "current_<ingredient ids>", so a decision (continue / stop) can be kept like an option's
    ingredients: list[str]  # one record line can hold several (piperacillin/tazobactam)
    name: str
    record_label: str
    condition_ids: list[str]
    plan: str  # the action in words (treatment_text.therapy_plan)
    warnings: list[SafetyWarning]
    kind: str = "current therapy"
    excluded: bool = False
    rank: int | None = None
    action: TherapyAction = "continue"
    reasons: list[str] = field(default_factory=list)  # why the action (the warnings' messages that set it, titration)
    replacements: list[str] = field(default_factory=list)  # option ids proposed in its place

    @property
    def label(self) -> str:
        return f"Current therapy: {self.record_label}"

    @property
    def worst_severity(self) -> str | None:
        return worst_severity(self.warnings)


@dataclass
class PillarStatus:
    """One pillar of guideline-directed therapy (HFrEF's four, CKD's, AF anticoagulation) for this patient."""

    pillar: str  # "beta-blocker"
    status: Literal["in place", "titrate", "start", "switch", "not now", "excluded", "not indicated", "undecided", "review"]
    detail: str  # the drug in place or proposed, or the reason
    option_ids: list[str] = field(default_factory=list)  # the options or current therapy it refers to


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
    pillars: list[PillarStatus] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)  # what the plan read for this condition (EF, score, bleeding factors)


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
    setting_source: SettingSource = "assumed"
    scores: list[ScoreResult] = field(default_factory=list)  # the scores the plan read (CHA2DS2-VA, CURB-65, ...)
    notice: str = DECISION_SUPPORT_NOTICE

    def to_dict(self) -> dict[str, Any]:
        """The values as JSON-ready data; each score also carries its missing items, possible range and the one
        sentence every view shows it as (as ``medassist picture --json`` does)."""
        data = asdict(self)
        for entry, score in zip(data["scores"], self.scores, strict=True):
            entry.update(missing=list(score.missing), possible_range=list(score.possible_range),
                         sentence=score_sentence(score))
        return data

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

    def therapy(self, ingredient: str) -> CurrentTherapy:
        """The current therapy holding ``ingredient``."""
        return next(t for t in self.current_therapy if ingredient in t.ingredients)

    def group(self, condition_id: str) -> ConditionGroup:
        return next(g for g in self.groups if g.condition_id == condition_id)

    def group_of(self, option_id: str) -> ConditionGroup | None:
        for group in self.groups:
            if option_id in group.options + group.excluded + group.current_therapy:
                return group
        return None
