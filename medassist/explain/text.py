"""Word-level explanations for the notes model: attention rollout and Integrated Gradients.

Both give one score per word of the note (words = whitespace-separated pieces, with their
character spans, so the UI can highlight the original text). A word's score is the sum over its
WordPiece tokens; [CLS]/[SEP]/padding are dropped.

* Attention rollout (Abnar & Zuidema 2020): per chunk, head-averaged attention with the residual
  added (0.5 A + 0.5 I), multiplied through the 6 layers. The note vector is a mean over tokens,
  so a token's relevance is its column averaged over all real query tokens. Class-agnostic:
  it shows where the encoder looked, not why a problem was suggested.
* Integrated Gradients (Captum ``LayerIntegratedGradients`` on the word-embedding layer) of one
  problem's logit, from a baseline where every word piece is [PAD] (special tokens kept).
  Completeness: the scores sum to logit(note) - logit(baseline) up to the reported gap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import LayerIntegratedGradients

from medassist.models.notes import ChunkedNote, NotesClassifier


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


def integrated_gradients(model: NotesClassifier, note: ChunkedNote, target: int, n_steps: int = 32,
                         internal_batch_size: int = 4) -> WordScores:
    started = time.perf_counter()
    device = next(model.head.parameters()).device
    ids = note.flat_ids.to(device)
    mask = note.flat_mask.to(device)
    special = note.token_word.reshape(1, -1).to(device) < 0
    baseline = torch.where(special, ids, torch.full_like(ids, model.tokenizer.pad_token_id))

    def logit(flat_ids: torch.Tensor, flat_mask: torch.Tensor) -> torch.Tensor:
        return model(flat_ids, flat_mask)[:, target]

    method = LayerIntegratedGradients(logit, model.encoder.embeddings.word_embeddings)
    attributions = method.attribute(
        ids, baselines=baseline, additional_forward_args=(mask,), n_steps=n_steps, internal_batch_size=internal_batch_size,
    )
    with torch.no_grad():
        full = float(logit(ids, mask))
        empty = float(logit(baseline, mask))
    token_scores = attributions.sum(dim=-1).reshape(note.input_ids.shape)
    words = _to_words(note, token_scores)
    faithfulness = {
        "completeness_gap": abs(float(token_scores.sum()) - (full - empty)),
        "logit": full,
        "baseline_logit": empty,
    }
    return WordScores(words, (time.perf_counter() - started) * 1000, faithfulness)
