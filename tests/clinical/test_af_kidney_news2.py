"""Atrial fibrillation (CHA2DS2-VASc, CHA2DS2-VA, HAS-BLED), kidney function (CKD-EPI 2021 from
creatinine, KDIGO 2024 G/A and risk) and NEWS2's own rules (SpO2 scale 2, oxygen, pregnancy) on
hand-written vignettes; every expected value is computed by hand in its comment."""

from __future__ import annotations

import pytest

from medassist.domain.result_text import score_sentence, score_value_text
from tests.clinical.vignettes import Vignette

AF = ("Atrial fibrillation", "49436004")


def test_af_with_many_risk_factors():
    # 72-year-old woman: AF, hypertension, diabetes, ischaemic stroke, heart failure; warfarin and aspirin;
    # SBP 168, creatinine 1.1 mg/dL, alcohol dependence.
    v = (Vignette(72, "female").visit(10, "ambulatory").problem(*AF).problem("Essential hypertension", "59621000")
         .problem("Type 2 diabetes mellitus", "44054006").problem("Cerebral infarction", "I63.9", system="ICD-10")
         .problem("Heart failure", "84114007").problem("Alcohol dependence", "F10.2", system="ICD-10")
         .drug("Warfarin Sodium 5 MG Oral Tablet").drug("Aspirin 75 MG Oral Tablet"))
    v.measure("systolic_bp", 168, days_ago=10).measure("creatinine", 1.1, days_ago=10)
    scores = v.picture().scores
    # CHA2DS2-VASc: C 1 + H 1 + A (65-74) 1 + D 1 + S 2 + V 0 + Sc (female) 1 = 7
    vasc = scores["CHA2DS2-VASc"]
    assert (vasc.points, vasc.missing, vasc.level) == (7, (), "high")
    # CHA2DS2-VA (ESC 2024, no sex category): 7 - 1 = 6 of 8
    assert (scores["CHA2DS2-VA"].points, scores["CHA2DS2-VA"].maximum) == (6, 8)
    # HAS-BLED: H SBP 168 > 160 1 + renal (Cr 1.1 < 2.26) 0 + liver 0 + stroke 1 + bleeding 0
    #           + labile INR missing (on warfarin, TTR not recorded) + elderly 72 > 65 1 + drugs (aspirin) 1
    #           + alcohol 1 = 5, 5-6 with the INR item
    bled = scores["HAS-BLED"]
    assert (bled.points, bled.possible_range, bled.level) == (5, (5, 6), "high")
    assert bled.missing == ("Labile INR (time in therapeutic range < 60%; modifiable)",)
    for modifiable in ("Uncontrolled hypertension: 168 mmHg", "Drugs: Aspirin 75 MG Oral Tablet", "Alcohol"):
        assert modifiable in bled.recommendation


def test_af_alone_in_a_young_man_is_low_risk():
    # 60-year-old man, AF only, SBP 130, creatinine 0.9, no drugs: CHA2DS2-VASc 0, CHA2DS2-VA 0, HAS-BLED 0
    v = Vignette(60, "male").visit(5, "ambulatory").problem(*AF)
    v.measure("systolic_bp", 130, days_ago=5).measure("creatinine", 0.9, days_ago=5)
    scores = v.picture().scores
    assert scores["CHA2DS2-VASc"].points == 0 and scores["CHA2DS2-VASc"].level == "low"
    assert scores["CHA2DS2-VA"].points == 0 and "no anticoagulation" in scores["CHA2DS2-VA"].recommendation
    assert (scores["HAS-BLED"].points, scores["HAS-BLED"].missing) == (0, ())


def test_female_sex_alone_does_not_raise_the_treatment_band():
    # 66-year-old woman, AF only: CHA2DS2-VASc = age 65-74 1 + female 1 = 2, but 1 without sex:
    # "should be considered" (ESC 2020); CHA2DS2-VA = 1: the same band (ESC 2024)
    scores = Vignette(66, "female").visit(5, "ambulatory").problem(*AF).picture().scores
    assert scores["CHA2DS2-VASc"].points == 2 and scores["CHA2DS2-VASc"].level == "moderate"
    assert scores["CHA2DS2-VA"].points == 1 and scores["CHA2DS2-VA"].level == "moderate"


