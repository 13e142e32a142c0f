"""The simulation's costs (issue 15), each against a baseline measured in the same run:

1. overhead: a simulated run against the engine executing the same calls without the
   simulator (the calls the run made, recorded with their moments, replayed on a fresh engine
   set up the same way): at most 1.5 x;
2. a community of 200 members for 52 weeks: simulated weeks per second, on memory and on SQLite
   (SQLite against memory as the ratio; no target);
3. a sweep of 8 runs: 2 worker processes against 1, at least 1.7 x faster.

Run:

    .venv/bin/python benchmarks/bench_simulation.py                  # all three
    .venv/bin/python benchmarks/bench_simulation.py --part sweep --runs 8
    .venv/bin/python benchmarks/bench_simulation.py --quick          # a smoke test

Other processes on the machine slow the figures down (the load average is printed at the start
and after each part): the sweep's speed-up needs two idle cores.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import Summary, load_average, machine_facts, report, verdict, workdir
from coplib.domain.errors import CoplibError
from coplib.domain.permissions import SYSTEM
from coplib.simulation import CommunityModel, Scenario, load_scenario, run_sweep

Call = tuple[datetime, str, tuple[Any, ...], dict[str, Any]]


class RecordingEngine:
    """The engine, recording every call made on it with the simulated moment it was made at."""

    def __init__(self, engine: Any, model: CommunityModel, calls: list[Call]) -> None:
        self._engine, self._model, self._calls = engine, model, calls

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._engine, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self._calls.append((self._model.clock.now(), name, args, kwargs))
            return target(*args, **kwargs)

        return call


def community_of_200(weeks: int) -> Scenario:
    """The mutual-help network at 200 members, none arriving or leaving by design."""
    counts = {"experts": 12, "facilitators": 2, "sponsor": 1, "altruists": 5, "regulars": 90, "lurkers": 60}
    values: dict[str, Any] = {f"population.{k}.count": n for k, n in counts.items()}
    values.update({"population.newcomers.count": 30, "population.newcomers.arrivals_per_week": 0.0, "weeks": weeks})
    return load_scenario("mutual-help").with_values(values)


def _events(model: CommunityModel) -> int:
    total = 0
    for cid in model._community_ids.values():
        after = 0
        while page := model.engine.history(SYSTEM, cid, after=after, limit=1000):
            total += len(page)
            after = page[-1].position
    return total


def overhead(scenario: Scenario, summary: Summary, repeat: int) -> None:
    print(f"1. overhead: {scenario.name}, {scenario.weeks} weeks, memory://")
    best_sim = best_replay = float("inf")
    for _ in range(repeat):
        calls: list[Call] = []
        with CommunityModel(scenario, 1) as model:
            model.engine = RecordingEngine(model.engine, model, calls)  # type: ignore[assignment]
            began = time.perf_counter()
            model.run()
            simulated = time.perf_counter() - began
            model.engine = model.engine._engine  # type: ignore[attr-defined]
            events = _events(model)
        with CommunityModel(scenario, 1) as twin:  # set up the same way; its personas never act
            engine, clock = twin.engine, twin.clock
            began = time.perf_counter()
            for moment, name, args, kwargs in calls:
                if moment > clock.now():
                    clock.set(moment)
                with contextlib.suppress(CoplibError):  # a refusal the simulated run met too
                    getattr(engine, name)(*args, **kwargs)
            replayed = time.perf_counter() - began
            twin_events = _events(twin)
        if twin_events != events:
            raise SystemExit(f"the replay recorded {twin_events} events, the run {events}: not the same calls")
        best_sim, best_replay = min(best_sim, simulated), min(best_replay, replayed)
    print(f"  {len(calls):,} engine calls, {events:,} events")
    report(summary, "simulated run vs its engine calls alone", best_sim, best_replay, 1.5, "s", at_most=True)
    print(f"  load average now: {load_average()}\n")


def weeks_per_second(weeks: int, summary: Summary, base: str | None) -> None:
    print(f"2. a community of 200 members for {weeks} weeks")
    scenario = community_of_200(weeks)
    speeds: dict[str, float] = {}
    with workdir(base) as path:
        for store, url in (("memory", "memory://"), ("sqlite", f"sqlite:///{path / 'sim.db'}")):
            with CommunityModel(scenario, 1, url=url) as model:
                began = time.perf_counter()
                result = model.run()
                seconds = time.perf_counter() - began
            speeds[store] = weeks / seconds
            questions = result.metrics()["questions"]
            print(f"  {store:>6}: {seconds:.1f} s, {speeds[store]:.2f} simulated weeks/s ({questions} questions)")
    report(summary, "weeks/s on SQLite vs on memory (200 members)", speeds["sqlite"], speeds["memory"], None, "weeks/s")
    print(f"  load average now: {load_average()}\n")


def sweep(runs: int, weeks: int, summary: Summary, repeat: int) -> None:
    print(f"3. a sweep of {runs} runs (mutual-help-small, {weeks} weeks): 2 worker processes vs 1")
    scenario = load_scenario("mutual-help-small").with_values({"weeks": weeks})
    # One sweep untimed first: the first run in a process pays for what it imports and caches
    # once, which would otherwise fall on whichever contestant goes first. Then the two
    # alternate, `repeat` rounds, and the best of each counts.
    run_sweep(scenario, runs=1, workers=1)
    times: dict[int, float] = {1: float("inf"), 2: float("inf")}
    for round_ in range(1, repeat + 1):
        for workers in (1, 2):
            began = time.perf_counter()
            # One worker process against two: the single worker is a process too, started
            # inside the timed region like the pair, not the parent running the sweep itself.
            with concurrent.futures.ProcessPoolExecutor(workers) as pool:
                run_sweep(scenario, runs=runs, executor=pool)
            seconds = time.perf_counter() - began
            times[workers] = min(times[workers], seconds)
            print(f"  round {round_}, {workers} worker(s): {seconds:.2f} s")
    report(summary, f"speed-up of 2 processes over 1 ({runs} runs)", times[1], times[2], 1.7, "s")
    # The machine's own ceiling, same run: the same pure-Python loop in 1 process, then in 2 at
    # once. On two idle, independent cores it is about 2; shared or hyper-threaded cores give less.
    alone = _burn(_BURN)
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        began = time.perf_counter()
        list(pool.map(_burn, [_BURN, _BURN]))
        both = time.perf_counter() - began
    report(summary, "the machine: 2 CPU-bound processes / 1 (throughput)", 2 * alone, both, None, "s")
    print(f"  load average now: {load_average()}\n")


_BURN = 10_000_000


def _burn(n: int) -> float:
    """Seconds of a pure-Python loop of `n` steps (the machine's ceiling, above)."""
    began = time.perf_counter()
    total = 0
    for i in range(n):
        total += i * i
    return time.perf_counter() - began if total >= 0 else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--part", choices=["overhead", "weeks", "sweep", "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test, not a measurement)")
    parser.add_argument("--weeks", type=int, default=52, help="weeks of the 200-member community")
    parser.add_argument("--runs", type=int, default=8, help="runs of the sweep")
    parser.add_argument(
        "--repeat", type=int, default=2, help="rounds of the overhead and sweep measures (the best counts)"
    )
    parser.add_argument("--dir", default=None, help="directory for the SQLite file")
    args = parser.parse_args(argv)
    weeks = 4 if args.quick else args.weeks
    with workdir(args.dir) as path:
        machine_facts(path)
    summary: Summary = []
    parts: dict[str, Callable[[], None]] = {
        "overhead": lambda: overhead(
            load_scenario("mutual-help").with_values({"weeks": 4 if args.quick else 26}),
            summary,
            1 if args.quick else args.repeat,
        ),
        "weeks": lambda: weeks_per_second(weeks, summary, args.dir),
        "sweep": lambda: sweep(
            2 if args.quick else args.runs, 4 if args.quick else 12, summary, 1 if args.quick else args.repeat
        ),
    }
    for name, run in parts.items():
        if args.part in (name, "all"):
            run()
    print("summary:")
    for name, value, baseline, target, unit in summary:
        ratio = value / baseline if baseline else float("nan")
        judged = verdict(ratio, target, at_most=name.startswith("simulated run"))
        print(f"  {name:<50} {value:>10,.2f} {baseline:>10,.2f} {ratio:>7.3f}  {judged}  [{unit}]")
    print(f"  load average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
