"""Clinical QA vignettes for the one meaning of a finding (medassist.domain.findings) and its words: an undated and
an anonymised film, a 20-year-old film under the threshold, a child's and an adult's bacterial/viral split, and a
note whose problems are negated, family or affirmed by a synonym. Built by hand as the runners shape their results
(no model is run); what each should read as is worked out in the comments."""

from __future__ import annotations

import datetime as dt

from medassist.domain.clinical import FilmContext, FilmIdentity, FilmRelation
from medassist.domain.findings import FindingStatus, current_findings, findings_of, subtype_shares
from medassist.domain.prediction import Prediction, SubtypeSplit
from medassist.domain.result_text import film_text, finding_text, result_json, result_sentence, share_lines
from medassist.notes.mentions import note_problems, problem_evidence

EPISODE = dt.date(2026, 12, 1)


def film_result(p: float, film: FilmContext, age: float | None = None, inside: bool = False) -> Prediction:
    split = SubtypeSplit("pneumonia", {"bacterial pneumonia": 0.7, "viral pneumonia": 0.3}, inside, age, 1, 5)
    return Prediction(model="cxr-pneumonia", version="2", weights_sha256="c" * 64, task="image-classification",
                      device="CPU", source="film.dcm", input_sha256="d" * 64,
                      outputs={"pneumonia": p, "bacterial pneumonia": 0.7 * p, "viral pneumonia": 0.3 * p},
                      thresholds={"pneumonia": 0.3075}, positive=["pneumonia"] if p >= 0.3075 else [], film=film,
                      subtypes=[split])


def test_an_undated_films_finding_is_said_to_be_on_an_undated_study():
    film = FilmContext(None, FilmRelation.UNDATED, FilmIdentity.MATCHES, episode_start=EPISODE)
    [finding] = findings_of(film_result(0.6, film))
    # the header is the patient's and nothing dates it before the episode: suggested, with "undated" said each time
    assert finding.status == FindingStatus.SUGGESTED
    assert finding_text(finding) == "Pneumonia \u2014 suggested on an undated study: 60.0% (threshold 30.8%)"
    assert result_sentence(film_result(0.6, film)).startswith("Study date unknown: ")


def test_an_anonymised_films_result_says_identity_was_not_checked():
    film = FilmContext(None, FilmRelation.UNDATED, FilmIdentity.NOT_CHECKED, episode_start=EPISODE)
    prediction = film_result(0.6, film)
    assert findings_of(prediction)[0].status == FindingStatus.SUGGESTED
    assert film_text(film) == ("Study date unknown. Identity not checked: the header gives no name, ID, birth date, "
                               "sex or age that could be compared with the record (an anonymised or outside picture).")
    assert result_json(prediction)["film"]["identity"] == "not checked"


def test_a_twenty_year_old_films_negative_result_stays_not_suggested_and_its_positive_is_a_prior():
    prior = FilmContext(dt.date(2006, 3, 15), FilmRelation.PRIOR, FilmIdentity.MATCHES, episode_start=EPISODE)
    # below the threshold (0.20 < 0.3075): not suggested, on the prior study
    [low] = findings_of(film_result(0.20, prior))
    assert low.status == FindingStatus.NOT_SUGGESTED and "prior study (2006-03-15)" in finding_text(low)
    # above it: a prior finding, never current (treatment, worklist, "Suggested:")
    high = film_result(0.80, prior)
    assert findings_of(high)[0].status == FindingStatus.PRIOR and current_findings([high]) == []
    assert result_json(high)["positive"] == []


def test_a_childs_film_shows_the_split_and_an_adults_says_why_not():
    current = FilmContext(dt.date(2026, 12, 3), FilmRelation.CURRENT, FilmIdentity.MATCHES, episode_start=EPISODE)
    # 4 years at the study: inside the 1-5 years the split was validated in -> shares of the pneumonia finding
    child = film_result(0.6, current, age=4.0, inside=True)
    assert share_lines(child) == ["if pneumonia: bacterial 70.0%, viral 30.0%"]
    assert result_json(child)["positive"] == ["pneumonia"]  # the subtype is never a positive of its own
    # 67 years: outside -> one line, no shares anywhere, nothing positive but the finding
    adult = film_result(0.6, current, age=67.0, inside=False)
    assert share_lines(adult) == ["bacterial vs viral not shown: validated in children aged 1-5 only "
                                  "(patient 67 years at the study)"]
    assert subtype_shares(adult)[0].shares == {}
    row = result_json(adult)
    assert row["positive"] == ["pneumonia"] and "bacterial 70" not in row["summary"]


def notes_result(text: str) -> Prediction:
    """A notes-model result shaped as its runner shapes it: suggestions from the rule layer, a score per label."""
    labels = ["heart_failure", "chronic_kidney_disease", "diabetes", "coronary_artery_disease", "atrial_fibrillation"]
    outputs = dict.fromkeys(labels, 0.1)
    problems = note_problems(text).restricted_to(labels)
    extra = problem_evidence(problems, outputs, {label: label.replace("_", " ") for label in labels})
    return Prediction(model="notes-problems", version="1", weights_sha256="a" * 64, task="text-classification",
                      device="CPU", source="note", input_sha256="b" * 64, outputs=outputs,
                      thresholds=dict.fromkeys(labels, 0.5), positive=problems.suggested, extra=extra)


def test_a_note_with_negation_family_history_and_synonyms():
    text = ("No evidence of heart failure. Family history of CKD. Diabetic nephropathy. Background: IHD, "
            "known AF on apixaban.")
    status = {f.label: f.status for f in findings_of(notes_result(text))}
    # negated heart failure: not suggested; CKD in the family: not the patient's, but "diabetic nephropathy" is his
    # CKD (and diabetes); IHD is coronary artery disease; "known AF" is atrial fibrillation
    assert status == {"heart_failure": FindingStatus.NOT_SUGGESTED, "chronic_kidney_disease": FindingStatus.SUGGESTED,
                      "diabetes": FindingStatus.SUGGESTED, "coronary_artery_disease": FindingStatus.SUGGESTED,
                      "atrial_fibrillation": FindingStatus.SUGGESTED}
    ckd = next(f for f in findings_of(notes_result(text)) if f.label == "chronic_kidney_disease")
    assert ckd.evidence == ("Diabetic nephropathy.",)
