"""Pneumonia severity from the record: CURB-65 (and CRB-65), PSI/PORT, qSOFA, NEWS2 and the ATS/IDSA
severe-CAP criteria on hand-written vignettes, and the care setting the scores suggest.

Every expected value is computed by hand in the comment above its assertion, from the published
tables (Lim 2003 / BTS 2009; Fine 1997 Table 2; Seymour 2016; RCP NEWS2 2017 Chart 1; Metlay 2019 Table 1).
"""

from __future__ import annotations

import pytest

from medassist.clinical.scores import psi_lowest_class
from medassist.domain.result_text import care_setting_text, score_item_line, score_sentence
from tests.clinical.vignettes import Vignette

CAP = ("Community acquired pneumonia", "385093006")


def severe_cap() -> Vignette:
    """83-year-old man, pneumonia today: confused, RR 32, BP 88/52, pulse 118, SpO2 89% on air, T 38.4,
    BUN 32 mg/dL, Na 131, glucose 142, haematocrit 38%, WBC 17.2, platelets 210, lactate 2.9; last
    year's normal values must not be used."""
    v = Vignette(83.3, "male").visit(330, "ambulatory").visit(0)
    for name, value in (("respiratory_rate", 16), ("systolic_bp", 138), ("diastolic_bp", 78), ("heart_rate", 72),
                        ("urea_nitrogen", 15)):
        v.measure(name, value, days_ago=330)
    for name, value in (("respiratory_rate", 32), ("systolic_bp", 88), ("diastolic_bp", 52), ("heart_rate", 118),
                        ("oxygen_saturation", 89), ("body_temperature", 38.4), ("urea_nitrogen", 32), ("sodium", 131),
                        ("glucose", 142), ("hematocrit", 38), ("wbc", 17.2), ("platelets", 210), ("lactate", 2.9)):
        v.measure(name, value)
    v.problem("Essential hypertension", "59621000", 4000).problem(*CAP, days_ago=0)
    v.note("83-year-old man with 3 days of cough and fever. Lives with his wife. On examination: confused, "
           "disoriented to time and place; RR 32, SpO2 89% on air, BP 88/52, pulse 118. Impression: severe "
           "community-acquired pneumonia.")
    return v


def test_severe_cap_scores_from_the_current_episode_only():
    picture = severe_cap().picture()
    # CURB-65: confusion 1 (note) + urea 32/2.801 = 11.4 mmol/L > 7 -> 1 + RR 32 >= 30 -> 1
    #          + SBP 88 < 90 -> 1 + age 83 >= 65 -> 1 = 5 of 5 (last year's RR 16 / BUN 15 are not used)
    curb = picture.scores["CURB-65"]
    assert (curb.points, curb.missing, curb.level) == (5, (), "high")
    assert "intensive care" in curb.recommendation
    urea = next(i for i in curb.items if i.criterion.startswith("Urea"))
    assert "urea 11.4 mmol/L" in urea.value and "2026-12-07" in urea.source
    # qSOFA: RR 32 >= 22 -> 1, SBP 88 <= 100 -> 1, altered mentation -> 1 = 3
    assert picture.scores["qSOFA"].points == 3
    # NEWS2 chart 1: RR 32 (>= 25) 3, SpO2 89 scale 1 (<= 91) 3, air 0, SBP 88 (<= 90) 3, pulse 118 (111-130) 2,
    #                new confusion 3, T 38.4 (38.1-39.0) 1 = 15
    news2 = picture.scores["NEWS2"]
    assert (news2.points, news2.missing, news2.level) == (15, (), "high")
    assert "scale 1" in news2.items[1].criterion
    # PSI: male age 83 + nursing home 0 (lives with his wife) + comorbidities 0 + altered mental status 20
    #      + RR >= 30 20 + SBP < 90 20 + T 38.4 0 + pulse 118 0 + BUN >= 30 20 + Na 131 0 + glucose 142 0
    #      + Hct 38 0 + SpO2 89 < 90 10 = 173; arterial pH (30) and pleural effusion (10) missing -> 173-213,
    #      class V (> 130) whatever they are
    psi = picture.scores["PSI"]
    assert (psi.points, psi.possible_range) == (173, (173, 213))
    assert set(psi.missing) == {"Arterial pH < 7.35", "Pleural effusion (radiograph)"}
    assert psi.band.startswith("class V") and psi_lowest_class(psi) == "V"
    # ATS/IDSA 2019 minor criteria: RR >= 30, confusion, BUN >= 20 = 3 -> severe CAP
    severe = picture.scores["ATS/IDSA severe CAP"]
    assert severe.level == "high" and "3 minor criteria" in severe.band


