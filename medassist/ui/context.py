"""What every tab is given: the session, its Qt bridge, the job runner, settings and services.

Services that import torch are created lazily, on first use, inside a worker job, so the
window paints before torch is imported.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from medassist.audit import AuditLog
from medassist.jobs import Job, Progress
from medassist.session import Session
from medassist.settings import Settings
from medassist.ui.bridge import SessionBridge
from medassist.ui.workers import JobRunner

if TYPE_CHECKING:
    from medassist.inference.service import InferenceService

WARM_MODEL = "cxr-pneumonia"  # the model most first predictions use (the demo's chest radiograph)


@dataclass
class AppContext:
    session: Session
    bridge: SessionBridge
    runner: JobRunner
    settings: Settings
    audit: AuditLog = field(default_factory=AuditLog)
    show_message: Callable[[str, str], None] = lambda title, text: None
    _inference: "InferenceService | None" = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def inference(self) -> "InferenceService":
        """The shared inference service; call from a worker (it imports torch on first use)."""
        with self._lock:
            if self._inference is None:
                from medassist.inference.runtime import ModelRuntime
                from medassist.inference.service import InferenceService

                runtime = ModelRuntime(device_preference=self.settings.device, threads=self.settings.cpu_threads)
                self._inference = InferenceService(runtime, self.audit)
            return self._inference

    def warm_up(self) -> Job[None]:
        """A job for start-up, from first paint: import torch, load the default image model, then
        import captum, in this worker, so neither the first prediction nor the GUI thread pays for
        them. Captum comes last: a prediction does not need it, only an explanation does."""
        from medassist.inference.preload import preload_torch_libraries

        yield Progress(0.05, "Preparing models")
        preload_torch_libraries()  # the slow part of importing torch, without freezing the window
        yield Progress(0.3, "Preparing models")
        service = self.inference()
        yield Progress(0.6, "Loading the default model")
        service.runtime.load(WARM_MODEL)
        yield Progress(0.8, "Preparing explanations")
        # captum (and the matplotlib it imports) costs ~1 s of import that holds the GUI back in
        # bursts: pay it here rather than on the user's first Explain click.
        import captum.attr  # noqa: F401
        yield Progress(1.0, "Models ready")

    @property
    def inference_loaded(self) -> bool:
        return self._inference is not None

    def reset_inference(self) -> None:
        """Forget the service so the next use picks up changed device settings."""
        with self._lock:
            self._inference = None
