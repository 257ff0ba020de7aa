"""The composition root: the one place that builds what an entry point runs on.

Each entry point asks one function here for its :class:`Services`: the settings (the saved ones,
with the ``MEDASSIST_*`` overrides read through them), the model catalogue, the audit log and the
model service. Nothing else constructs a catalogue, a runtime, an audit log or a model service
(``tests/test_composition.py`` checks the source), so the window, every command, the model
host, the DICOM node and a Ray worker run with the same device, threads, model folders and audit
user. Task handlers and explainers are registered here too (:func:`task_runners`): the root sits
above both :mod:`medassist.inference` and :mod:`medassist.explain`, so the import checks see every
edge between them.

Who asks what:

* the window (``medassist-gui``, ``medassist gui``): :func:`start_model_host` first, then :func:`for_window`;
* the model host, in its own process: :func:`host_service`;
* every ``medassist`` command, ``medassist node`` included: :func:`for_command`;
* the DICOM node: its caller's (``medassist node``'s, or the window's for its Worklist tab);
* a Ray actor (``medassist predict --engine ray``): :func:`ray_worker_models`, with the command's settings;
* the benchmarks: :func:`for_benchmark` (the device and threads they state);
* training's reference run and the tests: :func:`build_services` (settings, audit file and folders given).

This module is imported first by the window (to start the model host before anything heavy), so
it imports only what it needs inside the functions that need it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from medassist.domain.tasks import Task
from medassist.inference.host import WARM_MODEL, HostConfig, ModelHost

if TYPE_CHECKING:
    from medassist.audit import AuditLog
    from medassist.inference.registry import ModelRegistry
    from medassist.inference.service import InferenceService, ModelService
    from medassist.inference.tasks import Explainer, TaskHandler, TaskRunners
    from medassist.settings import Settings


class Services:
    """What one entry point runs on: its settings, the one model catalogue, the one audit log and
    the model service, which is made on first use (in this process it imports torch; for the window,
    a model host), made again after the settings change device, threads or user, and replaced when
    a model host has died."""

    def __init__(self, settings: Settings, catalogue: ModelRegistry, audit: AuditLog,
                 make_models: Callable[[Services], ModelService], *, models_in_own_process: bool = False,
                 models: ModelService | None = None) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.audit = audit
        self.models_in_own_process = models_in_own_process  # the window's: the model host runs them
        self._make_models = make_models
        self._models = models
        self._lock = threading.Lock()

    def models(self) -> ModelService:
        """The model service (in this process: call it from a worker, it imports torch on first use)."""
        with self._lock:
            if isinstance(self._models, ModelHost) and not self._models.alive:
                self._models = None
            if self._models is None:
                self._models = self._make_models(self)
            return self._models

    @property
    def models_started(self) -> bool:
        return self._models is not None

    def close_models(self) -> None:
        """Forget the model service (a model host is stopped); the next :meth:`models` makes a new one."""
        with self._lock:
            service, self._models = self._models, None
        if isinstance(service, ModelHost):
            service.close()

    def change_settings(self, settings: Settings) -> None:
        """Run on ``settings`` from now on: the audit log names their user, and a model service made
        for another device, thread count or user is closed (the next one is made with these)."""
        before, self.settings = self.settings, settings
        self.audit.app_user = settings.app_user
        if (before.device, before.cpu_threads, before.app_user) != (settings.device, settings.cpu_threads,
                                                                       settings.app_user):
            self.close_models()


# task runners ---------------------------------------------------------------------------------
def task_runners() -> TaskRunners:
    """Every task's handler and explainer, each module imported on the first run of its task."""
    from medassist.inference.tasks import TaskRunners

    runners = TaskRunners()
    runners.add_handler(Task.IMAGE, _image_handler)
    runners.add_handler(Task.TEXT, _text_handler)
    runners.add_handler(Task.RECORD, _record_handler)
    runners.add_explainer(Task.IMAGE, _image_explainer)
    runners.add_explainer(Task.TEXT, _text_explainer)
    runners.add_explainer(Task.RECORD, _record_explainer)
    return runners


def _image_handler() -> TaskHandler:
    from medassist.inference.image_task import ImageClassificationHandler

    return ImageClassificationHandler()


def _text_handler() -> TaskHandler:
    from medassist.inference.text_task import TextTask

    return TextTask()


