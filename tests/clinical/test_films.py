"""Whose film, and from when (medassist.clinical.films): the header's name, ID, birth date, sex and age at
the study against the record, and the study date against the current episode. Vignettes written for the
purpose; each expected value is worked out in its comment."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from medassist.clinical.films import dicom_date, film_context, header_age_years, name_words
from medassist.domain.clinical import FilmIdentity, FilmRelation
from medassist.records.schema import PatientRecords

EPISODE = dt.date(2026, 12, 1)  # the latest encounter's start


def _record(given: str = "Agnes", family: str = "Specimen-Smith", born: str = "1940-03-05", sex: str = "female",
            pid: str = "DEMO-20") -> PatientRecords:
    return PatientRecords.from_frames(patients=pd.DataFrame(
        [{"patient_id": pid, "given_name": given, "family_name": family, "birth_date": born, "sex": sex}]))


def _header(**changes: str) -> dict[str, str]:
    header = {"patient_name": "Specimen-Smith Agnes", "patient_id": "DEMO-20", "patient_birth_date": "19400305",
              "patient_sex": "F", "patient_age": "086Y", "study_date": "20261203"}
    return header | changes


def test_a_film_whose_header_is_the_patients_matches_and_is_current():
    film = film_context(_header(), _record(), "DEMO-20", EPISODE)
    assert (film.identity, film.relation, film.study_date) == (FilmIdentity.MATCHES, FilmRelation.CURRENT, dt.date(2026, 12, 3))
    assert not film.withheld and film.identity_problems == ()


@pytest.mark.parametrize("name", [
    "SPECIMEN-SMITH AGNES",  # case
    "Agnes Specimen-Smith",  # order (given first)
    "Specimen Smith Agnes Mary",  # hyphen as a space, a middle name the record lacks
    "Spécimen-Smith Agnès",  # accents
    "Specimen-Smith A",  # the given name's initial
    "SPECIMEN-SMITH",  # the family name only: nothing said about the given name
])
def test_names_are_compared_as_words_in_any_order(name):
    assert film_context(_header(patient_name=name), _record(), "DEMO-20", EPISODE).identity == FilmIdentity.MATCHES


def test_synthea_digits_are_not_part_of_a_name():
    assert name_words("Jacinto644 Kris249") == ["jacinto", "kris"]
    record = _record(given="Jacinto644", family="Kris249", pid="p1")
    header = _header(patient_name="Kris Jacinto", patient_id="p1", patient_birth_date="", patient_age="", patient_sex="")
    assert film_context(header, record, "p1", EPISODE).identity == FilmIdentity.MATCHES


def test_a_wrong_patient_film_is_a_mismatch_naming_each_item():
    # the NEMA RG1 test film as published: "CompressedSamples^RG1", ID 9RG1, born 1940-03-05, female
    header = _header(patient_name="CompressedSamples RG1", patient_id="9RG1", patient_age="")
    film = film_context(header, _record(), "DEMO-20", EPISODE)
    assert film.identity == FilmIdentity.MISMATCH and film.withheld
    assert [(p.item, p.header, p.record) for p in film.identity_problems] == [
        ("name", "CompressedSamples RG1", "Agnes Specimen-Smith"), ("patient ID", "9RG1", "DEMO-20")]


def test_another_given_name_sex_or_birth_date_is_a_mismatch():
    assert [p.item for p in film_context(_header(patient_name="Specimen-Smith^John"), _record(), "DEMO-20",
                                         EPISODE).identity_problems] == ["name"]
    # a man's film on a woman's record: sex differs
    assert [p.item for p in film_context(_header(patient_sex="M"), _record(), "DEMO-20", EPISODE).identity_problems] == ["sex"]
    # born 1941-03-05 in the header, 1940-03-05 in the record
    film = film_context(_header(patient_birth_date="19410305"), _record(), "DEMO-20", EPISODE)
    assert [(p.item, p.header, p.record) for p in film.identity_problems] == [("birth date", "1941-03-05", "1940-03-05")]


def test_age_at_the_study_that_cannot_be_the_patients_is_a_mismatch():
    # header age 30 years on 2026-12-03; the record's age that day: 1940-03-05 -> 86.7 years: 56.7 > 1 year apart
    header = _header(patient_birth_date="", patient_age="030Y")
    [problem] = film_context(header, _record(), "DEMO-20", EPISODE).identity_problems
    assert (problem.item, problem.header, problem.record) == ("age at the study", "30 years", "86 years on 2026-12-03")
    # 086Y against 86.75 years: whole years, within rounding
    assert film_context(_header(patient_birth_date=""), _record(), "DEMO-20", EPISODE).identity == FilmIdentity.MATCHES


def test_a_study_before_the_patients_birth_is_a_mismatch():
    header = _header(patient_birth_date="", patient_age="", study_date="19300101")
    [problem] = film_context(header, _record(), "DEMO-20", EPISODE).identity_problems
    assert (problem.item, problem.header) == ("study date", "1930-01-01")


def test_a_twenty_year_old_film_is_a_prior_with_its_date():
    # the same patient's film of 2004-08-26, 22 years before the episode that started on 2026-12-01
    header = _header(patient_age="064Y", study_date="20040826")
    film = film_context(header, _record(), "DEMO-20", EPISODE)
    assert (film.identity, film.relation, film.study_date) == (FilmIdentity.MATCHES, FilmRelation.PRIOR, dt.date(2004, 8, 26))
    # a film of the day before the episode started is a prior too; one of its first day is current
    assert film_context(_header(study_date="20261130"), _record(), "DEMO-20", EPISODE).relation == FilmRelation.PRIOR
    assert film_context(_header(study_date="20261201"), _record(), "DEMO-20", EPISODE).relation == FilmRelation.CURRENT


def test_a_picture_without_a_header_is_undated_and_not_checked():
    film = film_context({"patient_name": "", "patient_id": "", "study_date": ""}, _record(), "DEMO-20", EPISODE)
    assert (film.identity, film.relation, film.study_date) == (FilmIdentity.NOT_CHECKED, FilmRelation.UNDATED, None)
    assert not film.withheld


@pytest.mark.parametrize(("metadata", "years"), [
    ({"patient_age": "045Y"}, 45.0), ({"patient_age": "006M"}, 0.5), ({"patient_age": "010W"}, 70 / 365.25),
    ({"patient_age": "58"}, 58.0),  # NIH's bare number is years
    ({"patient_birth_date": "19400305", "study_date": "20040826"}, 64.47),  # 23,550 days / 365.25
    ({"patient_age": "abc"}, None), ({}, None),
])
def test_one_dicom_age_parser(metadata, years):
    age = header_age_years(metadata)
    assert age == pytest.approx(years, abs=0.01) if years is not None else age is None


def test_dicom_dates():
    assert dicom_date("20040826") == dt.date(2004, 8, 26) and dicom_date("20040826101500") == dt.date(2004, 8, 26)
    assert dicom_date("") is None and dicom_date("20041332") is None and dicom_date(None) is None
