"""The patient's clinical picture as plain values: what every view, the treatment engine, the report
and the worklist read about a patient, computed once by :mod:`medassist.clinical`.

Every value says where it came from and when (:class:`Measurement`), so a view can always show
"K 5.6 mmol/L, 1 Dec (LOINC 6298-4)" and a score can list the inputs it used and the ones it lacked.
A missing value is ``None``, never a default.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal


@dataclass(frozen=True)
class Measurement:
    """One value in MedAssist's unit for its measure, with its date and where it came from."""

    value: float
    unit: str
    date: _dt.date | None
    source: str  # "LOINC 6298-4", "patient record", "computed: CKD-EPI 2021 from creatinine 2.70 mg/dL (2026-12-05)"
    code: str = ""


@dataclass(frozen=True)
class Age:
    """Age on the picture's reference date; children's ages are shown in years and months."""

    years: float
    on: _dt.date
    source: str = "birth date in the record"

    @property
    def whole_months(self) -> int:
        return int(self.years * 12 + 1e-9)


@dataclass(frozen=True)
class RenalFunction:
    """Kidney function as the rules need it: eGFR (recorded, or CKD-EPI 2021 from creatinine),
    Cockcroft-Gault creatinine clearance for drug labels that dose by it, and the KDIGO stages."""

    egfr: Measurement | None = None
    egfr_computed: bool = False
    creatinine: Measurement | None = None
    crcl: Measurement | None = None  # mL/min, actual body weight
    albuminuria: Measurement | None = None  # urine albumin/creatinine ratio, mg/g
    g_stage: str | None = None  # KDIGO G1, G2, G3a, G3b, G4, G5
    a_stage: str | None = None  # KDIGO A1, A2, A3


@dataclass(frozen=True)
class StatedFact:
    """A yes/no fact about the patient now that a score needs (confused? on oxygen? nursing-home
    resident?), with the words that say it and where: a note's sentence or a coded problem."""

    present: bool
    text: str  # "GCS 13", "Alert and oriented", "Delirium (problem list)"
    date: _dt.date | None
    source: str  # "Emergency department note, 2026-12-07: \u201cConfused, GCS 13.\u201d"


@dataclass(frozen=True)
class Medication:
    """A current medication as the record lists it (drug classes are matched on its description)."""

    description: str
    code: str
    start: _dt.date | None


class EvidenceKind(StrEnum):
    RECORD = "record"  # a coded problem in the record
    NOTE = "note"  # a sentence of a note that affirms it (notes model)
    IMAGE = "image"  # a model finding on a current film of this patient
    CLINICIAN = "clinician"  # a finding the clinician confirmed, or a diagnosis given


@dataclass(frozen=True)
class ProblemEvidence:
    kind: EvidenceKind
    text: str  # the record entry, the note's sentence, the finding
    date: _dt.date | None = None
    detail: str = ""  # code and system, note title, model and version


@dataclass(frozen=True)
class ActiveProblem:
    """A problem the patient has now, by concept (value set), with every piece of evidence."""

    concept: str  # concept id from resources/knowledge/problems.yaml ("chronic_kidney_disease")
    name: str  # the clinical name ("Chronic kidney disease")
    evidence: tuple[ProblemEvidence, ...]
    since: _dt.date | None = None

    @property
    def kinds(self) -> set[EvidenceKind]:
        return {e.kind for e in self.evidence}


class FilmRelation(StrEnum):
    CURRENT = "current"  # taken in the current episode
    PRIOR = "prior"  # older than the current episode: shown with its date, never the current finding
    UNDATED = "undated"  # no study date: shown as "date unknown"


class FilmIdentity(StrEnum):
    MATCHES = "matches"  # nothing in the header contradicts the record (and something was compared)
    NOT_CHECKED = "not checked"  # the header names no one (anonymised picture, no record)
    MISMATCH = "mismatch"  # the header cannot be this patient: no finding unless the clinician attaches it


@dataclass(frozen=True)
class IdentityProblem:
    """One way the film's header contradicts the record (``result_text.film_text`` words it)."""

    item: Literal["name", "patient ID", "birth date", "sex", "age at the study", "study date"]
    header: str  # what the header says ("SMITH^JOHN", "M", "064Y", "2004-08-26")
    record: str  # what the record says ("Agnes Specimen-Smith", "female", "86 years")


@dataclass(frozen=True)
class FilmContext:
    """Whose film and from when, decided against the record before the film's findings count."""

    study_date: _dt.date | None
    relation: FilmRelation
    identity: FilmIdentity
    identity_problems: tuple[IdentityProblem, ...] = ()
    attached_by_clinician: str = ""  # the clinician's reason when they attached a mismatched film anyway
    episode_start: _dt.date | None = None  # the current episode's start the study date was compared with

    @property
    def withheld(self) -> bool:
        """True when the film's findings must not be shown as this patient's."""
        return self.identity == FilmIdentity.MISMATCH and not self.attached_by_clinician


@dataclass(frozen=True)
class ScoreItem:
    """One criterion of a score: the points it added, or ``None`` when its input is missing."""

    criterion: str  # "Respiratory rate >= 30/min"
    points: int | None
    value: str = ""  # "32/min"
    source: str = ""  # "LOINC 9279-1, 2026-12-07"
    max_points: int = 1  # most points the item can add (PSI and NEWS2 items add more than 1)


