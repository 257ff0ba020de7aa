"""The DICOM node: a pynetdicom Storage SCP (C-ECHO, C-STORE) that fills the worklist.

Callers are checked before anything else happens: an association from an AE title or
address that is not allowed is rejected (A-ASSOCIATE-RJ, "calling AE title not recognised")
and logged, so an unknown caller never learns more than that. Every association and every
object gets an audit line. The GUI and ``medassist node`` run this same class.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from pydicom.uid import UID
from pynetdicom import ALL_TRANSFER_SYNTAXES, AE, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]  # created at import time

from medassist.audit import AuditLog
from medassist.errors import MedAssistError
from medassist.settings.node import NodeSettings
from medassist.hospital.scoring import Scorer, image_model_for
from medassist.hospital.store import ObjectHeader, StudyStore
from medassist.inference.registry import ModelRegistry

LOG = logging.getLogger(__name__)

# The storage classes MedAssist can open (radiographs, CT, MR, US, NM, XA, mammography, SC).
ACCEPTED_STORAGE = {
    "ComputedRadiographyImageStorage",
    "DigitalXRayImageStorageForPresentation",
    "DigitalXRayImageStorageForProcessing",
    "DigitalMammographyXRayImageStorageForPresentation",
    "CTImageStorage",
    "EnhancedCTImageStorage",
    "MRImageStorage",
    "EnhancedMRImageStorage",
    "UltrasoundImageStorage",
    "UltrasoundMultiFrameImageStorage",
    "NuclearMedicineImageStorage",
    "XRayAngiographicImageStorage",
    "SecondaryCaptureImageStorage",
    "MultiFrameGrayscaleByteSecondaryCaptureImageStorage",
    "MultiFrameGrayscaleWordSecondaryCaptureImageStorage",
    "MultiFrameTrueColorSecondaryCaptureImageStorage",
}
STATUS_SUCCESS = 0x0000
STATUS_OUT_OF_RESOURCES = 0xA700
STATUS_CANNOT_UNDERSTAND = 0xC000
REJECT_PERMANENT, REJECT_BY_USER, CALLING_AE_NOT_RECOGNISED = 0x01, 0x01, 0x03


class DicomNode:
    """Receives studies into ``store`` and queues those a bundled model applies to on ``scorer``."""

    def __init__(self, settings: NodeSettings, store: StudyStore, scorer: Scorer | None = None,
                 audit: AuditLog | None = None, registry: ModelRegistry | None = None,
                 on_stored: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.settings = settings
        self.store = store
        self.scorer = scorer
        self.audit = audit or AuditLog()
        self.registry = registry or ModelRegistry()
        self.on_stored = on_stored  # (worklist entry), from a network thread
        self._server: Any = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._server is not None

    def build_ae(self) -> AE:
        ae = AE(ae_title=self.settings.ae_title)
        ae.require_called_aet = True
        ae.add_supported_context(Verification)
        for context in AllStoragePresentationContexts:
            if context.abstract_syntax is not None and UID(context.abstract_syntax).keyword in ACCEPTED_STORAGE:
                ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        ae.maximum_associations = 16
        ae.network_timeout = 60
        ae.acse_timeout = 30
        ae.dimse_timeout = 60
        return ae

    def start(self) -> None:
        """Listen on the configured address and port (returns at once; the server runs in threads)."""
        with self._lock:
            if self._server is not None:
                return
            ae = self.build_ae()
            handlers: list[evt.EventHandlerType] = [
                (evt.EVT_REQUESTED, self._on_requested),
                (evt.EVT_ACCEPTED, self._on_accepted),
                (evt.EVT_C_ECHO, self._on_echo),
                (evt.EVT_C_STORE, self._on_store),
            ]
            address = (self.settings.bind_address, self.settings.port)
            try:
                self._server = ae.start_server(address, block=False, evt_handlers=handlers,
                                               ssl_context=self.settings.ssl_context())
            except OSError as exc:
                raise MedAssistError(f"cannot listen on {address[0]}:{address[1]} ({exc.strerror or exc})",
                                     "DICOM node") from exc
            self.audit.append("dicom_node_started", ae_title=self.settings.ae_title, address=address[0],
                              port=self.port, tls=bool(self.settings.tls_certificate))

    @property
    def port(self) -> int:
        """The port actually bound (differs from the setting when the setting is 0)."""
        if self._server is None:
            return self.settings.port
        return int(self._server.server_address[1])

    def stop(self) -> None:
        with self._lock:
            if self._server is None:
                return
            self._server.shutdown()
            self._server = None
            self.audit.append("dicom_node_stopped", ae_title=self.settings.ae_title)

    # event handlers (pynetdicom threads) ---------------------------------------------------
    def _on_requested(self, event: Any) -> None:
        assoc = event.assoc
        calling = str(assoc.requestor.primitive.calling_ae_title).strip()
        address = str(assoc.requestor.address)
        if self.settings.caller_allowed(calling, address):
            return
        LOG.warning("refused DICOM association from %s at %s", calling, address)
        self.audit.append("dicom_association_refused", calling_ae_title=calling, address=address,
                          reason="calling AE title or address not allowed")
        assoc.acse.send_reject(REJECT_PERMANENT, REJECT_BY_USER, CALLING_AE_NOT_RECOGNISED)
        assoc.kill()  # as pynetdicom does after its own rejections: lets the reject PDU leave before the socket closes

    def _on_accepted(self, event: Any) -> None:
        assoc = event.assoc
        self.audit.append("dicom_association", calling_ae_title=str(assoc.requestor.ae_title).strip(),
                          address=str(assoc.requestor.address))

    def _on_echo(self, event: Any) -> int:
        return STATUS_SUCCESS

    def _on_store(self, event: Any) -> int:
        calling = str(event.assoc.requestor.ae_title).strip()
        address = str(event.assoc.requestor.address)
        try:
            header = ObjectHeader.from_dataset(event.dataset)
            encoded = event.encoded_dataset()
        except (MedAssistError, ValueError, AttributeError, KeyError) as exc:
            reason = exc.reason if isinstance(exc, MedAssistError) else f"{type(exc).__name__}: {exc}"
            self.audit.append("dicom_object_refused", calling_ae_title=calling, address=address, reason=reason)
            return STATUS_CANNOT_UNDERSTAND
        model = image_model_for(self.registry, header.modality)
        try:
            outcome = self.store.add(header, encoded, f"C-STORE from {calling} at {address}", model)
        except OSError as exc:
            self.audit.append("dicom_object_refused", calling_ae_title=calling, address=address,
                              sop_instance_uid=header.sop_instance_uid, reason=f"cannot write ({exc.strerror})")
            return STATUS_OUT_OF_RESOURCES
        self.audit.append("dicom_object_received", calling_ae_title=calling, address=address,
                          sop_instance_uid=header.sop_instance_uid, study_instance_uid=header.study_instance_uid,
                          modality=header.modality, duplicate=outcome.duplicate, queued_for=model)
        if not outcome.duplicate:
            if model and self.scorer is not None:
                self.scorer.notify()
            if self.on_stored is not None:
                self.on_stored(self.store.entry(header.sop_instance_uid))
        return STATUS_SUCCESS

