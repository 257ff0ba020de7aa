"""The node's settings, stored with the application settings (``Settings.node``).

Off by default and bound to loopback: an administrator has to turn the node on and choose
the address it listens on before any other machine can send it a study.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from medassist.errors import InputError


def _ae_title(value: str) -> str:
    """DICOM AE titles are 1-16 characters of printable ASCII without backslash."""
    title = value.strip()
    if not 1 <= len(title) <= 16 or not title.isascii() or "\\" in title or not title.isprintable():
        raise ValueError(f"'{value}' is not a DICOM AE title (1-16 printable ASCII characters, no backslash)")
    return title


@dataclass(frozen=True)
class Timeouts:
    """DICOM timeouts in seconds: ACSE (association set-up and release), DIMSE (a reply), network (silence)."""

    acse_s: float = 15.0
    dimse_s: float = 60.0
    network_s: float = 60.0


def _tls_files(*names: str) -> None:
    for name in names:
        if name and not Path(name).is_file():
            raise InputError("TLS file not found", name)


class PacsSettings(BaseModel):
    """The PACS that receives results (C-STORE) and answers Query/Retrieve."""

    ae_title: str = "PACS"
    host: str = "127.0.0.1"
    port: int = Field(default=104, ge=1, le=65535)
    tls: bool = False  # DICOM over TLS to the PACS (the PACS's certificate is always verified)
    tls_ca_certificate: str = ""  # PEM of the CA that signed the PACS's certificate (empty: the system's CAs)
    tls_certificate: str = ""  # PEM: this workstation's certificate, for a PACS that requires one
    tls_key: str = ""
    # DICOMweb base URL (e.g. https://pacs.example/dicom-web): when set, results go by STOW-RS instead of
    # C-STORE (for a site without DIMSE); Query/Retrieve still use DIMSE
    dicomweb_url: str = ""

    @property
    def label(self) -> str:
        """How the destination is named in messages, the sent log and the retry queue: ``AET@HOST:PORT``,
        or the DICOMweb URL when results go by STOW-RS."""
        return self.dicomweb_url.rstrip("/") or f"{self.ae_title}@{self.host}:{self.port}"

    @field_validator("dicomweb_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        url = value.strip()
        if url and not re.match(r"^https?://[^/\s]+", url):
            raise ValueError(f"'{value}' is not an http(s) URL")
        return url

    @classmethod
    def parse(cls, text: str) -> "PacsSettings":
        """``AET@HOST:PORT`` (the form the CLI and the settings dialog take)."""
        match = re.match(r"^(?P<aet>[^@]{1,16})@(?P<host>[^:@]+):(?P<port>\d{1,5})$", text.strip())
        if not match:
            raise InputError(f"'{text}' is not AET@HOST:PORT", "PACS")
        try:
            return cls(ae_title=match["aet"], host=match["host"], port=int(match["port"]))
        except ValueError as exc:
            raise InputError(f"'{text}' is not a usable PACS address ({exc})", "PACS") from exc

    @field_validator("ae_title")
    @classmethod
    def _check_title(cls, value: str) -> str:
        return _ae_title(value)

    def ssl_context(self) -> ssl.SSLContext | None:
        """Client TLS context (server certificate and host name verified), or None for plain DICOM."""
        if not self.tls:
            return None
        _tls_files(self.tls_ca_certificate, self.tls_certificate, self.tls_key)
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.tls_ca_certificate or None)
        try:
            if self.tls_certificate:
                context.load_cert_chain(self.tls_certificate, self.tls_key or None)
        except ssl.SSLError as exc:
            raise InputError(f"TLS certificate or key cannot be used ({exc.reason})", self.tls_certificate) from exc
        return context


class NodeSettings(BaseModel):
    """What the DICOM node answers to and where it listens."""

    enabled: bool = False
    ae_title: str = "MEDASSIST"
    port: int = Field(default=11112, ge=0, le=65535)  # 0: any free port (tests, benchmarks)
    bind_address: str = "127.0.0.1"
    allowed_calling_ae_titles: list[str] = Field(default_factory=list)  # empty: any title from an allowed address
    allowed_addresses: list[str] = Field(default_factory=lambda: ["127.0.0.1"])  # empty: any address
    tls_certificate: str = ""  # PEM file; with tls_key, the node only speaks DICOM over TLS
    tls_key: str = ""
    tls_ca_certificate: str = ""  # when set, callers must present a certificate signed by it
    score_workers: int = Field(default=2, ge=1, le=16)
    # timeouts (seconds): ACSE bounds how long a connection may stay silent before its association
    # request (half-open connections are dropped after it), DIMSE a reply, network any silence
    acse_timeout_s: float = Field(default=15.0, ge=1.0, le=600.0)
    dimse_timeout_s: float = Field(default=60.0, ge=1.0, le=3600.0)
    network_timeout_s: float = Field(default=60.0, ge=1.0, le=3600.0)
    maximum_associations: int = Field(default=32, ge=1, le=512)  # associations at once (half-open ones not counted)
    listen_backlog: int = Field(default=128, ge=1, le=4096)  # connections the OS holds before the node accepts them
    pacs: PacsSettings | None = None
    retry_queue_limit: int = Field(default=100, ge=1, le=10_000)  # studies waiting for a PACS that is down
    retry_interval_s: float = Field(default=60.0, ge=1.0, le=86_400.0)  # first retry; doubles up to 32x
    # FHIR: the system (URI) of the hospital's MRN, so an interface engine matches the DICOM Patient ID
    # to its patient; and of its accession numbers, so it matches the report to its order
    fhir_patient_id_system: str = ""
    fhir_accession_system: str = ""

    @field_validator("ae_title")
    @classmethod
    def _check_title(cls, value: str) -> str:
        return _ae_title(value)

    @field_validator("allowed_calling_ae_titles")
    @classmethod
    def _check_titles(cls, values: list[str]) -> list[str]:
        return [_ae_title(v) for v in values]

    def timeouts(self) -> Timeouts:
        return Timeouts(self.acse_timeout_s, self.dimse_timeout_s, self.network_timeout_s)

    def caller_allowed(self, ae_title: str, address: str) -> bool:
        """Whether an association from ``ae_title`` at ``address`` may be accepted."""
        title_ok = not self.allowed_calling_ae_titles or ae_title.strip() in self.allowed_calling_ae_titles
        address_ok = not self.allowed_addresses or address in self.allowed_addresses
        return title_ok and address_ok

    def ssl_context(self) -> ssl.SSLContext | None:
        """Server TLS context from the configured PEM files, or None for plain DICOM."""
        if not self.tls_certificate:
            return None
        _tls_files(self.tls_certificate, self.tls_key, self.tls_ca_certificate)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(self.tls_certificate, self.tls_key or None)
            if self.tls_ca_certificate:
                context.load_verify_locations(self.tls_ca_certificate)
                context.verify_mode = ssl.CERT_REQUIRED
        except ssl.SSLError as exc:
            raise InputError(f"TLS certificate or key cannot be used ({exc.reason})", self.tls_certificate) from exc
        return context
