"""Parsing a dump file: its ``<row .../>`` elements streamed with expat, block by block, each
with the line and byte offset it starts at, and the attribute readers that name the file,
line and attribute of a bad value; then, for a second reading of a file expat has checked,
the rows at known offsets, read without parsing the XML again."""

from __future__ import annotations

import functools
import re
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

    __slots__ = ("attrs", "file", "line", "offset")

    def __init__(self, file: str, line: int, attrs: Attributes, offset: int = -1) -> None:
        self.file = file
        self.line = line
        self.attrs = attrs
        self.offset = offset

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
            append(Row(file, parser.CurrentLineNumber, attrs, parser.CurrentByteIndex))

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


#: A row element, given that the file is well-formed (expat read it whole before): its
#: attributes, each quoted with " or '.
_ROW: Final = re.compile(rb"<row((?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*/?>")
_ATTRIBUTE: Final = re.compile(r"([^\s=]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_CHARACTER_REFERENCE: Final = re.compile(r"&#(x[0-9a-fA-F]+|[0-9]+);")


def _reference(match: re.Match[str]) -> str:
    code = match.group(1)
    return chr(int(code[1:], 16) if code[0] == "x" else int(code))


def _value(raw: str) -> str:
    """An attribute's value as an XML parser gives it: literal white space normalised to
    spaces, then references replaced (``&amp;`` last, so that ``&amp;lt;`` stays ``&lt;``)."""
    if "\n" in raw or "\t" in raw or "\r" in raw:
        raw = raw.replace("\r\n", " ").replace("\n", " ").replace("\t", " ").replace("\r", " ")
    if "&" not in raw:
        return raw
    raw = raw.replace("&#xA;", "\n").replace("&#xD;", "\r").replace("&#x9;", "\t")
    if "&#" in raw:
        raw = _CHARACTER_REFERENCE.sub(_reference, raw)
    raw = raw.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
    return raw.replace("&amp;", "&")


@functools.lru_cache(maxsize=64)
def _attribute(name: str) -> re.Pattern[bytes]:
    return re.compile(rb"\s" + re.escape(name.encode()) + rb"\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


class _LaterRow(Row):
    """A row read again: its attributes are decoded when asked for (the import asks for two
    or three of a row's twenty)."""

    __slots__ = ("_raw",)

    def __init__(self, file: str, offset: int, raw: bytes) -> None:
        super().__init__(file, 0, {}, offset)
        self._raw = raw

    def get(self, name: str) -> str | None:
        found = self.attrs.get(name)
        if found is not None:
            return found
        raw = self._raw
        key = name.encode()
        if key not in raw:
            return None
        # Dumps write ` Name="value"`: found with two plain searches; anything else with the
        # general pattern.
        start = raw.find(b" " + key + b'="')
        if start >= 0:
            start += len(key) + 3
            value = raw[start : raw.index(b'"', start)]
        else:
            match = _attribute(name).search(raw)
            if match is None:
                return None
            value = match.group(1) if match.group(1) is not None else match.group(2)
        found = self.attrs[name] = _value(value.decode("utf-8"))
        return found

    def all(self) -> Attributes:
        """Every attribute, decoded."""
        text = self._raw.decode("utf-8")
        return {m[1]: _value(m[2] if m[3] is None else m[3]) for m in _ATTRIBUTE.finditer(text)}


class RowsAt:
    """The rows of a file that `rows` has read whole before (so it is well-formed), taken at
    their byte offsets, in increasing order, reading forward block by block."""

    def __init__(self, stream: BinaryIO, file: str, progress: Callable[[int], None] | None = None) -> None:
        self._stream = stream
        self._file = file
        self._progress = progress
        self._buffer = b""
        self._base = 0  # the file offset of _buffer[0]
        self._eof = False

    def at(self, offset: int) -> _LaterRow:
        """The row that starts at byte `offset` (raises `SourceError` when there is none:
        the file changed since it was read)."""
        while True:
            start = offset - self._base
            if start >= len(self._buffer):
                self._base += len(self._buffer)
                self._buffer = b""
            elif start >= 0:
                if start > BLOCK:  # what comes before is read: keep the buffer short
                    self._buffer = self._buffer[start:]
                    self._base += start
                    start = 0
                found = _ROW.match(self._buffer, start)
                if found is not None:
                    return _LaterRow(self._file, offset, found.group(1))
            if self._eof or start < 0:
                raise SourceError(self._file, None, None, f"changed while it was read: no row at byte {offset}")
            self._read()

    def _read(self) -> None:
        data = self._stream.read(BLOCK)
        if not data:
            self._eof = True
            return
        if self._progress is not None:
            self._progress(len(data))
        self._buffer += data

    def finish(self) -> None:
        """Read the rest of the file (so that the progress reaches its end)."""
        while not self._eof:
            self._base += len(self._buffer)
            self._buffer = b""
            self._read()
