"""What only the SQLite store promises: its settings, its schema and migrations, where its file
may live, its query plans, and how its failures are reported."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

import coplib
from coplib.adapters.storage import _sql
from coplib.adapters.storage import sqlite as sqlite_adapter
from coplib.adapters.storage._index import index_row
from coplib.adapters.storage.memory import MemoryStore
from coplib.adapters.storage.sqlite import (
    LATEST_SCHEMA_VERSION,
    MIGRATIONS,
    SQLITE,
    NetworkFileSystemWarning,
    SQLiteStore,
    migrate,
    network_filesystem,
)
from coplib.domain import events as ev
from coplib.domain.community import Role
from coplib.domain.history import Ref
from coplib.ports.storage import Changeset, Filter
from coplib.serialization import aggregate_to_json, event_to_json, format_timestamp
from coplib.testing.contract import every_event
from coplib.testing.samples import MONDAY, SampleHistory


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "coplib.db"


@pytest.fixture
def store(db: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(db)
    yield opened
    opened.close()


def _plan(conn: sqlite3.Connection, sql: str, params: list[object]) -> str:
    return " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))


# -- settings ----------------------------------------------------------------------------------


def test_a_new_database_is_in_wal_mode_with_foreign_keys_and_a_busy_timeout(store: SQLiteStore, db: Path) -> None:
    conn = store._connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: durable across a power loss
    assert db.exists()


def test_durability_and_busy_timeout_can_be_set_in_the_url(db: Path) -> None:
    store = SQLiteStore.from_url(f"sqlite:///{db}?synchronous=normal&busy_timeout=250")
    try:
        conn = store._connection()
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 250
        assert store.url == f"sqlite:///{db}?synchronous=normal&busy_timeout=250"
    finally:
        store.close()


def test_an_unknown_option_is_refused_with_the_known_ones(db: Path) -> None:
    with pytest.raises(
        coplib.ConfigurationError, match=r"unknown SQLite option\(s\) journal.*busy_timeout, synchronous"
    ):
        SQLiteStore.from_url(f"sqlite:///{db}?journal=delete")
    with pytest.raises(coplib.ConfigurationError, match="synchronous must be one of"):
        SQLiteStore(db, synchronous="sometimes")
    with pytest.raises(coplib.ConfigurationError, match="busy_timeout"):
        SQLiteStore.from_url(f"sqlite:///{db}", {"busy_timeout": "soon"})


# -- URLs and coplib.open ----------------------------------------------------------------------


def test_a_relative_url_names_a_file_in_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    with coplib.open("sqlite:///data/relative.db") as engine:
        assert isinstance(engine.store, SQLiteStore)
        assert engine.store.url == "sqlite:///data/relative.db"
    assert (tmp_path / "data" / "relative.db").exists()


def test_an_absolute_url_has_four_slashes(tmp_path: Path) -> None:
    path = tmp_path / "absolute.db"
    with coplib.open(f"sqlite:///{path}") as engine:
        assert f"sqlite:///{path}".startswith("sqlite:////")
        assert engine.store.url == f"sqlite:///{path}"
    assert path.exists()


def test_opening_without_a_url_uses_the_sqlite_file_coplib_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert coplib.DEFAULT_URL == "sqlite:///coplib.db"
    with coplib.open() as engine:
        assert isinstance(engine.store, SQLiteStore)
        engine.create_organisation(coplib.SYSTEM, "Acme", organisation_id="acme")
    with coplib.open() as engine:
        assert engine.organisation(coplib.SYSTEM, "acme").name == "Acme"
    assert (tmp_path / "coplib.db").exists()


def test_an_unknown_scheme_is_refused_with_the_known_schemes() -> None:
    with pytest.raises(coplib.ConfigurationError, match=r"scheme 'mysql'; known schemes: .*memory.*sqlite"):
        coplib.open("mysql://localhost/coplib")


@pytest.mark.parametrize(
    "url",
    ["sqlite://host/coplib.db", "sqlite:coplib.db", "sqlite:///", "sqlite://"],
)
def test_a_malformed_sqlite_url_is_refused_with_the_right_forms(url: str) -> None:
    with pytest.raises(coplib.ConfigurationError, match=r"sqlite:///"):
        coplib.open(url)


# -- where the file lives ----------------------------------------------------------------------


def test_a_missing_directory_is_a_configuration_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such"
    with pytest.raises(coplib.ConfigurationError, match=f"directory {missing} .* does not exist"):
        coplib.open(f"sqlite:///{missing / 'coplib.db'}")


def test_a_directory_instead_of_a_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(coplib.ConfigurationError, match="is a directory: name a file inside it"):
        SQLiteStore(tmp_path)


def test_a_file_that_is_not_a_database_is_a_storage_error_with_the_cause(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are not the droids you are looking for\n" * 100)
    with pytest.raises(coplib.StorageError, match=f"{path} is not a valid SQLite database") as caught:
        SQLiteStore(path)
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)


def test_a_sqlite_file_of_another_application_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    conn.close()
    with pytest.raises(coplib.StorageError, match="not a coplib database"):
        SQLiteStore(path)


def test_a_database_on_a_network_file_system_is_warned_about(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/vda / ext4 rw 0 0\nserver:/export {tmp_path} nfs4 rw,relatime 0 0\n")
    monkeypatch.setattr(sqlite_adapter, "MOUNTS_FILE", str(mounts))
    with pytest.warns(NetworkFileSystemWarning, match=r"network file system \(nfs4\).*local disk"):
        store = SQLiteStore(tmp_path / "shared.db")
    store.close()


def test_a_database_on_a_local_disk_is_not_warned_about(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/vda / ext4 rw 0 0\ntmpfs {tmp_path} tmpfs rw 0 0\n")
    monkeypatch.setattr(sqlite_adapter, "MOUNTS_FILE", str(mounts))
    with warnings.catch_warnings():
        warnings.simplefilter("error", NetworkFileSystemWarning)
        SQLiteStore(tmp_path / "local.db").close()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/srv/data/coplib.db", "cifs"),
        ("/srv/data2/coplib.db", None),  # a prefix of the text, not of the path
        ("/srv/data/local/coplib.db", None),  # the longest mount point wins
        ("/mnt/my share/coplib.db", "fuse.sshfs"),  # /proc/mounts escapes spaces as \040
        ("/home/coplib.db", None),
        ("/9p/x.db", "9p"),
    ],
)
def test_the_file_system_of_a_path_is_found_from_the_mount_table(path: str, expected: str | None) -> None:
    mounts = "\n".join(
        [
            "/dev/vda / ext4 rw 0 0",
            "//nas/data /srv/data cifs rw 0 0",
            "/dev/vdb /srv/data/local xfs rw 0 0",
            "me@host:/ /mnt/my\\040share fuse.sshfs rw 0 0",
            "share /9p 9p rw 0 0",
            "garbage",
        ]
    )
    assert network_filesystem(Path(path), mounts) == expected


# -- schema and migrations ---------------------------------------------------------------------


def test_the_migrations_are_numbered_from_one_without_gaps() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert LATEST_SCHEMA_VERSION == len(MIGRATIONS) >= 3
    assert all(m.description for m in MIGRATIONS)


def test_a_new_database_is_created_at_the_latest_schema_version(store: SQLiteStore) -> None:
    conn = store._connection()
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(LATEST_SCHEMA_VERSION,)]
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"aggregates", "events", "outbox", "tags", "membership_roles", "schema_version"} <= tables
    columns = {row[1] for row in conn.execute("PRAGMA table_info(outbox)")}
    assert {
        "attempts",
        "next_attempt_at",
        "last_error",
        "status",
        "delivered_at",
        "claimed_by",
        "settled_at",
    } <= columns
    assert "due_at" in {row[1] for row in conn.execute("PRAGMA table_info(aggregates)")}


def test_a_version_one_database_is_migrated_on_open_and_keeps_its_data(db: Path) -> None:
    # Build a history, then write it the way coplib's schema version 1 stored it.
    scratch = MemoryStore()
    history = SampleHistory()
    refs = history.every_kind(scratch)
    cid = refs["community"].id
    history.answer(scratch, history.ask(scratch, cid, "dev"), "ben")
    history.ask(scratch, cid, "chloe", tags=("aluminium",))
    delivered, pending = scratch.pending_messages(limit=2)
    conn = sqlite3.connect(db, isolation_level=None)
    assert migrate(conn, target=1) == 0
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
    for ref, value in history.state.items():
        row = index_row(ref, value)
        conn.execute(
            "INSERT INTO aggregates (kind, id, community_id, person_id, parent_id, organisation_id, created_at, "
            "open_since, status, sort_name, version, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                ref.kind,
                ref.id,
                row.community_id,
                row.person_id,
                row.parent_id,
                getattr(value, "organisation_id", None) if ref.kind == "community" else None,
                format_timestamp(row.created_at) if row.created_at else None,
                format_timestamp(row.open_since) if row.open_since else None,
                row.status,
                row.sort_name,
                history.versions[ref],
                aggregate_to_json(value),
            ),
        )
    for recorded in every_event(scratch):
        e = recorded.event
        conn.execute(
            "INSERT INTO events (position, id, type, community_id, actor_id, occurred_at, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                recorded.position,
                e.id,
                e.TYPE,
                e.community_id,
                e.actor_id,
                format_timestamp(e.occurred_at),
                event_to_json(e),
            ),
        )
    for message, delivered_at in ((delivered, format_timestamp(MONDAY)), (pending, None)):
        conn.execute(
            "INSERT INTO outbox (id, event_id, recipient_id, topic, community_id, created_at, params, delivered_at) "
            "VALUES (?, ?, ?, ?, ?, ?, '{}', ?)",
            (
                message.id,
                message.event_id,
                message.recipient_id,
                message.topic,
                message.community_id,
                format_timestamp(message.created_at),
                delivered_at,
            ),
        )
    conn.close()

    store = SQLiteStore(db)
    try:
        conn2 = store._connection()
        assert conn2.execute("SELECT version FROM schema_version").fetchall() == [(LATEST_SCHEMA_VERSION,)]
        assert [r.event for r in every_event(store)] == [r.event for r in every_event(scratch)]
        for ref, value in history.state.items():
            found = store.get(ref)
            assert found is not None and found.value == value and found.version == history.versions[ref]
        # the side tables were backfilled: tag and role queries answer as before
        assert store.unanswered_questions(cid, tag="aluminium") == scratch.unanswered_questions(cid, tag="aluminium")
        assert store.unanswered_questions(cid, tag="aluminium")
        assert store.members(cid, role=Role.EXPERT, tag="aluminium") == scratch.members(
            cid, role=Role.EXPERT, tag="aluminium"
        )
        assert store.members(cid, role=Role.FACILITATOR) == scratch.members(cid, role=Role.FACILITATOR)
        # the delivery bookkeeping knows what was delivered
        statuses = dict(conn2.execute("SELECT id, status FROM outbox").fetchall())
        assert statuses == {delivered.id: "delivered", pending.id: "pending"}
        assert [m.id for m in store.pending_messages()] == [pending.id]
        entries = {e.message.id: e for e in store.outbox()}
        assert entries[delivered.id].settled_at == MONDAY
        assert entries[pending.id].next_attempt_at == pending.created_at
        assert entries[pending.id].status is coplib.DeliveryStatus.PENDING
        # and writing goes on
        history.ask(store, cid, "dev", tags=("aluminium",))
    finally:
        store.close()


def test_each_migration_step_applies_on_top_of_the_previous_one(tmp_path: Path) -> None:
    for target in range(1, LATEST_SCHEMA_VERSION + 1):
        conn = sqlite3.connect(tmp_path / f"v{target}.db", isolation_level=None)
        assert migrate(conn, target=target) == 0
        assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == target
        assert migrate(conn) == target
        assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == LATEST_SCHEMA_VERSION
        assert migrate(conn) == LATEST_SCHEMA_VERSION  # nothing left to do
        conn.close()


def test_a_database_written_by_a_newer_coplib_is_refused_naming_both_versions(db: Path) -> None:
    SQLiteStore(db).close()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("UPDATE schema_version SET version = ?", (LATEST_SCHEMA_VERSION + 7,))
    conn.close()
    with pytest.raises(coplib.StorageError) as caught:
        SQLiteStore(db)
    message = str(caught.value)
    assert f"schema version {LATEST_SCHEMA_VERSION + 7}" in message
    assert f"up to {LATEST_SCHEMA_VERSION}" in message
    assert "upgrade coplib" in message


# -- queries run as indexed SQL ----------------------------------------------------------------


def test_the_unanswered_query_walks_the_partial_index_of_open_questions(store: SQLiteStore) -> None:
    SampleHistory().every_kind(store)
    conn = store._connection()
    plan = _plan(conn, *_sql.unanswered_questions(SQLITE, "c-1", asked_before=MONDAY, limit=10, after=(MONDAY, "q")))
    assert "USING INDEX aggregates_open_questions (community_id=?" in plan
    assert "TEMP B-TREE" not in plan and "SCAN" not in plan
    tagged = _plan(conn, *_sql.unanswered_questions(SQLITE, "c-1", tag="aluminium", limit=10))
    assert "tags_lookup (kind=? AND community_id=? AND tag=?" in tagged
    assert "TEMP B-TREE" not in tagged and "SCAN" not in tagged
    # Of every community: still the open questions only (their index, read whole).
    everywhere = _plan(conn, *_sql.unanswered_questions(SQLITE, None, limit=10))
    assert "aggregates_open_questions" in everywhere


def test_the_other_queries_search_an_index_rather_than_scan(store: SQLiteStore) -> None:
    SampleHistory().every_kind(store)
    conn = store._connection()
    statements: list[tuple[str, list[object]]] = []
    original = conn

    class Spy:
        """Records each statement the store runs, to explain its plan afterwards."""

        def execute(self, sql: str, params: tuple[object, ...] | list[object] = ()) -> sqlite3.Cursor:
            if sql.lstrip().upper().startswith(("SELECT", "WITH")):
                statements.append((sql, list(params)))
            return original.execute(sql, params)

        def __getattr__(self, name: str) -> object:
            return getattr(original, name)

    store._conn = Spy()  # type: ignore[assignment]
    try:
        store.find("answer", Filter(parent_id="q"))
        store.find("question", Filter(community_id="c", since=MONDAY), limit=5)
        store.find("question", Filter(person_id="ana"))
        store.members("c", role=Role.EXPERT)
        store.members("c", tag="aluminium")
        store.members("c")
        store.communities("o")
        store.events(community_id="c", after=3, limit=10)
        store.events(after=3, limit=10)
        store.activity("ana", since=MONDAY, until=MONDAY + timedelta(days=1))
        store.count_events("c", since=MONDAY, until=MONDAY + timedelta(days=1), period=coplib.Period.WEEK)
        store.pending_messages()
        store.outbox(status=coplib.DeliveryStatus.DEAD)
        store.outbox(recipient_id="chloe")
        store.find_due("policy_failure", before=MONDAY)
        store.count("question", Filter(community_id="c", person_id="ana"))
        store.get_many([Ref("question", "q"), Ref("community", "c"), Ref("membership", "c/ana")])
    finally:
        store._conn = original
    assert len(statements) == 17
    for sql, params in statements:
        plan = _plan(conn, sql, params)
        assert "SEARCH" in plan, (sql, plan)
        assert "SCAN aggregates " not in plan + " " and "SCAN events " not in plan + " ", (sql, plan)


def test_claiming_walks_the_index_of_pending_messages_by_due_time(store: SQLiteStore) -> None:
    now = "2026-01-05T00:00:00.000000Z"
    plan = _plan(store._connection(), _sql.due_messages(SQLITE), [now, now, 10])
    assert "USING INDEX outbox_due (next_attempt_at<?)" in plan and "TEMP B-TREE" not in plan


# -- failures ----------------------------------------------------------------------------------


def test_a_writer_kept_waiting_past_the_busy_timeout_gets_a_storage_error(db: Path) -> None:
    store = SQLiteStore(db, busy_timeout=100)
    history = SampleHistory()
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(coplib.StorageError, match="another process held the write lock") as caught:
            history.found_organisation(store)
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    history.found_organisation(store)  # the lock is gone: it works again
    assert len(store.events()) == 1
    store.close()


def test_a_message_about_an_unknown_event_is_refused_by_the_foreign_key(store: SQLiteStore) -> None:
    history = SampleHistory()
    history.found_organisation(store)
    event = ev.OrganisationCreated(**history.base("eve", None), organisation_id="o-9", name="Ghost")
    message = history.message(event, "ana", "welcome")
    with pytest.raises(coplib.StorageError, match="FOREIGN KEY") as caught:
        store.commit(Changeset(messages=(message,)))
    assert isinstance(caught.value.__cause__, sqlite3.IntegrityError)
    assert store.pending_messages() == []


def test_an_event_id_stored_twice_is_a_conflict(store: SQLiteStore) -> None:
    history = SampleHistory()
    history.found_organisation(store)
    again = every_event(store)[0].event
    with pytest.raises(coplib.ConflictError, match="event ids are unique"):
        store.commit(Changeset(events=(again,)))
    assert len(every_event(store)) == 1


def test_a_negative_limit_is_invalid_input(store: SQLiteStore) -> None:
    with pytest.raises(coplib.InvalidInputError, match=r"\$\.limit"):
        store.find("question", limit=-1)
    with pytest.raises(coplib.InvalidInputError, match=r"\$\.limit"):
        store.events(limit=-5)


def test_one_store_serves_many_threads_reading_and_writing(store: SQLiteStore) -> None:
    history = SampleHistory()
    oid = history.found_organisation(store)
    cid = history.found_community(store, oid)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def ask(n: int) -> None:
        try:
            for i in range(10):
                with lock:
                    qid = history.ask(store, cid, "ana", question_id=f"q-{n}-{i}")
                assert store.get(Ref("question", qid)) is not None
                store.unanswered_questions(cid)
        except BaseException as exc:  # reported to the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(store.unanswered_questions(cid, limit=1000)) == 40


def test_the_store_reads_back_what_another_connection_wrote_even_with_a_warm_cache(db: Path) -> None:
    first, second = SQLiteStore(db), SQLiteStore(db)
    history = SampleHistory()
    oid = history.found_organisation(first)
    cid = history.found_community(first, oid)
    assert second.get(Ref("community", cid)) is not None  # warms second's cache at version 1
    history.update_community(first, cid, name="Renamed elsewhere")
    found = second.get(Ref("community", cid))
    assert found is not None and found.version == 2 and found.value == history.get("community", cid)
    first.close()
    second.close()
