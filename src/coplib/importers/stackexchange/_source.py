"""Where a dump's files come from: a folder, or the site's ``.7z`` archive read as a stream
(each member decompressed by py7zr in a thread and handed over through a small queue, so
that nothing is unpacked to disk and memory stays bounded)."""

from __future__ import annotations

import contextlib
import io
import os
import queue
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Final, cast

from coplib.importers import MissingExtraError, SourceError

#: The files of one site's dump coplib reads, in their published spelling.
FILES: Final = ("Posts.xml", "Users.xml", "Comments.xml", "Votes.xml", "Badges.xml", "PostHistory.xml", "Tags.xml")
REQUIRED: Final = "Posts.xml"
_7Z_MAGIC: Final = b"7z\xbc\xaf\x27\x1c"
_SITE_FORBIDDEN: Final = re.compile(r"[\s\x00-\x1f\x7f/]+")
SITE_MAX: Final = 100


def site_key(text: str) -> str:
    """A site's key as ids hold it: no white space, control characters or slashes, at most
    `SITE_MAX` characters (raises `SourceError` when nothing is left)."""
    key = _SITE_FORBIDDEN.sub("-", text.strip()).strip("-")[:SITE_MAX]
    if not key:
        raise SourceError("(site)", None, None, f"cannot make a site name out of {text!r:.60}: give one with site=")
    return key


class Dump:
    """One site's dump: which of `FILES` it holds, their sizes in bytes (uncompressed), and a
    way to open each as a binary stream."""

    def __init__(self, path: Path, site: str, sizes: dict[str, int], opener: Callable[[str], BinaryIO]) -> None:
        self.path = path
        self.site = site
        self.sizes = sizes
        self._opener = opener

    def has(self, name: str) -> bool:
        return name in self.sizes

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        stream = self._opener(name)
        try:
            yield stream
        finally:
            stream.close()


def open_dump(path: str | os.PathLike[str], site: str | None = None) -> Dump:
    """The dump at `path`: a folder holding Posts.xml (and the other files when present) or a
    ``.7z`` archive of them. `site` defaults to the folder's name or the archive's stem
    (``beer.stackexchange.com.7z`` gives ``beer.stackexchange.com``)."""
    where = Path(path)
    if where.is_dir():
        found = {p.name.lower(): p for p in where.iterdir() if p.is_file()}
        files = {name: found[name.lower()] for name in FILES if name.lower() in found}
        sizes = {name: file.stat().st_size for name, file in files.items()}
        dump = Dump(where, site_key(site or where.resolve().name), sizes, lambda name: files[name].open("rb"))
    elif where.is_file():
        with where.open("rb") as f:
            magic = f.read(len(_7Z_MAGIC))
        if magic != _7Z_MAGIC:
            raise SourceError(
                where.name, None, None, "is neither a folder nor a .7z archive: give the dump's folder or its .7z file"
            )
        stem = where.name[: -len(".7z")] if where.name.lower().endswith(".7z") else where.stem
        dump = _archive(where, site_key(site or stem))
    else:
        raise SourceError(str(where), None, None, "does not exist: give the dump's folder or its .7z archive")
    if not dump.has(REQUIRED):
        raise SourceError(REQUIRED, None, None, f"is required, and {where.name} holds none")
    return dump


def _py7zr() -> Any:
    try:
        import py7zr
    except ImportError:
        raise MissingExtraError("py7zr", "import", "reading a .7z dump") from None
    return py7zr


def _archive(path: Path, site: str) -> Dump:
    py7zr = _py7zr()
    try:
        with py7zr.SevenZipFile(path, mode="r") as archive:
            infos = [info for info in archive.list() if not info.is_directory]
    except (py7zr.exceptions.Bad7zFile, OSError, EOFError) as exc:
        raise SourceError(path.name, None, None, f"is not a readable .7z archive: {exc}") from None
    members: dict[str, Any] = {}
    for info in infos:
        base = info.filename.replace("\\", "/").rsplit("/", 1)[-1].lower()
        for name in FILES:
            if base == name.lower() and name not in members:
                members[name] = info
    sizes = {name: int(info.uncompressed) for name, info in members.items()}
    return Dump(path, site, sizes, lambda name: cast(BinaryIO, _MemberStream(path, members[name].filename, name)))


class _Cancelled(Exception):
    """The reader went away: the decompressing thread stops."""


_EOF: Final = object()


class _MemberStream(io.RawIOBase):
    """One member of a .7z archive as a readable stream: py7zr writes it, in a thread, to a
    writer that puts its blocks on a queue of two; reading takes them off. py7zr decompresses
    in blocks of its own choosing (up to 128 MB in its version 1), which bounds the memory."""

    def __init__(self, archive: Path, member: str, name: str) -> None:
        super().__init__()
        self._name = name
        self._queue: queue.Queue[object] = queue.Queue(maxsize=2)
        self._cancel = threading.Event()
        self._pending = memoryview(b"")
        self._done = False
        self._thread = threading.Thread(target=self._produce, args=(archive, member), daemon=True)
        self._thread.start()

    def _put(self, item: object) -> None:
        while True:
            if self._cancel.is_set():
                raise _Cancelled
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def _produce(self, archive: Path, member: str) -> None:
        py7zr = _py7zr()
        from py7zr.io import Py7zIO, WriterFactory

        put = self._put

        class Writer(Py7zIO):
            def __init__(self) -> None:
                self._size = 0

            def write(self, s: bytes | bytearray) -> int:
                put(bytes(s))
                self._size += len(s)
                return len(s)

            def read(self, size: int | None = None) -> bytes:
                return b""

            def seek(self, offset: int, whence: int = 0) -> int:
                return 0

            def flush(self) -> None:
                return None

            def size(self) -> int:
                return self._size

        class Factory(WriterFactory):
            def create(self, filename: str) -> Py7zIO:
                return Writer()

        try:
            with py7zr.SevenZipFile(archive, mode="r") as z:
                z.extract(targets=[member], factory=Factory())
            put(_EOF)
        except _Cancelled:
            return
        except Exception as exc:  # handed to the reader, who raises it as a SourceError
            with contextlib.suppress(_Cancelled):
                put(exc)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            if self._done:
                return 0
            item = self._queue.get()
            if item is _EOF:
                self._done = True
                return 0
            if isinstance(item, BaseException):
                self._done = True
                raise SourceError(self._name, None, None, f"cannot be read from the archive: {item}") from item
            assert isinstance(item, bytes)
            self._pending = memoryview(item)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self._cancel.set()
            with contextlib.suppress(queue.Empty):
                while True:
                    self._queue.get_nowait()
            self._thread.join(timeout=10)
            self._pending = memoryview(b"")
        super().close()
