"""Validated clinical scores computed from the clinical picture, each a pure function of it.

Every score returns a :class:`~medassist.domain.clinical.ScoreResult`: the points each criterion
added with the value, source and date it came from; the criteria whose input is missing (never
counted as zero: ``points`` is ``None`` and the result's ``possible_range`` says how high the score
could go); the interpretation band, its level and the citation.

Rules every score here follows:

* **Acute scores read the current episode only** (``picture.current_measures``, the values dated
  since the latest encounter started): a respiratory rate from last year's visit is missing, not used.
  Bedside facts (confusion, oxygen, nursing home) come from the newest current note that states
  them or a coded problem of this episode (``picture.facts``).
* **Conditions** (heart failure, stroke, cancer...) count when the problem list or the notes'
  evidence holds the concept (``problems.yaml`` value sets); a condition absent from both adds 0 and
  says "not on the problem list", which is how the scores are used from a record.
* **Units**: values are in MedAssist's unit for each measure (urea nitrogen mg/dL, temperature
  \u00b0C...). A threshold set in other units is compared in its own (CURB-65's urea > 7 mmol/L is
  BUN / 2.801 > 7, so a urea of 7.0 mmol/L does not count).
* **Population**: CURB-65, CRB-65, PSI and qSOFA are for adults (18 or over), NEWS2 for 16 or over
  and not in pregnancy; CURB-65, CRB-65, PSI and the ATS/IDSA criteria for pneumonia;
  CHA2DS2-VASc, CHA2DS2-VA and HAS-BLED for atrial fibrillation. Outside that, the score is not
  computed and :func:`score_picture` says why.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, replace
from typing import Callable, Literal

from medassist.domain.clinical import ClinicalPicture, EvidenceKind, Measurement, ScoreItem, ScoreResult, ScoreTable
from medassist.domain.result_text import age_text, measurement_source, measurement_text
from medassist.notes import facts

Level = Literal["low", "moderate", "high", "unknown"]

CURB65_CITATION = ("Lim WS et al. Thorax 2003;58:377-82 (derivation); BTS guideline for community-acquired "
                   "pneumonia in adults 2009, Lim WS et al. Thorax 2009;64 Suppl 3:iii1-55 (severity assessment)")
CRB65_CITATION = ("BTS guideline for community-acquired pneumonia in adults 2009, Lim WS et al. Thorax 2009;64 "
                  "Suppl 3:iii1-55: CRB-65, for use when urea is not available")
PSI_CITATION = ("Pneumonia Severity Index (PORT): Fine MJ et al. N Engl J Med 1997;336:243-50, Table 2 (points) "
                "and risk classes I-V")
QSOFA_CITATION = ("qSOFA: Seymour CW et al. JAMA 2016;315:762-74; Sepsis-3, Singer M et al. JAMA 2016;315:801-10")
NEWS2_CITATION = ("Royal College of Physicians. National Early Warning Score (NEWS) 2, 2017: Chart 1 (scoring) "
                  "and its clinical response thresholds")
CHA2DS2_VASC_CITATION = ("Lip GYH et al. Chest 2010;137:263-72; treatment thresholds: ESC 2020 AF guideline, "
                         "Hindricks G et al. Eur Heart J 2021;42:373-498")
CHA2DS2_VA_CITATION = ("ESC 2024 AF guideline, Van Gelder IC et al. Eur Heart J 2024;45:3314-414: CHA2DS2-VA "
                       "(sex removed); anticoagulation recommended at 2 or more, to be considered at 1")
HAS_BLED_CITATION = ("Pisters R et al. Chest 2010;138:1093-100; ESC 2020 AF guideline: 3 or more flags high "
                     "bleeding risk, to address modifiable factors and review more often, not on its own a "
                     "reason to withhold anticoagulation")
KDIGO_CITATION = ("KDIGO 2024 Clinical Practice Guideline for the Evaluation and Management of CKD, Kidney Int "
                  "2024;105(4S):S117-S314: GFR categories G1-G5, albuminuria categories A1-A3 and risk by both")
SEVERE_CAP_CITATION = ("ATS/IDSA 2019 CAP guideline, Metlay JP et al. Am J Respir Crit Care Med 2019;200:e45-67, "
                       "Table 1: severe CAP is 1 major or 3 or more minor criteria")

ADULT_AGE = 18.0
NEWS2_MIN_AGE = 16.0  # RCP 2017: NEWS2 is not for children under 16 (nor in pregnancy)
UREA_MMOL_PER_BUN_MG_DL = 1 / 2.801  # mmol/L of urea per mg/dL of urea nitrogen (28.01 g N per mol)

# Drug classes HAS-BLED and the ATS/IDSA major criterion read from the current medications
# (ingredient words in the description; the treatment tables hold the full classes).
ANTIPLATELETS = ("aspirin", "acetylsalicylic", "clopidogrel", "prasugrel", "ticagrelor", "dipyridamole", "ticlopidine")
NSAIDS = ("ibuprofen", "naproxen", "diclofenac", "celecoxib", "etoricoxib", "indometacin", "indomethacin", "ketoprofen",
          "meloxicam", "piroxicam", "ketorolac", "mefenamic", "nabumetone", "etodolac", "aceclofenac")
VITAMIN_K_ANTAGONISTS = ("warfarin", "acenocoumarol", "phenprocoumon", "fluindione")
VASOPRESSORS = ("noradrenaline", "norepinephrine", "vasopressin", "phenylephrine", "metaraminol", "dopamine",
                "adrenaline", "epinephrine")
NOT_A_VASOPRESSOR = ("auto-injector", "autoinjector", "auto injector", "pen injector")  # adrenaline for anaphylaxis


# -- items ------------------------------------------------------------------------------------
def _current(p: ClinicalPicture, measure: str) -> Measurement | None:
    return p.current_measures.get(measure)


def _not_in_episode(p: ClinicalPicture, measure: str) -> str:
    """Why an acute score's input is missing: none recorded, or only one older than this episode."""
    older = p.measures.get(measure)
    if older is None:
        return "not recorded"
    return (f"none since this episode began ({p.episode_start.isoformat()}); the last, "
            f"{measurement_text(older, with_date=True)}, is not used")


