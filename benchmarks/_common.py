"""What every benchmark shares: the machine facts it prints, interleaved best-of-N timing with
a warm-up, and the lines that state a ratio against its target."""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from coplib.serialization import FAST_JSON

#: Where the numbers of a run are gathered, to print a summary at the end.
Summary = list[tuple[str, float, float, float | None, str]]


def arguments(description: str) -> argparse.ArgumentParser:
    """The options every benchmark takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a short run (a smoke test, not a measurement)")
    parser.add_argument("--repeat", type=int, default=None, help="rounds per contestant (the best one counts)")
    parser.add_argument(
        "--dir", default=None, help="directory for the database files (default: the system's temporary directory)"
    )
    parser.add_argument(
        "--synchronous",
        default=None,
        choices=["normal", "full"],
        help="open coplib's SQLite store with this setting (default: the store's own default); "
        "the raw baselines always use what the store runs with",
    )
    return parser


def sqlite_options(synchronous: str | None) -> dict[str, str]:
    """The options to open coplib's SQLite store with (none: its defaults)."""
    return {"synchronous": synchronous} if synchronous else {}


def filesystem_of(path: Path) -> str:
    """The file system type holding `path` (from /proc/mounts), or "unknown"."""
    try:
        mounts = Path("/proc/mounts").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "unknown"
    target, best = str(path.resolve()), (-1, "unknown")
    for line in mounts:
        parts = line.split()
        if len(parts) >= 3:
            point = parts[1]
            if (target == point or target.startswith(point.rstrip("/") + "/")) and len(point) > best[0]:
                best = (len(point), f"{parts[2]} on {parts[0]}")
    return best[1]


def git_revision() -> str:
    root = Path(__file__).resolve().parent.parent
    if shutil.which("git") is None or not (root / ".git").exists():
        return "unknown"
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' + uncommitted changes' if dirty else ''}"


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine_facts(workdir: Path, extra: Mapping[str, str] | None = None) -> None:
    """Print what the figures depend on: cores, load, Python, SQLite, the disk."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    facts = {
        "cores": f"{os.cpu_count()} ({usable} usable by this process)",
        "load average": f"{load_average()} (1, 5, 15 min) at the start",
        "python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "sqlite": f"{sqlite3.sqlite_version} (library), module sqlite3",
        "platform": platform.platform(),
        "database directory": f"{workdir} ({filesystem_of(workdir)})",
        "coplib revision": git_revision(),
        "json": "orjson (the fast extra)" if FAST_JSON else "the standard library (no fast extra)",
    }
    facts.update(extra or {})
    print("machine:")
    for name, value in facts.items():
        print(f"  {name:<20} {value}")
    print()


@contextlib.contextmanager
def workdir(base: str | None) -> Iterator[Path]:
    """A fresh directory for the run's database files, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="coplib-bench-", dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def race(contestants: Mapping[str, Callable[[], float]], repeat: int, *, warmup: int = 1) -> dict[str, float]:
    """Run the contestants in turns (so that a burst of load on the machine hits them all
    alike), `warmup` untimed rounds first; each returns the seconds of its timed part. Returns
    the best (smallest) time of each."""
    best = {name: float("inf") for name in contestants}
    for round_ in range(warmup + repeat):
        for name, run in contestants.items():
            gc.collect()
            seconds = run()
            if round_ >= warmup:
                best[name] = min(best[name], seconds)
    return best


@contextlib.contextmanager
def stdlib_json() -> Iterator[None]:
    """Within: coplib writes and reads its stored documents with the standard library's json,
    as it does without the ``fast`` extra (the same bytes, only slower)."""
    from coplib import serialization

    saved = serialization._ENCODE, serialization._LOADS_STORED
    serialization._ENCODE, serialization._LOADS_STORED = serialization._encode_stdlib, serialization._loads_stdlib
    try:
        yield
    finally:
        serialization._ENCODE, serialization._LOADS_STORED = saved


def without_fast_json(run: Callable[[], float]) -> Callable[[], float]:
    """`run`, under `stdlib_json`."""

    def wrapped() -> float:
        with stdlib_json():
            return run()

    return wrapped


def timed(fn: Callable[[], object]) -> float:
    """Seconds `fn` takes (perf_counter)."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def verdict(ratio: float, target: float | None, *, at_most: bool = False) -> str:
    if target is None:
        return "(no target)"
    met = ratio <= target if at_most else ratio >= target
    return f"target {'<=' if at_most else '>='} {target:g}: {'MET' if met else 'NOT MET'}"


def report(
    summary: Summary,
    name: str,
    value: float,
    baseline: float,
    target: float | None,
    unit: str,
    *,
    at_most: bool = False,
) -> float:
    """Print `value` against `baseline` as a ratio and its verdict; keep it for the summary."""
    ratio = value / baseline if baseline else float("nan")
    judged = verdict(ratio, target, at_most=at_most)
    print(f"  {name}: {value:,.1f} vs {baseline:,.1f} {unit} -> ratio {ratio:.3f} {judged}")
    summary.append((name, value, baseline, target, unit))
    return ratio


def print_summary(title: str, summary: Summary, *, at_most: bool = False) -> None:
    print(f"\n{title}")
    print(f"  {'measure':<58} {'value':>12} {'baseline':>12} {'ratio':>7}  verdict")
    for name, value, baseline, target, unit in summary:
        ratio = value / baseline if baseline else float("nan")
        print(
            f"  {name:<58} {value:>12,.1f} {baseline:>12,.1f} {ratio:>7.3f}  {verdict(ratio, target, at_most=at_most)}"
            f"  [{unit}]"
        )
    print(f"  load average at the end: {load_average()}")
