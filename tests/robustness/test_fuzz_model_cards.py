"""Fuzzing the model-card reader: the only outcomes are a valid card or a clean ModelError."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medassist.errors import ModelError
from medassist.inference.card import read_card
from medassist.inference.registry import ModelRegistry
from tests.core.test_model_runtime import make_model
from tests.robustness.mutators import mutations

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
