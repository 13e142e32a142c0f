"""Every coplib store passes the conformance kit of full-text search and of the rewriting of
history (`coplib.testing.hostdata_contract`): memory, SQLite files, the PostgreSQL server, and
the JSON-lines example store of the docs."""

from __future__ import annotations

from pathlib import Path

import pytest

from coplib.adapters.storage.memory import MemoryStore
from coplib.adapters.storage.postgres import PostgresStore
from coplib.adapters.storage.sqlite import SQLiteStore
from coplib.testing.contract import StoreFactory
from coplib.testing.hostdata_contract import HistoryRewritingContract, TextSearchContract


class _Memory:
    @pytest.fixture
    def make_store(self) -> StoreFactory:
        store = MemoryStore()
        return lambda: store

    @pytest.fixture
    def supports_reopen(self) -> bool:
        return False


class _SQLite:
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> StoreFactory:
        return lambda: SQLiteStore(tmp_path / "coplib.db")


class _JsonLines:
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> StoreFactory:
        from tests.storage.test_contract_example import jsonl_store

        return lambda: jsonl_store.JsonLinesStore(tmp_path / "coplib.jsonl")


class _Postgres:
    pytestmark = pytest.mark.postgres

    @pytest.fixture
    def make_store(self, fresh_postgres_url: str) -> StoreFactory:
        return lambda: PostgresStore(fresh_postgres_url)


class TestMemorySearch(_Memory, TextSearchContract):
    pass


class TestMemoryRewriting(_Memory, HistoryRewritingContract):
    pass


class TestSQLiteSearch(_SQLite, TextSearchContract):
    pass


class TestSQLiteRewriting(_SQLite, HistoryRewritingContract):
    pass


class TestJsonLinesExampleSearch(_JsonLines, TextSearchContract):
    pass


class TestJsonLinesExampleRewriting(_JsonLines, HistoryRewritingContract):
    pass


@pytest.mark.postgres
class TestPostgresSearch(_Postgres, TextSearchContract):
    pass


@pytest.mark.postgres
class TestPostgresRewriting(_Postgres, HistoryRewritingContract):
    pass
