"""The shared repertoire and the rest of the community's life: resources, experiences,
meetings and attendance, comments, endorsements, and withdrawing a contribution."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coplib import (
    Community,
    ConflictError,
    ContributionKind,
    Engine,
    ExperienceKind,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ResourceKind,
    Role,
)
from tests.unit.support import START, event_types, last_own_event

LATER = START + timedelta(days=7)


@pytest.fixture
def members(engine: Engine, community: Community) -> Community:
    for person in ("ben", "chloe", "dev"):
        engine.join(person, community.id)
    return community


# -- resources and experiences ------------------------------------------------------------------


def test_a_member_shares_a_document_in_the_repertoire(engine: Engine, members: Community) -> None:
    resource = engine.share_resource(
        "ben",
        members.id,
        title="Welding procedure",
        location="https://intranet/wps-12.pdf",
        kind="document",
        description="Qualified for 6 mm plates",
        tags=["WPS"],
    )

    assert (resource.kind, resource.tags, resource.author_id) == (ResourceKind.DOCUMENT, {"wps"}, "ben")
    assert engine.contributions_of("dev", "ben", kinds=["resource"]) == [resource]


def test_a_resource_is_a_link_unless_said_otherwise(engine: Engine, members: Community) -> None:
    resource = engine.share_resource("ben", members.id, title="Forum", location="https://forum")

    assert resource.kind is ResourceKind.LINK
    assert resource.description == ""


def test_a_resource_of_an_unknown_kind_is_refused(engine: Engine, members: Community) -> None:
    with pytest.raises(InvalidInputError) as caught:
        engine.share_resource("ben", members.id, title="Video", location="https://v", kind="video")

    assert [e.path for e in caught.value.errors] == ["$.kind"]
    assert "document, link" in str(caught.value)


@pytest.mark.parametrize("kind", list(ExperienceKind))
def test_a_member_records_a_lesson_learned_or_a_case(engine: Engine, members: Community, kind: ExperienceKind) -> None:
    experience = engine.record_experience(
        "chloe", members.id, title="Preheating saved the part", body="We preheated to 200 C", kind=kind
    )

    assert (experience.kind, experience.author_id) == (kind, "chloe")
    assert last_own_event(engine).TYPE == "experience_recorded"


# -- meetings and attendance ------------------------------------------------------------------


def test_a_facilitator_schedules_a_meeting(engine: Engine, members: Community) -> None:
    meeting = engine.schedule_meeting(
        "ana", members.id, title="Monthly call", starts_at=LATER, ends_at=LATER + timedelta(hours=1), location="Room 4"
    )

    assert (meeting.starts_at, meeting.ends_at, meeting.attendees) == (LATER, LATER + timedelta(hours=1), frozenset())


def test_a_plain_member_cannot_schedule_a_meeting(engine: Engine, members: Community) -> None:
    with pytest.raises(PermissionDeniedError, match="needs the role"):
        engine.schedule_meeting("ben", members.id, title="My call", starts_at=LATER, ends_at=LATER)


@pytest.mark.parametrize("role", [Role.COACH, Role.CORE_GROUP, Role.COORDINATOR])
def test_organising_roles_schedule_meetings(engine: Engine, members: Community, role: Role) -> None:
    engine.assign_role("ana", members.id, "ben", role)

    assert engine.schedule_meeting("ben", members.id, title="Call", starts_at=LATER, ends_at=LATER).author_id == "ben"


def test_a_meeting_cannot_end_before_it_starts(engine: Engine, members: Community) -> None:
    with pytest.raises(InvalidInputError) as caught:
        engine.schedule_meeting("ana", members.id, title="Call", starts_at=LATER, ends_at=LATER - timedelta(minutes=1))

    assert [e.path for e in caught.value.errors] == ["$.ends_at"]


def test_attendance_replaces_the_earlier_list(engine: Engine, members: Community) -> None:
    meeting = engine.schedule_meeting("ana", members.id, title="Call", starts_at=LATER, ends_at=LATER)
    engine.record_attendance("ana", meeting.id, ["ben", "chloe"])

    updated = engine.record_attendance("ana", meeting.id, ["ben", "dev"])

    assert updated.attendees == {"ben", "dev"}


def test_the_same_attendance_twice_records_nothing(engine: Engine, members: Community) -> None:
    meeting = engine.schedule_meeting("ana", members.id, title="Call", starts_at=LATER, ends_at=LATER)
    engine.record_attendance("ana", meeting.id, ["ben"])
    before = event_types(engine)

    engine.record_attendance("ana", meeting.id, ["ben"])

    assert event_types(engine) == before


def test_attendees_must_be_active_members(engine: Engine, members: Community) -> None:
    meeting = engine.schedule_meeting("ana", members.id, title="Call", starts_at=LATER, ends_at=LATER)

    with pytest.raises(InvalidInputError) as caught:
        engine.record_attendance("ana", meeting.id, ["ben", "eve"])

    assert caught.value.errors[0].path == "$.attendees"
    assert "eve" in caught.value.errors[0].message


def test_the_organiser_records_attendance_and_a_plain_member_cannot(engine: Engine, members: Community) -> None:
    engine.assign_role("ana", members.id, "ben", Role.COACH)
    meeting = engine.schedule_meeting("ben", members.id, title="Call", starts_at=LATER, ends_at=LATER)

    engine.record_attendance("ben", meeting.id, ["chloe"])
    with pytest.raises(PermissionDeniedError):
        engine.record_attendance("chloe", meeting.id, ["chloe", "dev"])


def test_attendance_of_a_withdrawn_meeting_is_a_conflict(engine: Engine, members: Community) -> None:
    meeting = engine.schedule_meeting("ana", members.id, title="Call", starts_at=LATER, ends_at=LATER)
    engine.withdraw("ana", "meeting", meeting.id, reason="Cancelled")

    with pytest.raises(ConflictError, match="withdrawn"):
        engine.record_attendance("ana", meeting.id, ["ben"])


# -- comments ---------------------------------------------------------------------------------


def test_members_comment_on_every_kind_of_contribution_that_takes_comments(engine: Engine, members: Community) -> None:
    question = engine.ask("dev", members.id, title="Q", body="B")
    meeting = engine.schedule_meeting("ana", members.id, title="M", starts_at=LATER, ends_at=LATER)
    targets = {
        ContributionKind.QUESTION: question.id,
        ContributionKind.ANSWER: engine.answer("ben", question.id, body="A").id,
        ContributionKind.RESOURCE: engine.share_resource("ben", members.id, title="R", location="https://r").id,
        ContributionKind.EXPERIENCE: engine.record_experience("ben", members.id, title="E", body="B").id,
        ContributionKind.MEETING: meeting.id,
    }

    for kind, target_id in targets.items():
        comment = engine.comment("chloe", kind, target_id, body=f"About this {kind.value}")
        assert (comment.target_kind, comment.target_id, comment.author_id) == (kind, target_id, "chloe")


def test_a_comment_on_a_comment_is_refused(engine: Engine, members: Community) -> None:
    question = engine.ask("dev", members.id, title="Q", body="B")
    comment = engine.comment("ben", "question", question.id, body="First")

    with pytest.raises(InvalidInputError) as caught:
        engine.comment("chloe", "comment", comment.id, body="Second")

    assert caught.value.errors[0].path == "$.target_kind"


def test_a_comment_on_an_unknown_contribution_is_not_found(engine: Engine, members: Community) -> None:
    with pytest.raises(NotFoundError) as caught:
        engine.comment("ben", "resource", "missing", body="Hello")

    assert (caught.value.kind, caught.value.id) == ("resource", "missing")


def test_an_outsider_cannot_comment(engine: Engine, members: Community) -> None:
    question = engine.ask("dev", members.id, title="Q", body="B")

    with pytest.raises(PermissionDeniedError):
        engine.comment("eve", "question", question.id, body="Drive-by")


# -- endorsements -----------------------------------------------------------------------------


def test_a_member_endorses_someone_elses_answer_once(engine: Engine, members: Community) -> None:
    question = engine.ask("dev", members.id, title="Q", body="B")
    answer = engine.answer("ben", question.id, body="A")

    endorsement = engine.endorse("chloe", "answer", answer.id)

    assert (endorsement.target_author_id, endorsement.author_id) == ("ben", "chloe")
    with pytest.raises(ConflictError, match="already endorsed"):
        engine.endorse("chloe", "answer", answer.id)


def test_nobody_endorses_their_own_contribution(engine: Engine, members: Community) -> None:
    resource = engine.share_resource("ben", members.id, title="R", location="https://r")

    with pytest.raises(PermissionDeniedError) as caught:
        engine.endorse("ben", "resource", resource.id)

    assert caught.value.reason == "nobody endorses their own contribution"


def test_meetings_and_comments_are_not_endorsed(engine: Engine, members: Community) -> None:
    meeting = engine.schedule_meeting("ana", members.id, title="M", starts_at=LATER, ends_at=LATER)

    with pytest.raises(InvalidInputError, match="must be one of answer, experience, question, resource"):
        engine.endorse("ben", "meeting", meeting.id)


def test_an_endorsement_cannot_be_withdrawn(engine: Engine, members: Community) -> None:
    resource = engine.share_resource("ben", members.id, title="R", location="https://r")
    endorsement = engine.endorse("chloe", "resource", resource.id)

    with pytest.raises(InvalidInputError):
        engine.withdraw("chloe", "endorsement", endorsement.id)


# -- withdrawals ------------------------------------------------------------------------------


def test_the_author_withdraws_their_contribution_with_a_reason(engine: Engine, members: Community) -> None:
    experience = engine.record_experience("ben", members.id, title="E", body="B")

    withdrawn = engine.withdraw("ben", "experience", experience.id, reason="Outdated")

    assert withdrawn.withdrawn  # type: ignore[union-attr]
    last = last_own_event(engine)
    assert (last.TYPE, getattr(last, "reason", None), getattr(last, "author_id", None)) == (
        "contribution_withdrawn",
        "Outdated",
        "ben",
    )


@pytest.mark.parametrize("role", [Role.FACILITATOR, Role.DOCUMENTALIST])
def test_moderators_withdraw_what_others_wrote(engine: Engine, members: Community, role: Role) -> None:
    resource = engine.share_resource("ben", members.id, title="R", location="https://r")
    if role is not Role.FACILITATOR:
        engine.assign_role("ana", members.id, "chloe", role)
    moderator = "ana" if role is Role.FACILITATOR else "chloe"

    assert engine.withdraw(moderator, "resource", resource.id).withdrawn  # type: ignore[union-attr]


def test_another_member_cannot_withdraw_a_contribution(engine: Engine, members: Community) -> None:
    resource = engine.share_resource("ben", members.id, title="R", location="https://r")

    with pytest.raises(PermissionDeniedError) as caught:
        engine.withdraw("chloe", "resource", resource.id)

    assert caught.value.reason == "needs the role documentalist or facilitator (or be its author)"


def test_withdrawing_twice_is_a_conflict(engine: Engine, members: Community) -> None:
    resource = engine.share_resource("ben", members.id, title="R", location="https://r")
    engine.withdraw("ben", "resource", resource.id)

    with pytest.raises(ConflictError, match="withdrawn"):
        engine.withdraw("ben", "resource", resource.id)


def test_a_withdrawn_contribution_takes_no_more_comments_or_endorsements(engine: Engine, members: Community) -> None:
    resource = engine.share_resource("ben", members.id, title="R", location="https://r")
    engine.withdraw("ben", "resource", resource.id)

    with pytest.raises(ConflictError):
        engine.comment("chloe", "resource", resource.id, body="Where did it go?")
    with pytest.raises(ConflictError):
        engine.endorse("chloe", "resource", resource.id)
