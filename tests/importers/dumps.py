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


def _q(pid: int, when: str, **rest: object) -> dict[str, object]:
    return {"Id": pid, "PostTypeId": 1, "CreationDate": when, "Score": 0, **rest}


def _a(pid: int, parent: int, when: str, **rest: object) -> dict[str, object]:
    return {"Id": pid, "PostTypeId": 2, "ParentId": parent, "CreationDate": when, "Score": 0, **rest}


LONG_TITLE = "T" * 400
LONG_BODY = "<p>" + "é" * 40_000 + "</p>"


def fabricated_files() -> dict[str, list[dict[str, object]]]:
    """A small dump with every case the real world has: see test_fabricated_dump.py."""
    return {
        "Users.xml": [
            {"Id": -1, "DisplayName": "Community", "CreationDate": "2014-01-01T00:00:00.000"},
            {"Id": 1, "DisplayName": "Alice Martin", "CreationDate": "2014-01-02T10:00:00.000"},
            {"Id": 2, "DisplayName": "Bob\r\nBuilder\u0090", "CreationDate": "2014-01-02T11:00:00.000"},
            {"Id": 3, "DisplayName": "Carol", "CreationDate": "2014-01-03T00:00:00.000"},
            {"Id": 4, "DisplayName": "Never Posted", "CreationDate": "2014-02-01T00:00:00.000"},
        ],
        "Posts.xml": [
            _q(
                1,
                "2014-01-05T09:00:00.000",
                OwnerUserId=1,
                Title="Why is my beer\r\nflat?",
                Tags="|beer|hops|",
                AcceptedAnswerId=2,
                Body=(
                    "<p>It was <code>fizzy</code> &amp; now it's flat.</p>\n<pre><code>temp = 4C\n</code></pre>\n"
                    '<p>See <a href="https://example.org/x">this</a>\u009f.</p>'
                ),
            ),
            _a(2, 1, "2014-01-05T10:00:00.000", OwnerUserId=2, Body="<p>Keep it <em>cold</em>.</p>"),
            _q(
                3,
                "2014-01-05T12:00:00",
                OwnerDisplayName="Dana  Deleted",
                Title=LONG_TITLE,
                Body=LONG_BODY,
                Tags="<Wine><Grapes>",
                ClosedDate="2014-01-07T00:00:00.000",
            ),
            _a(4, 3, "2014-01-06T00:00:00.000", Body="<p>Nobody knows who wrote this.</p>"),
            _a(5, 999, "2014-01-06T01:00:00.000", OwnerUserId=3, Body="<p>To a question not in the dump.</p>"),
            _a(6, 8, "2014-01-08T00:00:00.000", OwnerUserId=1, Body="<p>Before its question in the file.</p>"),
            {
                "Id": 7,
                "PostTypeId": 4,
                "CreationDate": "2014-01-04T00:00:00.000",
                "OwnerUserId": -1,
                "Body": "Beer is a fermented drink.",
            },
            _q(8, "2014-01-07T00:00:00.000", OwnerUserId=3, Title="Duplicate of first", Tags="<beer><c++><ünicode>"),
            {
                "Id": 9,
                "PostTypeId": 5,
                "CreationDate": "2014-01-04T01:00:00.000",
                "OwnerUserId": 1,
                "Body": "<p>All about <b>beer</b>.</p>",
            },
            {"Id": 10, "PostTypeId": 6, "CreationDate": "2014-01-04T02:00:00.000", "OwnerUserId": 2, "Body": "x"},
            {"Id": 11, "PostTypeId": 5, "CreationDate": "2014-01-04T03:00:00.000", "OwnerUserId": 2, "Body": ""},
            _q(
                12, "2014-01-09T00:00:00.000", OwnerUserId=2, Title="No tags here", AcceptedAnswerId=5, Body="<p>Hi</p>"
            ),
            _q(1000000001, "2014-01-09T01:00:00.000", OwnerUserId=1, Title="Fabricated", Body="<p>x</p>"),
            _a(1000000010, 1000000001, "2014-01-09T02:00:00.000", OwnerUserId=1, Body="<p>x</p>"),
        ],
        "Comments.xml": [
            {
                "Id": 1,
                "PostId": 1,
                "UserId": 3,
                "CreationDate": "2014-01-05T09:30:00.000",
                "Text": "Did you\r\nstore it cold?\u009b",
            },
            {"Id": 2, "PostId": 2, "UserDisplayName": "Eve", "CreationDate": "2014-01-05T11:00:00.000", "Text": "+1"},
            {"Id": 3, "PostId": 5, "UserId": 1, "CreationDate": "2014-01-06T02:00:00.000", "Text": "orphan"},
            {"Id": 4, "PostId": 1000000001, "UserId": 1, "CreationDate": "2014-01-09T03:00:00.000", "Text": "fake"},
            {"Id": 5, "PostId": 9, "UserId": 2, "CreationDate": "2014-01-05T00:00:00.000", "Text": "Nice wiki"},
            {"Id": 6, "PostId": 3, "CreationDate": "2014-01-06T02:00:00.000", "Text": "Who am I?"},
        ],
        "Votes.xml": [
            {"Id": 1, "PostId": 1, "VoteTypeId": 2, "CreationDate": "2014-01-05T00:00:00.000"},
            {"Id": 2, "PostId": 1, "VoteTypeId": 2, "CreationDate": "2014-01-06T00:00:00.000"},
            {"Id": 3, "PostId": 1, "VoteTypeId": 2, "CreationDate": "2014-01-07T00:00:00.000"},
            {"Id": 4, "PostId": 2, "VoteTypeId": 2, "CreationDate": "2014-01-06T00:00:00.000"},
            {"Id": 5, "PostId": 2, "VoteTypeId": 1, "CreationDate": "2014-01-06T00:00:00.000"},
            {"Id": 6, "PostId": 2, "VoteTypeId": 3, "CreationDate": "2014-01-06T00:00:00.000"},
            {"Id": 7, "PostId": 5, "VoteTypeId": 2, "CreationDate": "2014-01-07T00:00:00.000"},
            {"Id": 8, "PostId": 9, "VoteTypeId": 2, "CreationDate": "2014-01-07T00:00:00.000"},
        ],
        "Badges.xml": [
            {
                "Id": 1,
                "UserId": 1,
                "Name": "Nice Answer",
                "Date": "2014-01-06T00:00:00.000",
                "Class": 3,
                "TagBased": "False",
            },
            {
                "Id": 2,
                "UserId": 1,
                "Name": "Nice Answer",
                "Date": "2014-01-08T00:00:00.000",
                "Class": 3,
                "TagBased": "False",
            },
            {"Id": 3, "UserId": 1, "Name": "beer", "Date": "2014-01-09T00:00:00.000", "Class": 3, "TagBased": "True"},
            {
                "Id": 4,
                "UserId": 2,
                "Name": "Autobiographer",
                "Date": "2014-01-03T00:00:00.000",
                "Class": 3,
                "TagBased": "False",
            },
            {"Id": 5, "Name": "Teacher", "Date": "2014-01-03T00:00:00.000", "Class": 3, "TagBased": "False"},
        ],
        "PostHistory.xml": [
            {"Id": 1, "PostHistoryTypeId": 10, "PostId": 1, "CreationDate": "2014-01-05T12:00:00.000", "Comment": 102},
            {"Id": 2, "PostHistoryTypeId": 11, "PostId": 1, "CreationDate": "2014-01-05T13:00:00.000"},
            {"Id": 3, "PostHistoryTypeId": 10, "PostId": 8, "CreationDate": "2014-01-07T05:00:00.000", "Comment": 101},
            {"Id": 4, "PostHistoryTypeId": 2, "PostId": 8, "CreationDate": "2014-01-07T00:00:00.000", "Text": "body"},
        ],
        "Tags.xml": [
            {"Id": 1, "TagName": "beer", "Count": 10, "ExcerptPostId": 7, "WikiPostId": 9},
            {"Id": 2, "TagName": "hops", "Count": 5},
            {"Id": 3, "TagName": "wine", "Count": 3},
        ],
    }
