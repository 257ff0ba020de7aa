"""The recommendation job, its audit record, the learned ranker through the runtime, and the CLI."""

from __future__ import annotations

import json

import pytest

from medassist.audit import AuditLog
from medassist.cli.main import main
from medassist.jobs import run_job
from medassist.recommend.service import recommendation_job
from tests.services import cpu_service

from .builders import PENICILLIN_ANAPHYLAXIS, make_records


@pytest.fixture(scope="module")
def service():
    return cpu_service(threads=1)


def hypertensive():
    return make_records(birth_date="1960-01-01", sex="male", conditions=("hypertension",),
                        observations={"egfr": 80.0, "potassium": 4.2})


def test_learned_ranker_is_loaded_verified_and_only_reorders(service, tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl", "")
    records = hypertensive()
    with_model = run_job(recommendation_job(records, "p1", service=service, audit=audit))
    rules_only = run_job(recommendation_job(records, "p1", service=None, audit=audit))
    card = service.runtime.load("med-recommender").card
    assert with_model.model == {"name": "med-recommender", "version": card.version, "weights_sha256": card.weights.sha256}
    assert {o.option_id for o in with_model.options} == {o.option_id for o in rules_only.options}
    hctz, chlorthalidone = with_model.option("htn_hydrochlorothiazide"), with_model.option("htn_chlorthalidone")
    assert hctz.ordering.similarity is not None and hctz.ordering.similarity > 0.2, "Synthea treats hypertension with HCTZ"
    assert chlorthalidone.ordering.similarity is None  # never prescribed in the training records
    assert hctz.line == chlorthalidone.line == "first_line"
    assert hctz.rank < chlorthalidone.rank, "a tie of line and safety is broken by the recommender"
    assert rules_only.option("htn_chlorthalidone").rank < rules_only.option("htn_hydrochlorothiazide").rank
    assert rules_only.ranker_note.startswith("Learned ranking switched off")
    assert "broke ties" in with_model.ranker_note
    events = [e for e in audit.read() if e["event"] == "recommendation"]
    assert len(events) == 2 and events[0]["model"]["weights_sha256"] == card.weights.sha256
    assert events[0]["options"][0]["rank"] == 1


def test_rules_still_answer_when_the_model_is_unavailable(tmp_path):
    empty = cpu_service(threads=1, audit=tmp_path / "a.jsonl", folders=[tmp_path / "no-models"])
    result = run_job(recommendation_job(hypertensive(), "p1", service=empty, audit=empty.audit))
    assert result.options and result.model is None
    assert result.ranker_note.startswith("Learned ranking unavailable") and "med-recommender" in result.ranker_note


@pytest.fixture()
def fake_importer(monkeypatch):
    records = make_records(conditions=("pneumonia", "diabetes"), allergies=(PENICILLIN_ANAPHYLAXIS,),
                           medications=("warfarin",), observations={"egfr": 25.0})
    import medassist.records.importer as importer

    monkeypatch.setattr(importer, "import_records", lambda path, mapping=None, remembered=None: records)
    return records


def test_cli_json_lists_ranked_options_exclusions_warnings(fake_importer, capsys, tmp_path):
    code = main(["recommend", "--records", str(tmp_path), "--patient", "p1", "--diagnosis", "pneumonia",
                 "--setting", "inpatient", "--no-model", "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert [c["id"] for c in data["conditions"]] == ["cap_bacterial_or_unspecified"]
    ranks = [o["rank"] for o in data["options"]]
    assert ranks == list(range(1, len(ranks) + 1))
    first = data["options"][0]
    assert first["ordering"]["line"] and first["rationale"] and first["sources"]
    assert "score" not in first, "no unexplained score: the ordering rule's parts instead"
    assert data["ordering_rule"] and "not exhaustive" in data["interaction_table"]
    assert data["groups"][0]["condition_id"] == "cap_bacterial_or_unspecified" and data["groups"][0]["options"] == [o["option_id"] for o in data["options"]]
    assert [t["ingredients"] for t in data["current_therapy"]] == [["warfarin"]]
    assert all(o["exclusion_reasons"] for o in data["excluded"])
    levo = next(o for o in data["options"] if o["option_id"] == "cap_ip_levofloxacin")
    assert {w["severity"] for w in levo["warnings"]} >= {"major", "moderate"}
    assert data["notice"].startswith("Decision support only")


def test_cli_text_output_and_unknown_patient(fake_importer, capsys, tmp_path):
    assert main(["recommend", "--records", str(tmp_path), "--patient", "p1", "--no-model"]) == 0
    out = capsys.readouterr().out
    assert "Community-acquired pneumonia - this visit: new options" in out and "(excluded, not offered)" in out
    assert "Questions" in out and "Ordering rule:" in out and "not exhaustive" in out
    assert main(["recommend", "--records", str(tmp_path), "--patient", "nobody", "--no-model"]) == 2
    assert "no patient with ID nobody" in capsys.readouterr().err


def test_cli_json_is_the_tabs_result_object(fake_importer, capsys, tmp_path):
    """One core result, serialised for the CLI and shown by the tab: same groups, therapy, ordering and warnings."""
    assert main(["recommend", "--records", str(tmp_path), "--patient", "p1", "--setting", "severe", "--no-model", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    tab_result = run_job(recommendation_job(fake_importer, "p1", setting="severe", service=None,
                                            audit=AuditLog(tmp_path / "audit.jsonl", "")))
    same = json.loads(json.dumps(tab_result.to_dict(), default=str))
    for data in (cli, same):
        data.pop("generated_at")
    assert cli == same
    assert cli["groups"] and cli["current_therapy"] and all("ordering" in o for o in cli["options"])
