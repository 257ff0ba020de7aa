"""Reference ranges for the patient's age and sex: a child's vital signs by PALS age band (a
4-year-old's respiratory rate of 22/min is normal), no adult lab range forced on a child, the WHO
haemoglobin thresholds by sex and pregnancy, and the H/L flags of the latest-values table."""

from __future__ import annotations

import pytest

from medassist.clinical.ranges import flag, flagged_values, reference_range
from tests.clinical.vignettes import Vignette


@pytest.mark.parametrize("measure, value, age, expected", [
    ("respiratory_rate", 22, 4.1, ""),    # PALS preschool 3-5 years: 20-28
    ("respiratory_rate", 22, 40, "H"),    # adult 12-20
    ("respiratory_rate", 38, 4.1, "H"),
    ("heart_rate", 105, 4.1, ""),         # PALS preschool: 80-120 (adult 60-100 would flag it)
    ("heart_rate", 170, 0.8, ""),         # PALS infant: 100-190
    ("heart_rate", 95, 0.8, "L"),
    ("heart_rate", 150, 2.0, "H"),        # PALS toddler 1-2 years: 98-140
    ("systolic_bp", 95, 4.1, ""),         # PALS preschool 89-112 (adult 90-130)
    ("systolic_bp", 95, 13, "L"),         # PALS adolescent 12-15 years: 110-131
    ("heart_rate", 105, 16.5, "H"),       # from 16 years: adult 60-100
    ("body_temperature", 39.3, 4.1, "H"),  # the adult range holds for children
])
def test_vital_signs_are_judged_for_the_age(measure, value, age, expected):
    assert flag(value, reference_range(measure, age)) == expected


def test_a_child_has_no_adult_lab_range_forced_on_her():
    assert reference_range("creatinine", 4.1) is None and reference_range("wbc", 4.1) is None
    assert reference_range("creatinine", 40) is not None
    assert reference_range("potassium", 0.5) is None and reference_range("potassium", 4.1) is not None


def test_haemoglobin_lower_limit_by_sex_and_pregnancy():
    # WHO 2011: anaemia below 13.0 g/dL in men, 12.0 in non-pregnant women, 11.0 in pregnancy
    assert flag(12.5, reference_range("hemoglobin", 40, "male")) == "L"
    assert flag(12.5, reference_range("hemoglobin", 40, "female")) == ""
    assert flag(11.5, reference_range("hemoglobin", 30, "female", pregnant=True)) == ""
    assert flag(11.5, reference_range("hemoglobin", 30, "female")) == "L"


def test_the_childs_latest_values_are_flagged_for_her_age():
    v = Vignette(4.1, "female").visit(200, "wellness").visit(0)
    v.measure("respiratory_rate", 22, days_ago=200).measure("heart_rate", 100, days_ago=0).measure("creatinine", 0.4)
    rows = {r.measure: r for r in flagged_values(v.picture())}
    # latest RR is the 22/min of the wellness visit: normal for 3-5 years; HR 100 normal for her age
    assert (rows["respiratory_rate"].flag, rows["heart_rate"].flag) == ("", "")
    assert "PALS" in rows["respiratory_rate"].reference.source
    assert rows["creatinine"].reference is None and rows["creatinine"].note.startswith("no paediatric range")
