"""What the PostgreSQL store adds to the contract: URLs and options, errors a host sees,
migrations, and writers in several stores and processes sharing one database."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import attrs
import psycopg
import pytest

import coplib
from coplib.adapters.storage import postgres as pg_adapter
from coplib.adapters.storage.memory import MemoryStore
from coplib.adapters.storage.postgres import PostgresStore, PostgresStorePlugin, mask_password
from coplib.domain import events as ev
from coplib.domain.community import Community
from coplib.domain.contributions import Question
from coplib.domain.errors import ConcurrencyConflictError, ConfigurationError, StorageError
from coplib.domain.history import Ref
from coplib.ports.hookspecs import hookimpl
from coplib.ports.storage import Changeset, DeliveryStatus, Filter, Outcome, Store, Write
from coplib.service.engine import Engine
from coplib.testing.contract import every_event, open_engine_on
from coplib.testing.pgserver import with_search_path
from coplib.testing.samples import MONDAY, SampleHistory, sample_people

pytestmark = pytest.mark.postgres


@pytest.fixture
def open_store(fresh_postgres_url: str) -> Iterator[Callable[..., PostgresStore]]:
    opened: list[PostgresStore] = []

    def open_(url: str | None = None, **settings: Any) -> PostgresStore:
        store = PostgresStore(url or fresh_postgres_url, **settings)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _schema_versions(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT version, description FROM coplib_schema_migrations ORDER BY version").fetchall()
    return [(int(v), str(d)) for v, d in rows]


# -- URLs, options and errors -------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_coplib_open_gives_an_engine_on_a_postgres_store_for_both_url_schemes(
    fresh_postgres_url: str, scheme: str
) -> None:
    url = scheme + "://" + fresh_postgres_url.split("://", 1)[1]
    with coplib.open(url, people=sample_people()) as engine:
        assert isinstance(engine.store, PostgresStore)
        org = engine.create_organisation(coplib.SYSTEM, "Acme")
        assert engine.organisation(coplib.SYSTEM, org.id) == org


def test_the_plugin_lists_both_schemes_and_leaves_other_urls_to_other_plugins() -> None:
    plugin = PostgresStorePlugin()
    assert plugin.coplib_store_schemes() == ["postgresql", "postgres"]
    assert plugin.coplib_open_store(url="sqlite:///x.db", options={}) is None
    assert plugin.coplib_open_store(url="memory://", options={}) is None


def test_the_password_is_masked_in_the_store_url_and_its_repr(fresh_postgres_url: str) -> None:
    # The test server trusts loopback connections, so any password is accepted.
    url = fresh_postgres_url.replace("postgres@", "postgres:hunter2@", 1)
    store = PostgresStore(url)
    try:
        assert "hunter2" not in store.url
        assert "postgres:***@127.0.0.1" in store.url
        assert "hunter2" not in repr(store)
    finally:
        store.close()


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://app:s3cret@db.internal:5432/coplib", "postgresql://app:***@db.internal:5432/coplib"),
        ("postgresql://app@db.internal/coplib?password=s3cret", "postgresql://app@db.internal/coplib?password=***"),
        ("postgresql://db.internal/coplib", "postgresql://db.internal/coplib"),
    ],
)
def test_mask_password_hides_a_password_in_the_user_part_or_the_query(url: str, masked: str) -> None:
    assert mask_password(url) == masked


def test_a_url_with_an_unknown_parameter_is_a_configuration_error_naming_it() -> None:
    with pytest.raises(ConfigurationError, match=r"invalid PostgreSQL URL.*bogus"):
        PostgresStore("postgresql://postgres@127.0.0.1:1/db?bogus=1")


def test_a_url_of_another_scheme_is_refused_by_the_store() -> None:
    with pytest.raises(ConfigurationError, match="not a PostgreSQL URL"):
        PostgresStore("mysql://localhost/db")


def test_an_unreachable_server_is_one_storage_error_naming_the_masked_url() -> None:
    url = f"postgresql://app:s3cret@127.0.0.1:{_free_port()}/coplib"
    with pytest.raises(StorageError, match="cannot connect to the PostgreSQL server") as caught:
        coplib.open(url, options={"connect_timeout": 2})
    message = str(caught.value)
    assert "app:***@127.0.0.1" in message
    assert "s3cret" not in message
    assert "check that the server is running" in message
    assert isinstance(caught.value.__cause__, psycopg.OperationalError)


def test_a_missing_database_is_a_storage_error(postgres_url: str) -> None:
    url = postgres_url.rsplit("/", 1)[0] + "/no_such_database"
    with pytest.raises(StorageError, match="no_such_database"):
        PostgresStore(url)


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"busy_timeout": 5}, "unknown PostgreSQL store option.*'busy_timeout'"),
        ({"connect_timeout": 0}, "'connect_timeout' is a number of seconds > 0"),
        ({"lock_timeout": "soon"}, "'lock_timeout' is a number of seconds > 0"),
        ({"application_name": 7}, "'application_name' is a string"),
    ],
)
def test_bad_options_are_a_configuration_error_saying_what_is_accepted(
    postgres_url: str, options: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ConfigurationError, match=complaint):
        PostgresStorePlugin().coplib_open_store(url=postgres_url, options=options)


def test_without_psycopg_opening_a_store_says_to_install_the_postgres_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # makes `import psycopg` fail
    with pytest.raises(ConfigurationError, match=r"pip install coplib\[postgres\]"):
        PostgresStore("postgresql://postgres@127.0.0.1/db")


def test_importing_coplib_does_not_import_psycopg() -> None:
    code = "import sys, coplib, coplib.adapters.storage.postgres; print('psycopg' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_closed_store_refuses_every_call(open_store: Callable[..., PostgresStore]) -> None:
    store = open_store()
    store.close()
    store.close()  # closing twice is harmless
    with pytest.raises(StorageError, match="is closed"):
        store.get(Ref("community", "c1"))
    with pytest.raises(StorageError, match="is closed"):
        store.commit(Changeset())


def test_a_dropped_connection_fails_one_call_and_the_next_one_reconnects(
    open_store: Callable[..., PostgresStore], postgres_url: str
) -> None:
    store = open_store(application_name="coplib-dropped")
    SampleHistory().found_organisation(store)
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'coplib-dropped'"
        )
    with pytest.raises(StorageError, match="reconnects on the next call"):
        store.events()
    assert [r.position for r in store.events()] == [1]


# -- migrations ---------------------------------------------------------------------------------


def test_opening_an_empty_database_creates_the_schema_at_the_latest_version(
    open_store: Callable[..., PostgresStore], fresh_postgres_url: str
) -> None:
    open_store()
    assert [v for v, _ in _schema_versions(fresh_postgres_url)] == list(range(1, pg_adapter.SCHEMA_VERSION + 1))


def test_reopening_a_current_database_applies_nothing(
    open_store: Callable[..., PostgresStore], fresh_postgres_url: str
) -> None:
    open_store().close()
    before = _schema_versions(fresh_postgres_url)
    open_store()
    assert _schema_versions(fresh_postgres_url) == before


def test_a_forward_migration_is_applied_on_the_next_open_and_data_survives(
    open_store: Callable[..., PostgresStore], fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = SampleHistory()
    store = open_store()
    oid = history.found_organisation(store)
    store.close()
    extra = ("a test migration", ("CREATE TABLE coplib_test_extra (note text)",))
    monkeypatch.setattr(pg_adapter, "MIGRATIONS", (*pg_adapter.MIGRATIONS, extra))
    reopened = open_store()
    versions = _schema_versions(fresh_postgres_url)
    assert versions[-1] == (pg_adapter.SCHEMA_VERSION + 1, "a test migration")
    assert reopened.get(Ref("organisation", oid)) is not None


def test_a_database_written_by_a_newer_coplib_is_refused_and_left_unchanged(
    open_store: Callable[..., PostgresStore], fresh_postgres_url: str
) -> None:
    open_store().close()
    newer = pg_adapter.SCHEMA_VERSION + 1
    with psycopg.connect(fresh_postgres_url, autocommit=True) as conn:
        conn.execute("INSERT INTO coplib_schema_migrations (version, description) VALUES (%s, 'future')", (newer,))
    with pytest.raises(StorageError, match=f"schema version {newer}.*newer coplib.*upgrade coplib"):
        open_store()
    assert _schema_versions(fresh_postgres_url)[-1] == (newer, "future")


def test_stores_opened_at_once_on_an_empty_database_migrate_it_once(fresh_postgres_url: str) -> None:
    barrier = threading.Barrier(4)
    stores: list[PostgresStore] = []
    errors: list[BaseException] = []

    def open_() -> None:
        barrier.wait()
        try:
            stores.append(PostgresStore(fresh_postgres_url))
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=open_) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for store in stores:
        store.close()
    assert errors == []
    assert len(stores) == 4
    assert [v for v, _ in _schema_versions(fresh_postgres_url)] == list(range(1, pg_adapter.SCHEMA_VERSION + 1))


def test_two_deployments_in_two_schemas_of_one_database_do_not_see_each_other(
    open_store: Callable[..., PostgresStore], postgres_url: str, fresh_postgres_url: str
) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute('CREATE SCHEMA "coplib_other_deployment"')
    try:
        other = PostgresStore(with_search_path(postgres_url, "coplib_other_deployment"))
        mine = open_store()
        SampleHistory().found_organisation(mine)
        assert len(mine.events()) == 1
        assert other.events() == []
        other.close()
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute('DROP SCHEMA "coplib_other_deployment" CASCADE')


# -- concurrent writers -------------------------------------------------------------------------


def test_two_stores_writing_the_same_aggregate_give_exactly_one_conflict(
    open_store: Callable[..., PostgresStore],
) -> None:
    history = SampleHistory()
    first, second = open_store(), open_store()
    cid = history.found_community(first, history.found_organisation(first))
    ref = Ref("community", cid)
    seen_by_first, seen_by_second = first.get(ref), second.get(ref)
    assert seen_by_first is not None and isinstance(seen_by_first.value, Community)
    assert seen_by_second is not None and isinstance(seen_by_second.value, Community)
    version = seen_by_first.version
    first.commit(
        Changeset(writes=(Write(ref, attrs.evolve(seen_by_first.value, name="Renamed by the first"), version),))
    )
    stale = Write(ref, attrs.evolve(seen_by_second.value, name="Renamed by the second"), seen_by_second.version)
    with pytest.raises(ConcurrencyConflictError) as caught:
        second.commit(Changeset(writes=(stale,)))
    assert (caught.value.kind, caught.value.id, caught.value.expected, caught.value.actual) == (
        "community",
        cid,
        version,
        version + 1,
    )
    final = second.get(ref)
    assert final is not None and isinstance(final.value, Community)
    assert final.value.name == "Renamed by the first"


def test_the_engine_retries_a_command_that_lost_a_race_and_it_succeeds(
    open_store: Callable[..., PostgresStore],
) -> None:
    history = SampleHistory()
    seed = open_store()
    cid = history.found_community(seed, history.found_organisation(seed))
    for person in ("ben", "chloe", "dev"):
        history.join(seed, cid, person)
    qid = history.ask(seed, cid, "dev")
    rival = open_engine_on(open_store())

    class AnswerFirst:
        """Within the first attempt's unit of work, let a rival engine answer the same question."""

        raced = False

        @hookimpl
        def coplib_compose_messages(self, event: Any, store: Any) -> list[Any]:
            if not self.raced:
                self.raced = True
                rival.answer("chloe", qid, body="Use a spool gun.")
            return []

    engine = open_engine_on(open_store())
    engine.plugin_manager.register(AnswerFirst())
    engine.answer("ben", qid, body="Preheat the piece first.")
    thread = engine.question("dev", qid)
    assert thread.question.answer_count == 2
    assert sorted(a.author_id for a in thread.answers) == ["ben", "chloe"]


