"""What the Worklist tab and ``medassist worklist`` share: urgency order, filters, and turning
a stored result back into a :class:`Prediction` for the Diagnosis tab."""

from __future__ import annotations

from typing import Any, Literal

from medassist.domain.prediction import GateVerdict, Prediction

WorklistFilter = Literal["all", "unread", "positive", "refused", "pending"]
FILTERS: dict[str, str] = {
    "all": "All studies",
    "unread": "Unread",
    "positive": "Positive at threshold",
    "refused": "Refused by the input gate / errors",
    "pending": "Waiting to be scored",
}


def urgency(entry: dict[str, Any]) -> tuple[int, float]:
    """Sort key, most urgent first when sorted descending: positive findings by probability, then
    negatives by probability, then objects still waiting, then refused or failed ones."""
    if entry["status"] == "scored":
        return (3 if entry["positive"] else 2, float(entry["top_probability"] or 0.0))
    if entry["status"] in ("queued", "scoring"):
        return (1, 0.0)
    return (0, 0.0)


def matches(entry: dict[str, Any], which: WorklistFilter, text: str = "") -> bool:
    """Whether a worklist row passes the chosen filter and contains ``text`` (patient, ID, finding)."""
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
    haystack = " ".join(str(entry.get(k) or "") for k in ("patient_name", "patient_id", "top_finding", "modality",
                                                           "study_description", "status", "origin"))
    return needle in haystack.lower()


def prediction_of(entry: dict[str, Any]) -> Prediction | None:
    """The stored model result of a worklist row as a Prediction (None when not analysed)."""
    result = entry.get("result")
    if not result:
        return None
    gate = result.get("gate")
    return Prediction(
        model=result["model"], version=result["version"], weights_sha256=result["weights_sha256"],
        task=result["task"], device=result["device"], source=result["file"], input_sha256=result["input_sha256"],
        outputs=dict(result["outputs"]), thresholds=dict(result["thresholds"]), positive=list(result["positive"]),
        gate=GateVerdict(**gate) if gate else None, missing_inputs=list(result.get("missing_inputs") or []),
        elapsed_ms=float(result.get("elapsed_ms") or 0.0), patient_id=result.get("patient_id"),
        created=result.get("created") or "", extra=dict(result.get("extra") or {}),
    )


def analysed_studies(entries: list[dict[str, Any]], sop_instance_uids: list[str]) -> list[str]:
    """Study UIDs (in first-seen order) of the given objects that the worklist holds analysed."""
    by_uid = {e["sop_instance_uid"]: e for e in entries if e["status"] in ("scored", "refused")}
    studies: list[str] = []
    for uid in sop_instance_uids:
        entry = by_uid.get(uid)
        if entry is not None and entry["study_instance_uid"] not in studies:
            studies.append(entry["study_instance_uid"])
    return studies
