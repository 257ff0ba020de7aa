"""What the Worklist tab and ``medassist worklist`` share: each row's findings, urgency order,
filters, and turning a stored result back into a :class:`Prediction` for the Diagnosis tab.

A row's result is stored as a document of the values codec (:mod:`medassist.domain.codec`), whole:
image link, gate verdict, population notice, film context, subtype splits and explanations come back
as they were made. Rows written before the codec (``Prediction.to_dict``) are read as its version 0;
a row written by a newer MedAssist is shown as an error saying so.

A row's findings are :func:`~medassist.domain.findings.findings_of` its stored result: each with its
own probability and its own threshold ("Pneumonia 62.9% (threshold 30.8%)"), positive only when it
counts now; a subtype is never listed (:mod:`medassist.hospital.reported`).
"""

from __future__ import annotations

from typing import Any, Literal

from medassist.domain import codec
from medassist.domain.findings import findings_of
from medassist.domain.prediction import Prediction
from medassist.domain.result_text import finding_text
from medassist.errors import InputError

WorklistFilter = Literal["all", "unread", "positive", "refused", "pending", "kept"]
FILTERS: dict[str, str] = {
    "all": "All images",
    "unread": "Unread",
    "positive": "Positive at threshold",
    "refused": "Refused by the input gate / errors",
    "pending": "Waiting to be scored",
    "kept": "Other objects of the studies (SR, PR, KO, SEG)",
}


def stored_result(prediction: Prediction) -> dict[str, Any]:
    """What a worklist row stores of its result: the codec's document, arrays inline."""
    return codec.document(prediction)


def prediction_of(entry: dict[str, Any]) -> Prediction | None:
    """The stored model result of a worklist row as a Prediction (None when not analysed); everything
    the result held comes back, so the Diagnosis tab, the SR and FHIR show it whole. An unreadable or
    newer result is an :class:`InputError` naming the row."""
    result = entry.get("result")
    if not result:
        return None
    try:
        return codec.from_document(Prediction, result)
    except ValueError as exc:  # CodecError, ArrayError
        raise InputError(f"worklist row {entry.get('sop_instance_uid', '')}: stored result unreadable: {exc}") from exc


def summarise(entry: dict[str, Any]) -> dict[str, Any]:
    """Add the row's result and findings to a worklist row: ``gate``, ``outputs`` and ``thresholds``
    (no outputs for a refused input), ``findings`` (each with its own probability and threshold and its
    words), ``positive`` (the findings that count now), ``top_finding`` and ``top_probability`` (the
    first positive finding, else the most probable one). A result that cannot be read makes the row an
    error that says why."""
    try:
        prediction = prediction_of(entry)
    except InputError as exc:
        prediction = None
        entry["status"], entry["error"] = "error", exc.reason
    entry["gate"] = codec.plain(prediction.gate) if prediction is not None and prediction.gate else None
    entry["outputs"] = dict(prediction.outputs) if prediction is not None and not prediction.refused else {}
    entry["thresholds"] = dict(prediction.thresholds) if prediction is not None else {}
    findings = findings_of(prediction) if prediction is not None and entry["status"] == "scored" else []
    rows: list[dict[str, Any]] = []
    for finding in findings:
        rows.append({"label": finding.label, "name": finding.name, "status": finding.status.value,
                     "probability": finding.score, "threshold": finding.threshold, "text": finding_text(finding)})
    entry["findings"] = rows
    entry["positive"] = [f.label for f in findings if f.counts_now]
    top = next((r for r in rows if r["label"] in entry["positive"]), None) or max(
        rows, key=lambda r: float(r["probability"]), default=None)
    entry["top_finding"] = top["text"] if top else None
    entry["top_probability"] = top["probability"] if top else None
    return entry


def urgency(entry: dict[str, Any]) -> tuple[int, float]:
    """Sort key, most urgent first when sorted descending: positive findings by probability, then
    negatives by probability, then objects still waiting, then refused or failed ones, then
    non-image objects kept with their studies."""
    if entry["status"] == "scored":
        return (4 if entry["positive"] else 3, float(entry["top_probability"] or 0.0))
    if entry["status"] in ("queued", "scoring"):
        return (2, 0.0)
    if entry["status"] == "kept":
        return (0, 0.0)
    return (1, 0.0)


def matches(entry: dict[str, Any], which: WorklistFilter, text: str = "") -> bool:
    """Whether a worklist row passes the chosen filter and contains ``text`` (patient, ID, accession, finding)."""
    if (which == "kept") != (entry["status"] == "kept"):
        return False
    if which == "unread" and entry["read"]:
        return False
    if which == "positive" and not (entry["status"] == "scored" and entry["positive"]):
        return False
    if which == "refused" and entry["status"] not in ("refused", "error"):
        return False
    if which == "pending" and entry["status"] not in ("queued", "scoring"):
        return False
    needle = text.strip().lower()
    if not needle:
        return True
    haystack = " ".join(str(entry.get(k) or "") for k in ("patient_name", "patient_id", "accession_number",
                                                           "top_finding", "modality", "study_description", "status",
                                                           "origin"))
    return needle in haystack.lower()


def analysed_studies(entries: list[dict[str, Any]], sop_instance_uids: list[str]) -> list[str]:
    """Study UIDs (in first-seen order) of the given objects that the worklist holds analysed."""
    by_uid = {e["sop_instance_uid"]: e for e in entries if e["status"] in ("scored", "refused")}
    studies: list[str] = []
    for uid in sop_instance_uids:
        entry = by_uid.get(uid)
        if entry is not None and entry["study_instance_uid"] not in studies:
            studies.append(entry["study_instance_uid"])
    return studies
