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
