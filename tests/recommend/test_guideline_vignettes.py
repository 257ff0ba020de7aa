"""Guideline-directed therapy on vignettes written for the purpose; each expected plan was checked by hand
against the cited guideline (the reasoning is in the comments). Ages are counted back from today (``born``)."""

from __future__ import annotations

import pytest

from medassist.domain.treatment import Recommendation
from medassist.recommend.engine import recommend
from medassist.recommend.knowledge import default_knowledge

from .builders import born, context, make_records

KB = default_knowledge()
STOPPING = ("stop", "hold", "dose", "review", "switch")


def pillars(result: Recommendation, condition: str) -> dict[str, str]:
    return {p.pillar: p.status for p in result.group(condition).pillars}


def offered(result: Recommendation, condition: str) -> dict[str, object]:
    group = result.group(condition)
    return {o: result.option(o) for o in group.options}


def ingredients(option) -> set[str]:
    return {i["id"] for i in option.ingredients}


def check_invariants(result: Recommendation) -> None:
    """What must hold for any patient (the hidden vignettes included)."""
    for therapy in result.current_therapy:
        # A current drug with a contraindication is never "continue": stop, hold, review or change it.
        if any(w.severity == "contraindicated" for w in therapy.warnings):
            assert therapy.action in STOPPING, (therapy.record_label, therapy.action)
        if therapy.action == "stop" and therapy.condition_ids:
            assert therapy.replacements or "replace" in therapy.plan
    for option in result.options + result.excluded:
        assert option.guideline and option.sources, option.option_id
        if option.condition_id in ("heart_failure", "chronic_kidney_disease", "atrial_fibrillation"):
            assert option.grade, f"{option.option_id}: guideline-directed options state their class/level"
        if option.excluded:
            assert option.exclusion_reasons, option.option_id


# --- heart failure -------------------------------------------------------------------------------------------
def hfref(medications=("lisinopril", "furosemide"), **observations):
    values = {"egfr": 55.0, "potassium": 4.4, "lvef": 30.0, "systolic_bp": 118.0, "heart_rate": 82.0}
    values.update(observations)
    return make_records(birth_date=born(68), sex="male", conditions=("heart_failure",), medications=medications,
                        observations=values, weight_kg=80)


def test_hfref_missing_pillars_are_proposed_and_the_ace_inhibitor_is_switched_to_an_arni():
    # AHA/ACC/HFSA 2022 7.3.2-7.3.5, ESC 2021: LVEF 30% (<= 40) is HFrEF; four pillars. On lisinopril and
    # furosemide only: RAS inhibition is in place as an ACE inhibitor -> replace by ARNI (Class 1, LOE B-R), never
    # within 36 h (3: Harm); beta-blocker missing: HR 82 (>= 50), SBP 118 (>= 90) -> start; MRA missing: K 4.4 (< 5.0),
    # eGFR 55 (> 30) -> start; SGLT2 inhibitor missing: eGFR 55 (>= 20) -> start; furosemide: titrate to congestion.
    result = recommend(context(hfref()))
    check_invariants(result)
    assert pillars(result, "heart_failure") == {"RAS inhibition (ARNI, ACE inhibitor or ARB)": "switch",
                                                 "evidence-based beta-blocker": "start", "MRA": "start", "SGLT2 inhibitor": "start"}
    options = offered(result, "heart_failure")
    arni = result.option("hf_sacubitril_valsartan")
    assert arni.replaces == ["lisinopril"] and arni.action == "switch" and any("36 hours" in r for r in arni.rationale)
    assert not [w for w in arni.warnings if w.kind == "interaction" and "lisinopril" in w.involves], "the replaced drug is stopped"
    assert "Class 1" in arni.grade and arni.guideline.startswith("AHA/ACC/HFSA")
    assert {"hf_bisoprolol", "hf_carvedilol", "hf_metoprolol_succinate", "hf_spironolactone", "hf_dapagliflozin",
            "hf_empagliflozin"} <= set(options)
    assert "hf_losartan" not in options and "hf_lisinopril" not in options, "no second RAS inhibitor beside the one in place"
    assert result.therapy("lisinopril").action == "switch" and "Sacubitril/valsartan" in result.therapy("lisinopril").plan
    assert result.therapy("furosemide").action == "titrate"
    assert any(f.startswith("LVEF 30%") and "LOINC 10230-1" in f for f in result.group("heart_failure").findings)


