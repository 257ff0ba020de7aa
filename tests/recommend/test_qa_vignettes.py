"""Clinical QA vignettes for the treatment plan, written by a physician who did not write the engine: pneumonia by
severity (the plan uses the setting the scores suggest, never outpatient silently), heart failure by ejection
fraction and by potassium, blood pressure, heart rate and eGFR, CKD and type 2 diabetes by eGFR and albuminuria,
atrial fibrillation (CHA2DS2-VA, each DOAC's label dose with Cockcroft-Gault on actual weight), older adults on
Beers/STOPP drugs, potassium rules, and the command line on a FHIR bundle and a Synthea CSV folder.

Each expected plan is worked out by hand in the comment above its assertions, from the cited guideline or label.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from medassist.cli.main import main
from medassist.clinical.picture import build_picture
from medassist.domain.treatment import Recommendation
from medassist.domain.treatment_text import plan_text, score_line
from medassist.recommend.engine import recommend
from medassist.recommend.knowledge import default_knowledge
from medassist.recommend.patient import build_context
from tests.clinical.vignettes import PID, TODAY, Vignette

KB = default_knowledge()
CAP = ("Community acquired pneumonia", "385093006")
SGLT2 = {"empagliflozin", "dapagliflozin"}


def plan(v: Vignette, setting: str | None = None, birth_date: bool = True) -> Recommendation:
    records = v.records()
    if not birth_date:
        records.patients["birth_date"] = pd.NaT
    picture = build_picture(records, PID, on=TODAY, setting=setting)  # type: ignore[arg-type]
    return recommend(build_context(records, picture, KB))


def pillars(result: Recommendation, condition: str) -> dict[str, str]:
    return {p.pillar: p.status for p in result.group(condition).pillars}


def ingredients(result: Recommendation, option_id: str) -> set[str]:
    return {i["id"] for i in result.option(option_id).ingredients}


def offered(result: Recommendation, condition: str) -> list[str]:
    return result.group(condition).options


def never_silently_outpatient(result: Recommendation) -> None:
    assert result.setting_source != "assumed" or result.setting is None
    assert not any("outpatient" in result.option(o).scenario.lower() for o in result.group("cap_bacterial_or_unspecified").options)


# --- pneumonia: the plan's setting comes from the scores ---------------------------------------------------------
def cap(age: float, note: str, sex: str = "male", **values: float) -> Vignette:
    v = Vignette(age, sex).visit(0).problem(*CAP, days_ago=0)
    for name, value in values.items():
        v.measure(name, value)
    return v.note(note)


def test_severe_cap_with_sepsis_signs_gets_the_icu_regimen_and_named_scores():
    result = plan(cap(83.3, "Confused and disoriented. On room air.", respiratory_rate=32, systolic_bp=88,
                      diastolic_bp=52, heart_rate=118, oxygen_saturation=89, body_temperature=38.4, urea_nitrogen=32))
    # CURB-65 5 (confusion, urea 11.4 mmol/L, RR 32, SBP 88, age 83); qSOFA 3; NEWS2 15 -> sepsis signs: ICU plan
    assert result.setting == "severe" and result.setting_source == "sepsis" and "qSOFA 3 of 3" in result.alerts[0]
    assert all(o.startswith("cap_sev_") for o in offered(result, "cap_bacterial_or_unspecified"))
    # failed before QA: the plan printed "score: high severity." without the score's name
    lines = [score_line(s) for s in result.scores]
    assert lines[0].startswith("CURB-65 5 of 5: high severity")
    assert any(line.startswith("ATS/IDSA severe CAP") for line in lines) and any(line.startswith("qSOFA 3 of 3") for line in lines)
    assert "  score: CURB-65 5 of 5" in plan_text(result)


PSI_NOTE = ("Lives with his wife in their own home. Alert and oriented. On room air. Chest radiograph: right lower "
            "lobe consolidation, no pleural effusion.")


def test_moderate_cap_uses_the_ward_regimen_suggested_by_the_scores_and_asks_to_confirm():
    result = plan(cap(72.2, PSI_NOTE, respiratory_rate=22, systolic_bp=128, diastolic_bp=74, heart_rate=96,
                      body_temperature=38.2, arterial_ph=7.41, sodium=138, glucose=110, hematocrit=40,
                      oxygen_saturation=95, urea_nitrogen=32))
    # CURB-65 2 (urea 11.4 mmol/L, age 72) and PSI 92 class IV -> the ward (BTS 2009; Fine 1997); qSOFA 1, NEWS2 5:
    # no sepsis sign. Not chosen -> the plan uses the suggestion, says so and asks to confirm; ATS/IDSA 2019 inpatient
    # non-severe CAP: beta-lactam plus macrolide first line
    assert (result.setting, result.setting_source) == ("inpatient", "suggested")
    assert result.setting_note.startswith("hospital ward, suggested by CURB-65 2 of 5")
    assert any(q.startswith("Care setting: the plan uses hospital ward") for q in result.questions)
    first = offered(result, "cap_bacterial_or_unspecified")[0]
    assert first.startswith("cap_ip_") and ingredients(result, first) == {"ceftriaxone", "azithromycin"}
    never_silently_outpatient(result)


def test_a_young_adult_with_a_normal_picture_gets_the_outpatient_regimen_as_suggested():
    result = plan(cap(24.2, "Alert and oriented. On room air.", "female", respiratory_rate=18, systolic_bp=118,
                      diastolic_bp=72, heart_rate=88, oxygen_saturation=97, body_temperature=38.2, urea_nitrogen=10))
    # CURB-65 0 complete -> home (BTS 2009); no comorbidity -> ATS/IDSA 2019 outpatient: amoxicillin first line
    assert (result.setting, result.setting_source) == ("outpatient", "suggested")
    assert offered(result, "cap_bacterial_or_unspecified")[0] == "cap_op_amoxicillin"


def test_a_hypoxaemic_child_gets_the_hospital_regimen_weighed_by_kg():
    v = Vignette(3.4, "male", weight_kg=14).visit(0).problem("Pneumonia", "233604007", 0)
    for name, value in (("respiratory_rate", 44), ("heart_rate", 150), ("oxygen_saturation", 88)):
        v.measure(name, value)
    result = plan(v)
    # PIDS/IDSA 2011: SpO2 88% (< 90%) -> hospital; inpatient empiric therapy for a fully immunised child: ampicillin
    # 150-200 mg/kg/day -> at 14 kg 2100-2800 mg/day
    assert (result.setting, result.setting_source) == ("inpatient", "suggested")
    first = offered(result, "cap_bacterial_or_unspecified")[0]
    assert first == "cap_child_ip_ampicillin" and result.option(first).dose_for_patient.startswith("At 14.0 kg")
    assert "2100-2800 mg/day" in result.option(first).dose_for_patient


def test_without_a_birth_date_the_scores_still_choose_the_ward():
    """Failed before QA: without a birth date no score was computed and the plan assumed outpatient care."""
    v = cap(50, "Alert and oriented. On room air.", respiratory_rate=31, systolic_bp=120, diastolic_bp=58,
            heart_rate=95, oxygen_saturation=95, body_temperature=38.3, urea_nitrogen=30)
    result = plan(v, birth_date=False)
    # CURB-65 without age: alert 0 + urea 30/2.801 = 10.7 1 + RR 31 1 + DBP 58 1 = 3 (3-4) -> ward (BTS 2009);
    # qSOFA RR 1 + SBP 0 + alert 0 = 1; NEWS2 RR 3 + SpO2 1 + air 0 + SBP 0 + HR 1 + alert 0 + T 1 = 6: no sepsis sign
    assert (result.setting, result.setting_source) == ("inpatient", "suggested")
    assert any(q.startswith("No birth date") for q in result.questions)
    never_silently_outpatient(result)


# --- heart failure -------------------------------------------------------------------------------------------------
def hf(ef: float | None, drugs: tuple[str, ...] = (), age: float = 68.2, **values: float) -> Vignette:
    v = Vignette(age, "male", weight_kg=80).visit(0, "ambulatory").problem("Chronic congestive heart failure", "88805009")
    observed = {"egfr": 55, "potassium": 4.4, "systolic_bp": 118, "heart_rate": 82} | values
    if ef is not None:
        observed["lvef"] = ef
    for name, value in observed.items():
        v.measure(name, value)
    for drug in drugs:
        v.drug(drug)
    return v


HFREF_PILLARS = ("RAS inhibition (ARNI, ACE inhibitor or ARB)", "evidence-based beta-blocker", "MRA", "SGLT2 inhibitor")


def test_hfref_with_egfr_22_starts_empagliflozin_not_dapagliflozin_and_waits_with_the_mra():
    """Failed before QA: dapagliflozin was offered first at eGFR 22, below its label's start threshold of 25."""
    result = plan(hf(30, egfr=22))
    # SGLT2 inhibitor: dapagliflozin label, initiation not recommended below eGFR 25; empagliflozin to 20 (KDIGO 2024,
    # EMPEROR/EMPA-KIDNEY) -> start empagliflozin. MRA: AHA/ACC/HFSA 2022 7.3.4, eGFR above 30 -> not now.
    # ARNI: start at 24/26 mg below eGFR 30 (label). Beta-blocker: HR 82, SBP 118 -> start.
    status = pillars(result, "heart_failure")
    assert status == dict(zip(HFREF_PILLARS, ("start", "start", "not now", "start"), strict=True))
    dapagliflozin = result.option("hf_dapagliflozin")
    assert dapagliflozin.excluded and any("below eGFR 25" in r for r in dapagliflozin.exclusion_reasons)
    assert "hf_empagliflozin" in offered(result, "heart_failure")
    assert result.group("heart_failure").pillars[3].detail.startswith("Empagliflozin")
    arni = result.option("hf_sacubitril_valsartan")
    assert not arni.excluded and any("24/26 mg" in w.message for w in arni.warnings)