def _record_handler() -> TaskHandler:
    from medassist.inference.tabular_task import TabularTask

    return TabularTask()


def _image_explainer() -> Explainer:
    from medassist.explain.image import explain_image

    return explain_image


def _text_explainer() -> Explainer:
    from medassist.explain.text import explain_note

    return explain_note


def _record_explainer() -> Explainer:
    from medassist.explain.tabular import explain_record

    return explain_record


# model services -------------------------------------------------------------------------------
def _service(settings: Settings, catalogue: ModelRegistry, audit: AuditLog) -> InferenceService:
    """The model service in this process, on the settings' device and threads (imports torch)."""
    from medassist.inference.runtime import ModelRuntime
    from medassist.inference.service import InferenceService

    runtime = ModelRuntime(catalogue, settings.device, settings.cpu_threads)
    return InferenceService(runtime, audit, task_runners())


def _service_here(services: Services) -> ModelService:
    return _service(services.settings, services.catalogue, services.audit)


def _host_for(services: Services) -> ModelService:
    """A model host with the window's settings, audit file and catalogue (a new one after a change or a death)."""
    config = HostConfig(audit_path=services.audit.path, settings=services.settings, warm_models=(WARM_MODEL,))
    host = ModelHost(config, host_service)
    host.catalogue = services.catalogue
    return host


def host_service(config: HostConfig) -> InferenceService:
    """In the model host's process: the service the window would have built in its own (torch is imported here)."""
    from medassist.audit import AuditLog
    from medassist.inference.registry import ModelRegistry
    from medassist.settings import Settings

    settings = config.settings if config.settings is not None else Settings.load()
    return _service(settings, ModelRegistry(settings.model_folders), AuditLog(config.audit_path, settings.app_user))


# entry points ---------------------------------------------------------------------------------
def build_services(settings: Settings, audit_path: Path, model_folders: Sequence[Path]) -> Services:
    """Services with models in this process, from settings, an audit file and model folders all given
    (benchmarks, training's reference run and tests choose them; the entry points below read them)."""
    from medassist.audit import AuditLog
    from medassist.inference.registry import ModelRegistry

    return Services(settings, ModelRegistry(model_folders), AuditLog(audit_path, settings.app_user), _service_here)


def for_command() -> Services:
    """A ``medassist`` command's services: the saved settings, this process's audit file, models here."""
    from medassist import paths
    from medassist.settings import Settings

    settings = Settings.load()
    return build_services(settings, paths.new_audit_file(), settings.model_folders)


def start_model_host() -> ModelHost:
    """The desktop app's model host, started before the window imports anything else: it reads the
    saved settings itself and warms the default model while the window paints."""
    from medassist import paths

    return ModelHost(HostConfig(audit_path=paths.new_audit_file(), warm_models=(WARM_MODEL,)), host_service)


def for_window(host: ModelHost | None = None) -> Services:
    """The window's services: the saved settings and, with a ``host`` (started by
    :func:`start_model_host`), its audit file and models in it; without, models in this process
    (tests that drive many windows)."""
    from medassist import paths
    from medassist.audit import AuditLog
    from medassist.inference.registry import ModelRegistry
    from medassist.settings import Settings

    settings = Settings.load()
    catalogue = ModelRegistry(settings.model_folders)
    if host is None:
        return Services(settings, catalogue, AuditLog(paths.new_audit_file(), settings.app_user), _service_here)
    host.catalogue = catalogue
    return Services(settings, catalogue, AuditLog(host.config.audit_path, settings.app_user), _host_for,
                    models_in_own_process=True, models=host)


def for_benchmark(device: str, threads: int | None) -> Services:
    """A benchmark's services: the device and threads it states (not the saved ones, so that its
    numbers say what they measured), the default model folders, an audit file of its own."""
    import tempfile

    from medassist.settings import Settings

    settings = Settings.model_validate({"device": device, "cpu_threads": threads})
    audit = Path(tempfile.mkdtemp(prefix="medassist-bench-")) / "audit.jsonl"
    return build_services(settings, audit, settings.model_folders)


def ray_worker_models(settings: Settings) -> ModelService:
    """A Ray actor's model service, in the worker's process, on the command's ``settings`` (handed over
    with the actor, so a worker on another machine runs with the same device, threads and audit user);
    the model folders and the audit file are the worker machine's."""
    from medassist import paths

    return build_services(settings, paths.new_audit_file(), settings.model_folders).models()
