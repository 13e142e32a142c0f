"""Keyset paging: a deep page costs what the first page costs. A community of 100,000
questions on SQLite: the newest questions (`engine.questions`, a `find` newest first after the
cursor's key), its history (`engine.history_page`), and the whole outbox
(`engine.outbox_page`), each read at its first page and at a page near its end.

    python -m benchmarks.bench_paging [--quick] [--repeat N]

Target: time(deep page) / time(first page) <= 1.5 for each list (offset paging would grow
with the depth: about the size of the list over the page).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

try:
    from benchmarks import _common as common
    from benchmarks import _workload as work
except ImportError:  # run as a file: python benchmarks/bench_paging.py
    import _common as common  # type: ignore[no-redef,import-not-found]
    import _workload as work  # type: ignore[no-redef,import-not-found]

from coplib import SYSTEM, Engine
from coplib.testing.outbox_contract import outbox_message, queue_messages

TARGET = 1.5
PAGE = 50
VIEWER = work.PEOPLE[1].id


def lists(engine: Engine) -> dict[str, Callable[..., Any]]:
    return {
        "questions, newest first": lambda **k: engine.questions(VIEWER, "welding", **k),
        "history": lambda **k: engine.history_page(VIEWER, "welding", **k),
        "outbox, whole": lambda **k: engine.outbox_page(SYSTEM, **k),
    }


def deep_cursor(read: Callable[..., Any], depth: int) -> str:
    """The cursor of the page at about `depth` items, reached by walking in big pages."""
    cursor = None
    seen = 0
    while seen + 1000 <= depth:
        page = read(cursor=cursor, limit=1000)
        if page.next_cursor is None:
            break
        cursor, seen = page.next_cursor, seen + len(page.items)
    assert cursor is not None
    return cursor


def per_call(read: Callable[..., Any], cursor: str | None, calls: int, cold: Callable[[], None]) -> Callable[[], float]:
    def run() -> float:
        total = 0.0
        for _ in range(calls):
            cold()
            start = time.perf_counter()
            page = read(cursor=cursor, limit=PAGE)
            total += time.perf_counter() - start
            assert len(page.items) == PAGE
        return total / calls

    return run


def main(argv: list[str] | None = None) -> int:
    parser = common.arguments(__doc__.splitlines()[0] if __doc__ else "")
    args = parser.parse_args(argv)
    size = 10_000 if args.quick else 100_000
    repeat = args.repeat or (2 if args.quick else 5)
    calls = 10 if args.quick else 100
    summary: common.Summary = []
    with common.workdir(args.dir) as directory:
        common.machine_facts(directory, {"workload": f"{size:,} questions, page of {PAGE}, best of {repeat}"})
        engine = work.open_engine(f"sqlite:///{directory / 'paging.db'}", **common.sqlite_options(args.synchronous))
        try:
            start = time.perf_counter()
            engine.import_history(work.history(size, open_questions=True), batch_size=10_000)
            for first in range(0, size, 10_000):  # as many outbox messages (import_history writes none)
                queue_messages(engine.store, [outbox_message(n + 1) for n in range(first, first + 10_000)])
            print(f"SQLite: {size:,} questions and {size:,} messages stored in {time.perf_counter() - start:.1f} s")
            store: Any = engine.store

            def cold() -> None:
                store._cache.clear()  # decoding the page counts too

            for name, read in lists(engine).items():
                deep = deep_cursor(read, size - 2 * PAGE)
                best = common.race(
                    {"first": per_call(read, None, calls, cold), "deep": per_call(read, deep, calls, cold)}, repeat
                )
                print(f"  {name}: first page {best['first'] * 1e6:,.0f} us, deep page {best['deep'] * 1e6:,.0f} us")
                common.report(
                    summary, f"SQLite: {name}", best["deep"] * 1e6, best["first"] * 1e6, TARGET, "us", at_most=True
                )
        finally:
            engine.close()
        common.print_summary("summary (bench_paging): time of a deep page / of the first page", summary, at_most=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