def _measured(p: ClinicalPicture, measure: str, criterion: str, points: Callable[[float], int], max_points: int = 1,
              current: bool = True) -> ScoreItem:
    """An item from one measure: its points, value and source, or missing (with why)."""
    m = _current(p, measure) if current else p.measures.get(measure)
    if m is None:
        why = _not_in_episode(p, measure) if current else "not recorded"
        return ScoreItem(criterion, None, "", why, max_points)
    return ScoreItem(criterion, points(m.value), measurement_text(m), measurement_source(m), max_points)


def _fact(p: ClinicalPicture, fact: str, criterion: str, points: int, absent_text: str = "no") -> ScoreItem:
    """An item from a stated fact (a current note's sentence or a coded problem)."""
    stated = p.facts.get(fact)
    if stated is None:
        return ScoreItem(criterion, None, "", "not stated in a note of this episode or on the problem list", points)
    return ScoreItem(criterion, points if stated.present else 0, stated.text if stated.present else
                     f"{absent_text} ({stated.text})", stated.source, points)


_EVIDENCE_WORDS = {EvidenceKind.RECORD: "problem list", EvidenceKind.NOTE: "note", EvidenceKind.IMAGE: "image finding",
                   EvidenceKind.CLINICIAN: "clinician"}


def _condition(p: ClinicalPicture, concepts: tuple[str, ...], criterion: str, points: int) -> ScoreItem:
    """An item from the problem list (any of ``concepts``); absent adds 0, and says so."""
    for concept in concepts:
        problem = p.problem(concept)
        if problem is not None:
            evidence = problem.evidence[0]
            where = ", ".join(part for part in (_EVIDENCE_WORDS[evidence.kind], evidence.detail,
                                                evidence.date.isoformat() if evidence.date else "") if part)
            return ScoreItem(criterion, points, evidence.text, where, points)
    return ScoreItem(criterion, 0, "none", "not on the problem list or in the notes' evidence", points)


def _on_drug(p: ClinicalPicture, words: tuple[str, ...], this_episode: bool = False) -> list[str]:
    """Current medications of a class (by ingredient word); ``this_episode``: started in this episode only."""
    return [m.description for m in p.medications if any(w in m.description.lower() for w in words)
            and (not this_episode or m.start is None or m.start >= p.episode_start)]


def _total(items: list[ScoreItem]) -> int:
    return sum(i.points for i in items if i.points is not None)


def _top(items: list[ScoreItem]) -> int:
    return _total(items) + sum(i.max_points for i in items if i.points is None)


# -- bands ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Band:
    low: int
    high: int
    text: str
    level: Level
    recommendation: str


def _band_of(bands: tuple[Band, ...], value: int) -> Band:
    return next(b for b in bands if b.low <= value <= b.high)


def _interpreted(bands: tuple[Band, ...], low: int, high: int) -> tuple[str, Level, str]:
    """Band, level and recommendation of a score known to lie in [low, high]: the band of ``low``
    when both ends share it; otherwise both bands, level unknown, and what the known points already say."""
    first, last = _band_of(bands, low), _band_of(bands, high)
    if first == last:
        return first.text, first.level, first.recommendation
    return (f"{first.text} to {last.text}, depending on the missing items", "unknown",
            f"at {low}: {first.recommendation}; at {high}: {last.recommendation}")


def _result(name: str, maximum: int, items: list[ScoreItem], bands: tuple[Band, ...], citation: str) -> ScoreResult:
    low, high = _total(items), min(_top(items), maximum)
    band, level, recommendation = _interpreted(bands, low, high)
    return ScoreResult(name, low, maximum, tuple(items), band, citation, level, recommendation)


# -- CURB-65 and CRB-65 -----------------------------------------------------------------------
CURB65_BANDS = (
    Band(0, 1, "low severity", "low", "likely suitable for home treatment"),
    Band(2, 2, "moderate severity", "moderate",
         "consider a short-stay hospital admission or hospital-supervised outpatient treatment"),
    Band(3, 3, "high severity", "high", "manage in hospital as severe pneumonia"),
    Band(4, 5, "high severity", "high", "manage in hospital as severe pneumonia and assess for intensive care"),
)
CRB65_BANDS = (
    Band(0, 0, "low risk", "low", "likely suitable for home treatment"),
    Band(1, 2, "intermediate risk", "moderate", "consider hospital referral"),
    Band(3, 4, "high risk", "high", "urgent hospital admission"),
)


def _confusion(p: ClinicalPicture) -> ScoreItem:
    return _fact(p, facts.ALTERED_MENTATION, "Confusion (new disorientation, or abbreviated mental test 8 or less)", 1)


