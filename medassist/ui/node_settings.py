"""The DICOM node section of Settings > Preferences: what an administrator sets to turn it on."""

from __future__ import annotations

from pydantic import ValidationError
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLineEdit, QSpinBox

from medassist.errors import InputError
from medassist.settings.node import NodeSettings, PacsSettings


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def _seconds(value: float, top: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(1.0, top)
    box.setDecimals(0)
    box.setSuffix(" s")
    box.setValue(value)
    return box


def _count(value: int, low: int, top: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, top)
    box.setValue(value)
    return box


class NodeSettingsSection(QGroupBox):
    """Node on/off, AE title, port, bind address, allowed callers, TLS files, network limits, the
    PACS (with TLS), the retry queue and the FHIR identifier systems."""

    def __init__(self, settings: NodeSettings) -> None:
        super().__init__("DICOM node (receives studies; off unless an administrator turns it on)")
        self.base = settings
        columns = QHBoxLayout(self)
        form, right = QFormLayout(), QFormLayout()  # the node on the left, where results go on the right
        columns.addLayout(form)
        columns.addLayout(right)
        self.enabled = QCheckBox("Turn the node on (listens for DICOM on the address below)")
        self.enabled.setChecked(settings.enabled)
        self.ae_title = QLineEdit(settings.ae_title)
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(settings.port or 11112)
        self.bind_address = QLineEdit(settings.bind_address)
        self.bind_address.setToolTip("127.0.0.1 keeps the node on this computer; the hospital network needs this "
                                     "computer's address")
        self.callers = QLineEdit(", ".join(settings.allowed_calling_ae_titles))
        self.callers.setPlaceholderText("any AE title (from an allowed address)")
        self.addresses = QLineEdit(", ".join(settings.allowed_addresses))
        self.addresses.setPlaceholderText("any address")
        self.tls_certificate = QLineEdit(settings.tls_certificate)
        self.tls_key = QLineEdit(settings.tls_key)
        self.tls_ca = QLineEdit(settings.tls_ca_certificate)
        self.acse_timeout = _seconds(settings.acse_timeout_s, 600)
        self.acse_timeout.setToolTip("How long a connection may stay silent before its association request; "
                                     "half-open connections are dropped after it")
        self.dimse_timeout = _seconds(settings.dimse_timeout_s, 3600)
        self.network_timeout = _seconds(settings.network_timeout_s, 3600)
        self.maximum_associations = _count(settings.maximum_associations, 1, 512)
        self.listen_backlog = _count(settings.listen_backlog, 1, 4096)
        pacs = settings.pacs
        self.pacs = QLineEdit(pacs.label if pacs else "")
        self.pacs.setPlaceholderText("AET@HOST:PORT (results are sent here; Query/Retrieve asks it)")
        self.pacs_tls = QCheckBox("Connect to the PACS over TLS (its certificate is verified)")
        self.pacs_tls.setChecked(bool(pacs and pacs.tls))
        self.pacs_ca = QLineEdit(pacs.tls_ca_certificate if pacs else "")
        self.pacs_ca.setPlaceholderText("CA of the PACS's certificate (empty: the system's CAs)")
        self.pacs_certificate = QLineEdit(pacs.tls_certificate if pacs else "")
        self.pacs_certificate.setPlaceholderText("only for a PACS that requires a client certificate")
        self.pacs_key = QLineEdit(pacs.tls_key if pacs else "")
        self.dicomweb = QLineEdit(pacs.dicomweb_url if pacs else "")
        self.dicomweb.setPlaceholderText("https://.../dicom-web: send results by STOW-RS instead of C-STORE")
        self.retry_limit = _count(settings.retry_queue_limit, 1, 10_000)
        self.retry_interval = _seconds(settings.retry_interval_s, 86_400)
        self.patient_system = QLineEdit(settings.fhir_patient_id_system)
        self.patient_system.setPlaceholderText("e.g. urn:oid:... of the hospital's MRN (so the EHR finds the patient)")
        self.accession_system = QLineEdit(settings.fhir_accession_system)
        self.accession_system.setPlaceholderText("e.g. urn:oid:... of accession numbers (so the EHR finds the order)")
        form.addRow(self.enabled)
        form.addRow("AE title", self.ae_title)
        form.addRow("Port", self.port)
        form.addRow("Bind address", self.bind_address)
        form.addRow("Allowed calling AE titles", self.callers)
        form.addRow("Allowed caller addresses", self.addresses)
        form.addRow("TLS certificate (PEM)", self.tls_certificate)
        form.addRow("TLS key (PEM)", self.tls_key)
        form.addRow("TLS CA for callers (PEM)", self.tls_ca)
        form.addRow("ACSE timeout", self.acse_timeout)
        form.addRow("DIMSE timeout", self.dimse_timeout)
        form.addRow("Network timeout", self.network_timeout)
        form.addRow("Maximum associations", self.maximum_associations)
        form.addRow("Listen backlog", self.listen_backlog)
        right.addRow("PACS", self.pacs)
        right.addRow(self.pacs_tls)
        right.addRow("PACS TLS CA (PEM)", self.pacs_ca)
        right.addRow("Client certificate (PEM)", self.pacs_certificate)
        right.addRow("Client key (PEM)", self.pacs_key)
        right.addRow("DICOMweb URL (STOW-RS)", self.dicomweb)
        right.addRow("Retry queue: at most (studies)", self.retry_limit)
        right.addRow("Retry queue: first retry after", self.retry_interval)
        right.addRow("FHIR patient ID system", self.patient_system)
        right.addRow("FHIR accession system", self.accession_system)

    def node_settings(self) -> NodeSettings:
        """The edited settings; :class:`InputError` names the field that is wrong."""
        try:
            return NodeSettings.model_validate({
                **self.base.model_dump(),
                "enabled": self.enabled.isChecked(),
                "ae_title": self.ae_title.text(),
                "port": self.port.value(),
                "bind_address": self.bind_address.text().strip() or "127.0.0.1",
                "allowed_calling_ae_titles": _split(self.callers.text()),
                "allowed_addresses": _split(self.addresses.text()),
                "tls_certificate": self.tls_certificate.text().strip(),
                "tls_key": self.tls_key.text().strip(),
                "tls_ca_certificate": self.tls_ca.text().strip(),
                "acse_timeout_s": self.acse_timeout.value(),
                "dimse_timeout_s": self.dimse_timeout.value(),
                "network_timeout_s": self.network_timeout.value(),
                "maximum_associations": self.maximum_associations.value(),
                "listen_backlog": self.listen_backlog.value(),
                "pacs": self._pacs(),
                "retry_queue_limit": self.retry_limit.value(),
                "retry_interval_s": self.retry_interval.value(),
                "fhir_patient_id_system": self.patient_system.text().strip(),
                "fhir_accession_system": self.accession_system.text().strip(),
            })
        except ValidationError as exc:
            problem = exc.errors()[0]
            raise InputError(f"{'.'.join(str(p) for p in problem['loc'])}: {problem['msg']}", "DICOM node settings") from exc

    def _pacs(self) -> PacsSettings | None:
        text = self.pacs.text().strip()
        if not text:
            return None
        return PacsSettings.parse(text).model_copy(update={
            "tls": self.pacs_tls.isChecked(), "tls_ca_certificate": self.pacs_ca.text().strip(),
            "tls_certificate": self.pacs_certificate.text().strip(), "tls_key": self.pacs_key.text().strip(),
            "dicomweb_url": self.dicomweb.text().strip()})
