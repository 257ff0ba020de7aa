"""The words of a treatment plan, in one place: the Treatment tab, ``medassist recommend`` and the PDF
all call these functions, so the same plan reads the same everywhere.

Values come from :mod:`medassist.domain.treatment` (or, in the report, from a decision's stored
detail, the same values as plain JSON); nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from medassist import DECISION_SUPPORT_NOTICE
from medassist.domain.clinical import ScoreResult
from medassist.domain.result_text import score_sentence
from medassist.domain.treatment import (
    CurrentTherapy,
    DoseAdvice,
    OrderingParts,
    PillarStatus,
    Recommendation,
    SafetyWarning,
    TreatmentOption,
)

LINE_LABEL = {"first_line": "first line", "alternative": "alternative", "conditional": "only in stated circumstances"}
SETTING_LABEL = {"outpatient": "outpatient", "inpatient": "hospital ward", "severe": "severe / ICU"}
ACTION_WORDS = {
    "stop": "stop / replace",
    "hold": "hold",
    "dose": "change the dose",
    "review": "review",
    "switch": "switch",
    "titrate": "titrate",
    "continue": "continue / review",
    "acute review": "review during the acute illness (hold or adjust as needed)",
}
ORDERING_RULE = (
    "Order: this visit's problems (acute illness, confirmed findings, diagnoses given) first, then other active "
    "problems. Within each condition: (1) guideline line - first line, then alternative, then only in stated "
    "circumstances; (2) safety - an option with a major warning goes below every option without one, whatever its "
    "line, and is marked MAJOR; (3) the learned recommender's similar-patient likelihood breaks remaining ties, only "
    "where it knows the ingredients (otherwise the guideline table's order stays). Contraindicated options are listed "
    "as excluded, and options blocked by a present state (potassium, blood pressure, kidney function) as not now, each "
    "with the reason. A drug or class the patient already takes is shown as current therapy, not as a new option."
)


def line_label(line: str) -> str:
    return LINE_LABEL.get(line, line.replace("_", " "))


def ordering_text(parts: OrderingParts) -> str:
    """The three parts of the ordering rule for one option."""
    similarity = "similarity not known" if parts.similarity is None else f"similarity {parts.similarity:.2f}"
    return f"{line_label(parts.line)}; {'MAJOR warning' if parts.major_warning else 'no major warning'}; {similarity}"


def dose_advice_text(advice: DoseAdvice) -> str:
    """The label's dose for this patient and what set it; a standard dose whose reduction criteria could not all be
    checked is said to be not verified, with what is missing (never "no dose-reduction criterion met")."""
    if advice.reduced:
        basis = "; ".join(advice.met)
    elif advice.unknown:
        basis = "not verified: the label's criteria need " + "; ".join(advice.unknown)
    else:
        basis = "no dose-reduction criterion met"
    return f"{advice.dose} ({basis}; {advice.source})"


def warning_line(warning: SafetyWarning | Mapping[str, Any] | str) -> str:
    """A warning as one line, "MAJOR: message"; a stored warning (dict, or a string from an older version) too."""
    if isinstance(warning, str):
        return warning
    if isinstance(warning, SafetyWarning):
        severity, message = warning.severity, warning.message
    else:
        severity, message = str(warning.get("severity", "")), str(warning.get("message", ""))
    return f"{'NOT NOW' if _not_now(warning) else severity.upper()}: {message}"


def _not_now(warning: SafetyWarning | Mapping[str, Any]) -> bool:
    return bool(warning.not_now if isinstance(warning, SafetyWarning) else warning.get("not_now"))


def setting_note(setting: str | None, source: str, reason: str = "", chosen: str | None = None) -> str:
    """Which care setting the plan uses and where that came from."""
    if source == "sepsis":
        return (f"{SETTING_LABEL['severe']}, because of sepsis signs in the record"
                + ("" if chosen is None else f" (chosen: {SETTING_LABEL[chosen]})"))
    if source == "chosen" and setting is not None:
        return f"{SETTING_LABEL[setting]} (chosen)"
    if source == "suggested" and setting is not None:
        return f"{SETTING_LABEL[setting]}, suggested by {reason}: confirm"
    return "not given: outpatient assumed until answered"


def setting_question(setting: str, reason: str) -> str:
    return (f"Care setting: the plan uses {SETTING_LABEL[setting]}, suggested by {reason}. Confirm it or choose "
            "another; outpatient is not assumed for a patient whose scores say otherwise.")


def score_line(score: ScoreResult) -> str:
    """One score for the plan, in the one sentence every view reads it as (name, points or range, band, what it
    suggests, what it could not count): ``result_text.score_sentence``."""
    return score_sentence(score)


def therapy_plan(action: str, reasons: list[str], replacements: list[str]) -> str:
    """What to do with a current drug, with why and what replaces it."""
    words = ACTION_WORDS[action]
    if replacements:
        words += (" to " if action == "switch" else " with ") + " or ".join(replacements)
    if reasons and action not in ("continue", "acute review"):
        words += " (" + "; ".join(reasons) + ")"
    return words


def therapy_decision_hint(action: str) -> str:
    """What Accept, Reject and Modify mean on a current drug's row."""
    verb = {"continue": "continue", "acute review": "continue for now", "titrate": "titrate as planned",
            "switch": "switch as planned", "stop": "stop (and replace as proposed)", "hold": "hold",
            "dose": "change the dose as the label says", "review": "act on the review"}[action]
    return f"Accept = {verb}; Reject = keep it unchanged (say why); Modify = do something else (say what)."


