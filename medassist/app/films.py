"""Whose film, and from when, for the results made on a patient's films; and the clinician's choice
to attach a film whose header does not match.

The decision itself is :func:`medassist.clinical.films.film_context`; these use cases apply it to
results (:func:`film_for`, :func:`decide_films`) and record an attachment with its reason and an audit
line (:func:`attach_film`), after which the film's findings count for the patient.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from medassist.clinical.films import film_context
from medassist.clinical.picture import episode_start
from medassist.domain import codec
from medassist.domain.clinical import FilmContext, FilmIdentity
from medassist.domain.decisions import FilmAttachment
from medassist.domain.prediction import Prediction, linked_image
from medassist.domain.tasks import Task
from medassist.errors import InputError
from medassist.imaging.image import MedicalImage
from medassist.records import summary
from medassist.session import Session

if TYPE_CHECKING:
    from medassist.audit import AuditLog


def image_key(image: MedicalImage) -> str:
    """How an attachment names its film: the file's content hash, else its path."""
    return image.sha256 or str(image.path)


def film_for(session: Session, patient_id: str, image: MedicalImage) -> FilmContext | None:
    """The film's context for this patient (with the clinician's attachment, if any); None when the
    patient has no record to compare with."""
    records = session.records
    if not patient_id or not records.has_patient(patient_id):
        return None
    today = summary.reference_date(records, patient_id).date()
    attachment = session.film_attachments.get(patient_id, {}).get(image_key(image))
    return film_context(image.metadata, records, patient_id, episode_start(records, patient_id, today),
                        attachment.reason if attachment else "")


def decide_films(session: Session, patient_id: str, missing_only: bool = False) -> None:
    """(Re)decide the film context of every image result of the patient whose film is loaded
    (``missing_only``: only results without one, as in a session file saved before contexts existed)."""
    images = session.images.get(patient_id, [])
    for prediction in session.predictions.get(patient_id, []):
        if prediction.task != Task.IMAGE or (missing_only and prediction.film is not None):
            continue
        found = linked_image(prediction, images)
        if found is not None:
            session.set_film(prediction, film_for(session, patient_id, found[0]))


def attach_film(session: Session, audit: "AuditLog", image: MedicalImage, patient_id: str, reason: str,
                clinician: str = "") -> list[Prediction]:
    """Read a film whose header does not match the record as this patient's, for the reason the
    clinician gives: recorded in the session, one ``film_attached`` audit line, and the film's results
    re-decided (their findings then count). Returns the results re-decided."""
    reason = reason.strip()
    if not reason:
        raise InputError("attaching a film whose header does not match needs the clinician's reason", image.path)
    film = film_for(session, patient_id, image)
    if film is None or film.identity != FilmIdentity.MISMATCH:
        raise InputError("this film's header does not contradict the record: there is nothing to attach", image.path)
    attachment = FilmAttachment(image_key(image), str(image.path), reason, clinician or session.clinician_name)
    audit.append("film_attached", patient_id=patient_id, file=str(image.path), image_sha256=image.sha256,
                 reason=reason, clinician=attachment.clinician,
                 header_problems=[codec.plain(p) for p in film.identity_problems])
    redecided = [p for p in session.predictions.get(patient_id, [])
                 if p.task == Task.IMAGE and linked_image(p, [image]) is not None]
    for prediction in redecided:
        session.set_film(prediction, replace(film, attached_by_clinician=reason))
    session.attach_film(attachment, patient_id)
    return redecided
