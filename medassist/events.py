"""A minimal callback signal for the Qt-free core (the napari ``EventEmitter`` idea).

Core objects announce changes through :class:`Signal`; the Qt layer connects slots that
re-emit on the GUI thread. The core never knows a widget exists.
"""

from __future__ import annotations

import threading
from typing import Any, Callable


class Signal:
    """Holds callbacks and calls each on :meth:`emit`, in connection order."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., Any]] = []
        self._lock = threading.Lock()

    def connect(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        with self._lock:
            if callback not in self._callbacks:
                self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[..., Any]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback(*args)
