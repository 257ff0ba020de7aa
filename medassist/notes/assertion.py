"""The assertion rules: what a note says about one mention (affirmed, negated, historical, family
history, hypothetical, uncertain), the rule layer that decides what may be *suggested*.

The idea is ConText (Harkema, Dowling, Thornblade, Chapman: "ConText: an algorithm for determining
negation, experiencer, and temporal status from clinical reports", J Biomed Inform 2009;42:839-851),
which extends NegEx (Chapman et al., J Biomed Inform 2001;34:301-310) and is what medspaCy's
``ConTextComponent`` and pyConTextNLP implement: a *trigger* phrase ("denies", "family history of")
has a *direction* (forward: it modifies what follows; backward: what precedes; bidirectional), its
*scope* runs to the end of the sentence or to a *terminator* ("but", "however", "presents with"),
and *pseudo-triggers* ("no change", "not only", "history of present illness") look like triggers
but are not. Section headers set a scope for their whole section ("Family history:" makes every
mention in it the family's). This module is our own small version of that idea, without spaCy:
regular expressions over sentences, with character spans kept so every status can be shown.

Decisions (also in docs/notes-model.md; which problems are chronic is in problems.yaml):

* **Historical**: "history of", "h/o", "s/p", "prior", "past medical history" name the patient's own
  past. For a *chronic* problem (hypertension, diabetes, atrial fibrillation, heart failure, cancer,
  stroke...) that is still the patient's problem and it is suggested (status ``historical``). For an
  *acute* problem (pneumonia, pleural effusion, urinary tract infection) a past episode is not a
  current problem: listed as "mentioned, historical", not suggested.
* **Uncertain** ("possible", "suspected", "concern for", "cannot rule out", "versus") is not
  hypothetical: the problem may be present now. It is not suggested, but listed as "mentioned, uncertain".
  "likely", "probable", "consistent with" and "diagnosed with" are read as affirmed.
* **Hypothetical** is a problem spoken of as a possibility in the future or as a reason to act:
  "return if", "should she develop", "rule out", "evaluate for", "risk of", "prevention of", "screening for".
* **Family**: experiencer is someone else ("mother had", "family history of", "diabetes in his father",
  a "Family history:" section). Family beats every other status.
"""

from __future__ import annotations

import re
from enum import Enum


class Assertion(str, Enum):
    """What a note says about one mention of a problem."""

    AFFIRMED = "affirmed"
    HISTORICAL = "historical"
    NEGATED = "negated"
    UNCERTAIN = "uncertain"
    HYPOTHETICAL = "hypothetical"
    FAMILY = "family"


FLAGS = re.IGNORECASE


def _alternatives(*phrases: str) -> re.Pattern[str]:
    return re.compile(r"(?:" + "|".join(phrases) + r")", FLAGS)


