"""The demo tells one true story: each patient's images, notes and model outputs agree.

Checked by computing, so the test re-checks itself when a bundled model changes (a new chest X-ray
model, new demo images): every attached image is its patient's (``clinical.films``: the demo attaches
copies of public films with the patient's identity in the header); a chest
film the notes call clear is scored below the CXR model's operating threshold, and one the notes
say shows pneumonia at or above it (a film whose report is not on file is shown as the model reads it); a note that
claims a radiographic pneumonia has such a film; a note that says "(attached)" has an image attached.
"""

from __future__ import annotations

import re

import pydicom
import pytest

from medassist.demo import build_demo
from medassist.imaging.loader import load_image
from medassist.domain.inputs import ImageInput
from medassist.jobs import run_job
from medassist.app.films import film_for
from medassist.domain.clinical import FilmIdentity
from medassist.session import Session
from tests.services import cpu_service

CXR = "cxr-pneumonia"
FILM = re.compile(r"\b(radiograph|x-ray|film|cxr)\b", re.IGNORECASE)
NOT_DONE = re.compile(r"\b(requested|not yet|pending)\b", re.IGNORECASE)
CLEAR = re.compile(r"\b(clear|normal|no consolidation|no active lung disease)\b", re.IGNORECASE)
PNEUMONIA = re.compile(r"\b(consolidation|infiltrate|pneumonia|air bronchogram)s?\b", re.IGNORECASE)


def film_claims(text: str) -> set[str]:
    """What the notes claim a chest film shows: 'clear', 'pneumonia', or nothing (not done / not described)."""
    claims = set()
    for sentence in re.split(r"(?<=[.;])\s+", text):
        if not FILM.search(sentence) or NOT_DONE.search(sentence) or "chest" not in sentence.lower():
            continue
        if CLEAR.search(sentence):
            claims.add("clear")
        elif PNEUMONIA.search(sentence):
            claims.add("pneumonia")
    return claims


def test_film_claims_reads_the_notes_as_a_clinician_would():
    assert film_claims("Chest radiograph (attached): right lower lobe consolidation.") == {"pneumonia"}
    assert film_claims("Archived chest radiograph (attached): reported clear, no consolidation.") == {"clear"}
    assert film_claims("Impression: pneumonia. Plan: chest radiograph (requested, not yet done).") == set()


@pytest.fixture(scope="module")
def demo():
    return build_demo()


@pytest.fixture(scope="module")
def scored_films(demo) -> dict[str, list[tuple[str, float, float, bool]]]:
    """Each patient's chest films scored by the bundled CXR model: (file, P(pneumonia), threshold, refused)."""
    service = cpu_service()
    scored: dict[str, list] = {}
    for pid, paths in demo.image_paths.items():
        for path in paths:
            header = pydicom.dcmread(path, stop_before_pixels=True)
            if header.get("Modality") not in ("CR", "DX") or str(header.get("BodyPartExamined", "")).upper() != "CHEST":
                continue
            prediction = run_job(service.predict(CXR, ImageInput(load_image(path))))
            scored.setdefault(pid, []).append((path.name, prediction.outputs.get("pneumonia", 0.0),
                                               prediction.thresholds["pneumonia"], prediction.refused))
    return scored


def _notes(demo, pid: str) -> str:
    return " ".join(demo.records.for_patient("notes", pid)["text"])


def test_every_attached_image_is_its_patients(demo):
    attached = [(pid, path) for pid, paths in demo.image_paths.items() for path in paths]
    assert len(attached) >= 6
    session = Session()
    session.set_records(demo.records)
    for pid, path in attached:
        film = film_for(session, pid, load_image(path))
        assert film is not None and film.identity == FilmIdentity.MATCHES, (pid, path.name, film)


def test_a_note_saying_attached_has_an_image(demo):
    for pid in demo.records.patient_ids:
        clinical = demo.records.for_patient("notes", pid)
        clinical = clinical[~clinical["title"].str.startswith("Demo imaging")]
        if clinical["text"].str.contains("(attached)", regex=False).any():
            assert demo.image_paths.get(pid), pid


def test_chest_films_agree_with_what_the_notes_say_about_them(demo, scored_films):
    assert scored_films, "the demo should show the chest X-ray model on at least one film"
    for pid, films in scored_films.items():
        notes = _notes(demo, pid)
        assert re.search(r"chest radiograph[^.]*\(attached\)", notes), f"{pid}: a chest film is attached but no note mentions it"
        claims = film_claims(notes)  # what the notes say the film shows; a film without a read is not judged
        for name, probability, threshold, refused in films:
            assert not refused, (pid, name)
            if "clear" in claims:
                assert probability < threshold, f"{pid}: notes call {name} clear, the model scores {probability:.2f}"
            if "pneumonia" in claims:
                assert probability >= threshold, f"{pid}: notes call {name} pneumonia, the model scores {probability:.2f}"


def test_pneumonia_patients_claim_no_radiographic_pneumonia_without_a_film_that_shows_it(demo, scored_films):
    pneumonia = [pid for pid in demo.records.patient_ids if "pneumonia" in _notes(demo, pid).lower()]
    assert len(pneumonia) >= 2
    for pid in pneumonia:
        if "pneumonia" in film_claims(_notes(demo, pid)):
            films = scored_films.get(pid, [])
            assert any(p >= t and not refused for _, p, t, refused in films), pid
