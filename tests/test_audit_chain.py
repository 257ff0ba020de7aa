"""The audit trail is tamper-evident: each line carries the SHA-256 of the line before it, and
``medassist audit verify`` names the first line where the chain breaks (an edited or removed line).
Each line records the MedAssist user name beside the OS user."""

from __future__ import annotations

import json
import threading

import pytest

from medassist.audit import GENESIS, AuditLog, line_sha256, verify_chain
from medassist.cli.main import main
from medassist.settings import Settings


def written(tmp_path, count: int = 5) -> AuditLog:
    log = AuditLog(tmp_path / "audit.jsonl", app_user="Dr Anna Weber")
    for index in range(count):
        log.append("prediction", model="cxr-pneumonia", index=index, outputs={"pneumonia": 0.1 * index})
    return log


def test_each_line_chains_to_the_one_before(tmp_path):
    log = written(tmp_path)
    raw = log.path.read_bytes().splitlines()
    rows = [json.loads(line) for line in raw]
    assert rows[0]["prev_sha256"] == GENESIS
    assert [r["prev_sha256"] for r in rows[1:]] == [line_sha256(line) for line in raw[:-1]]
    check = verify_chain(log.path)
    assert check.intact and check.lines == 5


def test_an_edited_line_is_found(tmp_path):
    log = written(tmp_path)
    lines = log.path.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace('"pneumonia": 0.2', '"pneumonia": 0.9')
    log.path.write_text("".join(lines))
    check = verify_chain(log.path)
    assert check.broken_line == 4 and "line 3 was changed" in check.reason


@pytest.mark.parametrize("removed,broken", [(0, 1), (2, 3)])
def test_a_removed_line_is_found(tmp_path, removed, broken):
    log = written(tmp_path)
    lines = log.path.read_text().splitlines(keepends=True)
    del lines[removed]
    log.path.write_text("".join(lines))
    check = verify_chain(log.path)
    assert check.broken_line == broken and "removed" in check.reason


def test_a_line_written_before_the_chain_is_named(tmp_path):
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps({"event": "prediction", "user": "alice"}) + "\n")
    assert verify_chain(path).broken_line == 1


def test_lines_from_many_threads_keep_the_chain(tmp_path):
    log = AuditLog(tmp_path / "audit.jsonl", app_user="")
    threads = [threading.Thread(target=lambda n=n: [log.append("t", thread=n, i=i) for i in range(50)]) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    check = verify_chain(log.path)
    assert check.intact and check.lines == 400


def test_two_logs_on_one_file_keep_the_chain(tmp_path):
    """Two writers (as two processes would) append to the same file in turn."""
    first, second = AuditLog(tmp_path / "a.jsonl", app_user="a"), AuditLog(tmp_path / "a.jsonl", app_user="b")
    for index in range(10):
        (first if index % 3 else second).append("t", i=index)
    assert verify_chain(tmp_path / "a.jsonl").intact


def test_the_app_user_comes_from_settings_or_the_command_line(user_home, monkeypatch):
    """Every entry point's audit log is the composition root's, naming Settings.app_user."""
    from medassist.composition import for_command, for_window

    Settings(user_name="Dr Anna Weber").save()
    monkeypatch.delenv("MEDASSIST_USER", raising=False)
    record = for_command().audit.append("test")
    assert record["app_user"] == "Dr Anna Weber" and record["user"]
    assert for_window().audit.append("test")["app_user"] == "Dr Anna Weber"
    monkeypatch.setenv("MEDASSIST_USER", "Nurse Ben Cole")
    assert for_command().audit.append("test")["app_user"] == "Nurse Ben Cole"


def test_cli_user_is_recorded_and_verify_reports(user_home, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MEDASSIST_USER", "")  # so that what --user sets is undone after the test
    text = "Patient reports cough and fever for three days."
    assert main(["--user", "Dr Cli", "predict", "--model", "notes-problems", "--text", text, "--json"]) == 0
    [path] = (user_home / "logs" / "audit").glob("*.jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert rows and all(r["app_user"] == "Dr Cli" for r in rows)
    capsys.readouterr()
    assert main(["audit", "verify"]) == 0
    assert "1 of 1 audit file(s) intact" in capsys.readouterr().out
    log = written(tmp_path)
    lines = log.path.read_text().splitlines(keepends=True)
    log.path.write_text("".join(lines[:1] + lines[2:]))
    assert main(["audit", "verify", str(log.path)]) == 1
    out = capsys.readouterr().out
    assert "BROKEN" in out and "line 2 does not chain to line 1" in out
    assert main(["audit", "verify", str(tmp_path / "missing.jsonl")]) == 2


def test_user_name_set_in_preferences_is_recorded(window, monkeypatch):
    from medassist.ui import main_window

    def accept_with_name(dialog) -> bool:
        dialog.user_name.setText("  Dr Anna Weber ")
        return True

    monkeypatch.delenv("MEDASSIST_USER", raising=False)  # no --user for this run: Settings > User name counts
    monkeypatch.setattr(main_window.SettingsDialog, "exec", accept_with_name)
    window.show_settings()
    assert Settings.load().user_name == "Dr Anna Weber"
    record = window.context.audit.append("test")
    assert record["app_user"] == "Dr Anna Weber" and record["user"]
