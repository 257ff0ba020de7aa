"""The node's settings, stored with the application settings (``Settings.node``).

Off by default and bound to loopback: an administrator has to turn the node on and choose
the address it listens on before any other machine can send it a study.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from medassist.errors import InputError


def _ae_title(value: str) -> str:
    """DICOM AE titles are 1-16 characters of printable ASCII without backslash."""
    title = value.strip()
    if not 1 <= len(title) <= 16 or not title.isascii() or "\\" in title or not title.isprintable():
        raise ValueError(f"'{value}' is not a DICOM AE title (1-16 printable ASCII characters, no backslash)")
    return title


class PacsSettings(BaseModel):
    """The PACS that receives results (C-STORE) and answers Query/Retrieve."""

    ae_title: str = "PACS"
    host: str = "127.0.0.1"
    port: int = Field(default=104, ge=1, le=65535)

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
    pacs: PacsSettings | None = None

    @field_validator("ae_title")
    @classmethod
    def _check_title(cls, value: str) -> str:
        return _ae_title(value)

    @field_validator("allowed_calling_ae_titles")
    @classmethod
    def _check_titles(cls, values: list[str]) -> list[str]:
        return [_ae_title(v) for v in values]

    def caller_allowed(self, ae_title: str, address: str) -> bool:
        """Whether an association from ``ae_title`` at ``address`` may be accepted."""
        title_ok = not self.allowed_calling_ae_titles or ae_title.strip() in self.allowed_calling_ae_titles
        address_ok = not self.allowed_addresses or address in self.allowed_addresses
        return title_ok and address_ok

    def ssl_context(self) -> ssl.SSLContext | None:
        """Server TLS context from the configured PEM files, or None for plain DICOM."""
        if not self.tls_certificate:
            return None
        for name in (self.tls_certificate, self.tls_key, self.tls_ca_certificate):
            if name and not Path(name).is_file():
                raise InputError("TLS file not found", name)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(self.tls_certificate, self.tls_key or None)
            if self.tls_ca_certificate:
                context.load_verify_locations(self.tls_ca_certificate)
                context.verify_mode = ssl.CERT_REQUIRED
        except ssl.SSLError as exc:
            raise InputError(f"TLS certificate or key cannot be used ({exc.reason})", self.tls_certificate) from exc
        return context