def test_severe_cap_suggests_intensive_care_and_names_the_sepsis_signs():
    picture = severe_cap().picture()
    setting = picture.care_setting
    assert setting.chosen is None and setting.suggested == "severe"
    assert "CURB-65 5 of 5" in setting.reason and "Metlay 2019" in setting.reason
    assert "Suggested by the scores: severe" in care_setting_text(setting)
    signs = " | ".join(picture.sepsis_signs)
    # qSOFA 3 >= 2; NEWS2 15 >= 7; lactate 2.9 >= 2 (and < 4)
    assert "qSOFA 3 of 3" in signs and "NEWS2 15 of 20" in signs and "Lactate 2.9 mmol/L, 2026-12-07" in signs
    assert "4 mmol/L or more" not in signs


def test_clinician_choice_is_kept_beside_the_suggestion():
    picture = severe_cap().picture(setting="inpatient")
    assert (picture.care_setting.chosen, picture.care_setting.suggested) == ("inpatient", "severe")
    assert "Chosen by the clinician: hospital ward" in care_setting_text(picture.care_setting)


def test_urea_in_mmol_per_litre_and_the_thresholds_at_their_edges():
    def curb(urea_mmol: float):
        v = Vignette(70, "male").visit(0).problem(*CAP, days_ago=0)
        v.measure("urea_nitrogen", urea_mmol, "mmol/L", code="22664-7")  # urea [moles/volume]
        v.measure("respiratory_rate", 30).measure("systolic_bp", 95).measure("diastolic_bp", 60)
        v.note("Alert and oriented.")
        return v.picture().scores["CURB-65"]

    # urea 7.0 mmol/L is not > 7: 0; RR 30 >= 30: 1; DBP 60 <= 60: 1; age 70: 1; alert: 0 -> 3
    assert curb(7.0).points == 3
    # urea 7.1 mmol/L > 7: 1 -> 4
    assert curb(7.1).points == 4


def test_psi_complete_at_the_class_iv_boundary():
    # 70-year-old woman with heart failure, alert, living alone: age 70 - 10 = 60 + nursing home 0 + CHF 10
    # + RR 26 0 + SBP 100 0 + T 37.8 0 + pulse 110 0 + pH 7.38 0 + BUN 35 >= 30 20 + Na 128 < 130 20
    # + glucose 180 0 + Hct 34 0 + PaO2 58 < 60 10 + pleural effusion 10 = 130 -> class IV (91-130), complete
    v = Vignette(70, "female").visit(0).problem(*CAP, days_ago=0).problem("Chronic congestive heart failure", "88805009")
    for name, value in (("respiratory_rate", 26), ("systolic_bp", 100), ("diastolic_bp", 70), ("heart_rate", 110),
                        ("body_temperature", 37.8), ("arterial_ph", 7.38), ("urea_nitrogen", 35), ("sodium", 128),
                        ("glucose", 180), ("hematocrit", 34), ("pao2", 58), ("oxygen_saturation", 91), ("wbc", 9),
                        ("platelets", 250)):
        v.measure(name, value)
    v.note("Lives alone. Alert and oriented. On 2 L oxygen. Chest radiograph: small left pleural effusion.")
    picture = v.picture()
    psi = picture.scores["PSI"]
    assert (psi.points, psi.missing) == (130, ())
    assert psi.band.startswith("class IV") and psi.level == "high"
    # CURB-65: confusion 0, urea 35/2.801 = 12.5 > 7 -> 1, RR 26 0, BP 100/70 0, age 70 -> 1 = 2
    assert picture.scores["CURB-65"].points == 2
    # qSOFA: RR 26 >= 22 -> 1, SBP 100 <= 100 -> 1, alert 0 = 2 (a sepsis sign)
    assert picture.scores["qSOFA"].points == 2
    # NEWS2: RR 26 3, SpO2 91 (scale 1) 3, oxygen 2, SBP 100 2, pulse 110 1, alert 0, T 37.8 0 = 11
    assert picture.scores["NEWS2"].points == 11
    assert picture.care_setting.suggested == "inpatient"
    assert "PSI class IV" in picture.care_setting.reason


