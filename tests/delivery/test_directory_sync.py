"""`engine.sync_directory()`: rule-based memberships follow the directory, people who left
the organisation leave every community, each change is one event by `coplib.SYSTEM`, and a
second run changes nothing."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

import coplib
from coplib import (
    SYSTEM,
    Admission,
    AttributeRule,
    Charter,
    Community,
    ManualClock,
    MembershipPolicy,
    MembershipStatus,
    Person,
    PluginError,
    Role,
    hookimpl,
)
from coplib.domain import events as ev
from coplib.domain.community import LifecycleStage

from .support import PEOPLE, START, World, make_world

CARLA = Person("carla", "Carla Rossi", attributes={"job": "welder", "site": "Lyon"})
WELDERS_OF_LYON = AttributeRule.of(job="welder", site="Lyon")


def rule_community(
    world: World, name: str = "Soudeurs de Lyon (tous)", rule: AttributeRule = WELDERS_OF_LYON
) -> Community:
    charter = Charter(vocation="Souder", membership_policy=MembershipPolicy(admission=Admission.RULE, rule=rule))
    return world.engine.create_community(SYSTEM, world.community.organisation_id, name=name, charter=charter)


def members(world: World, community: Community) -> list[str]:
    return [m.person_id for m in world.engine.members(SYSTEM, community.id)]


def events_since(world: World, position: int) -> list[ev.DomainEvent]:
    return [r.event for r in world.engine.store.events(after=position)]


def last_position(world: World) -> int:
    return world.engine.store.events()[-1].position


def test_people_matching_the_rule_join_by_rule_each_as_one_event_by_the_system() -> None:
    world = make_world(people=[*PEOPLE, CARLA])
    welders = rule_community(world)
    before = last_position(world)

    report = world.engine.sync_directory()

    assert report.joined == ((welders.id, "ana"), (welders.id, "ben"), (welders.id, "carla"))
    assert (report.left, report.deactivated, report.events) == ((), (), 3)
    assert members(world, welders) == ["ana", "ben", "carla"]
    joined = events_since(world, before)
    assert [(type(e), e.actor_id, e.person_id, e.via) for e in joined if isinstance(e, ev.MemberJoined)] == [
        (ev.MemberJoined, SYSTEM, "ana", "rule"),
        (ev.MemberJoined, SYSTEM, "ben", "rule"),
        (ev.MemberJoined, SYSTEM, "carla", "rule"),
    ]
    assert len(joined) == 3
    membership = world.engine.membership(SYSTEM, welders.id, "ana")
    assert membership is not None and membership.via == "rule"


def test_a_second_sync_records_nothing() -> None:
    world = make_world()
    rule_community(world)
    world.engine.sync_directory()
    before = last_position(world)

    again = world.engine.sync_directory()

    assert again.events == 0
    assert (again.joined, again.left, again.deactivated) == ((), (), ())
    assert events_since(world, before) == []


def test_a_rule_member_who_no_longer_matches_leaves_while_others_stay() -> None:
    world = make_world()
    welders = rule_community(world)
    world.engine.sync_directory()
    world.engine.invite(SYSTEM, welders.id, "dev")
    world.engine.join("dev", welders.id)  # a painter, invited: not by rule
    world.directory.put(Person("ben", "Ben Carter", attributes={"job": "welder", "site": "Grenoble"}))
    before = last_position(world)

    report = world.engine.sync_directory()

    assert report.left == ((welders.id, "ben"),)
    assert report.events == 1
    assert members(world, welders) == ["ana", "dev"]
    (left,) = events_since(world, before)
    assert isinstance(left, ev.MemberLeft)
    assert (left.actor_id, left.person_id, left.community_id) == (SYSTEM, "ben", welders.id)


def test_someone_who_left_the_organisation_leaves_every_community_and_drops_invitations() -> None:
    world = make_world()
    welders = rule_community(world)
    world.engine.sync_directory()
    painters = world.engine.create_community(
        "dev", world.community.organisation_id, name="Peintres", vocation="Peindre"
    )
    world.engine.invite("dev", painters.id, "ana")
    world.directory.put(Person("ana", "Ana Durand", active=False, attributes={"job": "welder", "site": "Lyon"}))
    before = last_position(world)

    report = world.engine.sync_directory()

    assert sorted(report.deactivated) == sorted(
        [(world.community.id, "ana"), (welders.id, "ana"), (painters.id, "ana")]
    )
    assert (report.joined, report.left, report.events) == ((), (), 3)
    for community in (world.community, welders, painters):
        membership = world.engine.membership(SYSTEM, community.id, "ana")
        assert membership is not None and membership.status is MembershipStatus.LEFT
        assert membership.roles == frozenset()
    changes = events_since(world, before)
    assert len(changes) == 3
    assert all(isinstance(e, ev.MemberLeft) and e.actor_id == SYSTEM and e.person_id == "ana" for e in changes)
    assert world.engine.sync_directory().events == 0


def test_the_last_facilitator_leaving_the_organisation_is_deactivated_too() -> None:
    world = make_world()
    assert [m.person_id for m in world.engine.members(SYSTEM, world.community.id, role=Role.FACILITATOR)] == ["ana"]
    world.directory.put(Person("ana", "Ana Durand", active=False))

    report = world.engine.sync_directory()

    assert report.deactivated == ((world.community.id, "ana"),)
    assert world.engine.members(SYSTEM, world.community.id, role=Role.FACILITATOR) == []


def test_someone_the_directory_no_longer_knows_is_deactivated() -> None:
    world = make_world()
    world.directory.forget("chloe")

    report = world.engine.sync_directory()

    assert report.deactivated == ((world.community.id, "chloe"),)


def test_someone_deactivated_who_comes_back_rejoins_by_rule() -> None:
    world = make_world()
    welders = rule_community(world)
    world.engine.sync_directory()
    ben = Person("ben", "Ben Carter", attributes={"job": "welder", "site": "Lyon"})
    world.directory.put(Person("ben", "Ben Carter", active=False, attributes={"job": "welder", "site": "Lyon"}))
    assert (welders.id, "ben") in world.engine.sync_directory().deactivated
    world.directory.put(ben)

    report = world.engine.sync_directory()

    assert report.joined == ((welders.id, "ben"),)
    assert "ben" in members(world, welders)


def test_someone_who_left_a_rule_community_of_their_own_accord_is_not_brought_back() -> None:
    world = make_world()
    welders = rule_community(world)
    world.engine.sync_directory()
    world.engine.leave("ben", welders.id)

    report = world.engine.sync_directory()

    assert report.events == 0
    assert members(world, welders) == ["ana"]


def test_someone_removed_by_a_steward_is_not_brought_back_by_the_rule() -> None:
    world = make_world()
    welders = rule_community(world)
    world.engine.sync_directory()
    world.engine.remove(SYSTEM, welders.id, "ben", reason="asked to be left out")

    assert world.engine.sync_directory().events == 0
    membership = world.engine.membership(SYSTEM, welders.id, "ben")
    assert membership is not None and membership.status is MembershipStatus.REMOVED


def test_a_closed_community_takes_no_one_by_rule() -> None:
    world = make_world()
    welders = rule_community(world)
    world.engine.change_stage(SYSTEM, welders.id, LifecycleStage.CLOSED)

    assert world.engine.sync_directory().joined == ()
    assert members(world, welders) == []


class PeopleOnly:
    """A directory that resolves people but cannot list them by rule."""

    def __init__(self, people: Sequence[Person]) -> None:
        self.people = {p.id: p for p in people}
        self.fail = False

    @hookimpl
    def coplib_get_person(self, person_id: str) -> Person | None:
        if self.fail:
            raise ConnectionError("directory unreachable")
        return self.people.get(person_id)


def _engine_with(directory: PeopleOnly) -> tuple[coplib.Engine, Community]:
    engine = coplib.open("memory://", plugins=[directory], block=["coplib.directory"], clock=ManualClock(START))
    org = engine.create_organisation(SYSTEM, "Acme")
    charter = Charter(
        vocation="Souder", membership_policy=MembershipPolicy(admission=Admission.RULE, rule=WELDERS_OF_LYON)
    )
    community = engine.create_community(SYSTEM, org.id, name="Soudeurs", charter=charter)
    return engine, community


def test_a_rule_no_directory_can_answer_leaves_rule_members_alone_and_is_reported() -> None:
    directory = PeopleOnly([CARLA])
    engine, community = _engine_with(directory)
    engine.join("carla", community.id)  # by rule, on her own

    report = engine.sync_directory()

    assert report.unanswered == (community.id,)
    assert report.events == 0
    assert [m.person_id for m in engine.members(SYSTEM, community.id)] == ["carla"]


def test_a_directory_that_fails_stops_the_sync_with_a_plugin_error_and_decides_nothing_wrong() -> None:
    directory = PeopleOnly([CARLA])
    engine, community = _engine_with(directory)
    engine.join("carla", community.id)
    directory.fail = True

    with pytest.raises(PluginError, match="the identity directory failed on 'carla': ConnectionError"):
        engine.sync_directory()

    membership = engine.membership(SYSTEM, community.id, "carla")
    assert membership is not None and membership.active
