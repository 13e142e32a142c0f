"""Value stories through the engine: told by members, crediting contributions of the same
community, read back by whoever may read it on every store, their authors told in their language."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from coplib import (
    ConflictError,
    Engine,
    InvalidInputError,
    ManualClock,
    NotFoundError,
    PermissionDeniedError,
)
from coplib.domain.contributions import ContributionKind
from coplib.notification.messages import CATALOGUE, render
from tests.unit.support import START
from tests.value.support import open_engine, organisation


def _engine(url: str = "memory://") -> Engine:
    engine = open_engine(url, clock=ManualClock(START))
    organisation(engine)
    return engine


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = _engine()
    yield engine
    engine.close()


def _thread(engine: Engine) -> tuple[str, str, str]:
    question = engine.ask("chloe", "welding", title="The press stops", body="Why does it stop at noon?")
    answer = engine.answer("ben", question.id, body="Check the hydraulic valve")
    resource = engine.share_resource("ana", "welding", title="Valve guide", location="https://example.org/valve")
    return question.id, answer.id, resource.id


def _later(engine: Engine) -> None:
    clock = engine.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(hours=1))


def test_a_member_tells_what_contributions_made_possible(engine: Engine) -> None:
    _, answer, resource = _thread(engine)

    story = engine.tell_value_story(
        "chloe", "welding", contributions=[answer, ("resource", resource)], result="Saved two days of downtime"
    )

    assert [(c.kind, c.id, c.author_id) for c in story.contributions] == [
        (ContributionKind.ANSWER, answer, "ben"),
        (ContributionKind.RESOURCE, resource, "ana"),
    ]
    assert story.credited == {"ben", "ana"}
    _later(engine)
    assert engine.value_stories("dev", "welding") == [story]  # an open community: anyone reads it
    assert engine.value_stories("dev", "welding", until=START) == []


def test_the_authors_credited_are_told_in_their_language_and_the_teller_is_not(engine: Engine) -> None:
    question, answer, resource = _thread(engine)
    before = {m.id for m in engine.store.pending_messages(limit=1000)}

    engine.tell_value_story("chloe", "welding", contributions=[answer, resource, question], result="Two days saved")

    told = [m for m in engine.store.pending_messages(limit=1000) if m.id not in before]
    assert sorted((m.recipient_id, m.topic) for m in told) == [("ana", "value_story_told"), ("ben", "value_story_told")]
    by_recipient = {m.recipient_id: m for m in told}
    assert "Two days saved" in render("value_story_told", by_recipient["ana"].params, "fr").body
    assert (
        render("value_story_told", by_recipient["ana"].params, "fr").subject
        == "Votre contribution a servi dans Welding"
    )
    assert render("value_story_told", by_recipient["ben"].params, "en").subject == "Your contribution helped in Welding"
    assert set(CATALOGUE["value_story_told"]) == {"en", "fr"}


@pytest.mark.parametrize(
    ("contributions", "result", "path"),
    [
        ([], "Saved a day", "$.contributions"),
        ("an-id", "Saved a day", "$.contributions"),
        (["nowhere"], "Saved a day", "$.contributions[0]"),
        ([("endorsement", "x")], "Saved a day", "$.contributions[0]"),
        ([" "], "Saved a day", "$.contributions[0]"),
        (None, "Saved a day", "$.contributions"),
        ([f"c{i}" for i in range(21)], "Saved a day", "$.contributions"),
        ("answer", "", "$.result"),
        ("answer", "Saved\x00 a day", "$.result"),
        ("twice", "Saved a day", "$.contributions[1]"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
    engine: Engine, contributions: Any, result: str, path: str
) -> None:
    _, answer, _ = _thread(engine)
    if contributions == "answer":
        contributions = [answer]
    elif contributions == "twice":
        contributions = [answer, ("answer", answer)]
    before = engine.store.last_position()

    with pytest.raises(InvalidInputError) as caught:
        engine.tell_value_story("chloe", "welding", contributions=contributions, result=result)

    assert caught.value.errors[0].path == path
    assert engine.store.last_position() == before


def test_a_contribution_of_another_community_is_refused_as_an_unknown_one(engine: Engine) -> None:
    engine.invite("ana", "managers", "chloe")
    engine.join("chloe", "managers")
    hidden = engine.ask("ana", "managers", title="Budget", body="Who signs?")
    with pytest.raises(InvalidInputError) as elsewhere:
        engine.tell_value_story("chloe", "welding", contributions=[hidden.id], result="Saved a day")
    with pytest.raises(InvalidInputError) as unknown:
        engine.tell_value_story("chloe", "welding", contributions=["no-such-id"], result="Saved a day")

    assert elsewhere.value.errors[0].message.replace(hidden.id, "X") == unknown.value.errors[0].message.replace(
        "no-such-id", "X"
    )


def test_a_withdrawn_contribution_cannot_be_credited(engine: Engine) -> None:
    _, answer, _ = _thread(engine)
    engine.withdraw("ben", "answer", answer)

    with pytest.raises(ConflictError):
        engine.tell_value_story("chloe", "welding", contributions=[answer], result="Saved a day")


def test_only_members_tell_stories_and_a_private_community_is_unknown_to_outsiders(engine: Engine) -> None:
    _, answer, _ = _thread(engine)
    hidden = engine.ask("ana", "managers", title="Budget", body="Who signs?")

    with pytest.raises(PermissionDeniedError):
        engine.tell_value_story("dev", "welding", contributions=[answer], result="Saved a day")
    with pytest.raises(NotFoundError):
        engine.tell_value_story("chloe", "managers", contributions=[hidden.id], result="Saved a day")
    with pytest.raises(NotFoundError):
        engine.value_stories("chloe", "managers")
    with pytest.raises(NotFoundError):
        engine.value_stories("gil", "welding")  # another organisation's


def _stories_on(engine: Engine) -> list[Any]:
    _, answer, resource = _thread(engine)
    engine.tell_value_story("chloe", "welding", contributions=[answer], result="Saved a day\nand a night")
    _later(engine)
    engine.tell_value_story("ben", "welding", contributions=[resource, answer], result="Fixed the line")
    _later(engine)
    return [(s.author_id, s.contributions, s.result, s.created_at) for s in engine.value_stories("ana", "welding")]


def test_sqlite_stores_and_reads_back_what_memory_does(tmp_path: Path) -> None:
    with _engine(f"sqlite:///{tmp_path / 'coplib.db'}") as on_sqlite:
        from_sqlite = _stories_on(on_sqlite)
    with open_engine(f"sqlite:///{tmp_path / 'coplib.db'}") as reopened:
        again = [
            (s.author_id, s.contributions, s.result, s.created_at)
            for s in reopened.value_stories("ana", "welding", until=START + timedelta(days=1))
        ]

    assert from_sqlite == _stories_on(_engine()) == again
    assert len(from_sqlite) == 2


@pytest.mark.postgres
def test_postgresql_stores_and_reads_back_what_memory_does(fresh_postgres_url: str) -> None:
    with _engine(fresh_postgres_url) as on_postgres:
        assert _stories_on(on_postgres) == _stories_on(_engine())


def test_the_authors_credited_earn_the_points_of_the_charters_table_and_the_teller_none(engine: Engine) -> None:
    question, answer, resource = _thread(engine)
    before = {p: _points(engine, p) for p in ("ana", "ben", "chloe")}

    story = engine.tell_value_story("chloe", "welding", contributions=[answer, resource, question], result="A day")

    gained = {p: _points(engine, p) - before[p] for p in before}
    assert gained == {"ana": 5, "ben": 5, "chloe": 0}
    entries = [e for e in engine.store.find("points_entry") if getattr(e, "subject_id", None) == story.id]
    assert sorted((e.person_id, e.reason) for e in entries) == [
        ("ana", "value_story_credited"),
        ("ben", "value_story_credited"),
    ]


def test_a_charter_that_pays_nothing_for_stories_credits_no_points(engine: Engine) -> None:
    _, answer, _ = _thread(engine)
    charter = engine.community("ana", "welding").charter
    settings = {**charter.policy_settings, "recognition": {"value_story_credited": "0"}}
    engine.amend_charter("ana", "welding", attrs.evolve(charter, policy_settings=settings), reason="no points")
    before = _points(engine, "ben")

    engine.tell_value_story("chloe", "welding", contributions=[answer], result="A day")

    assert _points(engine, "ben") == before


def _points(engine: Engine, person: str) -> int:
    balance = engine.points_balance("ana", "welding", person)
    return balance.points if balance is not None else 0


def test_a_period_that_ends_before_it_starts_is_refused_naming_until(engine: Engine) -> None:
    with pytest.raises(InvalidInputError) as caught:
        engine.value_stories("ana", "welding", since=START.date(), until=START - timedelta(days=1))

    assert caught.value.errors[0].path == "$.until"


# -- withdrawing a story ----------------------------------------------------------------------------


def _realised(engine: Engine) -> dict[str, int]:
    _later(engine)  # a period ends before now: what was just told is in it an hour later
    value = engine.value_cycles("ana", "welding")
    return dict(next(c for c in value.cycles if c.name == "realised").indicators)


@pytest.mark.parametrize("who", ["chloe", "ana"], ids=["its teller", "a facilitator"])
def test_a_withdrawn_story_counts_no_more_and_takes_its_credit_back(engine: Engine, who: str) -> None:
    _, answer, resource = _thread(engine)
    before = {p: _points(engine, p) for p in ("ana", "ben")}
    kept = engine.tell_value_story("chloe", "welding", contributions=[resource], result="A guide that helped")
    story = engine.tell_value_story("chloe", "welding", contributions=[answer, resource], result="Two days saved")
    assert _realised(engine)["value_stories"] == 2

    withdrawn = engine.withdraw_value_story(who, story.id, reason="told twice")

    assert _realised(engine) == {"value_stories": 1, "storytellers": 1, "people_credited": 1}
    # ben's credit from the story is taken back; ana keeps the one of the story still told.
    assert withdrawn.withdrawn and engine.value_stories("dev", "welding") == [kept]
    assert {p: _points(engine, p) - before[p] for p in before} == {"ana": 5, "ben": 0}
    reversals = [r.event for r in engine.store.events(limit=10_000) if r.event.TYPE == "points_reversed"]
    assert sorted(e.person_id for e in reversals) == ["ana", "ben"]  # type: ignore[attr-defined]
    with pytest.raises(ConflictError):
        engine.withdraw_value_story(who, story.id)


def _open_and_private_stories(engine: Engine) -> tuple[Any, Any]:
    """chloe's story in the open community, and ana's in the private one chloe does not know of."""
    _, answer, _ = _thread(engine)
    story = engine.tell_value_story("chloe", "welding", contributions=[answer], result="Two days saved")
    private_answer = engine.answer("ana", engine.ask("ana", "managers", title="Budget?", body="2027").id, body="Yes")
    secret = engine.tell_value_story("ana", "managers", contributions=[private_answer.id], result="On time")
    return story, secret


def test_only_the_teller_or_a_moderator_withdraws_a_story_and_an_outsider_cannot_know_it(engine: Engine) -> None:
    story, secret = _open_and_private_stories(engine)
    before = engine.store.last_position()

    with pytest.raises(PermissionDeniedError):
        engine.withdraw_value_story("ben", story.id)
    with pytest.raises(NotFoundError) as hidden:
        engine.withdraw_value_story("chloe", secret.id)
    with pytest.raises(NotFoundError) as unknown:
        engine.withdraw_value_story("chloe", "no-such-story")
    assert str(hidden.value).replace(secret.id, "X") == str(unknown.value).replace("no-such-story", "X")
    with pytest.raises(InvalidInputError) as bad:
        engine.withdraw_value_story("chloe", story.id, reason="bell\a")
    assert bad.value.errors[0].path == "$.reason"
    with pytest.raises(InvalidInputError) as bad_id:
        engine.withdraw_value_story("chloe", "not an id")
    assert bad_id.value.errors[0].path == "$.story_id"
    assert engine.store.last_position() == before


@pytest.mark.parametrize("who", ["chloe", "ana"], ids=["its teller", "a facilitator"])
def test_a_story_is_amended_keeping_what_it_credits_and_the_credit_it_gave(engine: Engine, who: str) -> None:
    _, answer, resource = _thread(engine)
    story = engine.tell_value_story("chloe", "welding", contributions=[answer, resource], result="Two days saevd")
    points = {p: _points(engine, p) for p in ("ana", "ben")}
    before = engine.store.last_position()

    amended = engine.revise_value_story(who, story.id, result="Two days saved on the press", reason="a typo")

    assert amended.result == "Two days saved on the press"
    assert (amended.contributions, amended.credited) == (story.contributions, story.credited)
    _later(engine)  # read in a period that holds it
    assert engine.value_stories("dev", "welding") == [amended]
    assert {p: _points(engine, p) for p in points} == points  # nobody credited again, nor less
    (revised,) = [
        r.event for r in engine.store.events(after=before, limit=100) if r.event.TYPE == "value_story_revised"
    ]
    assert (revised.previous, revised.result, revised.actor_id) == ("Two days saevd", amended.result, who)  # type: ignore[attr-defined]
    after = engine.store.last_position()
    assert engine.revise_value_story(who, story.id, result="Two days saved on the press") == amended
    assert engine.store.last_position() == after  # the same text again: nothing recorded


def test_only_the_teller_or_a_moderator_amends_a_story_and_bad_input_changes_nothing(engine: Engine) -> None:
    story, secret = _open_and_private_stories(engine)
    before = engine.store.last_position()

    with pytest.raises(PermissionDeniedError):
        engine.revise_value_story("ben", story.id, result="Mine now")
    with pytest.raises(NotFoundError) as hidden:
        engine.revise_value_story("chloe", secret.id, result="Late")
    with pytest.raises(NotFoundError) as unknown:
        engine.revise_value_story("chloe", "no-such-story", result="Late")
    assert str(hidden.value).replace(secret.id, "X") == str(unknown.value).replace("no-such-story", "X")
    for bad, path in (
        ({"result": "bell\a"}, "$.result"),
        ({"result": ""}, "$.result"),
        ({"result": "ok", "reason": "a\x00"}, "$.reason"),
    ):
        with pytest.raises(InvalidInputError) as refused:
            engine.revise_value_story("chloe", story.id, **bad)
        assert refused.value.errors[0].path == path
    assert engine.store.last_position() == before
    engine.withdraw_value_story("chloe", story.id)
    with pytest.raises(ConflictError):
        engine.revise_value_story("chloe", story.id, result="Too late")
