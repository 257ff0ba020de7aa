"""The notes' problem lexicon as data (problems.yaml): synonyms a physician accepts are found, negated
and family mentions of them are not the patient's, every record term is also a note mention, and the
notes model still names only the 17 problems of its trained head."""

from __future__ import annotations

import json

import pytest

from medassist.clinical.concepts import default_concepts
from medassist.domain.inputs import TextInput
from medassist.jobs import run_job
from medassist.notes.lexicon import default_lexicon, notes_model_lexicon
from medassist.notes.mentions import note_problems
from medassist.paths import bundled_models_dir
from tests.services import cpu_service

CKD_NOTE = ("69-year-old man with type 2 diabetes, hypertension and progressive diabetic kidney disease. eGFR now "
            "below 30 (stage 4) with potassium at the upper limit.")
CAD_NOTE = "78-year-old man with ischaemic cardiomyopathy, ejection fraction 30% on last echocardiogram."


@pytest.mark.parametrize("text, problems", [
    (CKD_NOTE, {"chronic_kidney_disease", "diabetes", "hypertension"}),
    (CAD_NOTE, {"coronary_artery_disease", "heart_failure"}),
    ("Known ischemic cardiomyopathy.", {"coronary_artery_disease", "heart_failure"}),
    ("Diabetic nephropathy, CKD4, on haemodialysis three times a week.", {"chronic_kidney_disease", "diabetes"}),
    ("Hypertensive nephropathy.", {"chronic_kidney_disease", "hypertension"}),
    ("Past medical history: transient ischaemic attack, ischaemic heart disease, hyperlipidaemia.",
     {"stroke", "coronary_artery_disease", "hyperlipidemia"}),
    ("Underactive thyroid on levothyroxine. Congestive cardiac failure.", {"hypothyroidism", "heart_failure"}),
    ("Triple vessel disease, PCI in 2019.", {"coronary_artery_disease"}),
    ("Paroxysmal AF (PAF) on apixaban.", {"atrial_fibrillation"}),
])
def test_synonyms_a_physician_accepts_are_suggested(text, problems):
    assert set(note_problems(text).suggested) == problems


@pytest.mark.parametrize("text, problem, status", [
    ("No diabetic kidney disease.", "chronic_kidney_disease", "negated"),
    ("Mother had ischaemic cardiomyopathy.", "coronary_artery_disease", "family"),
    ("Family history: diabetic nephropathy in his father.", "chronic_kidney_disease", "family"),
    ("Screening for diabetic kidney disease.", "chronic_kidney_disease", "hypothetical"),
    ("Impression: ?pneumonia, start antibiotics.", "pneumonia", "uncertain"),
    ("Impression: ? pneumonia.", "pneumonia", "uncertain"),
    ("Cough ?cause, ?LRTI ?pneumonia.", "pneumonia", "uncertain"),
    ("Possible ischaemic cardiomyopathy.", "heart_failure", "uncertain"),
    ("Denies transient ischaemic attack.", "stroke", "negated"),
])
def test_negated_family_and_other_mentions_of_the_synonyms_are_not_suggested(text, problem, status):
    found = note_problems(text)
    assert problem not in found.suggested
    assert {m.assertion.value for m in found.not_suggested()[problem]} == {status}


def test_every_record_term_of_a_notes_problem_is_also_a_note_mention():
    """One value set: a synonym added for the record (terms) must be found in a note too."""
    lexicon = default_lexicon()
    missed = []
    for concept in default_concepts().concepts:
        if concept.id not in lexicon:
            continue
        for term in (t.strip() for t in concept.terms):
            found = {m.problem for m in note_problems(term).mentions} | {m.problem for m in note_problems(term.upper()).mentions}
            if concept.id not in found:
                missed.append((concept.id, term))
    assert not missed


def test_the_notes_model_names_only_the_labels_of_its_trained_head():
    card = json.loads((bundled_models_dir() / "notes-problems" / "metadata.json").read_text(encoding="utf-8"))
    assert len(card["labels"]) == 17
    # cardiomegaly is read (its sentences count as the patient's) but is not one of the head's labels
    assert set(notes_model_lexicon()) == set(card["labels"]) | {"cardiomegaly"}


def test_the_notes_model_suggests_ckd_and_cad_from_their_synonyms():
    service = cpu_service(threads=2)
    ckd = run_job(service.predict("notes-problems", TextInput(CKD_NOTE, "ckd.txt")))
    assert "chronic_kidney_disease" in ckd.positive
    evidence = next(s for s in ckd.extra["suggestions"] if s["problem"] == "chronic_kidney_disease")["evidence"]
    assert evidence[0]["text"] == "diabetic kidney disease"
    cad = run_job(service.predict("notes-problems", TextInput(CAD_NOTE, "cad.txt")))
    assert {"coronary_artery_disease", "heart_failure"} <= set(cad.positive)
    negated = run_job(service.predict("notes-problems", TextInput(
        "No diabetic kidney disease. Mother had ischaemic cardiomyopathy.", "neg.txt")))
    assert not {"chronic_kidney_disease", "coronary_artery_disease", "heart_failure"} & set(negated.positive)
