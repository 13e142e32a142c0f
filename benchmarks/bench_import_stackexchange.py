"""The Stack Exchange importer on a SQLite file: its speed against parsing the same files alone
(the floor of reading) and against `Engine.import_history` of the already-mapped events (the
floor of storing), in the same run; and its peak memory on synthetic dumps ten times beer's
size and of 1,000,000 posts, each imported in a subprocess, against beer's.

    python -m benchmarks.bench_import_stackexchange [--quick] [--repeat N] [--dir DIR] [--dump DIR]

Targets: parsing and mapping cost no more than storing (the import takes at most twice the
time of storing its events); the peak RSS of the larger imports is within 1.2 x beer's.
``--quick`` skips the 1,000,000-post dump.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

try:
    from benchmarks import _common as common
except ImportError:  # run as a file: python benchmarks/bench_import_stackexchange.py
    import _common as common  # type: ignore[no-redef,import-not-found]

import coplib
from coplib.domain.events import DomainEvent
from coplib.importers.stackexchange import import_stackexchange
from coplib.importers.stackexchange._source import FILES
from coplib.importers.stackexchange._xml import rows

BEER = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "stackexchange" / "beer"
SPEED_TARGET = 2.0  # import time / store time: parsing and mapping no dearer than storing
MEMORY_TARGET = 1.2
#: Ids of copy k are shifted by k x SHIFT (beer's ids stay far below it).
SHIFT = 1_000_000
_SHIFTED = ("Id", "ParentId", "AcceptedAnswerId", "OwnerUserId", "LastEditorUserId")


def posts_in(folder: Path) -> int:
    with (folder / "Posts.xml").open("rb") as f:
        return sum(1 for _ in rows(f, "Posts.xml"))


class Parse:
    """Reading the dump's files once each with the importer's reader, doing nothing else."""

    def __init__(self, folder: Path) -> None:
        self.files = [folder / name for name in FILES if (folder / name).exists()]

    def __call__(self) -> float:
        start = time.perf_counter()
        for path in self.files:
            with path.open("rb") as f:
                for _ in rows(f, path.name):
                    pass
        return time.perf_counter() - start


class Import:
    """The whole import into a fresh SQLite file."""

    def __init__(self, folder: Path, workdir: Path, options: dict[str, str]) -> None:
        self.folder, self.workdir, self.options = folder, workdir, options
        self.count = 0

    def __call__(self) -> float:
        self.count += 1
        url = f"sqlite:///{self.workdir / f'import-{self.count}.db'}"
        with coplib.open(url, options=self.options) as engine:
            return common.timed(lambda: import_stackexchange(engine, self.folder, workdir=self.workdir))


class Store:
    """`import_history` of the events the import makes (mapped beforehand, kept in memory),
    in batches of the import's size, into a fresh SQLite file."""

    def __init__(self, events: list[DomainEvent], workdir: Path, options: dict[str, str]) -> None:
        self.events, self.workdir, self.options = events, workdir, options
        self.count = 0

    def __call__(self) -> float:
        self.count += 1
        url = f"sqlite:///{self.workdir / f'store-{self.count}.db'}"
        with coplib.open(url, options=self.options) as engine:
            return common.timed(lambda: engine.import_history(self.events, batch_size=500))


def mapped_events(folder: Path, workdir: Path) -> list[DomainEvent]:
    """The events an import of `folder` hands to `import_history`, in order."""
    captured: list[DomainEvent] = []
    with coplib.open("memory://") as engine:
        real = engine.import_history

        def capture(events: Iterable[DomainEvent], *, batch_size: int = 500) -> int:
            batch = list(events)
            captured.extend(batch)
            return real(batch, batch_size=batch_size)

        engine.import_history = capture  # type: ignore[method-assign]
        import_stackexchange(engine, folder, workdir=workdir)
    return captured


# -- memory --------------------------------------------------------------------------------------


def synthesize(source: Path, copies: int, out: Path, *, posts: int | None = None) -> Path:
    """A dump of `copies` copies of `source`'s Posts.xml, each with its ids (and its users'
    ids) shifted, so that every copy is a new set of questions, answers and people; cut at
    `posts` rows when given."""
    out.mkdir(parents=True, exist_ok=True)
    with (source / "Posts.xml").open("rb") as f:
        originals = [row.attrs for row in rows(f, "Posts.xml")]
    written = 0
    with (out / "Posts.xml").open("w", encoding="utf-8") as f:
        f.write('\ufeff<?xml version="1.0" encoding="utf-8"?>\n<posts>\n')
        for k in range(copies):
            for attrs in originals:
                if posts is not None and written >= posts:
                    break
                shifted = {
                    name: str(int(value) + k * SHIFT) if name in _SHIFTED else value for name, value in attrs.items()
                }
                entities = {"\n": "&#xA;", "\r": "&#xD;", "\t": "&#x9;"}
                fields = " ".join(f"{name}={quoteattr(value, entities)}" for name, value in shifted.items())
                f.write(f"  <row {fields} />\n")
                written += 1
        f.write("</posts>\n")
    return out


