"""The CLI gives one-line errors and exit codes, never tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys


def medassist(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "medassist", *args], capture_output=True, text=True, timeout=300)


def test_models_list_json_lists_bundled_models():
    result = medassist("models", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert all({"name", "available", "weights_sha256"} <= set(r) for r in rows)


def test_unknown_model_is_a_one_line_error():
    result = medassist("predict", "--model", "no-such-model", "x.png")
    assert result.returncode == 2
    assert result.stderr.startswith("medassist: error:") and "no model named 'no-such-model'" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_no_command_prints_help_and_fails():
    result = medassist()
    assert result.returncode == 2 and "COMMAND" in result.stdout
