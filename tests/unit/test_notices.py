"""Notices: messages composed into the outbox in the same commit as the change that caused
them, delivered only by `engine.dispatch()`, in the recipient's language.

The built-in policies (answer guarantee, recognition, badges...) add messages of their own:
they are blocked here, so that the notices are followed alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

import coplib
from coplib import Community, Engine, ManualClock, MessageDraft, RecordingNotifier, Role, hookimpl
from coplib.bootstrap.open import default_plugins
from coplib.domain import events as ev
from coplib.domain.errors import PermissionDeniedError
from tests.unit.support import PEOPLE, START, counting_ids, open_engine

POLICIES = [name for name, _ in default_plugins() if name.startswith("coplib.policy.")]


@pytest.fixture
def engine(clock: ManualClock) -> Iterator[Engine]:
    with open_engine(clock, block=POLICIES) as opened:
        yield opened


def pending_topics(engine: Engine) -> list[tuple[str, str]]:
    return [(m.recipient_id, m.topic) for m in engine.store.pending_messages(limit=1000)]


def test_an_answer_puts_a_notice_for_the_asker_in_the_outbox_in_the_same_commit(
    engine: Engine, community: Community, notifier: RecordingNotifier
) -> None:
    engine.join("ben", community.id)
    question = engine.ask("ana", community.id, title="Soudure TIG ?", body="Quel gaz ?")

    answer = engine.answer("ben", question.id, body="Argon")

    [message] = engine.store.pending_messages()
    answered = engine.store.events()[-1]
    assert (message.recipient_id, message.topic, message.event_id) == ("ana", "answer_posted", answered.event.id)
    assert message.params["title"] == "Soudure TIG ?"
    assert message.created_at == answered.event.occurred_at
    assert answer.id == getattr(answered.event, "answer_id", None)
    assert notifier.deliveries == []


def test_nothing_is_delivered_until_dispatch(engine: Engine, community: Community, notifier: RecordingNotifier) -> None:
    engine.join("ben", community.id)
    question = engine.ask("ana", community.id, title="Q", body="B")
    engine.answer("ben", question.id, body="A")
    assert notifier.deliveries == []

    assert engine.dispatch().delivered == 1

    assert [d.message.recipient_id for d in notifier.deliveries] == ["ana"]
    assert engine.store.pending_messages() == []
    assert engine.dispatch().delivered == 0
    assert len(notifier.deliveries) == 1


def test_notices_are_written_in_french_or_english_by_the_recipients_locale(
    engine: Engine, community: Community, notifier: RecordingNotifier
) -> None:
    engine.join("ben", community.id)
    engine.join("chloe", community.id)
    to_ana = engine.ask("ana", community.id, title="Gaz", body="Lequel ?")  # ana reads French
    to_ben = engine.ask("ben", community.id, title="Gas", body="Which one?")  # ben reads English
    engine.answer("chloe", to_ana.id, body="Argon")
    engine.answer("chloe", to_ben.id, body="Argon")

    engine.dispatch()

    by_recipient = {d.message.recipient_id: d.rendered for d in notifier.deliveries}
    assert by_recipient["ana"].locale == "fr"
    assert by_recipient["ana"].subject == "Nouvelle réponse à « Gaz »"
    # Person ids in a message become display names when it is rendered for delivery.
    assert by_recipient["ana"].body == "Chloé a répondu à votre question « Gaz » dans Welding."
    assert by_recipient["ben"].locale == "en"
    assert by_recipient["ben"].subject == "New answer to “Gas”"


def test_answering_ones_own_question_notifies_nobody(engine: Engine, community: Community) -> None:
    question = engine.ask("ana", community.id, title="Note to self", body="Remember")

    engine.answer("ana", question.id, body="Remembered")

    assert pending_topics(engine) == []


def test_membership_notices_reach_the_people_concerned(engine: Engine, restricted: Community) -> None:
    engine.request_membership("ben", restricted.id)
    assert pending_topics(engine) == [("ana", "membership_requested")]

    engine.approve("ana", restricted.id, "ben")
    engine.invite("ana", restricted.id, "chloe")
    engine.assign_role("ana", restricted.id, "ben", Role.COACH)

    assert sorted(pending_topics(engine)) == [
        ("ana", "membership_requested"),
        ("ben", "membership_approved"),
        ("ben", "role_assigned"),
        ("chloe", "member_invited"),
    ]


def test_the_asker_and_the_answerer_hear_of_an_acceptance(engine: Engine, community: Community) -> None:
    engine.join("ben", community.id)
    engine.join("dev", community.id)
    question = engine.ask("dev", community.id, title="Q", body="B")
    answer = engine.answer("ben", question.id, body="A")

    engine.accept("dev", answer.id)

    # Messages committed together come in no particular order (their ids derive from events').
    assert ("ben", "answer_accepted") in pending_topics(engine)


def test_a_refused_command_leaves_no_message(engine: Engine, community: Community) -> None:
    question = engine.ask("ana", community.id, title="Q", body="B")

    with pytest.raises(PermissionDeniedError):
        engine.answer("ben", question.id, body="Not a member")

    assert pending_topics(engine) == []


class FailingNotifier:
    def __init__(self) -> None:
        self.attempts = 0

    @hookimpl
    def coplib_deliver(self, message: object, recipient: object, channel: str) -> bool:
        self.attempts += 1
        if self.attempts == 1:
            raise ConnectionError("mail server down")
        return True


def test_a_message_whose_delivery_fails_stays_pending_and_is_tried_again() -> None:
    failing = FailingNotifier()
    clock = ManualClock(START)
    engine = coplib.open(
        "memory://", people=PEOPLE, plugins=[failing], clock=clock, id_factory=counting_ids(), block=POLICIES
    )
    org = engine.create_organisation("eve", "Acme")
    community = engine.create_community("ana", org.id, name="Welding", vocation="Weld")
    engine.join("ben", community.id)
    question = engine.ask("ana", community.id, title="Q", body="B")
    engine.answer("ben", question.id, body="A")

    assert engine.dispatch().retried == 1
    (entry,) = engine.store.outbox()
    assert "mail server down" in (entry.last_error or "")
    assert len(engine.store.pending_messages()) == 1
    clock.advance(timedelta(hours=1))  # past the backoff
    assert engine.dispatch().delivered == 1
    assert engine.store.pending_messages() == []


class ExtraNotices:
    """A host policy: tell the facilitators of every new question."""

    @hookimpl
    def coplib_compose_messages(self, event: ev.DomainEvent, store: object) -> list[MessageDraft]:
        if isinstance(event, ev.QuestionAsked):
            return [MessageDraft("ana", "answer_posted", {"title": event.title, "community": "", "actor": ""})]
        return []


def test_a_host_plugin_adds_messages_to_the_same_outbox() -> None:
    engine = coplib.open(
        "memory://",
        people=PEOPLE,
        plugins=[ExtraNotices()],
        clock=ManualClock(START),
        id_factory=counting_ids(),
        block=POLICIES,
    )
    org = engine.create_organisation("eve", "Acme")
    community = engine.create_community("ana", org.id, name="Welding", vocation="Weld")
    engine.join("ben", community.id)

    engine.ask("ben", community.id, title="Q", body="B")

    assert pending_topics(engine) == [("ana", "answer_posted")]
    assert engine.store.pending_messages()[0].event_id == engine.store.events()[-1].event.id
