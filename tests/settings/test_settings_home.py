"""Settings have one home: every setting and every ``MEDASSIST_*`` variable MedAssist reads is listed
in ``medassist.settings`` and docs/settings.md, and only the settings package (and, for the folders the
settings file itself lives in, ``medassist.paths``) reads them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import medassist
from medassist.settings import ENVIRONMENT, Settings

ROOT = Path(medassist.__file__).parent
DOC = (ROOT.parent / "docs" / "settings.md").read_text(encoding="utf-8")
READERS = {"settings/__init__.py", "paths.py"}


def _environment_reads(tree: ast.AST) -> list[str]:
    """``os.environ.get(X)``, ``os.getenv(X)`` and ``os.environ[X]`` reads of a MEDASSIST_* name or a constant."""
    reads = []
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            target = node.func
            if (target.attr == "get" and ast.unparse(target.value) == "os.environ") or ast.unparse(target) == "os.getenv":
                key = node.args[0]
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and ast.unparse(node.value) == "os.environ":
            key = node.slice
        if key is None:
            continue
        name = key.value if isinstance(key, ast.Constant) else ast.unparse(key)
        if not isinstance(name, str) or name.startswith("MEDASSIST_") or name.endswith("_ENV"):
            reads.append(str(name))
    return reads


def test_every_medassist_variable_in_the_code_is_listed_and_documented():
    named = set()
    for path in ROOT.rglob("*.py"):
        named |= set(re.findall(r"MEDASSIST_[A-Z_]+", path.read_text(encoding="utf-8")))
    assert named == set(ENVIRONMENT)
    assert {name for name in ENVIRONMENT if f"`{name}`" not in DOC} == set()


def test_only_the_settings_and_the_user_folders_read_the_overrides():
    readers = {}
    for path in ROOT.rglob("*.py"):
        reads = _environment_reads(ast.parse(path.read_text(encoding="utf-8")))
        if reads:
            readers[str(path.relative_to(ROOT))] = reads
    assert set(readers) == READERS, readers


def test_every_setting_is_documented():
    assert {name for name in Settings.model_fields if f"`{name}`" not in DOC} == set()


def test_the_audit_user_and_startup_timing_are_read_through_the_settings(monkeypatch):
    from medassist.settings import startup_timing

    monkeypatch.delenv("MEDASSIST_USER", raising=False)
    monkeypatch.delenv("MEDASSIST_STARTUP_TIMING", raising=False)
    settings = Settings(user_name="Dr Anna Weber")
    assert settings.app_user == "Dr Anna Weber" and not startup_timing()
    monkeypatch.setenv("MEDASSIST_USER", "Nurse Ben Cole")
    monkeypatch.setenv("MEDASSIST_STARTUP_TIMING", "1")
    assert settings.app_user == "Nurse Ben Cole" and startup_timing()
    assert "Nurse Ben Cole" not in settings.model_dump_json()  # an override is never saved as the setting