_WRITER = """
import sys
from coplib.adapters.storage.postgres import PostgresStore
from coplib.domain.errors import ConcurrencyConflictError
from coplib.testing.contract import open_engine_on

url, person, question_id, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
engine = open_engine_on(PostgresStore(url))
engine.max_attempts = 1000
for n in range(count):
    engine.answer(person, question_id, body=f"answer {n} by {person}")
engine.close()
"""


def test_two_processes_answering_one_question_at_once_lose_nothing(
    open_store: Callable[..., PostgresStore], fresh_postgres_url: str
) -> None:
    history = SampleHistory()
    store = open_store()
    cid = history.found_community(store, history.found_organisation(store))
    for person in ("ben", "chloe", "dev"):
        history.join(store, cid, person)
    qid = history.ask(store, cid, "dev")
    per_process = 40
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, fresh_postgres_url, person, qid, str(per_process)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for person in ("ben", "chloe")
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
    question = store.get(Ref("question", qid))
    assert question is not None and isinstance(question.value, Question)
    assert question.value.answer_count == 2 * per_process
    assert len(store.find("answer", Filter(parent_id=qid))) == 2 * per_process
    recorded = every_event(store)
    assert [r.position for r in recorded] == list(range(1, len(recorded) + 1))
    assert sum(isinstance(r.event, ev.AnswerPosted) for r in recorded) == 2 * per_process
    told_the_asker = [e for e in store.outbox(recipient_id="dev", limit=1000) if e.message.topic == "answer_posted"]
    assert len(told_the_asker) == 2 * per_process


