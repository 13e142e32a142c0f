"""Random command sequences leave the PostgreSQL store in the same observable state as the
in-memory reference, across closing and reopening too."""

from __future__ import annotations

import uuid
from typing import ClassVar

import psycopg
import pytest
from hypothesis import HealthCheck, settings

from coplib.adapters.storage.postgres import PostgresStore
from coplib.ports.storage import Store
from coplib.testing.differential import differential_machine
from coplib.testing.pgserver import with_search_path
from tests.scale import examples

pytestmark = pytest.mark.postgres


class PostgresSchema:
    """A fresh schema on the session's server for each example of the machine."""

    server_url: ClassVar[str] = ""  # set by `_use_the_session_server`

    def __init__(self) -> None:
        assert self.server_url, "the postgres_url fixture did not run"
        self.schema = f"coplib_differential_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{self.schema}"')
        self.url = with_search_path(self.server_url, self.schema)

    def open(self) -> Store:
        return PostgresStore(self.url)

    def dispose(self) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{self.schema}" CASCADE')


@pytest.fixture(autouse=True)
def _use_the_session_server(postgres_url: str) -> None:
    PostgresSchema.server_url = postgres_url


PostgresMatchesMemory = differential_machine(PostgresSchema, "PostgresMatchesMemory")

TestPostgresStoreBehavesLikeTheMemoryStore = PostgresMatchesMemory.TestCase
# Fewer examples than SQLite's: every invariant check is a few dozen round trips to the server.
TestPostgresStoreBehavesLikeTheMemoryStore.settings = settings(
    max_examples=examples(10),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


PostgresFollowingMatchesMemory = differential_machine(PostgresSchema, "PostgresFollowingMatchesMemory", follow="manual")

TestPostgresStoreBehavesLikeTheMemoryStoreWithALogFollower = PostgresFollowingMatchesMemory.TestCase
TestPostgresStoreBehavesLikeTheMemoryStoreWithALogFollower.settings = settings(
    max_examples=examples(5),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
