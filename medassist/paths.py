"""Where MedAssist reads bundled assets and writes user data.

User data, settings, logs, the audit trail and user-added models live in the platform's
user folders (platformdirs); nothing is written inside the install folder. Setting
``MEDASSIST_HOME`` puts all user folders below one directory (tests, portable installs); it and
the other folder overrides are listed with every ``MEDASSIST_*`` variable in
:data:`medassist.settings.ENVIRONMENT` (read here: the settings file itself lives in these folders).
"""

from __future__ import annotations

import datetime
import os
import sys
from pathlib import Path

import platformdirs

from medassist import APP_NAME

_APP_AUTHOR = "MedAssist"


def install_root() -> Path:
    """The folder holding ``models/`` and ``resources/``: the repo, or the frozen bundle."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parent.parent


def bundled_models_dir() -> Path:
    return Path(os.environ.get("MEDASSIST_MODELS_DIR", install_root() / "models"))


def resources_dir() -> Path:
    return install_root() / "resources"


def _user_dir(kind: str) -> Path:
    home = os.environ.get("MEDASSIST_HOME")
    if home:
        path = Path(home) / kind
    elif kind == "data":
        path = Path(platformdirs.user_data_dir(APP_NAME, _APP_AUTHOR))
    elif kind == "config":
        path = Path(platformdirs.user_config_dir(APP_NAME, _APP_AUTHOR))
    elif kind == "logs":
        path = Path(platformdirs.user_log_dir(APP_NAME, _APP_AUTHOR))
    elif kind == "cache":
        path = Path(platformdirs.user_cache_dir(APP_NAME, _APP_AUTHOR))
    else:
        raise ValueError(kind)
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_data_dir() -> Path:
    return _user_dir("data")


def user_config_dir() -> Path:
    return _user_dir("config")


def user_log_dir() -> Path:
    return _user_dir("logs")


def user_cache_dir() -> Path:
    return _user_dir("cache")


def window_settings_file() -> Path:
    """The window's geometry (QSettings, an INI file) in the config folder, so ``MEDASSIST_HOME`` covers
    it too (Qt's default would be ~/.config or the Windows registry); every other setting is in
    :class:`medassist.settings.Settings`."""
    return user_config_dir() / "window.ini"


def user_models_dir() -> Path:
    path = user_data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def audit_dir() -> Path:
    path = user_log_dir() / "audit"
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_audit_file() -> Path:
    """This process's audit file (``session-<timestamp>-<pid>.jsonl``); its model host writes to it too."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return audit_dir() / f"session-{stamp}-{os.getpid()}.jsonl"


def shared_data_dir() -> Path | None:
    """The real datasets beside the checkout (``../shared/data``), used by training and tests."""
    env = os.environ.get("MEDASSIST_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(install_root().parent / "shared" / "data")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None