def test_hfref_with_potassium_5_6_holds_the_mra_and_starts_no_potassium_raising_drug():
    # AHA/ACC/HFSA 2022 7.3.4: an MRA is started only with K < 5.0 and stopped when K cannot be kept < 5.5 (3: Harm):
    # K 5.6 -> hold spironolactone. Ramipril with K >= 5.0: review (treat hyperkalaemia, KDIGO 2024), ARNI not now
    # (K above 5.0). Beta-blocker and SGLT2 inhibitor do not raise potassium: start.
    result = recommend(context(hfref(medications=("ramipril", "spironolactone"), potassium=5.6)))
    check_invariants(result)
    spironolactone = result.therapy("spironolactone")
    assert spironolactone.action == "hold" and spironolactone.action != "continue"
    assert any(w.kind == "potassium" and w.severity == "major" and "5.6" in w.message for w in spironolactone.warnings)
    ramipril = result.therapy("ramipril")
    assert ramipril.action == "review" and any(w.kind == "potassium" and w.severity == "major" for w in ramipril.warnings)
    arni = result.option("hf_sacubitril_valsartan")
    assert arni.excluded and arni.action == "not now" and any("5.6" in r for r in arni.exclusion_reasons)
    status = pillars(result, "heart_failure")
    assert status["MRA"] == "review" and status["evidence-based beta-blocker"] == "start" and status["SGLT2 inhibitor"] == "start"
    assert not any(ingredients(o) & KB.members("class:mineralocorticoid_receptor_antagonists") for o in result.options)


def test_hfref_pillars_wait_for_blood_pressure_and_heart_rate():
    # ARNI not with SBP < 100 (PARADIGM-HF population); beta-blocker not with HR < 50 (label: severe bradycardia).
    result = recommend(context(hfref(medications=(), systolic_bp=95.0, heart_rate=46.0)))
    check_invariants(result)
    assert result.option("hf_sacubitril_valsartan").action == "not now"
    assert result.option("hf_bisoprolol").action == "not now" and "46" in result.option("hf_bisoprolol").exclusion_reasons[0]
    status = pillars(result, "heart_failure")
    assert status["evidence-based beta-blocker"] == "not now"
    assert status["RAS inhibition (ARNI, ACE inhibitor or ARB)"] == "start", "SBP 95 still allows an ACE inhibitor (>= 90)"
    assert status["SGLT2 inhibitor"] == "start"


@pytest.mark.parametrize("ef, scenario, has_mra", [(30.0, "reduced", True), (45.0, "mildly reduced", False),
                                                    (60.0, "preserved", False), (None, "not recorded", False)])
def test_heart_failure_options_follow_the_ejection_fraction(ef, scenario, has_mra):
    # ESC 2023 focused update: SGLT2 inhibitor for HFmrEF and HFpEF (Class I, Level A); the four pillars for HFrEF only.
    observations = {"egfr": 60.0, "potassium": 4.2, "systolic_bp": 125.0, "heart_rate": 75.0}
    if ef is not None:
        observations["lvef"] = ef
    result = recommend(context(make_records(birth_date=born(72), conditions=("heart_failure",), observations=observations)))
    check_invariants(result)
    options = list(offered(result, "heart_failure").values())
    assert all(scenario in o.scenario.lower() for o in options)
    assert any(ingredients(o) & {"dapagliflozin", "empagliflozin"} for o in options)
    assert any(ingredients(o) & {"spironolactone"} for o in options) == has_mra
    if ef is None:
        assert any("ejection fraction" in q.lower() for q in result.questions)


# --- chronic kidney disease and type 2 diabetes --------------------------------------------------------------
def ckd4_diabetic(**changes):
    spec = {"birth_date": born(70), "sex": "male", "conditions": ("diabetes", "ckd4", "hypertension"),
            "medications": ("metformin", "lisinopril", "atorvastatin"),
            "observations": {"egfr": 24.0, "creatinine": 2.6, "potassium": 5.3, "acr": 450.0}, "weight_kg": 88}
    spec.update(changes)
    return make_records(**spec)


