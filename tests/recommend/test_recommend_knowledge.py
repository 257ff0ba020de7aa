"""The knowledge tables validate against their schema and a bad table is refused with a clear reason."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from medassist.errors import InputError
from medassist.recommend.knowledge import json_schema, knowledge_dir, load_knowledge


def test_bundled_tables_validate_and_cross_reference():
    kb = load_knowledge()
    rxcuis = [i.rxcui for i in kb.ingredients.ingredients]
    assert len(rxcuis) == len(set(rxcuis)), "each RxNorm ingredient code appears once"
    assert {"cap_bacterial_or_unspecified", "cap_viral", "hypertension", "type2_diabetes", "heart_failure",
            "chronic_kidney_disease", "copd", "asthma", "hyperlipidaemia"} <= {c.id for c in kb.treatments.conditions}
    guideline_years = {r.source.guideline.split(" (")[0]: r.source.year
                       for c in kb.treatments.conditions for s in c.scenarios for r in s.regimens}
    assert guideline_years["ATS/IDSA community-acquired pneumonia in adults"] == 2019
    assert guideline_years["PIDS/IDSA pneumonia in infants and children older than 3 months"] == 2011
    assert kb.ingredient("amoxicillin").rxcui == "723" and kb.ingredient("levofloxacin").rxcui == "82122"


def test_schema_file_matches_the_pydantic_models():
    on_disk = json.loads((knowledge_dir() / "schema.json").read_text(encoding="utf-8"))
    assert on_disk == json.loads(json.dumps(json_schema())), "run `python -m medassist.recommend.knowledge` to regenerate"


def _copy_tables(tmp_path):
    folder = tmp_path / "knowledge"
    shutil.copytree(knowledge_dir(), folder)
    return folder


def test_unknown_ingredient_reference_is_refused(tmp_path):
    folder = _copy_tables(tmp_path)
    data = yaml.safe_load((folder / "safety.yaml").read_text())
    data["interactions"][0]["b"] = "class:not_a_class"
    (folder / "safety.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(InputError, match="unknown class 'not_a_class'"):
        load_knowledge(folder)


def test_guideline_source_without_year_is_refused(tmp_path):
    folder = _copy_tables(tmp_path)
    data = yaml.safe_load((folder / "treatments.yaml").read_text())
    del data["conditions"][0]["scenarios"][0]["regimens"][0]["source"]["year"]
    (folder / "treatments.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(InputError, match="treatments.yaml") as caught:
        load_knowledge(folder)
    assert "needs a year" in caught.value.reason


def test_unreadable_table_names_the_file(tmp_path):
    folder = _copy_tables(tmp_path)
    (folder / "ingredients.yaml").write_text("ingredients: [unclosed")
    with pytest.raises(InputError) as caught:
        load_knowledge(folder)
    assert caught.value.source.endswith("ingredients.yaml")
