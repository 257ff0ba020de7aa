"""Fixtures for the reporting tests (the objects themselves are built in :mod:`tests.reporting.builders`)."""

from __future__ import annotations

import datetime as dt

import pytest

from medassist.inference.card import ModelCard
from medassist.session import Session
from tests.reporting.builders import FakeReaders, make_cards, make_session


@pytest.fixture()
def demo_session(tmp_path) -> Session:
    return make_session(tmp_path)


@pytest.fixture()
def demo_cards() -> dict[str, ModelCard]:
    return make_cards()


@pytest.fixture()
def fixed_now() -> dt.datetime:
    return dt.datetime(2024, 3, 5, 11, 15)


@pytest.fixture()
def fake_readers(monkeypatch) -> FakeReaders:
    import sys
    import types

    readers = FakeReaders()
    importer = types.ModuleType("medassist.records.importer")
    importer.import_records = readers.import_records
    loader = types.ModuleType("medassist.imaging.loader")
    loader.load_image = readers.load_image
    monkeypatch.setitem(sys.modules, "medassist.records.importer", importer)
    monkeypatch.setitem(sys.modules, "medassist.imaging.loader", loader)
    return readers
