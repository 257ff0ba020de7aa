"""Word-level explanations for the notes model: evidence, Integrated Gradients, attention rollout.

Each gives one score per word of the note (words = whitespace-separated pieces, with their
character spans, so the UI can highlight the original text). A word's score is the sum over its
WordPiece tokens; [CLS]/[SEP]/padding are dropped.

* Evidence: what a suggestion rests on. +1 on the words of each mention the rule layer reads as the
  patient's, +0.35 on the rest of its sentence; -1 / -0.35 for mentions of the same problem that are
  negated, family, hypothetical, uncertain or a past acute episode. No model is run.

* Attention rollout (Abnar & Zuidema 2020): per chunk, head-averaged attention with the residual
  added (0.5 A + 0.5 I), multiplied through the 6 layers. The note vector is a mean over tokens,
  so a token's relevance is its column averaged over all real query tokens. Class-agnostic:
  it shows where the encoder looked, not why a problem was suggested.
* Integrated Gradients (Captum ``LayerIntegratedGradients`` on the word-embedding layer) of one
  problem's logit, from a baseline where every word piece is [PAD] (special tokens kept). Only the
  sentences that mention the problem are attributed, each read alone by the encoder and head, at
  its own length (no padding to a full window): a 1,000-word note costs a few short passes, not
  32 passes over every window. A note that never mentions the problem is attributed on the
  sentences the head, reading each alone, scores highest for it (found with forward passes only).
  Each sentence is a progress step and a cancel point.
  Completeness: the scores sum to the summed logit(window) - logit(baseline) up to the reported
  gap; a sentence whose gap is over 1% is attributed again with twice the steps.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn
from captum.attr import LayerIntegratedGradients

from medassist.domain.prediction import Explanation
from medassist.domain.tasks import Method, unsupported_method
from medassist.errors import InputError, ModelError
from medassist.inference.runtime import LoadedModel
from medassist.inference.text_task import text_of
from medassist.jobs import Job, Progress
from medassist.models.notes import ChunkedNote, NotesClassifier, chunk_note, mean_pool, note_vector
from medassist.notes.assertion import sentences as note_sentences
from medassist.notes.mentions import Mention, NoteProblems, note_problems

_WORD = re.compile(r"\S+")


@dataclass
class WordScores:
    values: np.ndarray
    elapsed_ms: float
    faithfulness: dict[str, float] | None = None


def _to_words(note: ChunkedNote, token_scores: torch.Tensor) -> np.ndarray:
    """Sum ``[n_chunks, chunk_tokens]`` token scores into one score per word."""
    words = np.zeros(len(note.words))
    index = note.token_word.reshape(-1).numpy()
    scores = token_scores.reshape(-1).detach().cpu().numpy().astype(np.float64)
    keep = index >= 0
    np.add.at(words, index[keep], scores[keep])
    return words


@torch.no_grad()
def attention_rollout(model: NotesClassifier, note: ChunkedNote) -> WordScores:
    started = time.perf_counter()
    device = next(model.head.parameters()).device
    _, attentions = model.chunk_vectors(note.flat_ids.to(device), note.flat_mask.to(device), output_attentions=True)
    mask = note.attention_mask.to(device).float()
    n_chunks, length = mask.shape
    eye = torch.eye(length, device=device).expand(n_chunks, length, length)
    rollout = eye.clone()
    for layer in attentions:
        mixed = 0.5 * layer.mean(dim=1) + 0.5 * eye
        mixed = mixed / mixed.sum(dim=-1, keepdim=True)
        rollout = mixed @ rollout
    queries = mask / mask.sum(dim=1, keepdim=True)
    relevance = torch.einsum("cq,cqk->ck", queries, rollout) * mask
    return WordScores(_to_words(note, relevance), (time.perf_counter() - started) * 1000)


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the note's words (whitespace-separated), the unit every view highlights."""
    return [(m.start(), m.end()) for m in _WORD.finditer(text)]


def evidence_scores(text: str, mentions: list[Mention]) -> np.ndarray:
    """Per-word evidence marks for one problem's ``mentions`` (see the module docstring)."""
    spans = word_spans(text)
    starts = np.array([a for a, _ in spans])
    ends = np.array([b for _, b in spans])
    scores = np.zeros(len(spans))
    for mention in mentions:
        sign = 1.0 if mention.is_patients_problem else -1.0
        in_sentence = (starts < mention.sentence_end) & (ends > mention.sentence_start)
        in_mention = (starts < mention.end) & (ends > mention.start)
        weaker = in_sentence & (np.abs(scores) < 0.35)
        scores[weaker] = 0.35 * sign
        scores[in_mention] = sign
    return scores


def _encoder(model: NotesClassifier) -> nn.Module:
    if model.encoder is None:
        raise ModelError("the notes model's encoder is not loaded")
    return model.encoder


def _word_embeddings(model: NotesClassifier) -> nn.Module:
    """The encoder's word-piece embedding layer, which Integrated Gradients attributes."""
    layer = getattr(getattr(_encoder(model), "embeddings", None), "word_embeddings", None)
    if not isinstance(layer, nn.Module):
        raise ModelError("the notes model's encoder has no word embedding layer")
    return layer


