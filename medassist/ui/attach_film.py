"""The one action that reads a mismatched film as the open patient's: ask the clinician why, then
call the app's :func:`~medassist.app.films.attach_film` (which records the reason and an audit line
and re-decides the film's results). The Diagnosis tab's result card and the Images tab's banner use it."""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QWidget

from medassist.app.films import attach_film, film_for
from medassist.domain.result_text import film_text
from medassist.errors import MedAssistError
from medassist.imaging.image import MedicalImage
from medassist.ui.context import AppContext


def ask_and_attach(parent: QWidget, context: AppContext, image: MedicalImage) -> bool:
    """Ask for the reason and attach ``image`` to the open patient; True once attached."""
    session = context.session
    patient_id = session.current_patient_id
    film = film_for(session, patient_id, image) if patient_id else None
    if patient_id is None or film is None:
        context.show_message("Attach film", "Open the patient this film belongs to first.")
        return False
    reason, accepted = QInputDialog.getText(
        parent, "Attach film to this patient",
        f"{film_text(film)}\n\nWhy is this film this patient's? (recorded with your name in the audit trail)")
    if not accepted:
        return False
    try:
        attach_film(session, context.audit, image, patient_id, reason,
                    session.clinician_name or context.settings.clinician_name)
    except MedAssistError as exc:
        context.show_message("Attach film", str(exc))
        return False
    return True
