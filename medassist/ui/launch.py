"""The desktop app's entry point (``medassist-gui``, ``medassist gui``, the frozen launcher).

The model host (:mod:`medassist.inference.host`) is started before anything else is imported, so
that torch imports and the default model loads on the machine's other core while this process
imports Qt and paints the window; a first prediction then finds its model ready.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from medassist.inference.host import ModelHost


def start_model_host() -> "ModelHost":
    """The model host, started now by the composition root with the saved settings, warming the default model."""
    from medassist.composition import start_model_host as start

    return start()


def main(argv: Sequence[str] | None = None) -> int:
    host = start_model_host()
    from medassist.ui.app import main as run_window

    return run_window(argv, model_host=host)
