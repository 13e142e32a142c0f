"""The conformance kit's test class for the `Outbox` capability of a store: messages written
with their unit of work (pending until delivered, stored once per id), claims and leases,
outcomes settled only by their claimer, requeueing of dead letters, and listing.

`coplib.testing.contract.StoreContract` includes `OutboxContract`, so a store that passes
the kit passes these. To run them alone (while writing an adapter's outbox), subclass it and
override the `make_store` fixture, with the same convention as `StoreContract`::

    class TestMyStoreOutbox(OutboxContract):
        @pytest.fixture
        def make_store(self, tmp_path):
            return lambda: MyStore(tmp_path / "db")

`make_store` returns a zero-argument callable; each call opens a store on the *same* fresh,
empty database. The capability fixture `supports_concurrent_writers` (True by default) says
whether two handles may claim at once; a store that returns one shared object from every
call satisfies it too. The messages are committed directly with `Store.commit`, each with
the event that caused it, so nothing here depends on the engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from coplib.domain import events as ev
from coplib.ports.storage import Changeset, DeliveryStatus, OutboxEntry, OutboxMessage, Outcome, Store
from coplib.testing._fixtures import StoreFactory, StoreFixtures, ids_of
from coplib.testing.samples import MONDAY, SampleHistory

__all__ = ["OutboxContract", "StoreFactory", "outbox_message", "queue_messages"]

#: When the sample messages are created (a Monday, 09:00 UTC).
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def outbox_message(number: int, *, recipient_id: str = "ana", at: datetime | None = None) -> OutboxMessage:
    """A sample message, ``m-0001``..., created `number` seconds after `T0` unless `at`."""
    return OutboxMessage(
        id=f"m-{number:04d}",
        event_id=f"e-{number:04d}",
        recipient_id=recipient_id,
        topic="answer_posted",
        community_id="c-1",
        params={"title": f"Question {number}", "community": "Welding"},
        created_at=at if at is not None else T0 + timedelta(seconds=number),
    )


def queue_messages(store: Store, messages: list[OutboxMessage]) -> None:
    """Commit `messages`, each with an event that caused it (stores may require it)."""
    causes = tuple(
        ev.PreferencesChanged(
            id=m.event_id,
            actor_id=m.recipient_id,
            community_id=None,
            occurred_at=m.created_at,
            person_id=m.recipient_id,
        )
        for m in messages
    )
    store.commit(Changeset(events=causes, messages=tuple(messages)))


def _ids(entries: list[OutboxEntry]) -> list[str]:
    return [e.message.id for e in entries]


class OutboxContract(StoreFixtures):
    """`Outbox`: what every `coplib.ports.storage.Store` passes for its outbox. See the module docstring."""

    @pytest.fixture
    def queue(self, store: Store) -> Callable[..., list[OutboxMessage]]:
        """Commit sample messages (by number) and return them."""

        def queue_(*numbers: int, recipient_id: str = "ana") -> list[OutboxMessage]:
            messages = [outbox_message(n, recipient_id=recipient_id) for n in numbers]
            queue_messages(store, messages)
            return messages

        return queue_

    # -- messages written with their unit of work -------------------------------------------------

    def test_messages_stay_pending_until_delivered_oldest_first(self, store: Store, history: SampleHistory) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        q1 = history.ask(store, cid, "chloe")
        q2 = history.ask(store, cid, "dev")
        history.answer(store, q2, "ben")
        history.answer(store, q1, "ben")
        pending = store.pending_messages()
        assert [m.recipient_id for m in pending] == ["dev", "chloe"]
        assert [m.created_at for m in pending] == sorted(m.created_at for m in pending)
        assert all(m.topic == "answer_posted" and m.community_id == cid for m in pending)
        assert store.pending_messages(limit=1) == pending[:1]
        store.mark_delivered([pending[0].id], at=MONDAY + timedelta(days=1))
        assert store.pending_messages() == pending[1:]
        store.mark_delivered([pending[1].id], at=MONDAY + timedelta(days=1))
        assert store.pending_messages() == []

    def test_a_message_is_read_back_equal_to_what_was_committed(self, store: Store, history: SampleHistory) -> None:
        event = ev.OrganisationCreated(**history.base("eve", None), organisation_id="o-1", name="Acme")
        message = history.message(event, "ana", "welcome", name="Ana", note='é ✓ "quoted"')
        history.commit(store, [event], [message])
        assert store.pending_messages() == [message]
        assert store.pending_messages()[0].community_id is None

    def test_messages_with_the_same_time_are_ordered_by_id(self, store: Store, history: SampleHistory) -> None:
        event = ev.OrganisationCreated(**history.base("eve", None), organisation_id="o-1", name="Acme")
        messages = [
            attrs.evolve(history.message(event, person, "welcome"), id=f"m-{n}")
            for person, n in (("ana", 3), ("ben", 1), ("chloe", 2))
        ]
        history.commit(store, [event], messages)
        assert ids_of(store.pending_messages()) == ["m-1", "m-2", "m-3"]

    def test_marking_messages_delivered_is_idempotent_and_ignores_unknown_ids(
        self, store: Store, history: SampleHistory
    ) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        history.answer(store, history.ask(store, cid, "chloe"), "ben")
        history.answer(store, history.ask(store, cid, "dev"), "ben")
        first, second = store.pending_messages()
        at = MONDAY + timedelta(days=1)
        store.mark_delivered([first.id, "unknown"], at=at)
        store.mark_delivered([first.id], at=at + timedelta(hours=1))
        store.mark_delivered([], at=at)
        assert store.pending_messages() == [second]

    def test_a_message_committed_twice_under_one_id_is_stored_once(self, store: Store, history: SampleHistory) -> None:
        event = ev.OrganisationCreated(**history.base("eve", None), organisation_id="o-1", name="Acme")
        message = history.message(event, "ana", "welcome", version="first")
        twin = attrs.evolve(message, params={"version": "second"})
        history.commit(store, [event], [message, twin])
        assert store.pending_messages() == [message]
        later = ev.OrganisationCreated(**history.base("eve", None), organisation_id="o-2", name="Globex")
        history.commit(store, [later], [attrs.evolve(message, params={"version": "third"})])
        assert store.pending_messages() == [message]
        store.mark_delivered([message.id], at=MONDAY)
        history.commit(
            store,
            [ev.OrganisationCreated(**history.base("eve", None), organisation_id="o-3", name="Initech")],
            [message],
        )
        assert store.pending_messages() == []  # a delivered message is not queued again

    @pytest.fixture
    def two_messages(self, store: Store, history: SampleHistory) -> tuple[OutboxEntry, OutboxEntry]:
        """Two answers, so two messages to their askers: chloe's first, then dev's."""
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        history.answer(store, history.ask(store, cid, "chloe"), "ben")
        history.answer(store, history.ask(store, cid, "dev"), "ben")
        first, second = store.outbox()
        return first, second

    def test_a_new_message_is_a_pending_entry_due_at_its_creation(
        self, store: Store, two_messages: tuple[OutboxEntry, OutboxEntry]
    ) -> None:
        first, second = two_messages
        assert first == OutboxEntry(first.message, DeliveryStatus.PENDING, 0, first.message.created_at)
        assert first.message.recipient_id == "chloe" and second.message.recipient_id == "dev"
        assert [e.message for e in store.outbox()] == store.pending_messages()

    def test_claims_take_due_messages_oldest_first_and_a_lease_keeps_other_workers_off(
        self, store: Store, two_messages: tuple[OutboxEntry, OutboxEntry]
    ) -> None:
        first, second = two_messages
        lease = timedelta(minutes=5)
        before = first.message.created_at - timedelta(seconds=1)
        assert store.claim_messages(worker="a", now=before, lease=lease) == []  # nothing due yet
        now = second.message.created_at
        taken = store.claim_messages(worker="a", now=now, lease=lease, limit=1)
        assert taken == [attrs.evolve(first, claimed_by="a", claimed_until=now + lease)]
        assert [e.message.id for e in store.claim_messages(worker="b", now=now, lease=lease)] == [second.message.id]
        assert store.claim_messages(worker="c", now=now + lease - timedelta(microseconds=1), lease=lease) == []
        # Once the leases ran out, another worker may take both.
        again = store.claim_messages(worker="c", now=now + lease, lease=lease)
        assert [(e.message.id, e.claimed_by) for e in again] == [(first.message.id, "c"), (second.message.id, "c")]
        # A claimed message is still pending (not delivered).
        assert [m.id for m in store.pending_messages()] == [first.message.id, second.message.id]

    def test_settling_records_each_outcome_and_releases_the_claim(
        self, store: Store, two_messages: tuple[OutboxEntry, OutboxEntry]
    ) -> None:
        first, second = two_messages
        now = second.message.created_at
        store.claim_messages(worker="a", now=now, lease=timedelta(minutes=5))
        later = now + timedelta(minutes=1)
        retry = later + timedelta(minutes=10)
        applied = store.settle_messages(
            [
                Outcome(first.message.id, DeliveryStatus.DELIVERED, later),
                Outcome(second.message.id, DeliveryStatus.PENDING, later, next_attempt_at=retry, error="timeout"),
            ],
            worker="a",
        )
        assert applied == 2
        delivered, retried = store.outbox()
        assert delivered == attrs.evolve(first, status=DeliveryStatus.DELIVERED, attempts=1, settled_at=later)
        assert retried == attrs.evolve(second, attempts=1, next_attempt_at=retry, last_error="timeout")
        assert store.pending_messages() == [second.message]
        assert store.claim_messages(worker="a", now=later, lease=timedelta(minutes=5)) == []  # not due before retry
        assert len(store.claim_messages(worker="a", now=retry, lease=timedelta(minutes=5))) == 1

    def test_a_deferral_does_not_count_as_an_attempt(
        self, store: Store, two_messages: tuple[OutboxEntry, OutboxEntry]
    ) -> None:
        first, _ = two_messages
        now = first.message.created_at
        store.claim_messages(worker="a", now=now, lease=timedelta(minutes=5), limit=1)
        morning = now + timedelta(hours=9)
        deferred = Outcome(first.message.id, DeliveryStatus.PENDING, now, next_attempt_at=morning, count_attempt=False)
        assert store.settle_messages([deferred], worker="a") == 1
        entry = store.outbox(limit=1)[0]
        assert (entry.attempts, entry.next_attempt_at, entry.claimed_by, entry.last_error) == (0, morning, None, None)

    def test_an_outcome_applies_only_while_its_worker_holds_the_claim(
        self, store: Store, two_messages: tuple[OutboxEntry, OutboxEntry]
    ) -> None:
        first, second = two_messages
        now = second.message.created_at
        lease = timedelta(minutes=5)
        store.claim_messages(worker="slow", now=now, lease=lease, limit=1)
        store.claim_messages(worker="fast", now=now + lease, lease=lease, limit=1)  # the lease ran out
        done = Outcome(first.message.id, DeliveryStatus.DELIVERED, now + lease)
        assert store.settle_messages([done], worker="slow") == 0
        assert store.settle_messages([done, done], worker="fast") == 1  # a repeat finds the claim released
        unclaimed = Outcome(second.message.id, DeliveryStatus.DELIVERED, now)
        assert store.settle_messages([unclaimed], worker="fast") == 0
        assert store.settle_messages([], worker="fast") == 0
        assert [e.status for e in store.outbox()] == [DeliveryStatus.DELIVERED, DeliveryStatus.PENDING]

    def test_dead_and_dropped_messages_are_listed_and_can_be_requeued(
        self, store: Store, two_messages: tuple[OutboxEntry, OutboxEntry]
    ) -> None:
        first, second = two_messages
        now = second.message.created_at
        store.claim_messages(worker="a", now=now, lease=timedelta(minutes=5))
        store.settle_messages(
            [
                Outcome(first.message.id, DeliveryStatus.DEAD, now, error="mailbox full"),
                Outcome(second.message.id, DeliveryStatus.DROPPED, now, error="unsubscribed", count_attempt=False),
            ],
            worker="a",
        )
        assert store.pending_messages() == []
        assert store.claim_messages(worker="a", now=now + timedelta(days=1), lease=timedelta(minutes=5)) == []
        dead = store.outbox(status=DeliveryStatus.DEAD)
        assert dead == [
            attrs.evolve(first, status=DeliveryStatus.DEAD, attempts=1, last_error="mailbox full", settled_at=now)
        ]
        assert [e.message.id for e in store.outbox(status=DeliveryStatus.DROPPED)] == [second.message.id]
        assert store.outbox(status=DeliveryStatus.DELIVERED) == []
        store.mark_delivered([first.message.id], at=now)  # settled messages are left as they are
        assert store.outbox(status=DeliveryStatus.DEAD) == dead
        later = now + timedelta(hours=1)
        assert store.requeue([first.message.id, first.message.id, "unknown"], now=later) == 1
        requeued = store.outbox(status=DeliveryStatus.PENDING)
        assert requeued == [
            attrs.evolve(dead[0], status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=later, settled_at=None)
        ]
        assert store.requeue([first.message.id], now=later) == 0  # pending already
        assert store.requeue([], now=later) == 0

    def test_the_outbox_lists_by_status_and_recipient_oldest_first(
        self, store: Store, two_messages: tuple[OutboxEntry, OutboxEntry]
    ) -> None:
        first, second = two_messages
        assert store.outbox() == [first, second]
        assert store.outbox(limit=1) == [first]
        assert store.outbox(recipient_id="dev") == [second]
        assert store.outbox(recipient_id="dev", status=DeliveryStatus.DELIVERED) == []
        store.mark_delivered([second.message.id], at=second.message.created_at)
        assert [e.message.id for e in store.outbox(status=DeliveryStatus.DELIVERED)] == [second.message.id]
        assert store.outbox(recipient_id="nobody") == []

    def test_marking_a_claimed_message_delivered_releases_its_claim(
        self, store: Store, two_messages: tuple[OutboxEntry, OutboxEntry]
    ) -> None:
        first, _ = two_messages
        now = first.message.created_at
        store.claim_messages(worker="a", now=now, lease=timedelta(minutes=5), limit=1)
        store.mark_delivered([first.message.id], at=now)
        entry = store.outbox(limit=1)[0]
        assert (entry.status, entry.settled_at, entry.claimed_by, entry.claimed_until) == (
            DeliveryStatus.DELIVERED,
            now,
            None,
            None,
        )

    # -- claims -----------------------------------------------------------------------------------

    def test_a_queued_message_is_a_pending_entry_due_at_its_creation_and_unclaimed(
        self, store: Store, queue: Callable[..., list[OutboxMessage]]
    ) -> None:
        (message,) = queue(1)
        assert store.outbox() == [OutboxEntry(message, DeliveryStatus.PENDING, 0, message.created_at)]

    def test_a_claim_takes_only_due_messages_up_to_the_limit_oldest_first(
        self, store: Store, queue: Callable[..., list[OutboxMessage]]
    ) -> None:
        queue(3, 1, 2)
        assert store.claim_messages(worker="a", now=T0, lease=LEASE) == []
        taken = store.claim_messages(worker="a", now=T0 + timedelta(seconds=2), lease=LEASE, limit=1)
        assert _ids(taken) == ["m-0001"]
        taken = store.claim_messages(worker="a", now=T0 + timedelta(seconds=3), lease=LEASE, limit=10)
        assert _ids(taken) == ["m-0002", "m-0003"]
        assert all(e.claimed_by == "a" and e.claimed_until == T0 + timedelta(seconds=3) + LEASE for e in taken)
        assert all(e.status is DeliveryStatus.PENDING and e.attempts == 0 for e in taken)

    def test_claims_follow_the_next_attempt_then_the_creation_then_the_id(
        self, store: Store, queue: Callable[..., list[OutboxMessage]]
    ) -> None:
        queue(1, 2, 3)
        now = T0 + timedelta(minutes=1)
        store.claim_messages(worker="a", now=now, lease=LEASE)
        # m-0001 is put off the longest, m-0002 a little: m-0003 comes first, then 2, then 1.
        store.settle_messages(
            [
                Outcome("m-0001", DeliveryStatus.PENDING, now, next_attempt_at=now + timedelta(hours=2)),
                Outcome("m-0002", DeliveryStatus.PENDING, now, next_attempt_at=now + timedelta(hours=1)),
                Outcome("m-0003", DeliveryStatus.PENDING, now, next_attempt_at=now, count_attempt=False),
            ],
            worker="a",
        )
        later = now + timedelta(hours=3)
        assert _ids(store.claim_messages(worker="b", now=later, lease=LEASE)) == ["m-0003", "m-0002", "m-0001"]

    def test_a_claimed_message_is_not_claimed_again_while_its_lease_runs(
        self, store: Store, queue: Callable[..., list[OutboxMessage]]
    ) -> None:
        queue(1, 2)
        now = T0 + timedelta(minutes=1)
        first = store.claim_messages(worker="a", now=now, lease=LEASE, limit=1)
        second = store.claim_messages(worker="b", now=now, lease=LEASE)
        assert (_ids(first), _ids(second)) == (["m-0001"], ["m-0002"])
        assert store.claim_messages(worker="a", now=now + LEASE - timedelta(microseconds=1), lease=LEASE) == []

    def test_a_lease_that_ran_out_lets_another_worker_claim_the_message(
        self, store: Store, queue: Callable[..., list[OutboxMessage]]
    ) -> None:
        queue(1)
        now = T0 + timedelta(minutes=1)
        store.claim_messages(worker="crashed", now=now, lease=LEASE)
        again = store.claim_messages(worker="b", now=now + LEASE, lease=LEASE)
        assert [(e.message.id, e.claimed_by, e.claimed_until) for e in again] == [("m-0001", "b", now + 2 * LEASE)]
        assert store.outbox()[0].attempts == 0  # a lost lease is not an attempt

    def test_settled_messages_are_never_claimed(self, store: Store, queue: Callable[..., list[OutboxMessage]]) -> None:
        queue(1, 2, 3)
        now = T0 + timedelta(minutes=1)
        store.claim_messages(worker="a", now=now, lease=LEASE)
        store.settle_messages(
            [
                Outcome("m-0001", DeliveryStatus.DELIVERED, now),
                Outcome("m-0002", DeliveryStatus.DEAD, now, error="refused"),
                Outcome("m-0003", DeliveryStatus.DROPPED, now, error="unsubscribed", count_attempt=False),
            ],
            worker="a",
        )
        assert store.claim_messages(worker="a", now=now + timedelta(days=30), lease=LEASE) == []

    def test_handles_claiming_at_once_never_take_the_same_message(
        self,
        open_store: StoreFactory,
        store: Store,
        queue: Callable[..., list[OutboxMessage]],
        supports_concurrent_writers: bool,
    ) -> None:
        queue(*range(1, 61))
        handles = [open_store() if supports_concurrent_writers else store for _ in range(4)]
        now = T0 + timedelta(minutes=5)
        taken: dict[str, list[str]] = {}
        errors: list[BaseException] = []
        start = threading.Barrier(len(handles), timeout=30)

        def work(index: int) -> None:
            worker = f"w{index}"
            mine: list[str] = []
            try:
                start.wait()
                while batch := handles[index].claim_messages(worker=worker, now=now, lease=LEASE, limit=7):
                    mine.extend(_ids(batch))
            except BaseException as exc:  # reported below: a thread's failure must fail the test
                errors.append(exc)
            taken[worker] = mine

        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(handles))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        every = [mid for ids in taken.values() for mid in ids]
        assert sorted(every) == [f"m-{n:04d}" for n in range(1, 61)], "each message claimed exactly once"

    # -- outcomes ---------------------------------------------------------------------------------

    def test_a_delivered_outcome_settles_the_message_and_releases_the_claim(
        self, store: Store, queue: Callable[..., list[OutboxMessage]]
    ) -> None:
        (message,) = queue(1)
        now = T0 + timedelta(minutes=1)
        (claimed,) = store.claim_messages(worker="a", now=now, lease=LEASE)
        assert store.settle_messages([Outcome(message.id, DeliveryStatus.DELIVERED, now)], worker="a") == 1
        assert store.outbox() == [
            attrs.evolve(
                claimed,
                status=DeliveryStatus.DELIVERED,
                attempts=1,
                settled_at=now,
                claimed_by=None,
                claimed_until=None,
            )
        ]
        assert store.pending_messages() == []

    def test_failed_attempts_add_up_and_keep_the_last_error(
        self, store: Store, queue: Callable[..., list[OutboxMessage]]
    ) -> None:
        queue(1)
        now = T0 + timedelta(minutes=1)
        for attempt in range(1, 4):
            store.claim_messages(worker="a", now=now, lease=LEASE)
            retry = now + timedelta(minutes=attempt)
            failure = Outcome("m-0001", DeliveryStatus.PENDING, now, next_attempt_at=retry, error=f"down {attempt}")
            assert store.settle_messages([failure], worker="a") == 1
            now = retry
        entry = store.outbox()[0]
        assert (entry.status, entry.attempts, entry.last_error, entry.next_attempt_at) == (
            DeliveryStatus.PENDING,
            3,
            "down 3",
            now,
        )
        assert entry.settled_at is None and entry.claimed_by is None

    def test_a_later_outcome_without_an_error_keeps_the_error_recorded_before(
        self, store: Store, queue: Callable[..., list[OutboxMessage]]
    ) -> None:
        queue(1)
        now = T0 + timedelta(minutes=1)
        store.claim_messages(worker="a", now=now, lease=LEASE)
        store.settle_messages(
            [Outcome("m-0001", DeliveryStatus.PENDING, now, next_attempt_at=now, error="x")], worker="a"
        )
        store.claim_messages(worker="a", now=now, lease=LEASE)
        store.settle_messages([Outcome("m-0001", DeliveryStatus.DELIVERED, now)], worker="a")
        entry = store.outbox()[0]
        assert (entry.status, entry.attempts, entry.last_error) == (DeliveryStatus.DELIVERED, 2, "x")

    def test_a_deferral_moves_the_next_attempt_without_counting_an_attempt(
        self, store: Store, queue: Callable[..., list[OutboxMessage]]
    ) -> None:
        queue(1)
        now = T0 + timedelta(minutes=1)
        store.claim_messages(worker="a", now=now, lease=LEASE)
        morning = now + timedelta(hours=10)
        deferral = Outcome("m-0001", DeliveryStatus.PENDING, now, next_attempt_at=morning, count_attempt=False)
        assert store.settle_messages([deferral], worker="a") == 1
        entry = store.outbox()[0]
        assert (entry.attempts, entry.next_attempt_at, entry.last_error, entry.claimed_by) == (0, morning, None, None)
        assert store.claim_messages(worker="a", now=morning - timedelta(microseconds=1), lease=LEASE) == []
        assert _ids(store.claim_messages(worker="a", now=morning, lease=LEASE)) == ["m-0001"]

    def test_only_the_worker_holding_the_claim_can_settle(
        self, store: Store, queue: Callable[..., list[OutboxMessage]]
    ) -> None:
        queue(1, 2)
        now = T0 + timedelta(minutes=1)
        store.claim_messages(worker="a", now=now, lease=LEASE, limit=1)
        done = Outcome("m-0001", DeliveryStatus.DELIVERED, now)
        assert store.settle_messages([done], worker="b") == 0
        unclaimed = Outcome("m-0002", DeliveryStatus.DELIVERED, now)
        assert store.settle_messages([unclaimed], worker="a") == 0
        assert store.settle_messages([Outcome("unknown", DeliveryStatus.DELIVERED, now)], worker="a") == 0
        assert [e.status for e in store.outbox()] == [DeliveryStatus.PENDING, DeliveryStatus.PENDING]
        assert store.settle_messages([done], worker="a") == 1

    def test_a_worker_whose_lease_was_taken_over_changes_nothing(
        self, store: Store, queue: Callable[..., list[OutboxMessage]]
    ) -> None:
        queue(1)
        now = T0 + timedelta(minutes=1)
        store.claim_messages(worker="slow", now=now, lease=LEASE)
        store.claim_messages(worker="fast", now=now + LEASE, lease=LEASE)
        late = Outcome("m-0001", DeliveryStatus.DEAD, now + LEASE, error="gave up")
        assert store.settle_messages([late], worker="slow") == 0
        entry = store.outbox()[0]
        assert (entry.status, entry.claimed_by, entry.attempts) == (DeliveryStatus.PENDING, "fast", 0)
        assert store.settle_messages([Outcome("m-0001", DeliveryStatus.DELIVERED, now + LEASE)], worker="fast") == 1

    def test_a_repeated_outcome_applies_once(self, store: Store, queue: Callable[..., list[OutboxMessage]]) -> None:
        queue(1)
        now = T0 + timedelta(minutes=1)
        store.claim_messages(worker="a", now=now, lease=LEASE)
        done = Outcome("m-0001", DeliveryStatus.DELIVERED, now)
        assert store.settle_messages([done, done], worker="a") == 1
        assert store.settle_messages([done], worker="a") == 0
        assert store.outbox()[0].attempts == 1
        assert store.settle_messages([], worker="a") == 0

    def test_outcomes_of_one_call_apply_together(self, store: Store, queue: Callable[..., list[OutboxMessage]]) -> None:
        queue(1, 2, 3)
        now = T0 + timedelta(minutes=1)
        store.claim_messages(worker="a", now=now, lease=LEASE)
        outcomes = [Outcome(f"m-000{n}", DeliveryStatus.DELIVERED, now) for n in (1, 2, 3)]
        assert store.settle_messages(outcomes, worker="a") == 3
        assert [e.status for e in store.outbox()] == [DeliveryStatus.DELIVERED] * 3

    # -- dead letters and requeue -----------------------------------------------------------------

    def test_dead_and_dropped_messages_keep_their_reason_and_settlement_time(
        self, store: Store, queue: Callable[..., list[OutboxMessage]]
    ) -> None:
        queue(1, 2)
        now = T0 + timedelta(minutes=1)
        store.claim_messages(worker="a", now=now, lease=LEASE)
        store.settle_messages(
            [
                Outcome("m-0001", DeliveryStatus.DEAD, now, error="mailbox refused"),
                Outcome("m-0002", DeliveryStatus.DROPPED, now, error="recipient left", count_attempt=False),
            ],
            worker="a",
        )
        dead, dropped = store.outbox()
        assert (dead.status, dead.attempts, dead.last_error, dead.settled_at) == (
            DeliveryStatus.DEAD,
            1,
            "mailbox refused",
            now,
        )
        assert (dropped.status, dropped.attempts, dropped.last_error, dropped.settled_at) == (
            DeliveryStatus.DROPPED,
            0,
            "recipient left",
            now,
        )

    def test_requeue_puts_dead_and_dropped_messages_back_due_now_with_no_attempts(
        self, store: Store, queue: Callable[..., list[OutboxMessage]]
    ) -> None:
        queue(1, 2, 3)
        now = T0 + timedelta(minutes=1)
        store.claim_messages(worker="a", now=now, lease=LEASE)
        store.settle_messages(
            [
                Outcome("m-0001", DeliveryStatus.DEAD, now, error="refused"),
                Outcome("m-0002", DeliveryStatus.DROPPED, now, error="unsubscribed", count_attempt=False),
                Outcome("m-0003", DeliveryStatus.DELIVERED, now),
            ],
            worker="a",
        )
        later = now + timedelta(days=1)
        assert store.requeue(["m-0001", "m-0002", "m-0003", "unknown", "m-0001"], now=later) == 2
        requeued = store.outbox(status=DeliveryStatus.PENDING)
        assert [(e.message.id, e.attempts, e.next_attempt_at, e.settled_at) for e in requeued] == [
            ("m-0001", 0, later, None),
            ("m-0002", 0, later, None),
        ]
        assert store.outbox(status=DeliveryStatus.DELIVERED)[0].message.id == "m-0003"
        assert _ids(store.claim_messages(worker="b", now=later, lease=LEASE)) == ["m-0001", "m-0002"]

    def test_requeue_leaves_pending_and_claimed_messages_alone(
        self, store: Store, queue: Callable[..., list[OutboxMessage]]
    ) -> None:
        queue(1, 2)
        now = T0 + timedelta(minutes=1)
        store.claim_messages(worker="a", now=now, lease=LEASE, limit=1)
        before = store.outbox()
        assert store.requeue(["m-0001", "m-0002"], now=now) == 0
        assert store.requeue([], now=now) == 0
        assert store.outbox() == before

    # -- listing ----------------------------------------------------------------------------------

    def test_the_outbox_lists_oldest_first_by_status_and_recipient_with_a_limit(
        self, store: Store, queue: Callable[..., list[OutboxMessage]]
    ) -> None:
        queue(2, 4)
        queue(1, 3, recipient_id="ben")
        now = T0 + timedelta(minutes=1)
        assert _ids(store.outbox()) == ["m-0001", "m-0002", "m-0003", "m-0004"]
        assert _ids(store.outbox(limit=2)) == ["m-0001", "m-0002"]
        assert _ids(store.outbox(recipient_id="ben")) == ["m-0001", "m-0003"]
        store.claim_messages(worker="a", now=now, lease=LEASE, limit=1)
        store.settle_messages([Outcome("m-0001", DeliveryStatus.DEAD, now, error="refused")], worker="a")
        assert _ids(store.outbox(status=DeliveryStatus.DEAD)) == ["m-0001"]
        assert _ids(store.outbox(status=DeliveryStatus.PENDING, recipient_id="ben")) == ["m-0003"]
        assert store.outbox(status=DeliveryStatus.DELIVERED) == []
        assert store.outbox(recipient_id="nobody") == []

    def test_messages_created_at_the_same_moment_are_listed_and_claimed_by_id(self, store: Store) -> None:
        same = [outbox_message(n, at=T0) for n in (3, 1, 2)]
        queue_messages(store, same)
        assert _ids(store.outbox()) == ["m-0001", "m-0002", "m-0003"]
        assert _ids(store.claim_messages(worker="a", now=T0, lease=LEASE)) == ["m-0001", "m-0002", "m-0003"]

    def test_an_entry_reads_back_its_message_exactly(self, store: Store) -> None:
        message = attrs.evolve(outbox_message(1), params={"title": 'é ✓ "quoted" <b>', "empty": ""}, community_id=None)
        queue_messages(store, [message])
        (entry,) = store.claim_messages(worker="a", now=message.created_at, lease=LEASE)
        assert entry.message == message
        assert store.outbox()[0].message == message
