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

from medassist.domain.clinical import FilmContext, FilmIdentity, FilmRelation, IdentityProblem
from medassist.domain.findings import Finding, FindingStatus, SplitWithheld, SubtypeShares, findings_of, subtype_shares

if TYPE_CHECKING:
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


def age_text(years: float | None) -> str:
    """'64 years', '18 months' (under 2), 'unknown'."""
    if years is None:
        return "unknown"
    return f"{int(years)} years" if years >= 2 else f"{int(years * 12)} months"


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
    """A result as ``--json`` prints it: its values (:meth:`Prediction.to_dict`) with ``positive``
    holding only the findings that count now, every finding with its status, score, threshold and
    evidence, the subtype shares as the views may show them, and the same sentences the views show."""
    row = prediction.to_dict()
    findings = findings_of(prediction)
    row["positive"] = [f.label for f in findings if f.counts_now]
    row["model_positive"] = [] if prediction.refused else list(prediction.positive)
    row["findings"] = [f.to_dict() | {"text": finding_text(f)} for f in findings]
    row["subtypes"] = [s.to_dict() | {"text": subtype_text(s)} for s in subtype_shares(prediction)]
    row["refusal"] = refusal_text(prediction)
    row["summary"] = result_sentence(prediction)
    row["film_text"] = film_text(prediction.film) if prediction.film else None
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
