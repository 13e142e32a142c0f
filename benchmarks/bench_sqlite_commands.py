"""Commands per second through the engine on a SQLite file, one unit of work per contribution,
against raw sqlite3 writing the same rows with one commit each, under the same settings (WAL
and the same ``synchronous``); and against eventsourcing's SQLite recorder storing one event
of the same size per contribution.

    python -m benchmarks.bench_sqlite_commands [--quick] [--repeat N] [--dir DIR]

Target (issue 3): coplib with its default plugins >= 0.6 of raw; ahead of the peer.
"""

from __future__ import annotations

import sqlite3
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    from benchmarks import _common as common
    from benchmarks import _workload as work
except ImportError:  # run as a file: python benchmarks/bench_sqlite_commands.py
    import _common as common  # type: ignore[no-redef,import-not-found]
    import _workload as work  # type: ignore[no-redef,import-not-found]

from coplib.adapters.storage.sqlite import migrate
from coplib.serialization import FAST_JSON

TARGET = 0.6
WARMUP_COMMANDS = 40
SYNCHRONOUS_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def raw_connection(path: Path, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    return conn


class Files:
    """A new database file name for each run."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = 0

    def __call__(self, name: str) -> Path:
        self.count += 1
        return self.directory / f"{name}-{self.count}.db"


class CoplibRun:
    """One round: a fresh file and community, warm-up commands, then `count` timed commands."""

    def __init__(
        self, files: Files, count: int, block: list[str], options: dict[str, str], follow: str = "unit"
    ) -> None:
        self.files, self.count, self.block, self.options, self.follow = files, count, block, options, follow
        self.census: work.Census | None = None
        self.synchronous = ""
        self.policies: list[str] = []

    def __call__(self) -> float:
        path = self.files("coplib")
        engine = work.open_engine(f"sqlite:///{path}", block=self.block, options=self.options, follow=self.follow)
        try:
            self.policies = [policy.name for policy in engine.policies]
            cid = work.found_community(engine)
            work.contributions(engine, cid, WARMUP_COMMANDS)
            engine.drain()
            with sqlite3.connect(path) as probe:
                mark = work.sqlite_mark(probe)

            def run() -> None:
                work.contributions(engine, cid, self.count, start=WARMUP_COMMANDS)
                engine.drain()  # with a follower, until it has caught up: its time counts

            seconds = common.timed(run)
            with sqlite3.connect(path) as probe:
                self.census = work.sqlite_census(probe, mark)
                store: Any = engine.store
                self.synchronous = SYNCHRONOUS_NAMES[store._connection().execute("PRAGMA synchronous").fetchone()[0]]
        finally:
            engine.close()
        return seconds


class RawRun:
    """One round of raw sqlite3: the same rows, one ``BEGIN IMMEDIATE`` ... ``COMMIT`` per unit,
    `executemany` per table; in minimal tables (primary keys only) or in coplib's own schema."""

    def __init__(self, files: Files, units: list[work.RawUnit], synchronous: str, *, coplib_schema: bool) -> None:
        self.files, self.units, self.synchronous, self.coplib_schema = files, units, synchronous, coplib_schema

    def __call__(self) -> float:
        conn = raw_connection(self.files("raw"), self.synchronous)
        if self.coplib_schema:
            migrate(conn)
        else:
            for statement in work.RAW_SQLITE_SCHEMA:
                conn.execute(statement)
        inserts = work.RAW_SQLITE_INSERTS

        def run() -> None:
            for unit in self.units:
                conn.execute("BEGIN IMMEDIATE")
                for sql, rows in zip(inserts, work.unit_rows(unit)):
                    if rows:
                        conn.executemany(sql, rows)
                conn.execute("COMMIT")

        try:
            return common.timed(run)
        finally:
            conn.close()


class PeerRun:
    """eventsourcing's SQLite application recorder, one stored event per contribution, one
    `insert_events` call (one transaction) each, with the same pragmas.

    With `mapped` (the comparison the target is judged on), each round does what a command
    does in eventsourcing: the aggregate made from the input, its event collected, mapped to a
    stored event (JSON) and recorded, as coplib's timed commands start from input too. Without
    it, the stored events are built beforehand: the recorder alone, writing bytes it is given.
    """

    def __init__(self, files: Files, count: int, size: int, synchronous: str, *, mapped: bool) -> None:
        self.files, self.count, self.size, self.synchronous = files, count, size, synchronous
        self.mapped = mapped

    def __call__(self) -> float:
        from eventsourcing.persistence import StoredEvent

        recorder, datastore = peer_recorder(self.files("peer"), self.synchronous)
        if self.mapped:
            question_class, mapper = peer_domain()
            tags = list(work.TAGS)

            def run() -> None:
                for i in range(self.count):
                    question = question_class(
                        community_id="welding",
                        asker_id="p01",
                        title=work.TITLE.format(i),
                        body=work.QUESTION,
                        tags=tags,
                    )
                    recorder.insert_events([mapper.to_stored_event(e) for e in question.collect_events()])

        else:
            state = b"x" * self.size
            stored = [
                StoredEvent(originator_id=uuid.uuid4(), originator_version=1, topic="coplib:QuestionAsked", state=state)
                for _ in range(self.count)
            ]

            def run() -> None:
                for event in stored:
                    recorder.insert_events([event])

        try:
            return common.timed(run)
        finally:
            datastore.close()


_PEER_DOMAIN: list[tuple[Any, Any]] = []


def peer_domain() -> tuple[Any, Any]:
    """The peer's side of the workload: an eventsourcing aggregate for a question (created by
    one event holding what coplib's `QuestionAsked` holds) and a mapper writing events as JSON
    with the transcodings a real application registers (datetimes, UUIDs)."""
    if not _PEER_DOMAIN:
        from eventsourcing.domain import Aggregate, event
        from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Mapper, UUIDAsHex

        class PeerQuestion(Aggregate):
            @event("Asked")
            def __init__(self, community_id: str, asker_id: str, title: str, body: str, tags: list[str]) -> None:
                self.community_id, self.asker_id, self.title, self.body, self.tags = (
                    community_id,
                    asker_id,
                    title,
                    body,
                    tags,
                )

        transcoder = JSONTranscoder()
        transcoder.register(DatetimeAsISO())
        transcoder.register(UUIDAsHex())
        _PEER_DOMAIN.append((PeerQuestion, Mapper(transcoder=transcoder)))
    return _PEER_DOMAIN[0]


def peer_question_events(count: int) -> list[Any]:
    """`count` question events of the peer's domain, made beforehand (for the bulk path,
    which starts from events as coplib's `import_history` does)."""
    question_class, _ = peer_domain()
    tags = list(work.TAGS)
    return [
        e
        for i in range(count)
        for e in question_class(
            community_id="welding", asker_id="p01", title=work.TITLE.format(i), body=work.QUESTION, tags=tags
        ).collect_events()
    ]


class PeerRawRun:
    """Raw sqlite3 writing the peer's rows: one row, one commit each, in the peer's table."""

    def __init__(self, files: Files, count: int, size: int, synchronous: str) -> None:
        self.files, self.count, self.size, self.synchronous = files, count, size, synchronous

    def __call__(self) -> float:
        conn = raw_connection(self.files("peer-raw"), self.synchronous)
        conn.execute(
            "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, topic TEXT, state BLOB, "
            "PRIMARY KEY (originator_id, originator_version))"
        )
        rows = [(uuid.uuid4().hex, 1, "coplib:QuestionAsked", b"x" * self.size) for _ in range(self.count)]

        def run() -> None:
            for row in rows:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO stored_events VALUES (?, ?, ?, ?)", row)
                conn.execute("COMMIT")

        try:
            return common.timed(run)
        finally:
            conn.close()


def peer_recorder(path: Path, synchronous: str, *, kind: str = "application") -> tuple[Any, Any]:
    """eventsourcing's SQLite recorder (`kind` "application": SQLiteApplicationRecorder, with
    its notification ids; "aggregate": SQLiteAggregateRecorder) on `path`, its connections set
    like coplib's (WAL, which eventsourcing sets itself, and `synchronous`)."""
    from eventsourcing.sqlite import (
        SQLiteAggregateRecorder,
        SQLiteApplicationRecorder,
        SQLiteConnectionPool,
        SQLiteDatastore,
    )

    class Pool(SQLiteConnectionPool):
        def _create_connection(self) -> Any:
            connection = super()._create_connection()
            connection._sqlite_conn.execute(f"PRAGMA synchronous = {synchronous}")
            return connection

    datastore = SQLiteDatastore(str(path), pool_size=1)
    datastore.pool.close()
    datastore.pool = Pool(db_name=str(path), pool_size=1)
    recorder = (SQLiteApplicationRecorder if kind == "application" else SQLiteAggregateRecorder)(datastore)
    recorder.create_table()
    with datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA synchronous")
        found = SYNCHRONOUS_NAMES[cursor.fetchone()[0]]
        cursor.execute("PRAGMA journal_mode")
        mode = cursor.fetchone()[0]
    if found != synchronous or mode.lower() != "wal":
        raise RuntimeError(f"the peer runs with synchronous={found}, journal_mode={mode}")
    return recorder, datastore


def peer_available() -> bool:
    try:
        import eventsourcing.sqlite  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    args = common.arguments(__doc__.splitlines()[0] if __doc__ else "").parse_args(argv)
    count = 100 if args.quick else 1000
    repeat = args.repeat or (1 if args.quick else 5)
    summary: common.Summary = []
    with common.workdir(args.dir) as directory:
        common.machine_facts(directory, {"workload": f"{count} commands per round, best of {repeat} rounds"})
        files = Files(directory)
        blocked = work.policy_plugins()
        # A first round of each coplib flavour warms up and counts the rows it writes.
        options = common.sqlite_options(args.synchronous)
        default, bare = CoplibRun(files, count, [], options), CoplibRun(files, count, blocked, options)
        manual = CoplibRun(files, count, [], options, follow="manual")
        thread = CoplibRun(files, count, [], options, follow="thread")
        for flavour in (default, bare, manual, thread):
            flavour()
        assert default.census is not None and bare.census is not None
        assert manual.census is not None and thread.census is not None
        sync = default.synchronous
        print(f"coplib's SQLite store runs with journal_mode=WAL, synchronous={sync}: so do the baselines")
        print(f"default plugins (policies {', '.join(default.policies) or 'none'}): {default.census.per_unit(count)}")
        print(f"policies blocked ({', '.join(blocked)}): {bare.census.per_unit(count)}")
        print(f"follow='manual' (drained at the end): {manual.census.per_unit(count)}")
        print(f"follow='thread': {thread.census.per_unit(count)}\n")
        size = round(default.census.contribution_event_size)
        contestants: dict[str, Callable[[], float]] = {
            "coplib": default,
            "raw": RawRun(files, work.raw_units(default.census, count), sync, coplib_schema=False),
            "raw, coplib's schema": RawRun(files, work.raw_units(default.census, count), sync, coplib_schema=True),
            "coplib, policies blocked": bare,
            "coplib, stdlib json": common.without_fast_json(CoplibRun(files, count, [], options)),
            "raw, policies blocked": RawRun(files, work.raw_units(bare.census, count), sync, coplib_schema=False),
            "coplib, follow=manual": manual,
            "raw, follow=manual rows": RawRun(files, work.raw_units(manual.census, count), sync, coplib_schema=False),
            "coplib, follow=thread": thread,
            "raw, follow=thread rows": RawRun(files, work.raw_units(thread.census, count), sync, coplib_schema=False),
        }
        if peer_available():
            contestants["peer"] = PeerRun(files, count, size, sync, mapped=True)
            contestants["peer, recorder alone"] = PeerRun(files, count, size, sync, mapped=False)
            contestants["peer raw"] = PeerRawRun(files, count, size, sync)
        else:
            print("eventsourcing is not installed (pip install -e '.[bench]'): the peer is skipped\n")
        best = common.race(contestants, repeat, warmup=0)
        rate = {name: count / seconds for name, seconds in best.items()}
        print("units of work per second (best round):")
        for name, value in rate.items():
            print(f"  {name:<28} {value:>10,.1f}")
        print()
        ratio = common.report(
            summary, "coplib (default plugins) / raw, same rows", rate["coplib"], rate["raw"], TARGET, "units/s"
        )
        common.report(
            summary,
            "coplib / raw in coplib's schema (its indexes)",
            rate["coplib"],
            rate["raw, coplib's schema"],
            None,
            "units/s",
        )
        common.report(
            summary,
            "coplib, policies blocked / raw, same rows",
            rate["coplib, policies blocked"],
            rate["raw, policies blocked"],
            None,
            "units/s",
        )
        if FAST_JSON:
            common.report(
                summary,
                "coplib without the fast extra (stdlib json) / raw",
                rate["coplib, stdlib json"],
                rate["raw"],
                None,
                "units/s",
            )
        for mode in ("manual", "thread"):
            common.report(
                summary,
                f"coplib follow={mode}, caught up / raw, same rows",
                rate[f"coplib, follow={mode}"],
                rate[f"raw, follow={mode} rows"],
                TARGET,
                "units/s",
            )
            common.report(
                summary,
                f"coplib follow={mode} / coplib follow=unit",
                rate[f"coplib, follow={mode}"],
                rate["coplib"],
                None,
                "units/s",
            )
        common.report(
            summary,
            "coplib default / coplib policies blocked",
            rate["coplib"],
            rate["coplib, policies blocked"],
            None,
            "units/s",
        )
        if "peer" in rate:
            peer = common.report(
                summary,
                "peer (eventsourcing, from input) / raw, same row",
                rate["peer"],
                rate["peer raw"],
                None,
                "events/s",
            )
            print(
                f"  coplib's ratio {ratio:.3f} vs the peer's {peer:.3f}: coplib {'ahead' if ratio > peer else 'BEHIND'}"
            )
            common.report(
                summary,
                "peer, recorder alone (pre-encoded) / raw, same row",
                rate["peer, recorder alone"],
                rate["peer raw"],
                None,
                "events/s",
            )
            common.report(summary, "coplib units / peer events (absolute)", rate["coplib"], rate["peer"], 1.0, "per s")
            for mode in ("manual", "thread"):
                common.report(
                    summary,
                    f"coplib follow={mode}, caught up / peer events (absolute)",
                    rate[f"coplib, follow={mode}"],
                    rate["peer"],
                    1.0,
                    "per s",
                )
        common.print_summary("summary (bench_sqlite_commands)", summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
