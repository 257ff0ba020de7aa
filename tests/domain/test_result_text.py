"""How a result reads (medassist.domain.result_text), a re-run replacing its earlier result and the
clinician's verdict on a finding (whose film a result is: tests/clinical/test_films.py)."""

from __future__ import annotations

import pytest

from medassist.domain.findings import findings_of
from medassist.domain.prediction import GateVerdict, Prediction, SubtypeSplit
from medassist.domain.result_text import compared, deciding_pair, percent, result_json, result_sentence, share_lines
from medassist.domain.decisions import FindingReview
from medassist.session import Session


def _cxr(outputs: dict[str, float], sha: str = "a" * 64, gate: GateVerdict | None = None) -> Prediction:
    return Prediction(model="cxr-pneumonia", version="1", weights_sha256="b" * 64, task="image-classification", device="CPU",
                      source="chest.dcm", input_sha256=sha, outputs=outputs, thresholds={"pneumonia": 0.397},
                      positive=["pneumonia"] if outputs.get("pneumonia", 0) >= 0.397 else [], gate=gate, patient_id="p1")


@pytest.mark.parametrize(("p", "shown"), [(0.9995, "> 99%"), (1.0, "> 99%"), (0.99, "99.0%"), (0.004, "< 1%"),
                                          (0.01, "1.0%"), (0.6571, "65.7%")])
def test_percent_never_claims_certainty(p, shown):
    assert percent(p) == shown


def test_gate_numbers_carry_the_decimals_that_decide():
    assert deciding_pair(0.46, 0.2) == ("0.5", "0.2")
    assert deciding_pair(0.2049, 0.2) == ("0.205", "0.200")  # 0.2 vs 0.2 would not say why it failed
    assert compared("distance", 0.2049, 0.2) == "distance 0.205 > limit 0.200"
    assert compared("inputs missing", 7, 7) == "inputs missing 7 <= limit 7"


def test_a_subtype_share_is_shown_as_a_share_of_its_finding_never_as_a_finding():
    prediction = _cxr({"pneumonia": 0.8, "bacterial pneumonia": 0.528, "viral pneumonia": 0.272})
    prediction.subtypes = [SubtypeSplit("pneumonia", {"bacterial pneumonia": 0.66, "viral pneumonia": 0.34}, True, 3.0, 1, 5)]
    assert [f.name for f in findings_of(prediction)] == ["Pneumonia"]
    assert share_lines(prediction) == ["if pneumonia: bacterial 66.0%, viral 34.0%"]
    assert result_sentence(prediction) == ("Pneumonia \u2014 suggested: 80.0% (threshold 39.7%). Suggested: Pneumonia "
                                           "(if pneumonia: bacterial 66.0%, viral 34.0%).")


def test_a_refused_result_shows_no_number():
    prediction = _cxr({"pneumonia": 0.93}, gate=GateVerdict(0.5, 0.2, False, "does not look like a chest radiograph"))
    assert findings_of(prediction) == [] and share_lines(prediction) == []
    assert result_sentence(prediction) == ("No answer. Outside the data the model knows: "
                                           "does not look like a chest radiograph")
    row = result_json(prediction)
    assert row["refusal"] == result_sentence(prediction) and row["outputs"] == {} and row["positive"] == []


def test_rerun_replaces_the_earlier_result_of_the_same_model_and_input():
    session = Session()
    first, again, other = _cxr({"pneumonia": 0.5}), _cxr({"pneumonia": 0.5}), _cxr({"pneumonia": 0.1}, sha="c" * 64)
    for prediction in (first, other, again):
        session.add_prediction(prediction)
    assert session.predictions["p1"] == [other, again]


def test_review_finding_keeps_confirmed_findings_and_tells_the_tabs():
    session = Session()
    seen: list[str] = []
    session.decisions_changed.connect(seen.append)
    session.review_finding(FindingReview("Pneumonia", "confirmed", "crackles right base"), "p1")
    assert session.confirmed_findings["p1"] == ["Pneumonia"] and seen == ["p1"]
    session.review_finding(FindingReview("Pneumonia", "rejected", "film clear on review"), "p1")
    assert session.confirmed_findings["p1"] == []
    assert session.finding_reviews["p1"]["Pneumonia"].note == "film clear on review"
    with pytest.raises(ValueError):
        session.review_finding(FindingReview("Pneumonia", "maybe"), "p1")
