"""The real dumps in shared/data (beer: Posts.xml only; history-meta: posts, comments, users
and badges) import into coplib, and what coplib holds afterwards matches figures computed
here from the XML with the standard library alone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

import coplib
from coplib import Answer, Comment, Engine, Question
from coplib.importers.stackexchange import ImportReport, import_stackexchange
from coplib.ports.storage import Filter
from tests.importers.dumps import REAL_DUMPS, read_rows

Person = tuple[str, str]


def _who(user: str | None, name: str | None) -> Person:
    if user:
        return ("user", user)
    name = " ".join((name or "").split())
    return ("anonymous", name) if name else ("former", "")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Figures:
    """What a dump holds, by the counting rules: a question is a PostTypeId 1 post; an answer
    a PostTypeId 2 post whose ParentId is a question of the dump; accepted, a question whose
    AcceptedAnswerId names an answer of the dump."""

    questions: dict[str, dict[str, str]] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)  # answer id -> question id
    accepted: set[str] = field(default_factory=set)
    wikis: set[str] = field(default_factory=set)
    comments: int = 0
    people: set[Person] = field(default_factory=set)
    badges: set[tuple[str, str, str | None]] = field(default_factory=set)
    answer_times: list[datetime] = field(default_factory=list)


def figures(folder: Path) -> Figures:
    found = Figures()
    posts = list(read_rows(folder / "Posts.xml"))
    found.questions = {p["Id"]: p for p in posts if p["PostTypeId"] == "1"}
    found.answers = {
        p["Id"]: p["ParentId"] for p in posts if p["PostTypeId"] == "2" and p.get("ParentId") in found.questions
    }
    found.answer_times = sorted(_time(p["CreationDate"]) for p in posts if p["Id"] in found.answers)
    found.accepted = {q for q, p in found.questions.items() if p.get("AcceptedAnswerId") in found.answers}
    found.wikis = {p["Id"] for p in posts if p["PostTypeId"] in ("4", "5") and p.get("Body", "").strip()}
    imported = found.questions.keys() | found.answers.keys() | found.wikis
    found.people = {_who(p.get("OwnerUserId"), p.get("OwnerDisplayName")) for p in posts if p["Id"] in imported}
    if (folder / "Users.xml").exists():
        found.people |= {("user", u["Id"]) for u in read_rows(folder / "Users.xml")}
    if (folder / "Comments.xml").exists():
        for c in read_rows(folder / "Comments.xml"):
            if c["PostId"] in imported:
                found.comments += 1
                found.people.add(_who(c.get("UserId"), c.get("UserDisplayName")))
    if (folder / "Badges.xml").exists():
        for b in read_rows(folder / "Badges.xml"):
            found.badges.add((b["UserId"], b["Name"], b["Class"] if b.get("TagBased") == "True" else None))
            found.people.add(("user", b["UserId"]))
    return found


@dataclass
class Imported:
    engine: Engine
    report: ImportReport
    figures: Figures

    def find(self, kind: str) -> list[object]:
        return self.engine.store.find(kind, Filter(community_id=self.report.community_id))

    def count(self, kind: str) -> int:
        return self.engine.store.count(kind, Filter(community_id=self.report.community_id))

    def questions(self) -> list[Question]:
        return [q for q in self.find("question") if isinstance(q, Question)]


@pytest.fixture(
    scope="module",
    params=[("beer", "memory"), ("beer", "sqlite"), ("history-meta", "memory"), ("history-meta", "sqlite")],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def imported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Imported]:
    site, store = request.param
    folder = REAL_DUMPS / site
    url = "memory://" if store == "memory" else f"sqlite:///{tmp_path_factory.mktemp(site) / 'coplib.db'}"
    with coplib.open(url) as engine:
        report = import_stackexchange(engine, folder)
        yield Imported(engine, report, figures(folder))


def test_every_question_of_the_dump_is_a_coplib_question(imported: Imported) -> None:
    assert imported.count("question") == len(imported.figures.questions)
    assert imported.report.imported["questions"] == len(imported.figures.questions)


def test_every_answer_to_a_question_of_the_dump_is_a_coplib_answer(imported: Imported) -> None:
    assert imported.count("answer") == len(imported.figures.answers)
    times = sorted(a.created_at for a in imported.find("answer") if isinstance(a, Answer))
    assert times == imported.figures.answer_times


def test_each_question_has_as_many_answers_as_in_the_dump(imported: Imported) -> None:
    expected = Counter(Counter(imported.figures.answers.values()).get(q, 0) for q in imported.figures.questions)

    assert Counter(q.answer_count for q in imported.questions()) == expected


def test_accepted_answers_are_those_that_name_an_answer_of_the_dump(imported: Imported) -> None:
    accepted = [q for q in imported.questions() if q.accepted_answer_id is not None]

    assert len(accepted) == len(imported.figures.accepted)
    answers = {a.id: a for a in imported.find("answer") if isinstance(a, Answer)}
    assert all(answers[q.accepted_answer_id].question_id == q.id for q in accepted if q.accepted_answer_id)


def test_questions_keep_their_titles_tags_and_times_and_closed_ones_say_so(imported: Imported) -> None:
    source = imported.figures.questions.values()
    titles = Counter(" ".join(p["Title"].split()) + (" [closed]" if p.get("ClosedDate") else "") for p in source)
    tags = Counter(t.lower() for p in source for t in p.get("Tags", "").strip("<>").split("><") if t)
    times = sorted(_time(p["CreationDate"]) for p in source)
    questions = imported.questions()

    assert Counter(q.title for q in questions) == titles
    assert Counter(t for q in questions for t in q.tags) == tags
    assert sorted(q.created_at for q in questions) == times


def test_bodies_are_plain_text_with_the_source_and_licence_at_the_end(imported: Imported) -> None:
    questions = imported.questions()

    assert all("<p>" not in q.body and "\n---\nSource: " in q.body and "CC BY-SA" in q.body for q in questions)


def test_tag_wikis_with_a_text_become_resources_of_the_shared_repertoire(imported: Imported) -> None:
    assert imported.count("resource") == len(imported.figures.wikis)


def test_every_comment_on_an_imported_post_is_a_coplib_comment(imported: Imported) -> None:
    assert imported.count("comment") == imported.figures.comments
    comments = [c for c in imported.find("comment") if isinstance(c, Comment)]
    assert all(c.body.strip() for c in comments)


def test_each_distinct_person_of_the_dump_is_one_member(imported: Imported) -> None:
    members = imported.engine.store.members(imported.report.community_id)

    assert len(members) == len(imported.figures.people)
    assert imported.report.people == len(imported.figures.people)


def test_each_badge_a_user_earned_is_one_award(imported: Imported) -> None:
    assert imported.count("badge_award") == len(imported.figures.badges)


def test_what_coplib_holds_is_what_the_report_says_it_imported(imported: Imported) -> None:
    report = imported.report
    held = {
        "questions": imported.count("question"),
        "answers": imported.count("answer"),
        "resources": imported.count("resource"),
        "comments": imported.count("comment"),
        "members": imported.count("membership"),
        "badges": imported.count("badge_award"),
        "accepted_answers": sum(1 for q in imported.questions() if q.accepted_answer_id),
    }

    assert {kind: report.imported[kind] for kind in held} == held
    assert report.existing == dict.fromkeys(report.existing, 0)


def test_each_member_joined_before_their_first_contribution_and_the_community_before_all(
    imported: Imported,
) -> None:
    joined = {m.person_id: m.joined_at for m in imported.engine.store.members(imported.report.community_id)}
    community = imported.engine.community(coplib.SYSTEM, imported.report.community_id)
    first: dict[str, datetime] = {}
    for kind in ("question", "answer", "comment", "resource"):
        for item in imported.find(kind):
            author, created = item.author_id, item.created_at  # type: ignore[attr-defined]
            first[author] = min(first.get(author, created), created)

    assert all(joined[person] is not None and joined[person] <= when for person, when in first.items())
    assert all(community.created_at <= when for when in joined.values() if when is not None)
