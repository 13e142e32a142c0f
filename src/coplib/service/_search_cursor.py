"""The opaque cursor of `Engine.search`: where the next page starts, bound to the query it
pages through.

A cursor is ``base64url(JSON)`` of ``{"v": 1, "o": offset, "q": digest}``, where `digest` is
the first 16 hex digits of the SHA-256 of the query (viewer, text, community, kinds, limit).
It is validated strictly: anything that does not decode, has another version, a negative or
non-integer offset, or a digest of another query is refused with `InvalidInputError` naming
``$.cursor``. It is not secret and needs no key: the offset counts only hits the viewer may
read (the store is asked about the readable communities alone), so a forged offset can only
address the viewer's own results. The digest keeps a cursor from being replayed with another
query or by another viewer, which would otherwise silently page through the wrong results.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from typing import Final

from coplib.domain.errors import InvalidInputError

VERSION: Final = 1
#: The highest offset a cursor may carry (a search pages through at most this many hits).
MAX_OFFSET: Final = 10_000
_PATH: Final = "$.cursor"


def query_digest(viewer: str, text: str, community_id: str | None, kinds: Sequence[str], limit: int) -> str:
    canonical = json.dumps([viewer, text, community_id, sorted(kinds), limit], ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def encode(offset: int, digest: str) -> str:
    body = json.dumps({"v": VERSION, "o": offset, "q": digest}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode("ascii")).decode("ascii").rstrip("=")


def decode(cursor: object, digest: str, context: str) -> int:
    """The offset `cursor` carries, once it is checked to be a cursor of the query `digest`."""

    def refuse(why: str) -> InvalidInputError:
        return InvalidInputError.field(_PATH, why, context=context)

    if not isinstance(cursor, str):
        raise refuse(f"must be a cursor string from a previous page, got {type(cursor).__name__}")
    if not cursor or len(cursor) > 200 or not cursor.isascii():
        raise refuse("is not a cursor of this search")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw.decode("ascii"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise refuse("is not a cursor of this search (it does not decode)") from None
    if not isinstance(body, dict) or set(body) != {"v", "o", "q"} or body["v"] != VERSION:
        raise refuse("is not a cursor of this search (unknown form or version)")
    offset = body["o"]
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise refuse("is not a cursor of this search (bad position)")
    if body["q"] != digest:
        raise refuse("belongs to another search (another text, community, kinds, limit or viewer)")
    return offset
