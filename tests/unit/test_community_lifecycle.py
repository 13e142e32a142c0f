"""Creating communities in an organisation's portfolio, updating them, moving them through
their lifecycle stages and closing them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coplib import (
    SYSTEM,
    Admission,
    Charter,
    Community,
    CommunityKind,
    ConflictError,
    Engine,
    InvalidInputError,
    LifecycleStage,
    ManualClock,
    MembershipPolicy,
    MembershipStatus,
    NotFoundError,
    Organisation,
    PermissionDeniedError,
    Role,
    Visibility,
)
from coplib.domain.events import CommunityStageChanged
from tests.unit.support import START, event_types


def test_organisation_is_created_with_its_founder_as_first_administrator_and_its_time(engine: Engine) -> None:
    org = engine.create_organisation("eve", "Acme", organisation_id="acme")

    assert (org.id, org.name, org.created_by, org.created_at) == ("acme", "Acme", "eve", START)
    assert org.administrators == {"eve"}
    assert engine.organisation("eve", "acme") == org
    assert event_types(engine) == ["organisation_created", "administrator_appointed"]


def test_organisation_id_cannot_be_taken_twice(engine: Engine, org: Organisation) -> None:
    with pytest.raises(ConflictError, match="exists already"):
        engine.create_organisation("ben", "Other", organisation_id=org.id)


def test_founder_becomes_first_member_and_facilitator(engine: Engine, community: Community) -> None:
    membership = engine.membership("ana", community.id, "ana")

    assert membership is not None
    assert membership.status is MembershipStatus.ACTIVE
    assert membership.roles == {Role.MEMBER, Role.FACILITATOR}
    assert membership.joined_at == START


def test_creating_a_community_records_creation_joining_and_role_in_one_commit(
    engine: Engine, org: Organisation
) -> None:
    before = len(engine.store.events())
    engine.create_community("ana", org.id, name="Welding", vocation="Welders help each other")

    recorded = engine.store.events(after=before)
    assert [r.event.TYPE for r in recorded] == ["community_created", "member_joined", "role_assigned"]
    assert [r.position for r in recorded] == [before + 1, before + 2, before + 3]


def test_a_community_created_by_the_system_has_no_founding_member(engine: Engine, org: Organisation) -> None:
    community = engine.create_community(SYSTEM, org.id, name="Imported", vocation="Came from the old intranet")

    assert engine.members(SYSTEM, community.id) == []
    assert community.created_by == SYSTEM


def test_community_keeps_kind_visibility_stage_and_normalised_themes(engine: Engine, org: Organisation) -> None:
    community = engine.create_community(
        "ana",
        org.id,
        name="Car park",
        vocation="Share the car park",
        kind="service",
        visibility="restricted",
        stage=LifecycleStage.COALESCING,
        tags=[" Parking ", "MOBILITY"],
    )

    assert community.kind is CommunityKind.SERVICE
    assert community.visibility is Visibility.RESTRICTED
    assert community.stage is LifecycleStage.COALESCING
    assert community.tags == {"parking", "mobility"}
    assert community.vocation == "Share the car park"
    assert community.charter_version == 0


def test_a_community_needs_a_vocation_or_a_charter(engine: Engine, org: Organisation) -> None:
    with pytest.raises(InvalidInputError) as caught:
        engine.create_community("ana", org.id, name="Nameless purpose")

    assert [e.path for e in caught.value.errors] == ["$.vocation"]


def test_a_community_in_an_unknown_organisation_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFoundError) as caught:
        engine.create_community("ana", "nowhere", name="Welding", vocation="Weld")

    assert (caught.value.kind, caught.value.id) == ("organisation", "nowhere")


def test_community_id_cannot_be_taken_twice(engine: Engine, community: Community) -> None:
    with pytest.raises(ConflictError, match="exists already"):
        engine.create_community("ben", community.organisation_id, name="Other", vocation="x", community_id=community.id)


def test_a_private_community_cannot_admit_everyone(engine: Engine, org: Organisation) -> None:
    charter = Charter(vocation="Secret", membership_policy=MembershipPolicy(Admission.OPEN))

    with pytest.raises(InvalidInputError) as caught:
        engine.create_community("ana", org.id, name="Secret", charter=charter, visibility=Visibility.PRIVATE)

    assert [e.path for e in caught.value.errors] == ["$.charter.membership_policy.admission"]


def test_a_person_who_left_the_organisation_cannot_create_a_community(engine: Engine, org: Organisation) -> None:
    with pytest.raises(PermissionDeniedError, match="left the organisation"):
        engine.create_community("olga", org.id, name="Ghosts", vocation="Haunt")


def test_facilitator_renames_a_community_and_changes_its_themes(engine: Engine, community: Community) -> None:
    updated = engine.update_community("ana", community.id, name="Welding and brazing", tags=["welding", "brazing"])

    assert (updated.name, updated.tags) == ("Welding and brazing", {"welding", "brazing"})
    assert engine.community("ben", community.id) == updated
    assert event_types(engine)[-1] == "community_updated"


def test_an_update_that_changes_nothing_records_no_event(engine: Engine, community: Community) -> None:
    before = event_types(engine)

    same = engine.update_community("ana", community.id, name=community.name, tags=community.tags)

    assert same == community
    assert event_types(engine) == before


def test_a_member_cannot_update_the_community(engine: Engine, community: Community) -> None:
    engine.join("ben", community.id)

    with pytest.raises(PermissionDeniedError, match="facilitator or sponsor"):
        engine.update_community("ben", community.id, name="Mine now")


def test_an_open_community_cannot_turn_private_while_it_admits_everyone(engine: Engine, community: Community) -> None:
    with pytest.raises(InvalidInputError) as caught:
        engine.update_community("ana", community.id, visibility=Visibility.PRIVATE)

    assert caught.value.errors[0].path == "$.charter.membership_policy.admission"
    assert engine.community("ana", community.id).visibility is Visibility.OPEN


def test_stage_change_records_the_previous_stage(engine: Engine, community: Community) -> None:
    engine.change_stage("ana", community.id, "maturing")

    last = engine.store.events()[-1].event
    assert last.TYPE == "community_stage_changed"
    assert isinstance(last, CommunityStageChanged)
    assert (last.stage, last.previous) == (LifecycleStage.MATURING, LifecycleStage.POTENTIAL)


def test_moving_to_the_current_stage_records_nothing(engine: Engine, community: Community) -> None:
    before = event_types(engine)

    engine.change_stage("ana", community.id, community.stage)

    assert event_types(engine) == before


def test_closing_a_community_freezes_contributions_but_keeps_it_readable(
    engine: Engine, community: Community, clock: ManualClock
) -> None:
    engine.join("ben", community.id)
    question = engine.ask("ben", community.id, title="Which rod?", body="For cast iron")
    engine.change_stage("ana", community.id, LifecycleStage.CLOSED)
    clock.advance(timedelta(days=1))

    with pytest.raises(PermissionDeniedError, match="closed"):
        engine.ask("ben", community.id, title="Still there?", body="Hello?")
    with pytest.raises(PermissionDeniedError, match="closed"):
        engine.answer("ana", question.id, body="Nickel rods")
    assert engine.question("ben", question.id).question == question
    assert engine.community("ben", community.id).closed


def test_the_portfolio_shows_each_viewer_the_communities_they_may_see(
    engine: Engine, community: Community, private: Community, restricted: Community
) -> None:
    names_for_ben = [c.name for c in engine.portfolio("ben", "acme")]
    names_for_ana = [c.name for c in engine.portfolio("ana", "acme")]

    assert names_for_ben == ["Safety", "Welding"]
    assert names_for_ana == ["Plant managers", "Safety", "Welding"]
    # Someone who left the organisation is refused its portfolio, as every other read.
    with pytest.raises(PermissionDeniedError, match="left the organisation"):
        engine.portfolio("olga", "acme")
