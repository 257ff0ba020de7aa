"""The plan a physician would sign, on patients built in code: current drugs never re-offered, the ordering
rule, care setting and sepsis signs, age-appropriate text, interaction coverage, and decisions for the report."""

from __future__ import annotations

import json

import pytest

from medassist.domain.treatment import SEVERITY_ORDER
from medassist.domain.treatment_text import ORDERING_RULE, warning_line
from medassist.recommend.decisions import considered_options, decision_for
from medassist.recommend.engine import recommend
from medassist.recommend.knowledge import default_knowledge
from medassist.settings import Settings

from .builders import context, make_records

KB = default_knowledge()
PNEUMONIA_ON_THREE_DRUGS = {"birth_date": "1950-03-01", "sex": "male", "conditions": ("pneumonia", "hypertension", "hyperlipidaemia"),
                                "medications": ("amlodipine", "simvastatin", "citalopram"), "observations": {"egfr": 68.0, "potassium": 4.3}}
QT_ANTIBIOTICS = {"azithromycin", "levofloxacin", "moxifloxacin"}


def ingredients(option) -> set[str]:
    return {i["id"] for i in option.ingredients}


def check_plan_invariants(result, ctx) -> None:
    """What must hold for any patient (the hidden test patient included)."""
    taken = set(ctx.medications)
    taken_classes = {c for m in taken for c in KB.therapeutic_classes_of(m)}
    for option in result.options + result.excluded:
        assert not ingredients(option) & taken, f"{option.option_id} re-offers a current drug"
        assert not {c for i in ingredients(option) for c in KB.therapeutic_classes_of(i)} & taken_classes, \
            f"{option.option_id} re-offers a class the patient already takes"
    assert {i for t in result.current_therapy for i in t.ingredients} == taken
    for group in result.groups:
        majors = [result.option(o).ordering.major_warning for o in group.options]
        assert majors == sorted(majors), f"{group.label}: an option with a major warning sits above one without"
        for option_id in group.options:
            option = result.option(option_id)
            major = any(SEVERITY_ORDER[w.severity] >= SEVERITY_ORDER["major"] for w in option.warnings)
            assert option.ordering.major_warning == major
    ranks = [o.rank for o in result.options]
    assert ranks == list(range(1, len(ranks) + 1))
    assert result.ordering_rule == ORDERING_RULE and "not exhaustive" in result.interaction_table
    assert KB.safety.version in result.interaction_table


@pytest.mark.parametrize("setting", [None, "outpatient", "inpatient", "severe"])
@pytest.mark.parametrize("extra", [(), ("diabetes",)])
def test_pneumonia_on_amlodipine_simvastatin_citalopram(setting, extra):
    spec = dict(PNEUMONIA_ON_THREE_DRUGS, conditions=PNEUMONIA_ON_THREE_DRUGS["conditions"] + extra)
    ctx = context(make_records(**spec), setting=setting)
    result = recommend(ctx)
    check_plan_invariants(result, ctx)
    assert result.groups[0].condition_id == "cap_bacterial_or_unspecified" and result.groups[0].role == "this visit"
    assert result.options and not any(o.condition_id in ("hypertension", "hyperlipidaemia") for o in result.options), \
        "treated hypertension and lipids get no new drugs"
    if setting == "severe":
        assert all(o.condition_id == "cap_bacterial_or_unspecified" for o in result.options), "no chronic therapy started in ICU"
    for option in result.options + result.excluded:
        if "clarithromycin" in ingredients(option):
            assert option.excluded and any("simvastatin" in r for r in option.exclusion_reasons)
        if ingredients(option) & QT_ANTIBIOTICS:
            qt = [w for w in option.warnings if w.kind == "interaction" and "citalopram" in w.involves]
            assert qt and qt[0].severity == "major" and "QT" in qt[0].message and qt[0].source, option.option_id
    therapy = {t.ingredients[0]: t for t in result.current_therapy}
    assert therapy["amlodipine"].condition_ids == ["hypertension"] and therapy["simvastatin"].condition_ids == ["hyperlipidaemia"]
    assert any("simvastatin" in w.involves for w in therapy["amlodipine"].warnings), "current therapy shows its interaction"
    assert therapy["citalopram"].option_id in result.groups[-1].current_therapy and result.groups[-1].label == "Other current medications"


def test_clarithromycin_beside_amlodipine_alone_is_major_and_goes_below():
    ctx = context(make_records(birth_date="1948-01-01", conditions=("pneumonia",), medications=("amlodipine",)), setting="outpatient")
    result = recommend(ctx)
    clarithro = result.option("cap_op_clarithromycin")
    ccb = [w for w in clarithro.warnings if "amlodipine" in w.involves]
    assert ccb and ccb[0].severity == "major" and "acute kidney injury" in ccb[0].message and "Gandhi" in ccb[0].source
    assert clarithro.rank == len(result.options), "the only option with a major warning is last"
    assert not [w for w in result.option("cap_op_azithromycin").warnings if "amlodipine" in w.involves]


