"""Burned-in text does not survive a de-identified report: every demo patient with images gets a
de-identified PDF; its image pages, rendered with pdftoppm and read back by OCR at a resolution at
which the original lettering is legible, show none of the identifiers burned into the source films
(institution, dates and times of the study, IDs). A control reads the same pages of the ordinary
report and finds them, so the check can fail. Skips cleanly without Tesseract or poppler."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np
import pypdf
import pytest
from PIL import Image

from medassist.demo import build_demo
from medassist.imaging.loader import open_images
from medassist.jobs import run_job
from medassist.privacy.pixels import find_text, ocr_problem
from medassist.reporting.content import collect_report
from medassist.reporting.deidentify import deidentify
from medassist.reporting.pdf import render_pdf
from medassist.session import Session
from medassist.settings import Settings

pytestmark = pytest.mark.skipif(ocr_problem() is not None or shutil.which("pdftoppm") is None,
                                reason=f"needs Tesseract and poppler ({ocr_problem() or 'pdftoppm missing'})")
DPI = 200  # a 640-pixel film printed 85 mm wide is read back at about its own size
NOW = dt.datetime(2026, 1, 10, 9, 0)
# what the demo's films show burned in, as a person reads it (looked at: US1 "BAPTIST MED CTR", the Aloka's
# "*WESTWAY MEDICAL*", "24-MAY-02", "11:24:20", the obstetric film's patient ID, date and time)
BURNED_IN = ("BAPTIST", "WESTWAY", "24-MAY-02", "11:24:20", "5/25/2011", "11-05-25-142825", "2:56:22", "Healthcare")


def header_identifiers(dataset) -> set[str]:
    """Identifying words of a film's header, in the spellings lettering uses."""
    found: set[str] = set()
    for keyword in ("InstitutionName", "PatientName", "PatientID", "StationName", "OperatorsName"):
        found |= {w for w in re.split(r"[\s^*,]+", str(getattr(dataset, keyword, "") or "")) if len(w) >= 4}
    study = str(getattr(dataset, "StudyDate", "") or "")
    if len(study) == 8:
        day = dt.date(int(study[:4]), int(study[4:6]), int(study[6:]))
        found |= {study, f"{day.month}/{day.day}/{day.year}", f"{day:%d-%b-%y}".upper()}
    return found - {"INFO", "NAME", "PATIENT"}  # placeholders of the public test files, not identifiers


@lru_cache(maxsize=1)
def demo() -> tuple[Session, dict[str, set[str]]]:
    cohort = build_demo()
    session = Session()
    session.set_records(cohort.records)
    burned: dict[str, set[str]] = {}
    for patient_id, paths in cohort.image_paths.items():
        images = [image for path in paths for image in run_job(open_images(path)).images]
        session.add_images(images, patient_id)
        burned[patient_id] = set(BURNED_IN) | {w for i in images for w in header_identifiers(i.metadata["dataset"])}
    return session, burned


def image_pages(pdf: bytes, folder: Path) -> list[np.ndarray]:
    """The pages that carry a picture, rendered as a reader would see them."""
    path = folder / "report.pdf"
    path.write_bytes(pdf)
    pages = [n for n, page in enumerate(pypdf.PdfReader(path).pages, start=1) if page.images]
    rendered = []
    for number in pages:
        subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-png", "-f", str(number), "-l", str(number), str(path),
                        str(folder / f"page{number}")], check=True, timeout=60)
        rendered += [_pictures(np.asarray(Image.open(p).convert("L"))) for p in sorted(folder.glob(f"page{number}*.png"))]
    return rendered


def _pictures(page: np.ndarray) -> np.ndarray:
    """The band of the page that holds its pictures: runs of at least 40 rows that are a fifth dark (a
    line of print or a table rule is a few rows), so OCR reads the films and not the paragraphs."""
    rows = np.flatnonzero((page < 200).mean(axis=1) > 0.2)
    runs = [run for run in np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1) if len(run) >= 40]
    if not runs:
        return page
    return page[max(runs[0][0] - 10, 0):runs[-1][-1] + 10]


def _has(text: str, word: str) -> bool:
    return re.search(r"(?<![\w])" + re.escape(word.upper()) + r"(?![\w])", text.upper()) is not None


def read_back(pdf: bytes, folder: Path, identifiers: set[str]) -> set[str]:
    """Identifiers OCR reads on the picture pages; a word the report itself prints ("medical record" beside
    the institution's "Medical") is not counted: the printed text is checked by the text tests."""
    printed = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    words = " ".join(text for page in image_pages(pdf, folder) for text, _box in find_text(page))
    return {i for i in identifiers if _has(words, i) and not _has(printed, i)}


def patients_with_images() -> list[str]:
    return sorted(pid for pid, images in build_demo().image_paths.items() if images)


@pytest.mark.parametrize("patient_id", patients_with_images())
def test_ocr_of_a_deidentified_report_finds_no_burned_in_identifier(patient_id, tmp_path):
    session, burned = demo()
    content = deidentify(collect_report(session, patient_id, cards={}, now=NOW, settings=Settings()))
    assert all(p.omitted_reason is None for p in content.images)  # every film was checked, none left out
    assert read_back(render_pdf(content), tmp_path, burned[patient_id]) == set()


def test_the_same_read_finds_the_lettering_of_an_ordinary_report(tmp_path):
    """Control: the films' lettering is legible at this resolution when nothing is blacked out."""
    session, burned = demo()
    patient_id = next(pid for pid, images in session.images.items() if any(i.path.name == "US1_UNCR.dcm" for i in images))
    found = read_back(render_pdf(collect_report(session, patient_id, cards={}, now=NOW, settings=Settings())), tmp_path, burned[patient_id])
    assert "BAPTIST" in found


def test_a_report_says_which_pictures_were_cleaned_and_how():
    session, _ = demo()
    patient_id = next(pid for pid, images in session.images.items() if any(i.path.name == "US1_UNCR.dcm" for i in images))
    panel = deidentify(collect_report(session, patient_id, cards={}, now=NOW, settings=Settings())).images[0]
    assert panel.cleaning.startswith("burned-in text blacked out:") and "OCR (Tesseract" in panel.cleaning
    assert panel.image.metadata["dataset"].PatientIdentityRemoved == "YES"
    assert not hasattr(panel.image.metadata["dataset"], "InstitutionName")
