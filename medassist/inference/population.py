"""Whether a patient belongs to a population a model was validated on, and what to say if not.

An image model's figures come from particular people (the chest X-ray model: Guangzhou children
aged 1-5 and NIH adults). When the patient's age is outside every validated population, or not
known, the result carries a notice with the figures of the nearest validated population, so the
probability is never read as if it had been measured on people like this patient.
"""

from __future__ import annotations

from medassist.inference.card import ModelCard, Population
from medassist.domain.prediction import PopulationNotice


def _distance_years(population: Population, age: float) -> float:
    low = population.age_min_years if population.age_min_years is not None else -float("inf")
    high = population.age_max_years if population.age_max_years is not None else float("inf")
    return max(low - age, age - high, 0.0)


def _age_range(population: Population) -> str:
    low, high = population.age_min_years, population.age_max_years
    if low is None and high is None:
        return "any age"
    if high is None:
        return f"{low:g} years and older"
    if low is None:
        return f"up to {high:g} years"
    return f"{low:g}-{high:g} years"


def _short(population: Population) -> str:
    """The description's first phrase: 'Children aged 1-5 years, one hospital'."""
    return population.description.split(" (")[0].split(";")[0]


def population_notice(card: ModelCard, age_years: float | None, age_source: str) -> PopulationNotice | None:
    """The notice a result needs, or None when the patient is inside a validated population
    (or the card names no populations, or says to refuse: record models handle that themselves)."""
    populations = card.validated_populations
    if not populations or card.outside_population != "notice":
        return None
    if age_years is not None and any(p.contains(age_years, None) for p in populations):
        return None
    validated = "; ".join(f"{_short(p)} ({_age_range(p)})" for p in populations)
    if age_years is None:
        # unknown age: show the adult (widest, least optimistic) figures, the ones a new user most likely needs
        nearest = max(populations, key=lambda p: (p.age_max_years or 0.0) - (p.age_min_years or 0.0))
        message = (f"Patient's age is not known; {card.title} was validated only in: {validated}. "
                   f"Figures of {_short(nearest)} follow.")
    else:
        nearest = min(populations, key=lambda p: _distance_years(p, age_years))
        message = (f"Patient aged {age_years:.1f} years ({age_source}) is outside the populations {card.title} was "
                   f"validated in ({validated}); its output has not been measured on patients like this. "
                   f"Figures of the nearest, {_short(nearest)}, follow.")
    return PopulationNotice(
        message=message,
        patient_age_years=None if age_years is None else round(age_years, 2),
        age_source=age_source if age_years is not None else "unknown",
        population=nearest.description,
        population_age_range=_age_range(nearest),
        metrics=dict(nearest.metrics),
    )
