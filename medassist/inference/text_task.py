"""Runs the clinical-notes model on a note's text and explains it word by word.

Accepts :class:`TextInput`. A problem is *suggested* (``positive``) only when the note has evidence
for it: a mention the rule layer (:mod:`medassist.models.problem_mentions`, ConText-style) reads as
the patient's (affirmed, or a chronic problem's history). Negated, family, hypothetical, uncertain
mentions and past acute episodes are listed in ``extra["mentioned_not_suggested"]`` and never
suggested. ``outputs`` are the encoder head's calibrated probabilities, computed on the note with
the sentences that only hold such mentions blanked; they rank the suggestions and say how strongly
the text as a whole reads like each problem, but never make a suggestion on their own.
``extra["suggestions"]`` gives each suggestion with its evidence (character spans and sentences).

Explanations are ``token_scores`` over the note's words (``labels`` = words in order,
``extra["spans"]`` = their character offsets in ``extra["text"]``): ``evidence`` marks the
mentions and sentences a suggestion rests on; Integrated Gradients attributes the problem's score
on those sentences; attention rollout shows where the encoder looked over the whole note.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from medassist.errors import InputError
from medassist.explain.text import (
    WordScores,
    attention_rollout,
    evidence_scores,
    integrated_gradients,
    strongest_sentences,
    word_spans,
)
from medassist.inference.inputs import TextInput
from medassist.inference.prediction import Explanation, Prediction
from medassist.inference.runtime import LoadedModel
from medassist.inference.tasks import register_task
from medassist.jobs import Job, Progress
from medassist.models.notes import NotesClassifier
from medassist.models.problem_mentions import NoteProblems, note_problems, problem_evidence, problem_name
from medassist.models.problem_mentions import sentences as note_sentences

METHODS = {
    "evidence": "evidence",
    "attention_rollout": "attention_rollout", "attention": "attention_rollout", "rollout": "attention_rollout",
    "integrated_gradients": "integrated_gradients", "ig": "integrated_gradients",
}
MAX_CHARACTERS = 200_000


def _text(source: object) -> TextInput:
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
        note_input = _text(source)
        model = loaded.module
        labels = loaded.card.labels
        yield Progress(0.2, "Finding problem mentions and their status")
        problems = note_problems(note_input.text)
        note = model.chunk(problems.patient_text())
        problems = problems.restricted_to(labels)
        yield Progress(0.5, f"Encoding {note.input_ids.shape[0]} chunk(s)")
        with loaded.lock, torch.no_grad():
            probs = torch.sigmoid(model(note.flat_ids.to(loaded.device), note.flat_mask.to(loaded.device)))[0].cpu().numpy()
        outputs = {label: float(p) for label, p in zip(labels, probs)}
        thresholds = {label: float(loaded.card.thresholds.get(label, 0.5)) for label in labels}
        positive = sorted(problems.suggested, key=lambda l: -outputs[l])
        names = {label: problem_name(label) for label in labels} | loaded.card.extra.get("label_names", {})
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

    def explain(self, loaded: LoadedModel, source: object, method: str, target: str | None) -> Job[Explanation]:
        note_input = _text(source)
        if method not in METHODS:
            raise InputError(
                f"the notes model explains with evidence, integrated_gradients or attention_rollout, not '{method}'")
        method = METHODS[method]
        model = loaded.module
        labels = loaded.card.labels
        text = note_input.text
        problems = note_problems(text, labels)
        if target is None:
            target = _default_target(loaded, problems)
        if target not in labels:
            raise InputError(f"'{target}' is not one of the notes model's problems ({', '.join(labels)})")
        mentions = [m for m in problems.mentions if m.problem == target]
        spans = word_spans(text)
        extra: dict[str, object] = {
            "text": text,
            "spans": [list(s) for s in spans],
            "class_specific": method != "attention_rollout",
            "evidence": [m.to_dict(text) for m in mentions],
        }
        yield Progress(0.05, f"{method.replace('_', ' ')} over {len(spans)} words")
        if method == "evidence":
            scores = WordScores(evidence_scores(text, mentions), 0.0)
            extra["words_read"] = len(spans)
        elif method == "integrated_gradients":
            with loaded.lock:
                windows, extra["attributed"] = _ig_windows(model, problems, target, labels.index(target), text)
                scores = yield from integrated_gradients(model, text, windows, labels.index(target))
            extra["words_read"] = len(spans)
        else:
            note = model.chunk(text)
            with loaded.lock:
                scores = attention_rollout(model, note)
            extra["words_read"] = int(note.token_word.max()) + 1 if note.token_word.numel() else 0
        yield Progress(1.0, "done")
        return Explanation(
            method=method,
            target=target,
            kind="token_scores",
            values=np.asarray(scores.values, dtype=np.float64),
            labels=[text[a:b] for a, b in spans],
            faithfulness=scores.faithfulness,
            elapsed_ms=scores.elapsed_ms,
            extra=extra,
        )


def _default_target(loaded: LoadedModel, problems: NoteProblems) -> str:
    """The first suggested problem; with none, the problem the head scores highest."""
    if problems.suggested:
        return min(problems.suggested, key=lambda label: problems.evidence(label)[0].start)
    model = loaded.module
    note = model.chunk(problems.text)
    with loaded.lock, torch.no_grad():
        logits = model(note.flat_ids.to(loaded.device), note.flat_mask.to(loaded.device))[0]
    return loaded.card.labels[int(torch.argmax(logits))]


IG_SENTENCES = 4  # sentences IG attributes: enough to show why, and a long note stays within seconds


def _ig_windows(model: NotesClassifier, problems: NoteProblems, label: str, target: int,
                text: str) -> tuple[list[tuple[int, int]], str]:
    """What IG reads for the problem ``label`` (the head's output ``target``): its first evidence
    sentences, else the sentences that mention it, else the sentences the head scores highest for it."""
    for kind, chosen in (("evidence sentences", problems.evidence(label)),
                         ("sentences that mention it", [m for m in problems.mentions if m.problem == label])):
        spans = sorted({(m.sentence_start, m.sentence_end) for m in chosen})
        if spans:
            return spans[:IG_SENTENCES], f"{min(len(spans), IG_SENTENCES)} of {len(spans)} {kind}"
    every = note_sentences(text)
    return (strongest_sentences(model, text, every, target, IG_SENTENCES),
            (f"the {min(len(every), IG_SENTENCES)} of {len(every)} sentences the model scores highest for it, each read "
             "alone (the note does not mention it)"))


register_task("text-classification", TextTask())
