"""Benefits made visible: every event type placed in the matrix (direct or collective,
immediate or deferred), what each person gave and received, how fast they were answered,
their give-before-receive ratio, and the same per community, from the store's queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import coplib
from coplib import SYSTEM, Engine, InvalidInputError, ManualClock, PermissionDeniedError
from coplib.domain.benefits import (
    COLLECTIVE_DEFERRED,
    DEFAULT_PLACEMENT,
    DIRECT_DEFERRED,
    DIRECT_IMMEDIATE,
    BenefitMatrix,
    Cell,
)
from coplib.domain.events import EVENT_TYPES
from coplib.service.benefits import community_benefits, person_benefits
from tests.unit.support import PEOPLE, START, counting_ids

WEEK = timedelta(days=7)


@pytest.fixture
def engine() -> Engine:
    """A week in the welding community: chloe asks and is answered by ben in 2 hours (and by
    dev), accepts ben's answer; dev endorses it and chloe comments on it; the next day ben
    asks and dev answers in 30 minutes; dev shares a resource."""
    clock = ManualClock(START)
    engine = coplib.open(
        "memory://",
        people=PEOPLE,
        clock=clock,
        id_factory=counting_ids(),
        strict=True,
        block=["coplib.policy.answer_guarantee"],
    )
    engine.create_organisation("eve", "Acme", organisation_id="acme")
    engine.create_community("ana", "acme", name="Welding", vocation="Weld", community_id="welding")
    for person in ("ben", "chloe", "dev"):
        engine.join(person, "welding")
    first = engine.ask("chloe", "welding", title="Gas?", body="Which one?")
    clock.advance(timedelta(hours=2))
    answer = engine.answer("ben", first.id, body="Argon")
    clock.advance(timedelta(hours=1))
    engine.answer("dev", first.id, body="A mix")
    engine.accept("chloe", answer.id)
    engine.endorse("dev", "answer", answer.id)
    engine.comment("chloe", "answer", answer.id, body="Thanks!")
    clock.advance(timedelta(days=1))
    second = engine.ask("ben", "welding", title="Wire?", body="Which diameter?")
    clock.advance(timedelta(minutes=30))
    engine.answer("dev", second.id, body="0.8 mm")
    engine.share_resource("dev", "welding", title="Wire chart", location="https://wiki/wire")
    return engine


def test_every_event_type_is_placed_in_the_matrix() -> None:
    assert set(DEFAULT_PLACEMENT) == set(EVENT_TYPES)


def test_the_default_placement_follows_the_domain() -> None:
    matrix = BenefitMatrix.default()

    assert matrix.cell("answer_posted") == DIRECT_IMMEDIATE  # an answer to my question now
    assert matrix.cell("badge_awarded") == DIRECT_IMMEDIATE  # recognition now
    assert matrix.cell("participation_level_changed") == DIRECT_DEFERRED  # my reputation grows
    assert matrix.cell("resource_shared") == COLLECTIVE_DEFERRED  # the repertoire becomes a knowledge base
    assert matrix.cell("member_joined") is None  # running the community


def test_an_asker_sees_what_they_received_and_how_fast(engine: Engine) -> None:
    chloe = person_benefits(engine, "chloe", "welding", "chloe", since=START, until=START + WEEK)

    assert chloe.gave == {"question_asked": 1, "answer_accepted": 1, "comment_posted": 1}
    assert chloe.received["answer_posted"] == 2
    assert (chloe.questions.asked, chloe.questions.answered, chloe.questions.accepted) == (1, 1, 1)
    assert chloe.questions.median_first_answer == timedelta(hours=2)
    assert chloe.points == chloe.balance == 3  # asked (+1), accepted someone else's answer (+2)
    assert (chloe.help_given, chloe.help_received, chloe.give_before_receive) == (0, 2, 0.0)


def test_an_answerer_sees_the_recognition_that_came_back(engine: Engine) -> None:
    ben = person_benefits(engine, "ben", "welding", "ben", since=START, until=START + WEEK)

    assert ben.received["answer_accepted"] == 1
    assert ben.received["contribution_endorsed"] == 1
    assert ben.received["comment_posted"] == 1
    assert ben.points == 2 + 15 + 10 + 1  # answered, accepted, endorsed, asked
    assert sorted(ben.badges) == ["first_answer", "helpful_answer"]
    assert ben.give_before_receive == 1.0  # one answer given, one received
    assert ben.received_by_cell["direct/immediate"] == sum(
        n for t, n in ben.received.items() if BenefitMatrix.default().cell(t) == DIRECT_IMMEDIATE
    )


def test_a_giver_who_received_nothing_has_no_ratio_yet(engine: Engine) -> None:
    dev = person_benefits(engine, SYSTEM, "welding", "dev", since=START, until=START + WEEK)

    assert (dev.help_given, dev.help_received, dev.give_before_receive) == (3, 0, None)
    assert dev.gave_by_cell["collective/deferred"] == 1  # the resource


def test_the_community_sees_the_same_in_aggregate(engine: Engine) -> None:
    welding = community_benefits(engine, "ben", "welding", since=START, until=START + WEEK)

    assert {t: welding.events[t] for t in ("question_asked", "answer_posted", "resource_shared")} == {
        "question_asked": 2,
        "answer_posted": 3,
        "resource_shared": 1,
    }
    assert "member_joined" not in welding.events
    assert sum(welding.by_cell.values()) == sum(welding.events.values())
    assert welding.questions.median_first_answer == timedelta(minutes=75)
    assert (welding.help_given, welding.help_received) == (4, 3)
    assert welding.points == sum(
        person_benefits(engine, SYSTEM, "welding", p, since=START, until=START + WEEK).points
        for p in ("ben", "chloe", "dev")
    )
    assert welding.badges >= 3


def test_a_host_moves_an_event_type_to_another_cell(engine: Engine) -> None:
    matrix = BenefitMatrix.default().with_placements({"comment_posted": "collective/immediate", "answer_posted": None})

    chloe = person_benefits(engine, "chloe", "welding", "chloe", since=START, until=START + WEEK, matrix=matrix)
    welding = community_benefits(engine, "ana", "welding", since=START, until=START + WEEK, matrix=matrix)

    assert chloe.gave_by_cell["collective/immediate"] == 2  # her question and her comment
    assert "answer_posted" not in chloe.received and "answer_posted" not in welding.events


def test_placing_an_unknown_event_type_or_a_bad_cell_is_refused_by_name() -> None:
    with pytest.raises(InvalidInputError) as caught:
        BenefitMatrix.default().with_placements(
            {"answer_posted": "direct/someday", "coffee_drunk": Cell("direct", "immediate")}
        )

    assert sorted(e.path for e in caught.value.errors) == [
        "$.placements.answer_posted",
        "$.placements.coffee_drunk",
    ]


def test_the_period_bounds_what_is_counted(engine: Engine) -> None:
    later = START + WEEK

    ben = person_benefits(engine, "ben", "welding", "ben", since=later, until=later + WEEK)

    assert (ben.gave, ben.received, ben.points, ben.badges) == ({}, {}, 0, ())
    assert ben.balance == 28  # the balance is all-time


def test_only_the_person_a_facilitator_or_the_sponsor_sees_a_persons_benefits(engine: Engine) -> None:
    person_benefits(engine, "ana", "welding", "chloe", since=START, until=START + WEEK)

    with pytest.raises(PermissionDeniedError):
        person_benefits(engine, "ben", "welding", "chloe", since=START, until=START + WEEK)
    with pytest.raises(PermissionDeniedError):
        community_benefits(engine, "olga", "welding", since=START, until=START + WEEK)


def test_benefits_never_read_the_whole_event_log(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def whole_log(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the benefits read the whole event log")

    monkeypatch.setattr(engine.store, "events", whole_log)

    person_benefits(engine, "ben", "welding", "ben", since=START, until=START + WEEK)
    community_benefits(engine, "ben", "welding", since=START, until=START + WEEK)
