"""A malformed dump raises a typed error naming the file, the line and the attribute, and
stores nothing of it; a failed batch leaves nothing while earlier ones stay; importing again
resumes, adds nothing when all is there, and adds only what is new from a later dump."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

import coplib
from coplib import Engine, InvalidInputError, Question, StorageError
from coplib.domain.events import AnswerAccepted, DomainEvent
from coplib.importers import MissingExtraError, SourceError
from coplib.importers.stackexchange import import_stackexchange
from coplib.ports.storage import Filter
from tests.importers.dumps import fabricated_files, write_archive, write_dump, xml_text

SITE = "beer.stackexchange.com"
FIRST_ROW_LINE = 3  # line 1: the declaration, line 2: the root element


def only(rows: list[dict[str, object]], ids: Iterable[int]) -> list[dict[str, object]]:
    keep = set(ids)
    return [row for row in rows if row["Id"] in keep]


def early_files() -> dict[str, list[dict[str, object]]]:
    """The fabricated dump as it was at an earlier date: fewer posts, comments, votes, badges."""
    files = fabricated_files()
    files["Posts.xml"] = only(files["Posts.xml"], (1, 2, 3, 4, 7, 9))
    files["Comments.xml"] = only(files["Comments.xml"], (1, 2))
    files["Votes.xml"] = only(files["Votes.xml"], (1, 4, 5))
    files["Badges.xml"] = only(files["Badges.xml"], (1, 4))
    return files


def counts(engine: Engine) -> dict[str, int]:
    kinds = ("question", "answer", "comment", "endorsement", "resource", "membership", "badge_award")
    return {kind: engine.store.count(kind) for kind in kinds} | {"events": len(engine.store.events(limit=100_000))}


def nothing_stored(engine: Engine) -> bool:
    return engine.store.communities() == [] and engine.store.events(limit=10) == []


# -- malformed files ---------------------------------------------------------------------------


def test_broken_xml_names_the_file_and_line_and_stores_nothing(tmp_path: Path) -> None:
    folder = write_dump(tmp_path / SITE, fabricated_files())
    text = (folder / "Posts.xml").read_bytes()
    cut = text.index(b'<row Id="5"')
    (folder / "Posts.xml").write_bytes(text[: cut + 20])
    with coplib.open("memory://") as engine:
        with pytest.raises(SourceError) as caught:
            import_stackexchange(engine, folder)

        assert nothing_stored(engine)
    error = caught.value
    assert (error.file, error.line, error.attribute) == ("Posts.xml", FIRST_ROW_LINE + 4, None)
    assert str(error).startswith(f"Posts.xml, line {FIRST_ROW_LINE + 4}: is not well-formed XML")
    assert isinstance(error, InvalidInputError)


def test_a_row_without_id_names_the_file_line_and_attribute(tmp_path: Path) -> None:
    files = fabricated_files()
    del files["Comments.xml"][2]["Id"]
    with coplib.open("memory://") as engine:
        with pytest.raises(SourceError) as caught:
            import_stackexchange(engine, write_dump(tmp_path / SITE, files))

        assert nothing_stored(engine)
    assert (caught.value.file, caught.value.line, caught.value.attribute) == ("Comments.xml", FIRST_ROW_LINE + 2, "Id")
    assert str(caught.value) == "Comments.xml, line 5, attribute Id: is required on every row of Comments.xml"


def test_a_bad_date_names_the_file_line_and_attribute(tmp_path: Path) -> None:
    files = fabricated_files()
    files["Posts.xml"][3]["CreationDate"] = "2014-13-45T00:00:00"
    with coplib.open("memory://") as engine, pytest.raises(SourceError) as caught:
        import_stackexchange(engine, write_dump(tmp_path / SITE, files))

    assert (caught.value.file, caught.value.line, caught.value.attribute) == ("Posts.xml", 6, "CreationDate")
    assert "'2014-13-45T00:00:00'" in str(caught.value)


def test_a_duplicate_id_names_the_second_row(tmp_path: Path) -> None:
    files = fabricated_files()
    files["Posts.xml"][5]["Id"] = 2
    with coplib.open("memory://") as engine, pytest.raises(SourceError) as caught:
        import_stackexchange(engine, write_dump(tmp_path / SITE, files))

    assert (caught.value.line, caught.value.attribute) == (FIRST_ROW_LINE + 5, "Id")


def test_an_entity_declaration_is_refused(tmp_path: Path) -> None:
    folder = write_dump(tmp_path / SITE, fabricated_files())
    posts = (
        (folder / "Posts.xml").read_bytes().replace(b"<posts>", b'<!DOCTYPE posts [<!ENTITY a "aaaa">]>\r\n<posts>', 1)
    )
    (folder / "Posts.xml").write_bytes(posts)
    with coplib.open("memory://") as engine, pytest.raises(SourceError, match="declares an XML entity"):
        import_stackexchange(engine, folder)


def test_a_dump_without_posts_or_a_path_that_is_no_dump_is_refused(tmp_path: Path) -> None:
    files = fabricated_files()
    del files["Posts.xml"]
    not_a_dump = tmp_path / "notes.txt"
    not_a_dump.write_text("hello", encoding="utf-8")
    with coplib.open("memory://") as engine:
        with pytest.raises(SourceError, match=r"^Posts.xml: is required"):
            import_stackexchange(engine, write_dump(tmp_path / SITE, files))
        with pytest.raises(SourceError, match=r"is neither a folder nor a \.7z archive"):
            import_stackexchange(engine, not_a_dump)
        with pytest.raises(SourceError, match="does not exist"):
            import_stackexchange(engine, tmp_path / "missing")


def test_a_7z_archive_without_py7zr_asks_for_the_import_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_dump(tmp_path / SITE, early_files())
    archive = write_archive(tmp_path / f"{SITE}.7z", folder)
    monkeypatch.setitem(sys.modules, "py7zr", None)
    with coplib.open("memory://") as engine, pytest.raises(MissingExtraError) as caught:
        import_stackexchange(engine, archive)

    assert "pip install 'coplib[import]'" in str(caught.value)
    assert isinstance(caught.value, coplib.ConfigurationError)


def test_a_broken_xml_member_of_an_archive_names_the_member_and_line(tmp_path: Path) -> None:
    folder = write_dump(tmp_path / SITE, fabricated_files())
    text = (folder / "Comments.xml").read_bytes()
    (folder / "Comments.xml").write_bytes(text.replace(b'<row Id="3"', b'<row Id="3" <', 1))
    archive = write_archive(tmp_path / f"{SITE}.7z", folder)
    with coplib.open("memory://") as engine, pytest.raises(SourceError) as caught:
        import_stackexchange(engine, archive)

    assert (caught.value.file, caught.value.line) == ("Comments.xml", FIRST_ROW_LINE + 2)


# -- resuming and idempotence ------------------------------------------------------------------------


class FailingOn:
    """Wraps `engine.import_history` so that its `n`-th call fails as a store would."""

    def __init__(self, engine: Engine, n: int) -> None:
        self.real = engine.import_history
        self.n = n
        self.calls = 0

    def __call__(self, events: Iterable[DomainEvent], **kwargs: Any) -> int:
        self.calls += 1
        if self.calls == self.n:
            raise StorageError("the disk is full")
        return self.real(events, **kwargs)


def test_a_failed_batch_leaves_nothing_earlier_ones_stay_and_running_again_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_dump(tmp_path / SITE, fabricated_files())
    url = f"sqlite:///{tmp_path / 'coplib.db'}"
    with coplib.open("memory://") as clean:
        import_stackexchange(clean, folder, batch_size=5)
        expected = counts(clean)
    with coplib.open(url) as engine:
        monkeypatch.setattr(engine, "import_history", FailingOn(engine, 3))
        with pytest.raises(StorageError):
            import_stackexchange(engine, folder, batch_size=5)
        assert counts(engine)["events"] == 10  # two batches of five
    with coplib.open(url) as engine:
        report = import_stackexchange(engine, folder, batch_size=5)

        assert counts(engine) == expected
    assert sum(report.existing.values()) == 10
    assert sum(report.imported.values()) + 10 == expected["events"]


def test_importing_the_same_dump_twice_adds_nothing(tmp_path: Path) -> None:
    folder = write_dump(tmp_path / SITE, fabricated_files())
    with coplib.open(f"sqlite:///{tmp_path / 'coplib.db'}") as engine:
        first = import_stackexchange(engine, folder)
        before = counts(engine)
        second = import_stackexchange(engine, folder)

        assert counts(engine) == before
    assert second.events == 0
    assert set(second.imported.values()) == {0}
    assert second.existing == first.imported


def test_a_later_dump_adds_only_what_is_new_and_moves_an_acceptance(tmp_path: Path) -> None:
    later = fabricated_files()
    later["Posts.xml"].append(
        {"Id": 13, "PostTypeId": 2, "ParentId": 1, "CreationDate": "2014-01-10T00:00:00", "OwnerUserId": 3, "Body": "b"}
    )
    later["Posts.xml"][0]["AcceptedAnswerId"] = 13
    with coplib.open("memory://") as reference:
        full = import_stackexchange(reference, write_dump(tmp_path / "full" / SITE, later))
        expected = counts(reference)
    with coplib.open("memory://") as engine:
        early = import_stackexchange(engine, write_dump(tmp_path / "early" / SITE, early_files()))
        report = import_stackexchange(engine, write_dump(tmp_path / "later" / SITE, later))
        question = engine.store.find("question", Filter(community_id=report.community_id))
        events = [r.event for r in engine.store.events(limit=10_000)]

        assert {k: v for k, v in counts(engine).items() if k != "events"} == {
            k: v for k, v in expected.items() if k != "events"
        }
    assert report.imported["questions"] == full.imported["questions"] - early.imported["questions"] == 2
    assert report.imported["answers"] == full.imported["answers"] - early.imported["answers"] == 2
    assert report.existing["comments"] == early.imported["comments"] == 2
    moved = [e for e in events if isinstance(e, AnswerAccepted) and e.previous_answer_id is not None]
    (first,) = [q for q in question if isinstance(q, Question) and q.title.startswith("Why")]
    assert len(moved) == 1 and moved[0].answer_id == first.accepted_answer_id
    assert moved[0].previous_answer_author_id == f"{SITE}/users/2"


def test_an_interrupted_import_of_a_malformed_later_dump_keeps_the_earlier_one_and_resumes_once_fixed(
    tmp_path: Path,
) -> None:
    later = fabricated_files()
    later["Votes.xml"][6]["CreationDate"] = "yesterday"
    with coplib.open("memory://") as engine:
        import_stackexchange(engine, write_dump(tmp_path / "early" / SITE, early_files()))
        before = counts(engine)
        with pytest.raises(SourceError, match=r"^Votes.xml, line 9, attribute CreationDate"):
            import_stackexchange(engine, write_dump(tmp_path / "later" / SITE, later))
        assert counts(engine) == before
        later["Votes.xml"][6]["CreationDate"] = "2014-01-07T00:00:00.000"
        report = import_stackexchange(engine, write_dump(tmp_path / "fixed" / SITE, later))

    assert report.imported["endorsements"] == 3
    assert report.existing["endorsements"] == 2


def test_the_organisation_of_an_imported_site_stays_and_several_sites_share_one(tmp_path: Path) -> None:
    beer = write_dump(tmp_path / SITE, early_files())
    wine = write_dump(tmp_path / "wine.stackexchange.com", early_files())
    with coplib.open("memory://") as engine:
        first = import_stackexchange(engine, beer, organisation_name="Acme")
        again = import_stackexchange(engine, beer)
        other = import_stackexchange(engine, wine, organisation_name="Acme")
        with pytest.raises(InvalidInputError, match="was imported into the organisation 'Acme'"):
            import_stackexchange(engine, beer, organisation_name="Elsewhere")

        assert [c.name for c in engine.store.communities(first.organisation_id)] == [SITE, "wine.stackexchange.com"]
    assert again.organisation_id == other.organisation_id == first.organisation_id
    assert other.community_id != first.community_id


def test_a_bom_less_file_with_plain_newlines_reads_the_same(tmp_path: Path) -> None:
    folder = write_dump(tmp_path / SITE, early_files())
    (folder / "Posts.xml").write_bytes(xml_text("posts", early_files()["Posts.xml"], bom=False).replace(b"\r\n", b"\n"))
    with coplib.open("memory://") as engine:
        report = import_stackexchange(engine, folder)

    assert report.imported["questions"] == 2
