"""The moderation queue's read (`ReadQueries.open_flags`) walks an index of the open flags only, on
SQLite and PostgreSQL, so that its cost follows the page and not every flag ever raised; a file
or database written before a flag's status was indexed is backfilled when it is migrated."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

import coplib
from coplib import Engine
from coplib.adapters.storage import _sql
from coplib.adapters.storage.postgres import POSTGRES
from coplib.adapters.storage.sqlite import SQLITE
from tests.unit.support import PEOPLE


def _community_with_flags(engine: Engine, open_flags: int, dismissed: int) -> list[str]:
    """A community whose moderation queue holds `open_flags` flags after `dismissed` dismissed
    ones; returns the open flags' ids."""
    engine.create_organisation("eve", "Acme", organisation_id="acme")
    engine.create_community("ana", "acme", name="Welders", charter=coplib.Charter(vocation="Weld"), community_id="w")
    for person in ("ben", "chloe"):
        engine.join(person, "w")
    for n in range(dismissed):
        question = engine.ask("chloe", "w", title=f"Question {n}", body="?")
        engine.flag("ben", "question", question.id, reason="off-topic")
        engine.dismiss_flags("ana", "question", question.id, note="on topic")
    return [
        engine.flag("ben", "question", engine.ask("chloe", "w", title=f"Open {n}", body="?").id, reason="spam").id
        for n in range(open_flags)
    ]


def test_the_sqlite_queue_walks_the_index_of_open_flags_and_sorts_nothing(tmp_path: Path) -> None:
    with coplib.open(f"sqlite:///{tmp_path / 'c.db'}", people=PEOPLE, plugins=[coplib.RecordingNotifier()]) as e:
        wanted = _community_with_flags(e, open_flags=3, dismissed=20)
        assert [f.id for f in e.moderation_queue("ana", "w").items] == wanted
    sql, params = _sql.open_flags(SQLITE, "w", limit=10, after=None)
    conn = sqlite3.connect(tmp_path / "c.db")
    plan = " ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    assert "aggregates_open_flags" in plan
    assert "TEMP B-TREE" not in plan  # rows come in the queue's order: it stops after the page
    # Only the open flags have entries in the index.
    counted = "SELECT count(*) FROM aggregates INDEXED BY aggregates_open_flags WHERE kind = 'flag' AND status = 'open'"
    assert conn.execute(counted).fetchone() == (3,)


def test_a_sqlite_file_of_schema_8_has_its_flags_backfilled_when_it_is_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    with coplib.open(url, people=PEOPLE, plugins=[coplib.RecordingNotifier()]) as e:
        wanted = _community_with_flags(e, open_flags=2, dismissed=1)
    conn = sqlite3.connect(tmp_path / "c.db", isolation_level=None)
    conn.execute("DROP INDEX aggregates_open_flags")
    conn.execute("UPDATE aggregates SET status = NULL WHERE kind = 'flag'")  # as version 8 wrote them
    conn.execute("UPDATE schema_version SET version = 8")
    conn.close()
    with coplib.open(url, people=PEOPLE, plugins=[coplib.RecordingNotifier()]) as e:
        assert [f.id for f in e.moderation_queue("ana", "w").items] == wanted


@pytest.mark.postgres
def test_the_postgresql_queue_reads_the_open_flags_index_and_backfills_on_migration(fresh_postgres_url: str) -> None:
    pg_url = fresh_postgres_url
    with coplib.open(pg_url, people=PEOPLE, plugins=[coplib.RecordingNotifier()]) as e:
        wanted = _community_with_flags(e, open_flags=2, dismissed=5)
        assert [f.id for f in e.moderation_queue("ana", "w").items] == wanted
    sql, params = _sql.open_flags(POSTGRES, "w", limit=10, after=None)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")  # a tiny table: ask whether the index can serve it
        plan = " ".join(str(row[0]) for row in conn.execute(f"EXPLAIN {sql}", params))
        assert "coplib_aggregates_open_flags" in plan
        # A database migrated before version 5 (the open flags): no status on its flags, no index.
        conn.execute("DROP INDEX coplib_aggregates_open_flags")
        conn.execute("UPDATE coplib_aggregates SET status = NULL WHERE kind = 'flag'")
        conn.execute("DELETE FROM coplib_schema_migrations WHERE version >= 5")  # and those after it
    with coplib.open(pg_url, people=PEOPLE, plugins=[coplib.RecordingNotifier()]) as e:
        assert [f.id for f in e.moderation_queue("ana", "w").items] == wanted