def pillar_line(pillar: PillarStatus) -> str:
    return f"{pillar.pillar[:1].upper()}{pillar.pillar[1:]}: {pillar.status} - {pillar.detail}"


def option_status(option: TreatmentOption) -> str:
    """start, switch (from what), not now (why), or excluded (why)."""
    if option.excluded:
        reasons = "; ".join(option.exclusion_reasons)
        return f"{option.action} ({reasons})" if reasons else option.action
    if option.replaces:
        return "switch from " + ", ".join(i.replace("_", " ") for i in option.replaces)
    return "start"


def option_grade(option: TreatmentOption) -> str:
    """The guideline, the line and the evidence grade as that guideline states it."""
    grade = option.grade or "grade not encoded"
    return f"{option.guideline}: {line_label(option.line)}; {grade}"


def group_heading(label: str, role: str, plan: str) -> str:
    role_text = "" if role.lower() == label.lower() else f" - {role}"
    return f"{label}{role_text}: {plan}"


def group_plan(new_options: int, actions: list[str], pillars: list[PillarStatus], replacing: bool) -> str:
    """A condition's plan in one phrase (``actions``: what the plan does with each current drug for it)."""
    if pillars:
        counts: dict[str, int] = {}
        for p in pillars:
            counts[p.status] = counts.get(p.status, 0) + 1
        return "guideline-directed therapy: " + ", ".join(f"{n} {status}" for status, n in counts.items())
    if replacing:
        return "replace current therapy: options below"
    changes = [a for a in actions if a not in ("continue", "titrate", "acute review")]
    current = f"current therapy: {len(changes)} to {', '.join(dict.fromkeys(ACTION_WORDS[a] for a in changes))}" if changes \
        else "current therapy: continue / review"
    if new_options:
        return "new options" + (f"; {current}" if actions else "")
    return f"{current} (no new drug proposed for a treated condition)"


def option_lines(option: TreatmentOption) -> list[str]:
    """An option as the CLI prints it (after its label): status, grade, dose, why, warnings."""
    lines = [f"status: {option_status(option)}", f"guideline: {option_grade(option)}", f"dose: {option.dose}"]
    if option.dose_for_patient:
        lines.append(f"for this patient: {option.dose_for_patient}")
    lines += [f"why: {r}" for r in option.rationale]
    lines += [warning_line(w) for w in option.warnings]
    return lines