def test_a_lock_timeout_turns_a_stuck_events_lock_into_a_storage_error(
    open_store: Callable[..., PostgresStore], fresh_postgres_url: str
) -> None:
    history = SampleHistory()
    store = open_store(lock_timeout=0.2)
    history.found_organisation(store)
    with psycopg.connect(fresh_postgres_url) as blocker:
        blocker.execute("LOCK TABLE coplib_events IN EXCLUSIVE MODE")
        with pytest.raises(StorageError, match="lock timeout"):
            history.found_organisation(store)
        blocker.rollback()
    assert len(store.events()) == 1


def test_an_engine_over_postgres_is_usable_from_several_threads(open_store: Callable[..., PostgresStore]) -> None:
    store = open_store()
    engine: Engine = open_engine_on(store)
    org = engine.create_organisation(coplib.SYSTEM, "Acme")
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(5):
                engine.create_community("ana", org.id, name=f"Community {n}-{i}", vocation="Help each other")
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(store.communities(org.id)) == 20


# -- outbox delivery and timers -----------------------------------------------------------------


def _three_answers(store: Store) -> None:
    """The same history on any store: dev's question gets three answers, each a message."""
    history = SampleHistory()
    cid = history.found_community(store, history.found_organisation(store))
    for person in ("ben", "dev"):
        history.join(store, cid, person)
    qid = history.ask(store, cid, "dev")
    for _ in range(3):
        history.answer(store, qid, "ben")


