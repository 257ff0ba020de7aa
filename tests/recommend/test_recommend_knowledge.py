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
    rxcuis = [i.rxcui for i in kb.ingredients.ingredients if i.rxcui]
    assert len(rxcuis) == len(set(rxcuis)), "each RxNorm ingredient code appears once"
    assert {"cap_bacterial_or_unspecified", "cap_viral", "hypertension", "type2_diabetes", "heart_failure",
            "chronic_kidney_disease", "copd", "asthma", "hyperlipidaemia", "atrial_fibrillation"} <= {c.id for c in kb.treatments.conditions}
    guideline_years = {r.source.guideline.split(" (")[0]: r.source.year
                       for c in kb.treatments.conditions for s in c.scenarios for r in s.regimens}
    assert guideline_years["ATS/IDSA community-acquired pneumonia in adults"] == 2019
    assert guideline_years["PIDS/IDSA pneumonia in infants and children older than 3 months"] == 2011
    assert kb.ingredient("amoxicillin").rxcui == "723" and kb.ingredient("levofloxacin").rxcui == "82122"


def _every_source(kb):
    """Every citation in the tables, with where it sits."""
    for condition in kb.treatments.conditions:
        for factor in condition.risk_factors:
            yield f"{condition.id} risk factor", factor.source
        for scenario in condition.scenarios:
            for regimen in scenario.regimens:
                yield regimen.id, regimen.source
    safety = kb.safety
    for group in (safety.allergy_rules, safety.interactions, safety.three_way_interactions, safety.renal, safety.renal_reviewed,
                  safety.dose_rules, safety.prescribing_rules, safety.older_adult_rules, safety.pregnancy, safety.paediatric):
        for rule in group:
            yield type(rule).__name__, rule.source
    for source in kb.treatments.critical_illness.sources:
        yield "critical illness", source


def test_every_proposable_drug_has_kidney_limits_and_interaction_classes_and_every_rule_a_citation():
    kb = load_knowledge()
    offerable = sorted(kb.offerable_ingredients())
    assert not [i for i in offerable if not kb.has_renal_limits(i)], "a drug the tables propose has no kidney statement"
    assert not [i for i in offerable if not kb.has_pair_rule(i) and i not in kb.safety.reviewed_without_pair_rule]
    assert not [i for i in offerable if not kb.ingredient(i).classes], "every proposable drug belongs to a class"
    for where, source in _every_source(kb):
        assert source.guideline.strip() and source.section.strip(), where
        label = "prescribing information" in source.guideline.lower() or "product characteristics" in source.guideline.lower()
        assert source.year or label, f"{where}: a guideline citation needs its year"


def test_guideline_directed_options_state_their_evidence_grade():
    kb = load_knowledge()
    for condition in kb.treatments.conditions:
        if condition.id not in ("heart_failure", "chronic_kidney_disease", "atrial_fibrillation"):
            continue
        for scenario in condition.scenarios:
            for regimen in scenario.regimens:
                assert regimen.grade, f"{regimen.id} needs the guideline's class/level"


def test_older_adult_criteria_are_at_least_fifteen_and_cited_by_list_and_item():
    kb = load_knowledge()
    rules = kb.safety.older_adult_rules
    assert len(rules) >= 15
    for rule in rules:
        # Beers 2023 and STOPP/START v3 (2023); a STOPP criterion whose item number was only checked in version 2
        # (2015) cites that version with its number (E4: NSAIDs with eGFR below 50).
        assert rule.source.guideline.startswith(("AGS Beers Criteria", "STOPP/START criteria version 3",
                                                 "STOPP/START criteria version 2")), rule.id
        assert rule.source.year == (2015 if "version 2" in rule.source.guideline else 2023)
        assert rule.source.section.startswith(("Table ", "STOPP")), f"{rule.id}: cite the table or the STOPP criterion"


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
