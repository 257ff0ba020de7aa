"""Fuzzing the model-card reader: the only outcomes are a valid card or a clean ModelError."""

from __future__ import annotations

import json

import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medassist.errors import ModelError
from medassist.inference.card import read_card
from medassist.inference.registry import ModelRegistry
from tests.inference.test_model_runtime import make_model
from tests.mutators import mutations

json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=json_values)
def test_arbitrary_json_cards_give_a_card_or_a_clean_error(tmp_path, doc):
    (tmp_path / "metadata.json").write_text(json.dumps(doc))
    try:
        read_card(tmp_path)
    except ModelError as exc:
        assert str(tmp_path) in str(exc)


def test_mutated_real_cards_are_refused_cleanly(tmp_path):
    folder = make_model(tmp_path / "models")
    original = (folder / "metadata.json").read_bytes()
    tried = refused = 0
    for mutant in mutations(original, seed=11, n=300):
        (folder / "metadata.json").write_bytes(mutant)
        [entry] = ModelRegistry([tmp_path / "models"]).scan()
        tried += 1
        refused += not entry.available
        assert entry.available or (entry.error and "\n" not in entry.error)
    assert tried == 300 and refused > 200


def card_naming(tmp_path, where: str, name: str):
    """A valid model whose card names ``name`` as its weights file or as its input gate's file."""
    import hashlib

    folder = make_model(tmp_path / "models")
    card = json.loads((folder / "metadata.json").read_text())
    if where == "weights":
        card["weights"]["file"] = name
    else:
        card.setdefault("extra", {})["gate"] = {"file": name, "sha256": hashlib.sha256(b"").hexdigest(), "threshold": 1.0}
    (folder / "metadata.json").write_text(json.dumps(card))
    return folder


@pytest.mark.parametrize("where", ["weights", "gate"])
@pytest.mark.parametrize("name", ["../../../../etc/passwd", "/etc/passwd", "sub/../../outside.pt"])
def test_a_card_cannot_name_a_file_outside_its_folder(tmp_path, where, name):
    folder = card_naming(tmp_path, where, name)
    (tmp_path / "outside.pt").write_bytes(b"")
    with pytest.raises(ModelError, match="outside its model folder|relative path inside") as caught:
        read_card(folder)
    assert str(folder) in str(caught.value)
    [entry] = ModelRegistry([tmp_path / "models"]).scan()
    assert not entry.available and entry.error


@pytest.mark.parametrize("where", ["weights", "gate"])
def test_a_symlink_in_the_folder_pointing_outside_is_refused(tmp_path, where):
    """The name looks local; the file it resolves to is not."""
    folder = card_naming(tmp_path, where, "linked.pt")
    (tmp_path / "secret.pt").write_bytes(b"not a model")
    (folder / "linked.pt").symlink_to(tmp_path / "secret.pt")
    with pytest.raises(ModelError, match="outside its model folder"):
        read_card(folder)


def test_a_file_name_that_is_not_text_is_refused(tmp_path):
    folder = card_naming(tmp_path, "gate", "gate.pt")
    card = json.loads((folder / "metadata.json").read_text())
    card["extra"]["gate"]["file"] = {"path": "gate.pt"}
    (folder / "metadata.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="not a file name"):
        read_card(folder)


def test_files_inside_the_folder_are_accepted(tmp_path):
    folder = card_naming(tmp_path, "gate", "gate.pt")
    (folder / "gate.pt").write_bytes(b"")
    assert read_card(folder).extra["gate"]["file"] == "gate.pt"