def test_hfref_with_systolic_85_waits_with_the_blood_pressure_lowering_pillars():
    result = plan(hf(30, systolic_bp=85))
    # SBP 85: ARNI not below 100 (PARADIGM-HF), ACE inhibitor/ARB not below 90, beta-blocker not below 90 (MedAssist's
    # reading of "symptomatic hypotension"/"cardiogenic shock") -> not now; MRA (K 4.4, eGFR 55) and SGLT2 inhibitor start
    assert pillars(result, "heart_failure") == dict(zip(HFREF_PILLARS, ("not now", "not now", "start", "start"), strict=True))
    assert all(result.option(o).not_now for o in ("hf_sacubitril_valsartan", "hf_lisinopril", "hf_bisoprolol"))


def test_hfref_with_heart_rate_52_starts_a_beta_blocker_low():
    result = plan(hf(30, heart_rate=52))
    # HR 52 is above MedAssist's 50/min "severe bradycardia" threshold: all four pillars start (bisoprolol 1.25 mg)
    assert pillars(result, "heart_failure") == dict.fromkeys(HFREF_PILLARS, "start")
    assert "1.25 mg" in result.option("hf_bisoprolol").dose


def test_hfref_with_potassium_5_6_starts_only_what_does_not_raise_potassium():
    result = plan(hf(30, potassium=5.6))
    # K 5.6: RAS inhibitors not above 5.0 (KDIGO 2024), MRA not at 5.0 or more (AHA/ACC/HFSA 2022 7.3.4) -> not now;
    # beta-blocker and SGLT2 inhibitor do not raise potassium -> start
    assert pillars(result, "heart_failure") == dict(zip(HFREF_PILLARS, ("not now", "start", "not now", "start"), strict=True))
    # the one potassium reason is said once for every RAS inhibitor it holds for, not once per drug
    (ras,) = [p for group in result.groups for p in group.pillars if p.pillar == HFREF_PILLARS[0]]
    assert ras.detail.count("correct the potassium first") == 1
    assert ras.detail.startswith("sacubitril, valsartan, lisinopril, losartan: not now")


