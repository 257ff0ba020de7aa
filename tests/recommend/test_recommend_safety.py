"""Safety layer on patients built in code: allergies, interactions, kidney function, children, pregnancy."""

from __future__ import annotations

import pytest

from medassist.clinical.renal import ckd_epi_2021
from medassist.recommend.engine import recommend
from medassist.recommend.knowledge import default_knowledge

from .builders import PENICILLIN_ANAPHYLAXIS, PENICILLIN_RASH, context, make_records

KB = default_knowledge()


def classes(option) -> set[str]:
    return {c for ing in option.ingredients for c in KB.classes_of(ing["id"])}


def cap_options(result):
    return [o for o in result.options if o.condition_id.startswith("cap")]


@pytest.mark.parametrize("setting", ["outpatient", "inpatient", "severe"])
@pytest.mark.parametrize("comorbid", [(), ("diabetes",)])
def test_penicillin_allergic_adult_is_never_offered_a_penicillin(setting, comorbid):
    records = make_records(conditions=("pneumonia", *comorbid), allergies=(PENICILLIN_ANAPHYLAXIS,))
    result = recommend(context(records, setting=setting))
    assert cap_options(result), "there must still be pneumonia options"
    assert not any("penicillins" in classes(o) for o in result.options)
    for option in result.excluded:
        if "penicillins" in classes(option):
            assert any("Penicillin allergy" in r for r in option.exclusion_reasons)
    for option in result.options:
        if "cephalosporins" in classes(option):
            assert any(w.kind == "allergy" and "cross-reactivity" in w.message for w in option.warnings)


def test_penicillin_allergy_excludes_amoxicillin_and_cautions_cephalosporin_more_after_anaphylaxis():
    mild = recommend(context(make_records(conditions=("pneumonia", "diabetes"), allergies=(PENICILLIN_RASH,))))
    severe = recommend(context(make_records(conditions=("pneumonia", "diabetes"), allergies=(PENICILLIN_ANAPHYLAXIS,))))
    assert "cap_opc_amoxclav_azithro" in {o.option_id for o in mild.excluded}
    mild_ceph = mild.option("cap_opc_cefpodoxime_azithro")
    severe_ceph = severe.option("cap_opc_cefpodoxime_azithro")
    assert [w.severity for w in mild_ceph.warnings if w.kind == "allergy"] == ["minor"]
    assert [w.severity for w in severe_ceph.warnings if w.kind == "allergy"] == ["moderate"]


def test_patient_on_warfarin_gets_macrolide_fluoroquinolone_and_nsaid_warnings():
    records = make_records(conditions=("pneumonia", "diabetes"), medications=("warfarin", "ibuprofen"))
    result = recommend(context(records))
    for option_id, klass in (("cap_opc_levofloxacin", "fluoroquinolones"), ("cap_opc_cefpodoxime_azithro", "macrolides")):
        option = result.option(option_id)
        hits = [w for w in option.warnings if w.kind == "interaction" and "warfarin" in w.involves]
        assert hits and hits[0].severity == "major", option_id
        assert any(i in KB.members(f"class:{klass}") for w in hits for i in w.involves)
    nsaid = [w for w in result.warnings if {"warfarin", "ibuprofen"} <= set(w.involves)]
    assert nsaid and nsaid[0].severity == "major" and "bleeding" in nsaid[0].message
    assert KB.interactions_between("naproxen", "warfarin")[0].severity == "major"


def test_triple_whammy_is_flagged_for_the_third_drug():
    records = make_records(conditions=("hypertension",), medications=("lisinopril", "hydrochlorothiazide"))
    ctx = context(records)
    from medassist.recommend.engine import _interaction_warnings

    warnings = _interaction_warnings(KB, ctx, ["naproxen"])
    triple = [w for w in warnings if "Triple whammy" in w.message]
    assert len(triple) == 1 and triple[0].severity == "major"
    assert set(triple[0].involves) == {"naproxen", "lisinopril", "hydrochlorothiazide"}


def test_low_egfr_flags_metformin_and_adjusts_renally_cleared_antibiotics():
    records = make_records(conditions=("pneumonia", "diabetes", "ckd4"), observations={"egfr": 24.0}, weight_kg=70)
    result = recommend(context(records))
    metformin = result.option("t2d_metformin")
    assert metformin.excluded and "below 30" in metformin.exclusion_reasons[0]
    levo = result.option("cap_opc_levofloxacin")
    assert any(w.kind == "kidney" and "every 48 hours" in w.message for w in levo.warnings)
    cefuroxime = result.option("cap_opc_cefuroxime_azithro")
    assert any(w.kind == "kidney" and "every 24 hours" in w.message and "approximation" in w.message for w in cefuroxime.warnings)
    healthy = recommend(context(make_records(conditions=("pneumonia",), observations={"egfr": 24.0})))
    amoxicillin = healthy.option("cap_op_amoxicillin")
    assert any(w.kind == "kidney" and "every 12 hours" in w.message for w in amoxicillin.warnings)
    assert not amoxicillin.excluded


