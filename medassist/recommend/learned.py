"""The learned recommender at run time: loaded through the model runtime (hash verified), scoring only.

It turns a :class:`PatientContext` into the model's feature vector and returns per-ingredient
probabilities for the engine to use as similar-patient evidence when ordering options.
"""

from __future__ import annotations

import torch

from medassist.errors import ModelError
from medassist.inference.runtime import LoadedModel, ModelRuntime
from medassist.recommend.engine import match_conditions
from medassist.recommend.features import MODEL_NAME, FeatureSpace
from medassist.recommend.knowledge import KnowledgeBase
from medassist.recommend.patient import PatientContext


class LearnedRanker:
    """Scores ingredients for a patient with the bundled recommender model."""

    def __init__(self, loaded: LoadedModel, kb: KnowledgeBase) -> None:
        if loaded.card.task != "recommendation":
            raise ModelError(f"model '{loaded.card.name}' is a {loaded.card.task} model, not a recommender", loaded.folder)
        try:
            self.space = FeatureSpace.from_dict(loaded.card.extra["features"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"model card has no usable 'extra.features' ({exc})", loaded.folder) from exc
        self.loaded = loaded
        self.kb = kb

    @classmethod
    def load(cls, runtime: ModelRuntime, kb: KnowledgeBase, name: str = MODEL_NAME) -> "LearnedRanker":
        return cls(runtime.load(name), kb)

    @property
    def info(self) -> dict[str, str]:
        card = self.loaded.card
        return {"name": card.name, "version": card.version, "weights_sha256": card.weights.sha256}

    def condition_codes(self, ctx: PatientContext) -> set[str]:
        """Record codes, plus the SNOMED codes of conditions named only by findings or diagnoses."""
        codes = {c.code for c in ctx.conditions if c.origin == "record" and c.code}
        for condition, _ in match_conditions(self.kb, ctx):
            codes.update(condition.snomed[:1])
        return codes

    def scores(self, ctx: PatientContext, ingredients: list[str]) -> dict[str, float]:
        vector = self.space.encode(self.condition_codes(ctx), ctx.age_years, ctx.sex)
        with self.loaded.lock, torch.no_grad():
            logits = self.loaded.module(torch.from_numpy(vector).unsqueeze(0).to(self.loaded.device))
            probs = torch.sigmoid(logits)[0].cpu().numpy()
        index = {item: i for i, item in enumerate(self.space.items)}
        return {ing: float(probs[index[ing]]) for ing in ingredients if ing in index}
