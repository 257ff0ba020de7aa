"""What the treatment rules read about one patient: the clinical picture, plus the treatment-specific parts.

The picture (:mod:`medassist.clinical.picture`) holds age, sex, weight, pregnancy, kidney function
(eGFR recorded or CKD-EPI 2021, Cockcroft-Gault CrCl), vitals and labs with their dates, LVEF, problems
by concept, scores and the care setting; nothing here computes them again. This module adds only what
treatment needs on top: current medications and allergies mapped to knowledge-base ingredients (and
allergy classes), and the medications the tables do not know.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from medassist.clinical.scores import cha2ds2_va, cha2ds2_vasc
from medassist.domain.clinical import ClinicalPicture, EvidenceKind, Measurement, ScoreResult
from medassist.recommend.knowledge import KnowledgeBase, normalise_text
from medassist.records import summary
from medassist.records.schema import PatientRecords

# The criterion inputs (knowledge.INPUTS) that are measures of the picture, by measure name.
_MEASURE_OF_INPUT = {"potassium": "potassium", "systolic_bp": "systolic_bp", "heart_rate": "heart_rate",
                     "inr": "inr", "sodium": "sodium"}


class IngredientMatcher:
    """Finds knowledge-base ingredients in a medication or allergy text (and in RxNorm ingredient codes)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._by_rxcui = {i.rxcui: i.id for i in kb.ingredients.ingredients if i.rxcui}
        self._terms: list[tuple[str, str]] = []
        for ing in kb.ingredients.ingredients:
            for term in [ing.name, *ing.synonyms]:
                self._terms.append((normalise_text(term), ing.id))
        self._terms.sort(key=lambda t: -len(t[0]))

    def match(self, text: str | None, code: str | None = None) -> list[str]:
        found: list[str] = []
        if code and str(code) in self._by_rxcui:
            found.append(self._by_rxcui[str(code)])
        if text:
            norm = normalise_text(text)
            for term, ing in self._terms:
                if term in norm and ing not in found:
                    found.append(ing)
        return found


@dataclass(frozen=True)
class RecordedAllergy:
    description: str
    code: str
    ingredients: tuple[str, ...]
    classes: tuple[str, ...]
    anaphylaxis: bool


@dataclass
class PatientContext:
    """The clinical picture plus the patient's drugs and allergies as knowledge-base ingredients."""

    picture: ClinicalPicture
    medications: list[str]  # current ingredient ids
    medication_labels: dict[str, str]  # ingredient id -> record description it came from
    unmatched_medications: list[str]
    allergies: list[RecordedAllergy]
    diagnoses: list[str] = field(default_factory=list)  # named by the clinician for this request (CLI --diagnosis)
    notes: list[str] = field(default_factory=list)
    scores: dict[str, ScoreResult] = field(default_factory=dict)  # the picture's, plus those treatment computes

    # the picture, as the rules read it -------------------------------------------------------
    @property
    def patient_id(self) -> str:
        return self.picture.patient_id

    @property
    def age_years(self) -> float | None:
        return self.picture.age_years

    @property
    def sex(self) -> str:
        return self.picture.sex

    @property
    def female(self) -> bool:
        return self.picture.sex == "female"

    @property
    def is_child(self) -> bool:
        return self.picture.is_child

    @property
    def pregnant(self) -> bool | None:
        return self.picture.pregnant

    @property
    def could_be_pregnant(self) -> bool:
        return self.female and self.age_years is not None and 12 <= self.age_years <= 50

    @property
    def weight_kg(self) -> float | None:
        return None if self.picture.weight is None else self.picture.weight.value

    @property
    def setting(self) -> str | None:
        """The care setting the clinician chose (None until they do)."""
        return self.picture.care_setting.chosen

    def has(self, concept: str) -> bool:
        return self.picture.has(concept)

    def taking(self, kb: KnowledgeBase, ref: str) -> list[str]:
        """Current ingredient ids that ``ref`` (an ingredient id or ``class:<name>``) names."""
        members = kb.members(ref)
        return [m for m in self.medications if m in members]

    def measurement(self, name: str) -> Measurement | None:
        """A criterion input (knowledge.INPUTS) from the picture, with its source and date; None when not known."""
        renal = self.picture.renal
        if name == "age":
            age = self.picture.age
            return None if age is None else Measurement(round(age.years, 1), "years", age.on, age.source)
        found = {
            "weight": self.picture.weight, "creatinine": renal.creatinine, "crcl": renal.crcl, "egfr": renal.egfr,
            "acr": renal.albuminuria, "ef": self.picture.ejection_fraction,
        }
        if name in found:
            return found[name]
        if name in _MEASURE_OF_INPUT:
            return self.picture.measures.get(_MEASURE_OF_INPUT[name])
        raise KeyError(name)

    def value(self, name: str) -> float | None:
        found = self.measurement(name)
        return None if found is None else found.value

    def kidney_value(self, measure: str) -> tuple[float | None, str]:
        """The value a rule written for ``measure`` (eGFR or CrCl) uses, and where it came from.

        Labels that dose by Cockcroft-Gault CrCl get it when weight, age, sex and creatinine are known;
        otherwise eGFR stands in, and the note says so.
        """
        renal = self.picture.renal
        if measure == "CrCl" and renal.crcl is not None:
            return renal.crcl.value, renal.crcl.source
        if renal.egfr is None:
            return None, self.no_egfr()
        note = f"eGFR {'computed' if renal.egfr_computed else 'recorded'}: {renal.egfr.source}"
        if measure == "CrCl":
            note += "; the label uses creatinine clearance, eGFR used as an approximation (no weight for Cockcroft-Gault)"
        return renal.egfr.value, note

    def no_egfr(self) -> str:
        """Why there is no eGFR: none recorded, or a creatinine that cannot give one (CKD-EPI needs an adult's age and sex)."""
        creatinine = self.picture.renal.creatinine
        if creatinine is None:
            return "no eGFR or creatinine on record"
        when = f", {creatinine.date.isoformat()}" if creatinine.date else ""
        return (f"no eGFR on record, and the creatinine ({creatinine.value:g} mg/dL{when}) gives none without an adult's "
                "age and sex")

    def clinician_named(self) -> list[str]:
        """Problems the clinician named for this visit (confirmed findings and diagnoses given)."""
        return [e.text for p in self.picture.problems for e in p.evidence if e.kind == EvidenceKind.CLINICIAN]

    def inputs(self) -> dict[str, object]:
        """The inputs shown beside each recommendation (what drove it), read from the picture."""
        renal = self.picture.renal

        def number(found: Measurement | None) -> float | None:
            return None if found is None else round(found.value, 1)

        return {
            "age_years": None if self.age_years is None else round(self.age_years, 1),
            "sex": self.sex,
            "weight_kg": number(self.picture.weight),
            "pregnant": self.pregnant,
            "egfr": number(renal.egfr),
            "egfr_source": "" if renal.egfr is None else renal.egfr.source,
            "crcl": number(renal.crcl),
            "potassium": self.value("potassium"),
            "ejection_fraction": number(self.picture.ejection_fraction),
            "setting": self.setting,
            "current_medications": list(self.medications),
            "allergies": [a.description for a in self.allergies],
            "conditions": [p.name for p in self.picture.problems],
        }


