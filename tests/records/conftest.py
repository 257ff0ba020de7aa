"""Real cohort_a records, read once for every records test that only looks at them."""

from __future__ import annotations

import pytest

from medassist.records.importer import import_records


@pytest.fixture(scope="session")
def cohort_a_csv(shared_data):
    return import_records(shared_data / "synthea" / "cohort_a_california_59pts" / "csv", remembered={})


@pytest.fixture(scope="session")
def cohort_a_fhir(shared_data):
    return import_records(shared_data / "synthea" / "cohort_a_california_59pts" / "fhir", remembered={})
