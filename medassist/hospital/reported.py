"""What leaves the hospital side of MedAssist (worklist, SR, FHIR, the results PDF): the findings of a
result and nothing else.

A subtype (bacterial / viral of pneumonia) is never a finding, and its split was validated only in
young children; until the findings module can say when a share may be shown, no subtype is shown
here at all. Positives are the findings that count now (:func:`~medassist.domain.findings.findings_of`),
never ``Prediction.positive`` (the model's raw output, which lists the subtype too).
"""

from __future__ import annotations

from dataclasses import replace

from medassist.domain.findings import Finding, findings_of
from medassist.domain.prediction import Prediction


def reported(prediction: Prediction, findings: list[Finding] | None = None) -> Prediction:
    """``prediction`` as reported: only outputs that are findings, positive = the findings that count now."""
    found = findings_of(prediction) if findings is None else findings
    kept = {f.label for f in found}
    return replace(prediction, outputs={k: v for k, v in prediction.outputs.items() if k in kept},
                   positive=[f.label for f in found if f.counts_now], explanations=list(prediction.explanations))