def _urea_over_7(p: ClinicalPicture) -> ScoreItem:
    """Urea > 7 mmol/L, compared in mmol/L (BUN mg/dL / 2.801; > 19.6 mg/dL)."""
    criterion = "Urea > 7 mmol/L (BUN > 19.6 mg/dL)"
    m = _current(p, "urea_nitrogen")
    if m is None:
        return ScoreItem(criterion, None, "", _not_in_episode(p, "urea_nitrogen"))
    urea = round(m.value * UREA_MMOL_PER_BUN_MG_DL, 2)
    return ScoreItem(criterion, int(urea > 7.0), f"BUN {measurement_text(m)} (urea {urea:.1f} mmol/L)",
                     measurement_source(m))


def _low_blood_pressure(p: ClinicalPicture) -> ScoreItem:
    """SBP < 90 or DBP <= 60 mmHg: either alone can score; ruling it out needs both."""
    criterion = "Systolic BP < 90 or diastolic BP <= 60 mmHg"
    sbp, dbp = _current(p, "systolic_bp"), _current(p, "diastolic_bp")
    shown = ", ".join(f"{word} {measurement_text(m)}" for word, m in (("SBP", sbp), ("DBP", dbp)) if m is not None)
    source = "; ".join(measurement_source(m) for m in (sbp, dbp) if m is not None)
    if (sbp is not None and sbp.value < 90) or (dbp is not None and dbp.value <= 60):
        return ScoreItem(criterion, 1, shown, source)
    if sbp is not None and dbp is not None:
        return ScoreItem(criterion, 0, shown, source)
    missing = " and ".join(w for w, m in (("systolic", sbp), ("diastolic", dbp)) if m is None)
    return ScoreItem(criterion, None, shown, f"{missing} pressure not recorded in this episode" +
                     (f"; {source}" if source else ""))


def _age_at_least(p: ClinicalPicture, years: float, criterion: str, points: int = 1) -> ScoreItem:
    if p.age is None:
        return ScoreItem(criterion, None, "", "birth date not recorded", points)
    return ScoreItem(criterion, points if p.age.years >= years else 0, f"{int(p.age.years)} years", p.age.source, points)


def curb65(p: ClinicalPicture) -> ScoreResult:
    """CURB-65 (Lim 2003; BTS 2009): confusion, urea, respiratory rate, blood pressure, age 65+."""
    items = [_confusion(p), _urea_over_7(p),
             _measured(p, "respiratory_rate", "Respiratory rate >= 30/min", lambda v: int(v >= 30)),
             _low_blood_pressure(p), _age_at_least(p, 65, "65 years or older")]
    return _result("CURB-65", 5, items, CURB65_BANDS, CURB65_CITATION)


def crb65(p: ClinicalPicture) -> ScoreResult:
    """CRB-65 (BTS 2009): CURB-65 without urea, for when no urea is available."""
    items = [_confusion(p), _measured(p, "respiratory_rate", "Respiratory rate >= 30/min", lambda v: int(v >= 30)),
             _low_blood_pressure(p), _age_at_least(p, 65, "65 years or older")]
    return _result("CRB-65", 4, items, CRB65_BANDS, CRB65_CITATION)


# -- PSI / PORT -------------------------------------------------------------------------------
PSI_CLASS_BANDS = (  # Fine 1997: points of classes II-V (class I is decided without points, step 1)
    Band(0, 70, "class II", "low", "outpatient treatment"),
    Band(71, 90, "class III", "moderate", "outpatient treatment or a brief inpatient observation"),
    Band(91, 130, "class IV", "high", "inpatient treatment"),
    Band(131, 10_000, "class V", "high", "inpatient treatment"),
)
PSI_CLASS_I = Band(0, 0, "class I", "low", "outpatient treatment")


def _psi_age(p: ClinicalPicture) -> list[ScoreItem]:
    """Age in years (men), age - 10 (women); with sex unknown, the 10 points of male sex are missing."""
    if p.age is None:
        return [ScoreItem("Age (men: years; women: years - 10)", None, "", "birth date not recorded", 100)]
    years = int(p.age.years)
    if p.sex == "male":
        return [ScoreItem("Age (men: years)", years, f"{years} years, male", p.age.source, years)]
    if p.sex == "female":
        return [ScoreItem("Age (women: years - 10)", years - 10, f"{years} years, female", p.age.source, years - 10)]
    return [ScoreItem("Age (women: years - 10)", years - 10, f"{years} years", p.age.source, years - 10),
            ScoreItem("Male sex (+10 on age)", None, "", f"sex recorded as {p.sex}", 10)]


def _pao2_or_spo2(p: ClinicalPicture) -> ScoreItem:
    criterion = "PaO2 < 60 mmHg (or SpO2 < 90%)"
    pao2, spo2 = _current(p, "pao2"), _current(p, "oxygen_saturation")
    if pao2 is not None:
        return ScoreItem(criterion, 10 * int(pao2.value < 60), f"PaO2 {measurement_text(pao2)}", measurement_source(pao2), 10)
    if spo2 is not None:
        return ScoreItem(criterion, 10 * int(spo2.value < 90), f"SpO2 {measurement_text(spo2)}", measurement_source(spo2), 10)
    return ScoreItem(criterion, None, "", "no PaO2 or SpO2 in this episode", 10)


def _pleural_effusion(p: ClinicalPicture) -> ScoreItem:
    item = _condition(p, ("pleural_effusion",), "Pleural effusion (radiograph)", 10)
    if item.points:
        return item
    return _fact(p, facts.PLEURAL_EFFUSION, "Pleural effusion (radiograph)", 10)


