"""The clinician's decision on a treatment option, built one way for the Treatment tab and the CLI.

A decision's ``detail`` is what the report prints beside it; it used to be built twice (warnings
as strings in one place, as dicts in the other), so a decision from the GUI printed a raw dict
into the PDF. Both paths now call :func:`decision_for`, and :func:`warning_line` reads the stored
form (and the older string form found in saved sessions).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from medassist.recommend.engine import CurrentTherapy, Recommendation, TreatmentOption
from medassist.domain.decisions import DECISION_STATUSES, TreatmentDecision




def decision_detail(item: TreatmentOption | CurrentTherapy, result: Recommendation) -> dict[str, Any]:
    """Everything the report says about one option or current therapy (plain JSON types only)."""
    group = result.group_of(item.option_id)
    position = next((i for i, g in enumerate(result.groups) if g is group), len(result.groups))
    detail: dict[str, Any] = {
        "kind": item.kind,
        "condition": group.label if group else "",
        "group_role": group.role if group else "",
        "plan": group.plan if group else "",
        "order": [position, item.rank if item.rank is not None else 10_000],
        "rank": item.rank,
        "excluded": item.excluded,
        "warnings": [{"severity": w.severity, "kind": w.kind, "message": w.message, "source": w.source} for w in item.warnings],
        "setting": result.setting_note,
        "plan_generated_at": result.generated_at,  # tells the report which decisions belong to an earlier plan
        "knowledge_version": result.knowledge_version,
        "interaction_table": result.interaction_table,
        "alerts": list(result.alerts),
        "model": result.model,
    }
    if isinstance(item, TreatmentOption):
        detail.update({
            "line": item.line,
            "ordering": item.ordering.describe(),
            "exclusion_reasons": list(item.exclusion_reasons),
            "dose": item.dose,
            "dose_for_patient": item.dose_for_patient,
            "ingredients": item.ingredients,
            "sources": list(item.sources),
        })
    else:
        detail.update({"ingredients": [{"id": i, "name": i.replace("_", " ")} for i in item.ingredients], "current_plan": item.plan})
    return detail


def decision_for(item: TreatmentOption | CurrentTherapy, result: Recommendation, status: str = "pending",
                 comment: str = "") -> TreatmentDecision:
    """The one way a decision on an option (or on continuing a current drug) is made."""
    if status not in DECISION_STATUSES:
        raise ValueError(f"unknown decision status {status!r}")
    return TreatmentDecision(item.option_id, item.label, status, comment, decision_detail(item, result))


def considered_options(result: Recommendation) -> list[TreatmentDecision]:
    """Every option and current therapy of ``result`` as a decision still to be made (the report lists them all)."""
    items: list[TreatmentOption | CurrentTherapy] = [*result.current_therapy, *result.options, *result.excluded]
    return [decision_for(item, result) for item in items]


def warning_line(warning: Mapping[str, Any] | str) -> str:
    """A stored warning as one readable line: 'MAJOR: message'."""
    if isinstance(warning, str):
        return warning
    return f"{str(warning.get('severity', '')).upper()}: {warning.get('message', '')}"