def test_hfref_on_an_arb_switches_to_the_arni():
    result = plan(hf(32, ("Losartan potassium 50 MG Oral Tablet", "Furosemide 40 MG Oral Tablet")))
    # AHA/ACC/HFSA 2022 7.3.2: ARNI in place of a tolerated ACE inhibitor or ARB (1, B-R); from an ARB no 36-hour gap
    assert pillars(result, "heart_failure")[HFREF_PILLARS[0]] == "switch"
    assert result.option("hf_sacubitril_valsartan").replaces == ["losartan"]
    assert result.therapy("losartan").action == "switch"


def test_hfref_on_all_four_pillars_is_titrated_not_offered_more():
    drugs = ("sacubitril 49 MG / valsartan 51 MG Oral Tablet [Entresto]", "Bisoprolol fumarate 5 MG Oral Tablet",
             "Spironolactone 25 MG Oral Tablet", "Dapagliflozin 10 MG Oral Tablet", "Furosemide 40 MG Oral Tablet")
    result = plan(hf(30, drugs))
    # every pillar in place: ARNI, bisoprolol and spironolactone to their targets; SGLT2 inhibitor has no titration
    assert pillars(result, "heart_failure") == dict(zip(HFREF_PILLARS, ("titrate", "titrate", "titrate", "in place"), strict=True))
    assert offered(result, "heart_failure") == []
    assert result.therapy("bisoprolol").action == "titrate" and "10 mg" in result.therapy("bisoprolol").plan


@pytest.mark.parametrize("ef, scenario", [(45, "mildly reduced"), (60, "preserved")])
def test_hfmref_and_hfpef_get_an_sglt2_inhibitor_and_a_diuretic_not_the_hfref_pillars(ef, scenario):
    result = plan(hf(ef))
    # ESC 2023 focused update: SGLT2 inhibitor for LVEF 41-49% and 50% or more (I A); loop diuretic for congestion;
    # no ARNI, beta-blocker or MRA pillar (HFrEF only)
    assert pillars(result, "heart_failure") == {"SGLT2 inhibitor": "start"}
    options = offered(result, "heart_failure")
    assert all(scenario in result.option(o).scenario.lower() for o in options)
    assert {i for o in options for i in ingredients(result, o)} == SGLT2 | {"furosemide"}


# --- CKD and type 2 diabetes ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("diagnosis, code, scenario", [
    # Universal definition of heart failure (Bozkurt et al. 2021): HFrEF is LVEF 40% or less, HFpEF 50% or more, so
    # a diagnosis that says which is the LVEF band when no LVEF is measured; plain "heart failure" says none -> ask
    ("Heart failure with reduced ejection fraction", "703272007", "reduced ejection fraction"),
    ("Chronic systolic heart failure", "", "reduced ejection fraction"),
    ("Heart failure with preserved ejection fraction", "", "preserved ejection fraction"),
    ("Heart failure", "84114007", "ejection fraction not recorded"),
])
def test_a_diagnosis_that_states_the_ejection_fraction_band_chooses_the_scenario(diagnosis, code, scenario):
    v = Vignette(68.2, "male", weight_kg=80).visit(0, "ambulatory").problem(diagnosis, code)
    for name, value in {"egfr": 55, "potassium": 4.4, "systolic_bp": 118, "heart_rate": 82}.items():
        v.measure(name, value)
    result = plan(v)
    group = result.group("heart_failure")
    assert all(scenario in result.option(o).scenario for o in group.options)
    if scenario == "reduced ejection fraction":
        assert pillars(result, "heart_failure") == dict.fromkeys(HFREF_PILLARS, "start")
        assert "the diagnosis says reduced ejection fraction" in group.findings[0]
    else:
        assert set(pillars(result, "heart_failure")) == {"SGLT2 inhibitor"}


def kidney(age: float, egfr: float, acr: float | None, diabetes: bool, drugs: tuple[str, ...] = (),
           potassium: float = 4.6, sex: str = "male") -> Vignette:
    v = Vignette(age, sex).visit(0, "ambulatory").problem("Chronic kidney disease stage 3B", "700379002")
    if diabetes:
        v.problem("Diabetes mellitus type 2", "44054006")
    v.measure("egfr", egfr).measure("potassium", potassium).measure("systolic_bp", 136)
    if acr is not None:
        v.measure("urine_acr", acr)
    for drug in drugs:
        v.drug(drug)
    return v


def test_t2d_ckd_3b_with_albuminuria_on_an_ace_inhibitor_gets_finerenone():
    result = plan(kidney(66.2, 35, 250, True, ("lisinopril 10 MG Oral Tablet",), potassium=4.8))
    # KDIGO 2024 3.8.1 (2A): T2D, eGFR 35 (>= 25), K 4.8 (normal), ACR 250 (>= 30) on a RAS inhibitor -> finerenone
    # 10 mg (label: 10 mg at eGFR 25-59). SGLT2 inhibitor (1A, T2D) offered under type 2 diabetes; statin (age 66)
    assert "ckd_finerenone" in offered(result, "chronic_kidney_disease")
    assert any("10 mg" in w.message for w in result.option("ckd_finerenone").warnings)
    status = pillars(result, "chronic_kidney_disease")
    assert status == {"RAS inhibitor at the highest tolerated dose": "titrate", "SGLT2 inhibitor": "start", "statin": "start"}


