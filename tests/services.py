"""Services for tests, built by the composition root as an entry point's are: models in this process
on the CPU with a stated number of threads, the bundled models, and an audit file of the test's own."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Sequence

from medassist.composition import Services, build_services
from medassist.inference.card import ModelCard
from medassist.inference.registry import ModelRegistry
from medassist.inference.service import InferenceService
from medassist.paths import bundled_models_dir
from medassist.settings import Settings


def cpu_services(threads: int = 2, audit: Path | None = None, folders: Sequence[Path] | None = None,
                 user_name: str = "") -> Services:
    """``folders`` default to the bundled models only (a test's user folder holds none); ``audit`` to a new temp file."""
    path = audit if audit is not None else Path(tempfile.mkdtemp(prefix="medassist-test-audit-")) / "audit.jsonl"
    settings = Settings(device="cpu", cpu_threads=threads, user_name=user_name)
    return build_services(settings, path, folders if folders is not None else [bundled_models_dir()])


def cpu_service(threads: int = 2, audit: Path | None = None, folders: Sequence[Path] | None = None) -> InferenceService:
    """The model service of :func:`cpu_services`, in this process."""
    service = cpu_services(threads, audit, folders).models()
    assert isinstance(service, InferenceService)
    return service


def bundled_cards() -> dict[str, ModelCard]:
    """The bundled models' cards, as the catalogue gives them to a report."""
    return ModelRegistry([bundled_models_dir()]).cards()
