"""CHA2DS2-VASc (Lip et al., Chest 2010) and CHA2DS2-VA (ESC 2024), hand-computed on pictures built in code."""

from __future__ import annotations

import datetime as _dt

from medassist.clinical.scores import cha2ds2_va, cha2ds2_vasc
from medassist.domain.clinical import ActiveProblem, Age, ClinicalPicture, EvidenceKind, Measurement, ProblemEvidence, RenalFunction

TODAY = _dt.date(2026, 12, 1)


def picture(age: float | None, sex: str, *concepts: str, ef: float | None = None) -> ClinicalPicture:
    problems = [ActiveProblem(c, c, (ProblemEvidence(EvidenceKind.RECORD, c),)) for c in concepts]
    return ClinicalPicture(
        patient_id="p", on=TODAY, episode_start=TODAY, age=None if age is None else Age(age, TODAY), sex=sex, weight=None,
        height=None, pregnant=None, pregnancy_source="", renal=RenalFunction(), problems=problems,
        ejection_fraction=None if ef is None else Measurement(ef, "%", TODAY, "test"),
    )


def test_every_item_counts_its_points():
    # C (heart failure) 1 + H 1 + A2 (age 80) 2 + D 1 + S2 (stroke) 2 + V (coronary disease) 1 + Sc (female) 1 = 9
    full = picture(80, "female", "heart_failure", "hypertension", "diabetes", "stroke", "coronary_artery_disease")
    assert cha2ds2_vasc(full).points == 9 and cha2ds2_vasc(full).maximum == 9
    assert cha2ds2_va(full).points == 8 and cha2ds2_va(full).maximum == 8  # the sex category is gone


def test_age_bands_and_sex():
    # 64 -> 0, 65 -> 1, 74.9 -> 1, 75 -> 2; a woman of 70 with hypertension: VASc 1 + 1 + 1 = 3, VA 2.
    assert [cha2ds2_va(picture(a, "male")).points for a in (64, 65, 74.9, 75)] == [0, 1, 1, 2]
    woman = picture(70, "female", "hypertension")
    assert cha2ds2_vasc(woman).points == 3 and cha2ds2_va(woman).points == 2
    assert "recommended" in cha2ds2_vasc(woman).band and "recommended" in cha2ds2_va(woman).band


def test_reduced_ejection_fraction_counts_as_lv_dysfunction():
    assert cha2ds2_va(picture(50, "male", ef=35)).points == 1
    assert cha2ds2_va(picture(50, "male", ef=55)).points == 0


def test_missing_age_or_sex_gives_the_range_never_zero():
    # Hypertension 1 known; age unknown (0-2): CHA2DS2-VA 1-3, undecided; sex unknown adds 0-1 to CHA2DS2-VASc.
    va = cha2ds2_va(picture(None, "male", "hypertension"))
    assert va.possible_range == (1, 3) and va.missing and "cannot be decided" in va.band
    vasc = cha2ds2_vasc(picture(70, "unknown", "hypertension"))
    assert vasc.possible_range == (2, 3) and "Sex category (female)" in vasc.missing
