"""Import a Stack Exchange site's public data dump (a folder of XML files, or the site's
``.7z`` archive) into a coplib mutual-help community, streaming, through the engine's bulk
path. See docs/importing.md for the mapping, rule by rule.

    report = import_stackexchange(engine, "beer.stackexchange.com.7z")
    report.community_id, report.imported["questions"]
"""

from __future__ import annotations

from coplib.importers import MissingExtraError, SourceError
from coplib.importers.stackexchange._driver import (
    DEFAULT_BATCH_SIZE,
    KINDS,
    ImportReport,
    ProgressCallback,
    import_stackexchange,
)
from coplib.importers.stackexchange._index import FABRICATED_POSTS
from coplib.importers.stackexchange._mapping import badge_token

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "FABRICATED_POSTS",
    "KINDS",
    "ImportReport",
    "MissingExtraError",
    "ProgressCallback",
    "SourceError",
    "badge_token",
    "import_stackexchange",
]
