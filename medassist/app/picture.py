"""The patient's clinical picture as the session knows it: the record, the notes model's evidence
and the findings the clinician confirmed. The Records tab, ``medassist picture`` and the report
call :func:`clinical_picture`, so each shows the same scores, care setting and sepsis signs.
"""

from __future__ import annotations

import datetime as _dt

from medassist.clinical.picture import build_picture
from medassist.domain.clinical import CareSettingName, ClinicalPicture
from medassist.errors import InputError
from medassist.session import Session


def clinical_picture(session: Session, patient_id: str, setting: CareSettingName | None = None,
                     on: _dt.date | None = None) -> ClinicalPicture:
    """The picture of ``patient_id`` from the session's records, results and confirmed findings;
    ``setting`` is the clinician's chosen care setting (None until they choose)."""
    records = session.records
    if not records.has_patient(patient_id):
        raise InputError(f"no patient with ID {patient_id} in the loaded records", "records")
    state = session.snapshot()
    return build_picture(records, patient_id, predictions=state.predictions.get(patient_id, []),
                         confirmed_findings=state.confirmed_findings.get(patient_id, []), setting=setting, on=on)