def test_ckd4_with_diabetes_on_metformin_stops_it_and_proposes_the_replacement():
    # FDA DSC 2016: metformin contraindicated below eGFR 30 -> stop (never "continue"); ADA 2025 s9/s11 and KDIGO 2024
    # (1A): SGLT2 inhibitor for T2D with CKD at eGFR >= 20 -> replacement (24 >= 20). Lisinopril with K 5.3 and eGFR 24:
    # major potassium warning (KDIGO 2024). Finerenone: T2D + ACR 450 (>= 30), but K 5.3 > 5.0 and eGFR 24 < 25 -> not
    # now. Atorvastatin in place (KDIGO 2013, age 70 >= 50).
    result = recommend(context(ckd4_diabetic()))
    check_invariants(result)
    metformin = result.therapy("metformin")
    assert metformin.action == "stop" and "stop / replace" in metformin.plan
    replacements = [result.option(o) for o in metformin.replacements]
    assert replacements and ingredients(replacements[0]) & {"empagliflozin", "dapagliflozin"}
    assert not any("metformin" in ingredients(o) for o in result.options)
    lisinopril = result.therapy("lisinopril")
    assert lisinopril.action == "review"
    hyperkalaemia = [w for w in lisinopril.warnings if w.kind == "potassium"]
    assert hyperkalaemia and hyperkalaemia[0].severity == "major" and "5.3" in hyperkalaemia[0].message
    finerenone = result.option("ckd_finerenone")
    assert finerenone.excluded and any("5.3" in r for r in finerenone.exclusion_reasons)
    assert any("below eGFR 25" in r for r in finerenone.exclusion_reasons), "eGFR 24 is below finerenone's start threshold"
    status = pillars(result, "chronic_kidney_disease")
    assert status["SGLT2 inhibitor"] == "start" and status["statin"] == "in place"
    assert status["RAS inhibitor at the highest tolerated dose"] == "review"


def test_potassium_5_1_to_5_5_and_egfr_24_on_lisinopril_is_never_silent():
    # The patient: the tab said "No interaction, kidney or pregnancy problem found" for lisinopril.
    for potassium in (5.1, 5.5):
        records = make_records(birth_date=born(69), conditions=("ckd4", "hypertension"), medications=("lisinopril",),
                               observations={"egfr": 24.0, "potassium": potassium})
        therapy = recommend(context(records)).therapy("lisinopril")
        assert therapy.action != "continue" and any(w.kind == "potassium" for w in therapy.warnings), potassium


def test_finerenone_is_offered_in_type_2_diabetes_with_albuminuria_and_normal_potassium():
    # KDIGO 2024 (2A): T2D, eGFR > 25 (40), ACR >= 30 (120), normal K (4.6), on the RAS inhibitor -> finerenone 10 mg
    # (label: 10 mg at eGFR 25-59).
    records = ckd4_diabetic(medications=("lisinopril",), observations={"egfr": 40.0, "potassium": 4.6, "acr": 120.0})
    result = recommend(context(records))
    finerenone = result.option("ckd_finerenone")
    assert not finerenone.excluded and finerenone.grade == "KDIGO 2024: 2A"
    assert any(w.kind == "kidney" and "10 mg" in w.message for w in finerenone.warnings)
    without_albuminuria = recommend(context(ckd4_diabetic(observations={"egfr": 40.0, "potassium": 4.6, "acr": 12.0})))
    assert "ckd_finerenone" not in {o.option_id for o in without_albuminuria.options + without_albuminuria.excluded}