_ANAPHYLAXIS_WORDS = (" anaphyla", " angioedema", " severe ")


def _allergy_classes(kb: KnowledgeBase, text: str, ingredients: list[str]) -> set[str]:
    norm = normalise_text(text)
    classes = {cls for cls, words in kb.safety.allergy_classes.items() if any(normalise_text(w) in norm for w in words)}
    for ing in ingredients:
        classes |= kb.classes_of(ing) & set(kb.safety.allergy_classes)
    return classes


def build_context(records: PatientRecords, picture: ClinicalPicture, kb: KnowledgeBase,
                  diagnoses: list[str] | None = None) -> PatientContext:
    """The picture plus the patient's current drugs and allergies as knowledge-base ingredients."""
    patient_id = picture.patient_id
    matcher = IngredientMatcher(kb)
    meds: list[str] = []
    labels: dict[str, str] = {}
    unmatched: list[str] = []
    for r in summary.current_medications(records, patient_id).itertuples(index=False):
        found = matcher.match(None if pd.isna(r.description) else str(r.description), None if pd.isna(r.code) else str(r.code))
        if not found and pd.notna(r.description):
            unmatched.append(str(r.description))
        for ing in found:
            if ing not in meds:
                meds.append(ing)
                labels[ing] = str(r.description)
    notes = []
    if unmatched:
        notes.append(f"{len(unmatched)} current medication(s) not in the knowledge base were not checked for "
                     f"interactions: {'; '.join(unmatched)}")

    allergies = []
    for r in summary.active_allergies(records, patient_id).itertuples(index=False):
        text = " ".join(str(v) for v in (r.description, r.reaction, r.severity) if pd.notna(v))
        ings = matcher.match(None if pd.isna(r.description) else str(r.description), None if pd.isna(r.code) else str(r.code))
        classes = _allergy_classes(kb, "" if pd.isna(r.description) else str(r.description), ings)
        if not ings and not classes:
            continue
        severe = any(word in normalise_text(text) for word in _ANAPHYLAXIS_WORDS)
        allergies.append(RecordedAllergy(str(r.description), "" if pd.isna(r.code) else str(r.code), tuple(ings), tuple(sorted(classes)), severe))

    # The stroke-risk scores the AF rules read: the picture's when it has them, else computed by the same functions.
    scores = dict(picture.scores)
    for score in (cha2ds2_va, cha2ds2_vasc):
        computed = score(picture)
        scores.setdefault(computed.name, computed)
    return PatientContext(picture=picture, medications=meds, medication_labels=labels, unmatched_medications=unmatched,
                          allergies=allergies, diagnoses=list(diagnoses or []), notes=notes, scores=scores)
