"""Reading clinical notes with rules: which problems a note mentions and whether each mention is
the patient's (ConText-style assertion, :mod:`~medassist.notes.mentions`), and the bedside facts a
note states that the clinical scores need (mental status, oxygen, where the patient lives,
:mod:`~medassist.notes.facts`).

The mention patterns are data, one list per problem concept in ``resources/knowledge/problems.yaml``
(:mod:`~medassist.notes.lexicon`), so the record, the notes and the treatment tables share one value
set. The assertion rules are code (:mod:`~medassist.notes.assertion`).
"""
