"""Roles: assigned and withdrawn by a facilitator or the sponsor, held only by active
members, experts of given tags, and never a community without a facilitator."""

from __future__ import annotations

import pytest

from coplib import (
    Community,
    ConflictError,
    Engine,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    Role,
)
from tests.unit.support import event_types


@pytest.fixture
def with_ben(engine: Engine, community: Community) -> Community:
    engine.join("ben", community.id)
    return community


def test_a_facilitator_makes_a_member_an_expert_of_some_tags(engine: Engine, with_ben: Community) -> None:
    membership = engine.assign_role("ana", with_ben.id, "ben", "expert", tags=["TIG", "mig"])

    assert membership.roles == {Role.MEMBER, Role.EXPERT}
    assert membership.expertise == {"tig", "mig"}
    assert [m.person_id for m in engine.members("ana", with_ben.id, role=Role.EXPERT, tag="TIG")] == ["ben"]
    assert engine.members("ana", with_ben.id, role=Role.EXPERT, tag="brazing") == []


def test_an_expert_is_an_expert_of_at_least_one_tag(engine: Engine, with_ben: Community) -> None:
    with pytest.raises(InvalidInputError) as caught:
        engine.assign_role("ana", with_ben.id, "ben", Role.EXPERT)

    assert [e.path for e in caught.value.errors] == ["$.tags"]


def test_only_the_expert_role_takes_tags(engine: Engine, with_ben: Community) -> None:
    with pytest.raises(InvalidInputError, match="only the expert role takes tags"):
        engine.assign_role("ana", with_ben.id, "ben", Role.COACH, tags=["tig"])


def test_more_expertise_extends_the_expert_role(engine: Engine, with_ben: Community) -> None:
    engine.assign_role("ana", with_ben.id, "ben", Role.EXPERT, tags=["tig"])

    membership = engine.assign_role("ana", with_ben.id, "ben", Role.EXPERT, tags=["brazing"])

    assert membership.expertise == {"tig", "brazing"}


def test_assigning_a_role_already_held_records_nothing(engine: Engine, with_ben: Community) -> None:
    engine.assign_role("ana", with_ben.id, "ben", Role.COACH)
    before = event_types(engine)

    again = engine.assign_role("ana", with_ben.id, "ben", Role.COACH)

    assert Role.COACH in again.roles
    assert event_types(engine) == before


def test_roles_are_only_for_active_members(engine: Engine, community: Community) -> None:
    with pytest.raises(ConflictError, match="roles are for members"):
        engine.assign_role("ana", community.id, "ben", Role.COACH)

    engine.join("ben", community.id)
    engine.leave("ben", community.id)
    with pytest.raises(ConflictError, match="roles are for members"):
        engine.assign_role("ana", community.id, "ben", Role.COACH)


@pytest.mark.parametrize("role", [r for r in Role if r not in (Role.FACILITATOR, Role.SPONSOR)])
def test_only_a_facilitator_or_the_sponsor_assigns_roles(engine: Engine, with_ben: Community, role: Role) -> None:
    engine.join("chloe", with_ben.id)
    tags = ["tig"] if role is Role.EXPERT else []
    if role is not Role.MEMBER:
        engine.assign_role("ana", with_ben.id, "chloe", role, tags=tags)

    with pytest.raises(PermissionDeniedError) as caught:
        engine.assign_role("chloe", with_ben.id, "ben", Role.COACH)

    assert caught.value.reason == "needs the role facilitator or sponsor"


def test_the_sponsor_assigns_roles(engine: Engine, with_ben: Community) -> None:
    engine.join("eve", with_ben.id)
    engine.assign_role("ana", with_ben.id, "eve", Role.SPONSOR)

    assert Role.CORE_GROUP in engine.assign_role("eve", with_ben.id, "ben", Role.CORE_GROUP).roles


def test_withdrawing_the_expert_role_clears_the_expertise(engine: Engine, with_ben: Community) -> None:
    engine.assign_role("ana", with_ben.id, "ben", Role.EXPERT, tags=["tig"])

    membership = engine.withdraw_role("ana", with_ben.id, "ben", Role.EXPERT)

    assert (membership.roles, membership.expertise) == ({Role.MEMBER}, frozenset())
    assert event_types(engine)[-1] == "role_withdrawn"


def test_withdrawing_a_role_not_held_records_nothing(engine: Engine, with_ben: Community) -> None:
    before = event_types(engine)

    engine.withdraw_role("ana", with_ben.id, "ben", Role.COACH)

    assert event_types(engine) == before


def test_the_member_role_goes_only_with_the_membership(engine: Engine, with_ben: Community) -> None:
    with pytest.raises(InvalidInputError, match="use remove"):
        engine.withdraw_role("ana", with_ben.id, "ben", Role.MEMBER)


def test_withdrawing_a_role_from_someone_never_a_member_is_not_found(engine: Engine, community: Community) -> None:
    with pytest.raises(NotFoundError) as caught:
        engine.withdraw_role("ana", community.id, "ben", Role.COACH)

    assert caught.value.kind == "membership"


def test_the_last_facilitator_keeps_the_role_until_someone_else_has_it(engine: Engine, with_ben: Community) -> None:
    with pytest.raises(ConflictError, match="last facilitator"):
        engine.withdraw_role("ana", with_ben.id, "ana", Role.FACILITATOR)

    engine.assign_role("ana", with_ben.id, "ben", Role.FACILITATOR)
    stepped_down = engine.withdraw_role("ana", with_ben.id, "ana", Role.FACILITATOR)

    assert stepped_down.roles == {Role.MEMBER}
    assert [m.person_id for m in engine.members("ben", with_ben.id, role=Role.FACILITATOR)] == ["ben"]


def test_the_last_facilitator_cannot_be_removed(engine: Engine, with_ben: Community) -> None:
    engine.join("eve", with_ben.id)
    engine.assign_role("ana", with_ben.id, "eve", Role.SPONSOR)

    with pytest.raises(ConflictError, match="last facilitator"):
        engine.remove("eve", with_ben.id, "ana")
