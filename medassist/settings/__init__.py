"""User settings shared by the GUI and the CLI (a JSON file in the user config folder), and the
``MEDASSIST_*`` environment overrides: the one home of everything a user or an administrator sets.

The window's geometry is the window's own business (QSettings, in ``paths.window_settings_file()``);
everything else lives here: what changes results or reports (device, threads, facility, clinician,
the audit trail's user name), the DICOM node, the column mappings a user confirmed for a table
layout and the folders the file dialogs open in. The composition root
(:mod:`medassist.composition`) reads them once per entry point, so the window, every command, the
model host and the DICOM node run with the same values. docs/settings.md lists each setting and
each override.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from medassist import paths
from medassist.atomic import atomic_write_text
from medassist.bounded import STATE_FILE
from medassist.errors import InputError
from medassist.settings.node import NodeSettings

SETTINGS_FILE = "settings.json"
USER_ENV = "MEDASSIST_USER"
STARTUP_TIMING_ENV = "MEDASSIST_STARTUP_TIMING"

# Every MEDASSIST_* variable MedAssist reads, and what it overrides. The folder variables are read
# by medassist.paths (the settings file itself lives in MEDASSIST_HOME), the others here;
# docs/settings.md says the same, and tests/settings/test_settings_home.py checks both against the code.
ENVIRONMENT: dict[str, str] = {
    "MEDASSIST_HOME": "puts every user folder (settings, window geometry, logs and audit trail, autosaves, "
                      "user models, the DICOM node's store) below this one folder",
    "MEDASSIST_MODELS_DIR": "reads the bundled models from this folder instead of the install folder's models/",
    USER_ENV: "the user name the audit trail records, instead of Settings > User name "
              "(set by `medassist --user NAME` for the command and its worker processes)",
    STARTUP_TIMING_ENV: "when set, the window prints when each start-up stage was reached (read by `medassist bench`)",
    "MEDASSIST_SHARED_DATA": "the real datasets' folder, for training and the tests that use them "
                             "(default: ../shared/data beside the install folder)",
}


def startup_timing() -> bool:
    """Whether the window prints its start-up stages (``MEDASSIST_STARTUP_TIMING``)."""
    return bool(os.environ.get(STARTUP_TIMING_ENV))


class Settings(BaseModel):
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    cpu_threads: int | None = None  # None: all cores
    facility_name: str = "MedAssist demonstration clinic"
    facility_address: str = ""
    clinician_name: str = ""
    user_name: str = ""  # who uses MedAssist, recorded in the audit trail beside the OS user
    presentation_mode: bool = False
    node: NodeSettings = Field(default_factory=NodeSettings)  # the DICOM node (off by default)
    # a plain table's column mapping the user confirmed, per file layout (records.table.layout_key):
    # the next export from the same system opens without asking again
    column_mappings: dict[str, dict[str, str]] = Field(default_factory=dict)
    last_folders: dict[str, str] = Field(default_factory=dict)  # where each file dialog opens (records, images, ...)

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

    @property
    def app_user(self) -> str:
        """The user name the audit trail records: ``MEDASSIST_USER`` (``medassist --user``), else Settings > User name."""
        return os.environ.get(USER_ENV) or self.user_name

    @property
    def model_folders(self) -> list[Path]:
        """Where the model catalogue looks: the bundled models (``MEDASSIST_MODELS_DIR``), then the user's."""
        return [paths.bundled_models_dir(), paths.user_models_dir()]

    def with_column_mapping(self, layout: str, mapping: dict[str, str]) -> "Settings":
        """These settings with ``mapping`` remembered for tables of this ``layout``."""
        return self.model_copy(update={"column_mappings": {**self.column_mappings, layout: dict(mapping)}})

    def with_last_folder(self, key: str, folder: str) -> "Settings":
        """These settings with the file dialog ``key`` opening in ``folder`` next time."""
        return self.model_copy(update={"last_folders": {**self.last_folders, key: folder}})
