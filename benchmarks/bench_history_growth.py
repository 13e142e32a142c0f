"""What a command costs as a community's history grows: the same commands (a question, then an
answer to it, in turn, with the default plugins) timed after a small and after a large
history, written through the same commands, on each store.

    python -m benchmarks.bench_history_growth [--quick] [--small N] [--large N] [--window N]
                                              [--stores memory,sqlite] [--dir DIR]

No target of the issue: coplib's own aim, as for the tick and the unanswered-questions query,
is that a command's cost follow the command, not the history: a ratio (large / small) of at
most 2. Each window's figure is CPU time per command (``time.process_time``), so that the
disk's flushes, the same for every commit, do not hide what grows; SQLite runs with its
default settings.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from coplib import Engine

try:
    from benchmarks import _common as common
    from benchmarks import _workload as work
except ImportError:  # run as a file: python benchmarks/bench_history_growth.py
    import _common as common  # type: ignore[no-redef,import-not-found]
    import _workload as work  # type: ignore[no-redef,import-not-found]

AIM = 2.0


def window(engine: Engine, cid: str, start: int, count: int) -> float:
    """CPU microseconds per command over `count` commands from contribution `start`."""
    began = time.process_time()
    work.contributions(engine, cid, count, start=start)
    return (time.process_time() - began) / count * 1e6


def grow(url: str, small: int, large: int, count: int) -> tuple[float, float]:
    """Per-command CPU after `small` and after `large` contributions on a fresh store."""
    engine = work.open_engine(url)
    try:
        cid = work.found_community(engine)
        work.contributions(engine, cid, small)
        early = window(engine, cid, small, count)
        work.contributions(engine, cid, large - small - count, start=small + count)
        late = window(engine, cid, large, count)
    finally:
        engine.close()
    return early, late


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="a short run (a smoke test, not a measurement)")
    parser.add_argument("--small", type=int, default=1_000, help="contributions before the first window")
    parser.add_argument("--large", type=int, default=20_000, help="contributions before the second window")
    parser.add_argument("--window", type=int, default=500, help="commands timed in each window")
    parser.add_argument("--stores", default="memory,sqlite", help="comma-separated: memory, sqlite")
    parser.add_argument("--dir", default=None, help="directory for the SQLite file")
    args = parser.parse_args(argv)
    small, large, count = (200, 2_000, 200) if args.quick else (args.small, args.large, args.window)
    if count <= 0 or small + count > large:
        parser.error("need --window > 0 and --small + --window <= --large")
    summary: common.Summary = []
    with common.workdir(args.dir) as directory:
        common.machine_facts(
            directory,
            {"workload": f"{count} commands after {small:,} and after {large:,} contributions, default plugins"},
        )
        for store in args.stores.split(","):
            url = "memory://" if store == "memory" else f"sqlite:///{Path(directory) / 'growth.db'}"
            early, late = grow(url, small, large, count)
            print(f"{store}: {early:,.0f} us per command after {small:,}, {late:,.0f} after {large:,}")
            common.report(
                summary, f"{store}: per command after {large:,} / after {small:,}", late, early, AIM, "us CPU",
                at_most=True,
            )  # fmt: skip
    common.print_summary("summary (bench_history_growth)", summary, at_most=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
