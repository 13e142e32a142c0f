"""Full-text search on a SQLite store of 100,000 contributions: `engine.search` (validation,
the viewer's readable communities through the permission decision point, the FTS5 query
ranked by bm25 and its count, the contributions read back) against the raw FTS5 query that
finds the same page on the same tables, with a plain sqlite3 connection.

    python -m benchmarks.bench_search [--quick] [--repeat N]

Target (issue 16): time(engine.search) / time(raw ranked page + raw count) <= 3, for each query.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import time
from collections.abc import Callable

import attrs

try:
    from benchmarks import _common as common
    from benchmarks import _workload as work
except ImportError:  # run as a file: python benchmarks/bench_search.py
    import _common as common  # type: ignore[no-redef,import-not-found]
    import _workload as work  # type: ignore[no-redef,import-not-found]

from coplib import Engine
from coplib.adapters.storage._text_sql import fts5_query
from coplib.domain import events as ev
from coplib.domain.text_search import query_terms

TARGET = 3.0
PAGE = 20
VIEWER = work.PEOPLE[1].id

#: Words of the trade, in French and English, the commonest first (drawn with Zipf weights),
#: then a long tail of made-up words so that the vocabulary has the shape of real text.
_TRADE_TEXT = """
    pompe pompes chaleur soudure aluminium acier vanne vannes réglage pression fuite tube joint
    chaudière radiateur circuit moteur capteur sonde thermostat brasure cuivre débit purge
    pump pumps heat welding steel valve pressure leak pipe boiler sensor flow gasket weld
"""
TRADE = _TRADE_TEXT.split()
SYLLABLES = ("ba", "ri", "to", "mel", "gor", "sa", "pli", "un", "der", "vo", "ka", "zen", "tra", "lo")


def vocabulary(rng: random.Random, size: int = 5_000) -> tuple[list[str], list[float]]:
    tail = {"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(size)}
    words = TRADE + sorted(tail)
    return words, [1.0 / (rank + 1) for rank in range(len(words))]


def varied_history(count: int) -> list[ev.DomainEvent]:
    """`work.history(count)` with each question's title and body and each answer's body drawn
    from the vocabulary (seeded: every run searches the same texts)."""
    rng = random.Random(16)
    words, weights = vocabulary(rng)

    def text(n: int) -> str:
        return " ".join(rng.choices(words, weights, k=n))

    out: list[ev.DomainEvent] = []
    for event in work.history(count):
        if isinstance(event, ev.QuestionAsked):
            event = attrs.evolve(event, title=text(8).capitalize(), body=text(40))
        elif isinstance(event, ev.AnswerPosted):
            event = attrs.evolve(event, body=text(30))
        out.append(event)
    return out


#: The queries: a word of the long tail (a few hundred contributions), a trade word found in
#: about a fifth of them, the commonest (in nearly all), two words, and a plural.
QUERIES = ("plitotoka", "débit", "pompe", "vanne pression", "soudures aluminium")


def engine_search(engine: Engine, text: str, calls: int) -> Callable[[], float]:
    def run() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            found = engine.search(VIEWER, text, limit=PAGE)
        assert found.hits, text
        return (time.perf_counter() - start) / calls

    return run


def raw_search(conn: sqlite3.Connection, text: str, calls: int, *, count: bool) -> Callable[[], float]:
    match = fts5_query(query_terms(text))
    page = (
        "SELECT d.kind, d.id, -bm25(search_terms) AS score FROM search_terms "
        "CROSS JOIN search_docs d ON d.docid = search_terms.rowid WHERE search_terms MATCH ? "
        "ORDER BY score DESC, d.id LIMIT ?"
    )
    counting = "SELECT count(*) FROM search_terms WHERE search_terms MATCH ?"

    def run() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            rows = conn.execute(page, (match, PAGE)).fetchall()
            if count:
                conn.execute(counting, (match,)).fetchone()
        assert rows
        return (time.perf_counter() - start) / calls

    return run


def main(argv: list[str] | None = None) -> int:
    parser = common.arguments(__doc__.splitlines()[0] if __doc__ else "")
    args = parser.parse_args(argv)
    count = 10_000 if args.quick else 100_000
    repeat = args.repeat or (2 if args.quick else 5)
    calls = 5 if args.quick else 20
    summary: common.Summary = []
    with common.workdir(args.dir) as directory:
        common.machine_facts(directory, {"workload": f"{count:,} contributions, page of {PAGE}, best of {repeat}"})
        path = directory / "search.db"
        engine = work.open_engine(f"sqlite:///{path}", options=common.sqlite_options(args.synchronous))
        try:
            start = time.perf_counter()
            engine.import_history(varied_history(count), batch_size=10_000)
            print(f"{count:,} contributions imported (and indexed) in {time.perf_counter() - start:.1f} s\n")
            conn = sqlite3.connect(path)
            try:
                for text in QUERIES:
                    total = engine.search(VIEWER, text, limit=1).total
                    best = common.race(
                        {
                            "engine": engine_search(engine, text, calls),
                            "raw page + count": raw_search(conn, text, calls, count=True),
                            "raw page": raw_search(conn, text, calls, count=False),
                        },
                        repeat,
                    )
                    print(f"query {text!r}: {total:,} hits")
                    us = {name: seconds * 1e6 for name, seconds in best.items()}
                    common.report(
                        summary, f"{text!r} vs raw page + count", us["engine"], us["raw page + count"], TARGET,
                        "us per search", at_most=True,
                    )  # fmt: skip
                    common.report(
                        summary, f"{text!r} vs raw page", us["engine"], us["raw page"], None, "us per search",
                        at_most=True,
                    )  # fmt: skip
            finally:
                conn.close()
        finally:
            engine.close()
        common.print_summary("summary (bench_search): engine.search / the raw FTS5 query", summary, at_most=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