def test_type_2_diabetes_egfr_40_on_glyburide_in_an_older_adult():
    # Glyburide is a sulfonylurea (diabetes therapy, not "not in the knowledge base"). Age 74: AGS Beers 2023 Table 2
    # and STOPP v3: long-acting sulfonylurea -> stop and replace. Metformin at eGFR 40: FDA 2016 "do not start at 30-45"
    # -> excluded, never "first line, no major warning". eGFR 40 < 60: ADA 2025 -> SGLT2 inhibitor/GLP-1 RA first.
    records = make_records(birth_date=born(74), sex="female", conditions=("diabetes",), medications=("glyburide",),
                           observations={"egfr": 40.0, "creatinine": 1.3, "potassium": 4.5}, weight_kg=70)
    result = recommend(context(records))
    check_invariants(result)
    assert not result.notes or "not in the knowledge base" not in " ".join(result.notes)
    glyburide = result.therapy("glyburide")
    assert glyburide.condition_ids == ["type2_diabetes"] and glyburide.action == "stop"
    sources = " ".join(w.source for w in glyburide.warnings)
    assert "AGS Beers" in sources and "STOPP/START" in sources
    metformin = result.option("t2d_metformin")
    assert metformin.excluded and any("30-44" in r for r in metformin.exclusion_reasons)
    first = result.option(result.group("type2_diabetes").options[0])
    assert ingredients(first) & {"empagliflozin", "dapagliflozin"} and first.line == "first_line"
    assert glyburide.replacements and all(not result.option(o).excluded for o in glyburide.replacements)
    assert not any(ingredients(o) & KB.members("class:sulfonylureas") for o in result.options)


def test_current_metformin_at_egfr_40_is_reduced_not_stopped():
    # KDIGO 2022 (diabetes in CKD): eGFR 30-44 -> at most 1,000 mg a day; stop below 30.
    records = make_records(birth_date=born(60), conditions=("diabetes",), medications=("metformin",), observations={"egfr": 40.0})
    therapy = recommend(context(records)).therapy("metformin")
    assert therapy.action == "dose" and any("1,000 mg" in w.message for w in therapy.warnings)


# --- atrial fibrillation -----------------------------------------------------------------------------------
def af_patient(age: float, sex: str = "female", weight: float = 70.0, creatinine: float = 0.9, medications=(), conditions=("hypertension",),
               **observations):
    values = {"creatinine": creatinine, "egfr": 62.0, "potassium": 4.4, "systolic_bp": 138.0, "heart_rate": 84.0}
    values.update(observations)
    return make_records(birth_date=born(age), sex=sex, conditions=("atrial_fibrillation", *conditions),
                        medications=medications, observations=values, weight_kg=weight)


def test_af_with_cha2ds2_vasc_3_and_an_nsaid_gets_a_doac_and_the_nsaid_is_stopped():
    # CHA2DS2-VASc: hypertension 1 + age 65-74 1 + female 1 = 3 (CHA2DS2-VA 2) -> ESC 2024 Class I C, AHA 2023 Class 1
    # (>= 3 in women): anticoagulate, DOAC first. Apixaban: age 72 (< 80), 70 kg (> 60), Cr 0.9 (< 1.5): none of
    # the 2-of-3 -> 5 mg twice daily. Naproxen: a HAS-BLED modifiable bleeding factor -> stop; every DOAC carries
    # a major NSAID interaction.
    result = recommend(context(af_patient(72, medications=("naproxen",))))
    check_invariants(result)
    scores = {s.name: s.points for s in result.scores}
    assert scores == {"CHA2DS2-VA": 2, "CHA2DS2-VASc": 3}
    assert pillars(result, "atrial_fibrillation")["anticoagulation"] == "start"
    apixaban = result.option("af_apixaban")
    assert apixaban.line == "first_line" and apixaban.dose_for_patient.startswith("5 mg twice daily")
    assert any(w.severity == "major" and "naproxen" in w.involves for w in apixaban.warnings)
    assert any("bleeding risk factor" in f and "NSAID" in f for f in result.group("atrial_fibrillation").findings)
    naproxen = result.therapy("naproxen")
    assert naproxen.action == "stop" and naproxen.action != "continue"


def test_af_in_an_older_low_weight_patient_gets_each_doacs_reduced_dose():
    # Age 83 (>= 80), 55 kg (<= 60), creatinine 1.3 (< 1.5): apixaban 2 of 3 -> 2.5 mg twice daily (label 2.2).
    # CrCl (Cockcroft-Gault, actual weight) = (140 - 83) x 55 / (72 x 1.3) x 0.85 = 28.5 mL/min:
    # rivaroxaban 15 mg (CrCl 15-50); edoxaban 30 mg (CrCl 15-50 and weight <= 60); dabigatran contraindicated
    # (EU label: CrCl < 30). CHA2DS2-VA: age >= 75 2 + hypertension 1 = 3.
    result = recommend(context(af_patient(83, weight=55.0, creatinine=1.3)))
    check_invariants(result)
    crcl = next(f for f in result.group("atrial_fibrillation").findings if f.startswith("CrCl"))
    assert crcl.startswith("CrCl (Cockcroft-Gault) 28.")
    assert result.option("af_apixaban").dose_for_patient.startswith("2.5 mg twice daily")
    assert "age 80 or older" in result.option("af_apixaban").dose_for_patient
    assert result.option("af_rivaroxaban").dose_for_patient.startswith("15 mg once daily")
    assert result.option("af_edoxaban").dose_for_patient.startswith("30 mg once daily")
    dabigatran = result.option("af_dabigatran")
    assert dabigatran.excluded and any("below 30" in r for r in dabigatran.exclusion_reasons)


