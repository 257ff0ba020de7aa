"""Problem mentions in a clinical note, each with what the note says of it (:mod:`.assertion`), and
what a note therefore documents as the patient's problems (affirmed, or a chronic problem's history).

The problems and their patterns are the concepts of ``problems.yaml`` that have ``mentions``
(:mod:`.lexicon`). Mentions of *different* problems may overlap: "diabetic kidney disease" is both
diabetes and chronic kidney disease, "ischaemic cardiomyopathy" both coronary artery disease and
heart failure; of one problem's overlapping matches only the first is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from medassist.notes.assertion import Assertion, assertion_of, section_of, sentences
from medassist.notes.lexicon import default_lexicon


@dataclass(frozen=True)
class Mention:
    """One mention of a problem: where it is, the sentence it is in, and what the note says of it."""

    problem: str
    start: int
    end: int
    sentence_start: int
    sentence_end: int
    assertion: Assertion
    trigger: str = ""

    @property
    def is_patients_problem(self) -> bool:
        """True when this mention supports suggesting the problem for this patient now."""
        if self.assertion is Assertion.AFFIRMED:
            return True
        entry = default_lexicon().get(self.problem)
        return self.assertion is Assertion.HISTORICAL and entry is not None and entry.chronic

    def to_dict(self, text: str) -> dict[str, object]:
        return {
            "problem": self.problem,
            "assertion": self.assertion.value,
            "start": self.start,
            "end": self.end,
            "text": text[self.start:self.end],
            "sentence_start": self.sentence_start,
            "sentence_end": self.sentence_end,
            "sentence": text[self.sentence_start:self.sentence_end].strip(),
            "trigger": self.trigger,
            "patients_problem": self.is_patients_problem,
        }


@lru_cache(maxsize=1)
def _any_mention() -> re.Pattern[str]:
    """Every pattern at once: most sentences of a note mention no problem and are skipped after one scan."""
    return re.compile("|".join(f"(?:{p.pattern})" for entry in default_lexicon().values() for p in entry.patterns),
                      re.IGNORECASE)


def find_mentions(text: str, problems: list[str] | None = None) -> list[Mention]:
    """Every mention of ``problems`` (default: every problem of the lexicon) with its assertion status."""
    lexicon = default_lexicon()
    labels = [p for p in (problems or list(lexicon)) if p in lexicon]
    mentions: list[Mention] = []
    section: Assertion | None = None
    for s_start, s_end in sentences(text):
        sentence = text[s_start:s_end]
        line_start = s_start == 0 or text[s_start - 1] == "\n"
        section, header_end = section_of(sentence, section, line_start)
        if not _any_mention().search(sentence):
            continue
        for label in labels:
            taken: list[tuple[int, int]] = []
            for pattern in lexicon[label].patterns:
                for match in pattern.finditer(sentence):
                    if match.start() < header_end or any(a < match.end() and match.start() < b for a, b in taken):
                        continue
                    taken.append((match.start(), match.end()))
                    assertion, trigger = assertion_of(sentence, match.start(), match.end(), section)
                    mentions.append(Mention(label, s_start + match.start(), s_start + match.end(), s_start,
                                            s_end, assertion, trigger))
    return sorted(mentions, key=lambda m: m.start)


@dataclass
class NoteProblems:
    """The problems a note documents for the patient (with evidence) and those it mentions otherwise."""

    text: str
    mentions: list[Mention]

    @property
    def suggested(self) -> list[str]:
        """Problems with at least one mention that is the patient's (affirmed, or historical and chronic)."""
        return sorted({m.problem for m in self.mentions if m.is_patients_problem})

    def evidence(self, problem: str) -> list[Mention]:
        return [m for m in self.mentions if m.problem == problem and m.is_patients_problem]

    def not_suggested(self) -> dict[str, list[Mention]]:
        """Problems only mentioned as negated, family, hypothetical, uncertain or a past acute episode."""
        suggested = set(self.suggested)
        listed: dict[str, list[Mention]] = {}
        for mention in self.mentions:
            if mention.problem not in suggested:
                listed.setdefault(mention.problem, []).append(mention)
        return listed

    def restricted_to(self, problems: list[str]) -> "NoteProblems":
        """The same note with only the mentions of ``problems`` (the labels a model knows)."""
        return NoteProblems(self.text, [m for m in self.mentions if m.problem in problems])

    def patient_text(self) -> str:
        """The note with every sentence blanked that only mentions problems not the patient's now
        (offsets kept), so the encoder scores what is affirmed and never reads "no pleural effusion"."""
        keep = {(m.sentence_start, m.sentence_end) for m in self.mentions if m.is_patients_problem}
        drop = {(m.sentence_start, m.sentence_end) for m in self.mentions if not m.is_patients_problem} - keep
        chars = list(self.text)
        for start, end in drop:
            chars[start:end] = [c if c == "\n" else " " for c in self.text[start:end]]
        return "".join(chars)


def note_problems(text: str, problems: list[str] | None = None) -> NoteProblems:
    return NoteProblems(text, find_mentions(text, problems))


def problem_evidence(problems: NoteProblems, outputs: dict[str, float], names: dict[str, str]) -> dict[str, list]:
    """Suggestions with their evidence, and the problems only mentioned otherwise (with why)."""
    text = problems.text
    suggestions = []
    for label in sorted(problems.suggested, key=lambda name: -outputs.get(name, 0.0)):
        evidence = problems.evidence(label)
        suggestions.append({
            "problem": label,
            "name": names.get(label, label),
            "probability": round(outputs.get(label, 0.0), 6),
            "assertion": "affirmed" if any(m.assertion.value == "affirmed" for m in evidence) else "historical",
            "evidence": [m.to_dict(text) for m in evidence],
        })
    mentioned = [
        {
            "problem": label,
            "name": names.get(label, label),
            "assertion": mentions[0].assertion.value,
            "evidence": [m.to_dict(text) for m in mentions],
        }
        for label, mentions in sorted(problems.not_suggested().items(), key=lambda item: item[1][0].start)
    ]
    return {"suggestions": suggestions, "mentioned_not_suggested": mentioned}