@pytest.mark.parametrize("medication", ["escitalopram", "atorvastatin", "metoprolol"])
def test_other_current_drugs_follow_the_same_rules(medication):
    ctx = context(make_records(conditions=("pneumonia", "diabetes", "heart_failure"), medications=(medication,),
                               observations={"egfr": 75.0, "potassium": 4.4}), setting="outpatient")
    result = recommend(ctx)
    check_plan_invariants(result, ctx)
    if medication == "escitalopram":
        levo = result.option("cap_opc_levofloxacin")
        assert levo.ordering.major_warning and any("escitalopram" in w.involves for w in levo.warnings)
    if medication == "metoprolol":
        hf = next(g for g in result.groups if g.condition_id == "heart_failure")
        assert "current_metoprolol" in hf.current_therapy
        assert not any(KB.classes_of(i["id"]) & {"beta_blockers"} for o in result.options for i in o.ingredients)


def test_icu_has_no_oral_outpatient_regimen_and_starts_no_chronic_therapy():
    ctx = context(make_records(birth_date="1955-01-01", conditions=("pneumonia", "hypertension", "diabetes", "heart_failure"),
                               medications=("metformin",), observations={"egfr": 70.0, "potassium": 4.1}), setting="severe")
    result = recommend(ctx)
    check_plan_invariants(result, ctx)
    assert result.options and {o.scenario for o in result.options} == {"Adult CAP, severe (ICU criteria), no MRSA/Pseudomonas risk factors"}
    assert not any("outpatient" in o.scenario.lower() or "by mouth" in o.dose for o in result.options)
    groups = {g.condition_id: g for g in result.groups}
    assert groups["hypertension"].plan.startswith("review after the acute episode") and not groups["hypertension"].options
    assert groups["heart_failure"].plan.startswith("review after the acute episode")
    assert groups["type2_diabetes"].plan.startswith("current therapy: review during the acute illness")
    assert not any(q.startswith("Community-acquired pneumonia: Care setting") for q in result.questions), "answered: not asked again"
    assert not any("blood pressure readings" in q for q in result.questions)


def test_setting_question_is_asked_until_answered():
    records = make_records(conditions=("pneumonia",))
    assert any("Outpatient is assumed" in q for q in recommend(context(records)).questions)
    for setting in ("outpatient", "inpatient", "severe"):
        assert not any("Care setting" in q for q in recommend(context(records, setting=setting)).questions)


@pytest.mark.parametrize("setting", [None, "outpatient", "inpatient", "severe"])
@pytest.mark.parametrize("birth_date", ["2022-06-01", "2016-01-01"])
def test_child_sees_paediatric_text_only(setting, birth_date):
    ctx = context(make_records(birth_date=birth_date, sex="male", conditions=("pneumonia",), weight_kg=18.0), setting=setting)
    result = recommend(ctx)
    text = json.dumps(result.to_dict(), default=str)
    for adult_word in ("PSI", "CURB-65", "ATS/IDSA", "Pseudomonas", "comorbidities"):
        assert adult_word not in text, adult_word
    assert result.options and all(s.startswith("PIDS/IDSA") for o in result.options for s in o.sources[:1])
    if setting is None:
        assert any("PIDS/IDSA 2011" in q for q in result.questions)


def septic_patient(**changes):
    spec = {"birth_date": "1946-01-01", "sex": "female", "conditions": ("pneumonia", "hypertension", "heart_failure"),
                "medications": ("norepinephrine",), "observations": {"egfr": 48.0, "potassium": 4.0}}
    spec.update(changes)
    return make_records(**spec)


@pytest.mark.parametrize("setting", [None, "outpatient", "inpatient"])
def test_septic_shock_on_norepinephrine_gets_an_icu_plan_and_a_beyond_the_options_alert(setting):
    ctx = context(septic_patient(), setting=setting)
    result = recommend(ctx)
    check_plan_invariants(result, ctx)
    assert result.setting == "severe" and "sepsis signs" in result.setting_note
    assert result.alerts and "beyond the options shown" in result.alerts[0] and "norepinephrine" in result.alerts[0]
    assert "Sepsis-3" in result.alerts[0]
    assert not any("outpatient" in o.scenario.lower() for o in result.options)
    assert all(o.condition_id == "cap_bacterial_or_unspecified" for o in result.options), "no beta-blocker, no antihypertensive"


@pytest.mark.parametrize("changes, sign", [
    ({"medications": (), "conditions": ("pneumonia", "septic_shock")}, "Septic shock (disorder)"),
    ({"medications": (), "conditions": ("pneumonia", "sepsis")}, "Sepsis (disorder)"),
    ({"medications": (), "observations": {"lactate": 4.4}}, "lactate 4.4 mmol/L"),
])
def test_sepsis_is_detected_from_codes_and_lactate(changes, sign):
    result = recommend(context(septic_patient(**changes), setting="outpatient"))
    assert result.setting == "severe" and sign in result.alerts[0]


