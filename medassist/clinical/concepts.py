"""Problem concepts as value sets (``resources/knowledge/problems.yaml``): which SNOMED CT codes,
ICD-10 ranges and words mean the same problem, so "diabetic kidney disease" is chronic kidney
disease and "ischaemic cardiomyopathy" is coronary artery disease (and heart failure) everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from medassist import paths

_WORD = re.compile(r"[^a-z0-9]+")


def normalised(text: str) -> str:
    """Lower-case words separated by single spaces and padded, for whole-word matching."""
    return " " + _WORD.sub(" ", str(text).lower()).strip() + " "


@dataclass(frozen=True)
class Concept:
    id: str
    name: str
    chronic: bool
    snomed: frozenset[str]
    icd10: tuple[str, ...]
    terms: tuple[str, ...]  # normalised, padded
    exclude: tuple[str, ...]

    def matches(self, text: str = "", code: str = "") -> bool:
        code = (code or "").strip()
        if code and (code in self.snomed or any(code.upper().startswith(prefix) for prefix in self.icd10)):
            return True
        norm = normalised(text)
        if any(term in norm for term in self.exclude):
            norm_without = norm
            for term in self.exclude:
                norm_without = norm_without.replace(term, " ")
            return any(term in norm_without for term in self.terms)
        return any(term in norm for term in self.terms)


@dataclass(frozen=True)
class ConceptTable:
    version: str
    concepts: tuple[Concept, ...]

    def get(self, concept_id: str) -> Concept:
        for concept in self.concepts:
            if concept.id == concept_id:
                return concept
        raise KeyError(concept_id)

    def concepts_of(self, text: str = "", code: str = "") -> list[Concept]:
        """Every concept a record entry (description and code) belongs to."""
        return [c for c in self.concepts if c.matches(text, code)]


def load_concepts(path: Path) -> ConceptTable:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    concepts = tuple(
        Concept(
            id=str(item["id"]), name=str(item["name"]), chronic=bool(item.get("chronic", True)),
            snomed=frozenset(str(c) for c in item.get("snomed", [])),
            icd10=tuple(str(c).upper() for c in item.get("icd10", [])),
            terms=tuple(normalised(t) for t in item.get("terms", [])),
            exclude=tuple(normalised(t) for t in item.get("exclude", [])),
        )
        for item in data["concepts"]
    )
    return ConceptTable(str(data["version"]), concepts)


@lru_cache(maxsize=1)
def default_concepts() -> ConceptTable:
    return load_concepts(paths.resources_dir() / "knowledge" / "problems.yaml")
