"""Every training script writes its bundle through one writer: the card is validated as the app
admits a model (misspelled metric keys refused), framework versions recorded, the SHA-256 set from
the bytes written, and nothing in the bundle folder changes when the card is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from medassist import atomic
from medassist.atomic import WriteError
from medassist.errors import ModelError
from medassist.hashing import sha256_file
from medassist.inference.card import read_card
from medassist.inference.registry import ModelRegistry
from medassist.models.tabular import TabularRiskNet
from medassist.training.bundle import torch_bytes, write_bundle

REPO = Path(__file__).resolve().parents[2]


def _card() -> dict:
    """The bundled heart-disease card, as a training script would build it (hashes left to the writer)."""
    card = json.loads((REPO / "models" / "heart-disease" / "metadata.json").read_text(encoding="utf-8"))
    card["weights"]["sha256"] = None
    return card


def _weights(card: dict) -> bytes:
    return torch_bytes(TabularRiskNet(**card["architecture"]["kwargs"]).state_dict())


def test_a_bundle_is_validated_hashed_and_admitted(tmp_path):
    card = _card()
    folder = tmp_path / "models" / "heart-disease"
    written = write_bundle(folder, card, {"model.pt": _weights(card)})
    assert written.weights.sha256 == sha256_file(folder / "model.pt")
    stored = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    frameworks = stored["training_data"]["frameworks"]
    assert frameworks["torch"].split("+")[0] == torch.__version__.split("+")[0]
    assert {"python", "numpy", "medassist"} <= set(frameworks)
    assert read_card(folder).metrics["test"]["auroc_ci95"] == card["metrics"]["test"]["auroc_ci95"]
    entry = ModelRegistry([tmp_path / "models"]).get("heart-disease")
    assert entry.available and entry.card is not None and entry.card.weights.sha256 == written.weights.sha256
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models"]  # the staging folder is gone


@pytest.mark.parametrize(("key", "says"), [
    ("auroc_95ci", "a 95% interval is spelled '<figure>_ci95'"),
    ("auc", "the area under the ROC curve is spelled 'auroc'"),
])
def test_a_card_with_a_misspelled_metric_key_is_refused_and_nothing_is_written(tmp_path, key, says):
    """A card whose figures the app would not find (no interval beside the AUROC in the window)."""
    folder = tmp_path / "heart-disease"
    old = write_bundle(folder, _card(), {"model.pt": _weights(_card())})
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    card = _card()
    card["metrics"]["test"][key] = card["metrics"]["test"].pop("auroc_ci95")
    with pytest.raises(ModelError, match=says):
        write_bundle(folder, card, {"model.pt": _weights(card)})
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert read_card(folder).weights.sha256 == old.weights.sha256
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heart-disease"]


def test_a_crash_while_the_card_is_written_leaves_a_bundle_that_is_refused_never_run(tmp_path, monkeypatch):
    """Weights are written before the card: a crash in between leaves the previous card, whose
    SHA-256 the new weights fail, so the catalogue refuses the model instead of running it."""
    root = tmp_path / "models"
    folder = root / "heart-disease"
    torch.manual_seed(0)
    write_bundle(folder, _card(), {"model.pt": _weights(_card())})
    torch.manual_seed(1)
    retrained = _weights(_card())
    real_replace = atomic.os.replace

    def die_on_the_card(source: str, target: Path) -> None:
        if Path(target) == folder / "metadata.json":
            raise OSError(5, "Input/output error")
        real_replace(source, target)

    monkeypatch.setattr(atomic.os, "replace", die_on_the_card)
    with pytest.raises(WriteError):
        write_bundle(folder, _card(), {"model.pt": retrained})
    monkeypatch.setattr(atomic.os, "replace", real_replace)
    assert (folder / "model.pt").read_bytes() == retrained
    entry = next(e for e in ModelRegistry([root]).scan() if e.name == "heart-disease")
    assert not entry.available and "SHA-256 mismatch" in (entry.error or "")
    assert not [p for p in folder.iterdir() if p.name.endswith(atomic.TEMP_SUFFIX)]
