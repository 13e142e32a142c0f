"""``coplib import SOURCE ...``: the importers' commands, one per source."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from coplib.importers.stackexchange import cli as stackexchange_cli


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``coplib import`` and its sources to the subparsers of the ``coplib`` command."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "import",
        help="import a community's history from another platform (stackexchange)",
        description="Import a community's history from another platform, through the engine's bulk path.",
    )
    sources = parser.add_subparsers(dest="source", metavar="SOURCE")
    stackexchange_cli.add_parser(sources)
    parser.set_defaults(parser=parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the chosen source's command; without one, print the usage (status 2)."""
    command = getattr(args, "run", None)
    if command is None:
        args.parser.print_help(sys.stderr)
        return 2
    status: int = command(args)
    return status
