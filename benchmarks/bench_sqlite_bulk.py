"""The bulk path: `Engine.import_history` of many contributions in batches on a SQLite file,
against raw sqlite3 ``executemany`` of the same rows in the same number of transactions, and
eventsourcing's SQLite recorder storing one event of the same size per contribution.

    python -m benchmarks.bench_sqlite_bulk [--quick] [--repeat N] [--dir DIR] [--batch N]

Target (issue 12, target 3; issue 3 asked for 0.3): coplib >= 0.5 of raw ``executemany``,
and ahead of the peer's application recorder.
"""

from __future__ import annotations

import sqlite3
import sys
import uuid
from collections.abc import Callable
from typing import Any

import attrs

try:
    from benchmarks import _common as common
    from benchmarks import _workload as work
    from benchmarks.bench_sqlite_commands import (
        SYNCHRONOUS_NAMES,
        Files,
        RawRun,
        peer_available,
        peer_domain,
        peer_question_events,
        peer_recorder,
        raw_connection,
    )
except ImportError:  # run as a file: python benchmarks/bench_sqlite_bulk.py
    import _common as common  # type: ignore[no-redef,import-not-found]
    import _workload as work  # type: ignore[no-redef,import-not-found]
    from bench_sqlite_commands import (  # type: ignore[no-redef,import-not-found]
        SYNCHRONOUS_NAMES,
        Files,
        RawRun,
        peer_available,
        peer_domain,
        peer_question_events,
        peer_recorder,
        raw_connection,
    )

from coplib.domain import events as ev
from coplib.serialization import FAST_JSON

TARGET = 0.5
#: The peer's contestants: (name, recorder, mapped from domain events). The mapped ones are
#: what coplib is judged against; the others show the recorder alone.
PEERS = (
    ("peer from events, application recorder", "application", True),
    ("peer from events, aggregate recorder", "aggregate", True),
    ("peer recorder alone (application)", "application", False),
    ("peer recorder alone (aggregate)", "aggregate", False),
)


