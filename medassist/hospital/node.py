"""The DICOM node: a pynetdicom Storage SCP (C-ECHO, C-STORE) that fills the worklist.

Callers are checked before anything else happens: an association from an AE title or
address that is not allowed is rejected (A-ASSOCIATE-RJ, "calling AE title not recognised")
and logged, so an unknown caller never learns more than that. Every association and every
object gets an audit line. The GUI and ``medassist node`` run this same class.

The node stores the whole study: the images MedAssist can open are scored when a model reads
their modality, and every other storage object (SR, presentation states, key object selections,
segmentations, ...) is kept with its study, unscored, so a whole-study C-MOVE succeeds.

A connection that never sends its association request (half-open, or a TLS handshake that never
finishes) holds only its own thread until the ACSE timeout: the TLS handshake runs in that thread,
not in the one that accepts connections, and the association limit counts only associations that
have been requested, so such connections never lock real callers out.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from typing import Any, Callable

from pydicom.uid import UID
from pynetdicom import ALL_TRANSFER_SYNTAXES, AE, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]  # created at import time
from pynetdicom.transport import ThreadedAssociationServer

from medassist.audit import AuditLog
from medassist.errors import MedAssistError
from medassist.settings.node import NodeSettings
from medassist.hospital.scoring import Scorer, image_model_for
from medassist.hospital.store import ObjectHeader, StudyStore
from medassist.inference.registry import ModelRegistry

LOG = logging.getLogger(__name__)

# The image storage classes MedAssist can open (radiographs, CT, MR, US, NM, XA, mammography, SC);
# any other storage object is kept with its study, never scored.
IMAGE_STORAGE = {
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
REJECT_TRANSIENT, REJECT_BY_PROVIDER_PRESENTATION, LOCAL_LIMIT_EXCEEDED = 0x02, 0x03, 0x02
AI_MAP_IMAGE_TYPE = "AI_MAP"  # MedAssist's own AI maps coming back (a whole-study C-MOVE): kept, not scored


IMAGE_SOP_CLASSES = {str(context.abstract_syntax) for context in AllStoragePresentationContexts
                     if context.abstract_syntax is not None and UID(context.abstract_syntax).keyword in IMAGE_STORAGE}


def node_server(backlog: int, handshake_timeout_s: float) -> type[ThreadedAssociationServer]:
    """pynetdicom's threaded server with a listen backlog of ``backlog`` and the TLS handshake moved
    from the accepting thread (where one silent client would stop every other) into the
    connection's own thread, bounded by ``handshake_timeout_s``."""

    class NodeServer(ThreadedAssociationServer):
        request_queue_size = backlog

        def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
            assert self.socket is not None
            client, address = self.socket.accept()
            if self.ssl_context:
                client.settimeout(handshake_timeout_s)
                client = self.ssl_context.wrap_socket(client, server_side=True, do_handshake_on_connect=False)
            return client, address

        def process_request_thread(self, request: Any, client_address: Any) -> None:
            if isinstance(request, ssl.SSLSocket):
                try:
                    request.do_handshake()
                    request.settimeout(None)
                except (OSError, ssl.SSLError) as exc:
                    LOG.warning("TLS handshake with %s failed: %s", client_address, exc)
                    self.shutdown_request(request)
                    return
            super().process_request_thread(request, client_address)

    return NodeServer


class DicomNode:
    """Receives studies into ``store`` and queues those a bundled model applies to on ``scorer``."""

    def __init__(self, settings: NodeSettings, store: StudyStore, scorer: Scorer | None, audit: AuditLog,
                 registry: ModelRegistry, on_stored: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.settings = settings
        self.store = store
        self.scorer = scorer
        self.audit = audit
        self.registry = registry
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
            if context.abstract_syntax is not None:
                ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        # pynetdicom counts connections still waiting for their request too; the node's own limit
        # (_on_requested) counts requested associations only, so half-open ones get room of their own
        ae.maximum_associations = self.settings.maximum_associations + self.settings.listen_backlog
        ae.network_timeout = self.settings.network_timeout_s
        ae.acse_timeout = self.settings.acse_timeout_s
        ae.dimse_timeout = self.settings.dimse_timeout_s
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
            server_class = node_server(self.settings.listen_backlog, self.settings.acse_timeout_s)
            try:
                server = ae.make_server(address, evt_handlers=handlers, ssl_context=self.settings.ssl_context(),
                                        server_class=server_class)
            except OSError as exc:
                raise MedAssistError(f"cannot listen on {address[0]}:{address[1]} ({exc.strerror or exc})",
                                     "DICOM node") from exc
            ae._servers.append(server)  # as AE.start_server does: the server's shutdown removes it from there
            threading.Thread(target=server.serve_forever, name="medassist-dicom-node", daemon=True).start()
            self._server = server
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
        if not self.settings.caller_allowed(calling, address):
            LOG.warning("refused DICOM association from %s at %s", calling, address)
            self.audit.append("dicom_association_refused", calling_ae_title=calling, address=address,
                              reason="calling AE title or address not allowed")
            assoc.acse.send_reject(REJECT_PERMANENT, REJECT_BY_USER, CALLING_AE_NOT_RECOGNISED)
            assoc.kill()  # as pynetdicom does after its own rejections: lets the reject PDU leave before the socket closes
            return
        requested = [a for a in self._server.active_associations if a.is_acceptor and a.requestor.primitive is not None]
        if len(requested) > self.settings.maximum_associations:
            self.audit.append("dicom_association_refused", calling_ae_title=calling, address=address,
                              reason=f"maximum associations ({self.settings.maximum_associations}) reached")
            assoc.acse.send_reject(REJECT_TRANSIENT, REJECT_BY_PROVIDER_PRESENTATION, LOCAL_LIMIT_EXCEEDED)
            assoc.kill()

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
        image = header.sop_class_uid in IMAGE_SOP_CLASSES
        ai_map = AI_MAP_IMAGE_TYPE in [str(v) for v in (event.dataset.get("ImageType") or [])]
        model = image_model_for(self.registry, header.modality) if image and not ai_map else None
        try:
            outcome = self.store.add(header, encoded, f"C-STORE from {calling} at {address}", model, image=image)
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

