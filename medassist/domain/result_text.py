"""How a model result reads, in one place: the Diagnosis tab, ``medassist predict`` and the report
all call these functions, so a refusal, a gate verdict or a probability says the same everywhere.

Conventions:

* a probability is a percentage with one decimal; above 99% it reads "> 99%", below 1% "< 1%"
  (a calibrated model is not that sure, and "100.0%" reads as certainty);
* a gate verdict reads "inside / outside the data the model knows", and every gate is worded so
  that a number at or below its limit is inside; numbers carry the decimals that decide;
* record-model attributions are shown only when the answer differs from the training-average
  patient's by at least ``MEANINGFUL_CHANGE`` (5 points);
* a finding is an output with an operating threshold; an output without one that is a subtype of
  a finding ("bacterial pneumonia" of "pneumonia") is shown as its share of that finding
  ("if pneumonia: bacterial 66%"), never as a finding of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

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


@dataclass(frozen=True)
class FindingLine:
    """A calibrated probability against its operating threshold."""

    label: str
    name: str
    probability: float
    threshold: float
    positive: bool

    @property
    def value_text(self) -> str:
        """Probability against threshold; says so when the suggestion rests on cited evidence, not the score
        (the notes model suggests what the note affirms, whatever its head scores, and nothing else)."""
        why = ""
        if self.positive and self.probability < self.threshold:
            why = "; suggested from the note's evidence"
        elif not self.positive and self.probability >= self.threshold:
            why = "; not suggested: no sentence of the note affirms it"
        return f"{percent(self.probability)} (threshold {percent(self.threshold)}{why})"

    @property
    def text(self) -> str:
        return f"{self.name} {self.value_text}"


def finding_lines(prediction: Prediction) -> list[FindingLine]:
    """One line per output that has an operating threshold; none for a refused result."""
    if refusal_text(prediction) is not None:
        return []
    names = prediction.extra.get("output_names", {})
    return [FindingLine(label, names.get(label) or clinical_label(label), float(p), float(prediction.thresholds[label]),
                        label in prediction.positive)
            for label, p in prediction.outputs.items() if label in prediction.thresholds]


def share_lines(prediction: Prediction) -> list[str]:
    """Outputs without a threshold that are part of a finding, as a share of it: 'if pneumonia: bacterial 66%'."""
    if refusal_text(prediction) is not None:
        return []
    lines = []
    for label, probability in prediction.outputs.items():
        if label in prediction.thresholds:
            continue
        parent = next((t for t in prediction.thresholds if label.endswith(" " + t) and t in prediction.outputs), None)
        if parent is None or float(prediction.outputs[parent]) <= 0:
            continue
        part = label[: -len(parent)].strip()
        lines.append(f"if {parent}: {part} {percent(float(probability) / float(prediction.outputs[parent]))}")
    return lines


def result_sentence(prediction: Prediction) -> str:
    """The whole result in one line: refusal, or findings with their thresholds and any shares."""
    refusal = refusal_text(prediction)
    if refusal is not None:
        return refusal
    lines = finding_lines(prediction)
    positive = [line.name for line in lines if line.positive]
    text = "; ".join(line.text for line in lines)
    text += f". Suggested: {', '.join(positive)}" if positive else ". None at the operating threshold"
    shares = share_lines(prediction)
    return text + (f" ({'; '.join(shares)})" if shares else "") + "."


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



# =============================================================================================
# The clinical picture and its scores (clinical helper): values with units and dates, one sentence
# per score, its item lines, the care setting the scores suggest and the sepsis signs. The picture
# (medassist.clinical) builds the values; the Records tab, `medassist picture` and the PDF word them here.
# =============================================================================================

_UNIT_WORDS = {"mm[Hg]": "mmHg", "Cel": "\u00b0C", "[degF]": "\u00b0F", "10*3/uL": "\u00d710\u00b3/\u00b5L",
               "10*6/uL": "\u00d710\u2076/\u00b5L", "mL/min/{1.73_m2}": "mL/min/1.73 m\u00b2", "[pH]": "",
               "{INR}": "", "{ratio}": "", "kg/m2": "kg/m\u00b2", "u[IU]/mL": "\u00b5IU/mL", "{presence}": ""}


def age_text(years: float) -> str:
    """An age as a clinician says it: "83 years"; a child "4 years 1 month"; an infant "7 months"."""
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
    rows.append(("Current episode", f"since {picture.episode_start.isoformat()} (the latest encounter)"))
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
