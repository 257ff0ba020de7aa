"""Bedside facts a note states that the clinical scores need and the record rarely codes: mental
status (CURB-65 "confusion", qSOFA "altered mentation", NEWS2 "new confusion"), oxygen or air
(NEWS2), a prescribed 88-92% SpO2 target or hypercapnic respiratory failure (NEWS2 SpO2 scale 2),
nursing-home residence (PSI), multilobar infiltrates, invasive ventilation and vasopressors
(ATS/IDSA 2019 severe-CAP criteria), a pleural effusion said to be absent (PSI).

Each fact is a phrase pattern that says *yes* or *no*; the assertion rules of
:mod:`medassist.notes.assertion` decide what the sentence says of it: a negated *yes* ("not
confused") is a *no*, a negated *no* ("not oriented") is a *yes*, and a family, hypothetical or
uncertain mention ("return if confused", "possible delirium") or a past one says nothing about now.
The last statement in the note wins ("confused on arrival, now alert and oriented" is *no*).
A note that says nothing leaves the fact unknown: a score then counts it as missing, never as zero.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from medassist.notes.assertion import Assertion, assertion_of, section_of, sentences

_F = re.IGNORECASE

# Fact names the clinical picture and the scores use.
ALTERED_MENTATION = "altered_mentation"
SUPPLEMENTAL_OXYGEN = "supplemental_oxygen"
HYPERCAPNIC_TARGET = "hypercapnic_target"
NURSING_HOME = "nursing_home"
MULTILOBAR_INFILTRATES = "multilobar_infiltrates"
MECHANICAL_VENTILATION = "mechanical_ventilation"
VASOPRESSORS = "vasopressors"
PLEURAL_EFFUSION = "pleural_effusion"


@dataclass(frozen=True)
class NoteStatement:
    """What one note says of a fact: yes or no, the words that say it and their sentence."""

    fact: str
    present: bool
    phrase: str
    sentence: str


# GCS below 15 is altered mentation (qSOFA, Seymour 2016); an abbreviated mental test score of 8 or
# less is CURB-65's confusion (Lim 2003; BTS 2009). Both are read as numbers below.
_GCS = re.compile(r"\bGCS\s*(?:of\s*|is\s*|was\s*|=\s*|:\s*)?(\d{1,2})(?:\s*/\s*15)?\b", _F)
_AMT = re.compile(r"\bAMTS?\s*(?:score\s*)?(?:of\s*|is\s*|was\s*|=\s*|:\s*)?(\d{1,2})(?:\s*/\s*10)?\b", _F)

# fact -> (patterns that say yes, patterns that say no)
_PATTERNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    ALTERED_MENTATION: (
        (r"\bconfus(?:ed|ion|ional state)\b", r"\bdisorient(?:at)?(?:ed|ation)\b", r"\bdelirious\b", r"\bdelirium\b",
         r"\baltered (?:mental (?:status|state)|mentation|consciousness|level of consciousness)\b",
         r"(?-i:\bAMS\b)", r"\bobtunded\b", r"\bunresponsive\b", r"\b(?:drowsy|somnolent|stuporous)\b",
         r"\bresponds? (?:only )?to (?:voice|pain)\b"),
        (r"\balert and orient(?:at)?ed\b", r"\balert,? (?:and )?(?:fully )?orient(?:at)?ed\b",
         r"\b(?:fully )?orient(?:at)?ed (?:to|in|x) ?(?:time|place|person|3|three)\b", r"\bA ?(?:&|and) ?O ?x ?3\b"),
    ),
    SUPPLEMENTAL_OXYGEN: (
        (r"\bon \d+(?:\.\d+)?\s*(?:L|l|litres?|liters?)(?:/min| per minute)?\s*(?:of\s+)?(?:oxygen|O2)\b",
         r"\b\d+(?:\.\d+)?\s*(?:L|litres?|liters?)(?:/min| per minute)? (?:of )?(?:oxygen|O2)\b",
         r"\bon (?:supplemental |high[- ]flow )?(?:oxygen|O2)\b", r"\b(?:supplemental|high[- ]flow) (?:oxygen|O2)\b",
         r"\brequir(?:es|ing|ed) (?:supplemental )?(?:oxygen|O2)\b", r"\bnasal cannulae?\b", r"\bnon-?rebreath(?:e|ing)r? mask\b",
         r"\bventuri mask\b", r"\b(?:oxygen|O2) via\b"),
        (r"\bon (?:room )?air\b", r"\broom air\b", r"\bon RA\b", r"\boff (?:supplemental )?(?:oxygen|O2)\b"),
    ),
    HYPERCAPNIC_TARGET: (
        (r"\b(?:target|aim)(?:ing|ed)?\s+(?:for\s+)?(?:an?\s+)?(?:(?:SpO2|sats?|saturations?|oxygen saturations?)\s*)?"
         r"(?:[:=]\s*|of\s+|range\s+|between\s+)?88\s*%?\s*(?:-|\u2013|to|and)\s*92\s*%?",
         r"\b88\s*(?:-|\u2013|to)\s*92\s*%?\s*target\b", r"\bhypercapni(?:c|a)\b", r"\btype (?:2|II) respiratory failure\b",
         r"\bCO2 retain(?:er|ing|s)\b", r"\bretains? CO2\b", r"\bCO2 retention\b"),
        (),
    ),
    NURSING_HOME: (
        (r"\b(?:nursing|care|residential) home\b", r"\blong[- ]term care (?:facility|home)\b",
         r"\bskilled nursing facility\b", r"(?-i:\bSNF\b)"),
        (r"\blives (?:alone|at home|independently|with (?:his|her|their) \w+)\b", r"\bown home\b"),
    ),
    MULTILOBAR_INFILTRATES: (
        (r"\bmulti-?lobar\b", r"\bbilateral (?:\w+ ){0,2}(?:infiltrates?|consolidations?|pneumonia|opacities|shadowing)\b",
         r"\b(?:two|three|multiple|several) lobes\b"),
        (r"\b(?:single|one) lobe\b", r"\bunilobar\b"),
    ),
    MECHANICAL_VENTILATION: (
        (r"\bintubated\b", r"\bmechanically ventilated\b", r"\b(?:invasive )?mechanical ventilation\b",
         r"\bon (?:a |the )?ventilator\b"),
        (),
    ),
    VASOPRESSORS: (
        (r"\b(?:noradrenaline|norepinephrine|vasopressin|vasopressors?|metaraminol|phenylephrine)\b",),
        (),
    ),
    PLEURAL_EFFUSION: (
        (r"\bpleural effusions?\b",),
        (),
    ),
}
_COMPILED = {fact: (tuple(re.compile(p, _F) for p in yes), tuple(re.compile(p, _F) for p in no))
             for fact, (yes, no) in _PATTERNS.items()}
_NUMBERED: dict[str, tuple[tuple[re.Pattern[str], Callable[[int], bool | None]], ...]] = {
    ALTERED_MENTATION: ((_GCS, lambda gcs: None if not 3 <= gcs <= 15 else gcs < 15),
                        (_AMT, lambda amt: None if not 0 <= amt <= 10 else amt <= 8)),
}
# What a sentence may say of a fact and still speak of the patient now.
_SAYS_NOW = {Assertion.AFFIRMED, Assertion.NEGATED}


def _candidates(fact: str, sentence: str) -> list[tuple[int, int, bool]]:
    """(start, end, says yes) for every phrase of ``fact`` in the sentence, overlaps dropped (longest first)."""
    yes, no = _COMPILED[fact]
    found = [(m.start(), m.end(), True) for p in yes for m in p.finditer(sentence)]
    found += [(m.start(), m.end(), False) for p in no for m in p.finditer(sentence)]
    for pattern, reads in _NUMBERED.get(fact, ()):
        for m in pattern.finditer(sentence):
            verdict = reads(int(m.group(1)))
            if verdict is not None:
                found.append((m.start(), m.end(), verdict))
    kept: list[tuple[int, int, bool]] = []
    for start, end, says in sorted(found, key=lambda f: (f[0], -(f[1] - f[0]))):
        if not any(a < end and start < b for a, b, _ in kept):
            kept.append((start, end, says))
    return kept


def statements(text: str, fact: str) -> list[NoteStatement]:
    """Every statement of ``fact`` about the patient now, in the order the note makes them."""
    found: list[NoteStatement] = []
    section: Assertion | None = None
    for s_start, s_end in sentences(text):
        sentence = text[s_start:s_end]
        line_start = s_start == 0 or text[s_start - 1] == "\n"
        section, header_end = section_of(sentence, section, line_start)
        for start, end, says in _candidates(fact, sentence):
            if start < header_end:
                continue
            assertion, _ = assertion_of(sentence, start, end, section)
            if assertion not in _SAYS_NOW:
                continue
            present = says if assertion is Assertion.AFFIRMED else not says
            found.append(NoteStatement(fact, present, sentence[start:end], sentence.strip()))
    return found


def stated(text: str, fact: str) -> NoteStatement | None:
    """What the note last says of ``fact`` about the patient now, or None when it says nothing."""
    found = statements(text, fact)
    return found[-1] if found else None
