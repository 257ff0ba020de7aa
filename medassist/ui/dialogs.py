"""Dialogs: model catalogue with cards, settings, intended use, about."""

from __future__ import annotations

import html
import json
import os
import platform
from typing import Callable

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QSpinBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from medassist import APP_NAME, DECISION_SUPPORT_NOTICE, __version__
from medassist.inference.card import ModelCard
from medassist.inference.registry import ModelEntry, ModelRegistry
from medassist.settings import Settings
from medassist.ui.node_settings import NodeSettingsSection

INTENDED_USE = f"""
<h2>Intended use</h2>
<p>{APP_NAME} is clinical <b>decision support</b> for qualified clinicians. It suggests findings from
images, notes and structured data, explains them, and proposes treatment options checked against
safety tables. It does <b>not</b> make diagnoses or prescribe: every output must be reviewed and
confirmed by the responsible clinician, who remains accountable for the decision.</p>
<h3>Limitations</h3>
<ul>
<li>Each model works only within the population and input types stated in its model card
(Models &gt; Model catalogue). Inputs outside them are refused where a gate exists, and may be
wrong where none does.</li>
<li>Models were trained on public research datasets with known label noise and population bias.</li>
<li>Treatment knowledge tables summarise cited guidelines and may lag behind local policy.</li>
<li>Demo mode uses synthetic patients and public test images; it is never for clinical use.</li>
</ul>
<p><i>{DECISION_SUPPORT_NOTICE}</i></p>
"""


def card_html(card: ModelCard) -> str:
    """A model card as readable HTML: what it does, for whom, how well, and where it fails."""
    esc = html.escape
    rows = "".join(f"<li>{esc(item)}</li>" for item in card.limitations)
    thresholds = ", ".join(f"{esc(k)} &ge; {v:.3g}" for k, v in card.thresholds.items()) or "none"
    metrics = esc(json.dumps(card.metrics, indent=2))
    training = esc(json.dumps(card.training_data.model_dump(exclude={"frameworks"}), indent=2))
    frameworks = card.training_data.frameworks
    versions = (", ".join(f"{name} {version}" for name, version in frameworks.model_dump().items())
                if frameworks else "not recorded (the card predates recording them)")
    return (
        f"<h2>{esc(card.title)} <small>v{esc(card.version)}</small></h2>"
        f"<p>{esc(card.description)}</p>"
        f"<p><b>Task:</b> {esc(card.task)} &nbsp; <b>Modality:</b> {esc(card.modality_text)}<br>"
        f"<b>Labels:</b> {esc(', '.join(card.labels))}<br><b>Operating thresholds:</b> {thresholds}<br>"
        f"<b>Weights SHA-256:</b> <code>{card.weights.sha256}</code></p>"
        f"<h3>Intended use</h3><p>{esc(card.intended_use)}</p>"
        f"<h3>Limitations</h3><ul>{rows}</ul>"
        f"<h3>Held-out metrics</h3><pre>{metrics}</pre>"
        f"<h3>Training data</h3><pre>{training}</pre>"
        f"<p><b>Trained with:</b> {esc(versions)}</p>"
    )


def entry_html(entry: ModelEntry) -> str:
    """A model folder for display: refusal reason first, then its card and reliability plot."""
    text = card_html(entry.card) if entry.card else ""
    if entry.card is not None:
        plot = entry.card.extra.get("reliability_plot")
        if plot and (entry.folder / plot).is_file():
            text += f"<h3>Calibration</h3><img src='{(entry.folder / plot).as_uri()}' width='420'>"
    if entry.error:
        text = f"<p style='color:#b00020'><b>Refused:</b> {html.escape(entry.error)}</p>" + text
    return text + f"<p><small>Folder: {html.escape(str(entry.folder))}</small></p>"


class HtmlDialog(QDialog):
    """A read-only page of text with a Close button (intended use, model cards)."""

    def __init__(self, title: str, text: str, parent: QWidget | None = None, size: tuple[int, int] = (760, 640)) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(*size)
        self.browser = QTextBrowser()
        self.browser.setHtml(text)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


