"""What every tab is given: the session, its Qt bridge, the job runner and the services the
composition root built for the window (settings, catalogue, audit log, model service).

The model service is made on first use: in this process it imports torch, so it is asked for inside
a worker job and the window paints first; the desktop app runs it in the model host instead. Tabs
reach each other only through ``context.navigation`` (the main window), never by looking each other
up by title.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Callable, Protocol

from medassist.audit import AuditLog
from medassist.composition import Services
from medassist.errors import MedAssistError
from medassist.inference.host import WARM_MODEL, ModelHost
from medassist.inference.registry import ModelRegistry
from medassist.jobs import Job, Progress, rescaled
from medassist.privacy import ShownPolicy
from medassist.session import Session
from medassist.settings import Settings
from medassist.ui.bridge import SessionBridge
from medassist.ui.workers import JobRunner

if TYPE_CHECKING:
    import numpy as np

    from medassist.imaging.image import MedicalImage
    from medassist.domain.prediction import Prediction
    from medassist.inference.service import ModelService
    from medassist.ui.pixel_guard import PixelGuard

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
    services: Services  # the window's, from medassist.composition.for_window
    show_message: Callable[[str, str], None] = lambda title, text: None
    navigation: Navigation = field(default_factory=NoWindow)
    _pixel_guard: "PixelGuard | None" = field(default=None, init=False)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def audit(self) -> AuditLog:
        return self.services.audit

    @property
    def catalogue(self) -> ModelRegistry:
        """The one catalogue; the model service loads from it."""
        return self.services.catalogue

    @property
    def models_in_own_process(self) -> bool:
        """The desktop app runs its models in the model host (a process of its own, see
        medassist.inference.host); tests that drive many windows run them in this process."""
        return self.services.models_in_own_process

    def change_settings(self, settings: Settings) -> None:
        """Keep and save ``settings``; a model service made with another device, thread count or user is
        made again with these on its next use."""
        self.services.change_settings(settings)
        settings.save()

    def shown(self, patient_id: str | None = None) -> ShownPolicy:
        """What the views may show of ``patient_id`` (by default the current patient): presentation mode's
        privacy policy, decided in core and only applied by the views."""
        pid = self.session.current_patient_id if patient_id is None else patient_id
        return ShownPolicy(self.session.records, pid, self.settings.presentation_mode)

    def pixel_guard(self) -> "PixelGuard":
        """The one source of presentation mode's masked pictures (checked in workers, cached per frame)."""
        if self._pixel_guard is None:
            from medassist.ui.pixel_guard import PixelGuard

            self._pixel_guard = PixelGuard(self.runner)
        return self._pixel_guard

    def inference(self) -> "ModelService":
        """The shared model service. In this process it imports torch on first use: call it from a
        worker. The model host is started at once and never waits; a host that died is replaced."""
        return self.services.models()

    def warm_up(self) -> Job[None]:
        """A job for start-up, from first paint: the default image model loaded, with its task's
        runner, so that neither the first prediction nor the GUI thread pays for them. In this
        process that means importing torch in this worker; with the model host, waiting for it.
        Explanations' libraries come later (:meth:`prepare_explanations`): a prediction does not
        need them, and importing them now would compete with it for the interpreter."""
        yield Progress(0.05, "Preparing models")
        if not self.models_in_own_process:
            from medassist.inference.preload import preload_native_libraries

            preload_native_libraries()  # the slow part of importing torch (and pandas), without freezing the window
        yield Progress(0.3, "Preparing models")
        yield from rescaled(self._prepare(WARM_MODEL), 0.6, 1.0, "Loading the default model: ")
        yield Progress(1.0, "Models ready")

    def _prepare(self, model: str) -> Job[None]:
        """Load ``model`` where the models run; with the model host, a job a cancel can end while it waits."""
        service = self.inference()
        if isinstance(service, ModelHost):
            yield from service.prepare_job(model)
        else:
            service.prepare(model)

    def prepare_explanations(self) -> Job[None]:
        """A job for once the models are ready: captum (and the matplotlib it imports), ~1 s of
        import, paid here rather than on the user's first Explain click."""
        yield Progress(0.1, "Preparing explanations")
        self.inference().prepare_explanations()
        yield Progress(1.0, "Explanations ready")

    def warm_other_models(self) -> Job[None]:
        """A job for once start-up is over, with the model host: every other available model
        loaded there, so that a first analysis does not wait for them (the notes model's libraries
        alone take about 6 s to import). A model that cannot load says so on its first run."""
        names = [entry.name for entry in self.catalogue.available() if entry.name != WARM_MODEL]
        for index, name in enumerate(names):
            try:
                yield from rescaled(self._prepare(name), index / len(names), (index + 1) / len(names),
                                    f"Preparing {name}: ")
            except MedAssistError:
                pass
        yield Progress(1.0, "Models ready")

    def close_models(self) -> None:
        """Stop the model host, if there is one (the window is closing)."""
        self.services.close_models()

    @property
    def inference_loaded(self) -> bool:
        return self.services.models_started
