"""Parsing a dump file: its ``<row .../>`` elements streamed with expat, block by block, each
with the line it starts on, and the attribute readers that name the file, line and attribute
of a bad value."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import BinaryIO, Final
from xml.parsers import expat

from coplib.importers import SourceError

BLOCK: Final = 1 << 16
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)

Attributes = dict[str, str]


class Row:
    """One row of a dump file: its attributes, where it is, and typed readers of them."""

    __slots__ = ("attrs", "file", "line")

    def __init__(self, file: str, line: int, attrs: Attributes) -> None:
        self.file = file
        self.line = line
        self.attrs = attrs

    def fail(self, attribute: str | None, problem: str) -> SourceError:
        return SourceError(self.file, self.line, attribute, problem)

    def get(self, name: str) -> str | None:
        return self.attrs.get(name)

    def integer(self, name: str) -> int:
        """A required whole number."""
        text = self.attrs.get(name)
        if text is None:
            raise self.fail(name, f"is required on every row of {self.file}")
        return self._integer(name, text)

    def optional_integer(self, name: str) -> int | None:
        text = self.attrs.get(name)
        return None if text is None or text == "" else self._integer(name, text)

    def _integer(self, name: str, text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise self.fail(name, f"must be a whole number, got {text!r:.60}") from None

    def time(self, name: str) -> int:
        """A required date and time, as microseconds since 1970 (UTC)."""
        text = self.attrs.get(name)
        if text is None:
            raise self.fail(name, f"is required on every row of {self.file}")
        return self._time(name, text)

    def optional_time(self, name: str) -> int | None:
        text = self.attrs.get(name)
        return None if text is None or text == "" else self._time(name, text)

    def _time(self, name: str, text: str) -> int:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise self.fail(
                name, f"must be a date and time such as 2014-01-21T20:26:05.383, not {text!r:.60}"
            ) from None
        # Dumps write UTC without a zone; a zone, when there is one, is honoured.
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
        return (when - EPOCH) // _MICROSECOND


def to_datetime(micros: int) -> datetime:
    """The UTC datetime of microseconds since 1970."""
    return EPOCH + timedelta(microseconds=micros)


class _EntityDeclared(Exception):
    pass


def rows(stream: BinaryIO, file: str, progress: Callable[[int], None] | None = None) -> Iterator[Row]:
    """The ``row`` elements of `stream` (the dump file `file`), in order. A byte-order mark is
    allowed; entity declarations are refused (no dump has any, and they are how XML bombs
    work); broken XML raises `SourceError` with its line."""
    parser = expat.ParserCreate()
    found: list[Row] = []
    append = found.append

    def start(name: str, attrs: Attributes) -> None:
        if name == "row":
            append(Row(file, parser.CurrentLineNumber, attrs))

    def entity(*_: object) -> None:
        raise _EntityDeclared

    parser.StartElementHandler = start
    parser.EntityDeclHandler = entity
    while True:
        data = stream.read(BLOCK)
        try:
            parser.Parse(data, not data)
        except expat.ExpatError as exc:
            raise SourceError(
                file, exc.lineno, None, f"is not well-formed XML: {expat.ErrorString(exc.code)}"
            ) from None
        except _EntityDeclared:
            raise SourceError(
                file, parser.CurrentLineNumber, None, "declares an XML entity, which a dump never does: refused"
            ) from None
        if progress is not None and data:
            progress(len(data))
        if found:
            yield from found
            found.clear()
        if not data:
            return
