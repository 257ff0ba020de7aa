"""Launchers: the .desktop entry a pip install writes, the packaged template, and the rendered icons."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

from PIL import Image

from medassist.cli.desktop_cmd import desktop_entry
from medassist.cli.main import main

REPO = Path(__file__).resolve().parents[2]
ICONS = REPO / "resources" / "icons"


def _parse(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read_string(text)
    return parser


def test_install_desktop_entry_writes_entry_and_icon_into_xdg_folders(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    assert main(["install-desktop-entry"]) == 0
    entry_path = tmp_path / "share" / "applications" / "medassist.desktop"
    entry = _parse(entry_path.read_text(encoding="utf-8"))["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Name"] == "MedAssist" and entry["Terminal"] == "false"
    icon = Path(entry["Icon"])
    assert icon.is_file() and icon.is_relative_to(tmp_path / "share" / "icons")
    assert Image.open(icon).size == (256, 256)
    assert Path(shlex.split(entry["Exec"])[0]).is_file()  # the launcher of this installation
    assert "wrote" in capsys.readouterr().out

    assert main(["install-desktop-entry", "--uninstall"]) == 0
    assert not entry_path.exists() and not icon.exists()


def test_exec_arguments_with_spaces_are_quoted_as_the_specification_requires():
    text = desktop_entry(["/opt/Med Assist/MedAssist", "--flag"], "medassist")
    entry = _parse(text)
    assert entry["Desktop Entry"]["Exec"] == '"/opt/Med Assist/MedAssist" --flag'
    assert entry["Desktop Action demo"]["Exec"].endswith("--demo")


def test_packaged_desktop_file_is_the_one_the_command_generates():
    packaged = (REPO / "packaging" / "linux" / "medassist.desktop").read_text(encoding="utf-8")
    assert packaged == desktop_entry(["/opt/MedAssist/MedAssist"], "medassist")


def test_rendered_icons_have_the_sizes_launchers_ask_for():
    for size in (16, 32, 48, 256, 512):
        with Image.open(ICONS / f"medassist-{size}.png") as png:
            assert png.size == (size, size) and png.mode == "RGBA"
    with Image.open(ICONS / "medassist.ico") as ico:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    assert (ICONS / "medassist.icns").stat().st_size > 10_000