def test_finerenone_waits_for_a_ras_inhibitor():
    """Failed before QA: finerenone was offered to a patient on no ACE inhibitor or ARB."""
    result = plan(kidney(66.2, 35, 250, True, potassium=4.8))
    # KDIGO 2024 3.8.1: finerenone "despite maximum tolerated dose of RASi" -> first the ACE inhibitor (1B), then
    # finerenone; so finerenone is not offered now and says why
    assert "ckd_finerenone" not in offered(result, "chronic_kidney_disease")
    assert any(n.startswith("Finerenone") and "ACE inhibitor or ARB" in n for n in result.group("chronic_kidney_disease").not_offered)
    assert pillars(result, "chronic_kidney_disease")["RAS inhibitor at the highest tolerated dose"] == "start"


def test_ckd_4_with_egfr_22_starts_empagliflozin_and_not_dapagliflozin():
    """Failed before QA: dapagliflozin (label: not started below eGFR 25) was proposed at eGFR 22."""
    result = plan(kidney(45.2, 22, 50, False, sex="female"))
    # KDIGO 2024: SGLT2 inhibitor at eGFR 20 or more (2B, eGFR 20-44 with ACR < 200) -> empagliflozin; ACE inhibitor
    # for ACR 30-300 without diabetes (2C) -> start; statin: KDIGO 2013 lipids 1A/1B from age 50 -> not at 45
    status = pillars(result, "chronic_kidney_disease")
    assert status == {"RAS inhibitor at the highest tolerated dose": "start", "SGLT2 inhibitor": "start",
                      "statin": "not indicated"}
    assert result.option("ckd_dapagliflozin").excluded and "ckd_empagliflozin" in offered(result, "chronic_kidney_disease")


def test_ckd_3b_without_albuminuria_or_diabetes():
    result = plan(kidney(58.2, 38, 12, False, sex="female"))
    # ACR 12 (A1): RAS inhibitor not indicated for the kidney (KDIGO 2024 1B/2C need A2-A3); eGFR 38 < 45 -> SGLT2
    # inhibitor (2B); age 58 -> statin (1A)
    assert pillars(result, "chronic_kidney_disease") == {"RAS inhibitor at the highest tolerated dose": "not indicated",
                                                          "SGLT2 inhibitor": "start", "statin": "start"}


def test_sglt2_inhibitors_are_started_from_egfr_20_and_kept_below_it():
    result = plan(kidney(62.2, 19, 300, True, ("lisinopril 10 MG Oral Tablet",)))
    # KDIGO 2024: SGLT2 inhibitor started at eGFR 20 or more -> at 19 none is started (excluded, with the reason);
    # finerenone (eGFR 25 or more) neither
    assert all(result.option(o).excluded for o in ("t2d_cr_empagliflozin", "t2d_cr_dapagliflozin"))
    assert result.option("ckd_finerenone").excluded
    kept = plan(kidney(62.2, 18, 300, True, ("lisinopril 10 MG Oral Tablet", "Empagliflozin 10 MG Oral Tablet")))
    # one already taken is continued below 20 until dialysis if tolerated (a minor note, no change asked)
    assert kept.therapy("empagliflozin").action == "continue"


@pytest.mark.parametrize("egfr, current, new", [
    (29, "stop", None),        # FDA 2016: contraindicated below 30 -> stop and replace
    (35, "dose", None),        # 30-44: reduce to at most 1,000 mg/day (KDIGO 2022); not started
    (44, "dose", None),
    (46, "continue", "t2d_metformin"),  # 45-59: keep, check eGFR every 3-6 months; may be started
])
def test_metformin_by_egfr(egfr, current, new):
    on_it = plan(Vignette(60.2, "male").visit(0).problem("Diabetes mellitus type 2", "44054006")
                 .measure("egfr", egfr).drug("Metformin hydrochloride 500 MG Oral Tablet"))
    assert on_it.therapy("metformin").action == current
    if current == "stop":
        assert on_it.therapy("metformin").replacements
    naive = plan(Vignette(60.2, "male").visit(0).problem("Diabetes mellitus type 2", "44054006").measure("egfr", egfr))
    metformin = naive.option("t2d_metformin")
    assert (not metformin.excluded) == (new is not None), egfr


# --- atrial fibrillation -------------------------------------------------------------------------------------------
def af(age: float, sex: str = "female", weight: float | None = 70, creatinine: float | None = 0.9,
       creatinine_unit: str | None = None, problems: tuple[tuple[str, str], ...] = (), drugs: tuple[str, ...] = (),
       **values: float) -> Vignette:
    v = Vignette(age, sex, weight_kg=weight).visit(0, "ambulatory").problem("Atrial fibrillation", "49436004")
    for problem in problems:
        v.problem(*problem)
    if creatinine is not None:
        v.measure("creatinine", creatinine, creatinine_unit, code="14682-9" if creatinine_unit else None)
    for name, value in ({"systolic_bp": 132, "heart_rate": 84} | values).items():
        v.measure(name, value)
    for drug in drugs:
        v.drug(drug)
    return v


HYPERTENSION = ("Essential hypertension", "59621000")


@pytest.mark.parametrize("age, sex, problems, va, vasc, status, line", [
    (60.2, "female", (), 0, 1, "not indicated", None),                     # ESC 2024: 0 -> no OAC (sex removed)
    (66.2, "male", (), 1, 1, "start", "conditional"),                       # 1 (age 65-74) -> should be considered
    (70.2, "female", (HYPERTENSION,), 2, 3, "start", "first_line"),         # 2 (age 1 + HTN 1) -> recommended (I)
    (77.2, "male", (HYPERTENSION, ("Diabetes mellitus type 2", "44054006")), 4, 4, "start", "first_line"),
])
def test_cha2ds2_va_decides_anticoagulation(age, sex, problems, va, vasc, status, line):
    result = plan(af(age, sex, problems=problems))
    scores = {s.name: s.points for s in result.scores}
    assert (scores["CHA2DS2-VA"], scores["CHA2DS2-VASc"]) == (va, vasc)
    assert pillars(result, "atrial_fibrillation")["anticoagulation"] == status
    if line:
        assert result.option("af_apixaban").line == line


