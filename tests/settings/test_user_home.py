"""``MEDASSIST_HOME`` holds everything MedAssist writes, the window's geometry and the last-used folders
included: nothing goes to the platform's config folder (~/.config/MedAssist). QSettings holds the
geometry only; the folders are user settings like any other (``Settings.last_folders``)."""

from __future__ import annotations

import configparser

import pytest

from medassist.settings import Settings


@pytest.fixture()
def platform_config(tmp_path, monkeypatch):
    """Where Qt would put its settings by default (XDG config home), watched for writes."""
    folder = tmp_path / "xdg-config"
    folder.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder


def test_window_geometry_and_last_folders_go_under_medassist_home(platform_config, window, user_home, tmp_path):
    window._remember_folder("records", str(tmp_path))
    window.close()  # saves the geometry
    window.qsettings.sync()
    ini = user_home / "config" / "window.ini"
    parsed = configparser.ConfigParser()
    parsed.read(ini)
    assert parsed.sections() == ["window"] and parsed.options("window") == ["geometry"]
    assert Settings.load().last_folders == {"records": str(tmp_path)}
    assert Settings.path().parent == user_home / "config"
    assert list(platform_config.rglob("*")) == []
    assert window._last_folder("records") == str(tmp_path)
