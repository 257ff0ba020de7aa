"""The patient's clinical picture, computed once from the record, the notes' evidence and the films:
renal function, scores, active problems by concept, film identity and time, age-appropriate ranges.

Every tab, the CLI, the report, the treatment engine and the worklist read
:class:`medassist.domain.clinical.ClinicalPicture`; none derives these facts on its own.
"""
