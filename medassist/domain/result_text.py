"""How a model result reads, in one place: the Diagnosis and Explanations tabs, ``medassist predict``,
``medassist report`` and the PDF all call these functions, so a refusal, a gate verdict, a finding, a
film's context or a map's faithfulness says the same everywhere. What a result *means* is decided in
:mod:`medassist.domain.findings`; this module only words it.

Conventions:

* a probability is a percentage with one decimal; above 99% it reads "> 99%", below 1% "< 1%"
  (a calibrated model is not that sure, and "100.0%" reads as certainty);
* a gate verdict reads "inside / outside the data the model knows", and every gate is worded so
  that a number at or below its limit is inside; numbers carry the decimals that decide;
* a finding reads "<name> — <status>: <why> (<number>)": a note's finding shows the sentence that
  affirms it and calls the head's number a *score*; an image or record finding shows the probability
  against its threshold; a prior film's finding carries its study date; a withheld film's shows no number;
* record-model attributions are shown only when the answer differs from the training-average
  patient's by at least ``MEANINGFUL_CHANGE`` (5 points);
* an output without a threshold that is a subtype of a finding ("bacterial pneumonia" of
  "pneumonia") is shown as its share of that finding ("if pneumonia: bacterial 66%") only inside the
  population the split was validated in; outside it one line says so; never as a finding of its own;
* a saliency map's faithfulness is judged against random maps (:func:`faithfulness_verdict`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, Mapping

from medassist.domain import codec
from medassist.domain.arrays import ArrayShapes, InlineArrays
from medassist.domain.clinical import FilmContext, FilmIdentity, FilmRelation, IdentityProblem
from medassist.domain.findings import Finding, FindingStatus, SplitWithheld, SubtypeShares, findings_of, subtype_shares

if TYPE_CHECKING:
    import datetime as _dt

    from medassist.domain.clinical import (ActiveProblem, CareSetting, ClinicalPicture, Measurement, ScoreItem,
                                           ScoreResult, StatedFact)
    from medassist.domain.prediction import Explanation, GateVerdict, Prediction

# Record-model attributions are shown only when the answer moved at least this far (probability)
# from the training-average patient's: below it the bars split a difference that is not there.
MEANINGFUL_CHANGE = 0.05

INSIDE = "Inside the data the model knows"
OUTSIDE = "Outside the data the model knows"


def percent(probability: float) -> str:
    """'> 99%', '< 1%' or one decimal in between."""
    value = float(probability)
    if value > 0.99:
        return "> 99%"
    if value < 0.01:
        return "< 1%"
    return f"{value * 100:.1f}%"


def deciding_pair(score: float, limit: float) -> tuple[str, str]:
    """``score`` and ``limit`` with the fewest decimals (1 to 4) at which they read differently;
    counts (whole numbers) as whole numbers."""
    if float(score).is_integer() and float(limit).is_integer():
        return f"{score:.0f}", f"{limit:.0f}"
    for decimals in range(1, 5):
        shown = f"{score:.{decimals}f}", f"{limit:.{decimals}f}"
        if shown[0] != shown[1]:
            return shown
    return shown


def compared(measure: str, score: float, limit: float) -> str:
    """'distance 0.53 > limit 0.50': inside when at or below the limit."""
    shown, limit_shown = deciding_pair(score, limit)
    return f"{measure} {shown} {'<=' if score <= limit else '>'} limit {limit_shown}"


def clinical_label(label: str) -> str:
    """An output or feature key in words: 'heart_disease' -> 'Heart disease'."""
    words = label.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def gate_text(gate: GateVerdict) -> str:
    """The one sentence every view shows for a gate verdict (its reason carries the numbers)."""
    return f"{INSIDE if gate.accepted else OUTSIDE}: {gate.reason}"


def refusal_text(prediction: Prediction) -> str | None:
    """Why no probability is shown for this result, or None when it has one."""
    if prediction.gate is not None and not prediction.gate.accepted:
        return f"No answer. {gate_text(prediction.gate)}"
    if not prediction.outputs:
        return "No answer: the model gave no output."
    return None


DASH = "\u2014"


def study_text(film: FilmContext) -> str:
    """'prior study (2004-08-26)', 'study of 2026-12-07', 'study date unknown'."""
    if film.study_date is None:
        return "study date unknown"
    if film.relation == FilmRelation.PRIOR:
        return f"prior study ({film.study_date.isoformat()})"
    return f"study of {film.study_date.isoformat()}"


def _identity_item(problem: IdentityProblem, show_values: bool) -> str:
    if not show_values:
        return f"{problem.item} differs"
    return f"{problem.item}: the header says {problem.header}, the record {problem.record}"


def film_identity_text(film: FilmContext, show_values: bool = True) -> str | None:
    """Why this film's findings are withheld, or that the clinician attached it anyway; None when
    nothing in the header contradicts the record. ``show_values=False`` names the items without the
    names, IDs and dates themselves (presentation mode)."""
    if film.identity != FilmIdentity.MISMATCH:
        return None
    problems = "; ".join(_identity_item(p, show_values) for p in film.identity_problems)
    if film.attached_by_clinician:
        return (f"The header does not match the patient ({problems}); attached by the clinician: "
                f"\u201c{film.attached_by_clinician}\u201d.")
    return (f"This film may not be this patient's ({problems}): its findings are not shown for the patient "
            "unless a clinician attaches it.")


def film_text(film: FilmContext, show_values: bool = True) -> str:
    """The film's context in one line: its study (date, prior or current) and any identity problem."""
    when = study_text(film)
    if film.relation == FilmRelation.PRIOR and film.episode_start is not None:
        when = (f"{when[:1].upper()}{when[1:]}: taken before the current episode (from "
                f"{film.episode_start.isoformat()}); its findings are not current findings")
    else:
        when = when[:1].upper() + when[1:]
    identity = film_identity_text(film, show_values)
    if identity is None and film.identity == FilmIdentity.NOT_CHECKED:
        identity = ("Identity not checked: the header gives no name, ID, birth date, sex or age that could be compared "
                    "with the record (an anonymised or outside picture).")
    return f"{when}. {identity}" if identity else f"{when}."