_PSI_STEP1 = ("Neoplastic disease", "Liver disease", "Congestive heart failure", "Cerebrovascular disease", "Renal disease",
              "Altered mental status", "Respiratory rate >= 30/min", "Systolic BP < 90 mmHg",
              "Temperature < 35 or >= 40 \u00b0C", "Pulse >= 125/min")


def psi(p: ClinicalPicture) -> ScoreResult:
    """PSI/PORT (Fine 1997, Table 2): class I by step 1, classes II-V by points; partial with its range."""
    items = _psi_age(p) + [
        _fact(p, facts.NURSING_HOME, "Nursing home resident", 10),
        _condition(p, ("cancer",), "Neoplastic disease", 30),
        _condition(p, ("liver_disease",), "Liver disease", 20),
        _condition(p, ("heart_failure",), "Congestive heart failure", 10),
        _condition(p, ("stroke",), "Cerebrovascular disease", 10),
        _condition(p, ("chronic_kidney_disease", "dialysis_or_kidney_transplant"), "Renal disease", 10),
        _fact(p, facts.ALTERED_MENTATION, "Altered mental status", 20),
        _measured(p, "respiratory_rate", "Respiratory rate >= 30/min", lambda v: 20 * int(v >= 30), 20),
        _measured(p, "systolic_bp", "Systolic BP < 90 mmHg", lambda v: 20 * int(v < 90), 20),
        _measured(p, "body_temperature", "Temperature < 35 or >= 40 \u00b0C", lambda v: 15 * int(v < 35 or v >= 40), 15),
        _measured(p, "heart_rate", "Pulse >= 125/min", lambda v: 10 * int(v >= 125), 10),
        _measured(p, "arterial_ph", "Arterial pH < 7.35", lambda v: 30 * int(v < 7.35), 30),
        _measured(p, "urea_nitrogen", "BUN >= 30 mg/dL (11 mmol/L)", lambda v: 20 * int(v >= 30), 20),
        _measured(p, "sodium", "Sodium < 130 mmol/L", lambda v: 20 * int(v < 130), 20),
        _measured(p, "glucose", "Glucose >= 250 mg/dL (14 mmol/L)", lambda v: 10 * int(v >= 250), 10),
        _measured(p, "hematocrit", "Haematocrit < 30%", lambda v: 10 * int(v < 30), 10),
        _pao2_or_spo2(p),
        _pleural_effusion(p),
    ]
    low, high = _total(items), _top(items)
    step1 = [i for i in items if i.criterion in _PSI_STEP1]
    young = p.age is not None and p.age.years <= 50
    if young and all(i.points == 0 for i in step1):
        return ScoreResult("PSI", low, 0, tuple(items), f"{PSI_CLASS_I.text} (step 1: 50 or younger, none of the "
                           "listed illnesses or examination findings; no points needed)", PSI_CITATION,
                           PSI_CLASS_I.level, PSI_CLASS_I.recommendation)
    could_be_class_i = young and all(i.points in (0, None) for i in step1)
    first = PSI_CLASS_I if could_be_class_i else _band_of(PSI_CLASS_BANDS, low)
    last = _band_of(PSI_CLASS_BANDS, high)
    if first == last:
        band, level, recommendation = f"{first.text} ({low} points)", first.level, first.recommendation
    else:
        band = f"{first.text} to {last.text} ({low}-{high} points), depending on the missing items"
        level = "unknown"
        recommendation = f"at {first.text}: {first.recommendation}; at {last.text}: {last.recommendation}"
    return ScoreResult("PSI", low, 0, tuple(items), band, PSI_CITATION, level, recommendation)


def psi_lowest_class(result: ScoreResult) -> str:
    """The lowest PSI risk class a (possibly partial) result allows: "I" to "V"."""
    if result.band.startswith(PSI_CLASS_I.text + " "):
        return "I"
    return _band_of(PSI_CLASS_BANDS, result.points).text.removeprefix("class ")


# -- qSOFA --------------------------------------------------------------------------------------
QSOFA_BANDS = (
    Band(0, 1, "under 2", "low", "does not rule out sepsis; keep reassessing"),
    Band(2, 3, "2 or more: high risk", "high", "with suspected infection, a high risk of a poor outcome: look for organ "
                                               "dysfunction (SOFA) and treat as possible sepsis"),
)


def qsofa(p: ClinicalPicture) -> ScoreResult:
    """qSOFA (Seymour 2016; Sepsis-3): RR >= 22, SBP <= 100, altered mentation."""
    items = [_measured(p, "respiratory_rate", "Respiratory rate >= 22/min", lambda v: int(v >= 22)),
             _measured(p, "systolic_bp", "Systolic BP <= 100 mmHg", lambda v: int(v <= 100)),
             _fact(p, facts.ALTERED_MENTATION, "Altered mentation (GCS < 15)", 1)]
    return _result("qSOFA", 3, items, QSOFA_BANDS, QSOFA_CITATION)


# -- NEWS2 --------------------------------------------------------------------------------------
def _steps(value: float, steps: tuple[tuple[float, int], ...], last: int) -> int:
    """Points of the first step whose upper bound ``value`` does not exceed, else ``last``."""
    return next((points for bound, points in steps if value <= bound), last)


