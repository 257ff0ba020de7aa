"""The notes' problem lexicon: each concept's mention patterns, read from the ``mentions`` of
``resources/knowledge/problems.yaml`` (the value sets the record and the treatment tables use too).

Patterns are case-insensitive regular expressions; ``(?-i:...)`` marks abbreviations that only count
in capitals (AF, DM, MI). A concept without ``mentions`` is not looked for in notes. The notes model reads
the concepts its head was trained on (:func:`notes_model_lexicon`); the clinical picture reads every concept
with mentions, including those marked ``notes_model: false`` that only the scores and treatment rules need
(liver disease for PSI, peripheral arterial disease for CHA2DS2-VASc, dementia for the older-adult criteria).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from medassist import paths

FLAGS = re.IGNORECASE


@dataclass(frozen=True)
class LexiconEntry:
    """One problem the notes are read for: its clinical name, whether it is chronic, its patterns."""

    label: str  # concept id ("chronic_kidney_disease")
    name: str
    chronic: bool  # a chronic problem's history is still the patient's problem; an acute one's is a past episode
    patterns: tuple[re.Pattern[str], ...]
    notes_model: bool = True  # the notes model reads it (its head's labels, and cardiomegaly)


def load_lexicon(path: Path) -> dict[str, LexiconEntry]:
    """Every concept of ``path`` that has mention patterns, in file order."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        str(item["id"]): LexiconEntry(str(item["id"]), str(item["name"]), bool(item.get("chronic", True)),
                                      tuple(re.compile(str(p), FLAGS) for p in item["mentions"]),
                                      bool(item.get("notes_model", True)))
        for item in data["concepts"] if item.get("mentions")
    }


@lru_cache(maxsize=1)
def default_lexicon() -> dict[str, LexiconEntry]:
    return load_lexicon(paths.resources_dir() / "knowledge" / "problems.yaml")


def notes_model_lexicon() -> dict[str, LexiconEntry]:
    """The concepts the notes model reads: what it was trained on, so what it is given to read now."""
    return {label: entry for label, entry in default_lexicon().items() if entry.notes_model}


def problem_name(label: str) -> str:
    entry = default_lexicon().get(label)
    return entry.name if entry is not None else label.replace("_", " ")