def test_values_from_before_the_episode_are_missing_not_used():
    # Pneumonia today with only BP 130/80 and pulse 90 measured; RR 32 and BUN 40 are from 200 days ago.
    v = Vignette(70, "male").visit(200, "ambulatory").visit(0).problem(*CAP, days_ago=0)
    v.measure("respiratory_rate", 32, days_ago=200).measure("urea_nitrogen", 40, days_ago=200)
    v.measure("systolic_bp", 130).measure("diastolic_bp", 80).measure("heart_rate", 90)
    picture = v.picture()
    curb = picture.scores["CURB-65"]
    # counted: BP 130/80 0 + age 70 1 = 1; missing: confusion, urea, RR (1 each) -> 1-4
    assert (curb.points, curb.possible_range) == (1, (1, 4))
    assert len(curb.missing) == 3
    rr = next(i for i in curb.items if i.criterion.startswith("Respiratory"))
    assert rr.points is None and "32/min" in rr.source and "is not used" in rr.source
    assert "missing (could add up to +1)" in score_item_line(rr)
    # CRB-65 (urea missing): 1 counted (age), 1-3; BTS 2009: 1-2 -> consider hospital referral
    crb = picture.scores["CRB-65"]
    assert (crb.points, crb.possible_range) == (1, (1, 3))
    assert picture.care_setting.suggested == "inpatient" and "CRB-65" in picture.care_setting.reason
    # qSOFA knows only the SBP (130: 0), NEWS2 only SBP and pulse: too few of their inputs to be shown
    assert "qSOFA" not in picture.scores and "only 1 of its 3 inputs" in picture.not_scored["qSOFA"]
    assert "only 2 of its 7 inputs" in picture.not_scored["NEWS2"]
    assert "Not counted (missing)" in score_sentence(curb)


def test_low_risk_pneumonia_may_be_treated_at_home():
    # 40-year-old woman: RR 20, BP 120/75, pulse 88, SpO2 97% on air, T 37.9, BUN 12, alert and oriented
    v = Vignette(40, "female").visit(0).problem(*CAP, days_ago=0)
    for name, value in (("respiratory_rate", 20), ("systolic_bp", 120), ("diastolic_bp", 75), ("heart_rate", 88),
                        ("oxygen_saturation", 97), ("body_temperature", 37.9), ("urea_nitrogen", 12), ("sodium", 138),
                        ("glucose", 100), ("hematocrit", 40)):
        v.measure(name, value)
    v.note("Alert and oriented. SpO2 97% on room air.")
    picture = v.picture()
    # CURB-65: 0 on every item, none missing
    assert (picture.scores["CURB-65"].points, picture.scores["CURB-65"].missing) == (0, ())
    # NEWS2: RR 20 0, SpO2 97 0, air 0, SBP 120 0, pulse 88 0, alert 0, T 37.9 0 = 0
    assert picture.scores["NEWS2"].points == 0
    # PSI step 1: 40 <= 50, no comorbidity, no abnormal vital sign or mental status -> class I (labs not needed)
    assert picture.scores["PSI"].band.startswith("class I (step 1")
    assert picture.care_setting.suggested == "outpatient" and not picture.sepsis_signs


def test_a_vasopressor_is_a_major_criterion_and_suggests_intensive_care():
    v = Vignette(60, "male").visit(0).problem(*CAP, days_ago=0).drug("Noradrenaline 4 MG in 50 ML infusion", 0)
    for name, value in (("respiratory_rate", 24), ("systolic_bp", 95), ("diastolic_bp", 58), ("heart_rate", 120),
                        ("urea_nitrogen", 15)):
        v.measure(name, value)
    v.note("Alert and oriented.")
    picture = v.picture()
    severe = picture.scores["ATS/IDSA severe CAP"]
    assert severe.level == "high" and "major criterion" in severe.band
    # CURB-65: DBP 58 <= 60 -> 1 only = 1; the major criterion still makes it severe
    assert picture.scores["CURB-65"].points == 1
    assert picture.care_setting.suggested == "severe"


def test_a_child_with_pneumonia_gets_no_adult_score_and_no_suggested_setting():
    v = Vignette(4.1, "female", weight_kg=16.4).visit(0).problem("Pneumonia", "233604007", 0)
    for name, value in (("respiratory_rate", 38), ("heart_rate", 140), ("oxygen_saturation", 93),
                        ("body_temperature", 39.2), ("systolic_bp", 95)):
        v.measure(name, value)
    picture = v.picture()
    assert not {"CURB-65", "PSI", "qSOFA", "NEWS2", "ATS/IDSA severe CAP"} & set(picture.scores)
    assert "validated from 18 years" in picture.not_scored["CURB-65"]
    assert "validated from 16 years" in picture.not_scored["NEWS2"]
    assert picture.care_setting.suggested is None
    assert "children" in picture.care_setting.reason


@pytest.mark.parametrize("text, expected", [
    ("Alert and oriented.", 0),
    ("GCS 15/15.", 0),
    ("Confused, GCS 13.", 1),
    ("AMT 7/10.", 1),  # abbreviated mental test 8 or less (BTS 2009)
    ("No confusion.", 0),
    ("Return if confused.", None),  # hypothetical: says nothing about now
    ("Confused on arrival; now alert and orientated.", 0),  # the last statement wins
])
def test_confusion_comes_from_the_newest_note_of_the_episode(text, expected):
    v = Vignette(70, "male").visit(30, "ambulatory").visit(0).problem(*CAP, days_ago=0)
    v.note("Very confused and disoriented.", days_ago=30, title="Old note")  # before this episode: not used
    v.note(text)
    v.measure("respiratory_rate", 20).measure("systolic_bp", 120).measure("diastolic_bp", 80).measure("urea_nitrogen", 10)
    item = v.picture().scores["CURB-65"].items[0]
    assert item.points == expected


