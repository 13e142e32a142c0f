"""The unanswered-questions query with 100,000 open questions against 1,000, the same page
size: its cost must follow the rows returned, not the rows stored. On SQLite and PostgreSQL.

    python -m benchmarks.bench_unanswered_query [--quick] [--repeat N] [--no-postgres] [--url URL]

Target (issue 3): time(100,000) / time(1,000) <= 2, for each shape of the query.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from typing import Any

try:
    from benchmarks import _common as common
    from benchmarks import _workload as work
except ImportError:  # run as a file: python benchmarks/bench_unanswered_query.py
    import _common as common  # type: ignore[no-redef,import-not-found]
    import _workload as work  # type: ignore[no-redef,import-not-found]

from coplib import Engine

TARGET = 2.0
PAGE = 50
VIEWER = work.PEOPLE[1].id

#: The shapes of the query a host runs: the help space of a community, of one of its tags,
#: and of the questions waiting for more than a day.
SHAPES: dict[str, dict[str, Any]] = {
    "community": {},
    "community + tag": {"tag": work.TAGS[0]},
    "community, older than 1 day": {"older_than": timedelta(days=1)},
}


@contextmanager
def populated(url: str, open_questions: int) -> Iterator[Engine]:
    """An engine on a store holding `open_questions` open questions in one community."""
    engine = work.open_engine(url)
    try:
        engine.import_history(work.history(open_questions, open_questions=True), batch_size=10_000)
        yield engine
    finally:
        engine.close()


def per_call(engine: Engine, shape: dict[str, Any], calls: int, *, cold: bool) -> Callable[[], float]:
    """A round: `calls` queries of one page; returns the seconds of one call (the mean). With
    `cold`, the store's memory of decoded values is emptied before each call, so that decoding
    the page counts too."""
    store: Any = engine.store

    def run() -> float:
        total = 0.0
        for _ in range(calls):
            if cold:
                store._cache.clear()
            start = time.perf_counter()
            page = engine.unanswered_questions(VIEWER, "welding", limit=PAGE, **shape)
            total += time.perf_counter() - start
            assert len(page) == PAGE, len(page)
        return total / calls

    return run


def measure(name: str, url_for: Callable[[int], Any], sizes: tuple[int, int], repeat: int, calls: int) -> list[Any]:
    """Time every shape on a small and a large store; returns the summary rows."""
    small, large = sizes
    summary: common.Summary = []
    with ExitStack() as stack:
        engines = {}
        for size in sizes:
            start = time.perf_counter()
            engines[size] = stack.enter_context(populated(stack.enter_context(url_for(size)), size))
            print(f"{name}: {size:,} open questions stored in {time.perf_counter() - start:.1f} s")
        for shape_name, shape in SHAPES.items():
            for cold in (False, True):
                label = f"{shape_name}{', decoding included' if cold else ''}"
                best = common.race(
                    {str(size): per_call(engines[size], shape, calls, cold=cold) for size in sizes}, repeat
                )
                print(
                    f"  {label}: {best[str(small)] * 1e6:,.0f} us with {small:,}, {best[str(large)] * 1e6:,.0f} us "
                    f"with {large:,} (page of {PAGE})"
                )
                common.report(
                    summary,
                    f"{name}: {label}",
                    best[str(large)] * 1e6,
                    best[str(small)] * 1e6,
                    TARGET,
                    "us per call",
                    at_most=True,
                )
    return summary


def sqlite_urls(directory: Any) -> Callable[[int], Any]:
    @contextmanager
    def url_for(size: int) -> Iterator[str]:
        yield f"sqlite:///{directory / f'questions-{size}.db'}"

    return url_for


def postgres_urls(server_url: str) -> Callable[[int], Any]:
    from coplib.testing.pgserver import fresh_schema

    @contextmanager
    def url_for(size: int) -> Iterator[str]:
        with fresh_schema(server_url, prefix="coplib_bench_") as url:
            yield url

    return url_for


def main(argv: list[str] | None = None) -> int:
    parser = common.arguments(__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--url", default=None, help="a PostgreSQL server to use (default: start a throwaway one)")
    args = parser.parse_args(argv)
    sizes = (1_000, 10_000) if args.quick else (1_000, 100_000)
    repeat = args.repeat or (2 if args.quick else 5)
    calls = 20 if args.quick else 200
    summary: common.Summary = []
    with common.workdir(args.dir) as directory:
        common.machine_facts(directory, {"workload": f"{sizes} open questions, page of {PAGE}, best of {repeat}"})
        summary += measure("SQLite", sqlite_urls(directory), sizes, repeat, calls)
        if not args.no_postgres:
            from coplib.testing.pgserver import postgres_server

            if args.url:
                os.environ["COPLIB_TEST_POSTGRES_URL"] = args.url
            with postgres_server(database="coplib_bench") as server:
                summary += measure("PostgreSQL", postgres_urls(server), sizes, repeat, calls)
        common.print_summary(
            "summary (bench_unanswered_query): time with the large store / with the small one", summary, at_most=True
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
