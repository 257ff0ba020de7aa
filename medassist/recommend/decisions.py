"""The clinician's decision on a treatment option, built one way for the Treatment tab and the CLI.

A decision's ``detail`` is what the report prints beside it (through
:func:`medassist.domain.treatment_text.detail_lines`): plain JSON values, the same words the tab shows.
"""

from __future__ import annotations

from typing import Any

from medassist.domain import treatment_text as text
from medassist.domain.decisions import TreatmentDecision, decision_status
from medassist.domain.treatment import CurrentTherapy, Recommendation, TreatmentOption


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
        "action": item.action,
        "warnings": [{"severity": w.severity, "kind": w.kind, "message": w.message, "source": w.source, "not_now": w.not_now}
                     for w in item.warnings],
        "setting": result.setting_note,
        "plan_generated_at": result.generated_at,  # tells the report which decisions belong to an earlier plan
        "knowledge_version": result.knowledge_version,
        "interaction_table": result.interaction_table,
        "alerts": list(result.alerts),
        "score_lines": [text.score_line(s) for s in result.scores],
        "model": result.model,
    }
    if isinstance(item, TreatmentOption):
        detail.update({
            "line": item.line,
            "ordering": text.ordering_text(item.ordering),
            "grade_line": text.option_grade(item),
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
    """The one way a decision on an option (or on a current drug) is made (an unknown status is a ValueError)."""
    return TreatmentDecision(item.option_id, item.label, decision_status(status), comment, decision_detail(item, result))


def considered_options(result: Recommendation) -> list[TreatmentDecision]:
    """Every option and current therapy of ``result`` as a decision still to be made (the report lists them all)."""
    items: list[TreatmentOption | CurrentTherapy] = [*result.current_therapy, *result.options, *result.excluded]
    return [decision_for(item, result) for item in items]
