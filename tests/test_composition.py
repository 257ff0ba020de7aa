"""The composition root: every entry point runs on the services it builds from the saved settings
(device and threads above all), and nothing else builds a catalogue, runtime, audit log or model service."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest
import torch

import medassist
from medassist.cli.main import build_parser, main
from medassist.composition import Services, for_command, for_window
from medassist.demo.images import public_dicom
from medassist.domain.inputs import ImageInput
from medassist.imaging.loader import load_image
from medassist.jobs import run_job
from medassist.paths import bundled_models_dir
from medassist.settings import Settings

MODEL = "cxr-pneumonia"
ONE_THREAD = "CPU, 1 thread"  # what a result's device, the audit trail and the status bar say
BUILT_BY_THE_ROOT = {"InferenceService", "ModelRuntime", "ModelRegistry", "AuditLog", "ModelHost", "TaskRunners"}


@pytest.fixture()
def one_thread_saved(user_home):
    """Settings saved with the CPU and one thread (as a user would in Settings > Preferences); torch's
    thread count, which is the process's, is given back afterwards."""
    before = torch.get_num_threads()
    Settings(device="cpu", cpu_threads=1).save()
    yield
    torch.set_num_threads(before)


def constructions(tree: ast.AST) -> list[str]:
    """Calls that build what only the composition root may build (and ``Settings.load()``)."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name in BUILT_BY_THE_ROOT:
            found.append(f"{name}(), line {node.lineno}")
        if name == "load" and isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "Settings":
            found.append(f"Settings.load(), line {node.lineno}")
    return found


def test_only_the_composition_root_builds_services_and_reads_settings():
    root = Path(medassist.__file__).parent
    built = {str(path.relative_to(root)): constructions(ast.parse(path.read_text(encoding="utf-8")))
             for path in root.rglob("*.py")}
    assert built["composition.py"]  # the check sees the root's own constructions
    elsewhere = {path: calls for path, calls in built.items() if calls and path not in ("composition.py",
                                                                                        "settings/__init__.py")}
    assert elsewhere == {}


def test_modules_load_by_name_only_from_their_own_package():
    """An import by name (importlib) is an edge lint-imports cannot see, so it may only reach into the
    importer's own package (the CLI's commands, the window's tabs, the architectures); explainers and
    task runners are registered at the composition root instead."""
    root = Path(medassist.__file__).parent
    reaching_out = {}
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "import_module" not in text:
            continue
        package = "medassist." + path.relative_to(root).parts[0].removesuffix(".py")
        named = {node.value for node in ast.walk(ast.parse(text))
                 if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("medassist.")}
        reaching_out.update({str(path.relative_to(root)): sorted(n for n in named if not n.startswith(package + "."))})
    assert set(reaching_out) >= {"cli/main.py", "ui/main_window.py"} and "inference/tasks.py" not in reaching_out
    assert {path: names for path, names in reaching_out.items() if names} == {}


def test_medassist_predict_runs_with_the_saved_device_and_threads(one_thread_saved, capsys):
    assert main(["predict", "--model", MODEL, "--json", str(public_dicom("RG1_UNCR.dcm"))]) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row["device"] == ONE_THREAD


def test_medassist_report_runs_with_the_saved_device_threads_and_column_mapping(one_thread_saved, user_home, tmp_path,
                                                                              monkeypatch, capsys):
    """Only the chest model is installed, so the report runs it alone; the table's odd header is read
    with the mapping the user confirmed earlier (kept in the same settings)."""
    models = tmp_path / "models"
    shutil.copytree(bundled_models_dir() / MODEL, models / MODEL)
    monkeypatch.setenv("MEDASSIST_MODELS_DIR", str(models))
    records = tmp_path / "odd.csv"
    records.write_text("Key,Label,Born\nK1,Eva Koch,1950-01-02\n", encoding="utf-8")
    mapping = {"patient_id": "Key", "full_name": "Label", "birth_date": "Born"}
    Settings.load().with_column_mapping("Born|Key|Label", mapping).save()
    out = tmp_path / "report.pdf"
    assert main(["report", "--records", str(records), "--patient", "K1", "--image", str(public_dicom("RG1_UNCR.dcm")),
                 "--out", str(out), "--no-explain", "--quiet"]) == 0, capsys.readouterr().err
    [audit] = (user_home / "logs" / "audit").glob("*.jsonl")
    predictions = [json.loads(line) for line in audit.read_text().splitlines() if '"prediction"' in line]
    assert [(p["model"], p["device"]) for p in predictions] == [(MODEL, ONE_THREAD)]


def test_medassist_node_scores_with_the_saved_device_and_threads(one_thread_saved):
    from medassist.cli.node_cmd import hospital_node

    node = hospital_node(build_parser().parse_args(["node", "--port", "0", "--workers", "1"]), for_command())
    assert node.settings.port == 0 and node.settings.score_workers == 1  # the command line's overrides
    service = node.scorer.service  # what its scoring workers run on
    assert service.describe() == ONE_THREAD
    assert run_job(service.predict(MODEL, ImageInput(load_image(public_dicom("RG1_UNCR.dcm"))))).device == ONE_THREAD


def test_a_window_with_models_in_its_own_process_runs_them_with_the_saved_settings(one_thread_saved, qtbot):
    from medassist.ui.app import create_window

    window = create_window(build_tabs=False)
    qtbot.addWidget(window)
    service = window.context.inference()
    assert service.describe() == ONE_THREAD and service.registry is window.context.catalogue


def test_new_settings_remake_the_model_service_only_when_device_threads_or_user_change(user_home):
    made: list[Settings] = []

    class Service:
        alive = True

    def make(services: Services) -> Service:
        made.append(services.settings)
        return Service()

    start = for_window()
    services = Services(start.settings, start.catalogue, start.audit, make)
    first = services.models()
    services.change_settings(services.settings.model_copy(update={"presentation_mode": True}))
    assert services.models() is first
    services.change_settings(services.settings.model_copy(update={"user_name": "Dr New"}))
    assert services.audit.app_user == "Dr New" and services.models() is not first
    services.change_settings(services.settings.model_copy(update={"cpu_threads": 1}))
    assert not services.models_started  # made again on its next use, with the new threads
    services.models()
    assert [s.cpu_threads for s in made] == [None, None, 1]
