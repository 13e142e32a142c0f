"""The read models a UI needs: a community's questions, "my communities", a person's profile,
upcoming meetings, activity feeds; each filtered by what the viewer may read."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coplib import SYSTEM, Engine, InvalidInputError, ManualClock, MembershipStatus, NotFoundError
from coplib.domain.participation import ParticipationLevel


def test_questions_newest_first_unanswered_oldest_first_and_by_tag(engine: Engine, clock: ManualClock) -> None:
    asked = []
    for i, tags in enumerate((["aluminium"], ["steel"], ["aluminium", "steel"])):
        clock.advance(timedelta(minutes=1))
        asked.append(engine.ask("chloe", "welding", title=f"Q{i}", body="B", tags=tags).id)
    engine.answer("ben", asked[1], body="A")

    assert [q.id for q in engine.questions("dev", "welding")] == asked[::-1]
    assert [q.id for q in engine.questions("dev", "welding", order="unanswered")] == [asked[0], asked[2]]
    assert [q.id for q in engine.questions("dev", "welding", tag="steel")] == [asked[2], asked[1]]
    assert [q.id for q in engine.questions("dev", "welding", order="unanswered", tag="Steel")] == [asked[2]]
    with pytest.raises(InvalidInputError) as caught:
        engine.questions("dev", "welding", order="oldest")
    assert [e.path for e in caught.value.errors] == ["$.order"]


def test_my_communities_lists_active_invited_and_pending_memberships_by_name(engine: Engine) -> None:
    engine.invite("ana", "managers", "dev")

    mine = engine.my_communities("dev")

    assert [(m.community.id, m.membership.status) for m in mine] == [
        ("managers", MembershipStatus.INVITED),
        ("welding", MembershipStatus.ACTIVE),
    ]
    engine.leave("dev", "welding")
    assert [m.community.id for m in engine.my_communities("dev")] == ["managers"]
    assert engine.my_communities("eve") == []


def test_a_profile_shows_level_points_badges_contributions_and_benefits_to_whom_may_see_them(
    engine: Engine,
) -> None:
    question = engine.ask("chloe", "welding", title="Which wire?", body="For thin sheet")
    answer = engine.answer("ben", question.id, body="ER4043")
    engine.accept("chloe", answer.id)
    balance = engine.points_balance("ana", "welding", "ben")
    assert balance is not None

    [seen] = engine.profile("dev", "ben").communities
    assert seen.community_id == "welding"
    assert seen.points == balance.points
    assert seen.badges == tuple(engine.badges_of("ana", "welding", "ben"))
    assert seen.level is engine.level_of("ana", "welding", "ben") is not ParticipationLevel.OUTSIDER
    assert (seen.contributions["answer"], seen.contributions["question"]) == (1, 0)
    assert seen.benefits is None  # what ben gave and received: his and the stewards' to read
    [own] = engine.profile("ben", "ben").communities
    assert own.benefits is not None and own.benefits.gave.get("answer_posted") == 1
    assert engine.profile("ana", "ben").communities[0].benefits is not None


def test_a_profile_leaves_out_the_communities_the_viewer_may_not_read(engine: Engine) -> None:
    engine.invite("ana", "managers", "ben")
    engine.join("ben", "managers")

    assert [c.community_id for c in engine.profile("dev", "ben").communities] == ["welding"]
    assert [c.community_id for c in engine.profile("ana", "ben").communities] == ["managers", "welding"]
    with pytest.raises(NotFoundError):
        engine.profile("dev", "ben", community_id="managers")
    with pytest.raises(NotFoundError) as caught:
        engine.profile("eve", "nobody")
    assert (caught.value.kind, caught.value.id) == ("person", "nobody")


def test_upcoming_meetings_are_those_not_ended_soonest_first_of_the_viewers_communities(
    engine: Engine, clock: ManualClock
) -> None:
    now = clock.now()
    later = engine.schedule_meeting(
        "ana", "welding", title="Later", starts_at=now + timedelta(days=9), ends_at=now + timedelta(days=9, hours=1)
    )
    soon = engine.schedule_meeting(
        "ana", "welding", title="Soon", starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=1, hours=1)
    )
    private = engine.schedule_meeting(
        "ana", "managers", title="Board", starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=2, hours=1)
    )

    assert [m.id for m in engine.upcoming_meetings("dev")] == [soon.id, later.id]
    assert [m.id for m in engine.upcoming_meetings("ana")] == [soon.id, private.id, later.id]
    clock.advance(timedelta(days=5))
    assert [m.id for m in engine.upcoming_meetings("ana", community_id="welding")] == [later.id]
    first = engine.upcoming_meetings("ana", limit=1)
    assert [m.id for m in engine.upcoming_meetings("ana", cursor=first.next_cursor)] == [later.id]


def test_the_activity_of_a_community_is_what_people_did_in_log_order(engine: Engine) -> None:
    question = engine.ask("chloe", "welding", title="Which wire?", body="For thin sheet")
    engine.answer("ben", question.id, body="ER4043")

    feed = [r.event.TYPE for r in engine.activity("dev", community_id="welding", limit=1000)]

    people = [t for t in feed if t in ("question_asked", "answer_posted")]
    assert people == ["question_asked", "answer_posted"]
    assert "question_routed" not in feed and "points_awarded" not in feed  # the policies' bookkeeping
    positions = [r.position for r in engine.activity("dev", community_id="welding", limit=1000)]
    assert positions == sorted(positions)


def _walk(engine: Engine, viewer: str, **filters: object) -> list[int]:
    positions: list[int] = []
    cursor = None
    while True:
        page = engine.activity(viewer, newest_first=True, limit=2, cursor=cursor, **filters)  # type: ignore[arg-type]
        positions += [r.position for r in page.items]
        if page.next_cursor is None:
            return positions
        cursor = page.next_cursor


@pytest.mark.parametrize("whose", ["a community", "a person", "a person in a community"])
def test_an_activity_feed_newest_first_walks_the_same_events_backwards_and_resumes_as_new_ones_come(
    engine: Engine, whose: str
) -> None:
    filters = {
        "a community": {"community_id": "welding"},
        "a person": {"person_id": "ben"},
        "a person in a community": {"person_id": "ben", "community_id": "welding"},
    }[whose]
    for n in range(4):
        question = engine.ask("chloe", "welding", title=f"Which wire {n}?", body="For thin sheet")
        engine.answer("ben", question.id, body="ER4043")
        engine.comment("ben", "question", question.id, body="Or ER5356")
    oldest_first = [r.position for r in engine.activity("dev", limit=1000, **filters)]  # type: ignore[arg-type]
    assert len(oldest_first) >= 8

    assert _walk(engine, "dev", **filters) == oldest_first[::-1]
    # A walk that began before new events came goes on where it was: the new ones are at the
    # top, for the next walk; nothing is skipped or repeated.
    first = engine.activity("dev", newest_first=True, limit=3, **filters)  # type: ignore[arg-type]
    engine.answer("ben", engine.ask("chloe", "welding", title="Later?", body="Later").id, body="Yes")
    rest = engine.activity("dev", newest_first=True, limit=1000, cursor=first.next_cursor, **filters)  # type: ignore[arg-type]
    assert [r.position for r in (*first.items, *rest.items)] == oldest_first[::-1]
    with pytest.raises(InvalidInputError, match=r"\$\.cursor"):
        engine.activity("dev", limit=3, cursor=first.next_cursor, **filters)  # type: ignore[arg-type]


def test_the_activity_of_a_person_leaves_out_the_communities_the_viewer_may_not_read(engine: Engine) -> None:
    engine.ask("ana", "managers", title="Budget?", body="For 2027")
    engine.ask("ana", "welding", title="Which gas?", body="For MIG")

    seen_by_dev = {r.event.community_id for r in engine.activity("dev", person_id="ana", limit=1000)}
    seen_by_host = {r.event.community_id for r in engine.activity(SYSTEM, person_id="ana", limit=1000)}

    assert seen_by_dev == {"welding"}
    assert seen_by_host == {"welding", "managers"}
    with pytest.raises(InvalidInputError):
        engine.activity("dev")
