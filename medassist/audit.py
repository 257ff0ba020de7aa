"""Per-session audit trail: one JSON line per model run, never lost or interleaved.

Each line is written with a single ``os.write`` on a file opened with ``O_APPEND`` under a
lock, so concurrent workers (and processes) append whole lines.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import json
import os
import threading
from pathlib import Path
from typing import Any

from medassist import __version__, paths
from medassist.inference.prediction import Prediction


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # getpass raises different errors per platform when no user is known
        return "unknown"


class AuditLog:
    """Appends JSON lines to ``<user log dir>/audit/session-<timestamp>-<pid>.jsonl``."""

    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            path = paths.audit_dir() / f"session-{stamp}-{os.getpid()}.jsonl"
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.user = _os_user()
        self._lock = threading.Lock()

    def append(self, event: str, **fields: Any) -> dict[str, Any]:
        record = {
            "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds"),
            "event": event,
            "user": self.user,
            "medassist_version": __version__,
            **fields,
        }
        line = (json.dumps(record, default=str, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        return record

    def record_prediction(self, prediction: Prediction) -> dict[str, Any]:
        return self.append(
            "prediction",
            model=prediction.model,
            model_version=prediction.version,
            weights_sha256=prediction.weights_sha256,
            device=prediction.device,
            source=prediction.source,
            input_sha256=prediction.input_sha256,
            patient_id=prediction.patient_id,
            outputs=prediction.to_dict()["outputs"],
            positive=prediction.positive,
            gate=prediction.gate.to_dict() if prediction.gate else None,
            missing_inputs=prediction.missing_inputs,
        )

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]
