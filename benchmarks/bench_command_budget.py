"""Where a command's time goes on SQLite: the same workload as ``bench_sqlite_commands``,
each contestant run with ``synchronous`` OFF, NORMAL and FULL, so that a unit's time splits
into what every commit pays to the disk (FULL minus NORMAL: the WAL's fsync), what writing its
pages costs (NORMAL minus OFF) and the rest (OFF: the CPU).

    python -m benchmarks.bench_command_budget [--quick] [--repeat N] [--dir DIR]

It answers two questions the target of ``bench_sqlite_commands`` (coplib >= 0.6 of raw, same
rows) raises, from figures measured in one run:

- *the bound*: raw sqlite3 writing coplib's rows into coplib's own schema (its indexes, no
  coplib code) against raw in plain tables: the best ratio any code keeping these indexes could
  reach, were its own work free;
- *the break-even fsync*: how long a commit's fsync would have to take (the same for everyone)
  for coplib's ratio to reach the target, its other costs as measured here.

No target of its own: it explains one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

try:
    from benchmarks import _common as common
    from benchmarks import _workload as work
    from benchmarks.bench_sqlite_commands import TARGET, CoplibRun, Files, RawRun
except ImportError:  # run as a file: python benchmarks/bench_command_budget.py
    import _common as common  # type: ignore[no-redef,import-not-found]
    import _workload as work  # type: ignore[no-redef,import-not-found]
    from bench_sqlite_commands import TARGET, CoplibRun, Files, RawRun  # type: ignore[no-redef,import-not-found]

MODES = ("off", "normal", "full")
CONTESTANTS = (
    "coplib",
    "coplib, policies blocked",
    "raw, same rows",
    "raw, coplib's schema",
    "raw, blocked rows",
    "raw, blocked rows, schema",
)


def main(argv: list[str] | None = None) -> int:
    parser = common.arguments(__doc__.splitlines()[0] if __doc__ else "")
    args = parser.parse_args(argv)
    count = 100 if args.quick else 600
    repeat = args.repeat or (1 if args.quick else 5)
    with common.workdir(args.dir) as directory:
        common.machine_facts(directory, {"workload": f"{count} commands per round, best of {repeat} rounds per mode"})
        files = Files(directory)
        blocked = work.policy_plugins()
        micro: dict[tuple[str, str], float] = {}
        for mode in MODES:
            default = CoplibRun(files, count, [], {"synchronous": mode})
            bare = CoplibRun(files, count, blocked, {"synchronous": mode})
            default()  # a first round counts the rows coplib writes in this mode
            bare()
            assert default.census is not None and bare.census is not None
            sync = mode.upper()
            contestants: dict[str, Callable[[], float]] = {
                "coplib": default,
                "coplib, policies blocked": bare,
                "raw, same rows": RawRun(files, work.raw_units(default.census, count), sync, coplib_schema=False),
                "raw, coplib's schema": RawRun(files, work.raw_units(default.census, count), sync, coplib_schema=True),
                "raw, blocked rows": RawRun(files, work.raw_units(bare.census, count), sync, coplib_schema=False),
                "raw, blocked rows, schema": RawRun(
                    files, work.raw_units(bare.census, count), sync, coplib_schema=True
                ),
            }
            best = common.race(contestants, repeat, warmup=0)
            for name, seconds in best.items():
                micro[(mode, name)] = seconds / count * 1e6
        print("microseconds per unit of work (best round), by synchronous setting:")
        print(f"  {'contestant':<28}" + "".join(f"{m.upper():>10}" for m in MODES) + f"{'fsync':>10}{'pages':>10}")
        for name in CONTESTANTS:
            off, normal, full = (micro[(m, name)] for m in MODES)
            print(f"  {name:<28}{off:>10.0f}{normal:>10.0f}{full:>10.0f}{full - normal:>10.0f}{normal - off:>10.0f}")
        print("  (fsync: FULL minus NORMAL, what a commit waits for the disk; pages: NORMAL minus OFF)\n")

        at_full = {name: micro[("full", name)] for name in CONTESTANTS}
        at_normal = {name: micro[("normal", name)] for name in CONTESTANTS}
        ratio = at_full["raw, same rows"] / at_full["coplib"]
        bound = at_full["raw, same rows"] / at_full["raw, coplib's schema"]
        print(f"coplib / raw, same rows, under FULL: {ratio:.3f} (target >= {TARGET:g})")
        core = at_full["raw, blocked rows, schema"] / at_full["coplib, policies blocked"]
        print(
            f"coplib with its policies blocked / raw writing those rows into coplib's schema, FULL: {core:.3f} "
            "(the engine's own overhead, the cost of the indexes set aside)"
        )
        print(
            f"the bound, raw in coplib's schema / raw in plain tables under FULL: {bound:.3f}: "
            "what code keeping coplib's indexes would reach were its own work free"
        )
        # (raw + F) / (coplib + F) >= TARGET, with each side's time but the fsync as measured.
        fsync = at_full["raw, same rows"] - at_normal["raw, same rows"]
        needed = (TARGET * at_normal["coplib"] - at_normal["raw, same rows"]) / (1 - TARGET)
        print(
            f"the fsync this disk makes a commit wait: {fsync:.0f} us; coplib would reach {TARGET:g} of raw "
            f"with an fsync of {needed / 1000:.2f} ms or more (its other costs as measured here)"
        )
        budget = at_full["raw, same rows"] / TARGET - at_full["raw, coplib's schema"]
        own = at_full["coplib"] - at_full["raw, coplib's schema"]
        print(
            f"coplib's own work per unit (coplib minus raw in its schema, FULL): {own:.0f} us; "
            f"the target leaves it {budget:.0f} us"
        )
        print(f"\nload average at the end: {common.load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