@dataclass(frozen=True)
class ScoreResult:
    """A validated score computed from the record, MDCalc-style: points per item, the missing items
    and the range the score could take with them, the interpretation band and the citation."""

    name: str  # "CURB-65"
    points: int  # from the items that could be counted
    maximum: int  # the score's scale maximum; 0 for an open scale (PSI adds the age in years)
    items: tuple[ScoreItem, ...]
    band: str  # the interpretation of ``points`` (or of the range when items are missing)
    citation: str  # guideline or derivation paper, year, table
    level: Literal["low", "moderate", "high", "unknown"] = "unknown"
    recommendation: str = ""  # what the band suggests ("consider hospital admission")
    stage: str = ""  # a staging rather than a sum of points (KDIGO "G4 A2"): shown instead of the points

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(item.criterion for item in self.items if item.points is None)

    @property
    def possible_range(self) -> tuple[int, int]:
        """The lowest and highest value the score could take once the missing items are known."""
        high = self.points + sum(i.max_points for i in self.items if i.points is None)
        return self.points, min(high, self.maximum) if self.maximum else high


def score_key(name: str) -> str:
    """A score's name with case, punctuation and subscripts set aside: "CURB-65" -> "curb65", "PSI/PORT" -> "psi"."""
    key = re.sub(r"[^a-z0-9]", "", name.lower().translate(_SUBSCRIPTS))
    return _SCORE_ALIASES.get(key, key)


_SUBSCRIPTS = str.maketrans("\u2080\u2081\u2082\u2083\u2084\u2085\u2086\u2087\u2088\u2089", "0123456789")
_SCORE_ALIASES = {"psiport": "psi", "port": "psi", "pneumoniaseverityindex": "psi", "kdigostage": "kdigo",
                  "news": "news2", "severecap": "atsidsaseverecap", "atsidsa": "atsidsaseverecap"}


class ScoreTable(dict[str, ScoreResult]):
    """The picture's scores by name; a name is found whatever its case or punctuation ("curb65",
    "PSI/PORT", "CHA\u2082DS\u2082-VASc"), so a caller never mistakes a differently written name for a missing score."""

    def _key(self, name: object) -> str | None:
        if not isinstance(name, str):
            return None
        wanted = score_key(name)
        return next((key for key in self.keys() if score_key(key) == wanted), None)

    def __missing__(self, name: str) -> ScoreResult:
        key = self._key(name)
        if key is None:
            raise KeyError(name)
        return self[key]

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name) or self._key(name) is not None

    def get(self, name: str, default: ScoreResult | None = None) -> ScoreResult | None:  # type: ignore[override]
        key = name if dict.__contains__(self, name) else self._key(name)
        return default if key is None else dict.__getitem__(self, key)


CareSettingName = Literal["outpatient", "inpatient", "severe"]


@dataclass(frozen=True)
class CareSetting:
    """Where the patient is treated: the clinician's choice, and what the scores suggest.

    ``chosen`` is None until the clinician says; ``suggested`` comes from severity scores and
    sepsis signs, with its reason. Outpatient is never assumed for a patient whose scores say otherwise.
    """

    chosen: CareSettingName | None = None
    suggested: CareSettingName | None = None
    reason: str = ""


@dataclass(frozen=True)
class EjectionFractionBand:
    """The LVEF band a heart-failure diagnosis states, used only when no LVEF is measured: "HFrEF" means 40% or
    less, "HFmrEF" 41-49%, "HFpEF" 50% or more (Universal definition of heart failure, Bozkurt et al. 2021)."""

    name: str  # "reduced" | "mildly reduced" | "preserved"
    low: float
    high: float
    evidence: str  # the diagnosis as written, and where


@dataclass
class ClinicalPicture:
    """Everything known about one patient on one date, each value with its source and date."""

    patient_id: str
    on: _dt.date  # reference date: today, or the death date
    episode_start: _dt.date  # start of the current episode (latest encounter); films before it are priors
    age: Age | None
    sex: str  # female | male | other | unknown
    weight: Measurement | None
    height: Measurement | None
    pregnant: bool | None
    pregnancy_source: str
    renal: RenalFunction
    measures: dict[str, Measurement] = field(default_factory=dict)  # latest value per measure name (records.codes)
    current_measures: dict[str, Measurement] = field(default_factory=dict)  # those from the current episode
    ejection_fraction: Measurement | None = None  # LVEF %, from the record or a note
    ejection_fraction_band: EjectionFractionBand | None = None  # the band a diagnosis states (HFrEF), when no LVEF
    problems: list[ActiveProblem] = field(default_factory=list)
    scores: ScoreTable = field(default_factory=ScoreTable)
    care_setting: CareSetting = field(default_factory=CareSetting)
    sepsis_signs: list[str] = field(default_factory=list)
    # what a current note (or a coded problem) states about the patient now, by fact name
    # (medassist.notes.facts: altered_mentation, supplemental_oxygen, nursing_home, ...)
    facts: dict[str, StatedFact] = field(default_factory=dict)
    medications: list[Medication] = field(default_factory=list)
    not_scored: dict[str, str] = field(default_factory=dict)  # score name -> why it was not computed

    def has(self, concept: str) -> bool:
        return any(p.concept == concept for p in self.problems)

    def problem(self, concept: str) -> ActiveProblem | None:
        return next((p for p in self.problems if p.concept == concept), None)

    def value(self, measure: str, current: bool = False) -> float | None:
        found = (self.current_measures if current else self.measures).get(measure)
        return None if found is None else found.value

    @property
    def age_years(self) -> float | None:
        return None if self.age is None else self.age.years

    @property
    def is_child(self) -> bool:
        return self.age is not None and self.age.years < 18.0
