"""The charter: versioned amendments that keep who, when and why, and the rules it sets on
contributions (collaboration modes, roles, give before you receive)."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from coplib import (
    Admission,
    Charter,
    CharterRule,
    CharterViolationError,
    CollaborationMode,
    Community,
    Engine,
    InvalidInputError,
    LifecycleStage,
    ManualClock,
    MembershipPolicy,
    PermissionDeniedError,
    Role,
)
from coplib.domain.community import ALL_MODES, ALL_ROLES
from tests.unit.support import START, event_types


def test_an_amendment_records_a_new_version_with_who_when_and_why(
    engine: Engine, community: Community, clock: ManualClock
) -> None:
    clock.advance(timedelta(days=2))
    new = attrs.evolve(community.charter, rules=frozenset({CharterRule.SINGLE_VENUE}))

    version = engine.amend_charter("ana", community.id, new, reason="No more mailing lists")

    assert (version.number, version.amended_by, version.amended_at) == (1, "ana", START + timedelta(days=2))
    assert version.reason == "No more mailing lists"
    assert version.charter == new
    current = engine.community("ben", community.id)
    assert (current.charter, current.charter_version) == (new, 1)


def test_earlier_charter_versions_stay_readable_in_order(engine: Engine, community: Community) -> None:
    first = community.charter
    second = attrs.evolve(first, vocation="Welders and brazers help each other")
    third = attrs.evolve(second, common_culture="Give before you receive")
    engine.amend_charter("ana", community.id, second, reason="Brazers joined")
    engine.amend_charter("ana", community.id, third, reason="Culture")

    history = engine.charter_history("ben", community.id)

    assert [v.number for v in history] == [0, 1, 2]
    assert [v.charter for v in history] == [first, second, third]
    assert history[0].reason == "community created"


def test_a_member_cannot_amend_the_charter(engine: Engine, community: Community) -> None:
    engine.join("ben", community.id)

    with pytest.raises(PermissionDeniedError) as caught:
        engine.amend_charter("ben", community.id, community.charter, reason="I know better")

    assert "facilitator or sponsor" in caught.value.reason
    assert engine.community("ben", community.id).charter_version == 0


def test_the_sponsor_amends_the_charter(engine: Engine, community: Community) -> None:
    engine.join("eve", community.id)
    engine.assign_role("ana", community.id, "eve", Role.SPONSOR)

    version = engine.amend_charter("eve", community.id, attrs.evolve(community.charter, vocation="New"), reason="Why")

    assert version.amended_by == "eve"


def test_an_amendment_needs_a_reason(engine: Engine, community: Community) -> None:
    with pytest.raises(InvalidInputError) as caught:
        engine.amend_charter("ana", community.id, community.charter, reason="  ")

    assert [e.path for e in caught.value.errors] == ["$.reason"]


def test_a_role_still_held_cannot_be_removed_from_the_charter(engine: Engine, community: Community) -> None:
    engine.join("ben", community.id)
    engine.assign_role("ana", community.id, "ben", Role.EXPERT, tags=["tig"])
    without_experts = attrs.evolve(community.charter, roles=ALL_ROLES - {Role.EXPERT})

    with pytest.raises(CharterViolationError) as caught:
        engine.amend_charter("ana", community.id, without_experts, reason="No experts")
    assert caught.value.rule == "roles"

    engine.withdraw_role("ana", community.id, "ben", Role.EXPERT)
    assert engine.amend_charter("ana", community.id, without_experts, reason="No experts").number == 1


def test_a_role_the_charter_does_not_use_cannot_be_assigned(engine: Engine, community: Community) -> None:
    engine.amend_charter(
        "ana", community.id, attrs.evolve(community.charter, roles={Role.FACILITATOR, Role.MEMBER}), reason="Lean"
    )
    engine.join("ben", community.id)

    with pytest.raises(CharterViolationError, match="does not use the role coach"):
        engine.assign_role("ana", community.id, "ben", Role.COACH)


def test_a_charter_keeps_the_facilitator_and_member_roles() -> None:
    with pytest.raises(InvalidInputError) as caught:
        Charter(vocation="Leaderless", roles={Role.MEMBER})

    assert caught.value.errors[0].path == "$.roles"


def test_admission_by_rule_needs_a_rule_and_only_then() -> None:
    with pytest.raises(InvalidInputError, match="needs an attribute rule"):
        MembershipPolicy(Admission.RULE)
    from coplib import AttributeRule

    with pytest.raises(InvalidInputError, match="needs admission 'rule'"):
        MembershipPolicy(Admission.OPEN, AttributeRule.of(job="welder"))


def test_a_private_community_cannot_be_amended_into_admitting_everyone(engine: Engine, private: Community) -> None:
    open_to_all = attrs.evolve(private.charter, membership_policy=MembershipPolicy(Admission.OPEN))

    with pytest.raises(InvalidInputError) as caught:
        engine.amend_charter("ana", private.id, open_to_all, reason="Open up")

    assert caught.value.errors[0].path == "$.charter.membership_policy.admission"


def test_the_charter_of_a_closed_community_can_still_be_amended(engine: Engine, community: Community) -> None:
    engine.change_stage("ana", community.id, LifecycleStage.CLOSED)

    version = engine.amend_charter(
        "ana", community.id, attrs.evolve(community.charter, vocation="Archive"), reason="Closed"
    )

    assert version.number == 1


@pytest.mark.parametrize(
    ("mode", "contribute"),
    [
        (CollaborationMode.QUESTIONS, lambda e, c: e.ask("ana", c, title="Q", body="B")),
        (CollaborationMode.SHARED_REPERTOIRE, lambda e, c: e.share_resource("ana", c, title="T", location="https://x")),
        (CollaborationMode.EXPERIENCES, lambda e, c: e.record_experience("ana", c, title="T", body="B")),
        (
            CollaborationMode.MEETINGS,
            lambda e, c: e.schedule_meeting("ana", c, title="T", starts_at=START, ends_at=START + timedelta(hours=1)),
        ),
    ],
)
def test_a_contribution_needs_its_collaboration_mode_in_the_charter(
    engine: Engine, community: Community, mode: CollaborationMode, contribute: object
) -> None:
    engine.amend_charter(
        "ana", community.id, attrs.evolve(community.charter, collaboration_modes=ALL_MODES - {mode}), reason="Focus"
    )
    before = event_types(engine)

    with pytest.raises(CharterViolationError) as caught:
        contribute(engine, community.id)  # type: ignore[operator]

    assert caught.value.rule == mode.value
    assert event_types(engine) == before


def test_give_before_receive_lets_a_newcomer_ask_once_then_asks_them_to_give(
    engine: Engine, community: Community
) -> None:
    engine.amend_charter(
        "ana",
        community.id,
        attrs.evolve(community.charter, rules={CharterRule.GIVE_BEFORE_RECEIVE}),
        reason="Reciprocity",
    )
    engine.join("dev", community.id)
    first = engine.ask("dev", community.id, title="First question", body="Allowed")

    with pytest.raises(CharterViolationError) as caught:
        engine.ask("dev", community.id, title="Second question", body="Not yet")

    assert caught.value.rule == "give_before_receive"
    assert "answer a question or share a resource" in str(caught.value)
    engine.answer("dev", first.id, body="I found it myself")
    assert engine.ask("dev", community.id, title="Second question", body="Now allowed").author_id == "dev"


GIVINGS = {
    "an answer": lambda engine, cid, question: engine.answer("dev", question, body="Try a lower current"),
    "a resource": lambda engine, cid, question: engine.share_resource(
        "dev", cid, title="Welding chart", location="https://example.org/chart"
    ),
    "an experience": lambda engine, cid, question: engine.record_experience(
        "dev", cid, title="What I learnt", body="Preheat thick pieces"
    ),
}


@pytest.mark.parametrize("giving", sorted(GIVINGS))
def test_each_kind_of_giving_unlocks_the_next_question_under_give_before_receive(
    engine: Engine, community: Community, giving: str
) -> None:
    engine.amend_charter(
        "ana",
        community.id,
        attrs.evolve(community.charter, rules={CharterRule.GIVE_BEFORE_RECEIVE}),
        reason="Reciprocity",
    )
    engine.join("dev", community.id)
    first = engine.ask("dev", community.id, title="First question", body="Allowed")
    with pytest.raises(CharterViolationError):
        engine.ask("dev", community.id, title="Second question", body="Not yet")

    GIVINGS[giving](engine, community.id, first.id)

    assert engine.ask("dev", community.id, title="Second question", body="Now allowed").author_id == "dev"
    with pytest.raises(CharterViolationError):  # one giving unlocks one question, not more
        engine.ask("dev", community.id, title="Third question", body="Not yet")