def _news2_spo2(p: ClinicalPicture, scale2: bool, oxygen: bool | None) -> ScoreItem:
    m = _current(p, "oxygen_saturation")
    stated = p.facts.get(facts.HYPERCAPNIC_TARGET)
    if not scale2:
        criterion = "SpO2, scale 1 (no hypercapnic respiratory failure or 88-92% target recorded)"
        if m is None:
            return ScoreItem(criterion, None, "", _not_in_episode(p, "oxygen_saturation"), 3)
        return ScoreItem(criterion, _steps(m.value, ((91, 3), (93, 2), (95, 1)), 0), measurement_text(m),
                         measurement_source(m), 3)
    criterion = f"SpO2, scale 2 ({stated.text if stated else 'hypercapnic respiratory failure'})"
    if m is None:
        return ScoreItem(criterion, None, "", _not_in_episode(p, "oxygen_saturation"), 3)
    value = m.value
    if value < 93:
        points = _steps(value, ((83, 3), (85, 2), (87, 1)), 0)
    elif oxygen is None:
        return ScoreItem(criterion, None, measurement_text(m), "93% or more scores on oxygen only, and whether the "
                         "patient is on oxygen is not recorded", 3)
    else:
        points = _steps(value, ((94, 1), (96, 2)), 3) if oxygen else 0
    return ScoreItem(criterion, points, measurement_text(m), measurement_source(m), 3)


NEWS2_BANDS = (
    Band(0, 4, "low", "low", "ward-based response: assessment by a registered nurse"),
    Band(5, 6, "medium: key threshold", "moderate", "urgent response: urgent review by a clinician competent in "
                                                    "acute illness"),
    Band(7, 20, "high", "high", "emergency response: emergency assessment by a clinical team with critical-care "
                                "competencies, usually transfer to a higher level of care"),
)
NEWS2_RED = Band(0, 4, "low-medium: one parameter scores 3", "moderate",
                 "urgent ward-based response: urgent review by a clinician")


def news2(p: ClinicalPicture) -> ScoreResult:
    """NEWS2 (RCP 2017, Chart 1), SpO2 scale 2 only when the record says hypercapnic respiratory failure."""
    oxygen_fact = p.facts.get(facts.SUPPLEMENTAL_OXYGEN)
    oxygen = None if oxygen_fact is None else oxygen_fact.present
    hypercapnic = p.facts.get(facts.HYPERCAPNIC_TARGET)
    items = [
        _measured(p, "respiratory_rate", "Respiratory rate", lambda v: _steps(v, ((8, 3), (11, 1), (20, 0), (24, 2)), 3), 3),
        _news2_spo2(p, hypercapnic is not None and hypercapnic.present, oxygen),
        _fact(p, facts.SUPPLEMENTAL_OXYGEN, "Air or oxygen (oxygen +2)", 2, absent_text="air"),
        _measured(p, "systolic_bp", "Systolic BP", lambda v: _steps(v, ((90, 3), (100, 2), (110, 1), (219, 0)), 3), 3),
        _measured(p, "heart_rate", "Pulse", lambda v: _steps(v, ((40, 3), (50, 1), (90, 0), (110, 1), (130, 2)), 3), 3),
        _fact(p, facts.ALTERED_MENTATION, "Consciousness (new confusion, or responds to voice/pain, or unresponsive: +3)", 3,
              absent_text="alert"),
        _measured(p, "body_temperature", "Temperature", lambda v: _steps(v, ((35.0, 3), (36.0, 1), (38.0, 0), (39.0, 1)), 2), 3),
    ]
    low, high = _total(items), _top(items)
    red = any(i.points == 3 for i in items)
    first = NEWS2_RED if red and low <= 4 else _band_of(NEWS2_BANDS, low)
    last = _band_of(NEWS2_BANDS, high)
    if first == last or (first is NEWS2_RED and high <= 4):
        band, level, recommendation = first.text, first.level, first.recommendation
    else:
        band, level = f"{first.text} to {last.text}, depending on the missing items", "unknown"
        recommendation = f"at {low}: {first.recommendation}; at {high}: {last.recommendation}"
    return ScoreResult("NEWS2", low, 20, tuple(items), band, NEWS2_CITATION, level, recommendation)


# -- CHA2DS2-VASc, CHA2DS2-VA, HAS-BLED -------------------------------------------------------------
def _heart_failure_or_lv_dysfunction(p: ClinicalPicture) -> ScoreItem:
    criterion = "Congestive heart failure or LV dysfunction (LVEF 40% or less)"
    item = _condition(p, ("heart_failure",), criterion, 1)
    ef = p.ejection_fraction
    if item.points or ef is None:
        return item
    return ScoreItem(criterion, int(ef.value <= 40), f"LVEF {measurement_text(ef)}", measurement_source(ef))


def _age_75_or_65(p: ClinicalPicture) -> ScoreItem:
    criterion = "75 years or older (+2), 65-74 years (+1)"
    if p.age is None:
        return ScoreItem(criterion, None, "", "birth date not recorded", 2)
    years = p.age.years
    return ScoreItem(criterion, 2 if years >= 75 else 1 if years >= 65 else 0, f"{int(years)} years", p.age.source, 2)


def _stroke_items(p: ClinicalPicture) -> list[ScoreItem]:
    return [
        _heart_failure_or_lv_dysfunction(p),
        _condition(p, ("hypertension",), "Hypertension", 1),
        _age_75_or_65(p),
        _condition(p, ("diabetes",), "Diabetes mellitus", 1),
        _condition(p, ("stroke",), "Stroke, TIA or thromboembolism", 2),
        _condition(p, ("coronary_artery_disease", "peripheral_arterial_disease"),
                   "Vascular disease (prior MI, coronary or peripheral artery disease, aortic plaque)", 1),
    ]


