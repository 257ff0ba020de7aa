"""The validated-population notice: a chest X-ray result for a patient outside the populations the
model was validated in (or of unknown age) carries the nearest population's figures."""

from __future__ import annotations

from dataclasses import replace

import pytest

from medassist.imaging.loader import load_image
from medassist.inference.card import read_card
from medassist.domain.inputs import ImageInput
from medassist.domain.result_text import result_json
from medassist.clinical.films import header_age_years
from medassist.inference.population import population_notice
from medassist.jobs import run_job

MODEL = "cxr-pneumonia"
ADULT_FILM = "data/cxr/images/nih_cxr14_1024/00010652_000.jpg"  # validation film, 43 years, PA, pneumonia with a box


@pytest.fixture(scope="module")
def card(model_folder):
    return read_card(model_folder)


def test_card_states_children_and_nih_adults(card):
    children, adults = card.validated_populations
    assert (children.age_min_years, children.age_max_years) == (1, 5)
    assert "Guangzhou" in children.description
    assert children.metrics["kermany_official_test"].auroc > 0.9  # typed figures (domain.figures.Figures)
    assert adults.age_min_years == 18 and "NIH" in adults.description
    assert adults.metrics["nih_cxr14_1024_validation_adults"].n > 0
    assert card.outside_population == "notice"


@pytest.mark.parametrize(
    ("metadata", "years"),
    [({"patient_age": "045Y"}, 45.0), ({"patient_age": "006M"}, 0.5), ({"patient_age": "58"}, 58.0),
     ({"patient_birth_date": "19400305", "study_date": "20040826"}, 64.47), ({"patient_age": "abc"}, None), ({}, None)],
)
def test_age_from_dicom_header(metadata, years):
    age = header_age_years(metadata)
    assert age == pytest.approx(years, abs=0.01) if years is not None else age is None


def test_adult_inside_the_nih_population_gets_no_notice_but_an_older_adult_does(card):
    assert population_notice(card, 45.0, "DICOM") is None
    oldest = card.validated_populations[1].age_max_years
    notice = population_notice(card, oldest + 5, "patient record")
    assert notice is not None and "outside the populations" in notice.message
    assert "NIH" in notice.population and "nih_validation_adults" in notice.metrics


def test_school_child_gets_the_young_children_figures(card):
    notice = population_notice(card, 9.0, "patient record")
    assert notice is not None and "aged 9.0 years" in notice.message
    assert "Guangzhou" in notice.population and notice.population_age_range == "1-5 years"
    assert notice.metrics["kermany_official_test"] == card.validated_populations[0].metrics["kermany_official_test"]
    assert "AUROC" in notice.headline()
    assert population_notice(card, 3.0, "patient record") is None


def test_unknown_age_shows_the_adult_figures(card):
    notice = population_notice(card, None, "unknown")
    assert notice is not None and "not known" in notice.message and "NIH" in notice.population


def test_prediction_carries_the_notice_from_the_record_age(shared_data, load_radiograph, service):
    film = load_radiograph(ADULT_FILM)
    adult = run_job(service.predict(MODEL, ImageInput(film, patient_age_years=52.0)))
    assert not adult.refused and adult.population_notice is None
    assert result_json(adult)["population_notice"] is None
    child = run_job(service.predict(MODEL, ImageInput(film, patient_age_years=8.0)))
    assert child.outputs == adult.outputs
    row = result_json(child)["population_notice"]
    assert row["age_source"] == "patient record" and row["patient_age_years"] == 8.0
    assert "Guangzhou" in row["population"]


def test_dicom_age_wins_over_the_record(shared_data, service):
    dicom = load_image(shared_data / "dicom" / "chest_radiographs" / "nih_dx_no_finding.dcm")
    assert dicom.metadata["patient_age"] == "81"
    prediction = run_job(service.predict(MODEL, ImageInput(dicom, patient_age_years=4.0)))
    assert not prediction.refused and prediction.population_notice is None
    baby = replace(dicom, metadata={**dicom.metadata, "patient_age": "003W"})
    notice = run_job(service.predict(MODEL, ImageInput(baby))).population_notice
    assert notice is not None and notice.age_source == "DICOM" and notice.patient_age_years < 0.1


def test_report_findings_carry_the_notice_once(load_radiograph, service):
    from medassist.reporting.content import _finding_rows

    prediction = run_job(service.predict(MODEL, ImageInput(load_radiograph(ADULT_FILM), patient_age_years=8.0)))
    rows = _finding_rows(prediction, "Chest X-ray pneumonia")
    assert [row.label for row in rows] == ["Pneumonia"]  # the subtype shares are a note, not findings
    assert rows[0].gate.count("OUTSIDE THE VALIDATED POPULATION") == 1 and "AUROC" in rows[0].gate