def test_old_or_modest_lactate_alone_is_not_shock():
    records = make_records(conditions=("pneumonia",), observations={"lactate": 2.5})
    assert not recommend(context(records)).alerts
    old = septic_patient(medications=())
    old.observations.loc[len(old.observations)] = old.observations.iloc[0]
    old.observations.loc[len(old.observations) - 1, ["code", "value", "unit", "date"]] = ["2524-7", 6.0, "mmol/L", "2019-01-01"]
    assert not recommend(context(old)).alerts, "a lactate from years before the latest observations is not today's"


def test_every_offerable_ingredient_is_covered_by_a_rule_or_was_reviewed():
    unchecked = [i for i in sorted(KB.offerable_ingredients())
                 if not KB.has_pair_rule(i) and i not in KB.safety.reviewed_without_pair_rule]
    assert not unchecked
    assert all(rule.source.section and rule.source.guideline for rule in KB.safety.interactions)


@pytest.mark.parametrize("a, b, severity", [
    ("simvastatin", "clarithromycin", "contraindicated"), ("lovastatin", "clarithromycin", "contraindicated"),
    ("simvastatin", "erythromycin", "contraindicated"), ("atorvastatin", "clarithromycin", "moderate"),
    ("amlodipine", "clarithromycin", "major"), ("diltiazem", "erythromycin", "major"), ("amlodipine", "fluconazole", "moderate"),
    ("citalopram", "azithromycin", "major"), ("escitalopram", "levofloxacin", "major"), ("ondansetron", "moxifloxacin", "major"),
    ("haloperidol", "azithromycin", "major"), ("amiodarone", "levofloxacin", "major"), ("methadone", "clarithromycin", "major"),
    ("sertraline", "linezolid", "major"), ("fluoxetine", "tramadol", "moderate"),
    ("lisinopril", "trimethoprim", "major"), ("spironolactone", "trimethoprim", "major"), ("losartan", "potassium_chloride", "moderate"),
    ("apixaban", "ibuprofen", "major"), ("apixaban", "clopidogrel", "major"), ("enoxaparin", "naproxen", "major"),
    ("warfarin", "fluconazole", "major"), ("digoxin", "clarithromycin", "major"), ("eplerenone", "clarithromycin", "contraindicated"),
])
def test_high_risk_class_pairs(a, b, severity):
    found = {r.severity for r in KB.interactions_between(a, b)}
    assert severity in found, (a, b, found)


def test_learned_ranker_that_knows_nothing_is_said_once():
    ctx = context(make_records(conditions=("pneumonia",)), setting="outpatient")
    result = recommend(ctx, scorer=lambda _ctx, _ingredients: {})
    assert "adds nothing" in result.ranker_note
    assert not any("Similar patients" in r or "not seen" in r for o in result.options for r in o.rationale)


def test_decisions_have_one_shape_and_read_back_as_lines():
    ctx = context(make_records(**PNEUMONIA_ON_THREE_DRUGS), setting="outpatient")
    result = recommend(ctx)
    option = next(o for o in result.options if o.ordering.major_warning)
    decision = decision_for(option, result, "accepted", "ECG first")
    assert all(isinstance(w, dict) and set(w) == {"severity", "kind", "message", "source", "not_now"} for w in decision.detail["warnings"])
    assert warning_line(decision.detail["warnings"][0]).startswith("MAJOR: ")
    assert warning_line("major: a warning stored by an older version") == "major: a warning stored by an older version"
    pending = considered_options(result)
    assert {d.option_id for d in pending} == ({o.option_id for o in result.options + result.excluded}
                                               | {t.option_id for t in result.current_therapy})
    assert {d.status for d in pending} == {"pending"}
    with pytest.raises(ValueError):
        decision_for(option, result, "maybe")


def test_report_states_the_plan_and_deidentification_shifts_the_lactate_date():
    from medassist.reporting.content import collect_report
    from medassist.reporting.deidentify import deidentify
    from medassist.session import Session

    session = Session()
    session.set_records(septic_patient(observations={"egfr": 48.0, "lactate": 4.6}))
    result = recommend(context(session.records, setting="outpatient"))
    session.set_considered_options(considered_options(result), "p1")
    content = collect_report(session, "p1", cards={}, settings=Settings())
    assert content.treatment_notes[0].startswith("Care setting: severe / ICU, because of sepsis signs")
    assert any("beyond the options shown" in n and "2026-10-01" in n for n in content.treatment_notes)
    assert [t.group for t in content.treatments][0].startswith("Community-acquired pneumonia - this visit: ")
    anonymous = deidentify(content)
    assert not any("2026-10-01" in n for n in anonymous.treatment_notes)
    assert any("beyond the options shown" in n for n in anonymous.treatment_notes)
