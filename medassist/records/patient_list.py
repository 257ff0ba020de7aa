"""The patient list as plain arrays: display text, sort keys and search text computed once per
import, so a list view over 100,000 patients answers each cell, sort and search without
touching pandas row by row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from medassist.privacy import WITHHELD, band, pseudonym
from medassist.records.schema import PatientRecords

COLUMNS: tuple[str, ...] = ("Name", "Patient ID", "Sex", "Born", "Age", "Problems", "Allergies")
_NAME, _ID, _BORN, _AGE = (COLUMNS.index(c) for c in ("Name", "Patient ID", "Born", "Age"))


@dataclass
class PatientList:
    """Column ``c`` of row ``r`` is ``text[c][r]``; ``keys[c]`` sorts that column."""

    patient_ids: np.ndarray
    text: list[np.ndarray]
    keys: list[np.ndarray]
    search: pd.Series  # lower-case "name id conditions" per row
    deceased: np.ndarray
    has_allergy: np.ndarray
    _ranks: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    _presented: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.patient_ids)

    @classmethod
    def build(cls, records: PatientRecords, today: pd.Timestamp | None = None) -> "PatientList":
        patients = records.patients
        ids = patients["patient_id"].astype(str).to_numpy(dtype=object)
        given = patients["given_name"].fillna("").astype(str)
        family = patients["family_name"].fillna("").astype(str)
        names = (given + " " + family).str.strip()
        names = names.where(names != "", patients["patient_id"].astype(str))
        birth, death = patients["birth_date"], patients["death_date"]
        now = today if today is not None else pd.Timestamp.now().normalize()
        until = death.fillna(now)
        age = ((until - birth).dt.days / 365.25).to_numpy(dtype=float)
        age_text = np.where(np.isnan(age), "", np.floor(np.nan_to_num(age)).astype(np.int64).astype(str)).astype(object)
        born_text = birth.dt.strftime("%Y-%m-%d").fillna("").to_numpy(dtype=object)
        sex = patients["sex"].fillna("unknown").astype(str).to_numpy(dtype=object)

        active = records.conditions[records.conditions["abatement"].isna()]
        active_counts = active.groupby("patient_id").size()
        problems = _per_patient(ids, active_counts.to_dict(), 0).astype(int)
        allergies = records.allergies[records.allergies["stop"].isna()]
        allergy_names = allergies.groupby("patient_id")["description"].agg(lambda d: ", ".join(sorted(set(d.dropna()))))
        allergy_text = _per_patient(ids, allergy_names.to_dict(), "")
        conditions = records.conditions.groupby("patient_id")["description"].agg(lambda d: " | ".join(d.dropna().unique()))
        condition_text = pd.Series(_per_patient(ids, conditions.to_dict(), ""), index=names.index, dtype="str")
        search = (names + " " + patients["patient_id"].astype(str) + " " + condition_text).str.lower()

        names_array = names.to_numpy(dtype=object)
        text = [
            names_array, ids, sex, born_text, age_text,
            np.where(problems > 0, problems.astype(str), "").astype(object), allergy_text,
        ]
        birth_key = birth.to_numpy(dtype="datetime64[ns]").astype("int64")
        keys = [
            names.str.lower().to_numpy(dtype=object), ids, sex,
            birth_key, np.nan_to_num(age, nan=-1.0), problems, pd.Series(allergy_text, dtype=object).str.lower().to_numpy(dtype=object),
        ]
        return cls(
            patient_ids=ids, text=text, keys=keys, search=search.reset_index(drop=True),
            deceased=death.notna().to_numpy(), has_allergy=allergy_text != "",
        )

    def presented(self, column: int) -> np.ndarray:
        """Column text as presentation mode shows it (:class:`medassist.privacy.ShownPolicy`): name and
        birth date withheld, the pseudonym for the ID, the age as a 5-year band (made on first use, so an
        ordinary import pays nothing for it)."""
        if column not in (_NAME, _ID, _BORN, _AGE):
            return self.text[column]
        if column not in self._presented:
            ids = self.patient_ids
            self._presented[_NAME] = np.full(len(ids), WITHHELD, dtype=object)
            self._presented[_ID] = np.array([pseudonym(i) for i in ids], dtype=object)
            self._presented[_BORN] = np.full(len(ids), WITHHELD, dtype=object)
            self._presented[_AGE] = np.array([band(int(a)) if a else "" for a in self.text[_AGE]], dtype=object)
        return self._presented[column]

    def order(self, column: int, descending: bool = False) -> np.ndarray:
        """Row order sorting by ``column``; equal keys keep the file's order either way."""
        rank = self._ranks.get(column)
        if rank is None:
            rank = pd.factorize(self.keys[column], sort=True)[0]
            self._ranks[column] = rank
        return np.argsort(-rank if descending else rank, kind="stable")

    def matches(self, query: str) -> np.ndarray:
        """Rows whose name, ID or any condition contains every word of ``query`` (case-insensitive)."""
        mask = np.ones(len(self), dtype=bool)
        for word in query.lower().split():
            mask &= self.search.str.contains(word, regex=False).to_numpy(dtype=bool)
        return mask



def _per_patient(ids: np.ndarray, values: dict, default: object) -> np.ndarray:
    found = pd.Series(ids, dtype=object).map(values)
    return found.astype(object).where(found.notna(), default).to_numpy(dtype=object)
