"""The conformance kit for notification adapters (plugins implementing ``coplib_deliver``).

Subclass `NotifierContract` in a test module and override three fixtures:

- `notifier`: your plugin object, ready to deliver (its server, if any, running);
- `channel`: the channel it answers (``"email"``, ``"chat"``...);
- `arrivals`: a zero-argument callable returning what has arrived so far at the receiving
  end, as `Arrival` values, oldest first (read it back from your test server, mailbox,
  log handler...).

Optionally override `outage`: a context manager factory during which your channel cannot
deliver (the server stopped, answering 503...). Without one, the failure tests check the
weaker promise that delivery works. A catch-all notifier (one that takes every channel, as
the built-in recording one does) overrides `takes_every_channel` with True. Example::

    class TestChatNotifier(NotifierContract):
        @pytest.fixture
        def notifier(self, chat_server):
            return ChatNotifier(chat_server.url)

        @pytest.fixture
        def channel(self):
            return "chat"

        @pytest.fixture
        def arrivals(self, chat_server):
            return lambda: [Arrival(p["dedup_key"], p["title"], p["text"]) for p in chat_server.posts]
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from coplib.bootstrap.plugins import make_plugin_manager
from coplib.domain.clock import ManualClock
from coplib.domain.errors import DeliveryError
from coplib.domain.people import Person
from coplib.notification.messages import DIGEST_TOPIC, render
from coplib.ports.storage import OutboxMessage

__all__ = ["Arrival", "NotifierContract", "sample_message"]

ALICE = Person("alice", "Alice Martin", email="alice@example.org", locale="fr")
BRUNO = Person("bruno", "Bruno Keller", email="bruno@example.org", locale="en")
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@attrs.frozen
class Arrival:
    """One message as the receiving end got it.

    :param message_id: the idempotency key the receiver saw (the ``Message-ID``'s left part,
        an ``Idempotency-Key`` header, a log record's ``coplib_message_id``...).
    :param subject: the subject or title, as received.
    :param text: the rest of what a person reads (the body), as received.
    """

    message_id: str
    subject: str
    text: str


def sample_message(
    number: int = 1,
    *,
    recipient: Person = ALICE,
    topic: str = "answer_posted",
    **params: str,
) -> OutboxMessage:
    """An outbox message as the dispatcher hands it to a notifier (display names in place)."""
    values = {
        "community": "Soudeurs de Lyon",
        "actor": "Bruno Keller",
        "actor_id": "bruno",
        "title": "Quel gaz pour le TIG ?",
    } | params
    return OutboxMessage(
        id=f"c0ffee{number:026x}",
        event_id=f"event-{number}",
        recipient_id=recipient.id,
        topic=topic,
        community_id="welding",
        params=values,
        created_at=NOW,
    )


class NotifierContract:
    """Test methods every notification adapter passes. See the module docstring."""

    # -- fixtures the adapter overrides -----------------------------------------------------------

    @pytest.fixture
    def notifier(self) -> Any:
        """Override: the notifier plugin object."""
        raise NotImplementedError("a NotifierContract subclass must override the notifier fixture")

    @pytest.fixture
    def channel(self) -> str:
        """Override: the channel the notifier answers."""
        raise NotImplementedError("a NotifierContract subclass must override the channel fixture")

    @pytest.fixture
    def arrivals(self) -> Callable[[], list[Arrival]]:
        """Override: read back what arrived at the receiving end, oldest first."""
        raise NotImplementedError("a NotifierContract subclass must override the arrivals fixture")

    @pytest.fixture
    def outage(self) -> Callable[[], AbstractContextManager[None]] | None:
        """Override when your channel can fail: a context during which it cannot deliver."""
        return None

    @pytest.fixture
    def takes_every_channel(self) -> bool:
        """Override with True for a catch-all notifier (registered ``trylast``)."""
        return False

    # -- helpers ----------------------------------------------------------------------------------

    @staticmethod
    def deliver(notifier: Any, message: OutboxMessage, recipient: Person, channel: str) -> Any:
        """Call the notifier the way the dispatcher does: through a plugin manager holding it
        alone, with coplib's hookspecs (so the hookimpl's signature is checked too)."""
        pm = make_plugin_manager([notifier])
        return pm.hook.coplib_deliver(message=message, recipient=recipient, channel=channel)

    # -- the tests --------------------------------------------------------------------------------

    def test_a_message_on_its_channel_is_delivered_and_arrives_with_its_idempotency_key(
        self, notifier: Any, channel: str, arrivals: Callable[[], list[Arrival]]
    ) -> None:
        message = sample_message()
        assert self.deliver(notifier, message, ALICE, channel) is True
        assert [a.message_id for a in arrivals()] == [message.id]

    def test_a_message_on_another_channel_is_not_this_notifiers_and_nothing_arrives(
        self, notifier: Any, channel: str, arrivals: Callable[[], list[Arrival]], takes_every_channel: bool
    ) -> None:
        message = sample_message()
        other = ("x-not-" + channel)[:50]
        if takes_every_channel:  # the weaker promise: it says so by delivering
            assert self.deliver(notifier, message, ALICE, other) is True
            assert [a.message_id for a in arrivals()] == [message.id]
            return
        assert self.deliver(notifier, message, ALICE, other) is None
        assert arrivals() == []

    def test_a_repeated_message_carries_the_same_idempotency_key_so_a_receiver_can_drop_it(
        self, notifier: Any, channel: str, arrivals: Callable[[], list[Arrival]]
    ) -> None:
        message = sample_message(7)
        self.deliver(notifier, message, BRUNO, channel)
        self.deliver(notifier, message, BRUNO, channel)
        self.deliver(notifier, sample_message(8), BRUNO, channel)
        keys = [a.message_id for a in arrivals()]
        assert keys[:2] == [message.id, message.id]
        assert keys[2] != message.id

    def test_the_text_is_in_the_recipients_language(
        self, notifier: Any, channel: str, arrivals: Callable[[], list[Arrival]]
    ) -> None:
        self.deliver(notifier, sample_message(1, recipient=ALICE), ALICE, channel)
        self.deliver(notifier, sample_message(2, recipient=BRUNO), BRUNO, channel)
        french, english = arrivals()
        params = sample_message().params
        assert french.subject == render("answer_posted", params, "fr").subject
        assert english.subject == render("answer_posted", params, "en").subject

    def test_what_a_member_typed_cannot_break_the_framing(
        self, notifier: Any, channel: str, arrivals: Callable[[], list[Arrival]]
    ) -> None:
        hostile = "Evil\r\nBcc: victim@example.org\n<script>alert(1)</script>"
        message = sample_message(title=hostile, actor=hostile)
        assert self.deliver(notifier, message, ALICE, channel) is True
        (arrived,) = arrivals()
        assert arrived.message_id == message.id
        assert not any(c in arrived.subject for c in "\r\n"), arrived.subject

    def test_a_digest_arrives_with_each_of_its_items(
        self, notifier: Any, channel: str, arrivals: Callable[[], list[Arrival]]
    ) -> None:
        items = "• Bruno Keller answered your question “Argon?”\n• Chloé shared “The TIG guide”"
        digest = attrs.evolve(
            sample_message(3, recipient=BRUNO),
            topic=DIGEST_TOPIC,
            community_id=None,
            params={"items": items, "count": "2", "period": "daily"},
        )
        assert self.deliver(notifier, digest, BRUNO, channel) is True
        (arrived,) = arrivals()
        assert arrived.subject == "Your daily digest (2)"
        assert "Argon?" in arrived.text and "The TIG guide" in arrived.text

    def test_an_outage_raises_a_delivery_error_that_is_not_permanent_and_a_retry_then_delivers(
        self,
        notifier: Any,
        channel: str,
        arrivals: Callable[[], list[Arrival]],
        outage: Callable[[], AbstractContextManager[None]] | None,
    ) -> None:
        message = sample_message(5)
        with outage() if outage is not None else contextlib.nullcontext():
            if outage is not None:
                with pytest.raises(DeliveryError) as caught:
                    self.deliver(notifier, message, ALICE, channel)
                assert not caught.value.permanent, "an outage passes: trying again later can help"
                assert arrivals() == []
        assert self.deliver(notifier, message, ALICE, channel) is True
        assert [a.message_id for a in arrivals()] == [message.id]

    def test_a_dispatch_through_an_engine_delivers_the_outbox_on_this_channel(
        self, notifier: Any, channel: str, arrivals: Callable[[], list[Arrival]]
    ) -> None:
        from coplib.bootstrap.open import open_engine
        from coplib.domain.permissions import SYSTEM
        from coplib.notification.dispatcher import DeliveryPolicy

        engine = open_engine(
            "memory://",
            people=[ALICE, BRUNO],
            plugins=[notifier],
            block=["coplib.notifier.recording"],
            clock=ManualClock(NOW),
        )
        with _closing(engine):
            org = engine.create_organisation(SYSTEM, "Acme")
            community = engine.create_community("alice", org.id, name="Soudeurs", vocation="Souder mieux")
            engine.join("bruno", community.id)
            question = engine.ask("alice", community.id, title="Argon ?", body="Pur ou mélange ?")
            engine.answer("bruno", question.id, body="Pur.")
            (entry,) = [e for e in engine.outbox(SYSTEM) if e.message.topic == "answer_posted"]
            report = engine.dispatch(policy=DeliveryPolicy(default_channel=channel))
            assert (report.dead, report.retried) == (0, 0)
            assert report.delivered == len(engine.outbox(SYSTEM)), "every message was delivered"
        (arrived,) = [a for a in arrivals() if a.message_id == entry.message.id]
        assert "Bruno Keller" in arrived.text, "the actor's id is shown as their display name"


@contextlib.contextmanager
def _closing(engine: Any) -> Iterator[None]:
    try:
        yield
    finally:
        engine.close()