def test_creatinine_only_gives_ckd_epi_2021_egfr_and_says_so():
    assert ckd_epi_2021(1.0, 50, female=True) == pytest.approx(68.6, abs=0.5)
    assert ckd_epi_2021(1.0, 50, female=False) == pytest.approx(91.7, abs=0.7)
    ctx = context(make_records(birth_date="1950-01-01", sex="male", conditions=("diabetes",), observations={"creatinine": 3.0}))
    egfr, note = ctx.kidney_value("eGFR")
    assert egfr is not None and egfr < 30
    assert "CKD-EPI 2021" in note
    assert recommend(ctx).option("t2d_metformin").excluded


def test_missing_kidney_function_and_potassium_are_asked_for():
    result = recommend(context(make_records(conditions=("diabetes", "heart_failure"))))
    assert any("No eGFR or creatinine" in q and "metformin" in q for q in result.questions)
    assert any("ejection fraction" in q for q in result.questions)
    with_ef = recommend(context(make_records(conditions=("heart_failure",), observations={"lvef": 30.0})))
    assert any("No potassium" in q for q in with_ef.questions)


def test_child_gets_high_dose_amoxicillin_first_and_no_fluoroquinolone_or_doxycycline_first_line():
    records = make_records(birth_date="2022-06-01", sex="male", conditions=("pneumonia",), weight_kg=16.0)
    result = recommend(context(records))
    first = result.options[0]
    assert first.option_id == "cap_child_op_amoxicillin"
    assert first.dose_for_patient and "1440 mg/day" in first.dose_for_patient
    first_line = [o for o in result.options if o.line == "first_line"]
    assert first_line and not any(classes(o) & {"fluoroquinolones", "tetracyclines"} for o in first_line)
    assert "cap_child_op_doxycycline" not in {o.option_id for o in result.options + result.excluded}


def test_child_without_weight_is_asked_for_weight():
    result = recommend(context(make_records(birth_date="2021-01-01", conditions=("pneumonia",))))
    assert any("No weight on record" in q for q in result.questions)


def test_older_child_doxycycline_alternative_has_no_age_caution_but_young_would():
    older = recommend(context(make_records(birth_date="2015-01-01", conditions=("pneumonia",), weight_kg=30)))
    doxy = older.option("cap_child_op_doxycycline")
    assert doxy.line == "alternative" and not [w for w in doxy.warnings if w.kind == "paediatric"]


@pytest.mark.parametrize("birth_date", ["2022-01-01", "1980-01-01"])
def test_viral_pneumonia_gets_no_antibiotic_first_line(birth_date):
    records = make_records(birth_date=birth_date, weight_kg=20)
    result = recommend(context(records, confirmed_findings=["Pneumonia_Viral"]))
    assert [c["id"] for c in result.conditions] == ["cap_viral"]
    first_line = [o for o in result.options if o.line == "first_line"]
    assert first_line and not any("antibacterials" in classes(o) for o in first_line)


def test_pregnant_patient_with_hypertension_is_not_offered_ace_inhibitors():
    records = make_records(birth_date="1995-01-01", conditions=("hypertension",), pregnant=True)
    result = recommend(context(records))
    excluded = {o.option_id for o in result.excluded}
    assert {"htn_lisinopril", "htn_losartan"} <= excluded
    assert "htn_preg_labetalol" in {o.option_id for o in result.options}


def test_woman_of_childbearing_age_with_unknown_pregnancy_is_asked():
    result = recommend(context(make_records(birth_date="1995-01-01", conditions=("hypertension",))))
    assert any(q.startswith("Pregnancy status unknown") for q in result.questions)


def test_learned_scores_reorder_but_never_readmit_an_excluded_option():
    records = make_records(conditions=("pneumonia", "diabetes"), allergies=(PENICILLIN_ANAPHYLAXIS,))
    ctx = context(records)
    favour = {"amoxicillin": 1.0, "clavulanate": 1.0, "doxycycline": 0.0, "moxifloxacin": 1.0, "levofloxacin": 0.0}

    def scorer(_ctx, ingredients):
        return {i: favour.get(i, 0.0) for i in ingredients}

    plain = recommend(ctx)
    ranked = recommend(ctx, scorer=scorer)
    assert {o.option_id for o in ranked.excluded} == {o.option_id for o in plain.excluded}
    assert "cap_opc_amoxclav_azithro" in {o.option_id for o in ranked.excluded}
    assert ranked.option("cap_opc_moxifloxacin").rank < ranked.option("cap_opc_levofloxacin").rank
    assert any("Similar patients" in r for r in ranked.option("cap_opc_moxifloxacin").rationale)


@pytest.mark.parametrize("diagnosis", ["J18.9", "233604007", "community acquired pneumonia"])
def test_given_diagnosis_by_code_or_name_focuses_the_answer(diagnosis):
    records = make_records(conditions=("diabetes", "hypertension"))
    result = recommend(context(records, diagnoses=[diagnosis]), only_conditions=[diagnosis])
    assert [c["id"] for c in result.conditions] == ["cap_bacterial_or_unspecified"]
    assert result.options and all(o.condition_id == "cap_bacterial_or_unspecified" for o in result.options)
    assert result.option("cap_opc_amoxclav_azithro").rank is not None  # diabetes counts as a comorbidity


def test_unknown_age_is_asked_and_adult_guidance_shown():
    records = make_records(birth_date=None, conditions=("pneumonia",))
    result = recommend(context(records))
    assert any(q.startswith("No birth date") for q in result.questions)
    assert result.options[0].option_id == "cap_op_amoxicillin"