def test_ef_40_or_less_counts_as_lv_dysfunction_and_unknown_sex_is_missing():
    # AF, 80 years, LVEF 35% recorded, sex unknown: C 1 (EF <= 40) + A 2 = 3, sex missing -> 3-4
    v = Vignette(80, "unknown").visit(3, "ambulatory").problem(*AF).measure("lvef", 35, days_ago=3)
    vasc = v.picture().scores["CHA2DS2-VASc"]
    assert (vasc.points, vasc.possible_range) == (3, (3, 4))
    assert score_value_text(vasc) == "3 of 9 (3-4 with the missing items)"


def test_egfr_computed_from_creatinine_in_micromoles_and_kdigo_stage():
    # 70-year-old woman, creatinine 106 umol/L (LOINC 14682-9) = 106 / 88.42 = 1.199 mg/dL, no eGFR recorded:
    # CKD-EPI 2021: 142 x (1.199/0.7)^-1.200 x 0.9938^70 x 1.012 = 142 x 0.5235 x 0.6470 x 1.012 = 48.7 -> G3a
    # urine ACR 45 mg/g -> A2; KDIGO risk G3a/A2: high. Cockcroft-Gault, 60 kg:
    # (140 - 70) x 60 / (72 x 1.199) x 0.85 = 41.4 mL/min
    v = Vignette(70, "female", weight_kg=60).visit(2, "ambulatory")
    v.measure("creatinine", 106, "umol/L", days_ago=2, code="14682-9").measure("urine_acr", 45, days_ago=2)
    picture = v.picture()
    renal = picture.renal
    assert renal.egfr_computed and renal.egfr.value == pytest.approx(48.7, abs=0.2)
    assert renal.egfr.source.startswith("computed: CKD-EPI 2021 from creatinine 1.20 mg/dL")
    assert renal.crcl.value == pytest.approx(41.4, abs=0.2)
    kdigo = picture.scores["KDIGO"]
    assert (renal.g_stage, renal.a_stage, kdigo.stage, kdigo.level) == ("G3a", "A2", "G3a A2", "high")
    assert "risk high" in kdigo.band and score_value_text(kdigo) == "G3a A2"


def test_a_newer_creatinine_replaces_an_older_recorded_egfr():
    # eGFR 75 recorded 400 days ago; creatinine 1.2 mg/dL today (70-year-old woman): eGFR 48.7 (as above), G3a
    v = Vignette(70, "female").visit(400, "ambulatory").visit(0, "ambulatory")
    v.measure("egfr", 75, days_ago=400).measure("creatinine", 1.2, days_ago=0)
    renal = v.picture().renal
    assert renal.egfr_computed and renal.egfr.value == pytest.approx(48.7, abs=0.1) and renal.g_stage == "G3a"
    assert "the recorded eGFR 75 is older" in renal.egfr.source


def test_kdigo_g4_is_very_high_risk_without_albuminuria():
    # recorded eGFR 25 -> G4; KDIGO: G4 and G5 are very high risk at any albuminuria
    picture = Vignette(69, "male").visit(2, "ambulatory").measure("egfr", 25, days_ago=2).picture()
    kdigo = picture.scores["KDIGO"]
    assert (kdigo.stage, kdigo.level) == ("G4", "high") and "risk very high" in kdigo.band
    assert kdigo.missing == ("Albuminuria category",)


def copd_patient(spo2: float, oxygen_words: str, hypercapnic: bool) -> Vignette:
    v = Vignette(68, "female").visit(0)
    if hypercapnic:
        v.problem("Chronic respiratory failure with hypercapnia", "J96.12", system="ICD-10")
    for name, value in (("respiratory_rate", 18), ("oxygen_saturation", spo2), ("systolic_bp", 130),
                        ("heart_rate", 80), ("body_temperature", 37.0)):
        v.measure(name, value)
    return v.note(f"COPD exacerbation. Alert and oriented. SpO2 {spo2:g}% {oxygen_words}.")


