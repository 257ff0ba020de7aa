"""Bedside facts a note states (mental status, oxygen, nursing home, hypercapnic target, multilobar
infiltrates, ventilation): yes, no, or nothing said; the assertion rules decide what a sentence says."""

from __future__ import annotations

import pytest

from medassist.notes import facts


@pytest.mark.parametrize("text, fact, present", [
    ("Alert and oriented x3.", facts.ALTERED_MENTATION, False),
    ("Disorientated in time and place.", facts.ALTERED_MENTATION, True),
    ("Not oriented to time.", facts.ALTERED_MENTATION, True),  # a negated normal finding is abnormal
    ("GCS 14/15.", facts.ALTERED_MENTATION, True),
    ("Drowsy but rousable.", facts.ALTERED_MENTATION, True),
    ("Risk of delirium discussed with family.", facts.ALTERED_MENTATION, None),  # hypothetical
    ("Family history: mother had delirium.", facts.ALTERED_MENTATION, None),
    ("SpO2 89% on air.", facts.SUPPLEMENTAL_OXYGEN, False),
    ("SpO2 94% on 2 L/min oxygen via nasal cannula.", facts.SUPPLEMENTAL_OXYGEN, True),
    ("Not on oxygen.", facts.SUPPLEMENTAL_OXYGEN, False),
    ("Target saturations 88-92%.", facts.HYPERCAPNIC_TARGET, True),
    ("Known CO2 retainer.", facts.HYPERCAPNIC_TARGET, True),
    ("Nursing home resident.", facts.NURSING_HOME, True),
    ("Lives alone in her own home.", facts.NURSING_HOME, False),
    ("Bilateral lower lobe consolidation.", facts.MULTILOBAR_INFILTRATES, True),
    ("Intubated in the emergency department.", facts.MECHANICAL_VENTILATION, True),
    ("No pleural effusion.", facts.PLEURAL_EFFUSION, False),
    ("Cough and fever for three days.", facts.ALTERED_MENTATION, None),
])
def test_what_a_note_says_of_each_fact(text, fact, present):
    stated = facts.stated(text, fact)
    assert (None if stated is None else stated.present) is present


def test_the_last_statement_of_a_note_wins_and_keeps_its_sentence():
    text = "Confused on arrival. After fluids: alert and oriented, GCS 15."
    stated = facts.stated(text, facts.ALTERED_MENTATION)
    assert stated is not None and not stated.present and stated.phrase == "GCS 15"
    assert stated.sentence == "After fluids: alert and oriented, GCS 15."
