"""Problems the notes affirm reach the picture through the note rules, with no model run (the CLI's case)."""

from __future__ import annotations

from medassist.domain.clinical import EvidenceKind
from medassist.recommend.engine import recommend
from medassist.recommend.knowledge import default_knowledge
from medassist.recommend.patient import build_context
from tests.clinical.vignettes import Vignette


def test_known_af_written_only_in_a_note_is_an_active_problem_and_is_planned_for():
    # A woman of 78 with hypertension coded and "known AF" only in today's note: AF is hers (affirmed), so the
    # picture lists it with the note's sentence, and the plan has an atrial fibrillation group.
    # CHA2DS2-VA by hand (ESC 2024): hypertension 1 + age >= 75 2 = 3 -> anticoagulation recommended.
    vignette = (Vignette(78, "female").visit(0).problem("Essential hypertension", "59621000")
                .note("78-year-old woman with known AF, not anticoagulated. No chest pain."))
    picture = vignette.picture()
    af = picture.problem("atrial_fibrillation")
    assert af is not None and af.kinds == {EvidenceKind.NOTE}
    assert "known AF" in af.evidence[0].text and af.evidence[0].detail.startswith("Emergency department note (2026-12-07")
    assert picture.scores["CHA2DS2-VA"].points == 3
    result = recommend(build_context(vignette.records(), picture, default_knowledge()))
    assert any(group.condition_id == "atrial_fibrillation" for group in result.groups)


def test_negated_family_and_old_acute_mentions_are_not_the_patients():
    # "No heart failure" (negated), "mother had CKD" (family) and a pneumonia in a note from two years ago
    # (acute, outside this episode) are none of them active problems; the chronic diabetes of that old note
    # is not read either, because only the newest note and this episode's notes are read.
    vignette = (Vignette(60).visit(0)
                .note("Pneumonia treated with amoxicillin. Type 2 diabetes.", days_ago=730, title="Old letter")
                .note("No heart failure. His mother had chronic kidney disease. Cough for two days."))
    concepts = {p.concept for p in vignette.picture().problems}
    assert concepts.isdisjoint({"heart_failure", "chronic_kidney_disease", "pneumonia", "diabetes"})


def test_score_comorbidities_written_only_in_a_note_are_scored():
    # A man of 72 with AF and hypertension coded; today's note says "PVD with claudication", "alcohol excess" and
    # "cirrhosis". By hand:
    # CHA2DS2-VASc (ESC 2020): hypertension 1 + age 65-74 1 + vascular disease (PVD) 1 = 3 (male: no sex point).
    # HAS-BLED (Pisters 2010): hypertension (uncontrolled, SBP > 160) needs the BP, here 150 -> 0; abnormal liver
    # function (cirrhosis) 1; elderly > 65 1; alcohol 1 -> 3 counted.
    vignette = (Vignette(72).visit(0, "ambulatory").problem("Atrial fibrillation", "49436004")
                .problem("Essential hypertension", "59621000").measure("systolic_bp", 150)
                .note("72-year-old man with PVD and intermittent claudication. Alcohol excess. Known cirrhosis."))
    picture = vignette.picture()
    assert {"peripheral_arterial_disease", "alcohol_misuse", "liver_disease"} <= {p.concept for p in picture.problems}
    assert picture.scores["CHA2DS2-VASc"].points == 3
    vascular = next(i for i in picture.scores["CHA2DS2-VASc"].items if i.criterion.startswith("Vascular disease"))
    assert vascular.points == 1 and "PVD" in vascular.value
    has_bled = {i.criterion.split(" (")[0]: i.points for i in picture.scores["HAS-BLED"].items}
    assert has_bled["Abnormal liver function"] == 1 and has_bled["Alcohol"] == 1


def test_score_comorbidities_negated_or_in_the_family_are_not_scored():
    # "No PVD", "mother had dementia", "denies alcohol excess": none is the patient's, so no point and no problem.
    vignette = (Vignette(80, "female").visit(0, "ambulatory").problem("Atrial fibrillation", "49436004")
                .note("No PVD. Her mother had dementia. Denies alcohol excess."))
    picture = vignette.picture()
    assert {p.concept for p in picture.problems}.isdisjoint({"peripheral_arterial_disease", "dementia", "alcohol_misuse"})
    vascular = next(i for i in picture.scores["CHA2DS2-VASc"].items if i.criterion.startswith("Vascular disease"))
    assert vascular.points == 0


def test_the_notes_model_is_given_the_note_it_was_trained_on():
    # A sentence that only negates a score comorbidity is not blanked for the notes model (it never read those
    # concepts in training); the picture still reads it as negated.
    from medassist.notes.lexicon import notes_model_lexicon
    from medassist.notes.mentions import note_problems

    text = "No dementia. Pneumonia."
    assert note_problems(text, list(notes_model_lexicon())).patient_text() == text
    assert "dementia" in note_problems(text).not_suggested()
