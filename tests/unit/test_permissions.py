"""The permission table: who may do what, by role, visibility, membership status and whether
the person is still in the organisation; and every refusal says why."""

from __future__ import annotations

import pytest

from coplib import (
    Action,
    Admission,
    Charter,
    Community,
    CommunityKind,
    Decision,
    Engine,
    LifecycleStage,
    Membership,
    MembershipPolicy,
    MembershipStatus,
    NotFoundError,
    PermissionDeniedError,
    Person,
    Role,
    Visibility,
    decide,
)
from coplib.domain.permissions import PERMISSION_TABLE, STEWARDS
from tests.unit.support import START, event_types

ACTIVE_PERSON = Person(id="pat", display_name="Pat")
GONE_PERSON = Person(id="pat", display_name="Pat", active=False)
ADMISSION_FOR = {Visibility.OPEN: Admission.OPEN, Visibility.RESTRICTED: Admission.APPROVAL}


def a_community(visibility: Visibility = Visibility.OPEN, stage: LifecycleStage = LifecycleStage.MATURING) -> Community:
    admission = ADMISSION_FOR.get(visibility, Admission.INVITATION)
    return Community(
        id="c",
        organisation_id="o",
        name="C",
        kind=CommunityKind.PRACTICE,
        visibility=visibility,
        stage=stage,
        tags=frozenset(),
        charter=Charter(vocation="V", membership_policy=MembershipPolicy(admission)),
        charter_version=0,
        created_at=START,
        created_by="ana",
    )


def a_membership(status: MembershipStatus = MembershipStatus.ACTIVE, *roles: Role) -> Membership:
    held = {Role.MEMBER, *roles} if status is MembershipStatus.ACTIVE else set()
    return Membership(community_id="c", person_id="pat", status=status, since=START, roles=held)


def decision(
    action: Action,
    *,
    person: Person | None = ACTIVE_PERSON,
    community: Community | None = None,
    membership: Membership | None = None,
    owner_id: str | None = None,
    target_author_id: str | None = None,
) -> Decision:
    return decide(
        action,
        actor_id="pat",
        actor=person,
        community=community if community is not None else a_community(),
        membership=membership,
        owner_id=owner_id,
        target_author_id=target_author_id,
    )


def test_the_table_has_a_rule_for_every_action() -> None:
    assert set(PERMISSION_TABLE) == set(Action)


PRIVATE_REASON = "the community is private: only its members may"
MEMBERS_REASON = "only active members may: join the community first"


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        (Action.SEE, PRIVATE_REASON),
        (Action.READ, PRIVATE_REASON),
        (Action.CONTRIBUTE, MEMBERS_REASON),
        (Action.ENDORSE, MEMBERS_REASON),
    ],
)
def test_an_outsider_can_neither_see_read_nor_post_in_a_private_community(action: Action, reason: str) -> None:
    refused = decision(action, community=a_community(Visibility.PRIVATE))

    assert (bool(refused), refused.reason) == (False, reason)


def test_an_outsider_reads_an_open_community_but_does_not_post_in_it() -> None:
    assert decision(Action.READ, community=a_community(Visibility.OPEN))
    assert not decision(Action.CONTRIBUTE, community=a_community(Visibility.OPEN))


def test_an_outsider_sees_a_restricted_community_without_reading_it() -> None:
    restricted = a_community(Visibility.RESTRICTED)

    assert decision(Action.SEE, community=restricted)
    assert not decision(Action.READ, community=restricted)


def test_an_invited_person_sees_a_private_community_but_reads_it_only_once_joined() -> None:
    private = a_community(Visibility.PRIVATE)
    invited = a_membership(MembershipStatus.INVITED)

    assert decision(Action.SEE, community=private, membership=invited)
    assert not decision(Action.READ, community=private, membership=invited)
    assert decision(Action.JOIN, community=private, membership=invited)
    assert decision(Action.READ, community=private, membership=a_membership())


@pytest.mark.parametrize("action", [Action.AMEND_CHARTER, Action.ASSIGN_ROLE, Action.REMOVE_MEMBER])
@pytest.mark.parametrize("role", list(Role))
def test_only_a_facilitator_or_the_sponsor_amends_the_charter_assigns_roles_or_removes(
    action: Action, role: Role
) -> None:
    result = decision(action, membership=a_membership(MembershipStatus.ACTIVE, role))

    assert bool(result) is (role in STEWARDS)
    if not result:
        assert result.reason == "needs the role facilitator or sponsor"


# Creating a community is a right in the organisation, not in one community; preferences are a
# person's own, the outbox the host's.
COMMUNITY_ACTIONS = [a for a in Action if PERMISSION_TABLE[a].scope == "community"]


@pytest.mark.parametrize("action", COMMUNITY_ACTIONS)
@pytest.mark.parametrize("visibility", list(Visibility))
def test_a_removed_member_loses_every_right_at_once(action: Action, visibility: Visibility) -> None:
    removed = Membership(community_id="c", person_id="pat", status=MembershipStatus.REMOVED, since=START)

    result = decision(action, community=a_community(visibility), membership=removed, owner_id="pat")

    assert not result
    assert result.reason == "this person was removed from the community and holds no right in it"


@pytest.mark.parametrize("role", list(Role))
def test_only_the_asker_or_a_facilitator_accepts_an_answer(role: Role) -> None:
    member_with_role = a_membership(MembershipStatus.ACTIVE, role)

    by_role = decision(Action.ACCEPT_ANSWER, membership=member_with_role, owner_id="the-asker")
    by_asker = decision(Action.ACCEPT_ANSWER, membership=member_with_role, owner_id="pat")

    assert bool(by_role) is (role is Role.FACILITATOR)
    assert by_asker


