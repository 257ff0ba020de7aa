"""Loading models onto a device, once, with their hash verified; device choice and fallback.

torch is imported here and only here (and in what this module loads), so the GUI can paint
its window before paying torch's import time: the UI imports this module inside a worker.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

import torch

from medassist.errors import ModelError
from medassist.models.architectures import build_architecture
from medassist.inference.card import ModelCard, card_file
from medassist.inference.registry import ModelEntry, ModelRegistry, verify_weights

DevicePreference = Literal["auto", "cpu", "cuda", "mps"]


def resolve_device(preference: DevicePreference = "auto") -> torch.device:
    """Auto picks CUDA, then MPS, else CPU; an explicit choice that is unavailable falls back to CPU."""
    if preference in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if preference in ("auto", "mps") and mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe_device(device: torch.device) -> str:
    """What the status bar, the audit trail and a result's ``device`` say, e.g. ``CPU, 2 threads``,
    ``CPU, 1 thread`` or ``NVIDIA H100 (CUDA)``."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA)"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    threads = torch.get_num_threads()
    return f"CPU, {threads} thread{'' if threads == 1 else 's'}"


def configure_threads(threads: int | None) -> int:
    """Set torch's intra-op threads (``None``: all cores) and return the number in force."""
    wanted = threads or os.cpu_count() or 1
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)
    return torch.get_num_threads()


_Network = TypeVar("_Network", bound=torch.nn.Module)


@dataclass
class LoadedModel:
    """A verified model ready to run: its card, network in eval mode and where it runs."""

    entry: ModelEntry
    module: torch.nn.Module
    device: torch.device
    device_note: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def card(self) -> ModelCard:
        assert self.entry.card is not None
        return self.entry.card

    def network(self, kind: type[_Network]) -> _Network:
        """The network as the class its task needs; a card whose architecture builds another class is refused."""
        if not isinstance(self.module, kind):
            raise ModelError(f"{self.card.name}: its network is a {type(self.module).__name__}, not a {kind.__name__}")
        return self.module

    @property
    def folder(self) -> Path:
        return self.entry.folder

    @property
    def sha256(self) -> str:
        return self.card.weights.sha256

    @property
    def device_description(self) -> str:
        return describe_device(self.device)


def load_network(folder: Path, card: ModelCard, device: torch.device) -> torch.nn.Module:
    """Build the network from a verified folder; never unpickles arbitrary objects."""
    verify_weights(folder, card)
    weights = card_file(folder, card.weights.file)
    try:
        if card.weights.format == "torchscript":
            module = torch.jit.load(str(weights), map_location=device)
        else:
            assert card.architecture is not None
            module = build_architecture(card.architecture.name, card.architecture.kwargs)
            state = torch.load(weights, map_location="cpu", weights_only=True)
            if not isinstance(state, dict):
                raise ModelError("weights file does not hold a state_dict", weights)
            module.load_state_dict(state)
            module.to(device)
    except ModelError:
        raise
    except Exception as exc:  # torch raises many types for corrupt or mismatched weights
        raise ModelError(f"weights could not be loaded ({type(exc).__name__}: {exc})", weights) from exc
    module.eval()
    return module


class ModelRuntime:
    """Loads and caches models; concurrent requests for one model load it once.

    ``registry`` is the model catalogue the app lists and loads from; the composition root passes
    its one catalogue in, so a runtime made again for new device settings keeps the weights' hashes.
    ``threads`` (``None``: all cores) sets torch's intra-op threads for this process.
    """

    def __init__(self, registry: ModelRegistry, device_preference: DevicePreference, threads: int | None) -> None:
        self.registry = registry
        self.device_preference: DevicePreference = device_preference
        self.threads = configure_threads(threads)
        self.device = resolve_device(device_preference)
        self._cache: dict[str, LoadedModel] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.load_count: dict[str, int] = {}

    def describe(self) -> str:
        return describe_device(self.device)

    def load(self, name: str) -> LoadedModel:
        with self._guard:
            cached = self._cache.get(name)
            if cached is not None:
                return cached
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            with self._guard:
                cached = self._cache.get(name)
            if cached is not None:
                return cached
            entry = self.registry.get(name)
            assert entry.card is not None
            note = None
            device = self.device
            try:
                module = load_network(entry.folder, entry.card, device)
            except ModelError as exc:
                if device.type == "cpu":
                    raise
                module = load_network(entry.folder, entry.card, torch.device("cpu"))
                note = f"{device.type.upper()} failed ({exc.reason}); running on CPU"
                device = torch.device("cpu")
            loaded = LoadedModel(entry=entry, module=module, device=device, device_note=note)
            with self._guard:
                self._cache[name] = loaded
                self.load_count[name] = self.load_count.get(name, 0) + 1
            return loaded
