"""Messages to people who cannot or should not get them are dropped, not sent, with the
reason kept against the message: unknown to the directory, gone from the organisation, gone
from the community (left or removed)."""

from __future__ import annotations

from coplib import SYSTEM, Person
from coplib.ports.storage import DeliveryStatus

from .support import PEOPLE, make_world


def test_a_message_to_someone_who_left_the_organisation_is_dropped_with_the_reason() -> None:
    world = make_world()
    message = world.answered("chloe")
    world.directory.put(Person("chloe", "Chloé Petit", active=False))

    report = world.dispatch()

    assert (report.dropped, report.delivered) == (1, 0)
    entry = world.entry(message.id)
    assert (entry.status, entry.attempts) == (DeliveryStatus.DROPPED, 0)
    assert entry.last_error == "recipient 'chloe' has left the organisation or is inactive"
    assert entry.settled_at == world.clock.now()
    assert world.recorder.deliveries == []


def test_a_message_to_someone_the_directory_does_not_know_is_dropped_with_the_reason() -> None:
    world = make_world()
    message = world.answered("dev")
    world.directory.forget("dev")

    world.dispatch()

    assert world.entry(message.id).last_error == "recipient 'dev' is unknown to the directory"


def test_a_message_to_someone_who_left_the_community_is_dropped_with_the_reason() -> None:
    world = make_world()
    message = world.answered("chloe")
    world.engine.leave("chloe", world.community.id)

    world.dispatch()

    entry = world.entry(message.id)
    assert entry.status is DeliveryStatus.DROPPED
    assert entry.last_error == f"recipient 'chloe' has left the community {world.community.id!r}"


def test_a_message_to_someone_removed_from_the_community_is_dropped_with_the_reason() -> None:
    world = make_world()
    message = world.answered("dev")
    world.engine.remove("ana", world.community.id, "dev", reason="spam")

    world.dispatch()

    assert (
        world.entry(message.id).last_error == f"recipient 'dev' was removed from the community {world.community.id!r}"
    )


def test_dropped_messages_are_listed_and_a_requeued_one_is_decided_again() -> None:
    world = make_world()
    message = world.answered("chloe")
    world.engine.leave("chloe", world.community.id)
    world.dispatch()
    assert [e.message.id for e in world.engine.outbox(SYSTEM, status="dropped")] == [message.id]

    world.engine.join("chloe", world.community.id)  # she came back: the message is worth sending
    assert world.engine.requeue(SYSTEM, [message.id]) == 1
    assert world.dispatch().delivered == 1
    assert [d.message.id for d in world.recorder.to("chloe")] == [message.id]


def test_an_invitation_reaches_someone_who_is_not_a_member_yet() -> None:
    world = make_world(people=[*PEOPLE, Person("eve", "Eve Moreau")])
    world.engine.invite("ana", world.community.id, "eve")

    assert world.dispatch().delivered == 1
    (invitation,) = world.recorder.to("eve")
    assert invitation.rendered.subject == "You are invited to Soudeurs de Lyon"
    assert invitation.rendered.body == "Ana Durand invites you to join the community Soudeurs de Lyon."
