"""Pages and cursors: the one design of every paged list (docs/host-api.md, "Pagination").

A list is read a page at a time: a `Page` holds the items and the cursor of the next page
(None on the last). A cursor is keyset pagination: it holds the sort key of the last item
returned, never an offset, so a list read while items arrive neither skips nor repeats an
item that was there when the walk began (a new item lands before the cursor, and is seen on
a later walk, or after it, and is seen on a later page of this one).

A cursor is an opaque string: ``<payload>.<tag>``, both base64url without padding. The
payload is JSON: the cursor version, the list's name, a digest of the list's scope (the
viewer and every filter the first page was asked with) and the key. The tag is an HMAC-SHA256
(first 16 bytes) of the payload under the engine's `cursor_secret`. Decoding refuses, with
`InvalidInputError` naming ``$.cursor``, a cursor that is not one (malformed), whose tag does
not match (forged or corrupted), that names another list or another scope (a cursor of one
viewer's list given with another viewer or other filters), or whose key is not of the shape
the list sorts by.

Security does not rest on the tag: a cursor names a position in a list, never a right. Each
page asks the permission decision point again and applies the viewer's filters again, so a
cursor forged with the secret in hand still only moves where the page starts. The tag makes
a hand-edited or truncated cursor a clear error rather than a silently different page.

Pure: the standard library and attrs only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Generic, TypeVar

import attrs

from coplib.domain import validation as v
from coplib.domain.errors import InvalidInputError

T = TypeVar("T")

#: The version written into every cursor; a cursor of another version is refused.
CURSOR_VERSION: Final = 1
#: The longest cursor accepted, in characters (a real one is far shorter).
CURSOR_MAX_CHARS: Final = 1024
#: The default page size, and the largest (the limit of every query).
PAGE_DEFAULT: Final = 50
PAGE_MAX: Final = v.QUERY_LIMIT_MAX
_TAG_BYTES: Final = 16
_PATH: Final = "$.cursor"

#: A key element: what a sort key is made of.
KeyPart = int | str | datetime
#: The shape of a list's key: one of "int", "str", "time" per element.
KeyShape = tuple[str, ...]


@attrs.frozen
class Page(Generic[T]):
    """One page of a list: its `items`, in the list's order, and `next_cursor`, to pass as
    ``cursor=`` for the next page (None: this is the last page)."""

    items: tuple[T, ...]
    next_cursor: str | None = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def last(self) -> bool:
        return self.next_cursor is None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or any(c not in _ALPHABET for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_ALPHABET: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def scope_digest(list_name: str, scope: Sequence[object]) -> str:
    """A short digest naming a list and its scope (the viewer, the filters)."""
    canonical = json.dumps([list_name, [repr(part) for part in scope]], separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:24]


def _encode_part(part: KeyPart) -> object:
    if isinstance(part, datetime):
        return {"t": part.astimezone(UTC).isoformat()}
    return part


def _decode_part(raw: object, kind: str) -> KeyPart:
    if kind == "int" and isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    if kind == "str" and isinstance(raw, str) and 0 < len(raw) <= 200:
        return raw
    if kind == "time" and isinstance(raw, dict) and set(raw) == {"t"} and isinstance(raw["t"], str):
        try:
            when = datetime.fromisoformat(raw["t"])
        except ValueError:
            raise ValueError("bad time") from None
        if when.tzinfo is None or when.utcoffset() != UTC.utcoffset(None):
            raise ValueError("time not in UTC")
        return when
    raise ValueError(f"not a {kind}")


@attrs.frozen
class CursorCodec:
    """Encodes and decodes the cursors of one engine, under its `secret`."""

    secret: bytes = attrs.field(validator=attrs.validators.instance_of(bytes))

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self.secret, payload, hashlib.sha256).digest()[:_TAG_BYTES]

    def encode(self, list_name: str, scope: Sequence[object], key: Sequence[KeyPart]) -> str:
        body = {
            "v": CURSOR_VERSION,
            "l": list_name,
            "s": scope_digest(list_name, scope),
            "k": [_encode_part(p) for p in key],
        }
        payload = json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8")
        return f"{_b64(payload)}.{_b64(self._tag(payload))}"

    def decode(
        self, cursor: object, list_name: str, scope: Sequence[object], shape: KeyShape, *, context: str = ""
    ) -> tuple[KeyPart, ...]:
        """The key a cursor holds, once it is shown to be one of this engine's for this list
        and scope; else `InvalidInputError` naming ``$.cursor`` (which changes nothing)."""

        def refuse(why: str) -> InvalidInputError:
            return InvalidInputError.field(_PATH, why, context=context)

        if not isinstance(cursor, str):
            raise refuse(f"must be a cursor string from a previous page, got {type(cursor).__name__}")
        if not 0 < len(cursor) <= CURSOR_MAX_CHARS or cursor.count(".") != 1:
            raise refuse("is not a cursor: pass the next_cursor of a previous page as it was")
        head, tail = cursor.split(".")
        try:
            payload, tag = _unb64(head), _unb64(tail)
        except (ValueError, binascii.Error):
            raise refuse("is not a cursor: pass the next_cursor of a previous page as it was") from None
        if not hmac.compare_digest(tag, self._tag(payload)):
            raise refuse("was altered or comes from another engine: its signature does not match")
        try:
            body = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise refuse("is not a cursor: its content is not readable") from None
        if not isinstance(body, dict) or set(body) != {"v", "l", "s", "k"}:
            raise refuse("is not a cursor: its content is not readable")
        if body["v"] != CURSOR_VERSION:
            raise refuse(f"is of cursor version {body['v']!r:.20}, this engine reads version {CURSOR_VERSION}")
        if body["l"] != list_name:
            raise refuse(f"belongs to another list ({body['l']!r:.40}), not {list_name!r}")
        if body["s"] != scope_digest(list_name, scope):
            raise refuse("was made for another viewer or other filters: ask the first page again")
        raw = body["k"]
        if not isinstance(raw, list) or len(raw) != len(shape):
            raise refuse("holds a key of the wrong shape for this list")
        try:
            return tuple(_decode_part(part, kind) for part, kind in zip(raw, shape, strict=True))
        except ValueError as exc:
            raise refuse(f"holds a key of the wrong shape for this list ({exc})") from None


def check_page_limit(value: object, context: str, path: str = "$.limit") -> int:
    """A page's size: the one rule of every query's limit (`validation.check_limit`: a whole
    number from 1 to `PAGE_MAX`); else `InvalidInputError` naming `path`."""
    return v.check_limit(value, context, path)


def page_of(
    rows: Sequence[T],
    limit: int,
    key_of: Callable[[T], Sequence[KeyPart]],
    make_cursor: Callable[[Sequence[KeyPart]], str],
) -> Page[T]:
    """The page of `rows` (read with ``limit + 1`` to know whether more follow): the first
    `limit`, and a cursor after the last of them when there were more."""
    if len(rows) <= limit:
        return Page(tuple(rows), None)
    items = tuple(rows[:limit])
    return Page(items, make_cursor(key_of(items[-1])))


def after_key(key: Sequence[Any], cursor_key: Sequence[Any] | None, *, descending: bool = False) -> bool:
    """Whether `key` comes strictly after `cursor_key` in the list's order (any key, with no
    cursor): the keyset test a list without a store query of its own uses."""
    if cursor_key is None:
        return True
    return tuple(key) < tuple(cursor_key) if descending else tuple(key) > tuple(cursor_key)