def _window_logit(model: NotesClassifier, target: int) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The head's logit for ``target`` on windows read alone, each at its own length."""
    encoder = _encoder(model)

    def logit(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out = encoder(input_ids=ids, attention_mask=mask)
        vectors = mean_pool(out.last_hidden_state, mask)[:, None, :]
        return model.head(note_vector(vectors, torch.ones(len(ids), 1, device=ids.device)))[:, target]

    return logit


# Integrated Gradients' step count: measured on a 1,000-word note (4 evidence sentences of ~25 word
# pieces, "hypertension", logit difference 22.5), the completeness gap was 0.91 at 8 steps, 0.63 at
# 16, 0.06 at 24 and 0.0015 at 32. A window starts at IG_STEPS and is run again with twice as many
# (up to IG_MAX_STEPS) while its gap is over IG_GAP_TOLERANCE of its logit difference (or of 1).
IG_STEPS = 24
IG_MAX_STEPS = 96
IG_GAP_TOLERANCE = 0.01


def strongest_sentences(model: NotesClassifier, text: str, sentences: list[tuple[int, int]], target: int,
                        k: int, batch: int = 32) -> list[tuple[int, int]]:
    """The ``k`` sentences that score ``target`` highest when the encoder and head read each alone
    (forward passes only, ``batch`` sentences at a time), in the note's order."""
    device = next(model.head.parameters()).device
    logit = _window_logit(model, target)
    scored: list[tuple[float, tuple[int, int]]] = []
    for first in range(0, len(sentences), batch):
        group = sentences[first:first + batch]
        rows = [chunk_note(model.tokenizer, text[a:b], model.chunk_tokens, 1) for a, b in group]
        length = max(int(row.attention_mask[0].sum()) for row in rows)
        ids = torch.cat([row.input_ids[:, :length] for row in rows]).to(device)
        mask = torch.cat([row.attention_mask[:, :length] for row in rows]).to(device)
        with torch.no_grad():
            scores = logit(ids, mask).tolist()
        scored += zip(scores, group, strict=True)
    chosen = sorted(scored, key=lambda pair: -pair[0])[:k]
    return sorted(span for _, span in chosen)


def integrated_gradients(model: NotesClassifier, text: str, windows: list[tuple[int, int]], target: int,
                         n_steps: int | None = None) -> Job[WordScores]:
    """IG of ``target``'s logit over the character ``windows`` of ``text`` (one step per window), each
    with ``n_steps`` (default :data:`IG_STEPS`) or more until its completeness gap is small."""
    started = time.perf_counter()
    device = next(model.head.parameters()).device
    spans = word_spans(text)
    index_of_start = {start: i for i, (start, _) in enumerate(spans)}
    words = np.zeros(len(spans))
    logit = _window_logit(model, target)
    method = LayerIntegratedGradients(logit, _word_embeddings(model))
    attributed = full_sum = empty_sum = 0.0
    most_steps = 0
    pieces = [(a, c) for a, b in windows for c in [chunk_note(model.tokenizer, text[a:b], model.chunk_tokens, 10_000)]]
    total = sum(int(c.input_ids.shape[0]) for _, c in pieces)
    done = 0
    for offset, note in pieces:
        local_to_global = np.array([index_of_start.get(offset + a, -1) for a, _ in note.spans] + [-1])
        for c in range(note.input_ids.shape[0]):
            n = int(note.attention_mask[c].sum())
            ids = note.input_ids[c:c + 1, :n].to(device)
            mask = note.attention_mask[c:c + 1, :n].to(device)
            token_word = note.token_word[c, :n]
            baseline = torch.where(token_word.reshape(1, -1).to(device) < 0, ids, torch.full_like(ids, model.tokenizer.pad_token_id))
            with torch.no_grad():
                full, empty = float(logit(ids, mask)), float(logit(baseline, mask))
            steps = n_steps or IG_STEPS
            while True:
                yield Progress(0.05 + 0.9 * done / max(total, 1),
                               f"Integrated Gradients: sentence {done + 1} of {total} ({steps} steps)")
                attributions = method.attribute(ids, baselines=baseline, additional_forward_args=(mask,), n_steps=steps,
                                                internal_batch_size=steps)
                token_scores = attributions.sum(dim=-1)[0].detach().cpu().numpy().astype(np.float64)
                gap = abs(float(token_scores.sum()) - (full - empty))
                if gap <= IG_GAP_TOLERANCE * max(abs(full - empty), 1.0) or steps * 2 > IG_MAX_STEPS:
                    break
                steps *= 2
            most_steps = max(most_steps, steps)
            full_sum += full
            empty_sum += empty
            attributed += float(token_scores.sum())
            keep = token_word.numpy() >= 0
            targets = local_to_global[token_word.numpy()[keep]]
            ok = targets >= 0
            np.add.at(words, targets[ok], token_scores[keep][ok])
            done += 1
    faithfulness = {
        "completeness_gap": abs(attributed - (full_sum - empty_sum)),
        "logit": full_sum,
        "baseline_logit": empty_sum,
        "windows": float(total),
        "steps": float(most_steps),
    }
    return WordScores(words, (time.perf_counter() - started) * 1000, faithfulness)


METHODS = (Method.EVIDENCE, Method.INTEGRATED_GRADIENTS, Method.ATTENTION_ROLLOUT)


def explain_note(loaded: LoadedModel, source: object, method: Method, target: str | None) -> Job[Explanation]:
    """Word scores over the note for one problem (the explainer registered for notes models)."""
    note_input = text_of(source)
    if method not in METHODS:
        raise unsupported_method(loaded.card.name, method, METHODS)
    model = loaded.network(NotesClassifier)
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
        "class_specific": method != Method.ATTENTION_ROLLOUT,
        "evidence": [m.to_dict(text) for m in mentions],
    }
    yield Progress(0.05, f"{method.display_name} over {len(spans)} words")
    if method == Method.EVIDENCE:
        scores = WordScores(evidence_scores(text, mentions), 0.0)
        extra["words_read"] = len(spans)
    elif method == Method.INTEGRATED_GRADIENTS:
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
    model = loaded.network(NotesClassifier)
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

