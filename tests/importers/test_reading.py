"""The second reading of a file, at the byte offsets of its rows, gives each row's attributes
exactly as expat gave them the first time (on the real dumps, and on the XML forms a dump
may use), without parsing the XML again."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from coplib.importers import SourceError
from coplib.importers.stackexchange._xml import RowsAt, rows
from tests.importers.dumps import REAL_DUMPS

REAL_FILES = sorted(REAL_DUMPS.glob("*/*.xml"))


def both_readings(data: bytes) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    first = list(rows(io.BytesIO(data), "test.xml"))
    reader = RowsAt(io.BytesIO(data), "test.xml")
    return [row.attrs for row in first], [reader.at(row.offset).all() for row in first]


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_rows_read_again_at_their_offsets_are_those_expat_read(path: Path) -> None:
    first, again = both_readings(path.read_bytes())

    assert again == first


def test_every_xml_form_of_an_attribute_reads_as_expat_reads_it() -> None:
    data = (
        b"\xef\xbb\xbf<?xml version='1.0' encoding='utf-8'?>\n<posts>\n"
        b"<row Id='1' Body='a \"quoted\" &gt; &lt;p&gt; &amp;amp; &#xA;&#10;&#x1F600; caf\xc3\xa9'/>"
        b'<row\n  Id = "2"\tTitle="x > y\nz\ty" Tags="&lt;a&gt;" ></row>\r\n'
        b'<row Id="3" Text="&apos;&quot;&#xD;"/>\n</posts>'
    )
    first, again = both_readings(data)

    assert again == first
    reader = RowsAt(io.BytesIO(data), "test.xml")
    assert reader.at(data.index(b"<row")).get("Body") == first[0]["Body"]
    assert first[0]["Body"] == 'a "quoted" > <p> &amp; \n\n\U0001f600 café'


def test_a_row_that_is_not_where_it_was_means_the_file_changed() -> None:
    reader = RowsAt(io.BytesIO(b"<posts>\n<row Id='1'/>\n</posts>"), "Posts.xml")

    with pytest.raises(SourceError, match="changed while it was read"):
        reader.at(3)
