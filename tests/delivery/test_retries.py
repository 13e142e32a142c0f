"""Failed deliveries: retried with exponential backoff and jitter, dead after too many
attempts or at once on a permanent error, visible as dead letters and replayable; a notifier
or directory that raises never breaks a command nor a dispatch."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coplib import SYSTEM, InvalidInputError, PermissionDeniedError, Person, hookimpl
from coplib.adapters.storage.memory import MemoryStore
from coplib.domain.errors import DeliveryError
from coplib.notification.dispatcher import DeliveryPolicy, Dispatcher
from coplib.ports.storage import DeliveryStatus, OutboxMessage, Store

from .support import POLICY, ScriptedNotifier, draws, make_world, outage

# -- backoff ----------------------------------------------------------------------------------


def test_a_failed_delivery_is_retried_after_an_exponential_backoff_shortened_by_jitter() -> None:
    notifier = ScriptedNotifier(failures=[outage(), outage(), outage()])
    world = make_world(notifier)
    message = world.answered()
    schedule = draws(0.5, 0.25, 0.0)

    waits = []
    for attempt in (1, 2, 3):
        before = world.clock.now()
        report = world.dispatch(random=schedule)
        assert (report.claimed, report.retried, report.delivered) == (1, 1, 0)
        entry = world.entry(message.id)
        assert (entry.status, entry.attempts) == (DeliveryStatus.PENDING, attempt)
        waits.append(entry.next_attempt_at - before)
        world.clock.set(entry.next_attempt_at - timedelta(microseconds=1))
        assert not world.dispatch(random=schedule), "nothing is due before the next attempt"
        world.clock.set(entry.next_attempt_at)

    # 10 s, 20 s, 40 s, each shortened by jitter (0.5) times the draw.
    assert waits == [timedelta(seconds=7.5), timedelta(seconds=17.5), timedelta(seconds=40)]
    report = world.dispatch(random=schedule)
    assert (report.delivered, report.retried) == (1, 0)
    assert [m.id for m in notifier.delivered] == [message.id]
    entry = world.entry(message.id)
    assert (entry.status, entry.attempts) == (DeliveryStatus.DELIVERED, 4)
    assert entry.last_error is not None and entry.last_error.startswith("attempt 3 of 4")


def test_the_backoff_doubles_up_to_its_cap_and_jitter_only_shortens_it() -> None:
    policy = DeliveryPolicy(backoff_base=timedelta(seconds=30), backoff_cap=timedelta(hours=1), jitter=0.2)
    full = [policy.backoff(n, 0.0) for n in range(1, 60)]
    assert full[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert full == sorted(full)
    assert max(full) == timedelta(hours=1) == full[-1]
    for n in (1, 5, 40, 10_000):
        for draw in (0.0, 0.3, 0.999):
            wait = policy.backoff(n, draw)
            assert policy.backoff(n, 0.0) * 0.8 <= wait <= policy.backoff(n, 0.0)


def test_without_jitter_every_draw_gives_the_same_wait() -> None:
    policy = DeliveryPolicy(backoff_base=timedelta(seconds=5), jitter=0)
    assert {policy.backoff(3, draw) for draw in (0.0, 0.5, 0.99)} == {timedelta(seconds=20)}


# -- dead letters -----------------------------------------------------------------------------


def test_a_message_that_keeps_failing_is_dead_after_max_attempts_and_listed_as_a_dead_letter() -> None:
    notifier = ScriptedNotifier(failures=[outage(f"refused {n}") for n in range(1, 10)])
    world = make_world(notifier)
    message = world.answered()

    reports = []
    for _ in range(10):
        reports.append(world.dispatch())
        world.advance(minutes=10)

    assert [r.retried for r in reports[:3]] == [1, 1, 1]
    assert reports[3].dead == 1
    assert not any(reports[4:]), "a dead message is never claimed again"
    assert notifier.calls == 4
    (dead,) = world.engine.outbox(SYSTEM, status="dead")
    assert dead.message.id == message.id
    assert dead.attempts == 4
    assert dead.last_error == (
        "attempt 4 of 4: delivery on channel 'email' failed: DeliveryError: email delivery failed: refused 4"
    )
    assert world.engine.outbox(SYSTEM, status=DeliveryStatus.PENDING) == []


def test_a_requeued_dead_letter_is_delivered_on_the_next_dispatch_with_its_attempts_reset() -> None:
    notifier = ScriptedNotifier(failures=[outage()] * 4)
    world = make_world(notifier)
    message = world.answered()
    while world.status(message.id) is DeliveryStatus.PENDING:
        world.dispatch()
        world.advance(minutes=10)
    assert world.status(message.id) is DeliveryStatus.DEAD

    assert world.engine.requeue(SYSTEM, [message.id, "no-such-message"]) == 1
    entry = world.entry(message.id)
    assert (entry.status, entry.attempts, entry.next_attempt_at) == (DeliveryStatus.PENDING, 0, world.clock.now())

    assert world.dispatch().delivered == 1
    assert [m.id for m in notifier.delivered] == [message.id]
    assert world.entry(message.id).attempts == 1
    assert world.engine.requeue(SYSTEM, [message.id]) == 0, "a delivered message is not replayed"


def test_a_permanent_error_makes_the_message_dead_at_once() -> None:
    refused = DeliveryError("550 no such mailbox", channel="email", permanent=True)
    notifier = ScriptedNotifier(failures=[refused])
    world = make_world(notifier)
    message = world.answered()

    report = world.dispatch()

    assert (report.dead, report.retried, report.delivered) == (1, 0, 0)
    entry = world.entry(message.id)
    assert (entry.status, entry.attempts) == (DeliveryStatus.DEAD, 1)
    assert entry.last_error is not None and "550 no such mailbox" in entry.last_error


def test_a_message_no_notifier_takes_stays_queued_counted_with_an_error_naming_the_channel() -> None:
    world = make_world(ScriptedNotifier("email"), catch_all=False)
    world.engine.set_preferences("ana", "ana", channel="sms")
    message = world.answered()

    report = world.dispatch()

    assert (report.dead, report.delivered, report.unserved, report.deferred) == (0, 0, 1, 1)
    entry = world.entry(message.id)
    assert (entry.status, entry.attempts) == (DeliveryStatus.PENDING, 0)
    assert entry.last_error is not None
    assert entry.last_error.startswith("no notifier delivers on channel 'sms': register a plugin")
    assert entry.next_attempt_at == world.engine.clock.now() + world.engine.delivery.unserved_retry


# -- plugins that raise -------------------------------------------------------------------------


class Broken:
    """A notifier with a bug: it raises something that is not a DeliveryError."""

    @hookimpl
    def coplib_deliver(self, message: OutboxMessage, recipient: Person, channel: str) -> bool | None:
        raise RuntimeError("boom: a bug in the notifier")


def test_a_raising_notifier_never_breaks_the_command_and_its_error_is_recorded_with_the_next_attempt() -> None:
    world = make_world(Broken())
    question = world.engine.ask("ana", world.community.id, title="Quel gaz ?", body="?")

    answer = world.engine.answer("ben", question.id, body="Argon")  # commits: nobody is called yet

    assert world.engine.question("ana", question.id).answers == (answer,)
    (entry,) = world.engine.outbox(SYSTEM)
    report = world.dispatch()
    assert (report.retried, report.dead, report.delivered) == (1, 0, 0)
    entry = world.entry(entry.message.id)
    assert entry.status is DeliveryStatus.PENDING
    assert entry.last_error == (
        "attempt 1 of 4: delivery on channel 'email' failed: RuntimeError: boom: a bug in the notifier"
    )
    assert entry.next_attempt_at == world.clock.now() + timedelta(seconds=10)
    assert entry.claimed_by is None


class FlakyDirectory:
    """A directory that fails on one person (registered before the static one, so asked first)."""

    def __init__(self) -> None:
        self.failing: str | None = None

    @hookimpl
    def coplib_get_person(self, person_id: str) -> Person | None:
        if person_id == self.failing:
            raise TimeoutError("LDAP did not answer")
        return None


def test_a_directory_that_fails_during_dispatch_is_recorded_against_the_message_and_retried() -> None:
    directory = FlakyDirectory()
    world = make_world(directory)
    message = world.answered("ana")
    other = world.answered("chloe")
    directory.failing = "ana"  # from now on: the commands are done

    report = world.dispatch()

    assert (report.retried, report.delivered) == (1, 1)
    entry = world.entry(message.id)
    assert entry.last_error == (
        "attempt 1 of 4: the identity directory failed on 'ana': TimeoutError: LDAP did not answer"
    )
    assert world.status(other.id) is DeliveryStatus.DELIVERED


class Confused:
    @hookimpl
    def coplib_deliver(self, message: OutboxMessage, recipient: Person, channel: str) -> object:
        return "sent, I think"


def test_a_notifier_answering_neither_true_nor_none_counts_as_a_failed_attempt() -> None:
    world = make_world(Confused())
    message = world.answered()

    assert world.dispatch().retried == 1

    error = world.entry(message.id).last_error
    assert error is not None and "returned 'sent, I think' on channel 'email'" in error


# -- leases -------------------------------------------------------------------------------------


class Slow(ScriptedNotifier):
    """Each delivery takes longer than the lease (the clock moves while it works)."""

    def __init__(self, world_clock: object, took: timedelta) -> None:
        super().__init__()
        self.clock = world_clock
        self.took = took

    @hookimpl
    def coplib_deliver(self, message: OutboxMessage, recipient: Person, channel: str) -> bool | None:
        self.clock.advance(self.took)  # type: ignore[attr-defined]
        return super().coplib_deliver(message, recipient, channel)


def test_a_message_whose_lease_ran_out_during_the_round_is_left_to_the_next_claim() -> None:
    world = make_world()
    slow = Slow(world.clock, POLICY.lease + timedelta(seconds=1))
    world.engine.plugin_manager.register(slow)
    first = world.answered("ana")
    world.advance(seconds=1)
    second = world.answered("chloe")

    report = world.dispatch()

    assert (report.claimed, report.delivered, report.lost) == (2, 1, 1)
    assert [m.id for m in slow.delivered] == [first.id]
    assert world.entry(second.id).status is DeliveryStatus.PENDING
    assert world.dispatch().delivered == 1
    assert [m.id for m in slow.delivered] == [first.id, second.id]


# -- settings and entry points ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "path"),
    [
        ({"max_attempts": 0}, "$.max_attempts"),
        ({"backoff_base": timedelta(0)}, "$.backoff_base"),
        ({"backoff_base": timedelta(minutes=10), "backoff_cap": timedelta(minutes=1)}, "$.backoff_cap"),
        ({"jitter": 1.5}, "$.jitter"),
        ({"lease": 30}, "$.lease"),
        ({"default_channel": "e mail"}, "$.default_channel"),
        ({"digest_weekday": 7}, "$.digest_weekday"),
        ({"digest_timezone": "Mars/Olympus_Mons"}, "$.digest_timezone"),
    ],
)
def test_a_bad_delivery_setting_is_refused_by_its_path(settings: dict[str, object], path: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        DeliveryPolicy(**settings)  # type: ignore[arg-type]
    assert [e.path for e in caught.value.errors] == [path]
    assert str(caught.value).startswith("invalid DeliveryPolicy: ")


@pytest.mark.parametrize("limit", [0, -1, 10_001, "5", True])
def test_a_bad_limit_is_refused_and_nothing_is_claimed(limit: object) -> None:
    world = make_world()
    message = world.answered()
    with pytest.raises(InvalidInputError, match=r"@ \$\.limit"):
        world.engine.dispatch(limit=limit)  # type: ignore[arg-type]
    assert world.entry(message.id).claimed_by is None


def test_a_dispatcher_refuses_a_worker_id_on_several_lines() -> None:
    world = make_world()
    with pytest.raises(InvalidInputError, match=r"@ \$\.worker"):
        Dispatcher(world.engine, worker="a\nb")


def test_a_store_that_cannot_claim_messages_cannot_be_built_so_dispatch_never_meets_one() -> None:
    # Every outbox method of the port is abstract: a store without claims fails when it is
    # built, naming what it lacks, instead of when a dispatcher first calls it.
    class OldStore(MemoryStore):
        claim_messages = Store.claim_messages

    with pytest.raises(TypeError, match="claim_messages"):
        OldStore()


def test_dispatching_until_a_round_is_empty_drains_what_is_due() -> None:
    world = make_world()
    for asker in ("ana", "chloe", "dev") * 3:
        world.answered(asker)
    rounds = 0
    while world.dispatch(limit=2):
        rounds += 1
    assert rounds == 5
    assert len(world.recorder.deliveries) == 9


def test_a_worker_loop_runs_its_rounds_and_counts_what_it_claimed() -> None:
    world = make_world()
    world.answered("ana")
    world.answered("chloe")
    dispatcher = Dispatcher(world.engine, policy=POLICY, worker="worker-1")
    assert dispatcher.run(idle=0, limit=1, rounds=4) == 2
    assert len(world.recorder.deliveries) == 2


def test_only_the_host_reads_the_outbox_and_replays_messages() -> None:
    world = make_world()
    message = world.answered()
    with pytest.raises(PermissionDeniedError):
        world.engine.outbox("ana")
    with pytest.raises(PermissionDeniedError):
        world.engine.requeue("ana", [message.id])
    with pytest.raises(InvalidInputError, match=r"must be one of pending, delivered, dead, dropped.* @ \$\.status"):
        world.engine.outbox(SYSTEM, status="lost")
    with pytest.raises(InvalidInputError, match=r"@ \$\.message_ids"):
        world.engine.requeue(SYSTEM, message.id)
    with pytest.raises(InvalidInputError, match=r"@ \$\.message_ids\[1\]"):
        world.engine.requeue(SYSTEM, [message.id, "has space"])
    assert world.status(message.id) is DeliveryStatus.PENDING
