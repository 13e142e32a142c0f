"""Becoming a member (open admission, approval, invitation, a rule on attributes), leaving,
being removed, and who can see which memberships."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coplib import (
    SYSTEM,
    Admission,
    AttributeRule,
    Charter,
    Community,
    ConflictError,
    Engine,
    ManualClock,
    MembershipPolicy,
    MembershipStatus,
    NotFoundError,
    Organisation,
    PermissionDeniedError,
    Role,
    Visibility,
)
from tests.unit.support import START, event_types


def test_anyone_in_the_organisation_joins_an_open_community(engine: Engine, community: Community) -> None:
    membership = engine.join("ben", community.id)

    assert membership.status is MembershipStatus.ACTIVE
    assert membership.roles == {Role.MEMBER}
    assert membership.joined_at == START
    last = engine.store.events()[-1].event
    assert (last.TYPE, getattr(last, "via", None)) == ("member_joined", "open")


def test_joining_twice_is_refused_and_records_nothing(engine: Engine, community: Community) -> None:
    engine.join("ben", community.id)
    before = event_types(engine)

    with pytest.raises(PermissionDeniedError, match="already an active member"):
        engine.join("ben", community.id)

    assert event_types(engine) == before


def test_a_request_on_approval_waits_for_a_facilitator(engine: Engine, restricted: Community) -> None:
    pending = engine.request_membership("ben", restricted.id)
    assert pending.status is MembershipStatus.PENDING
    assert pending.roles == frozenset()

    approved = engine.approve("ana", restricted.id, "ben")

    assert approved.status is MembershipStatus.ACTIVE
    assert approved.roles == {Role.MEMBER}
    assert [m.person_id for m in engine.members("ana", restricted.id)] == ["ana", "ben"]


def test_joining_directly_is_refused_when_admission_is_on_approval(engine: Engine, restricted: Community) -> None:
    with pytest.raises(PermissionDeniedError, match="request membership instead"):
        engine.join("ben", restricted.id)


def test_requesting_is_refused_where_admission_is_open(engine: Engine, community: Community) -> None:
    with pytest.raises(PermissionDeniedError, match="not on approval"):
        engine.request_membership("ben", community.id)


def test_a_declined_request_keeps_its_reason_and_the_person_may_ask_again(
    engine: Engine, restricted: Community
) -> None:
    engine.request_membership("ben", restricted.id)

    declined = engine.decline("ana", restricted.id, "ben", reason="Safety officers only")

    assert declined.status is MembershipStatus.DECLINED
    assert getattr(engine.store.events()[-1].event, "reason", None) == "Safety officers only"
    assert engine.request_membership("ben", restricted.id).status is MembershipStatus.PENDING


def test_a_member_without_a_gatekeeping_role_cannot_approve(engine: Engine, restricted: Community) -> None:
    engine.request_membership("ben", restricted.id)
    engine.approve("ana", restricted.id, "ben")
    engine.request_membership("chloe", restricted.id)

    with pytest.raises(PermissionDeniedError, match="needs the role"):
        engine.approve("ben", restricted.id, "chloe")


def test_a_coordinator_approves_requests(engine: Engine, restricted: Community) -> None:
    engine.request_membership("ben", restricted.id)
    engine.approve("ana", restricted.id, "ben")
    engine.assign_role("ana", restricted.id, "ben", Role.COORDINATOR)
    engine.request_membership("chloe", restricted.id)

    assert engine.approve("ben", restricted.id, "chloe").status is MembershipStatus.ACTIVE


def test_approving_without_a_pending_request_is_a_conflict(engine: Engine, restricted: Community) -> None:
    with pytest.raises(ConflictError, match="no pending request"):
        engine.approve("ana", restricted.id, "ben")


def test_a_private_community_is_joined_by_invitation_only(engine: Engine, private: Community) -> None:
    # To an outsider, a private community is not there at all (as an unknown id is not).
    with pytest.raises(NotFoundError):
        engine.join("ben", private.id)
    with pytest.raises(NotFoundError):
        engine.request_membership("ben", private.id)

    invited = engine.invite("ana", private.id, "ben")
    assert (invited.status, invited.invited_by) == (MembershipStatus.INVITED, "ana")
    joined = engine.join("ben", private.id)

    assert joined.status is MembershipStatus.ACTIVE
    assert joined.invited_by == "ana"
    assert getattr(engine.store.events()[-1].event, "via", None) == "invitation"


def test_an_invitation_only_community_refuses_the_uninvited(engine: Engine, org: Organisation) -> None:
    charter = Charter(vocation="Invited", membership_policy=MembershipPolicy(Admission.INVITATION))
    club = engine.create_community("ana", org.id, name="Club", charter=charter, visibility=Visibility.RESTRICTED)

    with pytest.raises(PermissionDeniedError, match="invitation only"):
        engine.join("ben", club.id)


def test_an_invited_person_may_turn_the_invitation_down_by_leaving(engine: Engine, private: Community) -> None:
    engine.invite("ana", private.id, "ben")

    assert engine.leave("ben", private.id).status is MembershipStatus.LEFT
    with pytest.raises(NotFoundError):  # once out, the private community is hidden again
        engine.join("ben", private.id)


def test_people_matching_the_charter_rule_join_and_others_do_not(engine: Engine, org: Organisation) -> None:
    rule = AttributeRule.of(job="welder", site=("Lyon", "Grenoble"))
    charter = Charter(vocation="Welders of Lyon", membership_policy=MembershipPolicy(Admission.RULE, rule))
    lyon = engine.create_community("ana", org.id, name="Lyon welders", charter=charter)

    joined = engine.join("walt", lyon.id)

    assert joined.status is MembershipStatus.ACTIVE
    assert getattr(engine.store.events()[-1].event, "via", None) == "rule"
    with pytest.raises(PermissionDeniedError, match="does not match"):
        engine.join("ben", lyon.id)


def test_inviting_an_unknown_person_is_not_found(engine: Engine, private: Community) -> None:
    with pytest.raises(NotFoundError) as caught:
        engine.invite("ana", private.id, "nobody")

    assert (caught.value.kind, caught.value.id) == ("person", "nobody")


def test_inviting_a_person_who_left_the_organisation_is_a_conflict(engine: Engine, private: Community) -> None:
    with pytest.raises(ConflictError, match="left the organisation"):
        engine.invite("ana", private.id, "olga")


def test_inviting_an_active_member_again_is_a_conflict(engine: Engine, community: Community) -> None:
    engine.join("ben", community.id)

    with pytest.raises(ConflictError, match="already active"):
        engine.invite("ana", community.id, "ben")


def test_a_member_who_leaves_loses_every_role_and_may_come_back_as_a_plain_member(
    engine: Engine, community: Community, clock: ManualClock
) -> None:
    engine.join("ben", community.id)
    engine.assign_role("ana", community.id, "ben", Role.EXPERT, tags=["tig"])

    left = engine.leave("ben", community.id)
    assert (left.status, left.roles, left.expertise) == (MembershipStatus.LEFT, frozenset(), frozenset())

    clock.advance(timedelta(days=30))
    back = engine.join("ben", community.id)
    assert (back.roles, back.joined_at) == ({Role.MEMBER}, START + timedelta(days=30))


def test_leaving_a_community_one_is_not_in_is_refused(engine: Engine, community: Community) -> None:
    with pytest.raises(PermissionDeniedError, match="not a member"):
        engine.leave("ben", community.id)


def test_the_system_actor_cannot_leave_a_community_it_is_not_in(engine: Engine, community: Community) -> None:
    with pytest.raises(ConflictError, match="not a member"):
        engine.leave(SYSTEM, community.id)


def test_the_last_facilitator_cannot_leave(engine: Engine, community: Community) -> None:
    with pytest.raises(ConflictError, match="last facilitator"):
        engine.leave("ana", community.id)

    engine.join("ben", community.id)
    engine.assign_role("ana", community.id, "ben", Role.FACILITATOR)
    assert engine.leave("ana", community.id).status is MembershipStatus.LEFT


def test_a_removed_member_loses_their_roles_and_cannot_come_back_alone(engine: Engine, community: Community) -> None:
    engine.join("ben", community.id)
    engine.assign_role("ana", community.id, "ben", Role.CORE_GROUP)

    removed = engine.remove("ana", community.id, "ben", reason="Spam")

    assert (removed.status, removed.roles) == (MembershipStatus.REMOVED, frozenset())
    with pytest.raises(PermissionDeniedError, match="removed"):
        engine.join("ben", community.id)
    with pytest.raises(PermissionDeniedError, match="removed"):
        engine.request_membership("ben", community.id)


def test_only_a_steward_invites_back_a_removed_person(engine: Engine, community: Community) -> None:
    engine.join("ben", community.id)
    engine.join("chloe", community.id)
    engine.assign_role("ana", community.id, "chloe", Role.COORDINATOR)
    engine.remove("ana", community.id, "ben")

    with pytest.raises(PermissionDeniedError, match="facilitator or sponsor"):
        engine.invite("chloe", community.id, "ben")

    assert engine.invite("ana", community.id, "ben").status is MembershipStatus.INVITED
    assert engine.join("ben", community.id).status is MembershipStatus.ACTIVE


def test_removing_someone_who_is_not_a_member_is_a_conflict(engine: Engine, community: Community) -> None:
    with pytest.raises(ConflictError, match="not a member"):
        engine.remove("ana", community.id, "ben")


def test_members_are_listed_by_person_and_filtered_by_status(engine: Engine, restricted: Community) -> None:
    engine.request_membership("dev", restricted.id)
    engine.request_membership("ben", restricted.id)
    engine.approve("ana", restricted.id, "ben")

    active = engine.members("ana", restricted.id)
    pending = engine.members("ana", restricted.id, statuses=["pending"])

    assert [m.person_id for m in active] == ["ana", "ben"]
    assert [m.person_id for m in pending] == ["dev"]


def test_a_person_always_sees_their_own_membership(engine: Engine, private: Community) -> None:
    with pytest.raises(NotFoundError):  # before the invitation, the private community is unknown to ben
        engine.membership("ben", private.id, "ben")
    engine.invite("ana", private.id, "ben")

    mine = engine.membership("ben", private.id, "ben")

    assert mine is not None and mine.status is MembershipStatus.INVITED
    with pytest.raises(NotFoundError):
        engine.membership("chloe", private.id, "ben")
    with pytest.raises(NotFoundError):  # nor may an outsider learn it exists by asking for their own
        engine.membership("chloe", private.id, "chloe")