STROKE_RISK_BANDS = (  # on the points other than sex (ESC 2020 for CHA2DS2-VASc; ESC 2024 for CHA2DS2-VA)
    Band(0, 0, "low stroke risk", "low", "no anticoagulation for stroke prevention"),
    Band(1, 1, "intermediate stroke risk", "moderate", "oral anticoagulation should be considered"),
    Band(2, 9, "high stroke risk", "high", "oral anticoagulation recommended (unless contraindicated)"),
)


def cha2ds2_vasc(p: ClinicalPicture) -> ScoreResult:
    """CHA2DS2-VASc (Lip 2010); treatment bands on the points other than female sex (ESC 2020)."""
    sex = ScoreItem("Sex category: female", None, "", f"sex recorded as {p.sex}") if p.sex not in ("female", "male") \
        else ScoreItem("Sex category: female", int(p.sex == "female"), p.sex, "patient record")
    items = _stroke_items(p) + [sex]
    without_sex = items[:-1]
    band, level, recommendation = _interpreted(STROKE_RISK_BANDS, _total(without_sex), _top(without_sex))
    return ScoreResult("CHA2DS2-VASc", _total(items), 9, tuple(items), band + " (points other than sex)",
                       CHA2DS2_VASC_CITATION, level, recommendation)


def cha2ds2_va(p: ClinicalPicture) -> ScoreResult:
    """CHA2DS2-VA (ESC 2024): CHA2DS2-VASc without the sex category."""
    return _result("CHA2DS2-VA", 8, _stroke_items(p), STROKE_RISK_BANDS, CHA2DS2_VA_CITATION)


HAS_BLED_BANDS = (
    Band(0, 2, "bleeding risk not high", "low", "review the modifiable risk factors"),
    Band(3, 9, "high bleeding risk", "high", "address the modifiable risk factors and review more often; not on its "
                                            "own a reason to withhold anticoagulation"),
)
HAS_BLED_MODIFIABLE = ("Uncontrolled hypertension", "Labile INR", "Drugs", "Alcohol")


def _renal_for_bleeding(p: ClinicalPicture) -> ScoreItem:
    criterion = "Abnormal renal function (dialysis, kidney transplant, or creatinine 2.26 mg/dL (200 \u00b5mol/L) or more)"
    item = _condition(p, ("dialysis_or_kidney_transplant",), criterion, 1)
    creatinine = p.renal.creatinine
    if item.points or creatinine is None:
        return item if item.points or creatinine is not None else ScoreItem(criterion, None, "", "creatinine not recorded")
    return ScoreItem(criterion, int(creatinine.value >= 2.26), f"creatinine {measurement_text(creatinine)}",
                     measurement_source(creatinine))


def _labile_inr(p: ClinicalPicture) -> ScoreItem:
    criterion = "Labile INR (time in therapeutic range < 60%; modifiable)"
    on_vka = _on_drug(p, VITAMIN_K_ANTAGONISTS)
    if not on_vka:
        return ScoreItem(criterion, 0, "not on a vitamin K antagonist", "current medications")
    return ScoreItem(criterion, None, on_vka[0], "time in therapeutic range is not recorded")


def _drugs(p: ClinicalPicture) -> ScoreItem:
    criterion = "Drugs (antiplatelet or NSAID; modifiable)"
    found = _on_drug(p, ANTIPLATELETS + NSAIDS)
    return ScoreItem(criterion, int(bool(found)), "; ".join(found) or "none", "current medications")


def has_bled(p: ClinicalPicture) -> ScoreResult:
    """HAS-BLED (Pisters 2010), its modifiable factors named in the recommendation."""
    items = [
        _measured(p, "systolic_bp", "Uncontrolled hypertension (systolic BP > 160 mmHg; modifiable)",
                  lambda v: int(v > 160), current=False),
        _renal_for_bleeding(p),
        _condition(p, ("liver_disease",), "Abnormal liver function (cirrhosis)", 1),
        _condition(p, ("stroke",), "Stroke", 1),
        _condition(p, ("major_bleeding", "anaemia"), "Bleeding history or predisposition (anaemia)", 1),
        _labile_inr(p),
        ScoreItem("Elderly (over 65)", None, "", "birth date not recorded") if p.age is None else
        ScoreItem("Elderly (over 65)", int(p.age.years > 65), f"{int(p.age.years)} years", p.age.source),
        _drugs(p),
        _condition(p, ("alcohol_misuse",), "Alcohol (8 or more drinks a week; modifiable)", 1),
    ]
    result = _result("HAS-BLED", 9, items, HAS_BLED_BANDS, HAS_BLED_CITATION)
    modifiable = [f"{i.criterion.split(' (')[0]}: {i.value}" for i in items
                  if i.criterion.startswith(HAS_BLED_MODIFIABLE) and i.points]
    recommendation = result.recommendation + (f". Modifiable now: {'; '.join(modifiable)}" if modifiable else "")
    return ScoreResult(result.name, result.points, result.maximum, result.items, result.band, result.citation,
                       result.level, recommendation)


# -- KDIGO ------------------------------------------------------------------------------------------
# KDIGO 2024 risk by GFR and albuminuria category (the "heat map"); G1-G2 with A1 is CKD only with
# other markers of kidney damage.
_KDIGO_RISK = {("G1", "A1"): "low", ("G1", "A2"): "moderately increased", ("G1", "A3"): "high",
               ("G2", "A1"): "low", ("G2", "A2"): "moderately increased", ("G2", "A3"): "high",
               ("G3a", "A1"): "moderately increased", ("G3a", "A2"): "high", ("G3a", "A3"): "very high",
               ("G3b", "A1"): "high", ("G3b", "A2"): "very high", ("G3b", "A3"): "very high"}