def test_af_with_meloxicam_stops_the_nsaid():
    """Failed before QA: meloxicam was "not in the knowledge base", so no bleeding, interaction or kidney check."""
    result = plan(af(70.2, problems=(HYPERTENSION,), drugs=("Meloxicam 15 MG Oral Tablet",)))
    # HAS-BLED "D" (NSAID) is a modifiable bleeding factor -> stop (paracetamol); a DOAC with an NSAID is a major
    # interaction (apixaban label)
    assert result.therapy("meloxicam").action == "stop"
    assert any(w.severity == "major" and "meloxicam" in w.involves for w in result.option("af_apixaban").warnings)
    assert not any("not in the knowledge base" in n for n in result.notes)


def test_aspirin_beside_an_anticoagulant_in_af_without_coronary_disease_is_reviewed():
    result = plan(af(79.2, problems=(HYPERTENSION,), drugs=("Apixaban 5 MG Oral Tablet", "Aspirin 81 MG Oral Tablet")))
    # STOPP/START v3: antiplatelet with an anticoagulant in AF without a coronary indication; HAS-BLED "D" -> review
    aspirin = result.therapy("aspirin")
    assert aspirin.action == "review" and any("STOPP" in w.source for w in aspirin.warnings)
    # the anticoagulant stays (its row asks to review the combination, never to stop it)
    assert result.therapy("apixaban").action in ("continue", "review")
    assert pillars(result, "atrial_fibrillation")["anticoagulation"] in ("in place", "review")


@pytest.mark.parametrize("age, weight, creatinine, unit, dose", [
    # apixaban US label 2.2: 2.5 mg twice daily with 2 of: age >= 80, weight <= 60 kg, creatinine >= 1.5 mg/dL
    (80.2, 60, 1.0, None, "2.5 mg twice daily"),     # age + weight
    (81.2, 70, 133, "\u03bcmol/L", "2.5 mg twice daily"),  # age + 133 umol/L = 1.504 mg/dL (Greek mu: failed before)
    (81.2, 70, 132, "\u03bcmol/L", "5 mg twice daily"),    # 132 umol/L = 1.493 mg/dL: age only
    (72.2, 58, 1.6, None, "2.5 mg twice daily"),     # weight + creatinine
    (79.2, 55, 1.2, None, "5 mg twice daily"),       # weight only
])
def test_apixaban_two_of_three_from_the_record(age, weight, creatinine, unit, dose):
    result = plan(af(age, weight=weight, creatinine=creatinine, creatinine_unit=unit, problems=(HYPERTENSION,)))
    assert result.option("af_apixaban").dose_for_patient.startswith(dose)


def test_rivaroxaban_and_edoxaban_follow_cockcroft_gault_on_actual_weight():
    result = plan(af(70.2, "male", weight=60, creatinine=1.4, problems=(HYPERTENSION,)))
    # CrCl = (140 - 70.2) x 60 / (72 x 1.4) = 41.5 mL/min: rivaroxaban 15 mg (CrCl 15-50, US label); edoxaban 30 mg
    # (CrCl 15-50 and weight <= 60, EU label); apixaban: weight 60 only -> 5 mg
    assert result.option("af_rivaroxaban").dose_for_patient.startswith("15 mg once daily")
    edoxaban = result.option("af_edoxaban").dose_for_patient
    assert edoxaban.startswith("30 mg once daily") and "41.5 mL/min" in edoxaban and "60 kg" in edoxaban
    assert result.option("af_apixaban").dose_for_patient.startswith("5 mg twice daily")
    heavy = plan(af(50.2, "male", weight=100, creatinine=0.8, problems=(HYPERTENSION, ("Diabetes mellitus type 2", "44054006"))))
    # CrCl = (140 - 50.2) x 100 / (72 x 0.8) = 155.9 > 95: edoxaban not recommended (US boxed warning), rivaroxaban 20 mg
    assert heavy.option("af_edoxaban").dose_for_patient.startswith("do not use")
    assert heavy.option("af_rivaroxaban").dose_for_patient.startswith("20 mg once daily")


@pytest.mark.parametrize("age, weight, creatinine, drugs, dose", [
    # dabigatran EU label: CrCl < 30 contraindicated; 110 mg at 80 or older or with verapamil; 110 mg to be considered
    # at 75-79 or CrCl 30-50
    (81.2, 80, 0.9, (), "110 mg twice daily ("),                       # CrCl (58.8 x 80)/(72 x 0.9) x 0.85 = 61.7
    (77.2, 80, 0.9, (), "110 mg twice daily to be considered"),       # CrCl 65.9, age 75-79
    (70.2, 70, 2.3, (), "do not use"),                                # CrCl 69.8 x 70/(72 x 2.3) x 0.85 = 25.1
    (70.2, 80, 0.9, ("Verapamil hydrochloride 80 MG Oral Tablet",), "110 mg twice daily ("),
])
def test_dabigatran_by_age_crcl_and_verapamil(age, weight, creatinine, drugs, dose):
    result = plan(af(age, weight=weight, creatinine=creatinine, problems=(HYPERTENSION,), drugs=drugs))
    assert result.option("af_dabigatran").dose_for_patient.startswith(dose)


def test_without_a_weight_the_doac_dose_is_not_verified_and_says_so():
    """Failed before QA: the standard dose read "no dose-reduction criterion met" although CrCl could not be computed."""
    result = plan(af(82.2, weight=None, creatinine=1.2, problems=(HYPERTENSION,)))
    rivaroxaban = result.option("af_rivaroxaban").dose_for_patient
    assert rivaroxaban.startswith("20 mg once daily with the evening meal (not verified: the label's criteria need "
                                  "creatinine clearance")
    assert "no dose-reduction criterion met" not in rivaroxaban
    assert any(q.startswith("rivaroxaban: the label's dose depends on") for q in result.questions)


