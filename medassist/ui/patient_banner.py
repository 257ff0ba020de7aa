"""The always-visible patient header (name, ID, age, sex, allergies), as in clinical systems."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from medassist.ui.context import AppContext

if TYPE_CHECKING:
    import pandas as pd


def age_years(birth: pd.Timestamp, on: pd.Timestamp | None = None) -> int | None:
    import pandas as pd  # a patient is shown only after records (and pandas) are loaded

    if pd.isna(birth):
        return None
    on = on or pd.Timestamp.now()
    return int(on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day)))


class PatientBanner(QWidget):
    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.setObjectName("patientBanner")
        self.context = context
        self.session = context.session
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        self.identity = QLabel()
        self.identity.setObjectName("bannerIdentity")
        self.allergies = QLabel()
        self.allergies.setObjectName("bannerAllergies")
        for label in (self.identity, self.allergies):  # wraps, not widens the window, at presentation size
            label.setWordWrap(True)
        layout.addWidget(self.identity, 1)
        layout.addWidget(self.allergies)
        context.bridge.patient_changed.connect(lambda _pid: self.refresh())
        context.bridge.records_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        pid = self.session.current_patient_id
        if pid is None:
            self.identity.setText("No patient selected")
            self.allergies.setText("")
            return
        import pandas as pd

        records = self.session.records
        row = records.patient_row(pid)
        shown = self.context.shown(pid)
        age = shown.age(age_years(row["birth_date"]))
        birth = row["birth_date"].strftime("%Y-%m-%d") if pd.notna(row["birth_date"]) else "unknown"
        sex = row["sex"] if pd.notna(row["sex"]) else "unknown"
        if shown.presenting:
            self.identity.setText(f"<b>{shown.label()}</b> &nbsp; {sex}, {age}")
        else:
            self.identity.setText(f"<b>{records.display_name(pid)}</b> &nbsp; ID {pid} &nbsp; {sex}, {age} (born {birth})")
        allergies = records.for_patient("allergies", pid)
        active = allergies[allergies["stop"].isna()]["description"].dropna().unique().tolist()
        self.allergies.setText(f"Allergies: {', '.join(active)}" if active else "No known allergies")
        self.allergies.setProperty("alert", bool(active))
        self.allergies.style().unpolish(self.allergies)
        self.allergies.style().polish(self.allergies)
