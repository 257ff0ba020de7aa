"""Vignettes: one patient's record written by hand, dated from a fixed day, for the clinical picture."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from medassist.clinical.picture import build_picture
from medassist.domain.clinical import ClinicalPicture
from medassist.records.codes import MEASURES
from medassist.records.schema import PatientRecords

TODAY = dt.date(2026, 12, 7)
PID = "V-1"


@dataclass
class Vignette:
    """A patient: birth date from age, an encounter per visit, coded vitals/labs, problems, drugs, notes."""

    age_years: float
    sex: str = "male"
    pregnant: bool = False
    weight_kg: float | None = None
    rows: dict[str, list[dict]] = field(default_factory=lambda: {t: [] for t in (
        "conditions", "medications", "observations", "encounters", "notes")})

    def at(self, days_ago: float, hour: int = 9) -> pd.Timestamp:
        return pd.Timestamp(TODAY) - pd.Timedelta(days=days_ago) + pd.Timedelta(hours=hour)

    def visit(self, days_ago: float = 0, encounter_class: str = "emergency") -> Vignette:
        self.rows["encounters"].append({"encounter_id": f"E{len(self.rows['encounters']) + 1}", "patient_id": PID,
                                        "start": self.at(days_ago, 8), "stop": self.at(days_ago, 14),
                                        "encounter_class": encounter_class, "description": "visit"})
        return self

    def measure(self, name: str, value: float, unit: str | None = None, days_ago: float = 0,
                code: str | None = None) -> Vignette:
        spec = MEASURES[name]
        self.rows["observations"].append({"patient_id": PID, "date": self.at(days_ago, 10), "code": code or spec.codes[0],
                                          "system": "LOINC", "description": spec.description, "value": value,
                                          "unit": spec.unit if unit is None else unit})
        return self

    def problem(self, description: str, code: str = "", days_ago: float = 1000, system: str = "SNOMED-CT") -> Vignette:
        self.rows["conditions"].append({"patient_id": PID, "code": code, "system": system, "description": description,
                                        "onset": self.at(days_ago)})
        return self

    def drug(self, description: str, days_ago: float = 100) -> Vignette:
        self.rows["medications"].append({"patient_id": PID, "code": "", "system": "RxNorm", "description": description,
                                         "start": self.at(days_ago), "status": "active"})
        return self

    def note(self, text: str, days_ago: float = 0, title: str = "Emergency department note") -> Vignette:
        self.rows["notes"].append({"note_id": f"N{len(self.rows['notes']) + 1}", "patient_id": PID,
                                   "date": self.at(days_ago, 11), "title": title, "text": text})
        return self

    def records(self) -> PatientRecords:
        birth = pd.Timestamp(TODAY) - pd.Timedelta(days=round(self.age_years * 365.25))
        patients = pd.DataFrame([{"patient_id": PID, "given_name": "Test", "family_name": "Vignette", "birth_date": birth,
                                  "sex": self.sex, "weight_kg": self.weight_kg, "pregnant": self.pregnant}])
        frames = {name: pd.DataFrame(rows) for name, rows in self.rows.items() if rows}
        return PatientRecords.from_frames(patients=patients, **frames)

    def picture(self, **kwargs: object) -> ClinicalPicture:
        return build_picture(self.records(), PID, on=TODAY, **kwargs)  # type: ignore[arg-type]
