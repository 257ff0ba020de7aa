"""Presentation mode: larger type for a projector, and no patient identifiers on screen.

What may be shown is decided in core (:mod:`medassist.privacy`): every view names the patient
with :func:`~medassist.privacy.patient_label` and passes free text through
:func:`~medassist.privacy.shown_text`, reading ``context.settings.presentation_mode`` when it
refreshes; switching the mode refreshes every tab.
"""

from __future__ import annotations

from medassist import paths


def style_sheet(presentation: bool) -> str:
    """The application style sheet, with the presentation overrides appended when asked."""
    styles = paths.resources_dir() / "styles"
    names = ["medassist.qss"] + (["presentation.qss"] if presentation else [])
    return "\n".join((styles / name).read_text(encoding="utf-8") for name in names if (styles / name).exists())
