"""The one way a training script writes its model bundle: weights, card and their SHA-256.

The script gives the card (a dict in the current card format, as ``metadata.json`` holds it: a
script never relies on the reader's migration of older cards) and the bytes of every file the
bundle holds (weights, input gate, plots). The writer sets each named file's SHA-256 from those
bytes, records the versions of the frameworks the model was trained with
(``training_data.frameworks``, typed by :class:`~medassist.inference.card.Frameworks`), and checks the whole
bundle the way the app admits a model folder (:func:`medassist.inference.card.read_card`, which
also rejects misspelled metric keys, then the weights' hash) in a staging folder beside the
bundle. Only then is each file written atomically into the bundle folder, the card last: a crash
before the card leaves the previous card, whose hash the new weights fail, so the model is
refused until the script runs again, never run with a card that does not describe its weights.
"""

from __future__ import annotations

import copy
import io
import json
import platform
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from medassist import __version__
from medassist.atomic import atomic_write_bytes, atomic_write_text
from medassist.hashing import sha256_bytes
from medassist.errors import ModelError
from medassist.inference.card import CARD_FILE, SCHEMA_VERSION, ModelCard, read_card
from medassist.inference.registry import verify_weights

# The libraries a bundle's numbers depend on (those installed are recorded).
FRAMEWORKS = ("torch", "numpy", "pandas", "scikit-learn", "pillow", "pydicom", "transformers")


def framework_versions() -> dict[str, str]:
    """Python, MedAssist and each installed framework's version, as the card records them."""
    versions = {"python": platform.python_version(), "medassist": __version__}
    for package in FRAMEWORKS:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def torch_bytes(value: Any) -> bytes:
    """What ``torch.save`` writes for ``value`` (a state_dict or a dict of tensors)."""
    import torch

    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def _set_hashes(value: Any, files: dict[str, bytes]) -> None:
    """Every part of the card that names one of ``files`` and carries a ``sha256`` gets that file's hash."""
    if isinstance(value, dict):
        if value.get("file") in files and "sha256" in value:
            value["sha256"] = sha256_bytes(files[value["file"]])
        for item in value.values():
            _set_hashes(item, files)
    elif isinstance(value, list):
        for item in value:
            _set_hashes(item, files)


def write_bundle(folder: Path, card: dict[str, Any], files: dict[str, bytes]) -> ModelCard:
    """Validate, then write ``files`` and ``card`` into ``folder`` (each file atomically, the card last).

    The card's ``weights`` (and any other part naming a file, such as an input gate) must carry a
    ``sha256`` key: its value is set here. Raises :class:`~medassist.errors.ModelError` naming the
    problem when the bundle would not be admitted, and then nothing in ``folder`` is changed.
    """
    if card.get("schema_version") != SCHEMA_VERSION:
        raise ModelError(f"a training script writes card format {SCHEMA_VERSION}, not {card.get('schema_version')!r}",
                         folder)
    card = copy.deepcopy(card)
    _set_hashes(card, files)
    card.setdefault("training_data", {})["frameworks"] = framework_versions()
    text = json.dumps(card, indent=1, ensure_ascii=False) + "\n"
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-staging-", dir=folder.parent))
    try:
        for name, data in files.items():
            atomic_write_bytes(staging / name, data)
        atomic_write_text(staging / CARD_FILE, text)
        checked = read_card(staging)
        verify_weights(staging, checked)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    folder.mkdir(exist_ok=True)
    for name, data in files.items():
        atomic_write_bytes(folder / name, data)
    atomic_write_text(folder / CARD_FILE, text)
    return checked
