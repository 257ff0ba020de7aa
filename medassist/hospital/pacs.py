"""Talking to the configured PACS as a client: send results (C-STORE), find a patient's
studies (C-FIND, Study Root, study level) and retrieve one into the node (C-MOVE).

Every call opens one association, is bounded by timeouts, and turns a refusal or a failure
into a :class:`PacsError` naming the PACS and the reason.
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

from medassist.errors import MedAssistError
from medassist.settings.node import PacsSettings

TIMEOUT_S = 60
STUDY_FIELDS = ("PatientID", "PatientName", "StudyDate", "StudyTime", "StudyDescription", "AccessionNumber",
                "ModalitiesInStudy", "NumberOfStudyRelatedInstances", "StudyInstanceUID")


class PacsError(MedAssistError):
    """The PACS refused, did not answer, or reported a failure."""


@dataclass(frozen=True)
class StudyMatch:
    """One study found on the PACS (C-FIND, study level)."""

    study_instance_uid: str
    patient_id: str
    patient_name: str
    study_date: str
    study_description: str
    modalities: str
    instances: int | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _name(pacs: PacsSettings) -> str:
    return f"PACS {pacs.ae_title} at {pacs.host}:{pacs.port}"


@contextmanager
def association(pacs: PacsSettings, calling_ae_title: str, contexts: list[tuple[str, list[str] | None]]) -> Iterator[Any]:
    """An association with the PACS for ``contexts``, always released or aborted afterwards."""
    ae = AE(ae_title=calling_ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT_S
    for abstract, syntaxes in contexts:
        if syntaxes:
            ae.add_requested_context(abstract, syntaxes)
        else:
            ae.add_requested_context(abstract)
    assoc = ae.associate(pacs.host, pacs.port, ae_title=pacs.ae_title)
    if not assoc.is_established:
        why = "rejected the association" if assoc.is_rejected else "did not answer"
        raise PacsError(why, _name(pacs))
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()
        else:
            assoc.abort()


def echo(pacs: PacsSettings, calling_ae_title: str) -> None:
    """C-ECHO: raises :class:`PacsError` unless the PACS answers."""
    with association(pacs, calling_ae_title, [(Verification, None)]) as assoc:
        status = assoc.send_c_echo()
        if not status or status.Status != 0:
            raise PacsError("C-ECHO failed", _name(pacs))


def send_files(pacs: PacsSettings, calling_ae_title: str, files: list[Path]) -> None:
    """C-STORE each file (as stored: same transfer syntax) to the PACS; all must succeed."""
    datasets = [pydicom.dcmread(path) for path in files]
    contexts = sorted({(d.SOPClassUID, d.file_meta.TransferSyntaxUID) for d in datasets})
    with association(pacs, calling_ae_title, [(c, [s]) for c, s in contexts]) as assoc:
        for path, dataset in zip(files, datasets, strict=True):
            status = assoc.send_c_store(dataset)
            if not status or status.Status not in (0x0000, 0xB000, 0xB006, 0xB007):
                code = f"0x{int(status.Status):04X}" if status else "no answer"
                raise PacsError(f"C-STORE of {path.name} failed ({code})", _name(pacs))


def find_studies(pacs: PacsSettings, calling_ae_title: str, patient_id: str = "", patient_name: str = "",
                 study_instance_uid: str = "") -> list[StudyMatch]:
    """C-FIND at study level; empty criteria match everything the PACS lets us see."""
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    for keyword in STUDY_FIELDS:
        setattr(query, keyword, "")
    query.PatientID = patient_id
    query.PatientName = patient_name
    query.StudyInstanceUID = study_instance_uid
    matches: list[StudyMatch] = []
    with association(pacs, calling_ae_title, [(StudyRootQueryRetrieveInformationModelFind, None)]) as assoc:
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
                    study_description=str(identifier.get("StudyDescription", "")),
                    modalities=_joined(identifier.get("ModalitiesInStudy", "")),
                    instances=int(count) if count not in (None, "") else None,
                ))
            elif status.Status != 0x0000:
                raise PacsError(f"C-FIND failed (0x{int(status.Status):04X})", _name(pacs))
    return matches


def move_study(pacs: PacsSettings, calling_ae_title: str, study_instance_uid: str, destination_ae_title: str) -> int:
    """C-MOVE a study to ``destination_ae_title`` (the node); returns the number of objects moved."""
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = study_instance_uid
    completed = 0
    with association(pacs, calling_ae_title, [(StudyRootQueryRetrieveInformationModelMove, None)]) as assoc:
        for status, _identifier in assoc.send_c_move(query, destination_ae_title,
                                                     StudyRootQueryRetrieveInformationModelMove):
            if not status:
                raise PacsError("C-MOVE got no answer", _name(pacs))
            if status.Status in (0xFF00, 0xFF01):
                continue
            completed = int(status.get("NumberOfCompletedSuboperations", 0) or 0)
            failed = int(status.get("NumberOfFailedSuboperations", 0) or 0)
            if status.Status not in (0x0000, 0xB000) or failed:
                raise PacsError(f"C-MOVE of study {study_instance_uid} to {destination_ae_title} failed "
                                f"(0x{int(status.Status):04X}, {failed} failed)", _name(pacs))
    return completed


def _joined(value: Any) -> str:
    """A multi-valued attribute (e.g. ModalitiesInStudy) as DICOM writes it: values joined by backslash."""
    return "\\".join(str(v) for v in value) if isinstance(value, MultiValue) else str(value or "")