@pytest.mark.parametrize("age, sex, conditions, expected", [
    (55, "male", (), "not indicated"),           # CHA2DS2-VA 0: no anticoagulation
    (55, "female", (), "not indicated"),         # CHA2DS2-VA 0 (sex no longer counts in ESC 2024)
    (55, "male", ("hypertension",), "start"),    # CHA2DS2-VA 1: should be considered (IIa) -> offered, conditional
    (70, "male", ("hypertension",), "start"),    # CHA2DS2-VA 2: recommended (I)
])
def test_cha2ds2_va_decides_anticoagulation(age, sex, conditions, expected):
    result = recommend(context(af_patient(age, sex=sex, conditions=conditions)))
    assert pillars(result, "atrial_fibrillation")["anticoagulation"] == expected
    va = next(s for s in result.scores if s.name == "CHA2DS2-VA").points
    if expected == "start":
        assert result.option("af_apixaban").line == ("first_line" if va >= 2 else "conditional")


def test_unknown_age_leaves_anticoagulation_undecided_and_asks():
    # Without a birth date the age item (0-2 points) is missing: CHA2DS2-VA 1-3 with hypertension, so "1 or more"
    # holds and the DOACs are offered, but "2 or more" (first line) cannot be decided.
    records = make_records(birth_date=None, conditions=("atrial_fibrillation",), observations={"heart_rate": 80.0})
    result = recommend(context(records))
    va = next(s for s in result.scores if s.name == "CHA2DS2-VA")
    assert va.possible_range == (0, 2) and "Age" in va.missing[0]
    assert pillars(result, "atrial_fibrillation")["anticoagulation"] == "undecided"
    assert any("CHA2DS2-VA" in q for q in result.questions)


def test_mechanical_valve_excludes_doacs_and_makes_warfarin_first():
    result = recommend(context(af_patient(60, sex="male", conditions=("hypertension", "mechanical_valve"))))
    check_invariants(result)
    assert all(result.option(o).excluded for o in ("af_apixaban", "af_rivaroxaban", "af_edoxaban", "af_dabigatran"))
    assert result.option("af_warfarin").line == "first_line" and not result.option("af_warfarin").excluded


def test_af_rate_control_avoids_diltiazem_in_hfref():
    # AHA/ACC/ACCP/HRS 2023: nondihydropyridine CCB with LVEF < 40% is 3: Harm; ESC 2024: beta-blocker/digoxin.
    result = recommend(context(af_patient(66, sex="male", heart_rate=124.0, lvef=30.0, conditions=("heart_failure",))))
    diltiazem = result.option("af_diltiazem")
    assert diltiazem.excluded and not diltiazem.not_now and any("3: Harm" in r for r in diltiazem.exclusion_reasons)
    assert result.option("af_digoxin").line == "first_line", "LVEF 30%: digoxin with the beta-blocker"


def test_af_on_warfarin_with_a_good_inr_stays_on_it_and_a_doac_switch_is_listed():
    # AGS Beers 2023: reasonable to continue long-term warfarin with a well-controlled INR; ESC 2024 prefers DOACs.
    result = recommend(context(af_patient(76, medications=("warfarin",), inr=2.5)))
    check_invariants(result)
    assert pillars(result, "atrial_fibrillation")["anticoagulation"] == "in place"
    assert result.therapy("warfarin").action == "continue"
    apixaban = result.option("af_apixaban")
    assert apixaban.replaces == ["warfarin"] and apixaban.line == "alternative" and any("INR" in r for r in apixaban.rationale)
    labile = recommend(context(af_patient(76, medications=("warfarin",), inr=4.2)))
    assert any("labile INR" in f for f in labile.group("atrial_fibrillation").findings)


