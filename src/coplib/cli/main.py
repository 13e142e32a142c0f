"""The ``coplib`` command line (also ``python -m coplib``).

``coplib demo [--db PATH] [--weeks N] [--seed N] [--fresh]`` runs the example of
`coplib.simulation.demo`. The operational commands, fit for cron or a long-running worker, run on a
host's store with its directory file and its plugins (entry points of the ``coplib`` group):
``coplib dispatch`` delivers the outbox (``--loop`` keeps going), ``coplib tick`` lets the
policies act on what is due, ``coplib sync-directory`` keeps rule-based memberships in step. ``coplib import`` imports a
history from another platform; ``coplib health`` prints the communities' health report;
``coplib simulate`` runs a scenario of a simulated community through the engine.
Bad input exits with status 2 and a message saying what to change; a failure while running
exits with status 1.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from coplib.cli import health as health_cli
from coplib.cli import simulate as simulate_cli
from coplib.domain.errors import ConfigurationError, CoplibError, StorageError
from coplib.importers import cli as import_cli
from coplib.simulation.demo import DEFAULT_DB, DEFAULT_SEED, DEFAULT_WEEKS, MAX_WEEKS, MIN_WEEKS, run_demo

N = TypeVar("N", int, float)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

_SQLITE_HEADER = b"SQLite format 3\x00"


def _number(convert: Callable[[str], N], low: N, high: N | None = None, unit: str = "") -> Callable[[str], N]:
    """An argparse type: `convert` of the text, from `low` to `high` (no bound when None),
    with a message naming `unit` when the text is wrong."""
    kind = ("a whole number" if convert is int else "a number") + (f" of {unit}" if unit else "")
    bounds = f"from {low:g} to {high:g}{' ' + unit if unit else ''}" if high is not None else f"{low:g} or more"

    def parse(text: str) -> N:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {kind}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {value}")
        return value

    return parse


_weeks = _number(int, MIN_WEEKS, MAX_WEEKS, "weeks")
_seed = _number(int, 0)
_positive = _number(int, 1, 10_000)
_seconds = _number(float, 0.0, 3600.0, "seconds")


def _version() -> str:
    try:
        return importlib.metadata.version("coplib")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``coplib`` command."""
    parser = argparse.ArgumentParser(
        prog="coplib",
        description="Run communities of practice inside an organisation.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="walk a mutual-help community through its first weeks and print a report",
        description=(
            "Walk a mutual-help community through its first weeks with a manual clock, through the "
            "real engine, and print what happened and a report. Each run adds a new organisation "
            "(demo-1, demo-2...) to the store, so running again on the same file works; --fresh "
            "starts the file over instead."
        ),
    )
    demo.add_argument(
        "--db",
        default=DEFAULT_DB,
        metavar="PATH",
        help=(
            f"the SQLite file to write (default: {DEFAULT_DB} in the working directory); "
            "a storage URL such as memory:// is accepted too"
        ),
    )
    demo.add_argument(
        "--weeks",
        type=_weeks,
        default=DEFAULT_WEEKS,
        metavar="N",
        help=f"how many weeks to simulate, {MIN_WEEKS} to {MAX_WEEKS} (default: {DEFAULT_WEEKS})",
    )
    demo.add_argument(
        "--seed",
        type=_seed,
        default=DEFAULT_SEED,
        metavar="N",
        help=f"the seed of the routine weeks; the same seed prints the same story (default: {DEFAULT_SEED})",
    )
    demo.add_argument(
        "--fresh",
        action="store_true",
        help="delete the SQLite file (if it is one) before the run instead of adding to it",
    )
    demo.set_defaults(parser=demo)  # so that errors found later print this command's usage

    for name, summary in (
        ("dispatch", "deliver the due outbox messages through the notifier plugins"),
        ("tick", "let the policies act on what is due now (reminders, escalations, reviews)"),
        ("sync-directory", "keep rule-based memberships in step with the identity directory"),
    ):
        job = commands.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".")
        job.add_argument("--db", required=True, metavar="URL", help="the storage URL, e.g. sqlite:///coplib.db")
        job.add_argument("--directory", metavar="FILE", help="the identity directory file (TOML or JSON)")
        job.add_argument(
            "--no-entry-points",
            action="store_true",
            help="do not load the plugins of the coplib entry-point group (notifiers, directories...)",
        )
        job.add_argument(
            "--require-organisations",
            action="store_true",
            help="a person the directory lists in no organisation belongs to none (hosts of several organisations)",
        )
        job.set_defaults(parser=job)
        if name == "dispatch":
            job.add_argument("--limit", type=_positive, default=100, metavar="N", help="messages per round")
            job.add_argument("--loop", action="store_true", help="keep dispatching until interrupted")
            job.add_argument(
                "--idle", type=_seconds, default=5.0, metavar="S", help="seconds to wait when nothing is due"
            )
    import_cli.add_parser(commands)
    health_cli.add_parser(commands)
    simulate_cli.add_parser(commands)
    return parser


