"""Dialogs of the records workflow: the import report (readable, savable as text) and the
column mapping asked for a plain patient table before it is imported."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from medassist.atomic import atomic_write_text
from medassist.records.schema import ImportReport
from medassist.records.table import (
    FIELDS,
    REQUIRED_FIELDS,
    RememberedMappings,
    guess_mapping,
    layout_key,
    remembered_mapping,
    table_columns,
)

NOT_IN_FILE = "(not in this file)"


def report_text(report: ImportReport, sources: list[str]) -> str:
    """The import report as the user reads and saves it."""
    heading = "MedAssist import report\n" + "".join(f"Source: {s}\n" for s in sources)
    errors = len(report.errors)
    summary = f"{len(report.problems)} problem(s), {errors} file(s) or resource(s) unusable\n\n"
    return heading + summary + report.as_text()


class ImportReportDialog(QDialog):
    """Every problem of the last import, with a Save button for the text."""

    def __init__(self, report: ImportReport, sources: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import report")
        self.resize(900, 520)
        self.text = QPlainTextEdit(report_text(report, sources))
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFont("monospace"))
        save = QPushButton("Save as text...")
        save.clicked.connect(self.save_dialog)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(save, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)

    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save import report", "import-report.txt", "Text (*.txt)")
        if path:
            self.save(Path(path))

    def save(self, path: Path) -> None:
        atomic_write_text(path, self.text.toPlainText())


class ColumnMappingDialog(QDialog):
    """Which column holds the patient ID, name, birth date, sex... with a preview of the rows."""

    def __init__(self, path: Path, columns: list[str], preview: pd.DataFrame, mapping: dict[str, str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Columns of {path.name}")
        self.resize(820, 560)
        self.columns = columns
        intro = QLabel("Choose which column holds each item. Your choice is remembered for files with the same columns.")
        intro.setWordWrap(True)
        form = QFormLayout()
        self.boxes: dict[str, QComboBox] = {}
        for field_name, (label, _synonyms) in FIELDS.items():
            box = QComboBox()
            box.addItem(NOT_IN_FILE)
            box.addItems(columns)
            if field_name in mapping:
                box.setCurrentText(mapping[field_name])
            box.currentIndexChanged.connect(self._update_ok)
            self.boxes[field_name] = box
            form.addRow(label + (" *" if field_name in REQUIRED_FIELDS else ""), box)
        table = QTableWidget(len(preview), len(columns))
        table.setHorizontalHeaderLabels(columns)
        for r in range(len(preview)):
            for c, column in enumerate(columns):
                value = preview.iloc[r][column]
                table.setItem(r, c, QTableWidgetItem("" if pd.isna(value) else str(value)))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(QLabel(f"First {len(preview)} rows:"))
        layout.addWidget(table, 1)
        layout.addWidget(self.buttons)
        self._update_ok()

    def mapping(self) -> dict[str, str]:
        return {f: box.currentText() for f, box in self.boxes.items() if box.currentText() != NOT_IN_FILE}

    def _update_ok(self) -> None:
        ok = all(f in self.mapping() for f in REQUIRED_FIELDS)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)


def ask_column_mapping(path: str | Path, remembered: RememberedMappings,
                       parent: QWidget | None = None) -> tuple[str, dict[str, str]] | None:
    """Ask (on the GUI thread) how to read a plain table, starting from the mapping ``remembered``
    for its layout; the file's layout and the mapping confirmed, or None if cancelled.

    Raises :class:`~medassist.errors.InputError` when the file cannot be read at all.
    """
    path = Path(path)
    columns, preview = table_columns(path)
    initial = remembered_mapping(columns, remembered) or guess_mapping(columns)
    dialog = ColumnMappingDialog(path, columns, preview, initial, parent or QApplication.activeWindow())
    if not dialog.exec():
        return None
    return layout_key(columns), dialog.mapping()