def test_a_coded_delirium_of_this_episode_is_confusion():
    v = Vignette(70, "male").visit(0).problem(*CAP, days_ago=0).problem("Delirium", "2776000", days_ago=0)
    v.measure("respiratory_rate", 20)
    assert v.picture().scores["CURB-65"].items[0].points == 1


def test_without_encounters_the_episode_is_the_newest_observations_day_and_the_day_before():
    # no encounter: today's RR 31 and SBP 85, yesterday's BUN 25 mg/dL (urea 8.9 mmol/L) belong to this
    # episode; a confusion-free note today; age 70 -> CURB-65 = urea 1 + RR 1 + BP 1 + age 1 = 4.
    # A DBP of 55 from 10 days ago is not used (SBP 85 < 90 scores the BP item anyway).
    v = Vignette(70, "male").problem(*CAP, days_ago=0)
    v.measure("respiratory_rate", 31).measure("systolic_bp", 85).measure("urea_nitrogen", 25, days_ago=1)
    v.measure("diastolic_bp", 55, days_ago=10).note("Alert and oriented.")
    picture = v.picture()
    curb = picture.scores["CURB-65"]
    assert (curb.points, curb.missing) == (4, ())
    assert "diastolic_bp" not in picture.current_measures and "urea_nitrogen" in picture.current_measures


def test_observations_after_the_latest_encounter_ended_start_a_new_episode():
    # an encounter 300 days ago with RR 32 and BUN 40; today's RR 18 and SBP 120 without an encounter:
    # last year's BUN is not this episode's. CURB-65 = RR 0 + BP 0 (DBP missing: SBP 120 alone cannot rule it
    # out) + age 1; urea and confusion missing -> 1 (1-4) and CRB-65 is computed instead of using old urea.
    v = Vignette(70, "male").visit(300, "inpatient").problem(*CAP, days_ago=0)
    v.measure("respiratory_rate", 32, days_ago=300).measure("urea_nitrogen", 40, days_ago=300)
    v.measure("respiratory_rate", 18).measure("systolic_bp", 120)
    picture = v.picture()
    assert picture.episode_start.isoformat() == "2026-12-06"
    assert picture.scores["CURB-65"].possible_range == (1, 4) and "CRB-65" in picture.scores


def test_scores_are_found_by_name_whatever_its_spelling():
    picture = severe_cap().picture()
    assert picture.scores["curb65"] is picture.scores["CURB-65"]
    assert "PSI/PORT" in picture.scores and picture.scores.get("Pneumonia Severity Index").name == "PSI"
    assert picture.scores.get("CHA\u2082DS\u2082-VASc") is None and "HAS-BLED" not in picture.scores


def test_a_vasopressor_from_an_earlier_admission_left_unstopped_is_not_todays():
    # Noradrenaline started 400 days ago and never stopped in the record: not this episode's septic shock
    v = Vignette(60, "male").visit(0).problem(*CAP, days_ago=0).drug("Norepinephrine 1 MG/ML Injection", 400)
    v.measure("respiratory_rate", 20).measure("systolic_bp", 120).measure("diastolic_bp", 80)
    major = v.picture().scores["ATS/IDSA severe CAP"].items[0]
    assert (major.points, major.value) == (0, "none")


def test_a_pneumonia_coded_long_before_this_episode_gets_no_severity_score():
    # pneumonia coded 200 days ago, never resolved in the record; today a clinic visit with full observations
    v = Vignette(70, "male").visit(0, "ambulatory").problem(*CAP, days_ago=200)
    for name, value in (("respiratory_rate", 16), ("systolic_bp", 130), ("heart_rate", 70)):
        v.measure(name, value)
    picture = v.picture()
    assert "CURB-65" not in picture.scores and "more than 28 days before this episode" in picture.not_scored["CURB-65"]
    assert picture.care_setting.suggested is None and "dates from" in picture.care_setting.reason


def test_an_adrenaline_auto_injector_is_not_a_vasopressor():
    v = Vignette(30, "female").visit(0).problem(*CAP, days_ago=0).drug("Epinephrine 0.3 MG Auto-Injector", 0)
    v.measure("respiratory_rate", 20).measure("systolic_bp", 120).measure("diastolic_bp", 80)
    assert v.picture().scores["ATS/IDSA severe CAP"].items[0].points == 0
