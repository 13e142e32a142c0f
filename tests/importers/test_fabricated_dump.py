"""A small dump written by the test holds every case real dumps have (a byte-order mark,
CRLF lines, both tag spellings, attributes absent when null, anonymous and unknown owners,
answers to missing questions and before their question, oversized titles and bodies, control
characters, the two fabricated posts, votes, badges, closings, tag wikis), as a folder and
as a .7z archive; the import maps each as docs/importing.md says."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest

import coplib
from coplib import Answer, Comment, ContributionKind, Endorsement, Engine, Question, Resource
from coplib.adapters.identity.directory_file import load_directory_file
from coplib.domain import validation as v
from coplib.domain.membership import Membership
from coplib.importers.stackexchange import ImportReport, import_stackexchange
from coplib.ports.storage import Filter
from tests.importers.dumps import fabricated_files, write_archive, write_dump

SITE = "beer.stackexchange.com"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dump(tmp_path_factory.mktemp("dump") / SITE, fabricated_files())


@attrs.define
class Result:
    engine: Engine
    report: ImportReport
    directory: Path

    def all(self, kind: str) -> list[Any]:
        return self.engine.store.find(kind, Filter(community_id=self.report.community_id))

    def question(self, title_start: str) -> Question:
        (found,) = [q for q in self.all("question") if q.title.startswith(title_start)]
        return found  # type: ignore[no-any-return]

    def person(self, suffix: str) -> str:
        return f"{SITE}/{suffix}"


@pytest.fixture(scope="module")
def result(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Result]:
    directory = tmp_path_factory.mktemp("people") / "people.json"
    with coplib.open("memory://") as engine:
        report = import_stackexchange(engine, folder, directory_file=directory, batch_size=7)
        yield Result(engine, report, directory)


def test_the_site_becomes_an_organisation_and_a_mutual_help_community_with_its_tags(result: Result) -> None:
    community = result.engine.community(coplib.SYSTEM, result.report.community_id)

    assert community.kind is coplib.CommunityKind.MUTUAL_HELP
    assert community.organisation_id == result.report.organisation_id
    assert community.name == SITE
    assert community.tags == {"beer", "hops", "wine"}
    assert community.created_at == at("2014-01-01T00:00:00")
    assert "CC BY-SA" in community.charter.common_culture
    assert f"https://{SITE}" in community.vocation


def test_every_kind_is_counted_as_the_dump_holds_it(result: Result) -> None:
    assert result.report.imported == {
        "organisations": 1,
        "communities": 1,
        "members": 8,
        "questions": 4,
        "answers": 3,
        "resources": 2,
        "accepted_answers": 1,
        "comments": 4,
        "endorsements": 5,
        "badges": 3,
    }
    assert result.report.people == 8
    assert result.report.voters == 3


def test_skipped_rows_are_counted_with_their_reason(result: Result) -> None:
    assert result.report.skipped == {
        "accepted answers not in the dump": 1,
        "answers to a question not in the dump": 1,
        "badges earned again (coplib keeps one award per person and badge)": 1,
        "badges without a user": 1,
        "comments on a post not imported": 2,
        "empty tag wikis": 1,
        "fabricated posts": 2,
        "posts of type 6 (neither question, answer nor tag wiki)": 1,
        "up-votes on a post not imported": 1,
        "votes other than up-votes and acceptances": 1,
    }


def test_the_fabricated_posts_and_what_hangs_on_them_are_left_out(result: Result) -> None:
    titles = {q.title for q in result.all("question")}

    assert "Fabricated" not in titles
    assert all("fake" not in c.body for c in result.all("comment"))


def test_html_bodies_become_plain_text_ending_with_their_source_and_licence(result: Result) -> None:
    question = result.question("Why is my beer")
    text, footer = question.body.split("\n\n---\n", 1)

    assert text == "It was `fizzy` & now it's flat.\n\n    temp = 4C\n\nSee this (https://example.org/x)."
    assert footer == (
        f"Source: https://{SITE}/q/1, by Alice Martin (https://{SITE}/users/1); licensed under CC BY-SA 3.0"
    )


def test_titles_and_names_lose_their_line_breaks_and_control_characters(result: Result) -> None:
    question = result.question("Why is my beer")
    people = {p.id: p for p in load_directory_file(result.directory).people}

    assert question.title == "Why is my beer flat?"
    assert people[result.person("users/2")].display_name == "Bob Builder"


def test_comments_keep_their_lines_but_not_their_control_characters(result: Result) -> None:
    bodies = {c.body for c in result.all("comment")}

    assert "Did you\nstore it cold?" in bodies


def test_oversized_titles_and_bodies_are_cut_with_a_visible_mark_within_the_limits(result: Result) -> None:
    question = result.question("TTT")

    assert len(question.title) == v.TITLE_MAX
    assert question.title.endswith("T […] [closed]")
    assert len(question.body.encode("utf-8")) <= v.BODY_MAX_BYTES
    assert "[… truncated: the original is longer]\n\n---\nSource: " in question.body
    assert result.report.adjusted["titles cut to 300 characters"] == 1
    assert result.report.adjusted["question bodies cut to 65536 bytes"] == 1


def test_everything_imported_passes_coplibs_own_validators(result: Result) -> None:
    kinds = ("question", "answer", "comment", "resource", "endorsement", "membership", "badge_award")
    for kind in kinds:
        for item in result.all(kind):
            attrs.validate(item)


def test_both_tag_spellings_are_read_and_normalised_and_invalid_tags_dropped(result: Result) -> None:
    assert result.question("Why is my beer").tags == {"beer", "hops"}
    assert result.question("TTT").tags == {"wine", "grapes"}
    assert result.question("Duplicate of first").tags == {"beer", "c++"}
    assert result.question("No tags here").tags == frozenset()
    assert result.report.adjusted["tags dropped (not a valid coplib tag, or over 10)"] == 1


def test_a_post_without_owner_id_belongs_to_its_display_name_or_to_the_former_member(result: Result) -> None:
    question = result.question("TTT")
    (answer,) = result.engine.store.find("answer", Filter(parent_id=question.id))
    people = {p.id: p.display_name for p in load_directory_file(result.directory).people}

    assert people[question.author_id] == "Dana Deleted"
    assert question.author_id.startswith(f"{SITE}/anonymous/")
    assert answer.author_id == result.person("former-member")
    assert people[answer.author_id] == "former member"


def test_answers_to_questions_not_in_the_dump_are_skipped_and_those_before_their_question_kept(
    result: Result,
) -> None:
    duplicate = result.question("Duplicate of first")
    (answer,) = result.engine.store.find("answer", Filter(parent_id=duplicate.id))

    assert isinstance(answer, Answer) and answer.author_id == result.person("users/1")
    assert duplicate.answer_count == 1
    assert len(result.all("answer")) == 3


def test_closed_questions_keep_their_answers_and_are_marked_as_stack_exchange_shows_them(result: Result) -> None:
    assert result.question("TTT").title.endswith(" [closed]")
    assert result.question("Duplicate of first").title == "Duplicate of first [duplicate]"
    assert result.question("Why is my beer").title == "Why is my beer flat?"  # closed, then reopened


def test_a_question_without_a_body_gets_a_placeholder(result: Result) -> None:
    assert result.question("Duplicate of first").body.startswith("(no text)\n\n---\nSource: ")


def test_the_accepted_answer_is_accepted_when_the_asker_voted_for_it(result: Result) -> None:
    question = result.question("Why is my beer")
    events = [r.event for r in result.engine.history(coplib.SYSTEM, result.report.community_id, limit=10_000)]
    (accepted,) = [e for e in events if e.TYPE == "answer_accepted"]

    assert question.accepted_answer_id is not None
    assert accepted.occurred_at == at("2014-01-06T00:00:00")  # the vote's date, later than the answer
    assert accepted.actor_id == result.person("users/1")
    assert result.question("No tags here").accepted_answer_id is None  # its answer is not in the dump


def test_each_up_vote_is_one_endorsement_by_the_nth_anonymous_voter(result: Result) -> None:
    question = result.question("Why is my beer")
    endorsements = [e for e in result.all("endorsement") if isinstance(e, Endorsement)]
    on_question = sorted((e for e in endorsements if e.target_id == question.id), key=lambda e: e.created_at)

    assert [e.author_id for e in on_question] == [result.person(f"voters/{n}") for n in (1, 2, 3)]
    assert on_question[0].created_at == question.created_at  # the vote's date is before the post's time
    assert {e.target_kind for e in endorsements} == {
        ContributionKind.QUESTION,
        ContributionKind.ANSWER,
        ContributionKind.RESOURCE,
    }


def test_tag_wikis_are_resources_of_the_shared_repertoire_named_after_their_tag(result: Result) -> None:
    resources = {r.title: r for r in result.all("resource") if isinstance(r, Resource)}

    assert set(resources) == {"Tag wiki: beer", "Tag wiki excerpt: beer"}
    assert resources["Tag wiki: beer"].location == f"https://{SITE}/tags/beer/info"
    assert resources["Tag wiki: beer"].description.startswith("All about beer.\n\n---\nSource: ")
    assert resources["Tag wiki: beer"].tags == {"beer"}
    comments = [c for c in result.all("comment") if isinstance(c, Comment)]
    assert [c.target_kind for c in comments if c.body == "Nice wiki"] == [ContributionKind.RESOURCE]


def test_each_person_joins_at_their_account_creation_or_first_activity(result: Result) -> None:
    members = {
        m.person_id: m.joined_at
        for m in result.engine.store.members(result.report.community_id)
        if isinstance(m, Membership)
    }
    anonymous = {p.display_name: p.id for p in load_directory_file(result.directory).people}

    assert members[result.person("users/1")] == at("2014-01-02T10:00:00")
    assert members[result.person("users/4")] == at("2014-02-01T00:00:00")  # never posted: still a member
    assert members[anonymous["Eve"]] == at("2014-01-05T11:00:00")
    assert members[result.person("former-member")] == at("2014-01-06T00:00:00")
    assert len(members) == 8


def test_badges_map_to_one_award_per_person_and_badge(result: Result) -> None:
    awards = {(a.person_id, a.badge) for a in result.all("badge_award")}

    assert awards == {
        (result.person("users/1"), "se-nice-answer"),
        (result.person("users/1"), "se-tag-beer-bronze"),
        (result.person("users/2"), "se-autobiographer"),
    }


def test_the_directory_file_lists_every_person_and_the_anonymous_voters(result: Result) -> None:
    people = load_directory_file(result.directory).people

    assert len(people) == 8 + 3
    assert {p.id for p in people if not p.active} == {result.person(f"voters/{n}") for n in (1, 2, 3)}


def test_the_7z_archive_imports_as_the_folder_does_without_unpacking(
    folder: Path, result: Result, tmp_path: Path
) -> None:
    archive = write_archive(tmp_path / f"{SITE}.7z", folder)
    with coplib.open("memory://") as engine:
        report = import_stackexchange(engine, archive)
        questions = {
            (q.id, q.title, q.body) for q in engine.store.find("question", Filter(community_id=report.community_id))
        }

    assert report.imported == result.report.imported
    assert report.community_id == result.report.community_id
    assert questions == {(q.id, q.title, q.body) for q in result.all("question")}
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{SITE}.7z"]


def test_progress_is_reported_in_bytes_for_each_file_read(folder: Path) -> None:
    seen: dict[str, tuple[int, int]] = {}
    with coplib.open("memory://") as engine:
        import_stackexchange(engine, folder, progress=lambda stage, done, total: seen.__setitem__(stage, (done, total)))

    assert seen["checking Posts.xml"] == seen["importing Posts.xml"]
    assert all(done == total for done, total in seen.values())
    assert seen["checking Posts.xml"][1] == (folder / "Posts.xml").stat().st_size
    assert "importing Posts.xml (answers before their question)" in seen
