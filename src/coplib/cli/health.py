"""``coplib health [--db URL] [--community ID] [--organisation ID] [--since DAY] [--until DAY]
[--json] [--locale en|fr]``: the health report of the store's communities, for the host (it
reads as the system: every community, private ones included)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import date
from pathlib import Path
from typing import Any

from coplib.domain.errors import CoplibError, InvalidInputError, NotFoundError
from coplib.domain.permissions import SYSTEM

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
DEFAULT_DB = "coplib.db"


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a day such as 2024-01-31, got {text!r}") from None


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``coplib health`` to the subparsers of the ``coplib`` command."""
    summary = "print the health report of the communities (responsiveness, activity, retention...)"
    parser: argparse.ArgumentParser = commands.add_parser(
        "health",
        help=summary,
        description=(
            "Print the health report of every community of the store, or of one: time to first answer, "
            "share answered, the unanswered backlog, activity, the retention of first-time askers, interaction, "
            "concentration, members, Wenger's dimensions, the three axes and the health index (docs/health.md). "
            "It reads as the host: private communities included."
        ),
    )
    parser.add_argument(
        "--db",
        default=DEFAULT_DB,
        metavar="URL",
        help=f"the storage URL, e.g. sqlite:///coplib.db, or a SQLite file path (default: {DEFAULT_DB})",
    )
    parser.add_argument("--community", metavar="ID", help="only this community")
    parser.add_argument("--organisation", metavar="ID", help="only the communities of this organisation")
    parser.add_argument("--since", type=_day, metavar="DAY", help="the first day of the period (default: all)")
    parser.add_argument("--until", type=_day, metavar="DAY", help="the day after the period (default: now)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON (schema coplib.health/1)")
    parser.add_argument(
        "--locale", choices=("en", "fr"), default="en", help="the language of the text report (default: en)"
    )
    parser.set_defaults(parser=parser, run=run)
    return parser


def _url(parser: argparse.ArgumentParser, db: str) -> str:
    if "://" in db:
        path = db.removeprefix("sqlite:///").split("?", 1)[0] if db.startswith("sqlite:///") else None
        url = db
    else:
        path, url = db, f"sqlite:///{db}"
    if path is not None and not Path(path).is_file():
        parser.error(f"argument --db: there is no database at {path}")
    return url


def run(args: argparse.Namespace) -> int:
    """Run ``coplib health`` with its parsed arguments; returns the exit status."""
    from coplib.bootstrap.open import open_engine
    from coplib.health import render_text, to_json

    name = "coplib health"
    url = _url(args.parser, args.db)
    if args.community and args.organisation:
        args.parser.error("argument --community: not with --organisation (a community names its own)")
    try:
        # A report sends no message: the warning that no notifier is registered is not for it.
        bootstrap_log = logging.getLogger("coplib.bootstrap")
        level = bootstrap_log.level
        bootstrap_log.setLevel(logging.ERROR)
        try:
            engine = open_engine(url)
        finally:
            bootstrap_log.setLevel(level)
    except CoplibError as exc:
        print(f"{name}: error: cannot use --db {args.db}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with engine:
            if args.community:
                reports = [engine.community_health(SYSTEM, args.community, since=args.since, until=args.until)]
            else:
                reports = engine.health_reports(SYSTEM, args.organisation, since=args.since, until=args.until)
    except (InvalidInputError, NotFoundError) as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CoplibError as exc:
        print(f"{name}: failed: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    if args.json:
        print(json.dumps(to_json(reports), indent=2, ensure_ascii=False))
        return EXIT_OK
    if not reports:
        print("no community in this store")
    print("\n".join(render_text(report, args.locale) for report in reports), end="")
    return EXIT_OK