def test_news2_uses_spo2_scale_2_only_when_the_record_says_hypercapnic():
    # scale 2 (coded hypercapnic respiratory failure), SpO2 90% on 2 L oxygen: SpO2 88-92 -> 0, oxygen 2,
    # other parameters 0 -> 2
    news2 = copd_patient(90, "on 2 L oxygen", True).picture().scores["NEWS2"]
    assert news2.points == 2 and "scale 2" in news2.items[1].criterion
    # scale 1 (nothing recorded), the same patient: SpO2 90 (<= 91) -> 3, oxygen 2 -> 5
    news2 = copd_patient(90, "on 2 L oxygen", False).picture().scores["NEWS2"]
    assert news2.points == 5 and "scale 1 (no hypercapnic" in news2.items[1].criterion
    # scale 2, SpO2 95% on oxygen: 95-96 on oxygen -> 2, oxygen 2 -> 4
    assert copd_patient(95, "on 2 L oxygen", True).picture().scores["NEWS2"].points == 4
    # scale 2, SpO2 95% on air: >= 93 on air -> 0
    assert copd_patient(95, "on room air", True).picture().scores["NEWS2"].points == 0


def test_news2_with_oxygen_unknown_gives_the_range():
    # scale 2, SpO2 95%, air or oxygen not stated: SpO2 item missing (up to 3) and oxygen item missing (up to 2)
    news2 = copd_patient(95, "today", True).picture().scores["NEWS2"]
    assert (news2.points, news2.possible_range) == (0, (0, 5))
    assert "depending on the missing items" in news2.band and news2.level == "unknown"
    assert "Not counted (missing)" in score_sentence(news2)


def test_news2_is_not_computed_in_pregnancy():
    v = Vignette(30, "female", pregnant=True).visit(0)
    for name, value in (("respiratory_rate", 18), ("heart_rate", 90), ("systolic_bp", 110)):
        v.measure(name, value)
    picture = v.picture()
    assert "NEWS2" not in picture.scores and "pregnancy" in picture.not_scored["NEWS2"]
    assert "qSOFA" in picture.scores  # qSOFA: RR 18 0, SBP 110 0, mentation missing -> 0 (0-1)
    assert picture.scores["qSOFA"].possible_range == (0, 1)


def test_albuminuria_reported_in_mg_per_mmol_is_categorised_in_its_own_unit():
    # KDIGO: A2 is 3-30 mg/mmol (30-300 mg/g). ACR 3.2 mg/mmol = 28.3 mg/g: A2 by the mg/mmol threshold
    # (a mg/g comparison of the converted value would say A1). eGFR 50 -> G3a; G3a/A2: high risk.
    v = Vignette(60, "female").visit(1, "ambulatory").measure("egfr", 50, days_ago=1)
    v.measure("urine_acr", 3.2, "mg/mmol", days_ago=1, code="14959-1")
    picture = v.picture()
    assert picture.renal.albuminuria.value == pytest.approx(28.3, abs=0.1)
    assert (picture.renal.a_stage, picture.scores["KDIGO"].level) == ("A2", "high")


def test_an_egfr_under_any_lab_equation_code_is_read():
    # 48642-3 (MDRD) and 88294-4 (CKD-EPI) are eGFRs labs report; 24 mL/min/1.73 m2 is KDIGO G4 (15-29)
    for code in ("48642-3", "88294-4"):
        picture = Vignette(70).visit(0).measure("egfr", 24, code=code).picture()
        assert picture.renal.egfr is not None and picture.renal.egfr.value == 24
        assert picture.renal.g_stage == "G4"


def test_a_diagnosis_that_states_the_ejection_fraction_band_is_shown_when_no_lvef_is_measured():
    # Universal definition of heart failure (Bozkurt et al. 2021): HFrEF is LVEF 40% or less; a measured LVEF wins
    from medassist.domain.result_text import picture_rows

    stated = Vignette(70).visit(0, "ambulatory").problem("HFrEF", "").picture()
    assert dict(picture_rows(stated))["LVEF"].startswith("not measured; the diagnosis says reduced ejection fraction "
                                                         "(40% or less): \u201cHFrEF\u201d")
    measured = Vignette(70).visit(0, "ambulatory").problem("HFrEF", "").measure("lvef", 35).picture()
    assert measured.ejection_fraction_band is None and dict(picture_rows(measured))["LVEF"].startswith("35%")
