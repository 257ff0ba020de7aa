"""The session owns its state: reset, snapshot and restore go through its methods and announce
themselves, and no other module takes its lock or writes its per-patient dicts."""

from __future__ import annotations

import re
from pathlib import Path

from medassist.session import PER_PATIENT_FIELDS, UNASSIGNED, Session
from tests.reporting.builders import PATIENT, make_images, make_session

PACKAGE = Path(__file__).resolve().parents[1] / "medassist"


def _worked_on(folder: Path) -> Session:
    """A patient with images, results, decisions, a note and reviewed findings, plus a film opened
    while no patient was selected."""
    session = make_session(folder)
    unassigned = folder / "unassigned"
    unassigned.mkdir()
    session.add_images(make_images(unassigned)[:1], UNASSIGNED)
    return session


def _listen(session: Session) -> list[tuple]:
    heard: list[tuple] = []
    for name in ("records_changed", "patient_changed", "images_changed", "decisions_changed", "notes_changed",
                 "demo_changed"):
        getattr(session, name).connect(lambda *args, name=name: heard.append((name, *args)))
    return heard


def test_reset_forgets_every_patient_and_tells_the_tabs(tmp_path):
    session = _worked_on(tmp_path)
    heard = _listen(session)
    session.reset()
    assert all(getattr(session, name) == {} for name in PER_PATIENT_FIELDS)
    assert session.current_patient_id is None and session.current_images() == []
    assert session.records.has_patient(PATIENT)  # the records stay loaded
    assert {("images_changed", PATIENT), ("decisions_changed", PATIENT), ("notes_changed", PATIENT),
            ("images_changed", UNASSIGNED)} <= set(heard)
    assert heard[0] == ("patient_changed", None)  # the tabs let go of the patient before the state goes


def test_snapshot_is_a_copy_and_restore_puts_it_back(tmp_path):
    session = _worked_on(tmp_path)
    session.set_demo(True)
    state = session.snapshot()
    note = session.clinician_notes[PATIENT]
    later = tmp_path / "later"
    later.mkdir()
    session.add_images(make_images(later)[1:], PATIENT)
    session.set_clinician_note("changed", PATIENT)
    assert len(state.images[PATIENT]) == 2 and len(session.images[PATIENT]) == 3
    assert state.clinician_notes[PATIENT] == note and state.clinician_name == "Dr Anna Weber"

    session.reset()
    session.set_demo(False)
    heard = _listen(session)
    session.restore(state)
    again = session.snapshot()
    assert again == state and again is not state
    assert session.demo and ("demo_changed", True) in heard
    assert {("images_changed", PATIENT), ("images_changed", UNASSIGNED), ("notes_changed", PATIENT)} <= set(heard)
    assert session.current_finding_reviews() == {}  # no patient selected: restore keeps the selection
    assert set(session.finding_reviews[PATIENT]) == {"Pneumonia", "Heart failure"}
    state.clinician_notes[PATIENT] = "edited copy"
    state.images[PATIENT].clear()
    assert session.clinician_notes[PATIENT] == note and len(session.images[PATIENT]) == 2  # restore copied


def test_set_demo_announces_only_a_change():
    session = Session()
    heard = _listen(session)
    session.set_demo(False)
    session.set_demo(True)
    session.set_demo(True)
    assert heard == [("demo_changed", True)] and session.demo


def test_no_module_takes_the_session_lock_or_writes_its_dicts():
    fields = "|".join(PER_PATIENT_FIELDS + ("demo", "clinician_name"))
    writes = re.compile(rf"session\.({fields})\s*(\[[^\]]*\])?\s*=[^=]|session\.({fields})\.(clear|update|pop|setdefault"
                        rf"|append|extend)\(|session\._lock")
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}"
        for path in PACKAGE.rglob("*.py") if path.name != "session.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if writes.search(line)
    ]
    assert offenders == []
