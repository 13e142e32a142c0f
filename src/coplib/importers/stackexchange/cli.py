"""``coplib import stackexchange PATH [--db URL] [--organisation NAME] [--site NAME]
[--directory FILE] [--batch-size N] [--json]``: import one site's dump."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from coplib.domain.errors import ConfigurationError, CoplibError, InvalidInputError, StorageError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
DEFAULT_DB = "coplib.db"


def _batch_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"must be from 1 to 100000, got {value}")
    return value


def add_parser(sources: Any) -> argparse.ArgumentParser:
    """Add the ``stackexchange`` source to the subparsers of ``coplib import``."""
    summary = "import a Stack Exchange site's data dump (a folder of XML files or the site's .7z archive)"
    parser: argparse.ArgumentParser = sources.add_parser(
        "stackexchange",
        help=summary,
        description=(
            "Import a Stack Exchange site's data dump into a mutual-help community: the site becomes an "
            "organisation and a community, its users people and members, its posts questions, answers and "
            "tag-wiki resources, with comments, accepted answers, up-votes and badges. Importing the same dump "
            "again adds nothing; a later dump adds what is new; an interrupted import resumes."
        ),
    )
    parser.add_argument("path", metavar="PATH", help="the dump's folder (with Posts.xml) or its .7z archive")
    parser.add_argument(
        "--db",
        default=DEFAULT_DB,
        metavar="URL",
        help=f"the storage URL, e.g. sqlite:///coplib.db, or a SQLite file path (default: {DEFAULT_DB})",
    )
    parser.add_argument("--organisation", metavar="NAME", help="the organisation's name (default: the site's)")
    parser.add_argument(
        "--site", metavar="NAME", help="the site's name, from which every id derives (default: from PATH)"
    )
    parser.add_argument(
        "--directory", metavar="FILE", help="also write the dump's people to this directory file (JSON)"
    )
    parser.add_argument(
        "--batch-size", type=_batch_size, default=500, metavar="N", help="events per unit of work (default: 500)"
    )
    parser.add_argument("--json", action="store_true", help="print what was imported as JSON")
    parser.set_defaults(parser=parser, run=run)
    return parser


def _url(db: str) -> str:
    return db if "://" in db else f"sqlite:///{db}"


def run(args: argparse.Namespace) -> int:
    """Run ``coplib import stackexchange`` with its parsed arguments; returns the exit status."""
    from coplib.bootstrap.open import open_engine
    from coplib.importers.stackexchange import import_stackexchange
    from coplib.importers.stackexchange._progress import terminal_progress

    name = "coplib import stackexchange"
    try:
        # An import sends no message (old history is not news): the warning that no notifier
        # is registered does not concern it, so it is not printed.
        bootstrap_log = logging.getLogger("coplib.bootstrap")
        level = bootstrap_log.level
        bootstrap_log.setLevel(logging.ERROR)
        try:
            engine = open_engine(_url(args.db))
        finally:
            bootstrap_log.setLevel(level)
    except CoplibError as exc:
        print(f"{name}: error: cannot use --db {args.db}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with engine, terminal_progress(sys.stderr) as progress:
            report = import_stackexchange(
                engine,
                args.path,
                organisation_name=args.organisation,
                site=args.site,
                batch_size=args.batch_size,
                progress=progress,
                directory_file=args.directory,
            )
    except (InvalidInputError, ConfigurationError) as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (CoplibError, OSError) as exc:
        kind = "storage failed" if isinstance(exc, StorageError) else "failed"
        print(f"{name}: {kind}: {exc}; what was stored stays, and running again resumes", file=sys.stderr)
        return EXIT_FAILURE
    if args.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
        return EXIT_OK
    print(f"imported {report.site} into community {report.community_id} (organisation {report.organisation_id})")
    for kind, count in report.imported.items():
        existing = report.existing[kind]
        print(f"  {kind.replace('_', ' ')}: {count} new" + (f", {existing} already there" if existing else ""))
    print(f"  people: {report.people}; events stored: {report.events}")
    for reason, count in report.skipped.items():
        print(f"  skipped: {count} {reason}")
    for change, count in report.adjusted.items():
        print(f"  adjusted: {count} {change}")
    if report.directory_file:
        print(f"  people written to the directory file {report.directory_file}")
    return EXIT_OK
