"""Running a scenario many times: N seeds per variant, through any `concurrent.futures.Executor`.

A run is a pure function of (scenario, seed, store URL): each worker opens its own engine, so
a sweep runs the same in threads, in processes (the default: `ProcessPoolExecutor`), or on a
cluster through Dask distributed's executor (``client.get_executor()``). Results come back in
the order of the seeds, whatever order the workers finish in, so the same sweep gives the same
JSON with one worker or several.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from coplib.domain.errors import InvalidInputError
from coplib.simulation.model import METRICS, RunResult, run_model
from coplib.simulation.scenario import MissingExtraError, Scenario

__all__ = ["Sweep", "dumps", "replay", "run_one", "run_sweep", "seeds_for", "to_csv", "to_dataframe"]

MAX_RUNS: Final = 10_000


def seeds_for(base: int, runs: int) -> list[int]:
    """The seeds of `runs` runs from a base seed: base, base+1, ... (a run is named by its seed)."""
    return [base + i for i in range(runs)]


def run_one(scenario: Scenario, seed: int, url: str = "memory://") -> RunResult:
    """One run (a top-level function, so that process and cluster executors can ship it)."""
    return run_model(scenario, seed, url=_url_for(url, seed))


def _url_for(url: str, seed: int) -> str:
    return url.replace("{seed}", str(seed))


def dumps(document: Any) -> str:
    """The canonical JSON of coplib's simulation output: sorted keys, no wall-clock figure."""
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)


@attrs.frozen
class Sweep:
    """The runs of one or more variants of a scenario: ``runs[variant]`` in seed order."""

    scenario: Scenario
    variants: Mapping[str, Mapping[str, Any]] = attrs.field(hash=False)  # variant name -> changed keys
    seeds: tuple[int, ...]
    runs: Mapping[str, tuple[RunResult, ...]] = attrs.field(hash=False)

    def table(self) -> list[dict[str, Any]]:
        """One row per (variant, seed, community) with the run's metrics: the results table."""
        rows = []
        for variant, results in self.runs.items():
            for result in results:
                for community, figures in result.communities.items():
                    row: dict[str, Any] = {"variant": variant, "seed": result.seed, "community": community}
                    row.update({m: figures["metrics"][m] for m in METRICS})
                    rows.append(row)
        return rows

    def weekly_table(self) -> list[dict[str, Any]]:
        """One row per (variant, seed, week): the model's weekly figures."""
        return [
            {"variant": variant, "seed": result.seed, **row}
            for variant, results in self.runs.items()
            for result in results
            for row in result.weekly
        ]


def run_sweep(
    scenario: Scenario,
    *,
    runs: int = 1,
    variants: Mapping[str, Mapping[str, Any]] | None = None,
    executor: concurrent.futures.Executor | None = None,
    workers: int | None = None,
    url: str = "memory://",
    progress: Callable[[int, int], None] | None = None,
) -> Sweep:
    """Run each variant of `scenario` (``{"baseline": {}}`` when none) `runs` times, with the
    seeds ``scenario.seed, scenario.seed + 1, ...`` (the same seeds for every variant).

    `executor` is any `concurrent.futures.Executor` (kept open: the caller owns it); without
    one, a `ProcessPoolExecutor` of `workers` processes (default: the CPU count, at most the
    number of runs), or none at all for one worker. `url` is the store of each run
    (``memory://``; a ``{seed}`` in it is replaced by the run's seed, so that each run gets its
    own SQLite file). `progress(done, total)` is called as runs finish."""
    if isinstance(runs, bool) or not isinstance(runs, int) or not 1 <= runs <= MAX_RUNS:
        raise InvalidInputError.field("$.runs", f"must be a whole number from 1 to {MAX_RUNS}, got {runs!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InvalidInputError.field("$.workers", f"must be a whole number >= 1, got {workers!r}")
    if url != "memory://" and runs > 1 and "{seed}" not in url and not url.startswith("memory"):
        raise InvalidInputError.field(
            "$.url", "several runs need a store each: put {seed} in the URL (sqlite:///run-{seed}.db) or use memory://"
        )
    chosen = dict(variants or {"baseline": {}})
    scenarios = {name: scenario.with_values(values) if values else scenario for name, values in chosen.items()}
    seeds = seeds_for(scenario.seed, runs)
    jobs = [(name, seed) for name in scenarios for seed in seeds]
    total = len(jobs)
    results: dict[tuple[str, int], RunResult] = {}
    own: concurrent.futures.Executor | None = None
    if executor is None:
        count = min(workers or os.cpu_count() or 1, total)
        if count > 1:
            own = executor = concurrent.futures.ProcessPoolExecutor(max_workers=count)
    try:
        if executor is None:
            for i, (name, seed) in enumerate(jobs, start=1):
                results[(name, seed)] = run_one(scenarios[name], seed, url)
                if progress:
                    progress(i, total)
        else:
            futures = {executor.submit(run_one, scenarios[name], seed, url): (name, seed) for name, seed in jobs}
            for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
                results[futures[future]] = future.result()
                if progress:
                    progress(done, total)
    finally:
        if own is not None:
            own.shutdown(cancel_futures=True)
    return Sweep(
        scenario=scenario,
        variants=chosen,
        seeds=tuple(seeds),
        runs={name: tuple(results[(name, seed)] for seed in seeds) for name in scenarios},
    )


def replay(document: Mapping[str, Any], *, url: str = "memory://") -> RunResult:
    """Run again the run a JSON document records (`RunResult.to_dict`): its scenario and seed.
    Its `to_dict()` equals the document when the coplib version is the same."""
    from coplib.simulation.scenario import Scenario as _Scenario

    if not isinstance(document, Mapping) or "scenario" not in document or "seed" not in document:
        raise InvalidInputError.field("$", "a run's document (coplib.simulation.run/1) holds its scenario and seed")
    scenario = _Scenario.from_dict(document["scenario"], source="the run's record")
    return run_one(scenario, int(document["seed"]), url)


def to_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows (`Sweep.table`, `Sweep.weekly_table`) as CSV text, columns in the first row's order."""
    import csv
    import io

    out = io.StringIO()
    if not rows:
        return ""
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def to_dataframe(rows: Iterable[Mapping[str, Any]]) -> Any:
    """Rows as a pandas DataFrame (needs the ``simulation`` extra's pandas)."""
    try:
        import pandas
    except ImportError:
        raise MissingExtraError("pandas", "simulation", "a results DataFrame") from None
    return pandas.DataFrame(list(rows))
