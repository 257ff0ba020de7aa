"""Networks MedAssist ships, by name, so a card with state_dict weights can name its class.

Only classes registered here can be built from a card: a card can never make MedAssist
import or execute arbitrary code. Models with other architectures ship as TorchScript.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

import torch

from medassist.errors import ModelError

_BUILDERS: dict[str, Callable[..., torch.nn.Module]] = {}

# Modules that register architectures on import; imported lazily the first time a name is looked up.
ARCHITECTURE_MODULES = (
    "medassist.models.cxr",
    "medassist.models.notes",
    "medassist.models.tabular",
    "medassist.models.recommender",
)


def register_architecture(name: str) -> Callable[[Callable[..., torch.nn.Module]], Callable[..., torch.nn.Module]]:
    def decorate(builder: Callable[..., torch.nn.Module]) -> Callable[..., torch.nn.Module]:
        _BUILDERS[name] = builder
        return builder

    return decorate


def _import_all() -> None:
    for module in ARCHITECTURE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def build_architecture(name: str, kwargs: dict[str, Any]) -> torch.nn.Module:
    if name not in _BUILDERS:
        _import_all()
    if name not in _BUILDERS:
        raise ModelError(f"unknown architecture '{name}' (known: {', '.join(sorted(_BUILDERS)) or 'none'})")
    return _BUILDERS[name](**kwargs)
