"""The learned recommender at run time: run by the model service (hash verified), scoring only.

It turns a :class:`PatientContext` into the model's feature vector and returns per-ingredient
probabilities for the engine to use as similar-patient evidence when ordering options. The
encoding needs only the card; the network runs wherever the service runs it (the desktop app's
model host), so ranking never imports torch here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from medassist.clinical.concepts import default_concepts
from medassist.domain.clinical import EvidenceKind
from medassist.domain.tasks import Task
from medassist.errors import ModelError
from medassist.inference.card import ModelCard
from medassist.recommend.features import MODEL_NAME, FeatureSpace
from medassist.recommend.knowledge import KnowledgeBase
from medassist.recommend.patient import PatientContext

if TYPE_CHECKING:
    from medassist.inference.service import ModelService


class LearnedRanker:
    """Scores ingredients for a patient with the bundled recommender model."""

    def __init__(self, card: ModelCard, service: "ModelService", kb: KnowledgeBase) -> None:
        if card.task != Task.RECOMMENDATION:
            raise ModelError(f"model '{card.name}' is a {card.task} model, not a recommender")
        if card.recommender is None:
            raise ModelError(f"model card of '{card.name}' has no 'recommender' section")
        try:
            self.space = FeatureSpace.of(card.recommender.features)
        except ValueError as exc:
            raise ModelError(f"model card of '{card.name}' has no usable recommender.features ({exc})") from exc
        self.card = card
        self.service = service
        self.kb = kb

    @classmethod
    def load(cls, service: "ModelService", kb: KnowledgeBase, name: str = MODEL_NAME) -> "LearnedRanker":
        """The ranker once ``service`` has loaded and verified the model (a :class:`ModelError` otherwise)."""
        service.prepare(name)
        card = service.registry.get(name).card
        assert card is not None  # a model the service could load has a card
        return cls(card, service, kb)

    @property
    def info(self) -> dict[str, str]:
        card = self.card
        return {"name": card.name, "version": card.version, "weights_sha256": card.weights.sha256}

    def condition_codes(self, ctx: PatientContext) -> set[str]:
        """Record codes of the active problems, plus, for a problem named only by the clinician (a confirmed
        finding, a diagnosis given), the first SNOMED code of its concept that the model knows."""
        codes: set[str] = set()
        known = set(self.space.condition_codes)
        concepts = default_concepts()
        for problem in ctx.picture.problems:
            recorded = [e.detail.split()[-1] for e in problem.evidence if e.kind == EvidenceKind.RECORD and e.detail]
            codes.update(recorded)
            if not recorded and problem.kinds == {EvidenceKind.CLINICIAN}:
                try:
                    codes.update(sorted(concepts.get(problem.concept).snomed & known)[:1])
                except KeyError:  # a problem outside the concept table ("record:..." ids)
                    pass
        return codes

    def scores(self, ctx: PatientContext, ingredients: list[str]) -> dict[str, float]:
        vector = self.space.encode(self.condition_codes(ctx), ctx.age_years, ctx.sex)
        probs = self.service.item_probabilities(self.card.name, vector)
        index = {item: i for i, item in enumerate(self.space.items)}
        return {ing: float(probs[index[ing]]) for ing in ingredients if ing in index}
