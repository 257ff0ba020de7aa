"""``medassist install-desktop-entry``: a double-click launcher for a pip (or frozen) install on Linux.

Writes a freedesktop ``.desktop`` file and the icon into the user's XDG folders
(``$XDG_DATA_HOME``, default ``~/.local/share``), so MedAssist appears in the application menu
like any desktop program. ``--uninstall`` removes both; ``--print`` only shows the entry.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from medassist import APP_NAME, __version__, paths
from medassist.atomic import atomic_write_bytes, atomic_write_text

DESKTOP_FILE = "medassist.desktop"
ICON_SIZE = 256
_RESERVED = set(' \t\n"\'\\><~|&;$*?#()`')


def xdg_data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def launcher_command() -> list[str]:
    """How to start the window: the frozen app, the ``medassist-gui`` script, or this Python."""
    if getattr(sys, "frozen", False):
        return [str(Path(sys.executable).with_name(APP_NAME))]
    script = Path(sys.executable).with_name("medassist-gui")
    found = str(script) if script.is_file() else shutil.which("medassist-gui")
    if found:
        return [found]
    return [sys.executable, "-m", "medassist", "gui"]


def _quote(arg: str) -> str:
    """Quote one Exec argument as the Desktop Entry Specification requires."""
    if not any(c in _RESERVED for c in arg):
        return arg
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return f'"{escaped}"'


def desktop_entry(command: list[str], icon: str) -> str:
    """The text of the .desktop file; a 'Start demo' action opens the synthetic demo cohort."""
    exec_line = " ".join(_quote(a) for a in command)
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        f"Name={APP_NAME}",
        "GenericName=Clinical decision support",
        "Comment=Offline clinical decision support: records, images, local models, reports",
        f"Exec={exec_line}",
        f"Icon={icon}",
        "Terminal=false",
        "Categories=Science;MedicalSoftware;",
        "Keywords=medical;clinical;DICOM;radiology;decision support;",
        f"StartupWMClass={APP_NAME}",
        f"X-MedAssist-Version={__version__}",
        "Actions=demo;",
        "",
        "[Desktop Action demo]",
        "Name=Start demo (synthetic patients)",
        f"Exec={exec_line} --demo",
        "",
    ])


def install(data_home: Path, command: list[str]) -> tuple[Path, Path | None]:
    """Write the icon and the entry; returns their paths (icon ``None`` if the install lacks it)."""
    source = paths.resources_dir() / "icons" / f"medassist-{ICON_SIZE}.png"
    icon_path: Path | None = None
    if source.is_file():
        icon_path = data_home / "icons" / "hicolor" / f"{ICON_SIZE}x{ICON_SIZE}" / "apps" / "medassist.png"
        icon_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(icon_path, source.read_bytes())
    entry_path = data_home / "applications" / DESKTOP_FILE
    entry_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(entry_path, desktop_entry(command, str(icon_path) if icon_path else "medassist"))
    entry_path.chmod(0o755)
    return entry_path, icon_path


def uninstall(data_home: Path) -> list[Path]:
    removed = []
    for path in (data_home / "applications" / DESKTOP_FILE,
                 data_home / "icons" / "hicolor" / f"{ICON_SIZE}x{ICON_SIZE}" / "apps" / "medassist.png"):
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("install-desktop-entry",
                            help="add MedAssist to the Linux application menu (.desktop file + icon)")
    parser.add_argument("--uninstall", action="store_true", help="remove the entry and icon again")
    parser.add_argument("--print", dest="print_only", action="store_true", help="print the entry, write nothing")
    parser.add_argument("--exec", dest="exec_path", default=None,
                        help="program the entry starts (default: this installation's medassist-gui)")
    parser.add_argument("--icon", default=None, help="icon path or theme name for --print")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    command = [args.exec_path] if args.exec_path else launcher_command()
    if args.print_only:
        print(desktop_entry(command, args.icon or "medassist"), end="")
        return 0
    data_home = xdg_data_home()
    if args.uninstall:
        removed = uninstall(data_home)
        print("\n".join(f"removed {p}" for p in removed) or "nothing to remove")
        return 0
    entry, icon = install(data_home, command)
    print(f"wrote {entry}")
    print(f"wrote {icon}" if icon else "no icon found in this installation; the entry uses the theme name 'medassist'")
    return 0