def child(mode: str, dump: str, db: str) -> int:
    """Import `dump` and print the peak RSS of this process. `mode` ``sqlite``: into the
    SQLite file `db`; ``discard``: the importer alone (reading, index, mapping), the events
    counted and dropped instead of stored (on an empty memory store), which leaves out the
    SQLite store's own memory of recent aggregates and events."""
    start = time.perf_counter()
    url = f"sqlite:///{db}" if mode == "sqlite" else "memory://"
    with coplib.open(url) as engine:
        if mode == "discard":
            engine.import_history = lambda events, batch_size=500: len(list(events))  # type: ignore[method-assign,misc]
        report = import_stackexchange(engine, dump, workdir=str(Path(db).parent))
    seconds = time.perf_counter() - start
    print(json.dumps({"peak_kib": peak_kib(), "seconds": seconds, "events": report.events}))
    return 0


def peak_kib() -> int:
    """This process's peak resident set, in KiB. On Linux, the kernel's high-water mark of this
    program's memory (`VmHWM`): `ru_maxrss` survives `exec` and would start from the peak of
    the benchmark process that started this one."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS


def measure(mode: str, dump: Path, workdir: Path, name: str) -> dict[str, Any]:
    db = workdir / f"memory-{name}.db"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_import_stackexchange", "--child", mode, str(dump), str(db)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def main(argv: list[str] | None = None) -> int:
    parser = common.arguments(__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--dump", default=str(BEER), help="the dump to time (default: shared/data's beer)")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "DUMP", "DB"), help=argparse_hidden())
    args = parser.parse_args(argv)
    if args.child:
        return child(*args.child)
    folder = Path(args.dump)
    repeat = args.repeat or (2 if args.quick else 5)
    options = common.sqlite_options(args.synchronous)
    summary: common.Summary = []
    with common.workdir(args.dir) as directory:
        posts = posts_in(folder)
        common.machine_facts(directory, {"workload": f"{folder.name}: {posts:,} posts, best of {repeat} rounds"})
        events = mapped_events(folder, directory)
        print(f"the import of {folder.name} stores {len(events):,} events\n")
        best = common.race(
            {
                "parse": Parse(folder),
                "store": Store(events, directory, options),
                "import": Import(folder, directory, options),
            },
            repeat,
        )
        print("posts per second (best round):")
        for name, seconds in best.items():
            print(f"  {name:<8} {posts / seconds:>12,.1f}   ({seconds * 1000:,.1f} ms)")
        print()
        common.report(summary, "import / parse alone (time)", best["import"], best["parse"], None, "s", at_most=True)
        ratio = common.report(
            summary, "import / store alone (time)", best["import"], best["store"], SPEED_TARGET, "s", at_most=True
        )
        cost = best["import"] - best["store"]
        verdict = "no more" if ratio <= SPEED_TARGET else "MORE"
        print(f"  parsing + mapping: {cost * 1000:,.1f} ms, {verdict} than storing ({best['store'] * 1000:,.1f} ms)\n")

        sizes = [("beer", folder), ("10 x beer", synthesize(folder, 10, directory / "beer-x10"))]
        if not args.quick:
            sizes.append(
                ("1,000,000 posts", synthesize(folder, -(-1_000_000 // posts), directory / "1m", posts=1_000_000))
            )
        modes = (
            ("sqlite", "import into a SQLite file"),
            ("discard", "the importer alone (events counted, not stored)"),
        )
        for mode, title in modes:
            print(f"peak RSS, {title}:")
            peaks = {}
            for name, dump in sizes:
                peaks[name] = found = measure(mode, dump, directory, name.replace(" ", "-").replace(",", ""))
                print(
                    f"  {name:<16} {posts_in(dump):>10,} posts: {found['peak_kib'] / 1024:,.1f} MiB, "
                    f"{found['events']:,} events stored in {found['seconds']:,.1f} s"
                )
            for name, _ in sizes[1:]:
                common.report(
                    summary,
                    f"peak RSS, {name} / beer, {mode}",
                    peaks[name]["peak_kib"] / 1024,
                    peaks["beer"]["peak_kib"] / 1024,
                    MEMORY_TARGET,
                    "MiB",
                    at_most=True,
                )
            print()
        common.print_summary("summary (bench_import_stackexchange)", summary, at_most=True)
    return 0


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    sys.exit(main())
