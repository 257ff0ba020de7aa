"""The report's "Clinical picture and scores" section: right after the findings, with the scores,
care setting and sepsis signs of the use case; de-identified, its dates shift and ages become bands."""

from __future__ import annotations

import datetime as dt
import re

import pypdf
import pytest

from medassist.app.picture import clinical_picture
from medassist.demo import build_demo
from medassist.reporting.content import collect_report
from medassist.reporting.deidentify import deidentify
from medassist.reporting.pdf import render_pdf
from medassist.session import Session
from medassist.settings import Settings

NOW = dt.datetime(2026, 12, 7, 15, 0)


@pytest.fixture(scope="module")
def session():
    demo = build_demo(today=NOW.date())
    session = Session(demo=True)
    session.set_records(demo.records)
    return session


def _content(session: Session, patient_id: str):
    picture = clinical_picture(session, patient_id, on=NOW.date())
    return collect_report(session, patient_id, cards={}, now=NOW, picture=picture, settings=Settings())


def _text(data: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    return re.sub(r"\s+", " ", "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(path).pages))


def test_the_section_follows_the_findings_with_scores_setting_and_sepsis_signs(session, tmp_path):
    content = _content(session, "DEMO-21")
    block = content.picture
    assert block is not None and block.age_text == "83 years"
    # CURB-65 5 (confusion, urea 11.4 mmol/L, RR 32, SBP 88, age 83); PSI 173 (see tests/clinical)
    assert [s.name for s in block.scores][:2] == ["CURB-65", "PSI"]
    assert block.scores[0].sentence.startswith("CURB-65 5 of 5: high severity")
    assert block.care_setting.startswith("Suggested by the scores: severe")
    text = _text(render_pdf(content), tmp_path)
    findings, picture = text.index("Findings"), text.index("Clinical picture and scores")
    assert findings < picture
    for words in ("CURB-65 5 of 5", "qSOFA 3 of 3", "NEWS2 15 of 20", "Sepsis signs", "Lim WS et al. Thorax 2003"):
        assert words in text, words


def test_the_de_identified_section_shifts_dates_and_bands_the_age(session, tmp_path):
    content = deidentify(_content(session, "DEMO-21"))
    block = content.picture
    assert block is not None and block.rows[0].text == "80-84 years"
    written = " ".join([r.text for r in block.rows] + [i for s in block.scores for i in s.items] + block.facts)
    assert "2026-12-07" not in written and "83 years" not in written and "+83" not in written
    psi_age = next(s for s in block.scores if s.name == "PSI").items[0]
    assert psi_age == "Age (men: years): 80-84 years"
    assert "Severus" not in _text(render_pdf(content), tmp_path)


def test_a_report_without_records_has_no_picture_section(session, tmp_path):
    content = collect_report(Session(), "nobody", cards={}, now=NOW, settings=Settings())
    assert content.picture is None and "Clinical picture" not in _text(render_pdf(content), tmp_path)


def test_the_childs_flags_use_her_age_bands(session):
    block = _content(session, "DEMO-02").picture
    assert block is not None and block.age_text.startswith("4 years")
    rr = next(line for line in block.flags if " Respiratory rate " in line)
    # her ED rate, 36-42/min, is above the PALS preschool band 20-28
    assert rr.startswith("H Respiratory rate") and "20-28/min" in rr and "PALS" in rr
    assert all("adult reference)" not in line for line in block.flags if "rate" in line)
    assert any(line.startswith("CURB-65 not computed") for line in block.not_scored)
