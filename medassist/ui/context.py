"""What every tab is given: the session, its Qt bridge, the job runner, settings and services.

Services that import torch are created lazily, on first use, inside a worker job, so the
window paints before torch is imported. Tabs reach each other only through
``context.navigation`` (the main window), never by looking each other up by title.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Callable, Protocol

from medassist.audit import AuditLog
from medassist.inference.registry import ModelRegistry
from medassist.jobs import Job, Progress
from medassist.session import Session
from medassist.settings import Settings
from medassist.ui.bridge import SessionBridge
from medassist.ui.workers import JobRunner

if TYPE_CHECKING:
    import numpy as np

    from medassist.imaging.image import MedicalImage
    from medassist.domain.prediction import Prediction
    from medassist.inference.service import InferenceService

WARM_MODEL = "cxr-pneumonia"  # the model most first predictions use (the demo's chest radiograph)


class TabKind(Enum):
    """The main window's tabs in clinical order; the value is the tab's title."""

    RECORDS = "Records"
    IMAGES = "Images"
    DIAGNOSIS = "Diagnosis"
    TREATMENT = "Treatment"
    EXPLANATIONS = "Explanations"
    REPORT = "Report"
    WORKLIST = "Worklist"


class Navigation(Protocol):
    """What a tab or an action may ask of the window around it (the main window implements it)."""

    def show_tab(self, kind: TabKind) -> None:
        """Bring a tab to the front."""

    def show_explanation(self, prediction: Prediction) -> None:
        """Open the Explanations tab on ``prediction``."""

    def show_overlay(self, image: MedicalImage, frame: int, heatmap: np.ndarray | None, label: str) -> bool:
        """Show ``image`` in the Images tab with ``heatmap`` laid over it; False when there is no viewer."""


class NoWindow:
    """Navigation for tabs used without a main window (tests, a lone widget): nothing to go to."""

    def show_tab(self, kind: TabKind) -> None:
        pass

    def show_explanation(self, prediction: Prediction) -> None:
        pass

    def show_overlay(self, image: MedicalImage, frame: int, heatmap: np.ndarray | None, label: str) -> bool:
        return False


@dataclass
class AppContext:
    session: Session
    bridge: SessionBridge
    runner: JobRunner
    settings: Settings
    audit: AuditLog = field(default_factory=AuditLog)
    show_message: Callable[[str, str], None] = lambda title, text: None
    navigation: Navigation = field(default_factory=NoWindow)
    catalogue: ModelRegistry = field(default_factory=ModelRegistry)  # the one catalogue; the runtime loads from it
    _inference: "InferenceService | None" = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def inference(self) -> "InferenceService":
        """The shared inference service; call from a worker (it imports torch on first use)."""
        with self._lock:
            if self._inference is None:
                from medassist.inference.runtime import ModelRuntime
                from medassist.inference.service import InferenceService

                runtime = ModelRuntime(self.catalogue, device_preference=self.settings.device,
                                       threads=self.settings.cpu_threads)
                self._inference = InferenceService(runtime, self.audit)
            return self._inference

    def warm_up(self) -> Job[None]:
        """A job for start-up, from first paint: import torch and load the default image model with
        its task's runner, in this worker, so neither the first prediction nor the GUI thread pays
        for them. Explanations' libraries come later (:meth:`prepare_explanations`): a prediction
        does not need them, and importing them now would compete with it for the interpreter."""
        from medassist.inference.preload import preload_native_libraries

        yield Progress(0.05, "Preparing models")
        preload_native_libraries()  # the slow part of importing torch (and pandas), without freezing the window
        yield Progress(0.3, "Preparing models")
        service = self.inference()
        yield Progress(0.6, "Loading the default model")
        service.prepare(WARM_MODEL)
        yield Progress(1.0, "Models ready")

    def prepare_explanations(self) -> Job[None]:
        """A job for once the models are ready: captum (and the matplotlib it imports), ~1 s of
        import, paid here rather than on the user's first Explain click."""
        yield Progress(0.1, "Preparing explanations")
        import captum.attr  # noqa: F401
        yield Progress(1.0, "Explanations ready")

    @property
    def inference_loaded(self) -> bool:
        return self._inference is not None

    def reset_inference(self) -> None:
        """Forget the service so the next use picks up changed device settings."""
        with self._lock:
            self._inference = None
