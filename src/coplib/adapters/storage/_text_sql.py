"""The full-text index of the SQL stores: the row each searchable contribution gets, and the
query each engine is sent (SQLite FTS5 ``MATCH``, PostgreSQL ``to_tsquery``), built from
`coplib.domain.text_search` so that every store matches the same contributions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from coplib.domain.history import Aggregate
from coplib.domain.text_search import document_text

_TERM: Final = re.compile(r"[^\W_]+")

SQLITE_INSERT_DOC: Final = "INSERT INTO search_docs (kind, id, community_id) VALUES (?, ?, ?)"
SQLITE_INSERT_TERMS: Final = (
    "INSERT INTO search_terms (rowid, terms) SELECT docid, ? FROM search_docs WHERE kind = ? AND id = ?"
)
#: The same two rows under a docid the writer chose (the next free ones, read in its write
#: transaction): the terms go in by rowid, without a lookup of search_docs per row, which
#: costs FTS5 as much as indexing the terms themselves.
SQLITE_NEXT_DOCID: Final = "SELECT coalesce(max(docid), 0) + 1 FROM search_docs"
SQLITE_INSERT_DOC_AT: Final = "INSERT INTO search_docs (docid, kind, id, community_id) VALUES (?, ?, ?, ?)"
SQLITE_INSERT_TERMS_AT: Final = "INSERT INTO search_terms (rowid, terms) VALUES (?, ?)"
SQLITE_DELETE_TERMS: Final = (
    "DELETE FROM search_terms WHERE rowid IN (SELECT docid FROM search_docs WHERE kind = ? AND id = ?)"
)
SQLITE_DELETE_DOC: Final = "DELETE FROM search_docs WHERE kind = ? AND id = ?"


def search_row(kind: str, id_: str, value: Aggregate) -> tuple[str, str, str, str] | None:
    """(kind, id, community_id, terms) of a searchable contribution, terms separated by
    spaces; None when `value` is not searched (not a searchable kind, withdrawn)."""
    terms = document_text(value)
    community_id = getattr(value, "community_id", None)
    if terms is None or not isinstance(community_id, str):
        return None
    return kind, id_, community_id, terms


def _checked(term: str) -> str:
    # Terms come from `text_search.words`: letters and digits only, so they need no escaping;
    # anything else is a programming error, refused rather than sent.
    if not _TERM.fullmatch(term):
        raise ValueError(f"not an index term: {term!r}")
    return term


def fts5_query(query: Sequence[tuple[str, ...]]) -> str:
    """The FTS5 MATCH expression: each group an OR of quoted terms, the groups ANDed."""
    return " AND ".join("(" + " OR ".join(f'"{_checked(t)}"' for t in group) + ")" for group in query)


def tsquery(query: Sequence[tuple[str, ...]]) -> str:
    """The PostgreSQL ``to_tsquery('simple', ...)`` text: each group an OR, the groups ANDed."""
    return " & ".join("(" + " | ".join(_checked(t) for t in group) + ")" for group in query)
