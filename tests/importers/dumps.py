"""Writing small Stack Exchange dumps for the tests, and reading real ones with the
standard library alone (to check the importer against figures it did not compute)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

REAL_DUMPS = Path(__file__).parents[2].parent / "shared" / "data" / "stackexchange"
ROOTS = {
    "Posts.xml": "posts",
    "Users.xml": "users",
    "Comments.xml": "comments",
    "Votes.xml": "votes",
    "Badges.xml": "badges",
    "PostHistory.xml": "posthistory",
    "Tags.xml": "tags",
}

Rows = Sequence[Mapping[str, object]]


def xml_text(root: str, rows: Rows, *, bom: bool = True) -> bytes:
    """A dump file as Stack Exchange writes it: a declaration, one ``<row/>`` per line."""
    lines = ['<?xml version="1.0" encoding="utf-8"?>', f"<{root}>"]
    for row in rows:
        attributes = " ".join(
            f"{name}={quoteattr(str(value), {chr(10): '&#xA;', chr(13): '&#xD;', chr(9): '&#x9;'})}"
            for name, value in row.items()
        )
        lines.append(f"  <row {attributes} />")
    lines.append(f"</{root}>")
    return (b"\xef\xbb\xbf" if bom else b"") + "\r\n".join(lines).encode("utf-8")


def write_dump(folder: Path, files: Mapping[str, Rows], *, bom: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        (folder / name).write_bytes(xml_text(ROOTS[name], rows, bom=bom))
    return folder


def write_archive(archive: Path, folder: Path) -> Path:
    """The folder's files in a .7z archive, as Stack Exchange publishes a site."""
    import py7zr

    with py7zr.SevenZipFile(archive, "w") as out:
        for file in sorted(folder.iterdir()):
            out.write(file, file.name)
    return archive


def read_rows(path: Path) -> Iterator[dict[str, str]]:
    """The rows of a dump file, with ElementTree (independent of the importer's reader)."""
    for _, element in ET.iterparse(path):
        if element.tag == "row":
            yield dict(element.attrib)
            element.clear()