def test_a_mechanical_valve_excludes_every_doac_and_makes_warfarin_first():
    result = plan(af(64.2, "male", problems=(HYPERTENSION, ("Mechanical mitral valve replacement", ""))))
    # ESC 2024: DOACs not with a mechanical heart valve -> excluded; warfarin (INR by the valve) first line
    assert all(result.option(o).excluded for o in ("af_apixaban", "af_rivaroxaban", "af_edoxaban", "af_dabigatran"))
    assert result.option("af_warfarin").line == "first_line" and offered(result, "atrial_fibrillation")[0] == "af_warfarin"


# --- older adults and potassium ------------------------------------------------------------------------------------
def older(age: float, drugs: tuple[str, ...], problems: tuple[tuple[str, str], ...] = (), **values: float) -> Recommendation:
    v = Vignette(age, "female").visit(0, "ambulatory")
    for problem in problems:
        v.problem(*problem)
    for name, value in values.items():
        v.measure(name, value)
    for drug in drugs:
        v.drug(drug)
    return plan(v)


def test_an_nsaid_in_an_older_adult_with_egfr_40_is_stopped():
    """Failed before QA: ibuprofen at eGFR 40 in a 78-year-old was only "review (chronic use)"."""
    result = older(78.2, ("Ibuprofen 400 MG Oral Tablet",), (("Chronic kidney disease stage 3B", "700379002"),), egfr=40)
    # STOPP v2 E4: NSAID with eGFR below 50 (risk of deterioration in renal function) -> stop, paracetamol instead
    ibuprofen = result.therapy("ibuprofen")
    assert ibuprofen.action == "stop" and any("E4" in w.source for w in ibuprofen.warnings)


def test_beers_drugs_in_an_80_year_old():
    result = older(80.2, ("Glimepiride 2 MG Oral Tablet", "Lorazepam 1 MG Oral Tablet",
                          "Amitriptyline hydrochloride 25 MG Oral Tablet", "Diphenhydramine hydrochloride 25 MG Oral Capsule"),
                   (("Diabetes mellitus type 2", "44054006"),), egfr=65)
    # AGS Beers 2023 Table 2 and STOPP v3: long-acting sulfonylurea -> stop and replace; benzodiazepine -> review (taper);
    # tertiary TCA -> review; first-generation antihistamine -> stop
    actions = {t.ingredients[0]: t.action for t in result.current_therapy}
    assert actions == {"glimepiride": "stop", "lorazepam": "review", "amitriptyline": "review", "diphenhydramine": "stop"}
    assert result.therapy("glimepiride").replacements


def test_a_proton_pump_inhibitor_in_an_older_adult_is_reviewed_not_in_a_younger_one():
    # AGS Beers 2023 Table 2: proton-pump inhibitors, avoid scheduled use beyond 8 weeks in adults 65 or older
    # unless high risk -> review at 80 (80 >= 65); at 50 the criterion does not apply -> continue
    drug = ("Omeprazole 20 MG Delayed Release Oral Capsule",)
    old_adult = older(80.2, drug)
    assert old_adult.therapy("omeprazole").action == "review"
    assert "beyond 8 weeks" in old_adult.therapy("omeprazole").warnings[0].message
    assert older(50.2, drug).therapy("omeprazole").action == "continue"


@pytest.mark.parametrize("drug, ingredient, action", [
    # AGS Beers 2023 Table 2 rows, each drug named in its row: benzodiazepine (temazepam, clonazepam) -> review
    # (taper); Z-drug (zopiclone) -> review; first-generation antihistamine (promethazine, meclizine, the British
    # "chlorphenamine") -> stop; skeletal muscle relaxant (methocarbamol) -> stop; tertiary TCA (imipramine) -> review
    ("Temazepam 10 MG Oral Capsule", "temazepam", "review"),
    ("Clonazepam 0.5 MG Oral Tablet", "clonazepam", "review"),
    ("Zopiclone 7.5 MG Oral Tablet", "zopiclone", "review"),
    ("Promethazine 25 MG Oral Tablet", "promethazine", "stop"),
    ("Meclizine 25 MG Oral Tablet", "meclizine", "stop"),
    ("Chlorphenamine 4 MG Oral Tablet", "chlorpheniramine", "stop"),
    ("Methocarbamol 500 MG Oral Tablet", "methocarbamol", "stop"),
    ("Imipramine 25 MG Oral Tablet", "imipramine", "review"),
])
def test_more_beers_drugs_by_name_in_an_80_year_old(drug, ingredient, action):
    assert older(80.2, (drug,)).therapy(ingredient).action == action


def test_two_drugs_under_one_criterion_each_get_a_warning_naming_itself():
    # AGS Beers 2023 Table 3 (dementia): tolterodine (strongly anticholinergic, Table 7) and quetiapine (antipsychotic)
    # -> each reviewed, each warning naming its own drug, not the first one's
    result = older(82.2, ("Tolterodine 2 MG Oral Tablet", "Quetiapine 25 MG Oral Tablet"), (("Dementia", "52448006"),))
    for ingredient, label in (("tolterodine", "Tolterodine 2 MG"), ("quetiapine", "Quetiapine 25 MG")):
        therapy = result.therapy(ingredient)
        assert therapy.action == "review"
        assert [w.message.startswith(f"Current medication ({label}") for w in therapy.warnings] == [True]


