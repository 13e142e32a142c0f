"""Every read of the engine goes through the permission decision point: generated from the
list of every public method that takes a viewer, so that no read can be added without its
outsider test."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from coplib import (
    SYSTEM,
    Admission,
    Charter,
    CoplibError,
    Engine,
    MembershipPolicy,
    NotFoundError,
    ParticipationLevel,
    PermissionDeniedError,
    Visibility,
)
from tests.unit.support import START, open_engine

SINCE = START - timedelta(days=1)
UNTIL = START + timedelta(days=30)

#: Every read, called by `viewer` on the private community c (or what is in it).
READS: dict[str, Callable[[Engine, str, str, str], Any]] = {
    "community": lambda e, v, q, c: e.community(v, c),
    "charter_history": lambda e, v, q, c: e.charter_history(v, c),
    "members": lambda e, v, q, c: e.members(v, c),
    "membership": lambda e, v, q, c: e.membership(v, c, "ana"),
    "question": lambda e, v, q, c: e.question(v, q),
    "unanswered_questions": lambda e, v, q, c: e.unanswered_questions(v, c),
    "contributions_of": lambda e, v, q, c: e.contributions_of(v, "ana", community_id=c),
    "history": lambda e, v, q, c: e.history(v, c),
    "count_events": lambda e, v, q, c: e.count_events(v, c, since=SINCE, until=UNTIL),
    "watch_list": lambda e, v, q, c: e.watch_list(v, c),
    "answer_measures": lambda e, v, q, c: e.answer_measures(v, c, since=SINCE, until=UNTIL),
    "community_benefits": lambda e, v, q, c: e.community_benefits(v, c, since=SINCE, until=UNTIL),
    "person_benefits": lambda e, v, q, c: e.person_benefits(v, c, "ana", since=SINCE, until=UNTIL),
    "recognition_csv": lambda e, v, q, c: e.recognition_csv(v, c, since=SINCE, until=UNTIL),
    "recognition_json": lambda e, v, q, c: e.recognition_json(v, c, since=SINCE, until=UNTIL),
    "level_of": lambda e, v, q, c: e.level_of(v, c, "ana"),
    "levels": lambda e, v, q, c: e.levels(v, c),
    "points_balance": lambda e, v, q, c: e.points_balance(v, c, "ana"),
    "points_balances": lambda e, v, q, c: e.points_balances(v, c),
    "badges_of": lambda e, v, q, c: e.badges_of(v, c, "ana"),
    "preferences": lambda e, v, q, c: e.preferences(v, "ana"),
    "outbox": lambda e, v, q, c: e.outbox(v),
    "community_health": lambda e, v, q, c: e.community_health(v, c, since=SINCE.date(), until=UNTIL),
}

#: Reads whose answer an outsider may get without reading the community: `contributions_of`
#: leaves out what the viewer may not read (tested apart below), `portfolio` lists only what
#: the viewer may see, `health_reports` reports only on what the viewer may read.
FILTERING_READS = {"portfolio", "health_reports"}


def _reads_of_the_engine() -> set[str]:
    names = set()
    for name in dir(Engine):
        member = getattr(Engine, name)
        if name.startswith("_") or not callable(member):
            continue
        parameters = list(inspect.signature(member).parameters)
        if parameters[:2] == ["self", "viewer"]:
            names.add(name)
    return names


@pytest.fixture
def engine() -> Engine:
    engine = open_engine()
    engine.create_organisation("eve", "Acme", organisation_id="acme")
    charter = Charter(vocation="Plant managers compare notes", membership_policy=MembershipPolicy(Admission.INVITATION))
    engine.create_community(
        "ana", "acme", name="Plant managers", charter=charter, visibility=Visibility.PRIVATE, community_id="managers"
    )
    return engine


@pytest.fixture
def question(engine: Engine) -> str:
    """The id of a question asked in the private community."""
    return engine.ask("ana", "managers", title="Which press?", body="For the new line").id


def test_every_read_of_the_engine_has_its_outsider_test() -> None:
    assert _reads_of_the_engine() - FILTERING_READS == set(READS)


#: Reads of a person or of the host, not of a community: refused as such.
PERSONAL_READS = {"preferences", "outbox"}


@pytest.mark.parametrize("read", sorted(set(READS) - PERSONAL_READS))
def test_a_private_community_is_unknown_to_an_outsider_whatever_they_read_of_it(
    engine: Engine, question: str, read: str
) -> None:
    with pytest.raises(NotFoundError) as caught:
        READS[read](engine, "chloe", question, "managers")

    # It names what the outsider asked for, never the private community behind it.
    assert caught.value.id in ("managers", question)
    if read == "question":
        assert "managers" not in str(caught.value)


@pytest.mark.parametrize("read", sorted(PERSONAL_READS))
def test_someone_elses_preferences_and_the_outbox_are_refused(engine: Engine, question: str, read: str) -> None:
    with pytest.raises(PermissionDeniedError):
        READS[read](engine, "chloe", question, "managers")


@pytest.mark.parametrize("read", sorted(set(READS) - PERSONAL_READS - {"question", "contributions_of"}))
def test_an_unknown_community_gets_the_same_answer_as_a_private_one(engine: Engine, read: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        READS[read](engine, "chloe", "q-nowhere", "nowhere")

    assert (caught.value.kind, caught.value.id) == ("community", "nowhere")


@pytest.mark.parametrize("read", sorted(READS))
def test_the_host_reads_everything(engine: Engine, question: str, read: str) -> None:
    READS[read](engine, SYSTEM, question, "managers")  # raises nothing


def test_an_outsider_finds_no_private_contribution_among_a_persons_contributions(engine: Engine, question: str) -> None:
    assert engine.contributions_of("chloe", "ana") == []
    assert [c.id for c in engine.contributions_of("ana", "ana")] == [question]


def test_an_outsider_does_not_see_a_private_community_in_the_portfolio(engine: Engine) -> None:
    assert engine.portfolio("chloe", "acme") == []
    assert [c.id for c in engine.portfolio("ana", "acme")] == ["managers"]


def test_a_member_reads_levels_points_and_badges_of_their_community(engine: Engine, question: str) -> None:
    engine.invite("ana", "managers", "ben")
    engine.join("ben", "managers")
    engine.answer("ben", question, body="The hydraulic one")

    assert engine.level_of("ana", "managers", "ben") is not ParticipationLevel.OUTSIDER
    assert engine.level_of("ana", "managers", "chloe") is ParticipationLevel.OUTSIDER
    assert set(engine.levels("ben", "managers")) == {"ana", "ben"}
    assert engine.badges_of("ana", "managers", "ben") == ["first_answer"]
    balance = engine.points_balance("ana", "managers", "ben")
    assert balance is not None
    assert balance.points > 0
    assert {b.person_id for b in engine.points_balances("ana", "managers")} >= {"ben"}


def test_a_read_of_an_unknown_community_is_a_coplib_error(engine: Engine) -> None:
    with pytest.raises(CoplibError):
        engine.level_of("ana", "nowhere", "ana")


def test_an_outsider_gets_no_health_report_of_a_private_community_among_the_reports(
    engine: Engine, question: str
) -> None:
    assert engine.health_reports("chloe", "acme") == []
    assert engine.health_reports("chloe") == []
    assert [r.community_id for r in engine.health_reports("ana", "acme")] == ["managers"]
    assert [r.community_id for r in engine.health_reports(SYSTEM)] == ["managers"]