def show_model_card(parent: QWidget, model: str, catalogue: ModelRegistry) -> QDialog | None:
    """Open (modeless) the card of ``model``; None when no such model folder exists."""
    entry = next((e for e in catalogue.entries() if e.name == model), None)
    if entry is None:
        return None
    dialog = HtmlDialog(f"Model card: {entry.card.title if entry.card else model}", entry_html(entry), parent)
    dialog.show()
    return dialog


class ModelCatalogDialog(QDialog):
    """Every bundled and user model, its status (refused ones with the reason) and its card."""

    def __init__(self, catalogue: ModelRegistry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.resize(900, 600)
        self.list = QListWidget()
        self.details = QTextBrowser()
        row = QHBoxLayout()
        row.addWidget(self.list, 1)
        row.addWidget(self.details, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.entries: list[ModelEntry] = catalogue.scan()  # hashes only weights changed since the start-up job
        for entry in self.entries:
            status = "" if entry.available else "  (refused)"
            item = QListWidgetItem(f"{entry.name}{status}")
            self.list.addItem(item)
        self.list.currentRowChanged.connect(self.show_entry)
        if self.entries:
            self.list.setCurrentRow(0)
        else:
            self.details.setHtml("<p>No models are installed. Bundled models live in <code>models/</code>; "
                                 "add your own folder (metadata.json + weights) to the user models folder.</p>")

    def show_entry(self, row: int) -> None:
        if row < 0:
            return
        self.details.setHtml(entry_html(self.entries[row]))


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.settings = settings
        form = QFormLayout(self)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda", "mps"])
        self.device.setCurrentText(settings.device)
        self.threads = QSpinBox()
        self.threads.setRange(0, max(os.cpu_count() or 1, 1))
        self.threads.setSpecialValueText("all cores")
        self.threads.setValue(settings.cpu_threads or 0)
        self.facility = QLineEdit(settings.facility_name)
        self.address = QLineEdit(settings.facility_address)
        self.clinician = QLineEdit(settings.clinician_name)
        self.user_name = QLineEdit(settings.user_name)
        self.user_name.setToolTip("Recorded in the audit trail beside the operating-system user")
        form.addRow("Compute device", self.device)
        form.addRow("CPU threads", self.threads)
        form.addRow("Facility name (report header)", self.facility)
        form.addRow("Facility address", self.address)
        form.addRow("Clinician", self.clinician)
        form.addRow("User name (audit trail)", self.user_name)
        self.node_section = NodeSettingsSection(settings.node)
        form.addRow(self.node_section)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def result_settings(self) -> Settings:
        return self.settings.model_copy(
            update={
                "device": self.device.currentText(),
                "cpu_threads": self.threads.value() or None,
                "facility_name": self.facility.text().strip(),
                "facility_address": self.address.text().strip(),
                "clinician_name": self.clinician.text().strip(),
                "user_name": self.user_name.text().strip(),
                "node": self.node_section.node_settings(),
            }
        )

    def accept(self) -> None:
        """Keep the dialog open, saying which field is wrong, until the node settings are valid."""
        from medassist.errors import InputError

        try:
            self.node_section.node_settings()
        except InputError as exc:
            QMessageBox.warning(self, "Preferences", str(exc))
            return
        super().accept()


class IntendedUseDialog(HtmlDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Intended use", INTENDED_USE, parent, size=(640, 480))


def about_text(version_of: Callable[[str], str]) -> str:
    libs = ["PySide6", "torch", "pydicom", "pyqtgraph", "pandas", "numpy", "reportlab", "captum"]
    versions = "".join(f"<li>{name} {version_of(name)}</li>" for name in libs)
    return (
        f"<h3>{APP_NAME} {__version__}</h3><p>Offline clinical decision support. No network access, "
        f"no telemetry: your files stay on this computer.</p>"
        f"<p>Nothing is sent to the internet, ever. DICOM on the hospital network only when an administrator "
        f"turns the DICOM node on (Settings &gt; Preferences); results go only to the PACS configured there.</p>"
        f"<p><i>{DECISION_SUPPORT_NOTICE}</i></p>"
        f"<p>Python {platform.python_version()} on {platform.system()} {platform.machine()}</p><ul>{versions}</ul>"
    )
