"""coplib's pytest fixtures, opt-in: add ``pytest_plugins = ["coplib.testing.pytest_plugin"]``
to your top-level conftest.py.

- `coplib_clock`: a `ManualClock` at Monday 5 January 2026, 09:00 UTC; move it with
  ``advance`` or ``set``.
- `coplib_people`: the sample organisation's people (ana, ben, chloe, dev, eve).
- `coplib_ids`: the deterministic id factory the engines use (``id-0001``, ``id-0002``...).
- `coplib_engine`: an engine on a fresh in-memory store, with the default plugins, the
  people, the clock and the ids above.
- `coplib_sqlite_engine`: the same on a fresh SQLite file in the test's temporary directory.
- `coplib_store`: the store behind `coplib_engine`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coplib.bootstrap.open import open_engine
from coplib.domain.clock import ManualClock
from coplib.domain.people import Person
from coplib.ports.storage import Store
from coplib.service.engine import Engine
from coplib.testing.samples import MONDAY, IdSequence, sample_people

__all__ = [
    "coplib_clock",
    "coplib_engine",
    "coplib_ids",
    "coplib_people",
    "coplib_sqlite_engine",
    "coplib_store",
]


@pytest.fixture
def coplib_clock() -> ManualClock:
    """A clock that moves only when the test says so."""
    return ManualClock(MONDAY)


@pytest.fixture
def coplib_people() -> list[Person]:
    """The people the engines' directory knows."""
    return sample_people()


@pytest.fixture
def coplib_ids() -> IdSequence:
    """The engines' id factory: predictable ids make readable assertions."""
    return IdSequence()


@pytest.fixture
def coplib_engine(coplib_clock: ManualClock, coplib_people: list[Person], coplib_ids: IdSequence) -> Iterator[Engine]:
    """An engine on a fresh in-memory store."""
    engine = open_engine("memory://", people=coplib_people, clock=coplib_clock, id_factory=coplib_ids)
    yield engine
    engine.close()


@pytest.fixture
def coplib_sqlite_engine(
    tmp_path: Path, coplib_clock: ManualClock, coplib_people: list[Person], coplib_ids: IdSequence
) -> Iterator[Engine]:
    """An engine on a fresh SQLite file (``coplib.db`` in the test's temporary directory)."""
    engine = open_engine(
        f"sqlite:///{tmp_path / 'coplib.db'}", people=coplib_people, clock=coplib_clock, id_factory=coplib_ids
    )
    yield engine
    engine.close()


@pytest.fixture
def coplib_store(coplib_engine: Engine) -> Store:
    """The store behind `coplib_engine`, for reading what commands left."""
    return coplib_engine.store