_KDIGO_LEVEL: dict[str, Level] = {"low": "low", "moderately increased": "moderate", "high": "high", "very high": "high"}


def kdigo(p: ClinicalPicture) -> ScoreResult:
    """KDIGO 2024 GFR (G) and albuminuria (A) categories of the latest values, and the risk by both."""
    from medassist.clinical.renal import A_CATEGORY_TEXT, G_CATEGORY_TEXT

    renal = p.renal
    g_item = ScoreItem("GFR category", None, "", "no eGFR or creatinine recorded", 0) if renal.egfr is None else \
        ScoreItem("GFR category", 0, f"{renal.g_stage}: eGFR {measurement_text(renal.egfr)}",
                  measurement_source(renal.egfr), 0)
    a_item = ScoreItem("Albuminuria category", None, "", "no urine albumin/creatinine ratio recorded", 0) \
        if renal.albuminuria is None else \
        ScoreItem("Albuminuria category", 0, f"{renal.a_stage}: ACR {measurement_text(renal.albuminuria)}",
                  measurement_source(renal.albuminuria), 0)
    g, a = renal.g_stage, renal.a_stage
    stage = " ".join(s for s in (g, a) if s)
    parts = ([f"GFR {G_CATEGORY_TEXT[g]}"] if g else []) + ([f"albuminuria {A_CATEGORY_TEXT[a]}"] if a else [])
    level: Level = "unknown"
    if g in ("G4", "G5"):
        risk = "very high"
    elif g is not None and a is not None:
        risk = _KDIGO_RISK[(g, a)]
    else:
        risk = ""
    if risk:
        level = _KDIGO_LEVEL[risk]
        parts.append(f"risk {risk}")
    elif g is not None:
        parts.append("risk needs the albuminuria category")
    recommendation = "CKD needs the abnormality for more than 3 months; one value is not a diagnosis"
    return ScoreResult("KDIGO", 0, 0, (g_item, a_item), "; ".join(parts), KDIGO_CITATION, level, recommendation, stage)


# -- ATS/IDSA 2019 severe CAP --------------------------------------------------------------------------
def _pf_ratio(p: ClinicalPicture) -> ScoreItem:
    criterion = "PaO2/FiO2 250 or less (minor)"
    pao2, fio2 = _current(p, "pao2"), _current(p, "fio2")
    if pao2 is None or fio2 is None or fio2.value <= 0:
        return ScoreItem(criterion, None, "", "PaO2 and FiO2 of this episode not both recorded")
    ratio = pao2.value / (fio2.value / 100.0)
    return ScoreItem(criterion, int(ratio <= 250), f"{ratio:.0f} (PaO2 {measurement_text(pao2)}, FiO2 {measurement_text(fio2)})",
                     f"{measurement_source(pao2)}; {measurement_source(fio2)}")


def _vasopressors(p: ClinicalPicture) -> ScoreItem:
    criterion = "Septic shock needing vasopressors (major)"
    drugs = [d for d in _on_drug(p, VASOPRESSORS, this_episode=True)  # one never stopped in the record is not today's
             if not any(word in d.lower() for word in NOT_A_VASOPRESSOR)]
    if drugs:
        return ScoreItem(criterion, 1, drugs[0], "current medications, started in this episode")
    item = _fact(p, facts.VASOPRESSORS, criterion, 1)
    return item if item.points is not None else ScoreItem(criterion, 0, "none", "no vasopressor started in this episode "
                                                                                "or in a note of it")


SEVERE_CAP_MINOR = 3


def severe_cap(p: ClinicalPicture) -> ScoreResult:
    """ATS/IDSA 2019 severe CAP (Metlay 2019, Table 1): 1 major or 3 or more minor criteria."""
    majors = [_vasopressors(p),
              _fact(p, facts.MECHANICAL_VENTILATION, "Respiratory failure needing mechanical ventilation (major)", 1)]
    minors = [
        _measured(p, "respiratory_rate", "Respiratory rate >= 30/min (minor)", lambda v: int(v >= 30)),
        _pf_ratio(p),
        _fact(p, facts.MULTILOBAR_INFILTRATES, "Multilobar infiltrates (minor)", 1),
        _fact(p, facts.ALTERED_MENTATION, "Confusion or disorientation (minor)", 1),
        _measured(p, "urea_nitrogen", "Uraemia: BUN 20 mg/dL or more (minor)", lambda v: int(v >= 20)),
        _measured(p, "wbc", "Leukopenia: WBC < 4,000/\u00b5L (minor)", lambda v: int(v < 4.0)),
        _measured(p, "platelets", "Thrombocytopenia: platelets < 100,000/\u00b5L (minor)", lambda v: int(v < 100)),
        _measured(p, "body_temperature", "Hypothermia: core temperature < 36 \u00b0C (minor)", lambda v: int(v < 36)),
        ScoreItem("Hypotension needing aggressive fluid resuscitation (minor)", None, "",
                  "fluid resuscitation is not in the record: the clinician judges"),
    ]
    items = majors + minors
    major_met = [i for i in majors if i.points]
    minor_met, minor_top = _total(minors), _top(minors)
    level: Level
    if major_met:
        band, level = f"severe CAP: major criterion ({major_met[0].criterion.split(' (')[0].lower()})", "high"
    elif minor_met >= SEVERE_CAP_MINOR:
        band, level = f"severe CAP: {minor_met} minor criteria", "high"
    elif minor_top < SEVERE_CAP_MINOR and all(i.points is not None for i in majors):
        band, level = f"not severe by these criteria ({minor_met} minor, no major)", "low"
    else:
        band, level = (f"not shown to be severe: {minor_met} minor criteria met; could reach {minor_top} once the "
                       f"missing criteria are known"), "unknown"
    recommendation = "admission to intensive care (ATS/IDSA 2019)" if level == "high" else ""
    return ScoreResult("ATS/IDSA severe CAP", _total(items), len(items), tuple(items), band, SEVERE_CAP_CITATION, level,
                       recommendation)


