"""The treatment plan as decisions to make, and recording the clinician's decision on one option.

The Treatment tab and ``medassist report`` both compute the plan with :func:`plan_treatment`
and store it with :func:`consider_plan` (every option and current drug is listed in the report,
decided or not); the tab records a verdict with :func:`decide`, which checks it and writes
its audit line. Which findings the plan treats is the caller's choice: the clinician's
confirmed findings in the GUI, the ones that count now (``domain.findings``) in a headless report.
``medassist recommend`` computes the same plan for a records file with :func:`plan_for_records`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from medassist.audit import AuditLog
from medassist.domain.clinical import CareSettingName
from medassist.domain.decisions import TreatmentDecision
from medassist.domain.treatment import CurrentTherapy, Recommendation, TreatmentOption
from medassist.errors import InputError
from medassist.jobs import Job
from medassist.recommend.decisions import considered_options, decision_for
from medassist.records.schema import PatientRecords
from medassist.session import Session

if TYPE_CHECKING:
    from medassist.inference.service import ModelService


class DecisionNeedsComment(InputError):
    """A verdict that is only allowed with a written reason (a modification, or accepting an excluded option)."""

    def __init__(self, title: str, reason: str) -> None:
        super().__init__(reason)
        self.title = title


def plan_treatment(session: Session, patient_id: str, findings: list[str], service: "ModelService | None",
                   audit: AuditLog, setting: CareSettingName | None = None) -> Job[Recommendation]:
    """The ranked options, exclusions and current therapy for ``findings`` (audit-logged by the recommender);
    the learned tie-break runs on ``service`` (without one, switched off: the rules alone order the options)."""
    from medassist.recommend.service import recommendation_job

    return (yield from recommendation_job(session.records, patient_id, confirmed_findings=list(findings),
                                          setting=setting, service=service, audit=audit))


def plan_for_records(records: PatientRecords, patient_id: str, diagnoses: list[str], setting: CareSettingName | None,
                     service: "ModelService | None", audit: AuditLog) -> Job[Recommendation]:
    """The same plan for a patient of a records file, focused on ``diagnoses`` when given (``medassist recommend``);
    without a ``service`` the rules alone answer."""
    from medassist.recommend.service import recommendation_job

    return (yield from recommendation_job(records, patient_id, diagnoses=diagnoses, setting=setting,
                                          service=service, audit=audit))


def consider_plan(session: Session, result: Recommendation) -> list[TreatmentDecision]:
    """Store the plan's options as decisions still to be made (decisions already made are kept)."""
    decisions = considered_options(result)
    session.set_considered_options(decisions, result.patient_id)
    return decisions


def decide(session: Session, audit: AuditLog, result: Recommendation, option: TreatmentOption | CurrentTherapy,
           status: str, comment: str) -> TreatmentDecision:
    """Record the clinician's verdict on ``option``; a modification, or accepting an excluded option,
    needs a comment (``DecisionNeedsComment`` says so)."""
    comment = comment.strip()
    if status == "modified" and not comment:
        raise DecisionNeedsComment("Describe the modification",
                                   "Write in the comment what you changed (dose, duration, drug) before choosing Modify.")
    if status == "accepted" and getattr(option, "excluded", False) and not comment:
        raise DecisionNeedsComment("Excluded option", "This option is excluded for this patient. To accept it anyway, "
                                                      "write the reason in the comment.")
    decision = decision_for(option, result, status, comment)
    session.set_decision(decision, result.patient_id)
    audit.append("treatment_decision", patient_id=result.patient_id, option_id=option.option_id, status=status,
                 comment=comment)
    return decision
