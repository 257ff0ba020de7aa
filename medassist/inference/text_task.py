"""Runs the clinical-notes model on a note's text and explains it word by word.

Accepts :class:`TextInput`. Outputs one probability per problem; ``positive`` lists those at or
above the card's per-problem thresholds. Explanations are ``token_scores`` over the note's words
(``labels`` = words in order, ``extra["spans"]`` = their character offsets in ``extra["text"]``).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from medassist.errors import InputError
from medassist.explain.text import attention_rollout, integrated_gradients
from medassist.inference.inputs import TextInput
from medassist.inference.prediction import Explanation, Prediction
from medassist.inference.runtime import LoadedModel
from medassist.inference.tasks import register_task
from medassist.jobs import Job, Progress

METHODS = {
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
        yield Progress(0.3, "Reading the note")
        note = model.chunk(note_input.text)
        yield Progress(0.5, f"Encoding {note.input_ids.shape[0]} chunk(s)")
        with loaded.lock, torch.no_grad():
            probs = torch.sigmoid(model(note.flat_ids.to(loaded.device), note.flat_mask.to(loaded.device)))[0].cpu().numpy()
        labels = loaded.card.labels
        outputs = {label: float(p) for label, p in zip(labels, probs)}
        thresholds = {label: float(loaded.card.thresholds.get(label, 0.5)) for label in labels}
        positive = sorted((l for l in labels if outputs[l] >= thresholds[l]), key=lambda l: -outputs[l])
        extra = {
            "label_names": loaded.card.extra.get("label_names", {}),
            "words": len(note.words),
            "chunks": int(note.input_ids.shape[0]),
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
            raise InputError(f"the notes model explains with attention_rollout or integrated_gradients, not '{method}'")
        method = METHODS[method]
        model = loaded.module
        labels = loaded.card.labels
        note = model.chunk(note_input.text)
        if target is None:
            with loaded.lock, torch.no_grad():
                logits = model(note.flat_ids.to(loaded.device), note.flat_mask.to(loaded.device))[0]
            target = labels[int(torch.argmax(logits))]
        if target not in labels:
            raise InputError(f"'{target}' is not one of the notes model's problems ({', '.join(labels)})")
        yield Progress(0.2, f"{method.replace('_', ' ')} over {len(note.words)} words")
        with loaded.lock:
            if method == "attention_rollout":
                scores = attention_rollout(model, note)
            else:
                scores = integrated_gradients(model, note, labels.index(target))
        yield Progress(1.0, "done")
        return Explanation(
            method=method,
            target=target,
            kind="token_scores",
            values=np.asarray(scores.values, dtype=np.float64),
            labels=note.words,
            faithfulness=scores.faithfulness,
            elapsed_ms=scores.elapsed_ms,
            extra={
                "text": note_input.text,
                "spans": [list(s) for s in note.spans],
                "class_specific": method == "integrated_gradients",
                "words_read": int(note.token_word.max()) + 1 if note.token_word.numel() else 0,
            },
        )


register_task("text-classification", TextTask())
