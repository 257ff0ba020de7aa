"""The core never imports Qt: every non-UI module imports with PySide6/pyqtgraph blocked."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import medassist

QT_PACKAGES = ("PySide6", "shiboken6", "pyqtgraph", "superqt", "qtpy", "PyQt5", "PyQt6")


def core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(medassist.__path__, prefix="medassist."):
        if info.name.startswith("medassist.ui") or info.name.endswith(".__main__"):  # __main__ runs, not imports
            continue
        names.append(info.name)
    return names


def test_core_modules_import_without_qt():
    modules = core_modules()
    assert "medassist.session" in modules and "medassist.inference.runtime" in modules
    script = f"""
import importlib.abc, sys
class BlockQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in {QT_PACKAGES!r}:
            raise ImportError('core module imported Qt: ' + name)
        return None
sys.meta_path.insert(0, BlockQt())
failures = []
for name in {modules!r}:
    try:
        importlib.import_module(name)
    except Exception as exc:
        failures.append(f'{{name}}: {{type(exc).__name__}}: {{exc}}')
loaded = [m for m in sys.modules if m.split('.')[0] in {QT_PACKAGES!r}]
print('\\n'.join(failures))
sys.exit(1 if failures or loaded else 0)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_window_module_does_not_import_torch():
    """The GUI must paint before torch is imported (torch loads lazily in workers)."""
    script = (
        "import os; os.environ['QT_QPA_PLATFORM']='offscreen'\n"
        "import sys\nfrom medassist.ui.app import create_window\n"
        "w = create_window(); w.show()\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "False", result.stdout + result.stderr
