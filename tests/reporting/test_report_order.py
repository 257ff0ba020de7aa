"""A PDF a physician reads top-down: the findings first (suggested ones first, each with its study date), the
models that gave no answer grouped after them one line each, then the record's context; no "POSITIVE 6.8%"."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from medassist.jobs import run_job
from medassist.reporting.content import collect_report
from medassist.reporting.pdf import write_pdf
from tests.reporting.builders import PATIENT
from medassist.settings import Settings

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")


def _text(path) -> str:
    raw = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"\s+", " ", raw)


def test_findings_come_first_with_study_dates_and_the_models_that_did_not_answer_after(demo_session, demo_cards,
                                                                                         fixed_now, tmp_path):
    content = collect_report(demo_session, PATIENT, cards=demo_cards, now=fixed_now, settings=Settings())
    text = _text(run_job(write_pdf(content, tmp_path / "r.pdf")))
    page_one = text[: text.index("Page 1 of")]
    findings, unanswered, context = (page_one.index(h) for h in ("Findings", "Models that did not answer",
                                                                  "Clinical context from the record"))
    assert findings < unanswered < context
    # the suggested findings lead the table; the refused CT slice is one line in the group after it
    assert page_one.index("suggested on the study of") < page_one.index("87.3% (threshold 41.0%)") < unanswered
    assert page_one.index("suggested from the note") < page_one.index("not suggested: 33.4%") < unanswered
    assert "No answer. Outside the data the model knows: not a chest radiograph" in page_one[unanswered:context]
    assert page_one.count("No answer") == 1 and page_one.index("No answer") > findings
    assert "study of 2024-03-05" in text  # the film's date, in the findings and on its image
    assert "POSITIVE" not in text and "negative" not in text
