"""Several dispatchers on one store: each message is leased to one of them, so in the normal
path none is delivered twice, and a message whose dispatcher vanished is taken over once its
lease has run out."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import coplib
from coplib import SYSTEM, Engine, ManualClock, Person, StaticDirectory, hookimpl
from coplib.notification.dispatcher import Dispatcher
from coplib.ports.storage import DeliveryStatus, OutboxMessage

from .support import OTHER_POLICIES, PEOPLE, POLICY, START, make_world


class Receiver:
    """Counts every delivery it gets (a repeat would show as a count of 2)."""

    def __init__(self, pause: float = 0.0) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.by_worker: dict[str, set[str]] = {}
        self.pause = pause

    @hookimpl
    def coplib_deliver(self, message: OutboxMessage, recipient: Person, channel: str) -> bool:
        if self.pause:
            time.sleep(self.pause)
        with self._lock:
            self.counts[message.id] += 1
        return True


def ask_and_answer(engine: Engine, community_id: str, count: int) -> None:
    for n in range(count):
        asker = ("ana", "chloe", "dev")[n % 3]
        question = engine.ask(asker, community_id, title=f"Question {n}", body="?")
        engine.answer("ben", question.id, body="Argon.")


def run_together(dispatchers: list[Dispatcher], *, limit: int) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(len(dispatchers), timeout=30)

    def work(dispatcher: Dispatcher) -> None:
        try:
            start.wait()
            while dispatcher.dispatch(limit=limit):
                pass
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(d,)) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_four_dispatchers_in_threads_on_one_store_deliver_each_message_exactly_once() -> None:
    receiver = Receiver(pause=0.0005)
    world = make_world(receiver)
    ask_and_answer(world.engine, world.community.id, 120)
    ids = {e.message.id for e in world.engine.outbox(SYSTEM, limit=1000)}
    dispatchers = [Dispatcher(world.engine, policy=POLICY, worker=f"worker-{n}") for n in range(4)]

    assert run_together(dispatchers, limit=5) == []

    assert set(receiver.counts) == ids
    assert set(receiver.counts.values()) == {1}
    assert {e.status for e in world.engine.outbox(SYSTEM, limit=1000)} == {DeliveryStatus.DELIVERED}


def test_a_dispatcher_starting_while_another_holds_its_leases_takes_only_the_other_messages() -> None:
    world = make_world()
    ask_and_answer(world.engine, world.community.id, 4)
    first = Dispatcher(world.engine, policy=POLICY, worker="first")
    second = Dispatcher(world.engine, policy=POLICY, worker="second")
    seen: list[tuple[str, str]] = []

    class Interleaving:
        """While `first` delivers its first message, `second` runs a whole round."""

        started = False

        @hookimpl
        def coplib_deliver(self, message: OutboxMessage, recipient: Person, channel: str) -> bool:
            seen.append((message.id, threading.current_thread().name))
            if not self.started:
                self.started = True
                report = second.dispatch(limit=10)
                assert (report.claimed, report.delivered) == (2, 2)
            return True

    world.engine.plugin_manager.register(Interleaving())

    report = first.dispatch(limit=2)

    assert (report.claimed, report.delivered) == (2, 2)
    assert len(seen) == 4
    assert len({mid for mid, _ in seen}) == 4, "no message was delivered twice"


def test_a_message_claimed_by_a_dispatcher_that_vanished_is_taken_over_after_its_lease() -> None:
    world = make_world()
    message = world.answered("ana")
    world.engine.store.claim_messages(worker="crashed", now=world.clock.now(), lease=POLICY.lease)

    assert not world.dispatch(), "the lease still runs: nobody else takes the message"
    world.clock.advance(POLICY.lease)
    report = world.dispatch()

    assert report.delivered == 1
    assert [d.message.id for d in world.recorder.deliveries] == [message.id]
    assert world.entry(message.id).attempts == 1, "a lost lease is not a failed attempt"


def test_two_engines_on_one_sqlite_file_deliver_each_message_exactly_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    clock = ManualClock(START)
    receiver = Receiver(pause=0.0005)

    def engine() -> Engine:
        return coplib.open(
            url,
            plugins=[StaticDirectory(PEOPLE), receiver],
            clock=clock,
            block=["coplib.notifier.recording", *OTHER_POLICIES],
        )

    one, two = engine(), engine()
    try:
        org = one.create_organisation(SYSTEM, "Acme")
        community = one.create_community("ana", org.id, name="Soudeurs", vocation="Souder")
        for person in ("ben", "chloe", "dev"):
            one.join(person, community.id)
        ask_and_answer(one, community.id, 60)
        ids = {e.message.id for e in two.outbox(SYSTEM, limit=1000)}
        dispatchers = [
            Dispatcher(one, policy=POLICY, worker="one-a"),
            Dispatcher(one, policy=POLICY, worker="one-b"),
            Dispatcher(two, policy=POLICY, worker="two-a"),
        ]

        assert run_together(dispatchers, limit=4) == []

        assert len(ids) == 60
        assert set(receiver.counts) == ids
        assert set(receiver.counts.values()) == {1}
        assert {e.status for e in one.outbox(SYSTEM, limit=1000)} == {DeliveryStatus.DELIVERED}
    finally:
        one.close()
        two.close()
