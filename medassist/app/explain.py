"""Explain a result: find the input it was made on, ask the model service for the explanation and
keep it on the result. The Explanations tab and the tests call :func:`explain_result`; the wording of
what comes back (faithfulness verdict included) is :mod:`medassist.domain.result_text`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from medassist.domain.inputs import ImageInput, RecordInput, TextInput
from medassist.domain.prediction import Explanation, Prediction, linked_image
from medassist.domain.tasks import Task
from medassist.errors import InputError
from medassist.imaging.image import MedicalImage
from medassist.inference.applicability import newest_note
from medassist.jobs import Job
from medassist.session import Session

if TYPE_CHECKING:
    from medassist.inference.service import ModelService


def image_for(session: Session, prediction: Prediction) -> tuple[MedicalImage, int] | None:
    """The loaded image (and frame) a prediction was made on, following its typed link."""
    return linked_image(prediction, (image for images in session.images.values() for image in images))


def source_for(session: Session, prediction: Prediction) -> ImageInput | TextInput | RecordInput | None:
    """The input a result was made on, if it is still loaded: its film, the record, or the same note."""
    found = image_for(session, prediction)
    if found is not None:
        return ImageInput(found[0], found[1])
    if prediction.task == Task.RECORD and prediction.patient_id:
        return RecordInput(session.records, prediction.patient_id)
    if prediction.task == Task.TEXT and prediction.patient_id:
        note = newest_note(session, prediction.patient_id)
        if note is not None and note.sha256 == prediction.input_sha256:
            return note
    return None


def explain_result(session: Session, service: "ModelService", prediction: Prediction, method: str,
                   target: str | None) -> Job[Explanation]:
    """Explain ``prediction`` for ``target`` with ``method`` and keep the explanation on it."""
    source = source_for(session, prediction)
    if source is None:
        raise InputError("the input of this result is no longer loaded; open it again to explain it", prediction.source)
    explanation = yield from service.explain(prediction.model, source, method, target)
    session.add_explanation(prediction, explanation)
    return explanation