# --- older adults --------------------------------------------------------------------------------------------
def test_older_adult_on_beers_drugs_gets_deprescribing_actions_and_a_younger_one_does_not():
    # AGS Beers 2023 Table 2: first-generation antihistamines (avoid), Z-drugs (avoid), benzodiazepines (avoid);
    # Table 3: with a history of falls, avoid benzodiazepines and Z-drugs.
    meds = ("diphenhydramine", "zolpidem", "lorazepam")
    older = recommend(context(make_records(birth_date=born(81), conditions=("falls",), medications=meds)))
    actions = {t.ingredients[0]: t for t in older.current_therapy}
    assert actions["diphenhydramine"].action == "stop"
    assert actions["zolpidem"].action in ("review", "stop") and actions["lorazepam"].action in ("review", "stop")
    for therapy in actions.values():
        cited = [w.source for w in therapy.warnings if w.kind == "older adult"]
        assert cited and all(("Table 2" in c or "Table 3" in c) for c in cited)
    assert any("falls" in w.message for w in actions["lorazepam"].warnings)
    younger = recommend(context(make_records(birth_date=born(45), medications=meds)))
    assert not any(w.kind == "older adult" for t in younger.current_therapy for w in t.warnings)


def test_aspirin_for_primary_prevention_in_an_older_adult_is_reviewed_but_not_after_a_stroke():
    primary = recommend(context(make_records(birth_date=born(78), medications=("aspirin",))))
    assert primary.therapy("aspirin").action == "review"
    secondary = recommend(context(make_records(birth_date=born(78), conditions=("stroke",), medications=("aspirin",))))
    assert not any("primary prevention" in w.message for w in secondary.therapy("aspirin").warnings)


# --- care setting from the picture ---------------------------------------------------------------------------
def test_scores_suggesting_a_ward_are_used_said_and_asked_to_confirm():
    # No setting chosen, the picture's scores suggest the ward (e.g. CURB-65 3): the plan uses the inpatient CAP
    # scenario, says why, and asks the clinician to confirm; outpatient is not silently assumed.
    records = make_records(birth_date=born(80), conditions=("pneumonia",))
    result = recommend(context(records, suggested="inpatient", reason="CURB-65 3"))
    assert result.setting == "inpatient" and result.setting_source == "suggested"
    assert result.setting_note == "hospital ward, suggested by CURB-65 3: confirm"
    assert any(q.startswith("Care setting: the plan uses hospital ward, suggested by CURB-65 3") for q in result.questions)
    assert not any("outpatient" in o.scenario.lower() for o in result.options)
    chosen = recommend(context(records, setting="outpatient", suggested="inpatient", reason="CURB-65 3"))
    assert chosen.setting == "outpatient" and chosen.setting_source == "chosen"


def test_sepsis_signs_of_the_picture_make_the_plan_an_icu_one():
    records = make_records(birth_date=born(70), conditions=("pneumonia",))
    result = recommend(context(records, setting="outpatient", sepsis_signs=["qSOFA 2 (respiratory rate 24, SBP 95)"]))
    assert result.setting == "severe" and "qSOFA 2" in result.alerts[0]


def test_hfref_on_atenolol_switches_to_an_evidence_based_beta_blocker_without_offering_the_same_class():
    # AHA/ACC/HFSA 2022 7.3.3: only bisoprolol, carvedilol or metoprolol succinate reduce mortality in HFrEF. The
    # switch is said on atenolol's row; no second beta-blocker is offered beside it (a class already taken).
    records = make_records(birth_date=born(70), conditions=("heart_failure",), medications=("atenolol",),
                           observations={"egfr": 60.0, "potassium": 4.4, "lvef": 30.0, "systolic_bp": 120.0, "heart_rate": 70.0})
    result = recommend(context(records))
    atenolol = result.therapy("atenolol")
    assert atenolol.action == "switch" and "bisoprolol, carvedilol or metoprolol succinate" in atenolol.plan
    assert pillars(result, "heart_failure")["evidence-based beta-blocker"] == "switch"
    assert not any(ingredients(o) & KB.members("class:beta_blockers") for o in result.options + result.excluded)
