"""The DICOM node section of Settings > Preferences: what an administrator sets to turn it on."""

from __future__ import annotations

from pydantic import ValidationError
from PySide6.QtWidgets import QCheckBox, QFormLayout, QGroupBox, QLineEdit, QSpinBox

from medassist.errors import InputError
from medassist.settings.node import NodeSettings, PacsSettings


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


class NodeSettingsSection(QGroupBox):
    """Node on/off, AE title, port, bind address, allowed callers, TLS files, and the PACS."""

    def __init__(self, settings: NodeSettings) -> None:
        super().__init__("DICOM node (receives studies; off unless an administrator turns it on)")
        self.base = settings
        form = QFormLayout(self)
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
        pacs = settings.pacs
        self.pacs = QLineEdit(f"{pacs.ae_title}@{pacs.host}:{pacs.port}" if pacs else "")
        self.pacs.setPlaceholderText("AET@HOST:PORT (results are sent here; Query/Retrieve asks it)")
        form.addRow(self.enabled)
        form.addRow("AE title", self.ae_title)
        form.addRow("Port", self.port)
        form.addRow("Bind address", self.bind_address)
        form.addRow("Allowed calling AE titles", self.callers)
        form.addRow("Allowed caller addresses", self.addresses)
        form.addRow("TLS certificate (PEM)", self.tls_certificate)
        form.addRow("TLS key (PEM)", self.tls_key)
        form.addRow("TLS CA for callers (PEM)", self.tls_ca)
        form.addRow("PACS", self.pacs)

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
                "pacs": self._pacs(),
            })
        except ValidationError as exc:
            problem = exc.errors()[0]
            raise InputError(f"{'.'.join(str(p) for p in problem['loc'])}: {problem['msg']}", "DICOM node settings") from exc

    def _pacs(self) -> PacsSettings | None:
        text = self.pacs.text().strip()
        return PacsSettings.parse(text) if text else None
