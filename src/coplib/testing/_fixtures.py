"""What every test class of the conformance kit shares: the fixtures an adapter overrides
(`make_store`, the capability switches) and those the tests use, and a few helpers.
`coplib.testing.contract` re-exports what an adapter author needs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from coplib.ports.storage import RecordedEvent, Store
from coplib.service.engine import Engine
from coplib.testing.samples import MONDAY, SampleHistory, sample_people

#: What an adapter's `make_store` fixture returns: each call opens a store on the same database.
StoreFactory = Callable[[], Store]

__all__ = ["StoreFactory", "StoreFixtures", "every_event", "ids_of", "open_engine_on"]


def open_engine_on(store: Store, *, clock: Any = None, id_factory: Callable[[], str] | None = None) -> Engine:
    """An engine over `store` with the default plugins, the sample people and a recording
    notifier."""
    from coplib.adapters.notification.recording import RecordingNotifier
    from coplib.bootstrap.open import default_plugins
    from coplib.bootstrap.plugins import make_plugin_manager
    from coplib.domain.clock import ManualClock

    pm = make_plugin_manager([RecordingNotifier()], defaults=default_plugins(sample_people()))
    return Engine(store, plugin_manager=pm, clock=clock or ManualClock(MONDAY), id_factory=id_factory)


def every_event(store: Store) -> list[RecordedEvent]:
    """Every event of `store`, paging through `events` (so any page size is exercised)."""
    found: list[RecordedEvent] = []
    while True:
        page = store.events(after=found[-1].position if found else 0, limit=500)
        if not page:
            return found
        found.extend(page)


def ids_of(items: list[Any]) -> list[str]:
    """The ids of `items` (aggregates or messages), in order."""
    return [item.id for item in items]


class StoreFixtures:
    """The fixtures every contract on a store shares: an adapter author overrides
    `make_store` (and the capability fixtures where they differ); the tests use `store`,
    `open_store`, `history` (sample data written through real domain events), `reopen` and
    `second_writer`."""

    # -- fixtures the adapter overrides -----------------------------------------------------------

    @pytest.fixture
    def make_store(self) -> StoreFactory:
        """Override: a callable opening a store on one fresh, empty database per test."""
        raise NotImplementedError(f"{type(self).__name__} must override the make_store fixture")

    @pytest.fixture
    def supports_reopen(self) -> bool:
        return True

    @pytest.fixture
    def supports_concurrent_writers(self) -> bool:
        return True

    # -- fixtures the tests use -------------------------------------------------------------------

    @pytest.fixture
    def open_store(self, make_store: StoreFactory) -> Iterator[StoreFactory]:
        """`make_store`, with every store it opened closed after the test."""
        opened: list[Store] = []

        def open_() -> Store:
            store = make_store()
            opened.append(store)
            return store

        yield open_
        for store in reversed(opened):
            store.close()

    @pytest.fixture
    def store(self, open_store: StoreFactory) -> Store:
        return open_store()

    @pytest.fixture
    def history(self) -> SampleHistory:
        return SampleHistory()

    @pytest.fixture
    def reopen(self, open_store: StoreFactory, supports_reopen: bool) -> Callable[[Store], Store]:
        """Close `store` and open the database again (or, when the adapter cannot reopen,
        open a second handle on the same data)."""

        def reopen_(store: Store) -> Store:
            if supports_reopen:
                store.close()
            return open_store()

        return reopen_

    @pytest.fixture
    def second_writer(self, open_store: StoreFactory, supports_concurrent_writers: bool) -> Callable[[Store], Store]:
        """Another writer on the same database as `store` (the same handle when the adapter
        does not support concurrent writers)."""

        def second(store: Store) -> Store:
            return open_store() if supports_concurrent_writers else store

        return second