def _batches(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class CoplibImport:
    """One round: a fresh file, then the whole history imported in batches (timed)."""

    def __init__(self, files: Files, events: list[ev.DomainEvent], batch: int, options: dict[str, str]) -> None:
        self.files, self.events, self.batch, self.options = files, events, batch, options
        self.census: work.Census | None = None
        self.synchronous = ""

    def __call__(self) -> float:
        path = self.files("coplib")
        engine = work.open_engine(f"sqlite:///{path}", options=self.options)
        try:
            with sqlite3.connect(path) as probe:
                mark = work.sqlite_mark(probe)
            seconds = common.timed(lambda: engine.import_history(self.events, batch_size=self.batch))
            with sqlite3.connect(path) as probe:
                census = work.sqlite_census(probe, mark)
                # A question answered in its own batch is stored closed: its tags are never
                # written. Count the tag rows that are there (those of the open questions).
                tags = probe.execute("SELECT count(*) FROM tags").fetchone()[0]
            self.census = attrs.evolve(census, tags=tags)
            store: Any = engine.store
            self.synchronous = SYNCHRONOUS_NAMES[store._connection().execute("PRAGMA synchronous").fetchone()[0]]
        finally:
            engine.close()
        return seconds


class PeerBulk:
    """eventsourcing's recorder: one stored event per contribution, one `insert_events` call
    per batch (the application recorder inserts row by row, to return notification ids; the
    aggregate recorder uses ``executemany``).

    With `mapped` (the comparison the target is judged on), the peer starts where coplib's
    `import_history` starts, from domain events made beforehand: each batch is mapped to
    stored events (JSON) and recorded. Without it, the stored events are built beforehand:
    the recorder alone, writing bytes it is given."""

    def __init__(
        self, files: Files, count: int, size: int, batch: int, synchronous: str, *, kind: str, mapped: bool
    ) -> None:
        self.files, self.count, self.size, self.batch, self.synchronous = files, count, size, batch, synchronous
        self.kind, self.mapped = kind, mapped
        self._events: list[Any] = []

    def __call__(self) -> float:
        from eventsourcing.persistence import StoredEvent

        recorder, datastore = peer_recorder(self.files("peer"), self.synchronous, kind=self.kind)
        if self.mapped:
            _, mapper = peer_domain()
            if not self._events:
                self._events = peer_question_events(self.count)
            batches = _batches(self._events, self.batch)

            def run() -> None:
                for batch in batches:
                    recorder.insert_events([mapper.to_stored_event(e) for e in batch])

        else:
            state = b"x" * self.size
            stored = [
                StoredEvent(originator_id=uuid.uuid4(), originator_version=1, topic="coplib:QuestionAsked", state=state)
                for _ in range(self.count)
            ]
            stored_batches = _batches(stored, self.batch)

            def run() -> None:
                for batch in stored_batches:
                    recorder.insert_events(batch)

        try:
            return common.timed(run)
        finally:
            datastore.close()


class PeerRawBulk:
    """Raw sqlite3 writing the peer's rows: ``executemany`` per batch into the peer's table."""

    def __init__(self, files: Files, count: int, size: int, batch: int, synchronous: str) -> None:
        self.files, self.count, self.size, self.batch, self.synchronous = files, count, size, batch, synchronous

    def __call__(self) -> float:
        conn = raw_connection(self.files("peer-raw"), self.synchronous)
        conn.execute(
            "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, topic TEXT, state BLOB, "
            "PRIMARY KEY (originator_id, originator_version))"
        )
        rows = [(uuid.uuid4().hex, 1, "coplib:QuestionAsked", b"x" * self.size) for _ in range(self.count)]
        batches = _batches(rows, self.batch)

        def run() -> None:
            for batch in batches:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT INTO stored_events VALUES (?, ?, ?, ?)", batch)
                conn.execute("COMMIT")

        try:
            return common.timed(run)
        finally:
            conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = common.arguments(__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--batch", type=int, default=500, help="events per unit of work (default 500)")
    args = parser.parse_args(argv)
    count = 2_000 if args.quick else 20_000
    repeat = args.repeat or (1 if args.quick else 5)
    summary: common.Summary = []
    with common.workdir(args.dir) as directory:
        common.machine_facts(
            directory, {"workload": f"{count} contributions in batches of {args.batch}, best of {repeat} rounds"}
        )
        files = Files(directory)
        events = work.history(count)
        coplib = CoplibImport(files, events, args.batch, common.sqlite_options(args.synchronous))
        coplib()  # warms up, and counts the rows it writes
        assert coplib.census is not None
        sync = coplib.synchronous
        batches = -(-len(events) // args.batch)
        print(f"coplib's SQLite store runs with journal_mode=WAL, synchronous={sync}: so do the baselines")
        print(f"{len(events)} events in {batches} units of work; {coplib.census.per_unit(len(events))}\n")
        size = round(coplib.census.contribution_event_size)
        contestants: dict[str, Callable[[], float]] = {
            "coplib": coplib,
            # The same loop as the commands' baseline: one transaction per unit (here a batch).
            "raw": RawRun(files, work.raw_units(coplib.census, batches), sync, coplib_schema=False),
            "raw, coplib's schema": RawRun(files, work.raw_units(coplib.census, batches), sync, coplib_schema=True),
            "coplib, stdlib json": common.without_fast_json(
                CoplibImport(files, events, args.batch, common.sqlite_options(args.synchronous))
            ),
        }
        if peer_available():
            for name, kind, mapped in PEERS:
                contestants[name] = PeerBulk(files, count, size, args.batch, sync, kind=kind, mapped=mapped)
            contestants["peer raw"] = PeerRawBulk(files, count, size, args.batch, sync)
        else:
            print("eventsourcing is not installed (pip install -e '.[bench]'): the peer is skipped\n")
        best = common.race(contestants, repeat, warmup=0)
        units = {name: len(events) for name in ("coplib", "raw", "raw, coplib's schema", "coplib, stdlib json")}
        rate = {name: units.get(name, count) / seconds for name, seconds in best.items()}
        print("events per second (best round):")
        for name, value in rate.items():
            print(f"  {name:<30} {value:>12,.1f}")
        print()
        ratio = common.report(
            summary, "coplib import_history / raw executemany", rate["coplib"], rate["raw"], TARGET, "events/s"
        )
        if FAST_JSON:
            common.report(
                summary,
                "coplib without the fast extra (stdlib json) / raw executemany",
                rate["coplib, stdlib json"],
                rate["raw"],
                None,
                "events/s",
            )
        common.report(
            summary,
            "coplib / raw executemany in coplib's schema (its indexes)",
            rate["coplib"],
            rate["raw, coplib's schema"],
            None,
            "events/s",
        )
        if "peer raw" in rate:
            for name, _, mapped in PEERS:
                peer = common.report(
                    summary, f"{name} / raw executemany", rate[name], rate["peer raw"], None, "events/s"
                )
                if mapped:
                    ahead = "ahead" if ratio > peer else "BEHIND"
                    print(f"  coplib's ratio {ratio:.3f} vs the {name}'s {peer:.3f}: coplib {ahead}")
            common.report(
                summary,
                "coplib / peer from events, application recorder (absolute)",
                rate["coplib"],
                rate[PEERS[0][0]],
                None,
                "events/s",
            )
        common.print_summary("summary (bench_sqlite_bulk)", summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
