"""Candidate communities through the engine: proposed by any person of the organisation, seen
by their proposer and its administrators only, ranked, revised, dropped and launched."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from coplib import (
    SYSTEM,
    ConflictError,
    Engine,
    InvalidInputError,
    ManualClock,
    NotFoundError,
    PermissionDeniedError,
    Role,
)
from coplib.domain.readiness import CandidateStatus
from tests.unit.support import START
from tests.value.support import open_engine, organisation

READY: dict[str, Any] = {
    "strategic_theme": "Quality of joints",
    "existing_network": "The welders' club of the Lyon plant",
    "recurring_exchanges": True,
    "immediate_needs": ["access to experts when a press stops"],
    "core_group": ["walt", "rita", "ben"],
    "sponsor": "eve",
    "facilitator": "walt",
    "time_allocated": True,
    "participation_recognised": True,
    "middle_managers_informed": True,
}


@pytest.fixture
def engine() -> Engine:
    engine = open_engine(clock=ManualClock(START))
    organisation(engine)
    return engine


def _propose(engine: Engine, who: str = "walt", name: str = "Brazing", **facts: Any) -> str:
    return engine.propose_community(who, "acme", name=name, vocation=f"{name} done well", facts=facts).candidate.id


def test_a_proposal_returns_its_score_and_what_the_founder_still_misses(engine: Engine) -> None:
    assessed = engine.propose_community(
        "walt", "acme", name="Brazing", vocation="Braze well", facts={"strategic_theme": "Joints", "sponsor": "eve"}
    )

    assert assessed.readiness.score == pytest.approx(25)
    assert {c.name for c in assessed.readiness.missing} == set(READY) - {
        "strategic_theme",
        "sponsor",
        "recurring_exchanges",
    }
    assert assessed.readiness.explain("fr")[0] == "Préparation : 25/100"


def test_candidates_are_ranked_by_readiness_then_by_age(engine: Engine) -> None:
    clock = engine.clock
    assert isinstance(clock, ManualClock)
    low = _propose(engine, name="Soldering", strategic_theme="Joints")
    clock.advance(timedelta(minutes=1))
    high = _propose(engine, name="Brazing", **READY)
    clock.advance(timedelta(minutes=1))
    low_too = _propose(engine, "chloe", name="Riveting", strategic_theme="Joints")

    ranked = [a.candidate.id for a in engine.community_candidates("eve", "acme")]

    assert ranked == [high, low, low_too]


def test_a_candidate_is_seen_by_its_proposer_and_the_administrators_only(engine: Engine) -> None:
    walts = _propose(engine, name="Brazing")
    chloes = _propose(engine, "chloe", name="Riveting")

    assert [a.candidate.id for a in engine.community_candidates("walt", "acme")] == [walts]
    assert {a.candidate.id for a in engine.community_candidates("eve", "acme")} == {walts, chloes}
    assert engine.community_candidates("dev", "acme") == []
    assert engine.assess_candidate("eve", walts).candidate.id == walts
    with pytest.raises(PermissionDeniedError):
        engine.assess_candidate("dev", walts)
    with pytest.raises(PermissionDeniedError):
        engine.revise_candidate("dev", walts, facts={"sponsor": "dev"})


def test_a_person_of_another_organisation_finds_candidates_and_the_organisation_unknown(engine: Engine) -> None:
    walts = _propose(engine)

    with pytest.raises(NotFoundError):
        engine.assess_candidate("gil", walts)
    with pytest.raises(NotFoundError):
        engine.community_candidates("gil", "acme")
    with pytest.raises(NotFoundError):
        engine.propose_community("gil", "acme", name="Spying", vocation="Look around")


def test_revising_changes_only_the_facts_named(engine: Engine) -> None:
    cid = _propose(engine, strategic_theme="Joints")

    revised = engine.revise_candidate("walt", cid, facts={"sponsor": "eve"}, tags=["brazing"])

    assert revised.candidate.facts.strategic_theme == "Joints"
    assert revised.candidate.facts.sponsor == "eve"
    assert revised.candidate.tags == {"brazing"}
    assert revised.readiness.score == pytest.approx(25)


def test_launching_a_candidate_invites_the_people_it_counted_on_who_belong_to_its_organisation(
    engine: Engine,
) -> None:
    facts = {**READY, "core_group": ["walt", "rita", "ben", "gil"], "sponsor": "eve"}
    cid = engine.propose_community("walt", "acme", name="Brazing", vocation="Braze well", facts=facts).candidate.id

    engine.launch_candidate("walt", cid, community_id="brazing")

    statuses = {m.person_id: m.status.value for m in engine.members("walt", "brazing", statuses=("active", "invited"))}
    # walt founded it; rita and ben (the core group) and eve (the sponsor) are invited; gil is
    # of another organisation: left out.
    assert statuses == {"walt": "active", "rita": "invited", "ben": "invited", "eve": "invited"}
    told = {e.message.recipient_id for e in engine.outbox(SYSTEM, limit=1000) if e.message.topic == "member_invited"}
    assert told == {"rita", "ben", "eve"}
    engine.join("rita", "brazing")
    assert engine.membership("walt", "brazing", "rita").status.value == "active"


def test_the_people_a_launch_counted_on_get_their_roles_when_they_join_and_not_before(engine: Engine) -> None:
    facts = {**READY, "core_group": ["walt", "rita", "ben"], "sponsor": "eve", "facilitator": "rita"}
    cid = engine.propose_community("walt", "acme", name="Brazing", vocation="Braze well", facts=facts).candidate.id
    engine.launch_candidate("walt", cid, community_id="brazing")
    # Invited, they hold no role yet: roles are for active members.
    assert engine.membership("walt", "brazing", "rita").roles == frozenset()
    assert [m.person_id for m in engine.members("walt", "brazing", role="facilitator")] == ["walt"]
    before = engine.store.last_position()

    engine.join("rita", "brazing")
    engine.join("eve", "brazing")
    engine.leave("ben", "brazing")  # declines the invitation: offered nothing any more

    roles = {p: engine.membership("walt", "brazing", p).roles for p in ("rita", "eve")}
    assert roles == {
        "rita": {Role.MEMBER, Role.FACILITATOR, Role.CORE_GROUP},  # the facilitator, of the core group
        "eve": {Role.MEMBER, Role.SPONSOR},
    }
    assert [m.person_id for m in engine.members("walt", "brazing", role="facilitator")] == ["rita", "walt"]
    assigned = [r.event for r in engine.store.events(after=before, limit=100) if r.event.TYPE == "role_assigned"]
    assert sorted((e.person_id, e.role.value) for e in assigned) == [  # type: ignore[attr-defined]
        ("eve", "sponsor"),
        ("rita", "core_group"),
        ("rita", "facilitator"),
    ]
    with pytest.raises(PermissionDeniedError):
        engine.join("eve", "brazing")  # an active member: nothing is offered twice
    engine.join("ben", "brazing")  # the community is open: he joins, without the offer he declined
    assert engine.membership("walt", "brazing", "ben").roles == {Role.MEMBER}


def test_launching_a_candidate_creates_its_community_with_the_launcher_as_facilitator(engine: Engine) -> None:
    cid = engine.propose_community(
        "walt", "acme", name="Brazing", vocation="Braze well", tags=["brazing"], kind="trade", facts=READY
    ).candidate.id

    community = engine.launch_candidate("walt", cid, community_id="brazing")

    assert (community.name, community.vocation, community.kind.value, community.tags) == (
        "Brazing",
        "Braze well",
        "trade",
        {"brazing"},
    )
    launched = engine.assess_candidate("walt", cid).candidate
    assert (launched.status, launched.launched_as) == (CandidateStatus.LAUNCHED, "brazing")
    assert engine.members("walt", "brazing")[0].person_id == "walt"
    assert engine.community_candidates("eve", "acme") == []
    assert "candidate_launched" in [r.event.TYPE for r in engine.history("walt", "brazing")]
    with pytest.raises(ConflictError):
        engine.launch_candidate("walt", cid)
    with pytest.raises(ConflictError):
        engine.revise_candidate("walt", cid, name="Again")


def test_a_dropped_candidate_leaves_the_ranking_and_cannot_be_launched(engine: Engine) -> None:
    cid = _propose(engine)

    engine.drop_candidate("eve", cid, reason="no sponsor found")

    assert engine.community_candidates("eve", "acme") == []
    assert [a.candidate.reason for a in engine.community_candidates("eve", "acme", statuses=["dropped"])] == [
        "no sponsor found"
    ]
    with pytest.raises(ConflictError):
        engine.launch_candidate("walt", cid)


def test_the_host_overrides_the_weights_and_they_are_checked(engine: Engine) -> None:
    cid = _propose(engine, sponsor="eve")

    engine.readiness_weights = {name: 0 for name in READY if name != "recurring_exchanges"} | {"sponsor": 1}

    assert engine.assess_candidate("walt", cid).readiness.score == pytest.approx(100)
    assert engine.assess_candidate("walt", cid, weights={"sponsor": 0, "facilitator": 1}).readiness.score == 0
    with pytest.raises(InvalidInputError) as caught:
        engine.readiness_weights = {"luck": 5}
    assert caught.value.errors[0].path == "$.weights.luck"


@pytest.mark.parametrize(
    ("facts", "path"),
    [
        ({"sponsor": "nobody"}, "$.facts.sponsor"),
        ({"core_group": ["walt", "nobody"]}, "$.facts.core_group"),
        ({"core_group": "walt"}, "$.facts.core_group"),
        ({"charisma": True}, "$.facts.charisma"),
        ({"time_allocated": "yes"}, "$.facts.time_allocated"),
        ({"strategic_theme": "two\nlines"}, "$.facts.strategic_theme"),
        ("ready", "$.facts"),
    ],
)
def test_bad_facts_are_refused_naming_the_field_and_change_nothing(engine: Engine, facts: Any, path: str) -> None:
    before = engine.store.last_position()
    with pytest.raises(InvalidInputError) as caught:
        engine.propose_community("walt", "acme", name="Brazing", vocation="Braze", facts=facts)

    assert caught.value.errors[0].path == path
    assert engine.store.last_position() == before


def test_the_host_may_propose_and_launch_as_system(engine: Engine) -> None:
    cid = _propose(engine, SYSTEM)

    community = engine.launch_candidate(SYSTEM, cid)

    assert engine.members(SYSTEM, community.id) == []


def test_an_invitation_offers_only_the_roles_a_launch_gives() -> None:
    from coplib.domain import events as ev

    with pytest.raises(InvalidInputError) as refused:
        ev.MemberInvited(
            id="e-1", actor_id="walt", community_id="brazing", occurred_at=START, person_id="ben", roles={Role.EXPERT}
        )
    assert refused.value.errors[0].path == "$.roles"
    offered = ev.MemberInvited(
        id="e-2", actor_id="walt", community_id="brazing", occurred_at=START, person_id="ben", roles=[Role.SPONSOR]
    )
    assert offered.roles == {Role.SPONSOR}