def detail_lines(detail: Mapping[str, Any]) -> list[str]:
    """A stored decision's detail as the report prints it: the action, rank or reason, and every warning."""
    if detail.get("kind") == "current therapy":
        parts = [f"Current therapy: {detail.get('current_plan', 'continue / review')}"]
    elif detail.get("excluded"):
        status = "Not now" if detail.get("action") == "not now" else "Not offered"
        return [f"{status}: " + "; ".join(detail.get("exclusion_reasons") or ["contraindicated"])]
    else:
        parts = [f"Ranked {detail['rank']}" + (f" ({detail['ordering']})" if detail.get("ordering") else "")] if detail.get("rank") else []
        if detail.get("grade_line"):
            parts.append(str(detail["grade_line"]))
        if detail.get("dose_for_patient"):
            parts.append(f"For this patient: {detail['dose_for_patient']}")
    return parts + [warning_line(w) for w in detail.get("warnings") or []]


def report_group(detail: Mapping[str, Any], latest_plan: str) -> str:
    """The heading a stored decision sits under in the report (its condition, or an earlier plan)."""
    if detail.get("plan_generated_at", latest_plan) != latest_plan:
        return f"Decided under an earlier plan (care setting: {detail.get('setting', 'not recorded')})"
    if not detail.get("condition"):
        return ""
    return group_heading(str(detail["condition"]), str(detail.get("group_role", "")), str(detail.get("plan", "")))


def report_notes(latest: Mapping[str, Any]) -> list[str]:
    """Said once above the options in the report: setting, alerts, scores, ordering rule, tables."""
    notes = [f"Care setting: {latest['setting']}."] if latest.get("setting") else []
    notes += list(latest.get("alerts") or [])
    notes += list(latest.get("score_lines") or [])
    notes += [ORDERING_RULE, latest.get("interaction_table", ""), f"Knowledge tables: {latest['knowledge_version']}."]
    return [n for n in notes if n]


def plan_text(result: Recommendation) -> str:
    """The same plan as the Treatment tab, as text (``medassist recommend``)."""
    lines = [DECISION_SUPPORT_NOTICE, "", f"Patient {result.patient_id}", f"  care setting in use: {result.setting_note}"]
    if result.model:
        lines.append(f"  learned ranker (tie-break only): {result.model['name']} {result.model['version']} "
                     f"(sha256 {result.model['weights_sha256'][:12]}...)")
    lines += [f"  !! {a}" for a in result.alerts]
    lines += [f"  score: {score_line(s)}" for s in result.scores]
    lines += [f"  note: {n}" for n in result.notes]
    for group in result.groups:
        lines += ["", group_heading(group.label, group.role, group.plan)]
        if group.evidence:
            lines.append(f"  from: {group.evidence}")
        lines += [f"  read: {f}" for f in group.findings]
        lines += [f"  * {pillar_line(p)}" for p in group.pillars]
        for option_id in group.current_therapy:
            therapy = result.item(option_id)
            if isinstance(therapy, CurrentTherapy):
                lines.append(f"  - {therapy.label}: {therapy.plan}")
                lines += [f"      {warning_line(w)}" for w in therapy.warnings]
        for option_id in group.options:
            option = result.option(option_id)
            lines.append(f"  {option.rank:>2}. {option.label} [{ordering_text(option.ordering)}]")
            lines += [f"      {line}" for line in option_lines(option)]
        for option_id in group.excluded:
            option = result.option(option_id)
            lines.append(f"   x  {option.label} ({option.action}, not offered)")
            lines += [f"      reason: {r}" for r in option.exclusion_reasons]
        lines += [f"   -  not offered: {n}" for n in group.not_offered]
    if result.questions:
        lines += ["", "Questions (missing inputs that matter):"]
        lines += [f"  ? {q}" for q in result.questions]
    lines += ["", f"Ordering rule: {result.ordering_rule}"]
    if result.ranker_note:
        lines.append(f"Learned recommender: {result.ranker_note}")
    lines.append(result.interaction_table)
    return "\n".join(lines)
