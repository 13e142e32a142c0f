"""The PostgreSQL store passes the conformance kit, on a real server."""

from __future__ import annotations

import pytest

from coplib.adapters.storage.postgres import PostgresStore, PostgresStorePlugin
from coplib.testing.contract import StoreContract, StoreFactory

pytestmark = pytest.mark.postgres


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def make_store(self, fresh_postgres_url: str) -> StoreFactory:
        return lambda: PostgresStore(fresh_postgres_url)


class TestPostgresStoreOpenedByUrl(StoreContract):
    """The same, opened the way a host does: through the plugin, a ``postgres://`` URL and options."""

    @pytest.fixture
    def make_store(self, fresh_postgres_url: str) -> StoreFactory:
        url = "postgres://" + fresh_postgres_url.split("://", 1)[1]

        def open_() -> PostgresStore:
            store = PostgresStorePlugin().coplib_open_store(url=url, options={"connect_timeout": 5, "lock_timeout": 30})
            assert isinstance(store, PostgresStore)
            return store

        return open_
