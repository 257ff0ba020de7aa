"""One meaning of a finding (medassist.domain.findings) and its words (medassist.domain.result_text):
a note's finding rests on its sentence, not on the head's score; a prior film's finding is not current;
a withheld film shows nothing; ``--json`` lists as positive only what counts now; a saliency map is judged
against random maps."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from medassist.domain.clinical import FilmContext, FilmIdentity, FilmRelation, IdentityProblem
from medassist.domain.findings import (
    FindingStatus,
    Standing,
    by_standing,
    current_findings,
    findings_by_standing,
    findings_of,
    listed_findings,
    standing,
)
from medassist.domain.prediction import GateVerdict, Prediction
from medassist.domain.result_text import (
    FaithfulnessVerdict,
    faithfulness_text,
    faithfulness_verdict,
    film_text,
    finding_text,
    result_json,
    result_sentence,
)

SENTENCE = "Known hypertension, BP 168/98 today."


def _note(outputs: dict[str, float], affirmed: dict[str, str]) -> Prediction:
    return Prediction(
        model="notes-problems", version="1", weights_sha256="a" * 64, task="text-classification", device="CPU",
        source="note", input_sha256="b" * 64, outputs=outputs, thresholds={"hypertension": 0.86, "pleural_effusion": 0.37,
                                                                            "asthma": 0.5},
        positive=sorted(affirmed), extra={
            "label_names": {"hypertension": "Hypertension", "pleural_effusion": "Pleural effusion", "asthma": "Asthma"},
            "suggestions": [{"problem": k, "name": k, "probability": outputs[k], "assertion": "affirmed",
                             "evidence": [{"sentence": v, "assertion": "affirmed"}]} for k, v in affirmed.items()]})


def _film(p: float, film: FilmContext | None) -> Prediction:
    return Prediction(model="cxr-pneumonia", version="2", weights_sha256="c" * 64, task="image-classification",
                      device="CPU", source="film.dcm", input_sha256="d" * 64, outputs={"pneumonia": p},
                      thresholds={"pneumonia": 0.3075}, positive=["pneumonia"] if p >= 0.3075 else [], film=film)


PRIOR = FilmContext(dt.date(2004, 8, 26), FilmRelation.PRIOR, FilmIdentity.MATCHES, episode_start=dt.date(2026, 11, 29))
CURRENT = FilmContext(dt.date(2026, 12, 3), FilmRelation.CURRENT, FilmIdentity.MATCHES, episode_start=dt.date(2026, 11, 29))
FOREIGN = FilmContext(dt.date(2026, 12, 3), FilmRelation.CURRENT, FilmIdentity.MISMATCH,
                      (IdentityProblem("name", "CompressedSamples^RG1", "Agnes Specimen-Smith"),
                       IdentityProblem("patient ID", "9RG1", "DEMO-20")), episode_start=dt.date(2026, 11, 29))


def test_a_note_affirming_a_problem_suggests_it_whatever_the_head_scores():
    # hypertension scores 6.8% (threshold 86%) but a sentence affirms it; the effusion scores 55.1% (threshold 37%)
    # and no sentence affirms it
    note = _note({"hypertension": 0.068, "pleural_effusion": 0.551, "asthma": 0.02}, {"hypertension": SENTENCE})
    found = {f.label: f for f in findings_of(note)}
    assert found["hypertension"].status == FindingStatus.SUGGESTED and found["hypertension"].counts_now
    assert found["pleural_effusion"].status == FindingStatus.NOT_SUGGESTED
    assert finding_text(found["hypertension"]) == (
        "Hypertension \u2014 suggested from the note: \u201cKnown hypertension, BP 168/98 today.\u201d (model score 6.8%)")
    assert finding_text(found["pleural_effusion"]) == (
        "Pleural effusion \u2014 not suggested: no sentence of the note affirms it (score 55.1%)")
    # listed: the affirmed one and the high score without a sentence; not the asthma nobody mentioned
    assert [f.label for f in listed_findings(note)] == ["hypertension", "pleural_effusion"]
    row = result_json(note)
    assert row["positive"] == ["hypertension"]
    assert {f["label"]: f["status"] for f in row["findings"]}["pleural_effusion"] == "not suggested"
    assert row["findings"][0]["evidence"] == [SENTENCE] and row["findings"][0]["threshold"] is None


def test_a_prior_films_finding_is_shown_with_its_date_and_never_counts_now():
    prediction = _film(0.596, PRIOR)
    [finding] = findings_of(prediction)
    assert finding.status == FindingStatus.PRIOR and not finding.counts_now and current_findings([prediction]) == []
    assert finding_text(finding) == ("Pneumonia \u2014 on a prior study (2004-08-26), not a current finding: "
                                     "59.6% (threshold 30.8%)")
    assert result_sentence(prediction).startswith("Prior study (2004-08-26): ")
    assert "Nothing suggested now (Pneumonia on the prior study only)" in result_sentence(prediction)
    assert film_text(PRIOR) == ("Prior study (2004-08-26): taken before the current episode (from 2026-11-29); "
                                "its findings are not current findings.")
    row = result_json(prediction)
    assert row["positive"] == [] and row["model_positive"] == ["pneumonia"] and row["film"]["relation"] == "prior"


def test_a_current_films_finding_counts_with_its_study_date():
    [finding] = findings_of(_film(0.596, CURRENT))
    assert finding.counts_now and finding.study_date == dt.date(2026, 12, 3)
    assert finding_text(finding) == "Pneumonia \u2014 suggested on the study of 2026-12-03: 59.6% (threshold 30.8%)"


def test_a_film_whose_header_is_someone_elses_shows_nothing_for_the_patient():
    prediction = _film(0.596, FOREIGN)
    [finding] = findings_of(prediction)
    assert finding.status == FindingStatus.WITHHELD and not finding.counts_now
    assert "59.6%" not in finding_text(finding) and "59.6%" not in result_sentence(prediction)
    assert "the film's header does not match the record" in result_sentence(prediction)
    negative = findings_of(_film(0.05, FOREIGN))  # not even a reassuring "not suggested"
    assert negative[0].status == FindingStatus.WITHHELD
    assert "name: the header says CompressedSamples^RG1, the record Agnes Specimen-Smith" in film_text(FOREIGN)
    assert "CompressedSamples" not in film_text(FOREIGN, show_values=False)  # presentation mode: the items only
    assert result_json(prediction)["positive"] == []


def test_results_stand_suggested_first_then_answers_then_no_answer():
    # given newest first: a refused film, a prior film's 59.6%, a foreign film's 59.6%, a current film's 5%, a
    # note affirming hypertension (suggested), a model that gave no output, a current film's 59.6% (suggested)
    refused = replace(_film(0.5, CURRENT), gate=GateVerdict(0.9, 0.06, False, "not a chest radiograph"))
    prior, foreign, low = _film(0.596, PRIOR), _film(0.596, FOREIGN), _film(0.05, CURRENT)
    note = _note({"hypertension": 0.068, "pleural_effusion": 0.551}, {"hypertension": SENTENCE})
    silent, high = replace(_film(0.5, CURRENT), outputs={}), _film(0.596, CURRENT)
    given = [refused, prior, foreign, low, note, silent, high]
    assert [standing(p) for p in given] == [Standing.NO_ANSWER, Standing.ANSWERS, Standing.NO_ANSWER,
                                            Standing.ANSWERS, Standing.SUGGESTS, Standing.NO_ANSWER, Standing.SUGGESTS]
    # suggested (note, high), then answers (prior, low), then no answer (refused, foreign, silent): newest first in each
    assert by_standing(given) == [note, high, prior, low, refused, foreign, silent]
    # in a result: the affirmed hypertension before the effusion the model scored without a sentence
    names = [f.name for f in findings_by_standing(findings_of(_note({"pleural_effusion": 0.551, "hypertension": 0.068},
                                                                    {"hypertension": SENTENCE})))]
    assert names == ["Hypertension", "Pleural effusion"]


def _scores(deletion: float, random_deletion: float, insertion: float, random_insertion: float) -> dict[str, float]:
    return {"deletion_auc": deletion, "random_deletion_auc": random_deletion, "insertion_auc": insertion,
            "random_insertion_auc": random_insertion}


@pytest.mark.parametrize(("scores", "verdict"), [
    # deletion AUC 0.25 vs random 0.25: gain 0 on deletion, whatever insertion gains (0.61 - 0.42 = 0.19)
    (_scores(0.25, 0.25, 0.61, 0.42), FaithfulnessVerdict.NO_BETTER_THAN_RANDOM),
    # gains 0.04 and 0.30: the weaker, 0.04, is within what random maps reach (<= 0.05)
    (_scores(0.50, 0.54, 0.80, 0.50), FaithfulnessVerdict.NO_BETTER_THAN_RANDOM),
    # gains 0.08 and 0.09: the weaker, 0.08, in (0.05, 0.12]
    (_scores(0.40, 0.48, 0.59, 0.50), FaithfulnessVerdict.WEAK),
    # gains 0.182 and 0.354: weaker 0.182 in (0.12, 0.24]
    (_scores(0.118, 0.30, 0.804, 0.45), FaithfulnessVerdict.MODERATE),
    # gains 0.30 and 0.35: weaker 0.30 above the best random map measured (0.238)
    (_scores(0.20, 0.50, 0.85, 0.50), FaithfulnessVerdict.STRONG),
    # the map is worse than random on deletion
    (_scores(0.60, 0.50, 0.90, 0.40), FaithfulnessVerdict.NO_BETTER_THAN_RANDOM),
])
def test_faithfulness_verdict_is_against_random_maps(scores, verdict):
    assert faithfulness_verdict(scores) == verdict


def test_faithfulness_words():
    assert faithfulness_text(_scores(0.25, 0.25, 0.61, 0.42)) == (
        "Faithfulness: no better than random \u2014 do not rely on this map (deletion AUC 0.25 vs random 0.25 "
        "(lower is better), insertion AUC 0.61 vs random 0.42 (higher is better))")
    assert faithfulness_text(None) == "Faithfulness not measured" and faithfulness_verdict({}) is None
    assert faithfulness_text({"completeness_gap": 0.002}).startswith("Attributions add up")
