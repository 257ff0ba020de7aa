"""The Treatment tab: options grouped by the condition they treat (this visit's problems first),
the patient's current therapy, the ordering rule's parts per option, warnings in severity colours,
exclusions with reasons, questions for missing inputs, and the clinician's decision per option.

The plan is computed in a worker by the application layer (:func:`medassist.app.treatment.plan_treatment`)
for the clinician's confirmed findings; every option considered goes into the session as a decision
(:func:`~medassist.app.treatment.consider_plan`, pending until the clinician decides with
:func:`~medassist.app.treatment.decide`), where the report reads them.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from medassist import DECISION_SUPPORT_NOTICE
from medassist.app.treatment import DecisionNeedsComment, consider_plan, decide, plan_treatment
from medassist.domain import treatment_text as text
from medassist.domain.decisions import TreatmentDecision
from medassist.domain.treatment import CurrentTherapy, PillarStatus, Recommendation, SafetyWarning, TreatmentOption
from medassist.jobs import Job
from medassist.ui.context import AppContext
from medassist.ui.dialogs import show_model_card
from medassist.ui.presentation import apply_policy
from medassist.ui.tabs.base import Tab
from medassist.ui.widgets.fitting import ColumnFitter, FitScrollArea, VerticalScroll, flow_row, labelled, proportions
from medassist.ui.widgets.keyboard_safety import ChoiceCombo

# Background / text colours per severity: clear, distinct, readable (white or dark text).
SEVERITY_COLOURS: dict[str, tuple[str, str]] = {
    "contraindicated": ("#6a1b1b", "#ffffff"),
    "major": ("#c62828", "#ffffff"),
    "moderate": ("#ef8a00", "#1a1a1a"),
    "minor": ("#fff3bf", "#5c4a00"),
}
SETTING_CHOICES = (("Not stated", None), ("Outpatient", "outpatient"), ("Hospital ward", "inpatient"), ("Severe / ICU", "severe"))
DECISION_LABELS = {"accepted": "Accepted", "rejected": "Rejected", "modified": "Modified", "pending": ""}
OPTION_ROLE = Qt.ItemDataRole.UserRole
COLUMNS = ["#", "Option", "Warnings", "Decision", "Guideline line", "Safety", "Similarity"]
WARNING_COLUMN, DECISION_COLUMN = 2, 3


# Colours of what the plan does with a current drug, and of a pillar's status: red asks to stop, orange to change.
ACTION_COLOURS = {"stop": "#c62828", "hold": "#c62828", "dose": "#b35c00", "review": "#b35c00", "switch": "#1f4e79",
                  "titrate": "#1f4e79", "continue": "#1f4e79", "acute review": "#b35c00"}
PILLAR_COLOURS = {"in place": "#1f4e79", "start": "#1b5e20", "switch": "#1f4e79", "titrate": "#1f4e79", "review": "#b35c00",
                  "not now": "#b35c00", "excluded": "#6a1b1b", "undecided": "#b35c00", "not indicated": "#627d98"}


def severity_badge(severity: str, label: str | None = None) -> str:
    background, foreground = SEVERITY_COLOURS[severity]
    return (f'<span style="background:{background}; color:{foreground}; font-weight:bold; padding:1px 4px;">'
            f"&nbsp;{html.escape(label or severity.upper())}&nbsp;</span>")


def warning_html(warning: SafetyWarning) -> str:
    source = f'<br><span style="color:#627d98;">Source: {html.escape(warning.source)}</span>' if warning.source else ""
    badge = severity_badge(warning.severity, "NOT NOW" if warning.not_now else None)
    return f"<p>{badge} {html.escape(warning.message)}{source}</p>"


def option_html(option: TreatmentOption) -> str:
    """The detail pane for one option: status, place by the ordering rule, guideline and grade, dose, why, warnings."""
    parts = [f"<h3>{html.escape(option.label)}</h3>"]
    if option.excluded:
        label = "NOT NOW" if option.not_now else None
        parts.append(f"<p>{severity_badge('contraindicated', label)} <b>Not offered for this patient"
                     f"{' now' if option.not_now else ''}.</b></p>")
        parts += [f"<p>{html.escape(r)}</p>" for r in option.exclusion_reasons]
    else:
        parts.append(f"<p><b>Rank {option.rank}</b> &middot; {html.escape(option.condition)} &middot; "
                     f"{html.escape(text.ordering_text(option.ordering))}</p>")
        parts.append(f"<p><b>Status:</b> {html.escape(text.option_status(option))}</p>")
    parts.append(f"<p><b>Guideline:</b> {html.escape(text.option_grade(option))}</p>")
    parts.append(f"<p><b>Dose:</b> {html.escape(option.dose)}</p>")
    if option.dose_for_patient:
        parts.append(f"<p><b>For this patient:</b> {html.escape(option.dose_for_patient)}</p>")
    ingredients = ", ".join(f"{i['name']} (RxNorm {i['rxcui']})" if i["rxcui"] else i["name"] for i in option.ingredients) or "no drug"
    parts.append(f"<p><b>Ingredients:</b> {html.escape(ingredients)}</p>")
    parts.append("<p><b>Why</b></p><ul>" + "".join(f"<li>{html.escape(r)}</li>" for r in option.rationale) + "</ul>")
    if option.note:
        parts.append(f"<p><i>{html.escape(option.note)}</i></p>")
    if option.warnings:
        parts.append("<p><b>Warnings</b></p>" + "".join(warning_html(w) for w in option.warnings))
    parts.append("<p><b>Sources</b></p><ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in option.sources) + "</ul>")
    return "".join(parts)


def therapy_html(therapy: CurrentTherapy, result: Recommendation) -> str:
    """The detail pane for a drug the patient already takes: what it treats, what to do with it and why."""
    treats = [g.label for g in result.groups if therapy.option_id in g.current_therapy and g.condition_id != "other_medications"]
    colour = ACTION_COLOURS[therapy.action]
    parts = [f"<h3>{html.escape(therapy.label)}</h3>",
             f"<p><b>Plan:</b> <span style='color:{colour}; font-weight:bold;'>{html.escape(therapy.plan)}</span>. "
             "Not offered again as a new option.</p>",
             f"<p><b>Treats:</b> {html.escape(', '.join(treats) or 'no condition in the treatment tables')}</p>"]
    if therapy.warnings:
        parts.append("<p><b>Problems found</b></p>" + "".join(warning_html(w) for w in therapy.warnings))
    else:
        parts.append("<p>No interaction, kidney, potassium, older-adult or pregnancy problem found in the tables "
                     "(which are not exhaustive).</p>")
    parts.append(f"<p style='color:#627d98;'>{html.escape(text.therapy_decision_hint(therapy.action))}</p>")
    return "".join(parts)


class WrappingDelegate(QStyledItemDelegate):
    """Rows as tall as their wrapped text at the column's width, so a long drug name wraps instead of being cut
    (Qt's default size hint ignores the column width); the full text is also each row's tooltip."""

    def __init__(self, tree: QTreeWidget) -> None:
        super().__init__(tree)
        self.tree = tree

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        said = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        spanned = index.column() == 0 and not index.parent().isValid()  # a condition's heading spans the row
        column = self.tree.viewport().width() if spanned else self.tree.columnWidth(index.column())
        width = column - 8 - (self.tree.indentation() if index.column() == 0 else 0)
        if not said or width <= 20:
            return hint
        font = QFont(option.font)  # type: ignore[attr-defined]
        role_font = index.data(Qt.ItemDataRole.FontRole)
        if role_font is not None:  # a heading's bold over the view's size (presentation mode's large type too)
            font = QFont(role_font).resolve(font)
        wrapped = QFontMetrics(font).boundingRect(QRect(0, 0, width, 10_000), int(Qt.TextFlag.TextWordWrap), said)
        return QSize(hint.width(), max(hint.height(), wrapped.height() + 4))


class TreatmentTab(Tab):
    title = "Treatment"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.empty.set_text(
            "No treatment options yet",
            "Select a patient with a confirmed finding or a problem list; options, warnings and exclusions appear here for review.",
        )
        self.result: Recommendation | None = None
        self._request = 0
        self._computed_findings: tuple[str, ...] = ()
        self._build()
        context.bridge.decisions_changed.connect(self._on_decisions_changed)
        context.bridge.records_changed.connect(lambda: self.refresh())
        self.on_patient_changed(self.session.current_patient_id)

    # layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self.content)
        self.notice = QLabel(DECISION_SUPPORT_NOTICE)
        self.notice.setObjectName("decisionSupport")
        self.notice.setWordWrap(True)
        layout.addWidget(self.notice)

        self.setting = ChoiceCombo()  # changes only by a pick from its list, never by a navigation key
        for shown, value in SETTING_CHOICES:
            self.setting.addItem(shown, value)
        self.setting.currentIndexChanged.connect(lambda _i: self.refresh())
        self.use_model = QCheckBox("Break ties with learned recommender")
        self.use_model.setChecked(True)
        self.use_model.toggled.connect(lambda _on: self.refresh())
        self.card_button = QPushButton("Model card and limits...")
        self.card_button.clicked.connect(self._show_model_card)
        self.refresh_button = QPushButton("Recompute")
        self.refresh_button.clicked.connect(self.refresh)
        self.status = QLabel("")
        layout.addLayout(flow_row(labelled("Care setting:", self.setting), self.use_model, self.card_button,
                                  self.refresh_button, self.status))

        # The care setting, the scores and the alerts above the plan: as tall as they need while there is room,
        # scrolled (never cut) when the window is short, so the plan keeps its share of a 1024x700 window.
        info = QWidget()
        info_layout = QVBoxLayout(info)
        info_layout.setContentsMargins(0, 0, 0, 0)
        self.conditions = QLabel("")
        self.conditions.setWordWrap(True)
        self.conditions.setTextFormat(Qt.TextFormat.RichText)
        info_layout.addWidget(self.conditions)
        self.alerts = QLabel("")
        self.alerts.setWordWrap(True)
        self.alerts.setTextFormat(Qt.TextFormat.RichText)
        self.alerts.setStyleSheet("QLabel { background:#fdecea; border:1px solid #c62828; padding:4px; }")
        info_layout.addWidget(self.alerts)
        self.notes_label = QLabel("")
        self.notes_label.setWordWrap(True)
        self.notes_label.setTextFormat(Qt.TextFormat.RichText)
        info_layout.addWidget(self.notes_label)
        self.info = FitScrollArea(info, share=0.15)
        layout.addWidget(self.info)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setWordWrap(True)  # long drug names wrap at 1024 px; the full text is in each row's tooltip
        self.tree.setUniformRowHeights(False)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.tree.setItemDelegate(WrappingDelegate(self.tree))
        self.tree.header().sectionResized.connect(lambda *_: self.tree.doItemsLayout())
        # the option takes the width the other columns leave and wraps; its rank and warnings always show; the
        # decision and ordering columns are hidden in turn when the tree is narrow (each option's tooltip and
        # the detail pane still say them)
        self.columns = ColumnFitter(self.tree, stretch=1, optional=[DECISION_COLUMN, 4, 5, 6],
                                    stretch_minimum=14, caps={0: 3, 4: 14, 5: 14})
        self.tree.setRootIsDecorated(True)
        self.tree.setIndentation(14)
        self.tree.setAlternatingRowColors(True)
        self.tree.currentItemChanged.connect(lambda current, _previous: self._show_option(current))
        splitter.addWidget(self.tree)

        self.detail = QTextBrowser()
        self.detail.setOpenExternalLinks(False)
        splitter.addWidget(self.detail)
        proportions(splitter, 3, 2)

        # The decision on the selected option, under the plan across its whole width: the comment box takes what
        # the buttons leave (never squeezed to "Comment (..." beside them) and the row wraps when narrow.
        self.comment = QLineEdit()
        self.comment.setPlaceholderText("Comment (required to modify: say what you changed)")
        self.comment.setToolTip(self.comment.placeholderText())
        self.accept_button = QPushButton("Accept")
        self.reject_button = QPushButton("Reject")
        self.modify_button = QPushButton("Modify")
        for button, status in ((self.accept_button, "accepted"), (self.reject_button, "rejected"), (self.modify_button, "modified")):
            button.clicked.connect(lambda _checked=False, s=status: self.decide(s))
        plan = QWidget()
        plan_layout = QVBoxLayout(plan)
        plan_layout.setContentsMargins(0, 0, 0, 0)
        plan_layout.addWidget(splitter, 1)
        plan_layout.addLayout(flow_row(self.comment, self.accept_button, self.reject_button, self.modify_button))

        # Missing inputs and the ordering rule sit under the plan in a panel the clinician can shrink or scroll,
        # so the plan keeps most of a 1024x700 window.
        below = QWidget()
        below_layout = QVBoxLayout(below)
        below_layout.setContentsMargins(0, 0, 0, 0)
        self.questions = QLabel("")
        self.questions.setWordWrap(True)
        self.questions.setTextFormat(Qt.TextFormat.RichText)
        below_layout.addWidget(self.questions)
        self.rule = QLabel("")
        self.rule.setWordWrap(True)
        self.rule.setTextFormat(Qt.TextFormat.RichText)
        below_layout.addWidget(self.rule)
        below_layout.addStretch(1)
        scroll = VerticalScroll(below)
        vertical = QSplitter(Qt.Orientation.Vertical)
        vertical.addWidget(plan)
        vertical.addWidget(scroll)
        proportions(vertical, 5, 1)
        layout.addWidget(vertical, 1)
        self._set_decision_enabled(False)

    # computing -----------------------------------------------------------------------------
    def on_patient_changed(self, patient_id: str | None) -> None:
        self.result = None
        self.tree.clear()
        self.detail.clear()
        if patient_id is None:
            self.show_content(False)
            return
        self.refresh()

    def refresh(self) -> None:
        """Recompute the recommendation for the current patient in a worker."""
        patient_id = self.session.current_patient_id
        if patient_id is None or not self.session.records.has_patient(patient_id):
            self.show_content(False)
            return
        self._request += 1
        request = self._request
        session = self.session
        findings = list(self.session.confirmed_findings.get(patient_id, []))
        self._computed_findings = tuple(findings)
        setting = self.setting.currentData()
        use_model = self.use_model.isChecked()
        context = self.context
        self.status.setText("Computing options...")

        def make_job() -> Job[Recommendation]:
            service = context.inference() if use_model else None
            return plan_treatment(session, patient_id, findings, service, context.audit, setting)

        self.context.runner.submit(
            "Treatment options", make_job,
            on_result=lambda result: self._on_result(request, result),
            on_error=lambda message: self._on_error(request, message),
        )

    def _on_error(self, request: int, message: str) -> None:
        if request == self._request:
            self.status.setText("Could not compute options")
            self.context.show_message("Treatment options failed", message)

    def _on_result(self, request: int, result: Recommendation) -> None:
        if request != self._request or result.patient_id != self.session.current_patient_id:
            return
        self.show_recommendation(result)

    # showing ---------------------------------------------------------------------------------
    def show_recommendation(self, result: Recommendation) -> None:
        self.result = result
        self.show_content(True)
        consider_plan(self.session, result)
        self.status.setText(f"{len(result.options)} options, {len(result.excluded)} excluded, "
                            f"{len(result.current_therapy)} current drugs")
        model = "" if result.model is None else f"   |   tie-break: {result.model['name']} {result.model['version']}"
        setting = html.escape(result.setting_note)
        if result.setting_source == "suggested":  # never silently assumed: shown in orange until the clinician confirms
            setting = f"<span style='color:#b35c00; font-weight:bold;'>{setting}</span>"
        scores = "".join(f"<br><b>Score:</b> {html.escape(text.score_line(s))}" for s in result.scores)
        self.conditions.setText(f"<b>Care setting in use:</b> {setting}{html.escape(model)}{scores}")
        self.alerts.setText("".join(f"<p><b>Beyond the options shown.</b> {html.escape(a)}</p>" for a in result.alerts))
        self.alerts.setVisible(bool(result.alerts))
        # Problems with current drugs are shown on each current-therapy row; here only general notes.
        self.notes_label.setText("".join(f"<p style='color:#486581;'>{html.escape(n)}</p>" for n in result.notes))
        self.notes_label.setVisible(bool(result.notes))
        self.tree.clear()
        first: QTreeWidgetItem | None = None
        for group in result.groups:
            heading = text.group_heading(group.label, group.role, group.plan)
            header = QTreeWidgetItem([heading])
            font = header.font(0)
            font.setBold(True)
            header.setFont(0, font)
            header.setToolTip(0, "\n".join([heading, f"From: {group.evidence}", *group.findings]))
            self.tree.addTopLevelItem(header)
            header.setFirstColumnSpanned(True)
            if group.findings:
                header.addChild(self._note_item("Read: " + "; ".join(group.findings), "#486581"))
            for pillar in group.pillars:
                header.addChild(self._pillar_item(pillar))
            for option_id in group.current_therapy:
                header.addChild(self._therapy_item(result.item(option_id)))
            for option_id in group.options + group.excluded:
                item = self._option_item(result.option(option_id), ranked_by_model=result.model is not None)
                header.addChild(item)
                first = first or item
            for reason in group.not_offered:
                header.addChild(self._note_item(f"Not offered: {reason}", "#627d98"))
            header.setExpanded(True)
        self._add_earlier_decisions(result)
        self.columns.fit(remeasure=True)
        if result.questions:
            self.questions.setText(
                "<b>Missing inputs that matter:</b><ul style='margin:0;'>"
                + "".join(f"<li>{html.escape(q)}</li>" for q in result.questions) + "</ul>"
            )
        else:
            self.questions.setText("")
        ranker = f"<br><b>Learned recommender:</b> {html.escape(result.ranker_note)}" if result.ranker_note else ""
        self.rule.setText(f"<span style='color:#334e68;'><b>How options are ordered:</b> {html.escape(result.ordering_rule)}{ranker}"
                          f"<br><b>Interactions:</b> {html.escape(result.interaction_table)}</span>")
        self._refresh_decisions()
        shown = self.context.shown()  # presentation mode: ages banded, dates shifted in every text shown
        for widget in (self.tree, self.status, self.conditions, self.alerts, self.notes_label, self.questions, self.rule):
            apply_policy(widget, shown)
        self.info.updateGeometry()  # its height follows the new text
        if first is not None:
            self.tree.setCurrentItem(first)

    def _add_earlier_decisions(self, result: Recommendation) -> None:
        """Decisions made on options the current plan no longer shows (e.g. before the setting changed): kept, listed."""
        shown = {o.option_id for o in result.options + result.excluded} | {t.option_id for t in result.current_therapy}
        earlier = [d for d in self._decisions().values() if d.status != "pending" and d.option_id not in shown]
        if not earlier:
            return
        header = QTreeWidgetItem(["Decided earlier, not in the current plan (kept for the report)"])
        self.tree.addTopLevelItem(header)
        header.setFirstColumnSpanned(True)
        for decision in earlier:
            item = QTreeWidgetItem(["", decision.label, "", DECISION_LABELS.get(decision.status, ""),
                                    str(decision.detail.get("line", "")).replace("_", " "), "", ""])
            item.setData(0, OPTION_ROLE, decision.option_id)
            header.addChild(item)
        header.setExpanded(True)

    @staticmethod
    def _note_item(said: str, colour: str) -> QTreeWidgetItem:
        """A line under a condition that is not an option (what was read, why an option was not offered)."""
        item = QTreeWidgetItem(["", said])
        item.setForeground(1, QBrush(QColor(colour)))
        item.setToolTip(1, said)
        item.setFirstColumnSpanned(False)
        return item

    @staticmethod
    def _pillar_item(pillar: PillarStatus) -> QTreeWidgetItem:
        said = text.pillar_line(pillar)
        item = QTreeWidgetItem(["", said, "", "", pillar.status])
        item.setToolTip(1, said)
        item.setToolTip(4, said)
        font = item.font(1)
        font.setItalic(True)
        item.setFont(1, font)
        colour = QBrush(QColor(PILLAR_COLOURS[pillar.status]))
        item.setForeground(1, colour)
        item.setForeground(4, colour)
        return item

    def _therapy_item(self, therapy: CurrentTherapy) -> QTreeWidgetItem:
        severity = therapy.worst_severity
        item = QTreeWidgetItem(["", therapy.label, "" if severity is None else f"{severity} ({len(therapy.warnings)})", "",
                                "current: " + text.ACTION_WORDS[therapy.action], "", ""])
        item.setToolTip(4, therapy.plan)
        item.setForeground(4, QBrush(QColor(ACTION_COLOURS[therapy.action])))
        item.setData(0, OPTION_ROLE, therapy.option_id)
        item.setToolTip(1, therapy.label)
        item.setForeground(1, QBrush(QColor("#1f4e79")))
        self._colour_warning(item, severity)
        return item

    def _option_item(self, option: TreatmentOption, ranked_by_model: bool) -> QTreeWidgetItem:
        severity = "contraindicated" if option.excluded else option.worst_severity
        warning_text = "" if severity is None else f"{severity} ({len(option.warnings)})"
        ordering = option.ordering
        safety = option.action if option.excluded else "MAJOR: placed below" if ordering.major_warning else "no major warning"
        similarity = ("" if option.excluded or not ranked_by_model else
                      "not known" if ordering.similarity is None else f"{ordering.similarity:.2f}")
        item = QTreeWidgetItem([
            "" if option.rank is None else str(option.rank), option.label, warning_text, "",
            option.line.replace("_", " ").replace("conditional", "stated circumstances"), safety, similarity,
        ])
        item.setData(0, OPTION_ROLE, option.option_id)
        order = option.action if option.excluded else text.ordering_text(ordering)  # also where narrow columns hide it
        item.setToolTip(1, f"{option.label}\n{text.option_status(option)}\n{order}")
        item.setToolTip(4, text.option_grade(option))
        self._colour_warning(item, severity)
        if ordering.major_warning and not option.excluded:
            item.setForeground(5, QBrush(QColor(SEVERITY_COLOURS["major"][0])))
        if option.excluded:
            item.setForeground(1, QBrush(QColor("#6a1b1b")))
        return item

    @staticmethod
    def _colour_warning(item: QTreeWidgetItem, severity: str | None) -> None:
        if severity is not None:
            background, foreground = SEVERITY_COLOURS[severity]
            item.setBackground(WARNING_COLUMN, QBrush(QColor(background)))
            item.setForeground(WARNING_COLUMN, QBrush(QColor(foreground)))

    def _option_for(self, item: QTreeWidgetItem | None) -> TreatmentOption | CurrentTherapy | None:
        if item is None or self.result is None:
            return None
        option_id = item.data(0, OPTION_ROLE)
        try:
            return self.result.item(option_id) if option_id else None
        except KeyError:  # decided earlier, not in the current plan
            return None

    def _show_option(self, item: QTreeWidgetItem | None) -> None:
        option = self._option_for(item)
        self._set_decision_enabled(option is not None)
        if option is None or self.result is None:
            self.detail.clear()
            return
        decision = self._decisions().get(option.option_id)
        self.comment.setText(decision.comment if decision else "")
        self.detail.setHtml(option_html(option) if isinstance(option, TreatmentOption) else therapy_html(option, self.result))
        apply_policy(self.detail, self.context.shown())

    # decisions -------------------------------------------------------------------------------
    def _decisions(self) -> dict[str, TreatmentDecision]:
        return {d.option_id: d for d in self.session.current_decisions()}

    def _set_decision_enabled(self, enabled: bool) -> None:
        for widget in (self.comment, self.accept_button, self.reject_button, self.modify_button):
            widget.setEnabled(enabled)

    def decide(self, status: str) -> None:
        """Record the clinician's verdict on the selected option in the session."""
        option = self._option_for(self.tree.currentItem())
        if option is None or self.result is None:
            return
        try:
            decide(self.session, self.context.audit, self.result, option, status, self.comment.text())
        except DecisionNeedsComment as needed:
            self.context.show_message(needed.title, needed.reason)

    def _on_decisions_changed(self, patient_id: str) -> None:
        if patient_id != self.session.current_patient_id:
            return
        findings = tuple(self.session.confirmed_findings.get(patient_id, []))
        if findings != self._computed_findings:
            self.refresh()
        else:
            self._refresh_decisions()

    def _refresh_decisions(self) -> None:
        decisions = self._decisions()
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            for c in range(group.childCount()):
                item = group.child(c)
                if not item.data(0, OPTION_ROLE):
                    continue
                decision = decisions.get(item.data(0, OPTION_ROLE))
                item.setText(DECISION_COLUMN, DECISION_LABELS.get(decision.status, "") if decision else "")

    def _show_model_card(self) -> None:
        from medassist.recommend.features import MODEL_NAME

        dialog = show_model_card(self, MODEL_NAME, self.context.catalogue)
        if dialog is None:
            self.context.show_message("Model card", f"The learned recommender ({MODEL_NAME}) is not installed; "
                                                    "options use the guideline rules only.")
            return
        self._card_dialog = dialog
