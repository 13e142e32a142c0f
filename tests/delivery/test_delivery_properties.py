"""Whatever the notifier does (succeeds, fails for a while, fails for good, has a bug, or
takes nothing), after enough dispatches with the clock moving on, every message is either
delivered exactly once or dead: never both, never lost, never left pending."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from coplib import SYSTEM, Person, hookimpl
from coplib.domain.errors import DeliveryError
from coplib.notification.messages import DIGEST_TOPIC
from coplib.ports.storage import DeliveryStatus, OutboxMessage

from .support import POLICY, make_world

BEHAVIOURS = ("ok", "outage", "permanent", "bug", "not-mine")


class Capricious:
    """Does what the script says, call after call; when the script runs out, `then`."""

    def __init__(self, script: list[str], then: str) -> None:
        self.script = list(script)
        self.then = then
        self.received: Counter[str] = Counter()

    @hookimpl
    def coplib_deliver(self, message: OutboxMessage, recipient: Person, channel: str) -> bool | None:
        behaviour = self.script.pop(0) if self.script else self.then
        if behaviour == "outage":
            raise DeliveryError("connection reset", channel=channel)
        if behaviour == "permanent":
            raise DeliveryError("550 mailbox unknown", channel=channel, permanent=True)
        if behaviour == "bug":
            raise KeyError("a bug in the notifier")
        if behaviour == "not-mine":
            return None
        ids = message.params["message_ids"].split() if message.topic == DIGEST_TOPIC else [message.id]
        self.received.update(ids)
        return True


@given(
    script=st.lists(st.sampled_from(BEHAVIOURS), max_size=40),
    then=st.sampled_from(("ok", "outage")),
    askers=st.lists(st.sampled_from(("ana", "chloe", "dev")), min_size=1, max_size=8),
    daily=st.sets(st.sampled_from(("ana", "chloe", "dev"))),
    draws=st.lists(st.floats(min_value=0, max_value=1, exclude_max=True), min_size=1, max_size=10),
    limit=st.integers(min_value=1, max_value=5),
)
def test_every_message_ends_delivered_exactly_once_or_dead_never_both_never_lost(
    script: list[str], then: str, askers: list[str], daily: set[str], draws: list[float], limit: int
) -> None:
    notifier = Capricious(script, then)
    world = make_world(notifier, catch_all=False)
    for person in sorted(daily):
        world.engine.set_preferences(person, person, frequency="daily")
    for asker in askers:
        world.answered(asker)
    created = {e.message.id for e in world.engine.outbox(SYSTEM, limit=1000)}
    source = iter(draws * 1000)

    for _ in range(500):
        world.engine.dispatch(limit=limit, policy=POLICY, random=lambda: next(source))
        pending = world.engine.outbox(SYSTEM, status=DeliveryStatus.PENDING, limit=1000)
        if not pending:
            break
        world.clock.set(max(world.clock.now(), min(e.next_attempt_at for e in pending)))
        world.clock.advance(timedelta(microseconds=1))

    entries = {e.message.id: e for e in world.engine.outbox(SYSTEM, limit=1000)}
    assert set(entries) == created, "no message lost, none made up"
    for mid, entry in entries.items():
        assert entry.status in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD), entry
        if entry.status is DeliveryStatus.DELIVERED:
            assert notifier.received[mid] == 1, f"{mid} delivered {notifier.received[mid]} times"
        else:
            assert notifier.received[mid] == 0, f"{mid} is dead but was delivered"
            assert entry.last_error
            assert entry.attempts <= POLICY.max_attempts
    assert set(notifier.received) <= created
