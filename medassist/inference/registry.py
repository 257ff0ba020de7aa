"""The catalogue of model folders: bundled ``models/*/`` and the user's models folder.

Scanning imports no torch (the Models menu must open fast); it validates each card and checks
the weights' SHA-256, so a user-dropped folder with a bad card or tampered weights is listed
as refused, with the reason, and never offered. A registry hashes each weights file once per
change of the file (its size and modification time), so listing the catalogue again costs a
``stat`` per model; the app keeps one registry, hashed first in the start-up job, and loading a
model still hashes its weights in full (:func:`medassist.inference.runtime.load_network`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from medassist.errors import ModelError
from medassist.hashing import sha256_file
from medassist.inference.card import CARD_FILE, ModelCard, card_file, read_card


@dataclass
class ModelEntry:
    """One model folder and whether it may be used."""

    folder: Path
    card: ModelCard | None
    error: str | None
    bundled: bool

    @property
    def available(self) -> bool:
        return self.card is not None and self.error is None

    @property
    def name(self) -> str:
        return self.card.name if self.card else self.folder.name

    @property
    def weights_path(self) -> Path:
        if self.card is None:
            raise ModelError("model has no valid card", self.folder)
        return card_file(self.folder, self.card.weights.file)


def verify_weights(folder: Path, card: ModelCard, digest_of: Callable[[Path], str] | None = None) -> None:
    """Raise :class:`ModelError` unless the weights exist and match the card's SHA-256
    (``digest_of`` hashes the file; by default it is read in full)."""
    weights = card_file(folder, card.weights.file)
    if not weights.is_file():
        raise ModelError(f"weights file '{card.weights.file}' is missing", folder)
    actual = (digest_of or sha256_file)(weights)
    if actual != card.weights.sha256:
        raise ModelError(
            f"weights SHA-256 mismatch (card {card.weights.sha256[:12]}..., file {actual[:12]}...): "
            "the model was modified or corrupted and is refused",
            weights,
        )


class ModelRegistry:
    """Finds, validates and verifies model folders; later folders cannot shadow bundled names.
    The first folder holds the bundled models (``Settings.model_folders``: bundled, then the user's)."""

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = [Path(f) for f in folders]
        self._entries: dict[str, ModelEntry] | None = None
        self._digests: dict[Path, tuple[tuple[int, int], str]] = {}  # weights file -> ((size, mtime), SHA-256)
        self._digests_lock = threading.Lock()

    def scan(self) -> list[ModelEntry]:
        """Read the model folders again (a folder the user added shows up); unchanged weights are not re-hashed."""
        entries: dict[str, ModelEntry] = {}
        for index, root in enumerate(self.folders):
            if not root.is_dir():
                continue
            for folder in sorted(p for p in root.iterdir() if p.is_dir() and (p / CARD_FILE).exists()):
                entry = self._inspect(folder, bundled=index == 0)
                if entry.name in entries:
                    entry.error = f"a model named '{entry.name}' is already installed; this copy is ignored"
                    entries[f"{entry.name}@{folder}"] = entry
                else:
                    entries[entry.name] = entry
        self._entries = entries
        return list(entries.values())

    def weights_digest(self, weights: Path) -> str:
        """SHA-256 of a weights file, hashed again only when its size or modification time changed."""
        stat = weights.stat()
        stamp = (stat.st_size, stat.st_mtime_ns)
        with self._digests_lock:
            known = self._digests.get(weights)
        if known is not None and known[0] == stamp:
            return known[1]
        digest = sha256_file(weights)
        with self._digests_lock:
            self._digests[weights] = (stamp, digest)
        return digest

    def _inspect(self, folder: Path, bundled: bool) -> ModelEntry:
        try:
            card = read_card(folder)
        except ModelError as exc:
            return ModelEntry(folder, None, exc.reason, bundled)
        try:
            verify_weights(folder, card, self.weights_digest)
        except ModelError as exc:
            return ModelEntry(folder, card, exc.reason, bundled)
        return ModelEntry(folder, card, None, bundled)

    def entries(self) -> list[ModelEntry]:
        if self._entries is None:
            self.scan()
        assert self._entries is not None
        return list(self._entries.values())

    def cards(self) -> dict[str, ModelCard]:
        """Every readable card by model name (a refused model's too: a report describes the model a
        result was made with, which may since have been refused); the first folder's wins."""
        cards: dict[str, ModelCard] = {}
        for entry in self.entries():
            if entry.card is not None:
                cards.setdefault(entry.card.name, entry.card)
        return cards

    def available(self, task: str | None = None) -> list[ModelEntry]:
        return [e for e in self.entries() if e.available and e.card is not None and (task is None or e.card.task == task)]

    def get(self, name: str) -> ModelEntry:
        """The usable entry called ``name``; :class:`ModelError` if absent or refused."""
        for entry in self.entries():
            if entry.name == name:
                if not entry.available:
                    raise ModelError(f"model '{name}' is refused: {entry.error}", entry.folder)
                return entry
        known = ", ".join(sorted(e.name for e in self.entries() if e.available)) or "none"
        raise ModelError(f"no model named '{name}' (available: {known})")
