"""The SQLite store passes the conformance kit, on a real file."""

from __future__ import annotations

from pathlib import Path

import pytest

from coplib.adapters.storage.sqlite import SQLiteStore
from coplib.testing.contract import StoreContract, StoreFactory


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> StoreFactory:
        path = tmp_path / "coplib.db"
        return lambda: SQLiteStore(path)


class TestSQLiteStoreOpenedByUrl(StoreContract):
    """The same, opened the way a host does: through `coplib.open`'s plugin and a URL."""

    @pytest.fixture
    def make_store(self, tmp_path: Path) -> StoreFactory:
        from coplib.adapters.storage.sqlite import SQLiteStorePlugin

        url = f"sqlite:///{tmp_path / 'by-url.db'}"

        def open_() -> SQLiteStore:
            store = SQLiteStorePlugin().coplib_open_store(url=url, options={"synchronous": "full"})
            assert isinstance(store, SQLiteStore)
            return store

        return open_
