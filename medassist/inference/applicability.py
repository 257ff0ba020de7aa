"""Which available models apply to what a patient has, so "run everything that applies"
(the Diagnosis tab, the CLI self-test) needs no per-model code.

Image models get the patient's images whose modality the card names (ordinary picture files,
modality OT, always qualify: the model's input gate then decides); text models get the newest
note; record models get the patient's records. An image no image model reads is named with why
(:func:`images_not_analysed`), so a CT is not silently left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from medassist.clinical.films import dicom_date
from medassist.clinical.picture import note_source
from medassist.domain.tasks import Task
from medassist.imaging.image import MedicalImage
from medassist.inference.card import image_applies
from medassist.domain.inputs import ImageInput, RecordInput, TextInput
from medassist.inference.registry import ModelRegistry
from medassist.records.summary import age_years
from medassist.session import Session


@dataclass
class ApplicableRun:
    """One model and one input it can be asked about."""

    model: str
    title: str
    task: str
    source: ImageInput | TextInput | RecordInput
    describes: str  # the input, in the user's words

    @property
    def label(self) -> str:
        return f"{self.title} on {self.describes}"


def newest_note(session: Session, patient_id: str) -> TextInput | None:
    notes = session.records.for_patient("notes", patient_id)
    notes = notes[notes["text"].fillna("").str.strip() != ""]
    if notes.empty:
        return None
    row = notes.sort_values("date", na_position="first").iloc[-1]
    when = row["date"].date() if pd.notna(row["date"]) else None
    return TextInput(text=str(row["text"]), source=note_source(row["title"], when, row["note_id"]))


def _age_at_study(session: Session, patient_id: str, image: MedicalImage) -> float | None:
    """The patient's age from the record on the film's study date (today's age for an undated film)."""
    study = dicom_date(image.metadata.get("study_date"))
    return age_years(session.records, patient_id, on=pd.Timestamp(study) if study is not None else None)


def applicable_runs(
    session: Session,
    registry: ModelRegistry,
    patient_id: str | None = None,
    images: list[MedicalImage] | None = None,
) -> list[ApplicableRun]:
    """Every (model, input) pair that applies to the patient; ``images`` narrows the image inputs."""
    key = patient_id if patient_id is not None else session.patient_key
    pictures = images if images is not None else list(session.images.get(key, []))
    has_records = bool(key) and session.records.has_patient(key)
    runs: list[ApplicableRun] = []
    for entry in registry.available():
        card = entry.card
        assert card is not None
        if card.task == Task.IMAGE:
            for image in pictures:
                if image_applies(card, image):
                    runs.append(ApplicableRun(card.name, card.title, card.task,
                                              ImageInput(image, 0, _age_at_study(session, key, image) if has_records else None),
                                              image.path.name))
        elif card.task == Task.TEXT and has_records:
            note = newest_note(session, key)
            if note is not None:
                runs.append(ApplicableRun(card.name, card.title, card.task, note, note.source))
        elif card.task == Task.RECORD and has_records:
            runs.append(ApplicableRun(card.name, card.title, card.task, RecordInput(session.records, key), "patient record"))
    return runs


def images_not_analysed(session: Session, registry: ModelRegistry, patient_id: str | None = None,
                        images: list[MedicalImage] | None = None) -> list[str]:
    """A line for each of the patient's images that no available image model reads, with why (its modality)."""
    key = patient_id if patient_id is not None else session.patient_key
    pictures = images if images is not None else list(session.images.get(key, []))
    cards = [entry.card for entry in registry.available() if entry.card is not None and entry.card.task == Task.IMAGE]
    if not cards:
        return []
    reads = "; ".join(f"{card.title} reads {', '.join(card.modality)}" for card in cards)
    return [f"{image.path.name} not analysed: it is {image.modality}, and no model reads it ({reads})"
            for image in pictures if not any(image_applies(card, image) for card in cards)]
