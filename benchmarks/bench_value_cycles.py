"""What the cycles of value add to the health report: on a SQLite file holding one community
(the history of `bench_health_report`, 100,000 contributions by default, with 2 % of its
answers credited by value stories), the store's part of the cycles (`value_cycles_of`: a count
of endorsements, the period's stories, two event counts) against the health report itself, in
the same run.

    python -m benchmarks.bench_value_cycles [--quick] [--repeat N] [--dir DIR] [--size N]

Target: the cycles cost at most a tenth of the report (ratio <= 0.1).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import timedelta
from pathlib import Path

try:
    from benchmarks import _common as common
    from benchmarks.bench_health_report import COMMUNITY, SPAN, START, History
except ImportError:  # run as a file
    import _common as common  # type: ignore[no-redef,import-not-found]
    from bench_health_report import COMMUNITY, SPAN, START, History  # type: ignore[import-not-found,no-redef]

import coplib
from coplib.domain.community import Community
from coplib.domain.history import Ref
from coplib.domain.permissions import SYSTEM
from coplib.serialization import format_timestamp
from coplib.service._value_cycles import value_cycles_of

RATIO_TARGET = 0.1  # cycles / report


def _stories(path: Path) -> int:
    """Value stories crediting 2 % of the answers, written as coplib writes them."""
    conn = sqlite3.connect(path, isolation_level=None)
    answers = conn.execute(
        "SELECT id, person_id, created_at FROM aggregates WHERE kind = 'answer' AND community_id = ?", (COMMUNITY,)
    ).fetchall()
    rows = []
    for n, (aid, author, created) in enumerate(answers[::50]):
        sid = f"story{n:09d}"
        data = {
            "author_id": "founder",
            "community_id": COMMUNITY,
            "contributions": [{"author_id": author, "id": aid, "kind": "answer"}],
            "created_at": created,
            "id": sid,
            "result": "It saved a day",
        }
        rows.append(("value_story", sid, COMMUNITY, "founder", created, json.dumps(data, sort_keys=True)))
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO aggregates (kind, id, community_id, person_id, created_at, version, data) "
        "VALUES (?, ?, ?, ?, ?, 1, ?)",
        rows,
    )
    conn.execute("COMMIT")
    conn.close()
    return len(rows)


def main() -> None:
    logging.getLogger("coplib.bootstrap").setLevel(logging.ERROR)
    parser = common.arguments(__doc__ or "")
    parser.add_argument("--size", type=int, default=None, help="contributions of the history (default 1e5)")
    args = parser.parse_args()
    size = args.size or (10_000 if args.quick else 100_000)
    repeat = args.repeat or (2 if args.quick else 5)
    until = START + SPAN + timedelta(days=60)
    summary: common.Summary = []
    with common.workdir(args.dir) as work:
        common.machine_facts(work, {"history": f"{size:,} contributions"})
        path = work / "value.db"
        History(path, size).build()
        stories = _stories(path)
        print(f"built {size:,} contributions and {stories:,} value stories by direct SQL")
        engine = coplib.open(f"sqlite:///{path}")
        found = engine.store.get(Ref("community", COMMUNITY))
        assert found is not None and isinstance(found.value, Community)
        community = found.value
        report = engine.community_health(SYSTEM, COMMUNITY, until=until)
        assert report.value is not None and report.value.cycle("realised").indicators["value_stories"] == stories

        def whole_report() -> float:
            return common.timed(lambda: engine.community_health(SYSTEM, COMMUNITY, until=until))

        def cycles() -> float:
            return common.timed(lambda: value_cycles_of(engine.store, community, report))

        best = common.race({"health report": whole_report, "cycles of value": cycles}, repeat)
        for name, seconds in best.items():
            print(f"  {name}: best of {repeat}: {seconds * 1000:,.1f} ms")
        common.report(
            summary,
            f"cycles / report, {size:,} contributions (until {format_timestamp(until)[:10]})",
            best["cycles of value"] * 1000,
            best["health report"] * 1000,
            RATIO_TARGET,
            "ms",
            at_most=True,
        )
        engine.close()
    common.print_summary("summary", summary, at_most=True)


if __name__ == "__main__":
    main()