def _job(args: argparse.Namespace) -> int:
    """Run one of the operational commands on the host's store."""
    from coplib.adapters.identity.directory_file import DirectoryFile
    from coplib.bootstrap.open import open_engine

    try:
        plugins = [DirectoryFile(args.directory)] if args.directory else []
        engine = open_engine(
            args.db,
            plugins=plugins,
            load_entrypoints=not args.no_entry_points,
            require_organisations=args.require_organisations,
        )
    except CoplibError as exc:
        print(f"coplib {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with engine:
            if args.command == "dispatch":
                if args.loop:
                    from coplib.notification.dispatcher import Dispatcher

                    claimed = Dispatcher(engine, policy=engine.delivery).run(idle=args.idle, limit=args.limit)
                    print(f"dispatched: {claimed} message(s) handled")
                else:
                    report = engine.dispatch(limit=args.limit)
                    print(
                        f"dispatched: {report.delivered} delivered, {report.retried} to retry, {report.dead} dead, "
                        f"{report.dropped} dropped, {report.deferred} deferred"
                    )
                    if report.unserved:
                        print(
                            f"coplib dispatch: warning: {report.unserved} message(s) stay queued: no notifier "
                            "serves their channel (register one: see docs/notifications.md)",
                            file=sys.stderr,
                        )
            elif args.command == "tick":
                tick = engine.tick()
                done = ", ".join(f"{name} {count}" for name, count in sorted(tick.done.items())) or "nothing"
                print(f"tick at {tick.now.isoformat()}: {done}; {tick.retried} failed reaction(s) retried")
                for error in tick.errors:
                    print(f"coplib tick: {error}", file=sys.stderr)
                if tick.errors:
                    return EXIT_FAILURE
            else:
                sync = engine.sync_directory()
                outside = f", {len(sync.outside)} outside their community's organisations" if sync.outside else ""
                print(
                    f"directory sync: {len(sync.joined)} joined, {len(sync.left)} left, "
                    f"{len(sync.deactivated)} deactivated{outside}"
                )
    except CoplibError as exc:
        print(f"coplib {args.command}: failed: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _storage_url(parser: argparse.ArgumentParser, db: str, fresh: bool) -> str:
    """The storage URL for ``--db``, after the checks that need no store; with `fresh`, the
    old file is deleted here."""
    if not db.strip():
        parser.error("argument --db: give a file path, e.g. --db coplib-demo.db")
    if "://" in db:
        if fresh and not db.startswith("sqlite:///"):
            parser.error(f"argument --fresh: only a SQLite file can be started over, not {db}")
        path_text = db.removeprefix("sqlite:///").split("?", 1)[0] if db.startswith("sqlite:///") else None
        url = db
    else:
        path_text = db
        url = f"sqlite:///{db}"
    if path_text is not None:
        path = Path(path_text)
        if path.is_dir():
            parser.error(f"argument --db: {path_text} is a directory; give a file path inside it")
        if not path.parent.is_dir():
            parser.error(f"argument --db: the directory {path.parent} does not exist")
        if fresh and path.exists():
            _delete_sqlite_file(parser, path)
    return url


def _delete_sqlite_file(parser: argparse.ArgumentParser, path: Path) -> None:
    try:
        with path.open("rb") as f:
            header = f.read(len(_SQLITE_HEADER))
    except OSError as exc:
        parser.error(f"argument --fresh: {path} cannot be read: {exc.strerror}")
    if header and header != _SQLITE_HEADER:
        parser.error(f"argument --fresh: {path} is not a SQLite database; refusing to delete it")
    for suffix in ("", "-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        try:
            companion.unlink(missing_ok=True)
        except OSError as exc:
            parser.error(f"argument --fresh: {companion} cannot be deleted: {exc.strerror}")


def _demo(args: argparse.Namespace) -> int:
    url = _storage_url(args.parser, args.db, args.fresh)
    try:
        run_demo(url, weeks=args.weeks, seed=args.seed, out=sys.stdout)
    except (ConfigurationError, StorageError) as exc:
        # The store could not be opened or used as given: a problem with --db.
        print(f"coplib demo: error: cannot use --db {args.db}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CoplibError as exc:
        print(f"coplib demo: failed: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``coplib`` command with `argv` (default: the process's arguments); returns the
    exit status."""
    parser = build_parser()
    if isinstance(sys.stdout, io.TextIOWrapper):
        # A terminal that cannot show "é" or "✉" gets a replacement character, not a crash.
        sys.stdout.reconfigure(errors="replace")
    try:
        args = parser.parse_args(argv)
        if args.command == "demo":
            return _demo(args)
        if args.command in ("dispatch", "tick", "sync-directory"):
            return _job(args)
        if args.command == "import":
            return import_cli.run(args)
        if args.command == "health":
            return health_cli.run(args)
        if args.command == "simulate":
            return simulate_cli.run(args)
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # argparse reports bad input this way (status 2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (``coplib demo | head``): stop quietly, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
