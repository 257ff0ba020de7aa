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
  32 passes over every window. A note that never mentions the problem is attributed window by
  window. Each sentence/window is a progress step and a cancel point.
  Completeness: the scores sum to the summed logit(window) - logit(baseline) up to the reported gap.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import LayerIntegratedGradients

from medassist.domain.prediction import Explanation
from medassist.domain.tasks import Method, Task, unsupported_method
from medassist.errors import InputError
from medassist.inference.runtime import LoadedModel
from medassist.inference.tasks import register_explainer
from medassist.inference.text_task import text_of
from medassist.jobs import Job, Progress
from medassist.models.notes import ChunkedNote, NotesClassifier, chunk_note, mean_pool, note_vector
from medassist.models.problem_mentions import Mention, NoteProblems, note_problems

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


def _window_logit(model: NotesClassifier, target: int):
    """The head's logit for ``target`` on windows read alone, each at its own length."""

    def logit(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out = model.encoder(input_ids=ids, attention_mask=mask)
        vectors = mean_pool(out.last_hidden_state, mask)[:, None, :]
        return model.head(note_vector(vectors, torch.ones(len(ids), 1, device=ids.device)))[:, target]

    return logit


def integrated_gradients(model: NotesClassifier, text: str, windows: list[tuple[int, int]], target: int,
                         n_steps: int = 16) -> Job[WordScores]:
    """IG of ``target``'s logit over the character ``windows`` of ``text`` (one step per window)."""
    started = time.perf_counter()
    device = next(model.head.parameters()).device
    spans = word_spans(text)
    index_of_start = {start: i for i, (start, _) in enumerate(spans)}
    words = np.zeros(len(spans))
    logit = _window_logit(model, target)
    method = LayerIntegratedGradients(logit, model.encoder.embeddings.word_embeddings)
    attributed = full_sum = empty_sum = 0.0
    pieces = [(a, c) for a, b in windows for c in [chunk_note(model.tokenizer, text[a:b], model.chunk_tokens, 10_000)]]
    total = sum(int(c.input_ids.shape[0]) for _, c in pieces)
    done = 0
    for offset, note in pieces:
        local_to_global = np.array([index_of_start.get(offset + a, -1) for a, _ in note.spans] + [-1])
        for c in range(note.input_ids.shape[0]):
            yield Progress(0.05 + 0.9 * done / max(total, 1), f"Integrated Gradients: sentence {done + 1} of {total}")
            n = int(note.attention_mask[c].sum())
            ids = note.input_ids[c:c + 1, :n].to(device)
            mask = note.attention_mask[c:c + 1, :n].to(device)
            token_word = note.token_word[c, :n]
            baseline = torch.where(token_word.reshape(1, -1).to(device) < 0, ids, torch.full_like(ids, model.tokenizer.pad_token_id))
            attributions = method.attribute(ids, baselines=baseline, additional_forward_args=(mask,), n_steps=n_steps,
                                            internal_batch_size=n_steps)
            token_scores = attributions.sum(dim=-1)[0].detach().cpu().numpy().astype(np.float64)
            with torch.no_grad():
                full_sum += float(logit(ids, mask))
                empty_sum += float(logit(baseline, mask))
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
    }
    return WordScores(words, (time.perf_counter() - started) * 1000, faithfulness)


METHODS = (Method.EVIDENCE, Method.INTEGRATED_GRADIENTS, Method.ATTENTION_ROLLOUT)


def explain_note(loaded: LoadedModel, source: object, method: Method, target: str | None) -> Job[Explanation]:
    """Word scores over the note for one problem (the explainer registered for notes models)."""
    note_input = text_of(source)
    if method not in METHODS:
        raise unsupported_method(loaded.card.name, method, METHODS)
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
        "class_specific": method != Method.ATTENTION_ROLLOUT,
        "evidence": [m.to_dict(text) for m in mentions],
    }
    yield Progress(0.05, f"{method.display_name} over {len(spans)} words")
    if method == Method.EVIDENCE:
        scores = WordScores(evidence_scores(text, mentions), 0.0)
        extra["words_read"] = len(spans)
    elif method == Method.INTEGRATED_GRADIENTS:
        windows, extra["attributed"], steps = _ig_windows(problems, target, text)
        with loaded.lock:
            scores = yield from integrated_gradients(model, text, windows, labels.index(target), steps)
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


IG_SENTENCES = 4  # evidence sentences IG attributes: enough to show why, and a long note stays within seconds


def _ig_windows(problems: NoteProblems, target: str, text: str) -> tuple[list[tuple[int, int]], str, int]:
    """What IG reads for ``target`` and with how many steps: its first evidence sentences, else the
    sentences that mention it, else the whole note window by window (fewer steps: it is long)."""
    for kind, chosen in (("evidence sentences", problems.evidence(target)),
                         ("sentences that mention it", [m for m in problems.mentions if m.problem == target])):
        sentences = sorted({(m.sentence_start, m.sentence_end) for m in chosen})
        if sentences:
            return sentences[:IG_SENTENCES], f"{min(len(sentences), IG_SENTENCES)} of {len(sentences)} {kind}", 16
    return [(0, len(text))], "the whole note (the problem is not mentioned in it)", 8


register_explainer(Task.TEXT, explain_note)
