"""The Records tab shows the clinical picture (pytest-qt): the child's vitals against PALS bands with no
adult flags, the severe-CAP patient's scores, care setting and sepsis signs, the latest values flagged
for age and sex, and a picture that follows the clinician's confirmed findings."""

from __future__ import annotations

import pyqtgraph as pg
import pytest

from medassist.demo import build_demo
from medassist.session import Session
from medassist.ui.bridge import SessionBridge
from medassist.ui.context import AppContext
from medassist.ui.tabs.records_tab import RecordsTab
from medassist.ui.workers import JobRunner
from tests.services import cpu_services


@pytest.fixture(scope="module")
def demo():
    return build_demo()


@pytest.fixture()
def tab(qtbot, user_home, demo):
    session = Session(demo=True)
    runner = JobRunner(max_threads=1)
    context = AppContext(session=session, bridge=SessionBridge(session), runner=runner, services=cpu_services(),
                         show_message=lambda title, text: None)
    page = RecordsTab(context)
    qtbot.addWidget(page)
    page.resize(1400, 900)
    session.set_records(demo.records, ["demo"])
    qtbot.waitUntil(lambda: page.list_ready, timeout=20000)
    yield page
    runner.shutdown(5000)


def _bands(plot) -> list[tuple[float, float]]:
    return [tuple(b.getRegion()) for b in plot.getPlotItem().items if isinstance(b, pg.LinearRegionItem)]


def test_the_childs_vitals_are_drawn_and_flagged_for_her_age(tab):
    tab.session.set_current_patient("DEMO-02")
    panel = tab.panel
    assert "4 years" in panel.demographics.text()
    panel.select_observations(["respiratory_rate", "heart_rate"])
    bands = {plot.series.key: _bands(plot) for plot in panel.plots}
    assert bands == {"respiratory_rate": [(20.0, 28.0)], "heart_rate": [(80.0, 120.0)]}  # PALS preschool, not adult
    rr = next(p for p in panel.plots if p.series.key == "respiratory_rate")
    wellness = float(rr.ys[0])  # her wellness-visit rate, 22-26/min: inside 20-28, not flagged
    assert 20 <= wellness <= 28 and "PALS" in rr.toolTip()
    rows = {row[0]: row for row in panel.latest.cell_texts()}
    assert rows["Respiratory rate"][3].endswith("(PALS, 3-5 years)") and rows["Respiratory rate"][4] == "H"
    assert rows["White blood cells"][4] == "" and "no paediatric range" in rows["White blood cells"][3]
    page = panel.picture_view.toPlainText()
    assert "Age\t4 years" in page or "4 years" in page
    assert "CURB-65 not computed: CURB-65 is validated from 18 years" in page
    assert "No care setting suggested by the scores" in page


def test_the_severe_cap_patient_shows_scores_care_setting_and_sepsis_signs(tab):
    tab.session.set_current_patient("DEMO-21")
    panel = tab.panel
    page = panel.picture_view.toPlainText()
    for text in ("CURB-65 5 of 5", "qSOFA 3 of 3", "NEWS2 15 of 20", "PSI 173 points", "Sepsis signs",
                 "Suggested by the scores: severe", "Lim WS et al. Thorax 2003", "Urea > 7 mmol/L (BUN > 19.6 mg/dL): +1"):
        assert text in page, text
    rows = {row[0]: row for row in panel.latest.cell_texts()}
    assert rows["Respiratory rate"][4] == "H" and rows["Systolic blood pressure"][4] == "L"
    panel.select_observations(["systolic_bp"])
    assert _bands(panel.plots[0]) == [(90.0, 130.0)]  # adult


def test_the_picture_follows_a_confirmed_finding(tab):
    tab.session.set_current_patient("DEMO-21")
    assert "Pleural effusion (radiograph): missing" in tab.panel.picture_view.toPlainText()
    tab.session.confirm_finding("pleural_effusion", "DEMO-21")
    # PSI: 173 + pleural effusion 10 = 183; the clinician's finding is the evidence
    page = tab.panel.picture_view.toPlainText()
    assert "PSI 183 points" in page and "Pleural effusion: confirmed by the clinician" in page


def test_presentation_mode_hides_the_age_and_true_dates_in_the_picture(tab, demo):
    tab.context.services.change_settings(tab.context.settings.model_copy(update={"presentation_mode": True}))
    tab.session.set_current_patient("DEMO-21")
    panel = tab.panel
    page = panel.picture_view.toPlainText()
    assert "CURB-65 5 of 5" in page and "80-84 y" in page
    today = demo.records.for_patient("encounters", "DEMO-21")["start"].max().date().isoformat()
    assert "83 years" not in page and today not in page and "Severus" not in page
    assert all(today not in " ".join(row) for row in panel.latest.cell_texts())
