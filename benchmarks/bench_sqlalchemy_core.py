"""The shared hand-written SQL of the SQL stores (coplib.adapters.storage._sql) against the same
queries written once with SQLAlchemy Core for both dialects: per call, building the statement,
compiling it, and building + executing + fetching (rows not decoded: the same for both).

    python -m benchmarks.bench_sqlalchemy_core [--quick] [--repeat N] [--no-postgres]

SQLAlchemy is not a coplib dependency: install it to run this (pip install 'sqlalchemy>=2,<2.1').
The comparison and the decision are in docs/architecture.md ("The store port").
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

try:
    import sqlalchemy as sa
    from sqlalchemy.types import TypeDecorator
except ImportError:  # pragma: no cover - an optional comparison
    sys.exit("this benchmark needs SQLAlchemy 2: pip install 'sqlalchemy>=2,<2.1'")

try:
    from benchmarks import _common as common
    from benchmarks import _workload as work
except ImportError:  # run as a file: python benchmarks/bench_sqlalchemy_core.py
    import _common as common  # type: ignore[no-redef,import-not-found]
    import _workload as work  # type: ignore[no-redef,import-not-found]

from coplib.adapters.storage import _sql
from coplib.adapters.storage.postgres import POSTGRES
from coplib.adapters.storage.sqlite import SQLITE
from coplib.ports import Filter
from coplib.serialization import format_timestamp


class SQLiteTime(TypeDecorator[datetime]):
    """The SQLite store's time columns: fixed-width UTC text."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return format_timestamp(value) if value is not None else None


def schema(prefix: str, time: Any, tag_time: str) -> dict[str, sa.Table]:
    """The columns these queries read, of one store's aggregates and tags tables."""
    md = sa.MetaData()
    aggregates = sa.Table(
        prefix + "aggregates",
        md,
        *(sa.Column(n, sa.Text) for n in ("kind", "id")),
        sa.Column("version", sa.Integer),
        sa.Column("data", sa.Text),
        *(sa.Column(n, sa.Text) for n in ("community_id", "person_id", "parent_id", "organisation_id", "status")),
        *(sa.Column(n, time) for n in ("created_at", "open_since", "due_at")),
    )
    tags = sa.Table(
        prefix + "tags",
        md,
        *(sa.Column(n, sa.Text) for n in ("kind", "id", "tag", "community_id")),
        sa.Column(tag_time, time),
    )
    return {"aggregates": aggregates, "tags": tags}


SQLITE_TABLES = schema("", SQLiteTime(), "sort_key")
POSTGRES_TABLES = schema("coplib_", sa.DateTime(timezone=True), "open_since")


def sa_matching(a: sa.Table, kind: str, where: Filter) -> list[Any]:
    """The conditions of `find` and `count`, as `_sql._matching` writes them."""
    conds = [a.c.kind == kind]
    for column in ("community_id", "person_id", "parent_id"):
        value = getattr(where, column)
        if value is not None:
            conds.append(a.c[column] == value)
    if where.since is not None:
        conds.append(a.c.created_at >= where.since)
    if where.until is not None:
        conds.append(a.c.created_at < where.until)
    return conds


def sa_find(t: dict[str, sa.Table], pg: bool, kind: str, where: Filter, limit: int | None) -> sa.Select[Any]:
    a = t["aggregates"]
    order = a.c.created_at.nulls_first() if pg else a.c.created_at
    stmt = (
        sa.select(a.c.kind, a.c.id, a.c.version, a.c.data).where(*sa_matching(a, kind, where)).order_by(order, a.c.id)
    )
    return stmt.limit(limit) if limit is not None else stmt


def sa_count(t: dict[str, sa.Table], pg: bool, kind: str, where: Filter) -> sa.Select[Any]:
    a = t["aggregates"]
    return sa.select(sa.func.count()).select_from(a).where(*sa_matching(a, kind, where))


def sa_unanswered(t: dict[str, sa.Table], pg: bool, community_id: str, tag: str, limit: int) -> sa.Select[Any]:
    # A plain JOIN: SQLAlchemy has no CROSS JOIN ... ON, which SQLite's store writes to fix the
    # join order (its planner keeps it); the tags-first order is left to the planner here.
    tags, a = t["tags"].alias("t"), t["aggregates"].alias("a")
    time = tags.c.open_since if pg else tags.c.sort_key
    return (
        sa.select(a.c.kind, a.c.id, a.c.version, a.c.data)
        .select_from(tags.join(a, sa.and_(a.c.kind == tags.c.kind, a.c.id == tags.c.id)))
        .where(tags.c.kind == "question", time.is_not(None), tags.c.tag == tag, tags.c.community_id == community_id)
        .order_by(time, tags.c.id)
        .limit(limit)
    )