# -- which scores apply ---------------------------------------------------------------------------------
def _adult(p: ClinicalPicture, name: str, minimum: float = ADULT_AGE) -> str | None:
    """Why a score validated in adults is not computed for this patient, or None when it may be.

    A patient without a birth date is scored as an adult (the treatment tables show adult guidance too),
    the age items missing and the caveat said (:data:`AGE_UNKNOWN`): not computing would hide a severe
    score and let outpatient care be assumed, while an adult's thresholds can only over-triage a child."""
    if p.age is not None and p.age.years < minimum:
        return f"{name} is validated from {minimum:g} years; this patient is {age_text(p.age.years)} old"
    return None


AGE_UNKNOWN = "no birth date in the record: scored as an adult's (not valid for a child); its age points are missing"


# An acute score needs enough of its inputs in this episode to say something (a clinic blood pressure
# is not an observation set): qSOFA 2 of its 3, NEWS2 3 of its 7.
MIN_KNOWN = {"qSOFA": 2, "NEWS2": 3}


def _too_few_inputs(p: ClinicalPicture, result: ScoreResult) -> str | None:
    """Why an acute score is not shown with so few of its inputs known, or None when it may be."""
    known = sum(i.points is not None for i in result.items)
    if known >= MIN_KNOWN.get(result.name, 0):
        return None
    return (f"only {known} of its {len(result.items)} inputs are known in this episode (since "
            f"{p.episode_start.isoformat()}); missing: {', '.join(result.missing)}")


PNEUMONIA_WINDOW_DAYS = 28  # a pneumonia coded longer before this episode, never resolved, is not this episode's


def pneumonia_now(p: ClinicalPicture) -> tuple[bool, str]:
    """Whether the patient has a pneumonia in this episode (a film or the clinician says so, or it was coded or
    written in a note within 4 weeks before the episode), and if not, why the one on record does not count."""
    problem = p.problem("pneumonia")
    if problem is None:
        return False, ""
    since = p.episode_start - _dt.timedelta(days=PNEUMONIA_WINDOW_DAYS)
    dated = (EvidenceKind.RECORD, EvidenceKind.NOTE)
    if any(e.kind not in dated or e.date is None or e.date >= since for e in problem.evidence):
        return True, ""
    newest = max(e.date for e in problem.evidence if e.date is not None)
    where = "in a note" if all(e.kind == EvidenceKind.NOTE for e in problem.evidence) else "on the problem list"
    return False, (f"the pneumonia {where} dates from {newest.isoformat()}, more than "
                   f"{PNEUMONIA_WINDOW_DAYS} days before this episode (since {p.episode_start.isoformat()})")


def score_picture(p: ClinicalPicture) -> tuple[ScoreTable, dict[str, str]]:
    """Every score that applies to the patient, and for the others why they were not computed."""
    scores = ScoreTable()
    not_scored: dict[str, str] = {}

    def add(name: str, why_not: str | None, compute: Callable[[ClinicalPicture], ScoreResult]) -> None:
        result = compute(p) if why_not is None else None
        why_not = why_not if result is None else _too_few_inputs(p, result)
        if result is not None and why_not is None:
            if p.age is None:
                result = replace(result, recommendation=f"{AGE_UNKNOWN}; {result.recommendation}".rstrip("; "))
            scores[name] = result
        else:
            not_scored[name] = str(why_not)

    pneumonia, old_pneumonia = pneumonia_now(p)
    if pneumonia:
        add("CURB-65", _adult(p, "CURB-65"), curb65)
        if "CURB-65" in scores and "urea_nitrogen" not in p.current_measures:
            add("CRB-65", None, crb65)
        add("PSI", _adult(p, "PSI"), psi)
        add("ATS/IDSA severe CAP", _adult(p, "ATS/IDSA severe CAP"), severe_cap)
    elif old_pneumonia:
        not_scored.update({name: old_pneumonia for name in ("CURB-65", "PSI", "ATS/IDSA severe CAP")})
    add("qSOFA", _adult(p, "qSOFA"), qsofa)
    news2_why = _adult(p, "NEWS2", NEWS2_MIN_AGE) or (
        "NEWS2 is not for use in pregnancy (RCP 2017): use an obstetric early warning score" if p.pregnant else None)
    add("NEWS2", news2_why, news2)
    if p.has("atrial_fibrillation"):
        why = _adult(p, "CHA2DS2-VASc")
        add("CHA2DS2-VASc", why, cha2ds2_vasc)
        add("CHA2DS2-VA", why and why.replace("CHA2DS2-VASc", "CHA2DS2-VA"), cha2ds2_va)
        add("HAS-BLED", why and why.replace("CHA2DS2-VASc", "HAS-BLED"), has_bled)
    if p.renal.egfr is not None or p.renal.albuminuria is not None:
        add("KDIGO", None, kdigo)
    return scores, not_scored