# Forward triggers modify mentions after them (to the end of the clause), backward ones mentions
# before them. Pseudo-triggers are blanked out before triggers are looked for.
_PSEUDO = _alternatives(
    r"\bno (?:significant |interval )?change\b", r"\bnot only\b", r"\bno increase\b", r"\bno decrease\b",
    r"\bnot (?:been )?(?:well[- ])?controlled\b", r"\bnot necessarily\b", r"\bno further\b",
    r"\bhistory of (?:the )?present illness\b", r"\bwithout (?:further )?(?:difficulty|complications?|incident)\b",
    r"\bnot (?:tolerate|taking|compliant)\b", r"\bdoes not take\b", r"\bunchanged\b", r"\bgram[- ]negative\b",
    r"\b(?:past|last|prior|previous) (?:\d+|few|several|one|two|three|four|five|couple of)? ?(?:hours?|days?|weeks?|nights?|months?)\b",
    r"\bprior to (?:admission|arrival|presentation)\b",
)
# Statuses set by a word right after the mention ("stroke prophylaxis", "pneumonia?").
_RIGHT_AFTER = {
    Assertion.HYPOTHETICAL: re.compile(r"\s*(?:risk|prevention|prophylaxis|precautions|screening)\b", FLAGS),
    Assertion.UNCERTAIN: re.compile(r"\s*\?"),
}
_FORWARD = {
    Assertion.FAMILY: _alternatives(
        r"\bfamily (?:medical )?(?:history|hx)\b", r"\bFHx?\b(?=\s*[:of])", r"\bfamily members?\b",
        r"\b(?:his|her|their|the patient's|patient's|pt's|a|both|maternal|paternal)\s+(?:(?:maternal|paternal|older|younger|late)\s+)?"
        r"(?:mother|father|mom|dad|sister|brother|sibling|siblings|son|daughter|grandmother|grandfather|aunt|uncle|cousin|parents?|children)\b",
        r"^\s*(?:mother|father|sister|brother|grandmother|grandfather|aunt|uncle|parents?|siblings?)\b",
        r"\bruns in (?:the|his|her) family\b",
    ),
    Assertion.NEGATED: _alternatives(
        r"\bno\b", r"\bnot\b", r"\bnor\b", r"\bnever\b", r"\bdenie[sd]\b", r"\bdeny(?:ing)?\b", r"\bwithout\b",
        r"\bnegative for\b", r"\bfree of\b", r"\babsence of\b", r"\bno (?:evidence|signs?|history|hx) of\b",
        r"\bruled out\b", r"\brules out\b", r"\bdoesn't have\b", r"\bdid not have\b", r"\bresolution of\b",
        r"\bexcluded\b",
    ),
    Assertion.HYPOTHETICAL: _alternatives(
        r"\bif\b", r"\bshould (?:he|she|they|the patient|patient) (?:develop|have|get|experience)\b", r"\bin case of\b",
        r"\brule out\b", r"\bto rule out\b", r"(?-i:\br/o\b)", r"\bR/O\b", r"\bevaluat(?:e|ion|ed) for\b",
        r"\bwork[- ]?up for\b", r"\bto exclude\b", r"\b(?:at )?risks? (?:of|for)\b", r"\brisk factors? for\b",
        r"\bprevent(?:ion|ing)? (?:of )?\b", r"\bprophylaxis\b", r"\bscreen(?:ing)? for\b", r"\bwatch for\b",
        r"\bmonitor(?:ing)? for\b", r"\bsigns (?:and symptoms )?of\b", r"\bin order to\b", r"\bwhen to\b",
        r"\bwould\b", r"\bunless\b", r"\b(?:concerned|worried|anxious|afraid) (?:about|of|that)\b", r"\bfear of\b",
    ),
    Assertion.UNCERTAIN: _alternatives(
        r"\bpossib(?:le|ly|ility of)\b", r"\bsuspect(?:ed)?\b", r"\bsuspicio(?:n|us) (?:of|for)\b", r"\bconcern(?:ing)? for\b",
        r"\bquestionable\b", r"\bquery\b", r"\bmay (?:have|be|represent)\b", r"\bmight\b", r"\bcould (?:be|represent)\b",
        r"\bcannot (?:be )?(?:rule[ds]? out|exclude[ds]?)\b", r"\bcan't (?:rule out|exclude)\b", r"\bnot (?:be )?excluded\b",
        r"\bdifferential(?: diagnosis)? (?:includes?|of)\b", r"\bworrisome for\b", r"\bversus\b", r"\bvs\.?", r"\bequivocal\b",
        r"\bunclear (?:if|whether)\b", r"\bquestion of\b",
        r"(?<!\S)\?(?=\s?\w)",  # "?pneumonia", "? CAP": the clinician's shorthand for a query
    ),
    Assertion.HISTORICAL: _alternatives(
        r"\bhistory of\b", r"\bhx of\b", r"(?-i:\bh/o\b)", r"\bH/O\b", r"\bs/p\b", r"\bstatus post\b",
        r"\bprevious(?:ly)?\b", r"\bprior\b", r"\bpast\b", r"\bremote\b", r"\bformer(?:ly)?\b",
    ),
}
_BACKWARD = {
    Assertion.FAMILY: _alternatives(
        r"\b(?:in|of) (?:his|her|their|the patient's|patient's|a) (?:(?:maternal|paternal|older|younger|late) )?"
        r"(?:mother|father|mom|dad|sister|brother|siblings?|son|daughter|grandmother|grandfather|aunt|uncle|cousin|parents?|family)\b",
        r"\bruns in (?:the|his|her) family\b", r"\bon (?:his|her) (?:mother's|father's) side\b",
    ),
    Assertion.NEGATED: _alternatives(
        r"\b(?:is|was|were|are|has been|have been)\s+(?:absent|excluded|ruled out|not (?:seen|present|found|identified))\b",
        r"\bruled out\b", r"\b(?:is|was)\s+negative\b", r"\bnot (?:seen|present|found|identified|demonstrated)\b",
        r"\bunlikely\b", r"\bdenied\b",
    ),
    Assertion.UNCERTAIN: _alternatives(
        r"\bcannot (?:be )?(?:ruled out|excluded)\b", r"\bnot (?:be )?excluded\b", r"\bis (?:possible|suspected|questionable)\b",
        r"\bor not\b", r"\?",
    ),
    Assertion.HISTORICAL: _alternatives(
        r"\bin the past\b", r"\b(?:\d+|several|many|two|three|four|five|ten) (?:years?|months?) ago\b",
        r"\b(?:has |had )?resolved\b", r"\bin (?:19|20)\d\d\b", r"\bas a (?:child|teenager)\b",
        r"\blast (?:year|month|spring|summer|fall|autumn|winter)\b",
    ),
    Assertion.HYPOTHETICAL: _alternatives(r"\bprecautions\b"),
}
# Where a trigger's scope ends (besides the sentence end). Family scope ends only at a contrast or
# a new clause about the patient ("mother had a stroke and he has hypertension"); the others also
# end where the note turns to what was found ("no fever; CXR shows pneumonia").
_TERMINATOR = _alternatives(
    r"\bbut\b", r"\bhowever\b", r"\balthough\b", r"\bthough\b", r"\byet\b", r"\bexcept\b", r"\baside from\b",
    r"\bapart from\b", r"\bwhereas\b", r"\bwhile\b",
    r"\b(?:he|she|the patient|patient|pt)\s+(?:also\s+|himself\s+|herself\s+)?(?:has|had|is|was|does|reports|carries|takes)\b",
)
_FINDING_TERMINATOR = _alternatives(
    r"\bpresent(?:s|ed|ing)? (?:with|to)\b", r"\bcomplain(?:s|ed|ing)? of\b", r"\bnow (?:has|with|on)\b", r"\bcurrently\b",
    r"\bsecondary to\b", r"\bdue to\b", r"\bcause of\b", r"\bsource of\b", r"\betiology of\b", r"\breason for\b",
    r"\badmitted (?:for|with)\b", r"\bdiagnosed with\b", r"\bfound to have\b", r"\bconfirm(?:s|ed|ing)\b", r"\bshows?\b",
    r"\bshowed\b", r"\breveal(?:s|ed)?\b", r"\bdemonstrat(?:es|ed)\b",
)
# Where forward triggers of the negation kind end early: a list "no X, Y or Z" stays negated, but a
# new statement about the patient after a comma does not ("no edema, has hypertension").
_NEGATION_BREAK = _alternatives(r",\s*(?:and\s+)?(?:he|she|patient|pt|the patient)?\s*(?:has|had|is|was|with|on)\b")