def per_call(fn: Callable[[], object], calls: int) -> Callable[[], float]:
    """A round of `calls` calls of `fn`; returns the seconds of one (the mean)."""

    def run() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        return (time.perf_counter() - start) / calls

    return run


def measure(
    label: str,
    raw: Any,
    sa_conn: Any,
    dialect: _sql.Dialect,
    tables: dict[str, sa.Table],
    pg: bool,
    calls: int,
    repeat: int,
) -> None:
    """Time every shape both ways on one database, after checking they return the same rows."""
    cid = "welding"
    theirs, everyone = Filter(community_id=cid, person_id="p03"), Filter(community_id=cid)

    def hand(build: Callable[[], tuple[str, list[Any]]]) -> Callable[[], object]:
        def go() -> object:
            sql, params = build()
            return raw.execute(sql, params).fetchall()

        return go

    def alchemy(build: Callable[[], Any]) -> Callable[[], object]:
        return lambda: sa_conn.execute(build()).fetchall()

    def compiled(build: Callable[[], Any]) -> Callable[[], object]:
        return lambda: build().compile(dialect=sa_conn.dialect)

    shapes: dict[str, tuple[Callable[[], tuple[str, list[Any]]], Callable[[], Any]]] = {
        "find(community, person, limit 50)": (
            lambda: _sql.find(dialect, "question", theirs, 50),
            lambda: sa_find(tables, pg, "question", theirs, 50),
        ),
        "count(community)": (
            lambda: _sql.count(dialect, "question", everyone),
            lambda: sa_count(tables, pg, "question", everyone),
        ),
        "unanswered_questions(community, tag, limit 50)": (
            lambda: _sql.unanswered_questions(dialect, cid, tag=work.TAGS[1], limit=50),
            lambda: sa_unanswered(tables, pg, cid, work.TAGS[1], 50),
        ),
    }
    for shape, (hand_built, sa_built) in shapes.items():
        rows = hand(hand_built)()
        assert [tuple(r) for r in rows] == [tuple(r) for r in alchemy(sa_built)()], shape
        best = common.race(
            {
                "hand-written: build": per_call(hand_built, calls * 10),
                "SQLAlchemy: build": per_call(sa_built, calls * 10),
                "SQLAlchemy: build + compile (no cache)": per_call(compiled(sa_built), calls),
                "hand-written: build + execute": per_call(hand(hand_built), calls),
                "SQLAlchemy: build + execute": per_call(alchemy(sa_built), calls),
            },
            repeat,
        )
        print(f"{label}: {shape} ({len(rows)} rows)")
        for name, seconds in best.items():
            print(f"    {name:<42} {seconds * 1e6:>9,.1f} us")


def main(argv: list[str] | None = None) -> int:
    parser = common.arguments(__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    size = 1_000 if args.quick else 10_000
    repeat = args.repeat or (2 if args.quick else 5)
    calls = 20 if args.quick else 300
    history = work.history(size, open_questions=True)
    with common.workdir(args.dir) as directory:
        common.machine_facts(
            directory, {"workload": f"{size:,} open questions, SQLAlchemy {sa.__version__}, best of {repeat}"}
        )
        path = directory / "questions.db"
        engine = work.open_engine(f"sqlite:///{path}")
        engine.import_history(history, batch_size=10_000)
        engine.close()
        raw = sqlite3.connect(path, isolation_level=None)
        sa_engine = sa.create_engine(f"sqlite:///{path}")
        with sa_engine.connect() as sa_conn:
            measure("SQLite", raw, sa_conn, SQLITE, SQLITE_TABLES, False, calls, repeat)
        raw.close()
        sa_engine.dispose()
        if not args.no_postgres:
            import psycopg

            from coplib.testing.pgserver import fresh_schema, postgres_server

            with postgres_server(database="coplib_bench") as server, fresh_schema(server, prefix="coplib_sa_") as url:
                engine = work.open_engine(url)
                engine.import_history(history, batch_size=10_000)
                engine.close()
                raw = psycopg.connect(url, autocommit=True)
                sa_engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
                with sa_engine.connect() as sa_conn:
                    measure("PostgreSQL", raw, sa_conn, POSTGRES, POSTGRES_TABLES, True, calls, repeat)
                raw.close()
                sa_engine.dispose()
        print(f"  load average at the end: {common.load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
