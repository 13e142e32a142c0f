"""The SQLite and PostgreSQL stores pass the outbox conformance kit, on a real file and a
real server."""

from __future__ import annotations

from pathlib import Path

import pytest

from coplib.adapters.storage.postgres import PostgresStore
from coplib.adapters.storage.sqlite import SQLiteStore
from coplib.testing.outbox_contract import OutboxContract, StoreFactory


class TestSQLiteStoreOutbox(OutboxContract):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> StoreFactory:
        path = tmp_path / "outbox.db"
        return lambda: SQLiteStore(path)


@pytest.mark.postgres
class TestPostgresStoreOutbox(OutboxContract):
    @pytest.fixture
    def make_store(self, fresh_postgres_url: str) -> StoreFactory:
        return lambda: PostgresStore(fresh_postgres_url)
