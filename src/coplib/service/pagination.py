"""The engine's side of paging (`coplib.domain.paging`): its cursor secret and the helpers
every paged read uses, so that all of them share one cursor design (docs/host-api.md).

The pattern of every paged read: ``cursor=None`` for the first page, then the
``next_cursor`` of the page before; ``limit`` from 1 to `PAGE_MAX` (50 by default); a
`Page` back. A list's existing method (``members``, ``history``...) keeps its list; its paged
form is the same name with ``_page`` (``members_page``...), and the new reads (``questions``,
``activity``...) page from the start.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from coplib.domain.errors import InvalidInputError
from coplib.domain.paging import CursorCodec, KeyPart, KeyShape, Page, page_of
from coplib.service._base import UseCases

T = TypeVar("T")

_TIME_ID: KeyShape = ("time", "str")


class Paging(UseCases):
    """The cursor secret and the cursor helpers."""

    _cursor_secret: bytes | None = None

    @property
    def cursor_secret(self) -> bytes:
        """The key the cursors are signed with. By default derived from the store's URL, so
        that the processes sharing a store accept each other's cursors; set your own (at
        least 16 bytes) to make cursors unforgeable by whoever knows the URL. Security does
        not rest on it: a cursor names a position, never a right (docs/host-api.md)."""
        if self._cursor_secret is None:
            return hashlib.sha256(b"coplib cursor\x00" + self._store.url.encode("utf-8")).digest()
        return self._cursor_secret

    @cursor_secret.setter
    def cursor_secret(self, value: bytes) -> None:
        if not isinstance(value, bytes) or len(value) < 16:
            raise InvalidInputError.field("$.cursor_secret", "must be at least 16 bytes")
        self._cursor_secret = value

    @property
    def _codec(self) -> CursorCodec:
        return CursorCodec(self.cursor_secret)

    def _decode(
        self, cursor: str | None, scope: Sequence[object], shape: KeyShape, ctx: str
    ) -> tuple[KeyPart, ...] | None:
        if cursor is None:
            return None
        return self._codec.decode(cursor, str(scope[0]), scope, shape, context=ctx)

    def _after_time_id(self, cursor: str | None, scope: Sequence[object], ctx: str) -> tuple[datetime, str] | None:
        key = self._decode(cursor, scope, _TIME_ID, ctx)
        if key is None:
            return None
        when, ident = key
        assert isinstance(when, datetime) and isinstance(ident, str)
        return when, ident

    def _after_int(self, cursor: str | None, scope: Sequence[object], ctx: str) -> int | None:
        key = self._decode(cursor, scope, ("int",), ctx)
        if key is None:
            return None
        assert isinstance(key[0], int)
        return key[0]

    def _after_strs(self, cursor: str | None, scope: Sequence[object], ctx: str, n: int) -> tuple[str, ...] | None:
        key = self._decode(cursor, scope, ("str",) * n, ctx)
        return None if key is None else tuple(str(k) for k in key)

    def _page(
        self, rows: Sequence[T], limit: int, scope: Sequence[object], key: Callable[[T], Sequence[KeyPart]]
    ) -> Page[T]:
        """The page of `rows` (read with at least ``limit + 1``), its cursor bound to `scope`."""
        return page_of(rows, limit, key, lambda k: self._codec.encode(str(scope[0]), scope, k))

    _page_by_time_id = _page