_HEADER = re.compile(r"^\s*([A-Za-z][A-Za-z /&'-]{1,40}?)\s*:")
_FAMILY_HEADER = re.compile(r"^(?:family (?:medical )?(?:history|hx)|fh|fhx)$", FLAGS)
_KNOWN_HEADER_WORDS = re.compile(
    r"history|hx|ros|review|systems|exam|examination|assessment|plan|impression|diagnos|medications?|allerg|"
    r"social|family|past|chief|complaint|hpi|pmh|psh|findings|labs?|vitals?|course|disposition|procedure|"
    r"subjective|objective|problems?|indication|recommendation|discharge|admission|surgical|fh|sh|a/p|cc",
    FLAGS,
)


def sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the note's sentences (split at . ! ? ; and line ends; decimals kept whole; a "?" after
    a space, "? pneumonia", opens a query rather than ending a sentence)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in re.finditer(r"(?<!\d)(?<=\S)[.!?;]+(?=\s|$)|(?<=\d)[.!?;]+(?=\s+[A-Z]|\s*$)|\n", text):
        end = match.end()
        if text[start:end].strip():
            spans.append((start, end))
        start = end
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


def _blank(text: str, pattern: re.Pattern[str]) -> str:
    """``text`` with every match of ``pattern`` replaced by spaces (offsets kept)."""
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