@pytest.mark.parametrize("role", list(Role))
def test_only_moderators_or_the_author_withdraw_a_contribution(role: Role) -> None:
    member_with_role = a_membership(MembershipStatus.ACTIVE, role)

    by_role = decision(Action.WITHDRAW_CONTRIBUTION, membership=member_with_role, owner_id="the-author")

    assert bool(by_role) is (role in (Role.FACILITATOR, Role.DOCUMENTALIST))


@pytest.mark.parametrize("action", list(Action))
def test_a_person_who_left_the_organisation_can_do_nothing(action: Action) -> None:
    every_role = a_membership(MembershipStatus.ACTIVE, *Role)

    result = decision(action, person=GONE_PERSON, membership=every_role, owner_id="pat")

    assert not result
    assert result.reason == "this person has left the organisation or is inactive"


@pytest.mark.parametrize("action", list(Action))
def test_a_person_unknown_to_the_directory_can_do_nothing(action: Action) -> None:
    result = decision(action, person=None, membership=a_membership(MembershipStatus.ACTIVE, *Role))

    assert not result
    assert result.reason == "this person is unknown to the identity directory"


def test_a_closed_community_is_still_read_and_stewarded_but_takes_no_contribution() -> None:
    closed = a_community(stage=LifecycleStage.CLOSED)
    facilitator = a_membership(MembershipStatus.ACTIVE, Role.FACILITATOR)

    assert decision(Action.READ, community=closed, membership=facilitator)
    assert decision(Action.AMEND_CHARTER, community=closed, membership=facilitator)
    refused = decision(Action.CONTRIBUTE, community=closed, membership=facilitator)
    assert (bool(refused), refused.reason) == (False, "the community is closed")


def test_the_author_may_withdraw_and_accept_but_only_while_a_member() -> None:
    assert decision(Action.WITHDRAW_CONTRIBUTION, membership=a_membership(), owner_id="pat")
    assert decision(Action.ACCEPT_ANSWER, membership=a_membership(), owner_id="pat")
    left = a_membership(MembershipStatus.LEFT)
    assert not decision(Action.ACCEPT_ANSWER, membership=left, owner_id="pat")


def test_every_refusal_says_why() -> None:
    refusals = [
        decision(action, community=a_community(visibility), membership=membership, owner_id="someone-else")
        for action in Action
        for visibility in Visibility
        for membership in (None, a_membership(), a_membership(MembershipStatus.LEFT))
    ]
    refusals = [d for d in refusals if not d]

    assert refusals
    assert all(d.reason and d.reason != "not allowed" for d in refusals)


def test_a_refusal_raises_an_error_that_carries_its_context() -> None:
    refused = decision(Action.AMEND_CHARTER, membership=a_membership())

    with pytest.raises(PermissionDeniedError) as caught:
        refused.require()

    error = caught.value
    assert (error.action, error.actor, error.community_id) == ("amend_charter", "pat", "c")
    assert error.reason in str(error)


# -- through the engine -----------------------------------------------------------------------


def test_outsiders_can_neither_read_nor_post_in_a_private_community_through_the_engine(
    engine: Engine, private: Community
) -> None:
    engine.invite("ana", private.id, "ben")
    engine.join("ben", private.id)
    question = engine.ask("ben", private.id, title="Budget?", body="How do you plan it?")
    before = event_types(engine)

    # To an outsider the private community and what it holds are unknown ids, and no error
    # names what they may not see (the question's error does not name its community).
    with pytest.raises(NotFoundError) as caught:
        engine.question("chloe", question.id)
    assert (caught.value.kind, caught.value.id) == ("question", question.id)
    assert private.id not in str(caught.value)
    with pytest.raises(NotFoundError):
        engine.community("chloe", private.id)
    with pytest.raises(NotFoundError) as caught:
        engine.answer("chloe", question.id, body="Let me in")
    assert private.id not in str(caught.value)
    with pytest.raises(NotFoundError):
        engine.ask("chloe", private.id, title="Hi", body="Me too")
    assert engine.unanswered_questions("ana", private.id)[0].id == question.id
    assert event_types(engine) == before


def test_a_removed_member_loses_every_right_at_once_through_the_engine(engine: Engine, community: Community) -> None:
    engine.join("ben", community.id)
    engine.assign_role("ana", community.id, "ben", Role.FACILITATOR)
    question = engine.ask("ben", community.id, title="Mine", body="My question")
    answer = engine.answer("ana", question.id, body="An answer")
    engine.remove("ana", community.id, "ben", reason="Left the team")

    attempts = [
        lambda: engine.community("ben", community.id),
        lambda: engine.question("ben", question.id),
        lambda: engine.ask("ben", community.id, title="Again", body="Hello"),
        lambda: engine.accept("ben", answer.id),
        lambda: engine.withdraw("ben", "question", question.id),
        lambda: engine.assign_role("ben", community.id, "ana", Role.COACH),
        lambda: engine.join("ben", community.id),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDeniedError, match="removed"):
            attempt()


def test_a_person_who_left_the_organisation_can_do_nothing_through_the_engine(
    engine: Engine, community: Community
) -> None:
    with pytest.raises(PermissionDeniedError, match="left the organisation"):
        engine.join("olga", community.id)
    with pytest.raises(PermissionDeniedError, match="left the organisation"):
        engine.community("olga", community.id)
    with pytest.raises(PermissionDeniedError, match="unknown to the identity directory"):
        engine.join("stranger", community.id)
