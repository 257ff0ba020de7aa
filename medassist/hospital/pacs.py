"""Talking to the configured PACS as a client: send results (C-STORE), find a patient's
studies (C-FIND, Study Root, study level) and retrieve one into the node (C-MOVE).

Every call opens one association (over TLS when the PACS settings say so, the PACS's certificate
and host name verified), is bounded by the administrator's ACSE, DIMSE and network timeouts, and
turns a refusal or a failure into a :class:`PacsError` naming the PACS, the DICOM status and its
meaning, and what was and was not done.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pydicom
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pynetdicom import AE
# pynetdicom creates its SOP class names when the module is imported, so mypy cannot see them
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)

from pynetdicom.status import QR_MOVE_SERVICE_CLASS_STATUS, STORAGE_SERVICE_CLASS_STATUS

from medassist.errors import MedAssistError
from medassist.settings.node import PacsSettings, Timeouts

STORE_OK = (0x0000, 0xB000, 0xB006, 0xB007)  # success, and the warnings (coercion, elements discarded, IOD mismatch)
STUDY_FIELDS = ("PatientID", "PatientName", "StudyDate", "StudyTime", "StudyDescription", "AccessionNumber",
                "ModalitiesInStudy", "NumberOfStudyRelatedInstances", "StudyInstanceUID")


class PacsError(MedAssistError):
    """The PACS refused, did not answer, or reported a failure; ``stored`` lists the SOP Instance UIDs
    it acknowledged before the failure."""

    def __init__(self, reason: str, source: str | Path | None = None, stored: list[str] | None = None) -> None:
        super().__init__(reason, source)
        self.stored = stored or []


def _status(code: int, table: dict[int, tuple[str, str]]) -> str:
    """'0xA700 (Refused: Out of resources)'."""
    category, meaning = table.get(code, ("", ""))
    words = ": ".join(part for part in (category, meaning) if part)
    return f"0x{code:04X}" + (f" ({words})" if words else "")


@dataclass(frozen=True)
class StudyMatch:
    """One study found on the PACS (C-FIND, study level)."""

    study_instance_uid: str
    patient_id: str
    patient_name: str
    study_date: str
    accession_number: str
    study_description: str
    modalities: str
    instances: int | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _name(pacs: PacsSettings) -> str:
    return f"PACS {pacs.ae_title} at {pacs.host}:{pacs.port}" + (" (TLS)" if pacs.tls else "")


@contextmanager
def association(pacs: PacsSettings, calling_ae_title: str, contexts: list[tuple[str, list[str] | None]],
                timeouts: Timeouts | None = None) -> Iterator[Any]:
    """An association with the PACS for ``contexts``, always released or aborted afterwards."""
    limits = timeouts or Timeouts()
    ae = AE(ae_title=calling_ae_title)
    ae.acse_timeout, ae.dimse_timeout, ae.network_timeout = limits.acse_s, limits.dimse_s, limits.network_s
    ae.connection_timeout = limits.acse_s
    for abstract, syntaxes in contexts:
        if syntaxes:
            ae.add_requested_context(abstract, syntaxes)
        else:
            ae.add_requested_context(abstract)
    context = pacs.ssl_context()
    assoc = ae.associate(pacs.host, pacs.port, ae_title=pacs.ae_title,
                         tls_args=(context, pacs.host) if context is not None else None)
    if not assoc.is_established:
        why = "rejected the association" if assoc.is_rejected else "did not answer"
        if context is not None and not assoc.is_rejected:
            why += " over TLS (or its certificate was not trusted)"
        raise PacsError(why, _name(pacs))
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()
        else:
            assoc.abort()


def echo(pacs: PacsSettings, calling_ae_title: str, timeouts: Timeouts | None = None) -> None:
    """C-ECHO: raises :class:`PacsError` unless the PACS answers."""
    with association(pacs, calling_ae_title, [(Verification, None)], timeouts) as assoc:
        status = assoc.send_c_echo()
        if not status or status.Status != 0:
            raise PacsError("C-ECHO failed", _name(pacs))


def send_files(pacs: PacsSettings, calling_ae_title: str, files: list[Path],
               timeouts: Timeouts | None = None) -> list[str]:
    """C-STORE each file (as stored: same transfer syntax) to the PACS, or STOW-RS them when the PACS
    is reached by DICOMweb; all must succeed. Returns the SOP Instance UIDs the PACS acknowledged
    (every one, or :class:`PacsError` saying which were)."""
    if pacs.dicomweb_url:
        return stow_files(pacs, files, timeouts)
    datasets = [pydicom.dcmread(path) for path in files]
    contexts = sorted({(d.SOPClassUID, d.file_meta.TransferSyntaxUID) for d in datasets})
    stored: list[str] = []
    try:
        with association(pacs, calling_ae_title, [(c, [s]) for c, s in contexts], timeouts) as assoc:
            for path, dataset in zip(files, datasets, strict=True):
                status = assoc.send_c_store(dataset)
                if not status or status.Status not in STORE_OK:
                    code = _status(int(status.Status), STORAGE_SERVICE_CLASS_STATUS) if status else "no answer"
                    raise PacsError(f"C-STORE of {path.name} failed ({code}); {len(stored)} of {len(files)} objects "
                                    "were stored before it", _name(pacs), stored)
                stored.append(str(dataset.SOPInstanceUID))
    except PacsError as exc:
        exc.stored = stored
        raise
    return stored


def _dicom_json_uids(payload: dict[str, Any], sequence_tag: str) -> list[str]:
    items = payload.get(sequence_tag, {}).get("Value", [])
    return [str(item.get("00081155", {}).get("Value", [""])[0]) for item in items]


def stow_files(pacs: PacsSettings, files: list[Path], timeouts: Timeouts | None = None) -> list[str]:
    """DICOMweb STOW-RS (PS3.18 10.5): the files as one multipart/related POST to ``<url>/studies``;
    the store response (a DICOM JSON dataset) says which instances were stored and which failed."""
    import json
    import ssl
    import urllib.error
    import urllib.request
    import uuid

    limits = timeouts or Timeouts()
    boundary = uuid.uuid4().hex
    parts = [b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + path.read_bytes() + b"\r\n"
             for path in files]
    body = b"".join(parts) + b"--" + boundary.encode() + b"--\r\n"
    url = pacs.dicomweb_url.rstrip("/") + "/studies"
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
        "Accept": "application/dicom+json"})
    context = (pacs.ssl_context() or ssl.create_default_context()) if url.startswith("https:") else None
    name = f"DICOMweb PACS at {pacs.dicomweb_url}"
    try:
        with urllib.request.urlopen(request, timeout=limits.network_s, context=context) as response:
            payload = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise PacsError(f"STOW-RS of {len(files)} objects failed (HTTP {exc.code} {exc.reason})", name) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise PacsError(f"did not answer ({getattr(exc, 'reason', exc)})", name) from exc
    stored = _dicom_json_uids(payload, "00081199")
    failed = _dicom_json_uids(payload, "00081198")
    if failed or len(stored) < len(files):
        raise PacsError(f"STOW-RS stored {len(stored)} of {len(files)} objects"
                        + (f"; failed: {', '.join(failed)}" if failed else ""), name, stored)
    return stored


def find_studies(pacs: PacsSettings, calling_ae_title: str, patient_id: str = "", patient_name: str = "",
                 study_instance_uid: str = "", accession_number: str = "",
                 timeouts: Timeouts | None = None) -> list[StudyMatch]:
    """C-FIND at study level; empty criteria match everything the PACS lets us see (an order is
    found by its accession number)."""
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    for keyword in STUDY_FIELDS:
        setattr(query, keyword, "")
    query.PatientID = patient_id
    query.PatientName = patient_name
    query.StudyInstanceUID = study_instance_uid
    query.AccessionNumber = accession_number
    matches: list[StudyMatch] = []
    with association(pacs, calling_ae_title, [(StudyRootQueryRetrieveInformationModelFind, None)], timeouts) as assoc:
        for status, identifier in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind):
            if not status:
                raise PacsError("C-FIND got no answer", _name(pacs))
            if status.Status in (0xFF00, 0xFF01) and identifier is not None:
                count = identifier.get("NumberOfStudyRelatedInstances", None)
                matches.append(StudyMatch(
                    study_instance_uid=str(identifier.get("StudyInstanceUID", "")),
                    patient_id=str(identifier.get("PatientID", "")),
                    patient_name=str(identifier.get("PatientName", "")),
                    study_date=str(identifier.get("StudyDate", "")),
                    accession_number=str(identifier.get("AccessionNumber", "")),
                    study_description=str(identifier.get("StudyDescription", "")),
                    modalities=_joined(identifier.get("ModalitiesInStudy", "")),
                    instances=int(count) if count not in (None, "") else None,
                ))
            elif status.Status != 0x0000:
                raise PacsError(f"C-FIND failed (0x{int(status.Status):04X})", _name(pacs))
    return matches


def _count(status: Dataset, keyword: str) -> int | None:
    value = status.get(keyword, None)
    return None if value in (None, "") else int(value)


def move_study(pacs: PacsSettings, calling_ae_title: str, study_instance_uid: str, destination_ae_title: str,
               timeouts: Timeouts | None = None) -> int:
    """C-MOVE a study to ``destination_ae_title`` (the node); returns the number of objects moved.

    A failure says what the PACS said: its status and that status's meaning, the sub-operations it
    counted (or that it counted none: a PACS that fails before moving anything may send no
    counts), and the instances it listed as failed."""
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = study_instance_uid
    completed = 0
    with association(pacs, calling_ae_title, [(StudyRootQueryRetrieveInformationModelMove, None)], timeouts) as assoc:
        for status, identifier in assoc.send_c_move(query, destination_ae_title,
                                                    StudyRootQueryRetrieveInformationModelMove):
            if not status:
                raise PacsError("C-MOVE got no answer", _name(pacs))
            if status.Status in (0xFF00, 0xFF01):
                continue
            counts = {name: _count(status, f"NumberOf{name.title()}Suboperations")
                      for name in ("completed", "failed", "warning", "remaining")}
            completed = counts["completed"] or 0
            if status.Status == 0x0000 and not counts["failed"]:
                continue
            said = ", ".join(f"{value} {name}" for name, value in counts.items() if value is not None)
            failed_uids = _joined(identifier.get("FailedSOPInstanceUIDList", "")) if identifier is not None else ""
            raise PacsError(
                f"C-MOVE of study {study_instance_uid} to {destination_ae_title} failed: status "
                f"{_status(int(status.Status), QR_MOVE_SERVICE_CLASS_STATUS)}; sub-operations: "
                + (said if said else "none counted by the PACS")
                + (f"; failed instances: {failed_uids}" if failed_uids else ""), _name(pacs))
    return completed


def _joined(value: Any) -> str:
    """A multi-valued attribute (e.g. ModalitiesInStudy) as DICOM writes it: values joined by backslash."""
    return "\\".join(str(v) for v in value) if isinstance(value, MultiValue) else str(value or "")
