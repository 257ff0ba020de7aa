"""A finding's subtype split (bacterial vs viral of pneumonia) is never a finding of its own, and its
shares are given only inside the population the card validates the split in (children 1-5)."""

from __future__ import annotations

import json
from pathlib import Path

from medassist.domain.clinical import FilmContext, FilmIdentity, FilmRelation, IdentityProblem
from medassist.domain.findings import SplitWithheld, findings_of, subtype_shares
from medassist.domain.prediction import GateVerdict, Prediction, SubtypeSplit
from medassist.inference.card import read_card

REPO = Path(__file__).resolve().parents[2]


def _cxr(age: float | None, applies: bool, film: FilmContext | None = None, refused: bool = False) -> Prediction:
    split = SubtypeSplit("pneumonia", {"bacterial pneumonia": 0.644, "viral pneumonia": 0.356}, applies, age, 1, 5)
    return Prediction(model="cxr-pneumonia", version="2.2.0", weights_sha256="b" * 64, task="image-classification",
                      device="CPU", source="chest.dcm", input_sha256="a" * 64,
                      outputs={} if refused else {"pneumonia": 0.6, "bacterial pneumonia": 0.386, "viral pneumonia": 0.214},
                      thresholds={"pneumonia": 0.3075}, positive=[] if refused else ["pneumonia"],
                      gate=GateVerdict(40.0, 28.8, False, "not a chest film") if refused else None,
                      film=film, subtypes=[] if refused else [split])


def test_the_card_says_where_the_split_was_validated_without_touching_the_weights():
    card = read_card(REPO / "models" / "cxr-pneumonia")
    population = card.subtype_populations["pneumonia"]
    assert (population.age_min_years, population.age_max_years) == (1, 5)
    assert population.metrics["bacterial_vs_viral_accuracy"] == card.validated_populations[0].metrics["bacterial_vs_viral_accuracy"]
    raw = json.loads((REPO / "models" / "cxr-pneumonia" / "metadata.json").read_text(encoding="utf-8"))
    assert raw["weights"]["sha256"] == card.weights.sha256  # the card is not hashed; the weights are


def test_a_child_inside_the_population_gets_the_shares():
    shares = subtype_shares(_cxr(3.0, True))
    assert len(shares) == 1 and shares[0].withheld is None
    assert shares[0].shares == {"bacterial pneumonia": 0.644, "viral pneumonia": 0.356}


def test_an_adult_gets_no_shares_and_the_subtype_is_never_a_finding():
    prediction = _cxr(64.0, False)
    [shares] = subtype_shares(prediction)
    assert shares.withheld == SplitWithheld.OUTSIDE and shares.shares == {}
    assert [f.label for f in findings_of(prediction)] == ["pneumonia"]


def test_unknown_age_and_a_withheld_film_give_no_shares():
    assert subtype_shares(_cxr(None, False))[0].withheld == SplitWithheld.AGE_UNKNOWN
    foreign = FilmContext(None, FilmRelation.UNDATED, FilmIdentity.MISMATCH,
                          (IdentityProblem("sex", "male", "female"),))
    assert subtype_shares(_cxr(3.0, True, foreign)) == []
    assert subtype_shares(_cxr(3.0, True, refused=True)) == []
