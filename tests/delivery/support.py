"""A small organisation for the delivery tests: people, a community, a clock that moves only
when told, and notifiers that record, fail or refuse on demand."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import attrs

import coplib
from coplib import SYSTEM, Community, Engine, ManualClock, Person, RecordingNotifier, StaticDirectory, hookimpl
from coplib.bootstrap.open import default_plugins
from coplib.domain.errors import DeliveryError
from coplib.notification.dispatcher import DeliveryPolicy, DispatchReport
from coplib.ports.storage import DeliveryStatus, OutboxEntry, OutboxMessage

#: The built-in policies (the answer guarantee, recognition...) write messages of their own:
#: blocked in these tests, which count messages.
OTHER_POLICIES = tuple(name for name, _ in default_plugins() if name.startswith("coplib.policy."))

#: A Monday, 09:00 UTC (10:00 in Paris, winter time).
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

PEOPLE = (
    Person("ana", "Ana Durand", email="ana@example.org", locale="fr", attributes={"job": "welder", "site": "Lyon"}),
    Person("ben", "Ben Carter", email="ben@example.org", locale="en", attributes={"job": "welder", "site": "Lyon"}),
    Person("chloe", "Chloé Petit", email="chloe@example.org", locale="fr"),
    Person("dev", "Dev Patel", email="dev@example.org", locale="en"),
)

#: A policy with round numbers: 10 s, 20 s, 40 s... capped at 5 minutes; 4 attempts.
POLICY = DeliveryPolicy(
    max_attempts=4, backoff_base=timedelta(seconds=10), backoff_cap=timedelta(minutes=5), jitter=0.5
)


def draws(*values: float) -> Callable[[], float]:
    """A random source giving `values` in turn, then the last one for ever."""
    source = itertools.chain(values, itertools.repeat(values[-1] if values else 0.0))
    return lambda: next(source)


class ScriptedNotifier:
    """A notifier on `channel` whose next deliveries raise what `failures` holds (None: succeed).
    It keeps the ids it delivered, as a receiver would."""

    def __init__(self, channel: str = "email", failures: Iterable[BaseException | None] = ()) -> None:
        self.channel = channel
        self.failures = list(failures)
        self.delivered: list[OutboxMessage] = []
        self.calls = 0

    @hookimpl
    def coplib_deliver(self, message: OutboxMessage, recipient: Person, channel: str) -> bool | None:
        if channel != self.channel:
            return None
        self.calls += 1
        failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            raise failure
        self.delivered.append(message)
        return True


class Directory(StaticDirectory):
    """The static directory, which can also forget a person (an entry deleted upstream)."""

    def forget(self, person_id: str) -> None:
        with self._lock:
            del self._people[person_id]


def outage(reason: str = "connection refused") -> DeliveryError:
    return DeliveryError(reason, channel="email")


@attrs.define
class World:
    engine: Engine
    clock: ManualClock
    directory: Directory
    recorder: RecordingNotifier
    community: Community

    def answered(self, asker: str = "ana", *, by: str | None = None, title: str = "Quel gaz ?") -> OutboxMessage:
        """`asker` asks, `by` (ben, or dev for ben's questions) answers: the outbox holds one
        new message to `asker`."""
        before = {e.message.id for e in self.engine.outbox(SYSTEM, limit=10_000)}
        question = self.engine.ask(asker, self.community.id, title=title, body="Argon ou mélange ?")
        self.engine.answer(by or ("dev" if asker == "ben" else "ben"), question.id, body="Argon pur.")
        (new,) = [
            e.message
            for e in self.engine.outbox(SYSTEM, limit=10_000)
            if e.message.id not in before and e.message.topic == "answer_posted"
        ]
        return new

    def entry(self, message_id: str) -> OutboxEntry:
        (found,) = [e for e in self.engine.outbox(SYSTEM, limit=10_000) if e.message.id == message_id]
        return found

    def status(self, message_id: str) -> DeliveryStatus:
        return self.entry(message_id).status

    def dispatch(self, **options: object) -> DispatchReport:
        options.setdefault("policy", POLICY)
        options.setdefault("random", draws(0.0))
        return self.engine.dispatch(**options)  # type: ignore[arg-type]

    def advance(self, **delta: float) -> datetime:
        return self.clock.advance(timedelta(**delta))


def make_world(
    *plugins: object, people: Iterable[Person] = PEOPLE, start: datetime = START, catch_all: bool = True
) -> World:
    """An engine on a memory store with the people, a community founded by ana that the
    others joined, the given plugins, and (with `catch_all`) a recording notifier that
    takes every channel as the last resort."""
    clock = ManualClock(start)
    directory = Directory(people)
    recorder = RecordingNotifier()
    engine = coplib.open(
        "memory://",
        plugins=[directory, *([recorder] if catch_all else []), *plugins],
        clock=clock,
        # Other policies (the answer guarantee...) write their own messages: kept out here.
        block=["coplib.directory", "coplib.notifier.recording", *OTHER_POLICIES],
    )
    organisation = engine.create_organisation(SYSTEM, "Acme")
    community = engine.create_community("ana", organisation.id, name="Soudeurs de Lyon", vocation="Souder mieux")
    for person in ("ben", "chloe", "dev"):
        engine.join(person, community.id)
    return World(engine, clock, directory, recorder, community)
