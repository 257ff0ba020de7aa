"""User settings shared by the GUI and the CLI (a JSON file in the user config folder).

Window geometry and last-used folders are the GUI's own business (QSettings, in
``paths.window_settings_file()``); what changes
results or reports (device, threads, facility, clinician) lives here so the CLI sees it too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from medassist import paths
from medassist.atomic import atomic_write_text
from medassist.bounded import STATE_FILE
from medassist.errors import InputError
from medassist.settings.node import NodeSettings

SETTINGS_FILE = "settings.json"


class Settings(BaseModel):
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    cpu_threads: int | None = None  # None: all cores
    facility_name: str = "MedAssist demonstration clinic"
    facility_address: str = ""
    clinician_name: str = ""
    user_name: str = ""  # who uses MedAssist, recorded in the audit trail beside the OS user
    presentation_mode: bool = False
    node: NodeSettings = Field(default_factory=NodeSettings)  # the DICOM node (off by default)

    @classmethod
    def path(cls) -> Path:
        return paths.user_config_dir() / SETTINGS_FILE

    @classmethod
    def load(cls) -> "Settings":
        """Read settings; a missing, damaged or oversized file gives defaults (never blocks start-up)."""
        try:
            return cls.model_validate_json(STATE_FILE.read_bytes(cls.path()))
        except (InputError, ValidationError, ValueError):
            return cls()

    def save(self) -> None:
        """Written atomically: a crash while saving leaves the previous settings, never half a file."""
        atomic_write_text(self.path(), self.model_dump_json(indent=2))