def test_oxybutynin_with_dementia_is_reviewed():
    """Failed before QA: oxybutynin was "not in the knowledge base", so the dementia criterion could not see it."""
    result = older(82.2, ("Oxybutynin chloride 5 MG Oral Tablet",), (("Dementia", "52448006"),))
    # AGS Beers 2023 Table 3: strongly anticholinergic drugs with dementia or cognitive impairment -> avoid (review)
    oxybutynin = result.therapy("oxybutynin")
    assert oxybutynin.action == "review" and any("Table 3" in w.source for w in oxybutynin.warnings)


def test_triple_whammy_with_meloxicam():
    result = older(74.2, ("Meloxicam 7.5 MG Oral Tablet", "lisinopril 10 MG Oral Tablet", "Furosemide 40 MG Oral Tablet"),
                   (HYPERTENSION,), egfr=62, potassium=4.5)
    # NSAID + ACE inhibitor + diuretic: acute kidney injury (the "triple whammy", Lapi et al. BMJ 2013) -> each reviewed
    for drug in ("meloxicam", "lisinopril", "furosemide"):
        therapy = result.therapy(drug)
        assert therapy.action in ("review", "stop") and any("Triple whammy" in w.message for w in therapy.warnings), drug


def test_ace_inhibitor_with_spironolactone_at_potassium_5_2():
    result = older(70.2, ("lisinopril 10 MG Oral Tablet", "Spironolactone 25 MG Oral Tablet"), (HYPERTENSION,),
                   egfr=55, potassium=5.2)
    # KDIGO 2024: RAS inhibitor with K >= 5.0 -> review (treat hyperkalaemia before reducing); AHA/ACC/HFSA 2022 7.3.4:
    # MRA at K 5.0-5.4 -> no dose increase, recheck within a week; the pair itself is a moderate interaction
    assert result.therapy("lisinopril").action == "review" and result.therapy("spironolactone").action == "review"
    assert any(w.kind == "potassium" and w.severity == "major" for w in result.therapy("lisinopril").warnings)


def test_trimethoprim_with_an_ace_inhibitor_at_potassium_5_2():
    result = older(70.2, ("Ramipril 5 MG Oral Capsule", "Trimethoprim 100 MG Oral Tablet"), (HYPERTENSION,),
                   egfr=55, potassium=5.2)
    # Antoniou 2010: trimethoprim with a RAS inhibitor raises potassium (major) -> both reviewed, another antibiotic
    trimethoprim = result.therapy("trimethoprim")
    assert trimethoprim.action == "review" and "an antibiotic without trimethoprim" in trimethoprim.plan
    assert result.therapy("ramipril").action == "review"


# --- the command line on the readers' shapes -----------------------------------------------------------------------
def _fhir_bundle(path: Path) -> Path:
    today = dt.date.today()
    born = (today - dt.timedelta(days=round(83.4 * 365.25))).isoformat()
    subject = {"reference": "Patient/Q1"}

    def at(hour: int) -> str:
        return f"{today.isoformat()}T{hour:02d}:00:00Z"

    def observation(i: int, code: str, value: float, unit: str) -> dict:
        return {"resource": {"resourceType": "Observation", "id": f"o{i}", "status": "final", "subject": subject,
                             "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                             "effectiveDateTime": at(9), "valueQuantity": {"value": value, "unit": unit}}}

    note = "83-year-old man, confused and disoriented, on room air. Impression: community-acquired pneumonia."
    entries = [
        {"resource": {"resourceType": "Patient", "id": "Q1", "name": [{"family": "Severe", "given": ["Carl"]}],
                      "gender": "male", "birthDate": born}},
        {"resource": {"resourceType": "Encounter", "id": "e1", "status": "in-progress", "class": {"code": "EMER"},
                      "subject": subject, "period": {"start": at(8)}}},
        {"resource": {"resourceType": "Condition", "id": "c1", "subject": subject, "onsetDateTime": at(9),
                      "code": {"coding": [{"system": "http://snomed.info/sct", "code": "385093006",
                                           "display": "Community acquired pneumonia"}]}}},
        {"resource": {"resourceType": "DocumentReference", "id": "d1", "status": "current", "subject": subject,
                      "date": at(11).replace("Z", "+00:00"),
                      "content": [{"attachment": {"contentType": "text/plain", "title": "ED note",
                                                  "data": base64.b64encode(note.encode()).decode()}}]}},
    ]
    values = [("9279-1", 32, "/min"), ("8480-6", 88, "mm Hg"), ("8462-4", 52, "mm Hg"), ("8867-4", 118, "/min"),
              ("59408-5", 89, "%"), ("8310-5", 38.4, "Cel"), ("22664-7", 11.4, "mmol/L"), ("14682-9", 150, "\u03bcmol/L")]
    entries += [observation(i, *value) for i, value in enumerate(values)]
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}), encoding="utf-8")
    return path