def _clause_end(lowered: str, start: int, kind: Assertion) -> int:
    """Where a forward trigger's scope starting at ``start`` ends (a terminator or the sentence end)."""
    ends = [len(lowered)]
    for pattern in (_TERMINATOR,) if kind is Assertion.FAMILY else (_TERMINATOR, _FINDING_TERMINATOR):
        terminator = pattern.search(lowered, start)
        if terminator:
            ends.append(terminator.start())
    if kind is Assertion.NEGATED:
        broken = _NEGATION_BREAK.search(lowered, start)
        if broken:
            ends.append(broken.start())
    return min(ends)


def _clause_start(lowered: str, end: int) -> int:
    """Where a backward trigger's scope ending at ``end`` begins (the last terminator before it)."""
    starts = [0] + [m.end() for p in (_TERMINATOR, _FINDING_TERMINATOR) for m in p.finditer(lowered, 0, end)]
    return max(starts)


_PRECEDENCE = [Assertion.FAMILY, Assertion.NEGATED, Assertion.HYPOTHETICAL, Assertion.UNCERTAIN, Assertion.HISTORICAL]


def assertion_of(sentence: str, start: int, end: int, section: Assertion | None) -> tuple[Assertion, str]:
    """The status of the mention at ``[start, end)`` of ``sentence`` (sentence-relative offsets)."""
    scoped = _blank(sentence, _PSEUDO)
    found: dict[Assertion, str] = {}
    for kind, pattern in _FORWARD.items():
        for trigger in pattern.finditer(scoped):
            if trigger.end() <= start and _clause_end(scoped, trigger.end(), kind) >= end:
                found.setdefault(kind, trigger.group(0).strip())
    for kind, pattern in _RIGHT_AFTER.items():
        if pattern.match(scoped, end):
            found.setdefault(kind, scoped[end:].split()[0] if scoped[end:].split() else "")
    for kind, pattern in _BACKWARD.items():
        for trigger in pattern.finditer(scoped, end):
            if _clause_start(scoped, trigger.start()) <= start:
                found.setdefault(kind, trigger.group(0).strip())
                break
    if section is not None:
        found.setdefault(section, "section")
    for kind in _PRECEDENCE:
        if kind in found:
            return kind, found[kind]
    return Assertion.AFFIRMED, ""


_LIST_LINE = re.compile(
    r"^\s*(?:$|[-*\u2022]|\d+[.)]|(?:maternal|paternal)?\s*(?:mother|father|mom|dad|sisters?|brothers?|siblings?|sons?|"
    r"daughters?|grandmother|grandfather|grandparents?|aunt|uncle|cousin|parents?)\b)", FLAGS)


def section_of(sentence: str, current: Assertion | None, line_start: bool) -> tuple[Assertion | None, int]:
    """The family-history scope after ``sentence`` begins, and how many characters its header takes.

    A "Family history:" header opens the scope; any other header closes it, and so does a new line
    that is neither a list item nor about a relative (so a family list may run over several lines).
    """
    header = _HEADER.match(sentence)
    if header is not None and len(header.group(1).split()) <= 5 and _KNOWN_HEADER_WORDS.search(header.group(1)):
        name = " ".join(header.group(1).lower().split())
        return (Assertion.FAMILY if _FAMILY_HEADER.match(name) else None), header.end()
    if line_start and current is not None and not _LIST_LINE.match(sentence):
        return None, 0
    return current, 0
