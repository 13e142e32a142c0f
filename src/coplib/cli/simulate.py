"""``coplib simulate SCENARIO [--runs N] [--workers N] [--weeks N] [--seed N] [--set KEY=VALUE ...]
[--compare KEY=VALUE ...] [--json] [--csv FILE] [--db URL]``: run a scenario (a TOML file or a
built-in scenario's name) through the real engine, N runs per variant, and print the metrics
and, with ``--compare``, the verdict with its confidence intervals. ``coplib simulate --list``
lists the built-in scenarios; ``coplib simulate --calibrate DUMP`` fits a scenario to a Stack
Exchange dump's first months and reports the error per month on the rest (docs/simulation.md)."""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from coplib.domain.errors import CoplibError, InvalidInputError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
NAME = "coplib simulate"


def _count(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {value}")
        return value

    return parse


def _assignment(text: str) -> tuple[str, Any]:
    key, equals, raw = text.partition("=")
    if not equals or not key.strip():
        raise argparse.ArgumentTypeError(f"must be KEY=VALUE such as weeks=12, got {text!r}")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()  # plain text, unquoted
    return key.strip(), value


def _shown(value: Any) -> str:
    """A value as a scenario file would write it (true, not True)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``coplib simulate`` to the subparsers of the ``coplib`` command."""
    summary = "try a policy on a simulated community before deploying it (runs, comparison, calibration)"
    parser: argparse.ArgumentParser = commands.add_parser(
        "simulate",
        help=summary,
        description=(
            "Run a scenario through the real engine on a simulated clock: personas ask, answer, accept and "
            "react to the benefit they receive. --compare runs a variant with some keys changed and states the "
            "difference with bootstrap confidence intervals. See docs/simulation.md."
        ),
    )
    parser.add_argument("scenario", nargs="?", metavar="SCENARIO", help="a scenario TOML file or a built-in name")
    parser.add_argument("--list", action="store_true", help="list the built-in scenarios, one name per line first")
    parser.add_argument("--runs", type=_count(1, 10_000), default=1, metavar="N", help="runs per variant (default 1)")
    parser.add_argument(
        "--workers", type=_count(1, 512), default=None, metavar="N", help="worker processes (default: the CPUs)"
    )
    parser.add_argument("--weeks", type=_count(1, 520), default=None, metavar="N", help="the horizon in weeks")
    parser.add_argument("--seed", type=_count(0, 2**63 - 1), default=None, metavar="N", help="the first run's seed")
    parser.add_argument(
        "--set", type=_assignment, action="append", default=[], metavar="KEY=VALUE", help="change a scenario key"
    )
    parser.add_argument(
        "--compare",
        type=_assignment,
        nargs="+",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a variant with these keys changed, compared with the scenario (repeat for more variants)",
    )
    parser.add_argument("--json", action="store_true", help="print every run and the comparison as JSON")
    parser.add_argument("--csv", metavar="FILE", help="write the results table (one row per run) as CSV")
    parser.add_argument(
        "--db", default="memory://", metavar="URL", help="the store of each run (default memory://; {seed} in a URL)"
    )
    parser.add_argument("--calibrate", metavar="DUMP", help="fit a scenario to this Stack Exchange dump's history")
    parser.add_argument("--fit-months", type=_count(1, 120), default=6, metavar="N", help="months to fit on")
    parser.add_argument(
        "--months", type=_count(2, 240), default=None, metavar="N", help="with --calibrate: months to predict at most"
    )
    parser.set_defaults(parser=parser, run=run)
    return parser


@contextmanager
def _progress(enabled: bool, total_label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on a terminal (rich, from the simulation extra), else nothing."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    try:
        from rich.progress import Progress
    except ImportError:
        yield None
        return
    with Progress(transient=True) as bar:
        task = bar.add_task(total_label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def run(args: argparse.Namespace) -> int:
    """Run ``coplib simulate``; returns the exit status."""
    from coplib.simulation import (
        builtin_scenarios,
        compare,
        dumps,
        load_scenario,
        run_sweep,
        sweep_document,
        to_csv,
    )
    from coplib.simulation.model import METRICS

    if args.list:
        for name, what in builtin_scenarios().items():
            print(f"{name}\t{what}")
        return EXIT_OK
    if args.calibrate:
        return _calibrate(args)
    if not args.scenario:
        args.parser.error("give a SCENARIO (a file or a built-in name; --list lists them)")
    logging.getLogger("coplib.bootstrap").setLevel(logging.ERROR)
    try:
        scenario = load_scenario(args.scenario)
        changes = dict(args.set)
        if args.weeks is not None:
            changes["weeks"] = args.weeks
        if args.seed is not None:
            changes["seed"] = args.seed
        if changes:
            scenario = scenario.with_values(changes)
        variants: dict[str, dict[str, Any]] = {"baseline": {}}
        for assignments in args.compare:
            name = ", ".join(f"{k}={_shown(v)}" for k, v in assignments)
            variants[name] = dict(assignments)
        for values in variants.values():  # check every variant before anything runs
            if values:
                scenario.with_values(values)
    except InvalidInputError as exc:
        print(f"{NAME}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with _progress(not args.json, "simulating") as progress:
            sweep = run_sweep(
                scenario, runs=args.runs, variants=variants, workers=args.workers, url=args.db, progress=progress
            )
    except InvalidInputError as exc:
        print(f"{NAME}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CoplibError as exc:
        print(f"{NAME}: failed: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    comparison = compare(sweep) if len(variants) > 1 else None
    if args.csv:
        try:
            Path(args.csv).write_text(to_csv(sweep.table()), encoding="utf-8")
        except OSError as exc:
            print(f"{NAME}: error: cannot write {args.csv}: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
    if args.json:
        print(dumps(sweep_document(sweep, comparison)))
        return EXIT_OK
    print(f"{scenario.name}: {scenario.weeks} weeks, {args.runs} run(s) per variant, seeds from {scenario.seed}")
    for name, results in sweep.runs.items():
        print(f"\n{name}:")
        for community in results[0].communities:
            for metric in METRICS:
                figures = [r.communities[community]["metrics"][metric] for r in results]
                defined = [float(v) for v in figures if v is not None]
                shown = f"{statistics.fmean(defined):.3g}" if defined else "-"
                print(f"  {community}.{metric:<28} {shown}")
    if comparison is not None:
        print("\nverdict:")
        for line in comparison.verdict():
            print(f"  {line}")
    return EXIT_OK


def _calibrate(args: argparse.Namespace) -> int:
    from coplib.bootstrap.open import open_engine
    from coplib.importers.stackexchange import import_stackexchange
    from coplib.simulation import calibrate, dumps

    logging.getLogger("coplib.bootstrap").setLevel(logging.ERROR)
    try:
        with open_engine(args.db) as engine:
            report = import_stackexchange(engine, args.calibrate)
            result = calibrate(
                engine,
                report.community_id,
                fit_months=args.fit_months,
                runs=args.runs,
                workers=args.workers,
                max_months=args.months,
            )
    except InvalidInputError as exc:
        print(f"{NAME}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CoplibError as exc:
        print(f"{NAME}: failed: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(dumps(result.to_dict()) if args.json else result.text(), end="\n" if args.json else "")
    return EXIT_OK
