"""The Worklist tab: studies received by the DICOM node (or retrieved from PACS), most urgent
first, with the gate's verdict, each finding with its own probability and threshold, the
accession number, and what happened to the study's results (sent, or waiting in the retry queue
for a PACS that is down); opening a row loads the study into Images and its stored result into
Diagnosis.

The tab only shows the core's state (:class:`~medassist.hospital.store.StudyStore`) and starts
or stops the core's :class:`~medassist.hospital.service.HospitalNode`; it never talks DICOM itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from medassist.errors import MedAssistError
from medassist.hospital.outbox import Outbox, QueuedSend
from medassist.hospital.store import StudyStore
from medassist.hospital.worklist import FILTERS, matches, prediction_of, urgency
from medassist.ui.context import AppContext, TabKind
from medassist.ui.tabs.base import Tab
from medassist.ui.widgets.fitting import ColumnFitter, flow_row

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
POSITIVE_COLOUR = QColor("#b00020")
MUTED_COLOUR = QColor("#707070")
NODE_OFF_HINT = ("The DICOM node is off. An administrator turns it on in Settings > Preferences > DICOM node; "
                 "until then nothing is received over the network.")


class WorklistModel(QAbstractTableModel):
    """Worklist rows (plain dicts from the store) as a table; unread rows are bold."""

    COLUMNS = ("Urgency", "Patient", "Patient ID", "Accession", "Study date", "Received (UTC)", "Modality", "Status",
               "Input gate", "Findings", "Results", "From")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.entries: list[dict[str, Any]] = []
        self.results: dict[str, str] = {}  # study UID -> what happened to its results

    def set_entries(self, entries: list[dict[str, Any]], results: dict[str, str] | None = None) -> None:
        self.beginResetModel()
        self.entries = entries
        self.results = results or {}
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(self.entries)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        entry = self.entries[index.row()]
        column = self.COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(entry, column)
        if role == SORT_ROLE:
            if column == "Urgency":
                rank, probability = urgency(entry)
                return rank * 10.0 + probability
            return self._text(entry, column).lower()
        if role == Qt.ItemDataRole.FontRole and not entry["read"]:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole:
            if entry["status"] == "scored" and entry["positive"]:
                return POSITIVE_COLOUR
            if entry["status"] in ("refused", "error"):
                return MUTED_COLOUR
        if role == Qt.ItemDataRole.ToolTipRole:  # the cell's full text (a narrow column elides it), then why
            gate = entry["gate"]
            if column == "Findings" and entry["findings"]:
                return "\n".join(f"{f['text']} - {f['status']}" for f in entry["findings"])
            return "\n".join(filter(None, [self._text(entry, column), entry["error"] or (gate["reason"] if gate else None)]))
        return None

    def _text(self, entry: dict[str, Any], column: str) -> str:
        gate = entry["gate"]
        if column == "Urgency":
            if entry["status"] == "scored":
                return "POSITIVE" if entry["positive"] else "negative"
            return {"queued": "waiting", "scoring": "scoring", "received": "-", "kept": "-"}.get(entry["status"],
                                                                                                  entry["status"])
        if column == "Patient":
            return " = ".join(g.replace("^", " ").strip() for g in entry["patient_name"].split("=") if g) or "(no name)"
        if column == "Patient ID":
            return entry["patient_id"] or "-"
        if column == "Accession":
            return entry["accession_number"] or "-"
        if column == "Received (UTC)":
            return entry["received_at"][:19].replace("T", " ")
        if column == "Study date":
            date = entry["study_date"]
            return f"{date[:4]}-{date[4:6]}-{date[6:8]}" if len(date) == 8 else date or "-"
        if column == "Modality":
            return " ".join(filter(None, [entry["modality"], entry["view_position"]])) or "-"
        if column == "Status":
            return ("" if entry["read"] else "unread, ") + entry["status"]
        if column == "Input gate":
            return "-" if gate is None else ("accepted" if gate["accepted"] else "REFUSED")
        if column == "Findings":
            return "; ".join(f["text"] for f in entry["findings"]) or (entry["error"] or "-")
        if column == "Results":
            return self.results.get(entry["study_instance_uid"], "-")
        return entry["origin"]


class _NodeEvents(QObject):
    """Node callbacks arrive on network/worker threads; these signals bring them to the GUI thread."""

    changed = Signal()


class WorklistTab(Tab):
    title = "Worklist"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.empty.set_text("The worklist is empty", NODE_OFF_HINT)
        self.store: StudyStore | None = None
        self.node: Any = None  # HospitalNode while it runs
        self.all_entries: list[dict[str, Any]] = []
        self.results: dict[str, str] = {}
        self.events = _NodeEvents(self)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(300)
        self._refresh_timer.timeout.connect(self.refresh)
        self.events.changed.connect(self._refresh_timer.start)

        self.node_label = QLabel()
        self.node_label.setWordWrap(True)
        self.node_badge = QLabel()  # shown in the main window's status bar
        self.node_button = QPushButton("Start node")
        self.node_button.clicked.connect(self.toggle_node)
        self.query_button = QPushButton("Query PACS…")
        self.query_button.clicked.connect(self.query_pacs)
        self.folder_button = QPushButton("Score a folder…")
        self.folder_button.clicked.connect(lambda: self.score_folder())
        self.filter_box = QComboBox()
        for key, label in FILTERS.items():
            self.filter_box.addItem(label, key)
        self.filter_box.currentIndexChanged.connect(self.apply_filter)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter: patient, ID, accession number, finding…")
        self.search.setToolTip(self.search.placeholderText())  # a narrow box cuts the placeholder
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.apply_filter)

        self.model = WorklistModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # findings wrap
        columns = WorklistModel.COLUMNS
        # the findings (each with its number and threshold) take what is left and wrap; urgency, whose study it is
        # and the input gate's verdict always show; when the table is narrow the columns that say least about
        # urgency are hidden first (the study opened in Images / Diagnosis says them all)
        self.columns = ColumnFitter(self.table, stretch=columns.index("Findings"), optional=[columns.index(c) for c in (
            "Status", "Study date", "Modality", "Results", "Accession", "Received (UTC)", "From")], stretch_minimum=18,
            caps={columns.index("Patient"): 24, columns.index("Results"): 30, columns.index("From"): 20})
        self.table.doubleClicked.connect(lambda index: self.open_row(index.row()))

        self.open_button = QPushButton("Open in Images / Diagnosis")
        self.open_button.clicked.connect(lambda: self.open_row(self._selected_row()))
        self.read_button = QPushButton("Mark unread")
        self.read_button.clicked.connect(self.mark_unread)
        self.export_button = QPushButton("Export results (SR, AI map, PDF, FHIR)…")
        self.export_button.clicked.connect(self.export_selected)
        self.send_button = QPushButton("Send results to PACS")
        self.send_button.setToolTip("Issue the selected study's results and send what the PACS does not hold yet "
                                    "(a changed study gets a new SR version that supersedes the last)")
        self.send_button.clicked.connect(self.send_selected)
        self.queue_label = QLabel()
        self.queue_label.setWordWrap(True)
        self.retry_button = QPushButton("Retry now")
        self.retry_button.clicked.connect(self.retry_now)

        # rows of controls wrap under a narrow window instead of widening it
        header = flow_row(self.node_label, self.node_button, self.query_button, self.folder_button)
        filters = QHBoxLayout()
        filters.addWidget(self.filter_box)
        filters.addWidget(self.search, 1)
        actions = flow_row(self.open_button, self.read_button, self.send_button, self.export_button)
        queue = flow_row(self.queue_label, self.retry_button)
        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)
        layout.addLayout(queue)
        # the empty page keeps the node controls reachable
        self.empty.layout().addWidget(self._empty_controls())

        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop_node)
        if context.settings.node.enabled:
            self.start_node()
        self.refresh()

    def status_bar_widgets(self) -> list[QWidget]:
        return [self.node_badge]

    def _empty_controls(self) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.addStretch(1)
        self.empty_node_button = QPushButton("Start node")
        self.empty_node_button.clicked.connect(self.toggle_node)
        folder = QPushButton("Score a folder…")
        folder.clicked.connect(lambda: self.score_folder())
        layout.addWidget(self.empty_node_button)
        layout.addWidget(folder)
        layout.addStretch(1)
        return row

    # the node ---------------------------------------------------------------------------------
    def start_node(self) -> None:
        """Start the node with the saved settings (only when an administrator has turned it on)."""
        settings = self.context.settings.node
        if not settings.enabled:
            self.context.show_message("DICOM node is off", NODE_OFF_HINT)
            return
        from medassist.hospital.service import HospitalNode

        node = HospitalNode(settings, self.context.services,
                            on_stored=lambda _entry: self.events.changed.emit(),
                            on_scored=lambda _uid, _status: self.events.changed.emit(),
                            on_sent=self.events.changed.emit)
        try:
            node.start()
        except MedAssistError as exc:
            self.context.show_message("The DICOM node could not start", str(exc))
            return
        self.node, self.store = node, node.store
        self.refresh()

    def stop_node(self) -> None:
        if self.node is not None:
            self.node.stop()
            self.node = None
        self.refresh()

    def toggle_node(self) -> None:
        self.stop_node() if self.node is not None else self.start_node()

    # showing ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the worklist from the store (cheap: one SQLite query)."""
        if self.store is None:
            self.store = StudyStore()
        self.all_entries = self.store.entries()
        outbox = self._outbox()
        self.results = outbox.study_states()
        self._show_queue(outbox.queued())
        self.apply_filter()
        pending = sum(e["status"] in ("queued", "scoring") for e in self.all_entries)
        unread = sum(not e["read"] for e in self.all_entries)
        if self.node is not None:
            s = self.node.settings
            state = f"DICOM node listening as {s.ae_title} on {s.bind_address}:{self.node.port}"
            self.node_badge.setText(f"Node {s.ae_title}: {pending} waiting" if pending else f"Node {s.ae_title}: on")
        else:
            state = "DICOM node off" + ("" if self.context.settings.node.enabled else " (turned on in Settings)")
            self.node_badge.setText("")
        self.node_label.setText(f"{state}. {len(self.all_entries)} objects, {unread} unread, {pending} waiting to be scored.")
        for button in (self.node_button, self.empty_node_button):
            button.setText("Stop node" if self.node is not None else "Start node")
            button.setEnabled(self.node is not None or self.context.settings.node.enabled)
        self.empty.set_text("The worklist is empty",
                            "Waiting for studies: send them to "
                            f"{self.node.settings.ae_title} at {self.node.settings.bind_address}:{self.node.port}."
                            if self.node is not None else NODE_OFF_HINT)
        self.show_content(bool(self.all_entries))

    def _outbox(self) -> Outbox:
        """The running node's outbox (one lock for its retry worker and "Retry now"), else the store's."""
        if self.node is not None:
            return self.node.outbox
        assert self.store is not None
        return Outbox.of(self.context.settings.node, self.store)

    def _show_queue(self, queued: list[QueuedSend]) -> None:
        """The retry queue in one line: how many studies wait for which PACS, when the next try is, why."""
        if not queued:
            self.queue_label.setText("Retry queue: empty (every result sent was acknowledged).")
            self.retry_button.setEnabled(False)
            return
        first = queued[0]
        places = sorted({q.pacs.label for q in queued})
        self.queue_label.setText(
            f"Retry queue: {len(queued)} of at most {self.context.settings.node.retry_queue_limit} studies wait for "
            f"{', '.join(places)}; next try {first.next_attempt_at[11:19]} UTC (tries so far: {first.attempts}; last "
            f"error: {first.last_error}). " + ("The node retries them while it runs." if self.node is not None
                                               else "Start the node, or Retry now."))
        self.queue_label.setStyleSheet(f"color: {POSITIVE_COLOUR.name()}")
        self.retry_button.setEnabled(True)

    def apply_filter(self) -> None:
        which = self.filter_box.currentData() or "all"
        shown = [e for e in self.all_entries if matches(e, which, self.search.text())]
        self.model.set_entries(shown, self.results)
        self.columns.fit(remeasure=True)

    def _selected_row(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def entry_at(self, proxy_row: int) -> dict[str, Any] | None:
        if proxy_row < 0:
            return None
        source = self.proxy.mapToSource(self.proxy.index(proxy_row, 0))
        return self.model.entries[source.row()] if source.isValid() else None

    # actions ----------------------------------------------------------------------------------
    def open_row(self, proxy_row: int) -> None:
        """Load the object into Images (for its patient when the records know them) and its result into Diagnosis."""
        entry = self.entry_at(proxy_row)
        if entry is None:
            return
        from medassist.ui.actions import open_images

        session = self.session
        if entry["patient_id"] and session.records.has_patient(entry["patient_id"]):
            session.set_current_patient(entry["patient_id"])
        key = session.patient_key
        prediction = prediction_of(entry)
        if prediction is not None:
            prediction.patient_id = key
            session.add_prediction(prediction)
        open_images(self.context, entry["path"], patient_id=key)
        assert self.store is not None
        self.store.mark_read(entry["sop_instance_uid"])
        self.refresh()
        self.context.navigation.show_tab(TabKind.IMAGES)

    def mark_unread(self) -> None:
        entry = self.entry_at(self._selected_row())
        if entry is not None and self.store is not None:
            self.store.mark_read(entry["sop_instance_uid"], False)
            self.refresh()

    def export_selected(self) -> None:
        """SR, AI-map captures and FHIR report of the selected row's study; optionally sent to the PACS."""
        entry = self.entry_at(self._selected_row())
        if entry is not None:
            from medassist.ui.actions import export_study_results

            export_study_results(self.context, entry["study_instance_uid"], self)

    def send_selected(self) -> None:
        """Issue the selected study's results and send what the configured PACS does not hold yet."""
        entry = self.entry_at(self._selected_row())
        settings = self.context.settings.node
        if entry is None:
            return
        if settings.pacs is None:
            self.context.show_message("No PACS configured", "Set the PACS in Settings > Preferences > DICOM node.")
            return
        from medassist.hospital.fhir import FhirTargets
        from medassist.hospital.results import export_study

        assert self.store is not None
        store, outbox, study, context = self.store, self._outbox(), entry["study_instance_uid"], self.context

        def job():
            return (yield from export_study(store, study, outbox.results_dir(study), context.services,
                                            pacs=settings.pacs, calling_ae_title=settings.ae_title,
                                            targets=FhirTargets.of(settings), outbox=outbox,
                                            timeouts=settings.timeouts()))

        def done(exported) -> None:
            self.refresh()
            if exported.queued_for:
                self.context.show_message("Results NOT sent", f"{exported.send_error}\nThe study waits in the retry "
                                          f"queue for {exported.queued_for}.")
            else:
                self.context.show_message("Results sent", f"SR version {exported.version} is at {exported.sent_to}"
                                          + (f" ({exported.already_at_pacs} objects it already held were not sent "
                                             "again)." if exported.already_at_pacs else "."))

        self.context.runner.submit("Send results", job, on_result=done,
                                   on_error=lambda message: self.context.show_message("Could not send results", message))

    def retry_now(self) -> None:
        """Send everything in the retry queue now (a worker job)."""
        from medassist.jobs import single_step

        outbox, audit = self._outbox(), self.context.audit

        def done(result: tuple[int, int]) -> None:
            self.refresh()
            self.context.show_message("Retry queue", f"{result[0]} studies sent, {result[1]} still waiting.")

        self.context.runner.submit("Retry sending results", lambda: single_step(outbox.drain(audit, due_only=False)),
                                   on_result=done, on_error=lambda message: self.context.show_message("Retry failed",
                                                                                                      message))

    def score_folder(self, folder: str | None = None) -> None:
        """Run the batch engine of `medassist predict` over a folder; each image joins the worklist."""
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Folder of images to score")
            if not folder:
                return
        from medassist.hospital.folder import score_folder
        from medassist.domain.tasks import Task

        if self.store is None:
            self.store = StudyStore()
        store, context = self.store, self.context

        def job():
            models = context.catalogue.available(Task.IMAGE)
            if not models:
                raise MedAssistError("no image model is available")
            return (yield from score_folder(store, Path(folder), models[0].name, context.inference()))

        def done(counts: dict[str, int]) -> None:
            self.refresh()
            self.context.show_message("Folder scored", ", ".join(f"{n} {what}" for what, n in counts.items()))

        self.context.runner.submit(f"Score {Path(folder).name}", job, on_result=done,
                                   on_progress=lambda _f, _m: self._refresh_timer.start(),
                                   on_error=lambda message: self.context.show_message("Could not score the folder",
                                                                                      message))

    def query_pacs(self) -> None:
        """C-FIND the configured PACS for a patient's studies and C-MOVE the chosen one into the node."""
        settings = self.context.settings.node
        if settings.pacs is None:
            self.context.show_message("No PACS configured", "Set the PACS in Settings > Preferences > DICOM node.")
            return
        if self.node is None:
            self.context.show_message("DICOM node is not running", "Start the node first: retrieved studies arrive "
                                      "through it. " + ("" if settings.enabled else NODE_OFF_HINT))
            return
        patient_id, ok = QInputDialog.getText(self, "Query PACS",
                                              "Patient ID or accession number (empty: all studies)")
        if not ok:
            return
        key = patient_id.strip()
        from medassist.hospital import pacs as scu
        from medassist.jobs import single_step

        def found(matches) -> None:
            if not matches:
                self.context.show_message("Query PACS", f"No studies for patient or accession number '{key}'.")
                return
            labels = [f"{m.study_date} {m.modalities} {m.patient_name} - {m.study_description} "
                      f"(accession {m.accession_number or '-'}, {m.study_instance_uid})" for m in matches]
            choice, chosen = QInputDialog.getItem(self, "Retrieve a study", "Study to retrieve into the node", labels, 0,
                                                  False)
            if chosen:
                study = matches[labels.index(choice)].study_instance_uid
                self.context.runner.submit(
                    "Retrieve study", lambda: single_step(scu.move_study(settings.pacs, settings.ae_title, study,
                                                                         settings.ae_title, settings.timeouts())),
                    on_error=lambda message: self.context.show_message("Retrieve failed", message))

        def find() -> list:
            """By Patient ID, then (an order) by accession number; each study once."""
            assert settings.pacs is not None
            timeouts = settings.timeouts()
            found_studies = scu.find_studies(settings.pacs, settings.ae_title, key, timeouts=timeouts)
            if key:
                found_studies += scu.find_studies(settings.pacs, settings.ae_title, accession_number=key,
                                                  timeouts=timeouts)
            return list({m.study_instance_uid: m for m in found_studies}.values())

        self.context.runner.submit("Query PACS", lambda: single_step(find()), on_result=found,
                                   on_error=lambda message: self.context.show_message("Query failed", message))
