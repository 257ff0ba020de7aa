"""A searchable tree of every DICOM element of the shown image (sequences expand)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLineEdit, QTreeWidget, QTreeWidgetItem, QTreeWidgetItemIterator, QVBoxLayout, QWidget

from medassist.imaging.image import MedicalImage
from medassist.privacy import WITHHELD, ShownPolicy, dicom_element_withheld
from medassist.ui.widgets.fitting import ColumnFitter

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

MAX_VALUE_CHARS = 200


def _value_text(element) -> str:
    if element.VR in ("OB", "OW", "OF", "OD", "OL", "OV", "UN") and isinstance(element.value, (bytes, bytearray)):
        return f"<{len(element.value)} bytes>"
    text = str(element.value)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


class DicomTagBrowser(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.shown: ShownPolicy | None = None  # presentation mode: the header through the confidentiality profile
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search tags: name, keyword, (gggg,eeee) or value")
        self.search.setToolTip(self.search.placeholderText())  # a narrow box cuts the placeholder
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.apply_filter)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Tag", "Name", "VR", "Value"])
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        # the value takes what the tag, VR and name leave (long names elided) and stays in view at any width;
        # a narrow browser hides the name, the tag and the VR in turn (each cell's tooltip holds the whole row)
        self.columns = ColumnFitter(self.tree, stretch=3, optional=[1, 0, 2], stretch_minimum=10, caps={1: 22})
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)

    def show_image(self, image: MedicalImage | None) -> None:
        self.tree.clear()
        if image is None:
            return
        dataset = image.metadata.get("dataset")
        presenting = self.shown is not None and self.shown.presenting
        # a DICOM header exists only if its loader imported pydicom; the window never imports it itself
        pydicom_dataset = sys.modules.get("pydicom.dataset")
        if pydicom_dataset is not None and isinstance(dataset, pydicom_dataset.Dataset):
            if presenting:
                dataset = self.shown.dicom(dataset)
            meta = getattr(dataset, "file_meta", None)
            if meta is not None and len(meta):
                group = QTreeWidgetItem(self.tree, ["", "File meta information", "", ""])
                self._add(group, meta)
            self._add(self.tree.invisibleRootItem(), dataset)
        else:
            for key, value in image.describe().items():
                withheld = presenting and dicom_element_withheld(key, "")
                QTreeWidgetItem(self.tree, ["", key, "", WITHHELD if withheld else str(value)])
        items = QTreeWidgetItemIterator(self.tree)
        while items.value() is not None:
            item = items.value()
            whole = " \u00b7 ".join(text for text in (item.text(c) for c in range(4)) if text)
            for column in range(4):  # the whole row: a narrow browser hides the tag, name and VR columns
                item.setToolTip(column, whole)
            items += 1
        self.columns.fit(remeasure=True)
        self.apply_filter(self.search.text())

    def _add(self, parent: QTreeWidgetItem, dataset: Dataset) -> None:
        for element in dataset:
            tag = f"({element.tag.group:04X},{element.tag.element:04X})"
            if element.VR == "SQ":
                node = QTreeWidgetItem(parent, [tag, element.name, "SQ", f"{len(element.value)} item(s)"])
                for number, item in enumerate(element.value, start=1):
                    child = QTreeWidgetItem(node, ["", f"Item {number}", "", ""])
                    self._add(child, item)
            else:
                QTreeWidgetItem(parent, [tag, element.name, str(element.VR), _value_text(element)])

    def apply_filter(self, text: str) -> None:
        """Show elements whose tag, name or value contains ``text`` (with their parents)."""
        needle = text.strip().lower()

        def visit(item: QTreeWidgetItem) -> bool:
            own = not needle or any(needle in item.text(c).lower() for c in range(4))
            children = [visit(item.child(i)) for i in range(item.childCount())]
            visible = own or any(children)
            item.setHidden(not visible)
            if needle and any(children):
                item.setExpanded(True)
            return visible

        root = self.tree.invisibleRootItem()
        for i in range(root.childCount()):
            visit(root.child(i))

    def visible_rows(self) -> list[str]:
        """Names of the top-level elements left visible (the search's result)."""
        root = self.tree.invisibleRootItem()
        return [root.child(i).text(1) for i in range(root.childCount()) if not root.child(i).isHidden()]
