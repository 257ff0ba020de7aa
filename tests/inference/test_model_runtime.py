"""Model folders: card validation, SHA-256 verification, safe loading, caching and device fallback."""

from __future__ import annotations

import json
import pickle
import threading
from pathlib import Path

import pytest
import torch

from medassist.errors import ModelError
from medassist.hashing import sha256_file
from medassist.inference.registry import ModelRegistry
from medassist.inference.runtime import ModelRuntime


class Doubler(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2


def card_for(name: str, weights_path: Path, fmt: str = "torchscript", **changes) -> dict:
    card = {
        "schema_version": "2",
        "name": name,
        "version": "0.0.1",
        "task": "text-classification",  # a task whose card needs no typed section
        "description": "test model",
        "weights": {"file": weights_path.name, "format": fmt, "sha256": sha256_file(weights_path)},
        "inputs": [{"name": "x", "type": "tensor", "shape": [1]}],
        "outputs": [{"name": "y", "type": "tensor", "shape": [1]}],
        "labels": ["y"],
        "intended_use": "tests only",
        "limitations": ["not a medical model"],
        "training_data": {"none": True},
        "metrics": {},
    }
    card.update(changes)
    return card


def make_model(root: Path, name: str = "doubler", **changes) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    weights = folder / "model.pt"
    torch.jit.script(Doubler()).save(str(weights))
    (folder / "metadata.json").write_text(json.dumps(card_for(name, weights, **changes)))
    return folder


def test_valid_model_is_listed_loaded_and_runs(tmp_path):
    make_model(tmp_path)
    registry = ModelRegistry([tmp_path])
    [entry] = registry.scan()
    assert entry.available and entry.card.name == "doubler"
    loaded = ModelRuntime(registry, "cpu", None).load("doubler")
    assert torch.equal(loaded.module(torch.tensor([3.0])), torch.tensor([6.0]))
    assert loaded.device.type == "cpu" and loaded.device_description.startswith("CPU, ")


def test_tampered_weights_are_refused(tmp_path):
    folder = make_model(tmp_path)
    with open(folder / "model.pt", "ab") as handle:
        handle.write(b"tampered")
    registry = ModelRegistry([tmp_path])
    [entry] = registry.scan()
    assert not entry.available and "SHA-256 mismatch" in entry.error
    with pytest.raises(ModelError, match="refused"):
        ModelRuntime(registry, "cpu", None).load("doubler")


def test_weights_changed_after_scan_are_refused_at_load(tmp_path):
    folder = make_model(tmp_path)
    registry = ModelRegistry([tmp_path])
    registry.scan()
    torch.jit.script(torch.nn.Identity()).save(str(folder / "model.pt"))
    with pytest.raises(ModelError, match="SHA-256 mismatch"):
        ModelRuntime(registry, "cpu", None).load("doubler")


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"limitations": []}, "limitation"),
        ({"weights": {"file": "../x.pt", "format": "torchscript", "sha256": "0" * 64}}, "relative path"),
        ({"name": "Bad Name"}, "name"),
        ({"weights": {"file": "model.pt", "format": "pickle", "sha256": "0" * 64}}, "weights.format"),
    ],
)
def test_invalid_cards_are_refused_with_reason(tmp_path, changes, reason):
    make_model(tmp_path, **changes)
    [entry] = ModelRegistry([tmp_path]).scan()
    assert not entry.available
    assert reason in entry.error


def test_non_json_card_is_refused(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "metadata.json").write_text("{not json")
    [entry] = ModelRegistry([tmp_path]).scan()
    assert not entry.available and "not readable JSON" in entry.error


class Exploit:
    def __reduce__(self):
        return (print, ("pwned",))


def test_arbitrary_pickles_are_never_executed(tmp_path, capsys):
    folder = tmp_path / "evil"
    folder.mkdir()
    weights = folder / "model.pt"
    torch.save({"weight": Exploit()}, weights, pickle_protocol=pickle.DEFAULT_PROTOCOL)
    card = card_for("evil", weights, fmt="state_dict", architecture={"name": "nonexistent", "kwargs": {}})
    (folder / "metadata.json").write_text(json.dumps(card))
    with pytest.raises(ModelError):
        ModelRuntime(ModelRegistry([tmp_path]), "cpu", None).load("evil")
    assert "pwned" not in capsys.readouterr().out


def test_user_folder_cannot_shadow_a_bundled_model(tmp_path):
    make_model(tmp_path / "bundled")
    make_model(tmp_path / "user")
    entries = ModelRegistry([tmp_path / "bundled", tmp_path / "user"]).scan()
    assert [e.available for e in entries] == [True, False]
    assert entries[0].bundled and "already installed" in entries[1].error


def test_concurrent_loads_load_once(tmp_path):
    make_model(tmp_path)
    runtime = ModelRuntime(ModelRegistry([tmp_path]), "cpu", None)
    results = []
    threads = [threading.Thread(target=lambda: results.append(runtime.load("doubler"))) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(r) for r in results}) == 1
    assert runtime.load_count["doubler"] == 1


def test_unavailable_cuda_falls_back_to_cpu(tmp_path):
    make_model(tmp_path)
    runtime = ModelRuntime(ModelRegistry([tmp_path]), "cuda", None)
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert runtime.device.type == "cpu"
    assert runtime.load("doubler").device.type == "cpu"


def test_the_catalogue_hashes_each_weights_file_once_per_change(tmp_path, monkeypatch):
    import medassist.inference.registry as registry_module

    doubler = make_model(tmp_path)
    make_model(tmp_path, "tripler")
    hashed: list[str] = []
    monkeypatch.setattr(registry_module, "sha256_file", lambda path: hashed.append(path.parent.name) or sha256_file(path))
    registry = ModelRegistry([tmp_path])
    registry.scan()
    assert [e.name for e in registry.scan() if e.available] == ["doubler", "tripler"]
    registry.available()
    assert sorted(hashed) == ["doubler", "tripler"]

    with open(doubler / "model.pt", "ab") as handle:  # a changed file is hashed again, and refused
        handle.write(b"tampered")
    entries = {e.name: e for e in registry.scan()}
    assert sorted(hashed) == ["doubler", "doubler", "tripler"]
    assert not entries["doubler"].available and "SHA-256 mismatch" in entries["doubler"].error
    assert entries["tripler"].available
