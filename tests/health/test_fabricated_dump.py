"""A small fabricated dump holding every case of the counting rules (docs/health.md): a
self-answer before the first real one, a question answered by its asker only (and that
self-answer accepted), an anonymous asker answered under the same display name, a question and
an answer by nobody, an accepted answer missing from the dump, an answer to a missing question,
posts of other types, a question on the last half hour of a month, first-time askers answered
fast, later or never, retained or not. The figures worked out by hand below, and those of the
independent reference, equal coplib's report."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import coplib
from coplib.health import community_json
from coplib.importers.stackexchange import import_stackexchange
from tests.health import reference
from tests.importers.dumps import write_dump

UNTIL = datetime(2030, 1, 1, tzinfo=UTC)


def _post(pid: int, kind: int, when: str, **rest: object) -> dict[str, object]:
    return {"Id": pid, "PostTypeId": kind, "CreationDate": f"2014-{when}.000", "Score": 0, "Body": "<p>x</p>", **rest}


def _q(pid: int, when: str, **rest: object) -> dict[str, object]:
    return _post(pid, 1, when, Title=f"Question {pid}", Tags="<beer>", **rest)


def _a(pid: int, parent: int, when: str, **rest: object) -> dict[str, object]:
    return _post(pid, 2, when, ParentId=parent, **rest)


POSTS = [
    _post(25, 5, "01-15T09:00:00", OwnerUserId=2),  # a tag wiki: a contribution to the repertoire
    _q(1, "01-31T23:30:00", OwnerUserId=1, AcceptedAnswerId=3),  # January, by half an hour
    _a(2, 1, "01-31T23:40:00", OwnerUserId=1),  # a self-answer: not help received
    _a(3, 1, "02-01T00:10:00", OwnerUserId=2),  # the first answer: 40 minutes, accepted
    _q(4, "02-03T10:00:00", OwnerUserId=3, AcceptedAnswerId=5),
    _a(5, 4, "02-03T11:00:00", OwnerUserId=3),  # only a self-answer (accepted): unanswered
    _q(6, "02-05T10:00:00", OwnerDisplayName="Zed"),  # no account: someone else answers it...
    _a(7, 6, "02-07T10:00:00", OwnerDisplayName="Zed"),  # ...even under the same name, 48 h later
    _q(8, "02-10T10:00:00"),  # nobody's question
    _a(9, 8, "02-10T11:00:00"),  # answered by nobody in an hour: someone else
    _q(10, "02-12T10:00:00", OwnerUserId=4, AcceptedAnswerId=9999),  # accepts a post not in the dump
    _a(11, 10, "02-12T20:00:00", OwnerDisplayName="Amy"),  # 10 h
    _a(12, 999, "02-13T10:00:00", OwnerUserId=2),  # to a question not in the dump: no answer
    _post(13, 3, "02-14T10:00:00", OwnerUserId=2),  # other types: no question
    _post(14, 6, "02-14T11:00:00", OwnerUserId=2),
    _post(15, 7, "02-14T12:00:00", OwnerUserId=2),
    _q(16, "03-01T12:00:00", OwnerUserId=5),  # answered in 6 h; user 5 comments 45 days later
    _a(17, 16, "03-01T18:00:00", OwnerUserId=2),
    _q(18, "03-02T12:00:00", OwnerUserId=6),  # answered after 72 h; user 6 asks again 121 days later
    _a(19, 18, "03-05T12:00:00", OwnerUserId=2),
    _q(20, "07-01T12:00:00", OwnerUserId=6),
    _q(21, "03-03T12:00:00", OwnerUserId=7),  # never answered; user 7 answers another a week later
    _a(22, 18, "03-10T12:00:00", OwnerUserId=7),
    _a(23, 16, "03-20T12:00:00", OwnerUserId=8),  # user 8 answers first, then asks: no first-time asker
    _q(24, "03-25T12:00:00", OwnerUserId=8),
]
COMMENTS = [{"Id": 1, "PostId": 16, "UserId": 5, "CreationDate": "2014-04-15T09:00:00.000", "Text": "Thanks!"}]


@pytest.fixture(scope="module")
def dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dump(tmp_path_factory.mktemp("fabricated") / "site", {"Posts.xml": POSTS, "Comments.xml": COMMENTS})


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def report(request: pytest.FixtureRequest, dump: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path_factory.mktemp('db') / 'coplib.db'}"
    with coplib.open(url) as engine:
        imported = import_stackexchange(engine, dump)
        yield community_json(engine.community_health(coplib.SYSTEM, imported.community_id, until=UNTIL))


def test_questions_and_answers_are_counted_by_the_rules(report: dict[str, Any]) -> None:
    # 10 questions (types 3, 6, 7 are not), 10 answers (not the one to a missing question)
    assert (report["questions"], report["answers"]) == (10, 10)
    # answered by someone else: 1, 6, 8, 10, 16, 18 (4 only by its asker; 20, 21, 24 never)
    assert report["answered"] == 6
    assert report["responsiveness"]["unanswered"] == 4
    # 1 (the real answer) and 4 (the self-answer); 10 names a post not in the dump
    assert report["accepted"] == 2


def test_time_to_first_answer_runs_to_the_earliest_answer_by_someone_else(report: dict[str, Any]) -> None:
    # waits: 40 min, 1 h, 6 h, 10 h, 48 h, 72 h
    assert report["median_hours_to_first_answer"] == pytest.approx(8.0)
    assert report["responsiveness"]["p90_hours_to_first_answer"] == pytest.approx(72.0)
    assert report["answered_within_24h"] == 4


def test_months_are_the_utc_months_of_the_questions(report: dict[str, Any]) -> None:
    months = {m: n for m, n in report["questions_per_month"].items() if n}

    assert months == {"2014-01": 1, "2014-02": 4, "2014-03": 4, "2014-07": 1}
    assert report["questions_per_month"]["2014-04"] == 0


def test_first_time_askers_are_split_by_how_their_first_question_was_answered(report: dict[str, Any]) -> None:
    retention = report["retention"]

    # users 1, 3, 4, 5, 6, 7, Zed and nobody; not user 2 (a tag wiki first) nor 8 (an answer first)
    assert retention["first_time_askers"] == 8
    assert retention["answered_fast"] == {"askers": 4, "retained": 3, "share_retained": 0.75}  # user 4 left
    assert retention["answered_later"] == {"askers": 2, "retained": 1, "share_retained": 0.5}  # user 6: 121 days
    assert retention["never_answered"] == {"askers": 2, "retained": 2, "share_retained": 1.0}
    assert retention["all"] == {"askers": 8, "retained": 6, "share_retained": 0.75}


def test_help_pairs_leave_out_a_person_helping_themselves(report: dict[str, Any]) -> None:
    interaction = report["interaction"]

    assert (interaction["help_pairs"], interaction["mutual_pairs"]) == (6, 0)
    assert (interaction["givers"], interaction["receivers"], interaction["gave_and_received"]) == (4, 4, 0)


def test_every_contribution_and_contributor_counts(report: dict[str, Any]) -> None:
    # 10 questions, 10 answers, the tag wiki, the comment; users 1 to 8, Zed, Amy and nobody
    assert report["activity"]["contributions"] == 22
    assert report["activity"]["repertoire"] == 1
    assert report["activity"]["active_contributors"] == 11


@pytest.mark.parametrize("family", ["responsiveness", "activity", "retention", "interaction", "concentration"])
def test_the_reference_agrees(report: dict[str, Any], dump: Path, family: str) -> None:
    wanted = reference.figures(dump, until=UNTIL)[family]

    for key, value in wanted.items():
        assert report[family][key] == (pytest.approx(value) if isinstance(value, float) else value), key


def test_a_first_time_asker_whose_window_has_not_ended_is_pending(dump: Path) -> None:
    with coplib.open("memory://") as engine:
        imported = import_stackexchange(engine, dump)
        health = engine.community_health(coplib.SYSTEM, imported.community_id, until=datetime(2014, 4, 1, tzinfo=UTC))

    # by April 1st, nobody's 90 days have passed: all eight are pending
    assert (health.retention.first_time_askers, health.retention.pending) == (8, 8)
    assert health.retention.all.askers == 0