def test_cli_picture_and_recommend_on_a_fhir_bundle(tmp_path, capsys):
    bundle = _fhir_bundle(tmp_path / "severe.json")
    assert main(["picture", "--records", str(bundle), "--patient", "Q1", "--json"]) == 0
    picture = json.loads(capsys.readouterr().out)
    # CURB-65: confusion (note) 1 + urea 11.4 mmol/L 1 + RR 32 1 + BP 88/52 1 + age 83 1 = 5
    curb = picture["scores"]["CURB-65"]
    assert (curb["points"], curb["missing"], curb["possible_range"], curb["band"]) == (5, [], [5, 5], "high severity")
    assert "Lim WS" in curb["citation"] and curb["sentence"].startswith("CURB-65 5 of 5")
    assert [i["points"] for i in curb["items"]] == [1, 1, 1, 1, 1]
    # PSI partial: male 83 + AMS 20 + RR 20 + SBP 20 + BUN 31.9 >= 30 20 + SpO2 89 10 = 173, class V whatever is missing
    assert picture["scores"]["PSI"]["points"] == 173 and picture["scores"]["PSI"]["missing"]
    assert picture["care_setting"]["suggested"] == "severe" and picture["care_setting"]["text"].startswith("Suggested")
    # creatinine 150 umol/L with the Greek mu (failed before QA): 1.70 mg/dL -> CKD-EPI 2021 male 83 = 39.3, G3b
    assert picture["renal"]["g_stage"] == "G3b" and picture["renal"]["egfr_computed"] is True

    assert main(["recommend", "--records", str(bundle), "--patient", "Q1", "--no-model", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["setting"] == "severe" and result["setting_source"] == "sepsis"
    scores = {s["name"]: s for s in result["scores"]}
    # failed before QA: the plan's scores lacked their missing items, range and sentence in --json
    assert scores["CURB-65"]["sentence"] == curb["sentence"] and scores["PSI"]["possible_range"][0] == 173
    assert result["groups"][0]["condition_id"] == "cap_bacterial_or_unspecified"
    assert all(o["option_id"].startswith("cap_sev_") for o in result["options"])

    assert main(["recommend", "--records", str(bundle), "--patient", "Q1", "--no-model"]) == 0
    text = capsys.readouterr().out
    assert "care setting in use: severe / ICU" in text and "score: CURB-65 5 of 5" in text


def test_cli_recommend_on_a_synthea_csv_folder(tmp_path, capsys):
    folder = tmp_path / "csv"
    folder.mkdir()
    born = (dt.date.today() - dt.timedelta(days=round(76.3 * 365.25))).isoformat()
    day = dt.date.today().isoformat()
    (folder / "patients.csv").write_text(f"Id,BIRTHDATE,FIRST,LAST,GENDER\nA1,{born},Ada,Fib,F\n", encoding="utf-8")
    (folder / "conditions.csv").write_text(
        "START,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION\n"
        "2020-01-01,,A1,,49436004,Atrial fibrillation (disorder)\n2019-01-01,,A1,,59621000,Essential hypertension (disorder)\n",
        encoding="utf-8")
    (folder / "observations.csv").write_text(
        "DATE,PATIENT,ENCOUNTER,CODE,DESCRIPTION,VALUE,UNITS,TYPE\n"
        f"{day},A1,,29463-7,Body Weight,58,kg,numeric\n{day},A1,,2160-0,Creatinine,1.3,mg/dL,numeric\n"
        f"{day},A1,,8867-4,Heart rate,88,/min,numeric\n", encoding="utf-8")
    assert main(["recommend", "--records", str(folder), "--patient", "A1", "--no-model", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    # CHA2DS2-VA: age 76 2 + hypertension 1 = 3 -> DOAC first line. Apixaban: age 76 (< 80), weight 58 (<= 60),
    # creatinine 1.3 (< 1.5): 1 of 3 -> 5 mg twice daily. CrCl = (140 - 76.3) x 58 / (72 x 1.3) x 0.85 = 33.5:
    # rivaroxaban 15 mg; edoxaban 30 mg
    scores = {s["name"]: s for s in result["scores"]}
    assert scores["CHA2DS2-VA"]["points"] == 3 and scores["CHA2DS2-VA"]["sentence"].startswith("CHA2DS2-VA 3 of 8")
    doses = {o["option_id"]: o["dose_for_patient"] for o in result["options"]}
    assert doses["af_apixaban"].startswith("5 mg twice daily")
    assert doses["af_rivaroxaban"].startswith("15 mg once daily") and doses["af_edoxaban"].startswith("30 mg once daily")


def test_cli_on_a_fhir_patient_without_birth_date_sex_or_weight(tmp_path, capsys):
    old = (dt.date.today() - dt.timedelta(days=700)).isoformat()
    subject = {"reference": "Patient/Q2"}
    entries = [
        {"resource": {"resourceType": "Patient", "id": "Q2"}},
        {"resource": {"resourceType": "Condition", "id": "c1", "subject": subject, "onsetDateTime": f"{old}T10:00:00Z",
                      "code": {"coding": [{"system": "http://snomed.info/sct", "code": "49436004",
                                           "display": "Atrial fibrillation"}]}}},
        {"resource": {"resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order",
                      "subject": subject, "medicationCodeableConcept": {"text": "Meloxicam 15 MG Oral Tablet"}}},
        {"resource": {"resourceType": "Observation", "id": "o1", "status": "final", "subject": subject,
                      "code": {"coding": [{"system": "http://loinc.org", "code": "2160-0"}]},
                      "effectiveDateTime": f"{old}T10:00:00Z", "valueQuantity": {"value": 1.1, "unit": "mg/dL"}}},
    ]
    bundle = tmp_path / "bare.json"
    bundle.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}), encoding="utf-8")
    assert main(["recommend", "--records", str(bundle), "--patient", "Q2", "--no-model", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    # CHA2DS2-VA without age: 0 counted, the age item (up to 2) missing -> 0-2 straddles 1 and 2: anticoagulation
    # undecided and asked, never "not indicated"; CHA2DS2-VASc also misses the sex category (0-3)
    scores = {s["name"]: s for s in result["scores"]}
    assert scores["CHA2DS2-VA"]["possible_range"] == [0, 2] and scores["CHA2DS2-VASc"]["possible_range"] == [0, 3]
    [group] = [g for g in result["groups"] if g["condition_id"] == "atrial_fibrillation"]
    assert {p["pillar"]: p["status"] for p in group["pillars"]}["anticoagulation"] == "undecided"
    # the NSAID is a modifiable bleeding factor -> stop; its kidney check says why there is no eGFR (a creatinine
    # without age and sex cannot give one: CKD-EPI 2021 needs both), not "no creatinine"
    assert next(t for t in result["current_therapy"] if "meloxicam" in t["ingredients"])["action"] == "stop"
    assert any("creatinine (1.1 mg/dL" in q and "without an adult's age and sex" in q for q in result["questions"])
