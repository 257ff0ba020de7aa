"""Runs the clinical-notes model on a note's text and explains it word by word.

Accepts :class:`TextInput`. A problem is *suggested* (``positive``) only when the note has evidence
for it: a mention the rule layer (:mod:`medassist.notes`, ConText-style) reads as
the patient's (affirmed, or a chronic problem's history). Negated, family, hypothetical, uncertain
mentions and past acute episodes are listed in ``extra["mentioned_not_suggested"]`` and never
suggested. ``outputs`` are the encoder head's calibrated probabilities, computed on the note with
the sentences that only hold such mentions blanked; they rank the suggestions and say how strongly
the text as a whole reads like each problem, but never make a suggestion on their own.
``extra["suggestions"]`` gives each suggestion with its evidence (character spans and sentences).

Explanations of its outputs are in :mod:`medassist.explain.text` (registered for this task).
"""

from __future__ import annotations

import time

import torch

from medassist.errors import InputError
from medassist.domain.inputs import TextInput
from medassist.domain.prediction import Prediction
from medassist.inference.runtime import LoadedModel
from medassist.jobs import Job, Progress
from medassist.models.notes import NotesClassifier
from medassist.notes.lexicon import notes_model_lexicon, problem_name
from medassist.notes.mentions import note_problems, problem_evidence

MAX_CHARACTERS = 200_000


def text_of(source: object) -> TextInput:
    if not isinstance(source, TextInput):
        raise InputError(f"the notes model reads a note's text, not {type(source).__name__}")
    if not source.text.strip():
        raise InputError("the note is empty", source.source)
    if len(source.text) > MAX_CHARACTERS:
        raise InputError(f"the note has {len(source.text):,} characters; at most {MAX_CHARACTERS:,} are read", source.source)
    return source


class TextTask:
    def predict(self, loaded: LoadedModel, source: object) -> Job[Prediction]:
        started = time.perf_counter()
        note_input = text_of(source)
        model = loaded.network(NotesClassifier)
        labels = loaded.card.labels
        yield Progress(0.2, "Finding problem mentions and their status")
        problems = note_problems(note_input.text, list(notes_model_lexicon()))
        note = model.chunk(problems.patient_text())
        problems = problems.restricted_to(labels)
        yield Progress(0.5, f"Encoding {note.input_ids.shape[0]} chunk(s)")
        with loaded.lock, torch.no_grad():
            probs = torch.sigmoid(model(note.flat_ids.to(loaded.device), note.flat_mask.to(loaded.device)))[0].cpu().numpy()
        outputs = {label: float(p) for label, p in zip(labels, probs, strict=True)}
        thresholds = {label: float(loaded.card.thresholds.get(label, 0.5)) for label in labels}
        positive = sorted(problems.suggested, key=lambda label: -outputs[label])
        named = loaded.card.text.label_names if loaded.card.text is not None else {}
        names = {label: problem_name(label) for label in labels} | named
        extra = {
            "label_names": names,
            "words": len(note.words),
            "chunks": int(note.input_ids.shape[0]),
            **problem_evidence(problems, outputs, names),
        }
        if note.truncated:
            extra["truncated"] = f"only the first {note.input_ids.shape[0]} chunks (~{note.input_ids.shape[0] * 190} words) were read"
        yield Progress(1.0, "done")
        return Prediction(
            model=loaded.card.name,
            version=loaded.card.version,
            weights_sha256=loaded.sha256,
            task=loaded.card.task,
            device=loaded.device_description,
            source=note_input.source,
            input_sha256=note_input.sha256,
            outputs=outputs,
            thresholds=thresholds,
            positive=positive,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            extra=extra,
        )
