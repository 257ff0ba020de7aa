"""The coded concepts of MedAssist's results, one table for the DICOM SR and FHIR.

Standard codes where they exist, each checked against its source (not made up):

* SNOMED CT 233604007 |Pneumonia (disorder)| (SNOMED CT International);
* RadLex RID5350 "pneumonia" (RSNA RadLex);
* SNOMED CT 399208008 |Plain chest X-ray (procedure)|;
* DICOM PS3.16 (pydicom's concept dictionary): 126000 "Imaging Measurement Report" (CID 7021),
  122157 "Probability", 122411 "Threshold Value", 121071 "Finding"; SNOMED CT 52101004 "Present"
  and 272519000 "Absent" (CID 240); UCUM "1" "no units";
* HL7 v3 ObservationInterpretation POS / NEG, LOINC 18748-4 "Diagnostic imaging study".

Concepts no standard names (the input gate's verdict, "decision support, not a diagnosis") are
private codes of the scheme ``99MEDASSIST``, declared in every SR's Coding Scheme Identification
Sequence (PS3.3 C.12.1.1.2.1: designators beginning "99" are private) and never cut: a value over
16 characters goes in Long Code Value (highdicom does this).
"""

from __future__ import annotations

from dataclasses import dataclass

import highdicom as hd
from highdicom.coding_schemes import CodingSchemeIdentificationItem
from pydicom.sr.codedict import codes

from medassist.domain.result_text import INSIDE, OUTSIDE

SCHEME = "99MEDASSIST"
SCHEME_NAME = "MedAssist private codes"
SCHEME_DECLARATION = CodingSchemeIdentificationItem(designator=SCHEME, name=SCHEME_NAME,
                                                          responsible_organization="MedAssist")
FHIR_SYSTEMS = {
    "SCT": "http://snomed.info/sct",
    "LN": "http://loinc.org",
    "RADLEX": "http://www.radlex.org",
    "DCM": "http://dicom.nema.org/resources/ontology/DCM",
    "UCUM": "http://unitsofmeasure.org",
    SCHEME: "urn:medassist:codes",
}


@dataclass(frozen=True)
class Concept:
    """One concept, in every scheme that has a code for it (the first is the SR's)."""

    codings: tuple[tuple[str, str, str], ...]  # (scheme designator, value, meaning)

    @property
    def sr(self) -> hd.sr.CodedConcept:
        scheme, value, meaning = self.codings[0]
        return hd.sr.CodedConcept(value, scheme, meaning)

    @property
    def meaning(self) -> str:
        return self.codings[0][2]

    def fhir(self, text: str | None = None) -> dict[str, object]:
        """A FHIR CodeableConcept with every coding."""
        concept: dict[str, object] = {
            "coding": [{"system": FHIR_SYSTEMS[scheme], "code": value, "display": meaning}
                       for scheme, value, meaning in self.codings],
        }
        if text:
            concept["text"] = text
        return concept


def _private(value: str, meaning: str) -> Concept:
    return Concept(((SCHEME, value, meaning),))


# findings by model output label: an output without a code here is coded privately, never guessed
FINDINGS: dict[str, Concept] = {
    "pneumonia": Concept((("SCT", "233604007", "Pneumonia"), ("RADLEX", "RID5350", "pneumonia"))),
}
# the imaging procedure each model reads
PROCEDURES: dict[str, Concept] = {
    "cxr-pneumonia": Concept((("SCT", "399208008", "Plain chest X-ray"),)),
}
AI_ANALYSIS = _private("AI-IMAGE-ANALYSIS", "AI image analysis")  # a model with no procedure above

REPORT_TITLE = Concept((("DCM", "126000", "Imaging Measurement Report"),))
FHIR_REPORT_CODE = Concept((("LN", "18748-4", "Diagnostic imaging study"),))
PROBABILITY = Concept((("DCM", "122157", "Probability"),))
THRESHOLD = Concept((("DCM", "122411", "Threshold Value"),))
NO_UNITS = hd.sr.CodedConcept.from_code(codes.UCUM.NoUnits)
PRESENT = hd.sr.CodedConcept.from_code(codes.SCT.Present)
ABSENT = hd.sr.CodedConcept.from_code(codes.SCT.Absent)
INPUT_GATE = _private("INPUT-GATE", "Input gate verdict")
GATE_INSIDE = _private("INSIDE-KNOWN-DATA", INSIDE)
GATE_OUTSIDE = _private("OUTSIDE-KNOWN-DATA", OUTSIDE)
INTENDED_USE = _private("INTENDED-USE", "Intended use")
DECISION_SUPPORT = _private("DECISION-SUPPORT-ONLY", "Decision support only - not a diagnosis")
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


def finding_concept(label: str, name: str) -> Concept:
    """The finding's standard codes, or a private code named after the output (full length)."""
    return FINDINGS.get(label) or _private(f"FINDING-{label.upper().replace(' ', '-')}", name)


def procedure_concept(model: str) -> Concept:
    return PROCEDURES.get(model, AI_ANALYSIS)
