"""One entry point for a treatment recommendation, shared by the CLI, the Treatment tab and tests.

It is a job (see :mod:`medassist.jobs`) so the tab runs it in a worker. The learned ranker is
optional: if the model is missing or refused, the rules still answer and a note says so. Every
recommendation is written to the audit log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from medassist.audit import AuditLog
from medassist.clinical.picture import build_picture
from medassist.domain.clinical import CareSettingName, ClinicalPicture
from medassist.domain.treatment import Recommendation
from medassist.domain.treatment_text import ordering_text
from medassist.errors import MedAssistError
from medassist.jobs import Job, Progress
from medassist.recommend.engine import recommend
from medassist.recommend.knowledge import KnowledgeBase, default_knowledge
from medassist.recommend.patient import build_context
from medassist.records.schema import PatientRecords

if TYPE_CHECKING:
    from medassist.inference.service import ModelService


def recommendation_job(
    records: PatientRecords,
    patient_id: str,
    *,
    confirmed_findings: list[str] | None = None,
    diagnoses: list[str] | None = None,
    setting: CareSettingName | None = None,
    service: "ModelService | None",
    audit: AuditLog,
    kb: KnowledgeBase | None = None,
    picture: ClinicalPicture | None = None,
) -> Job[Recommendation]:
    """Build, rank and audit-log (in ``audit``) the recommendation for one patient.

    The learned tie-break runs on ``service`` (the caller's model service); without one the rules
    alone answer, and say so. The clinical picture is the caller's when given (the app layer builds it
    once); otherwise it is built here from the records, the confirmed findings and the diagnoses given
    (both as the clinician's evidence).
    """
    yield Progress(0.05, "Loading treatment tables")
    kb = kb or default_knowledge()
    if picture is None:
        named = list(dict.fromkeys([*(confirmed_findings or []), *(diagnoses or [])]))
        picture = build_picture(records, patient_id, confirmed_findings=named, setting=setting)
    ctx = build_context(records, picture, kb, diagnoses=diagnoses)
    scorer = None
    model_info = None
    model_note = None
    if service is not None:
        yield Progress(0.3, "Loading the learned recommender")
        try:
            from medassist.recommend.learned import LearnedRanker

            ranker = LearnedRanker.load(service, kb)
            scorer, model_info = ranker.scores, ranker.info
        except MedAssistError as exc:
            model_note = f"Learned ranking unavailable ({exc.reason}); options are ordered by guideline line and safety only."
    else:
        model_note = "Learned ranking switched off; options are ordered by guideline line and safety only."
    yield Progress(0.6, "Checking safety and ranking options")
    result = recommend(
        ctx, kb, scorer=scorer, model_info=model_info, model_note=model_note,
        only_conditions=list(diagnoses or []) or None,
    )
    audit.append(
        "recommendation",
        patient_id=patient_id,
        knowledge_version=result.knowledge_version,
        model=model_info,
        conditions=[c["id"] for c in result.conditions],
        setting=result.setting,
        alerts=result.alerts,
        current_therapy=[t.record_label for t in result.current_therapy],
        options=[{"id": o.option_id, "rank": o.rank, "ordering": ordering_text(o.ordering)} for o in result.options],
        current_therapy_actions={t.record_label: t.action for t in result.current_therapy},
        excluded=[{"id": o.option_id, "reasons": o.exclusion_reasons} for o in result.excluded],
        warnings=sum(len(o.warnings) for o in result.options),
        questions=result.questions,
    )
    yield Progress(1.0, f"{len(result.options)} options, {len(result.excluded)} excluded")
    return result