def _quoted(sentence: str, limit: int = 160) -> str:
    text = " ".join(sentence.split())
    return "\u201c" + (text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026") + "\u201d"


def finding_value_text(finding: Finding) -> str:
    """The finding without its name: status, why, and the number as what it is."""
    if finding.basis == "note evidence":
        if finding.status == FindingStatus.SUGGESTED:
            return f"suggested from the note: {_quoted(finding.evidence[0])} (model score {percent(finding.score)})"
        return f"not suggested: no sentence of the note affirms it (score {percent(finding.score)})"
    against = f"{percent(finding.score)} (threshold {percent(finding.threshold or 0.0)})"
    if finding.status == FindingStatus.WITHHELD:
        return "withheld: the film's header does not match the patient"
    if finding.status == FindingStatus.PRIOR:
        day = finding.study_date.isoformat() if finding.study_date else "date unknown"
        return f"on a prior study ({day}), not a current finding: {against}"
    if finding.film_relation is None:  # a record model, or a film analysed without a patient
        where = ""
    elif finding.study_date is None:
        where = " on an undated study"
    elif finding.film_relation == FilmRelation.PRIOR:
        where = f" on a prior study ({finding.study_date.isoformat()})"
    else:
        where = f" on the study of {finding.study_date.isoformat()}"
    return f"{finding.status}{where}: {against}"


def finding_text(finding: Finding) -> str:
    """'Hypertension — suggested from the note: “…” (model score 6.8%)'."""
    return f"{finding.name} {DASH} {finding_value_text(finding)}"


def score_text(finding: Finding) -> str:
    """The number alone, named as what it is: 'score 6.8%' (notes) or 'P = 59.6%, threshold 30.8%'."""
    if finding.basis == "note evidence":
        return f"model score {percent(finding.score)}"
    return f"P = {percent(finding.score)}, threshold {percent(finding.threshold or 0.0)}"


def suggested_text(prediction: Prediction) -> str:
    """'Suggested: Pneumonia', or why nothing is: 'Nothing suggested now (Pneumonia on the prior study only)'."""
    findings = findings_of(prediction)
    now = [f.name for f in findings if f.counts_now]
    if now:
        return "Suggested: " + ", ".join(now)
    if any(f.status == FindingStatus.WITHHELD for f in findings):
        return "Nothing shown for this patient: the film's header does not match the record"
    prior = [f for f in findings if f.status == FindingStatus.PRIOR]
    if prior:
        return f"Nothing suggested now ({', '.join(f.name for f in prior)} on the prior study only)"
    return "Nothing suggested" if findings and findings[0].basis == "note evidence" else "None at the operating threshold"


def _ages(low: float | None, high: float | None) -> str:
    """A validated age range in words: 'children aged 1-5', 'adults aged 18-89', 'patients aged 60 and over'."""
    who = "children" if high is not None and high < 18 else "adults" if low is not None and low >= 18 else "patients"
    if low is not None and high is not None:
        return f"{who} aged {low:g}-{high:g}"
    if low is not None:
        return f"{who} aged {low:g} and over"
    return f"{who} aged up to {high:g}" if high is not None else who


def subtype_text(shares: SubtypeShares) -> str:
    """'if pneumonia: bacterial 64.4%, viral 35.6%', or one line saying why the split is not shown:
    'bacterial vs viral not shown: validated in children aged 1-5 only (patient 64 years at the study)'."""
    split = shares.split
    parts = [label[: -len(split.finding)].strip() if label.endswith(" " + split.finding) else label
             for label in split.shares]
    if shares.withheld is None:
        return f"if {split.finding}: " + ", ".join(f"{part} {percent(share)}"
                                                   for part, share in zip(parts, split.shares.values(), strict=True))
    named = " vs ".join(parts)
    if shares.withheld == SplitWithheld.NOT_VALIDATED:
        return f"{named} not shown: the model card names no population this split was validated in"
    where = _ages(split.validated_min_years, split.validated_max_years)
    if shares.withheld == SplitWithheld.AGE_UNKNOWN:
        return f"{named} not shown: validated in {where} only, and the patient's age at the study is not known"
    return f"{named} not shown: validated in {where} only (patient {age_text(split.age_years)} at the study)"


def share_lines(prediction: Prediction) -> list[str]:
    """Each finding's subtype split, as a share of it or as the one line saying why it is not shown."""
    return [subtype_text(shares) for shares in subtype_shares(prediction)]


def result_sentence(prediction: Prediction) -> str:
    """The whole result in one line: refusal, or its film, findings and any subtype shares."""
    refusal = refusal_text(prediction)
    if refusal is not None:
        return refusal
    film = f"{study_text(prediction.film)[:1].upper()}{study_text(prediction.film)[1:]}: " if prediction.film else ""
    findings = findings_of(prediction)
    if any(f.status == FindingStatus.WITHHELD for f in findings):
        return film + suggested_text(prediction) + "."
    shown = [f for f in findings if f.counts_now or f.basis == "threshold"]
    text = film + "; ".join(finding_text(f) for f in shown)
    text += (". " if shown else "") + suggested_text(prediction)
    shares = share_lines(prediction)
    return text + (f" ({'; '.join(shares)})" if shares else "") + "."


def note_evidence_lines(prediction: Prediction) -> list[str]:
    """What the note mentions without it counting: 'Pleural effusion: mentioned, negated'. (The affirmed
    ones are findings, worded by :func:`finding_text` with their sentence.)"""
    lines = []
    for item in prediction.extra.get("mentioned_not_suggested", []):
        order = [e["assertion"] for e in item.get("evidence", [])]
        statuses = sorted(set(order), key=order.index)
        status = "past episode" if statuses == ["historical"] else ", ".join(statuses)
        lines.append(f"{item['name']}: mentioned, {status}")
    return lines


def result_json(prediction: Prediction) -> dict[str, Any]:
    """A result as ``--json`` prints it: its values as the values codec writes them (explanations' arrays
    as their shapes; ``values_version`` says which version), with ``file`` naming the input, ``positive``
    holding only the findings that count now, every finding with its status, score, threshold and
    evidence, the subtype shares as the views may show them, and the same sentences the views show. A
    refused input shows no outputs and no population figures."""
    row = codec.encode(prediction, ArrayShapes())
    if prediction.refused:
        row["outputs"], row["population_notice"] = {}, None
    findings = findings_of(prediction)
    row["values_version"] = codec.VERSION
    row["file"] = prediction.source
    row["positive"] = [f.label for f in findings if f.counts_now]
    row["model_positive"] = [] if prediction.refused else list(prediction.positive)
    row["findings"] = [f.to_dict() | {"text": finding_text(f)} for f in findings]
    row["subtypes"] = [s.to_dict() | {"text": subtype_text(s)} for s in subtype_shares(prediction)]
    row["refusal"] = refusal_text(prediction)
    row["summary"] = result_sentence(prediction)
    row["film_text"] = film_text(prediction.film) if prediction.film else None
    return row


def explanation_json(explanation: Explanation, with_values: bool) -> dict[str, Any]:
    """An explanation as ``medassist explain`` prints it: its values as the codec writes them (the array
    inline, or only its shape for an image map saved beside), with its faithfulness in words."""
    row = codec.encode(explanation, InlineArrays() if with_values else ArrayShapes())
    row["values_version"] = codec.VERSION
    row["faithfulness_text"] = faithfulness_text(explanation.faithfulness)
    return row


def attributions_withheld(explanation: Explanation) -> str | None:
    """Why a record model's attributions are not shown, or None when they are: the answer must
    differ from the training-average patient's by at least :data:`MEANINGFUL_CHANGE`."""
    faith = explanation.faithfulness or {}
    probability, baseline = faith.get("probability"), faith.get("baseline_probability")
    if probability is None or baseline is None:
        return None
    if abs(probability - baseline) >= MEANINGFUL_CHANGE:
        return None
    return (f"This answer ({percent(probability)}) is within {MEANINGFUL_CHANGE * 100:.0f} points of the model's answer "
            f"for a training-average patient ({percent(baseline)}): no input moved it meaningfully, so no "
            "attributions are shown.")



class FaithfulnessVerdict(StrEnum):
    """How far a saliency map beats random maps at deletion and insertion (the weaker of the two decides)."""

    NO_BETTER_THAN_RANDOM = "no better than random"
    WEAK = "weak"
    MODERATE = "moderate"
    STRONG = "strong"


# Upper bounds of the weaker of the two gains over the random pixel order (deletion: random AUC minus the
# map's; insertion: the map's AUC minus random), in AUC units. Measured, not taken from the literature: 240
# random smooth maps (16 x 16 uniform noise upsampled like Grad-CAM's grid; 4 per film) on 60 validation
# pneumonia films of the chest X-ray model (30 NIH adults, 30 Kermany children) reach a weaker gain of
# 0.045 at their 95th percentile, 0.123 at the 99th and 0.238 at most (``python -m
# medassist.bench.faithfulness``; docs/cxr-model.md, "Faithfulness verdicts"). A map whose weaker gain
# a random map reaches 1 time in 20 is no better than random.
FAITHFULNESS_BOUNDS: tuple[tuple[float, FaithfulnessVerdict], ...] = (
    (0.05, FaithfulnessVerdict.NO_BETTER_THAN_RANDOM),  # random maps' 95th percentile (0.045)
    (0.12, FaithfulnessVerdict.WEAK),  # 99th percentile (0.123)
    (0.24, FaithfulnessVerdict.MODERATE),  # the best random map measured (0.238)
)


def faithfulness_gains(scores: Mapping[str, float]) -> tuple[float, float] | None:
    """(deletion gain, insertion gain) over the random pixel order; None for scores without both curves."""
    keys = ("deletion_auc", "random_deletion_auc", "insertion_auc", "random_insertion_auc")
    if not all(k in scores for k in keys):
        return None
    return (float(scores["random_deletion_auc"]) - float(scores["deletion_auc"]),
            float(scores["insertion_auc"]) - float(scores["random_insertion_auc"]))


def faithfulness_verdict(scores: Mapping[str, float] | None) -> FaithfulnessVerdict | None:
    """The verdict on a saliency map's deletion / insertion scores; None when they were not measured."""
    gains = faithfulness_gains(scores or {})
    if gains is None:
        return None
    weaker = min(gains)
    return next((verdict for bound, verdict in FAITHFULNESS_BOUNDS if weaker <= bound), FaithfulnessVerdict.STRONG)


def faithfulness_text(scores: Mapping[str, float] | None) -> str:
    """The one sentence the Explanations tab and the PDF show for a map's faithfulness."""
    scores = scores or {}
    verdict = faithfulness_verdict(scores)
    if verdict is None:
        if "deletion_auc" in scores and "insertion_auc" in scores:
            return (f"Faithfulness not judged: no random baseline was recorded (deletion AUC "
                    f"{float(scores['deletion_auc']):.2f}, insertion AUC {float(scores['insertion_auc']):.2f})")
        if "completeness_gap" in scores:
            return (f"Attributions add up to the model's change from its baseline within "
                    f"{float(scores['completeness_gap']):.3g} (completeness); not compared with random attributions")
        return "Faithfulness not measured"
    deletion, insertion = float(scores["deletion_auc"]), float(scores["insertion_auc"])
    numbers = (f"deletion AUC {deletion:.2f} vs random {float(scores['random_deletion_auc']):.2f} (lower is better), "
               f"insertion AUC {insertion:.2f} vs random {float(scores['random_insertion_auc']):.2f} (higher is better)")
    advice = {
        FaithfulnessVerdict.NO_BETTER_THAN_RANDOM: " \u2014 do not rely on this map",
        FaithfulnessVerdict.WEAK: " \u2014 better than most random maps, not all: read with care",
    }.get(verdict, "")
    return f"Faithfulness: {verdict}{advice} ({numbers})"
# =============================================================================================
# The clinical picture and its scores (clinical helper): values with units and dates, one sentence
# per score, its item lines, the care setting the scores suggest and the sepsis signs. The picture
# (medassist.clinical) builds the values; the Records tab, `medassist picture` and the PDF word them here.
# =============================================================================================

_UNIT_WORDS = {"mm[Hg]": "mmHg", "Cel": "\u00b0C", "[degF]": "\u00b0F", "10*3/uL": "\u00d710\u00b3/\u00b5L",
               "10*6/uL": "\u00d710\u2076/\u00b5L", "mL/min/{1.73_m2}": "mL/min/1.73 m\u00b2", "[pH]": "",
               "{INR}": "", "{ratio}": "", "kg/m2": "kg/m\u00b2", "u[IU]/mL": "\u00b5IU/mL", "{presence}": ""}


def age_text(years: float | None) -> str:
    """An age as a clinician says it: "83 years"; a child "4 years 1 month"; an infant "7 months"; "unknown"."""
    if years is None:
        return "unknown"
    months = int(years * 12 + 1e-9)
    if years >= 18:
        return f"{int(years + 1e-9)} years"
    whole, rest = divmod(months, 12)
    parts = ([f"{whole} year{'s' if whole != 1 else ''}"] if whole else []) + \
        ([f"{rest} month{'s' if rest != 1 else ''}"] if rest or not whole else [])
    return " ".join(parts)


def unit_text(unit: str) -> str:
    """A UCUM unit as a clinician writes it ("mm[Hg]" -> "mmHg", "Cel" -> "\u00b0C")."""
    return _UNIT_WORDS.get(unit, unit)


def number_text(value: float) -> str:
    """A measured value without trailing zeros: 32, 2.9, 0.85."""
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"


def measurement_text(measurement: Measurement, with_date: bool = False) -> str:
    """"32 /min", "88 mmHg", "2.9 mmol/L" (", 2026-12-07" with the date)."""
    unit = unit_text(measurement.unit)
    text = f"{number_text(measurement.value)}{'' if not unit or unit.startswith('/') or unit == '%' else ' '}{unit}"
    if with_date:
        text += f", {measurement.date.isoformat()}" if measurement.date else ", undated"
    return text


def measurement_source(measurement: Measurement) -> str:
    """Where and when a value comes from: "LOINC 9279-1, 2026-12-07"."""
    return f"{measurement.source}, {measurement.date.isoformat() if measurement.date else 'undated'}"


def score_value_text(result: ScoreResult) -> str:
    """"5 of 5", "2 of 5 (2-3 with the missing items)", or a staging's stage ("G4 A2")."""
    if result.stage or not result.items or all(i.max_points == 0 for i in result.items):
        return result.stage or "not staged"
    low, high = result.possible_range
    shown = f"{result.points} of {result.maximum}" if result.maximum else f"{result.points} points"
    return shown if low == high else f"{shown} ({low}-{high} with the missing items)"


def score_brief(result: ScoreResult) -> str:
    """"CURB-65 5 of 5 (high severity)"."""
    return f"{result.name} {score_value_text(result)} ({result.band})"


def score_sentence(result: ScoreResult) -> str:
    """The one sentence a score reads as everywhere: value, band, what it suggests, what is missing."""
    text = f"{result.name} {score_value_text(result)}: {result.band}"
    if result.recommendation:
        text += f"; {result.recommendation}"
    if result.missing:
        text += f". Not counted (missing): {', '.join(result.missing)}"
    return text + "."


def score_item_line(item: ScoreItem, staging: bool = False) -> str:
    """One criterion: "Respiratory rate >= 30/min: +1 (32/min; LOINC 9279-1, 2026-12-07)", or why it is missing."""
    if item.points is None:
        could = "" if staging else f" (could add up to +{item.max_points})"
        return f"{item.criterion}: missing{could}: {item.source}" + (f" ({item.value})" if item.value else "")
    detail = "; ".join(part for part in (item.value, item.source) if part)
    head = item.criterion if staging else f"{item.criterion}: +{item.points}"
    return f"{head} ({detail})" if detail else head


SETTING_WORDS = {"outpatient": "outpatient", "inpatient": "hospital ward (inpatient)",
                 "severe": "severe: intensive care or high dependency"}


def care_setting_text(setting: CareSetting) -> str:
    """What the scores suggest for where to treat, and the clinician's choice when made."""
    if setting.suggested is None:
        text = "No care setting suggested by the scores" + (f": {setting.reason}" if setting.reason else "")
    else:
        text = f"Suggested by the scores: {SETTING_WORDS[setting.suggested]}. Why: {setting.reason}"
    if setting.chosen is not None:
        text += f". Chosen by the clinician: {SETTING_WORDS[setting.chosen]}"
    return text + ("" if text.endswith(".") else ".")


def lactate_sign(measurement: Measurement, meaning: str) -> str:
    """"Lactate 2.9 mmol/L, 2026-12-07: 2 mmol/L or more (...)"."""
    return f"Lactate {measurement_text(measurement, with_date=True)}: {meaning}"


def range_text(low: float, high: float, unit: str) -> str:
    """"20-28 /min", "89-112 mmHg"."""
    shown = unit_text(unit)
    return f"{number_text(low)}-{number_text(high)}{'' if not shown or shown.startswith('/') or shown == '%' else ' '}{shown}"


_EVIDENCE_WORDS = {"record": "problem list", "note": "note", "image": "image finding", "clinician": "confirmed by the clinician"}
# (label, measures shown together): the bedside values a physician reads first
_PICTURE_VALUES = (("Potassium", ("potassium",)), ("Blood pressure", ("systolic_bp", "diastolic_bp")),
                   ("Heart rate", ("heart_rate",)), ("Respiratory rate", ("respiratory_rate",)),
                   ("SpO2", ("oxygen_saturation",)), ("Temperature", ("body_temperature",)), ("Lactate", ("lactate",)))


def _dated(measurement: Measurement, episode_start: _dt.date) -> str:
    when = measurement.date.isoformat() if measurement.date else "undated"
    old = measurement.date is not None and measurement.date < episode_start
    return f"{when}{', before this episode' if old else ''}"


def renal_text(picture: ClinicalPicture) -> str:
    """"eGFR 24 mL/min/1.73 m2 (LOINC 33914-3, 2026-12-05): KDIGO G4; creatinine 2.7 mg/dL; CrCl 31 mL/min"."""
    renal = picture.renal
    if renal.egfr is None and renal.creatinine is None:
        return "no eGFR or creatinine recorded"
    parts = []
    if renal.egfr is not None:
        stage = " ".join(s for s in (renal.g_stage, renal.a_stage) if s)
        where = renal.egfr.source if renal.egfr_computed else f"{renal.egfr.source}, {_dated(renal.egfr, picture.episode_start)}"
        parts.append(f"eGFR {measurement_text(renal.egfr)} ({where}): KDIGO {stage}")
    if renal.creatinine is not None:
        parts.append(f"creatinine {measurement_text(renal.creatinine)} ({_dated(renal.creatinine, picture.episode_start)})")
    if renal.crcl is not None:
        parts.append(f"Cockcroft-Gault CrCl {number_text(renal.crcl.value)} mL/min (actual weight, for labels that dose by it)")
    if renal.albuminuria is not None:
        parts.append(f"urine ACR {measurement_text(renal.albuminuria)}")
    return "; ".join(parts)


def picture_rows(picture: ClinicalPicture) -> list[tuple[str, str]]:
    """The picture's headline values, label and text, as the Records tab, the CLI and the report show them."""
    rows = [("Age", "not recorded" if picture.age is None else age_text(picture.age.years)),
            ("Sex", picture.sex)]
    if picture.weight is not None:
        when = f", {picture.weight.date.isoformat()}" if picture.weight.date else ""
        rows.append(("Weight", f"{measurement_text(picture.weight)} ({picture.weight.source}{when})"))
    else:
        rows.append(("Weight", "not recorded"))
    if picture.sex == "female" and picture.age is not None and 12 <= picture.age.years < 55:
        pregnant = {True: "yes", False: "no", None: "not recorded"}[picture.pregnant]
        rows.append(("Pregnancy", f"{pregnant} ({picture.pregnancy_source})" if picture.pregnant is not None else pregnant))
    rows.append(("Kidney function", renal_text(picture)))
    for label, names in _PICTURE_VALUES:
        found = [picture.measures.get(n) for n in names]
        if any(m is None for m in found):
            continue
        shown = "/".join(number_text(m.value) for m in found if m is not None)
        first = found[0]
        assert first is not None
        unit = unit_text(first.unit)
        rows.append((label, f"{shown}{'' if unit.startswith('/') or unit == '%' else ' '}{unit} "
                            f"({_dated(first, picture.episode_start)})"))
    if picture.ejection_fraction is not None:
        ef = picture.ejection_fraction
        rows.append(("LVEF", f"{number_text(ef.value)}% ({ef.source}, {ef.date.isoformat() if ef.date else 'undated'})"))
    elif picture.ejection_fraction_band is not None:
        band = picture.ejection_fraction_band
        limits = (f"{band.high:g}% or less" if band.low <= 0 else f"{band.low:g}% or more" if band.high >= 100
                  else f"{band.low:g}-{band.high:g}%")
        rows.append(("LVEF", f"not measured; the diagnosis says {band.name} ejection fraction ({limits}): {band.evidence}"))
    rows.append(("Current episode", f"since {picture.episode_start.isoformat()} (the latest encounter's start, or the "
                                    "day before the newest observations when no encounter holds them)"))
    return rows


def problem_line(problem: ActiveProblem) -> str:
    """"Chronic kidney disease: problem list \u201cChronic kidney disease stage 4\u201d (2026-10-08); note \u201c...\u201d"."""
    evidence = "; ".join(
        f"{_EVIDENCE_WORDS.get(e.kind.value, e.kind.value)} \u201c{e.text}\u201d"
        + (f" ({e.date.isoformat()})" if e.date else "") for e in problem.evidence)
    return f"{problem.name}: {evidence}"


def fact_line(name: str, fact: StatedFact) -> str:
    """"Confusion: yes, \u201cconfused\u201d (Emergency department note, 2026-12-07: \u201c...\u201d)"."""
    label = {"altered_mentation": "Confusion / altered mentation", "supplemental_oxygen": "On supplemental oxygen",
             "hypercapnic_target": "Hypercapnic (88-92% SpO2 target)", "nursing_home": "Nursing-home resident",
             "multilobar_infiltrates": "Multilobar infiltrates", "mechanical_ventilation": "Mechanical ventilation",
             "vasopressors": "Vasopressors", "pleural_effusion": "Pleural effusion"}.get(name, clinical_label(name))
    return f"{label}: {'yes' if fact.present else 'no'}, \u201c{fact.text}\u201d ({fact.source})"


def flag_line(flag: str, name: str, measurement: Measurement, low: float, high: float, source: str) -> str:
    """"H Respiratory rate 38/min, 2026-12-07 (reference 20-28/min for age and sex: PALS ...)"."""
    return (f"{flag} {name} {measurement_text(measurement, with_date=True)} (reference "
            f"{range_text(low, high, measurement.unit)}: {source})")