def test_outbox_claims_settlements_and_requeues_behave_as_in_the_memory_store(
    open_store: Callable[..., PostgresStore],
) -> None:
    stores: list[Store] = [MemoryStore(), open_store()]
    for store in stores:
        _three_answers(store)
    now = MONDAY + timedelta(days=1)
    lease = timedelta(minutes=5)

    def same(operation: Callable[[Store], Any]) -> Any:
        expected, actual = (operation(store) for store in stores)
        assert actual == expected
        return actual

    first = same(lambda s: s.claim_messages(worker="w1", now=now, lease=lease, limit=2))
    assert [e.claimed_by for e in first] == ["w1", "w1"]
    second = same(lambda s: s.claim_messages(worker="w2", now=now, lease=lease))
    assert len(second) == 1
    assert same(lambda s: s.claim_messages(worker="w3", now=now, lease=lease)) == []
    outcomes = [
        Outcome(first[0].message.id, DeliveryStatus.DELIVERED, at=now),
        Outcome(first[1].message.id, DeliveryStatus.PENDING, at=now, next_attempt_at=now + lease, error="timeout"),
        Outcome(second[0].message.id, DeliveryStatus.DEAD, at=now, error="not w1's to settle"),
    ]
    assert same(lambda s: s.settle_messages(outcomes, worker="w1")) == 2
    assert same(lambda s: s.settle_messages([attrs.evolve(outcomes[2], error="bounced")], worker="w2")) == 1
    dead = same(lambda s: s.outbox(status=DeliveryStatus.DEAD))
    assert [(e.last_error, e.attempts) for e in dead] == [("bounced", 1)]
    same(lambda s: s.outbox(recipient_id="dev"))
    same(lambda s: s.pending_messages())
    assert same(lambda s: s.requeue([dead[0].message.id, first[0].message.id], now=now)) == 1
    later = same(lambda s: s.claim_messages(worker="w4", now=now + 2 * lease, lease=lease))
    assert len(later) == 2
    same(lambda s: s.mark_delivered([e.message.id for e in later], at=now + 2 * lease))
    assert same(lambda s: s.pending_messages()) == []
    assert len(same(lambda s: s.outbox(status=DeliveryStatus.DELIVERED))) == 3


def test_two_dispatchers_claiming_at_once_never_get_the_same_message(
    open_store: Callable[..., PostgresStore],
) -> None:
    store = open_store()
    _three_answers(store)
    others = [open_store() for _ in range(3)]
    now = MONDAY + timedelta(days=1)
    barrier = threading.Barrier(3)
    claimed: list[list[str]] = [[], [], []]

    def claim(index: int) -> None:
        barrier.wait()
        found = others[index].claim_messages(worker=f"w{index}", now=now, lease=timedelta(minutes=5), limit=1)
        claimed[index] = [e.message.id for e in found]

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    every = [mid for ids in claimed for mid in ids]
    assert len(every) == len(set(every)) == 3


def test_find_due_answers_like_the_memory_store_for_kinds_without_timers(
    open_store: Callable[..., PostgresStore],
) -> None:
    stores: list[Store] = [MemoryStore(), open_store()]
    for store in stores:
        _three_answers(store)
    later = MONDAY + timedelta(days=30)
    assert [s.find_due("question", before=later) for s in stores] == [[], []]
