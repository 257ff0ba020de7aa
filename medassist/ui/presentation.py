"""Presentation mode: larger type for a projector, and no patient identifiers on screen.

The banner and the window title show initials and age instead of name, ID and birth date;
tabs that show identifiers check ``context.settings.presentation_mode`` when they refresh.
"""

from __future__ import annotations

import pandas as pd

from medassist import paths
from medassist.records.schema import PatientRecords


def style_sheet(presentation: bool) -> str:
    """The application style sheet, with the presentation overrides appended when asked."""
    styles = paths.resources_dir() / "styles"
    names = ["medassist.qss"] + (["presentation.qss"] if presentation else [])
    return "\n".join((styles / name).read_text(encoding="utf-8") for name in names if (styles / name).exists())


def initials(records: PatientRecords, patient_id: str) -> str:
    """'A.S.' for Arthur Sample; '?' when the record has no name."""
    row = records.patient_row(patient_id)
    letters = [str(row[c]).strip()[0].upper() for c in ("given_name", "family_name")
               if pd.notna(row[c]) and str(row[c]).strip()]
    return "".join(f"{letter}." for letter in letters) or "?"
