"""Qt model/view over the patient list: a table model reading precomputed arrays and a
filter proxy whose search and sort run vectorized in the core :class:`PatientList`.

QSortFilterProxyModel would sort by calling back into Python for every comparison (millions
of calls at 100,000 patients); here the proxy hands sorting to the source model, which
reorders rows with one NumPy argsort, and filters with one precomputed boolean mask.
"""

from __future__ import annotations

import functools

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor

from medassist.records.patient_list import COLUMNS, PatientList

PATIENT_ID_ROLE = Qt.ItemDataRole.UserRole + 1
_ALLERGY_COLUMN = COLUMNS.index("Allergies")
_ALLERGY_BRUSH = QBrush(QColor("#b00020"))
_DECEASED_BRUSH = QBrush(QColor("#7a7a7a"))

Index = QModelIndex | QPersistentModelIndex
_ROLES = frozenset({Qt.ItemDataRole.DisplayRole, PATIENT_ID_ROLE, Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.ToolTipRole})


class PatientTableModel(QAbstractTableModel):
    """One row per patient; row ``r`` shows patient ``order[r]`` of the :class:`PatientList`."""

    def __init__(self, patients: PatientList | None = None) -> None:
        super().__init__()
        self.patients = patients or empty_patient_list()
        self.order = np.arange(len(self.patients))
        self._row_of: dict[str, int] = {}
        self.presenting = False  # presentation mode: pseudonyms, name withheld, age bands (medassist.privacy)

    def set_presenting(self, presenting: bool) -> None:
        self.presenting = presenting
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, self.columnCount() - 1))

    def set_patients(self, patients: PatientList) -> None:
        self.beginResetModel()
        self.patients = patients
        self.order = np.arange(len(patients))
        self._row_of = {}
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(self.order)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if role not in _ROLES or not index.isValid():
            return None
        position = int(self.order[index.row()])
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (self.patients.presented(column) if self.presenting else self.patients.text[column])[position]
        if role == PATIENT_ID_ROLE:
            return self.patients.patient_ids[position]
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == _ALLERGY_COLUMN and self.patients.has_allergy[position]:
                return _ALLERGY_BRUSH
            if self.patients.deceased[position]:
                return _DECEASED_BRUSH
        if role == Qt.ItemDataRole.ToolTipRole:  # the full text where a narrow column elides it
            text = self.data(index, Qt.ItemDataRole.DisplayRole)
            return f"{text} (deceased)" if self.patients.deceased[position] else text or None
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Reorder rows by one vectorized sort, keeping selections on the same patients."""
        if not 0 <= column < len(COLUMNS) or not len(self.patients):
            return
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        positions = [int(self.order[i.row()]) for i in persistent]
        self.order = self.patients.order(column, descending=order == Qt.SortOrder.DescendingOrder)
        row_of_position = np.empty(len(self.order), dtype=np.int64)
        row_of_position[self.order] = np.arange(len(self.order))
        self.changePersistentIndexList(
            persistent, [self.index(int(row_of_position[p]), i.column()) for p, i in zip(positions, persistent, strict=True)]
        )
        self._row_of = {}
        self.layoutChanged.emit()

    def row_of(self, patient_id: str) -> int:
        """Current row of a patient, or -1."""
        if not self._row_of and len(self.order):
            self._row_of = {str(pid): row for row, pid in enumerate(self.patients.patient_ids[self.order])}
        return self._row_of.get(patient_id, -1)


class PatientFilterProxy(QSortFilterProxyModel):
    """Filters rows by name, ID or condition; sorting is delegated to the source model."""

    def __init__(self) -> None:
        super().__init__()
        self.query = ""
        self._accepted: np.ndarray | None = None
        self._model: PatientTableModel | None = None
        self.setDynamicSortFilter(False)

    def set_query(self, text: str) -> None:
        """Show only patients matching every word of ``text`` (empty: everyone)."""
        self.beginFilterChange()
        self.query = text.strip()
        self._recompute()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def setSourceModel(self, model: PatientTableModel) -> None:  # noqa: N802 (Qt API)
        super().setSourceModel(model)
        self._model = model
        model.modelAboutToBeReset.connect(self._forget)
        model.modelReset.connect(self._refilter)
        self._recompute()

    def _forget(self) -> None:
        self._accepted = None

    def _refilter(self) -> None:
        if self.query:
            self.beginFilterChange()
            self._recompute()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def _recompute(self) -> None:
        model = self.sourceModel()
        # indexed by patient position, so a re-sort of the source keeps it valid
        self._accepted = model.patients.matches(self.query) if model is not None and self.query else None

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:  # noqa: N802 (Qt API)
        if self._accepted is None:
            return True
        return bool(self._accepted[self._model.order[source_row]])

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        model = self.sourceModel()
        if model is not None:
            model.sort(column, order)

    def patient_id(self, proxy_row: int) -> str | None:
        if not 0 <= proxy_row < self.rowCount():
            return None
        return self.data(self.index(proxy_row, 0), PATIENT_ID_ROLE)

    def proxy_row_of(self, patient_id: str) -> int:
        model = self.sourceModel()
        source_row = model.row_of(patient_id) if model is not None else -1
        if source_row < 0:
            return -1
        return self.mapFromSource(model.index(source_row, 0)).row()


@functools.cache
def empty_patient_list() -> PatientList:
    """One shared empty list (it has no rows to change); start-up builds it in a worker."""
    from medassist.records.schema import PatientRecords

    return PatientList.build(PatientRecords())
