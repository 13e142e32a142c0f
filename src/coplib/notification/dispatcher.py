"""The dispatcher: delivers the outbox through the notifier plugins, after the commit.

Each round claims the due messages under a lease, decides for each what its recipient wants
(dropped, deferred to the end of their quiet hours or to their next digest, or delivered now
on their channel), delivers, and records the outcome: delivered, retried later with
exponential backoff and jitter, dead after too many attempts, or dropped with its reason.
`Engine.dispatch` runs one round; `Dispatcher.run` is a worker loop.
"""

from __future__ import annotations

import logging
import os
import random as _random
import socket
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import pluggy

from coplib.domain.clock import Clock
from coplib.domain.errors import CoplibError, DeliveryError, InvalidInputError
from coplib.domain.history import Ref
from coplib.domain.ids import name_based_id
from coplib.domain.membership import Membership, MembershipStatus, membership_id
from coplib.domain.people import Person
from coplib.domain.preferences import Frequency, Preferences
from coplib.notification.messages import CATALOGUE, DIGEST_TOPIC, check_channel, one_line, render
from coplib.ports.storage import DeliveryStatus, OutboxEntry, OutboxMessage, Outcome, Store

log = logging.getLogger("coplib.notification.dispatcher")

#: The channel of a person who chose none.
DEFAULT_CHANNEL: Final = "email"
#: Message parameters that hold a person id, shown as a display name when delivered.
PERSON_PARAMS: Final = ("actor", "person")
LIMIT_MAX: Final = 10_000
ERROR_MAX: Final = 1000

_DIGEST_NAMESPACE = uuid.UUID("9a4e2b7c-3f1d-4c8e-b6a5-0d2f7e1c9b34")

Catalogue = Mapping[str, Mapping[str, tuple[str, str]]]


def _positive(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise InvalidInputError.field(
            f"$.{attribute.name}", f"must be a timedelta above zero, got {value!r:.60}", context="DeliveryPolicy"
        )


def _whole(low: int, high: int) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInputError.field(
                f"$.{attribute.name}",
                f"must be a whole number from {low} to {high}, got {value!r:.60}",
                context="DeliveryPolicy",
            )

    return check


def _fraction(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InvalidInputError.field(
            f"$.{attribute.name}", f"must be a number from 0 to 1, got {value!r:.60}", context="DeliveryPolicy"
        )


def _channel(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    try:
        check_channel(value, f"$.{attribute.name}")
    except InvalidInputError as exc:
        raise InvalidInputError(exc.errors, context="DeliveryPolicy") from None


def _zone(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidInputError.field(
            f"$.{attribute.name}",
            f"must be an IANA time zone such as Europe/Paris, got {value!r:.60}",
            context="DeliveryPolicy",
        ) from None


def _wall_time(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, time) or value.tzinfo is not None:
        raise InvalidInputError.field(
            f"$.{attribute.name}",
            f"must be a time of day without time zone, got {value!r:.60}",
            context="DeliveryPolicy",
        )


@attrs.frozen
class DeliveryPolicy:
    """How the dispatcher retries, leases and groups. Every setting is checked on creation
    (`InvalidInputError` naming the field).

    A failed attempt ``n`` (1 for the first) is retried after
    ``min(backoff_cap, backoff_base * 2 ** (n - 1))``, shortened at random by up to
    `jitter` of itself so that many failures do not come back at once; after `max_attempts`
    attempts the message is dead.
    """

    max_attempts: int = attrs.field(default=8, validator=_whole(1, 1000))
    backoff_base: timedelta = attrs.field(default=timedelta(seconds=30), validator=_positive)
    backoff_cap: timedelta = attrs.field(default=timedelta(hours=6), validator=_positive)
    jitter: float = attrs.field(default=0.5, validator=_fraction)
    #: How long a claimed message is reserved for its dispatcher: longer than a round takes.
    lease: timedelta = attrs.field(default=timedelta(minutes=5), validator=_positive)
    #: The channel of the people who chose none.
    default_channel: str = attrs.field(default=DEFAULT_CHANNEL, validator=_channel)
    #: When digests go out: this local time, in the person's quiet-hours time zone if they
    #: set quiet hours, else in `digest_timezone`; weekly ones on `digest_weekday` (0: Monday).
    digest_time: time = attrs.field(default=time(8, 0), validator=_wall_time)
    digest_weekday: int = attrs.field(default=0, validator=_whole(0, 6))
    digest_timezone: str = attrs.field(default="UTC", validator=_zone)
    #: How long a message whose channel no notifier serves waits before it is offered again
    #: (it stays pending, visible and counted: register the channel's notifier and it goes).
    unserved_retry: timedelta = attrs.field(default=timedelta(hours=1), validator=_positive)
    #: The texts digest items are rendered from (each in the recipient's language).
    catalogue: Catalogue = attrs.field(default=CATALOGUE, eq=False, hash=False, repr=False)

    @backoff_cap.validator
    def _cap_above_base(self, attribute: attrs.Attribute[Any], value: timedelta) -> None:
        if value < self.backoff_base:
            raise InvalidInputError.field(
                "$.backoff_cap",
                f"must be at least backoff_base ({self.backoff_base}), got {value}",
                context="DeliveryPolicy",
            )

    def backoff(self, failed_attempts: int, draw: float) -> timedelta:
        """The wait after the `failed_attempts`-th failed attempt, `draw` in [0, 1) giving
        the jitter."""
        exponent = min(max(failed_attempts - 1, 0), 200)  # past 2**200 the cap has long won
        full = min(self.backoff_cap.total_seconds(), self.backoff_base.total_seconds() * 2.0**exponent)
        return timedelta(seconds=full * (1.0 - self.jitter * min(max(draw, 0.0), 1.0)))

    def digest_slot(self, moment: datetime, frequency: Frequency, preferences: Preferences | None) -> datetime:
        """The first digest slot at or after `moment`, in UTC."""
        zone_name = preferences.quiet_hours.timezone if preferences and preferences.quiet_hours else None
        return next_digest_slot(
            moment,
            frequency,
            at=self.digest_time,
            weekday=self.digest_weekday,
            timezone=zone_name or self.digest_timezone,
        )


def next_digest_slot(moment: datetime, frequency: Frequency, *, at: time, weekday: int, timezone: str) -> datetime:
    """The first instant at or after `moment` when a `frequency` digest goes out: every day
    at `at` (local time in `timezone`), or on `weekday` (0: Monday) at `at` for a weekly one."""
    zone = ZoneInfo(timezone)
    local = moment.astimezone(zone)
    day = local.date()
    if datetime.combine(day, at, tzinfo=zone) < local:
        day += timedelta(days=1)
    if frequency is Frequency.WEEKLY:
        day += timedelta(days=(weekday - day.weekday()) % 7)
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


@attrs.define
class DispatchReport:
    """What one dispatch round did (the dispatcher counts into it as the round goes). True
    when it handled any message, so that ``while engine.dispatch(): pass`` drains what is due."""

    #: The dispatcher's worker id (its leases carry it).
    worker: str = attrs.field(eq=False)
    #: Messages claimed in this round.
    claimed: int = 0
    #: Messages delivered (each message of a digest counts).
    delivered: int = 0
    #: Messages whose attempt failed and that wait for their next one.
    retried: int = 0
    #: Messages given up: too many attempts, or a permanent error.
    dead: int = 0
    #: Messages deliberately not sent: recipient unknown, inactive, gone, or unsubscribed.
    dropped: int = 0
    #: Messages put off to the end of quiet hours or to the next digest.
    deferred: int = 0
    #: Digest messages delivered.
    digests: int = 0
    #: Messages whose lease ran out before their outcome was recorded (another dispatcher
    #: takes them over).
    lost: int = 0
    #: Messages left pending because no notifier serves their channel (also in `deferred`).
    unserved: int = 0

    def __bool__(self) -> bool:
        return self.claimed > 0

    def count(self, outcome: Outcome, times: int = 1) -> None:
        """Count `times` messages settled with `outcome`."""
        match outcome.status:
            case DeliveryStatus.DELIVERED:
                self.delivered += times
            case DeliveryStatus.DEAD:
                self.dead += times
            case DeliveryStatus.DROPPED:
                self.dropped += times
            case DeliveryStatus.PENDING if outcome.count_attempt:
                self.retried += times
            case DeliveryStatus.PENDING if outcome.error is not None:  # no notifier serves its channel
                self.deferred += times
                self.unserved += times
            case _:
                self.deferred += times


def default_worker_id() -> str:
    """A worker id unique to this dispatcher: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


@attrs.frozen
class _Now:
    """Deliver one message now, on `channel`."""

    entry: OutboxEntry
    person: Person
    channel: str


@attrs.frozen
class _Digest:
    """Put this message in the recipient's digest of this round."""

    entry: OutboxEntry
    person: Person
    channel: str
    frequency: Frequency


_Decision = Outcome | _Now | _Digest


class _Round:
    """One dispatch round, with its caches of people and preferences."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.d = dispatcher
        self.people: dict[str, Person | None] = {}
        self.preferences: dict[str, Preferences | None] = {}

    def person(self, person_id: str) -> Person | None:
        """The recipient from the identity hooks (a failing directory raises)."""
        if person_id not in self.people:
            found: object = self.d.engine.plugin_manager.hook.coplib_get_person(person_id=person_id)
            self.people[person_id] = found if isinstance(found, Person) else None
        return self.people[person_id]

    def name_of(self, person_id: str) -> str:
        """A person's display name for a message, or the id when it cannot be found."""
        try:
            person = self.person(person_id)
        except Exception:  # a name is a courtesy: the id will do
            log.warning("could not resolve %r to a display name", person_id, exc_info=True)
            return person_id
        return person.display_name if person is not None else person_id

    def preferences_of(self, person_id: str) -> Preferences | None:
        if person_id not in self.preferences:
            found = self.d.engine.store.get(Ref("preferences", person_id))
            self.preferences[person_id] = (
                found.value if found is not None and isinstance(found.value, Preferences) else None
            )
        return self.preferences[person_id]

    def displayed(self, message: OutboxMessage) -> OutboxMessage:
        """`message` with the person ids of `PERSON_PARAMS` shown as display names (each id
        kept under ``<name>_id``)."""
        params = dict(message.params)
        for key in PERSON_PARAMS:
            pid = params.get(key)
            if pid and f"{key}_id" not in params:
                params[f"{key}_id"] = pid
                params[key] = self.name_of(pid)
        return attrs.evolve(message, params=params) if params != message.params else message


class DispatchHost(Protocol):
    """What the dispatcher uses of an engine (or of its runtime): the store, the plugins and
    the clock."""

    @property
    def store(self) -> Store: ...

    @property
    def plugin_manager(self) -> pluggy.PluginManager: ...

    @property
    def clock(self) -> Clock: ...


class Dispatcher:
    """Delivers the outbox of an engine's store through its notifier plugins.

    :param engine: the engine (its store, plugins and clock are used).
    :param policy: retries, leases, channels and digests (default `DeliveryPolicy()`).
    :param worker: this dispatcher's id in the leases (default: host, process, random part).
    :param random: draws in [0, 1) for the jitter (default `random.random`); pass a seeded
        source for reproducible schedules.

    Several dispatchers may share a store, in threads or processes: a claimed message is
    leased to one of them, so in the normal path no message is delivered twice.
    """

    def __init__(
        self,
        engine: DispatchHost,
        *,
        policy: DeliveryPolicy | None = None,
        worker: str | None = None,
        random: Callable[[], float] | None = None,
    ) -> None:
        if policy is not None and not isinstance(policy, DeliveryPolicy):
            raise InvalidInputError.field("$.policy", f"must be a DeliveryPolicy, got {type(policy).__name__}")
        if worker is not None and (
            not isinstance(worker, str) or not 0 < len(worker) <= 200 or one_line(worker) != worker
        ):
            raise InvalidInputError.field(
                "$.worker", f"must be a one-line id of 1 to 200 characters, got {worker!r:.60}"
            )
        if random is not None and not callable(random):
            raise InvalidInputError.field(
                "$.random", f"must be a callable giving numbers in [0, 1), got {random!r:.60}"
            )
        self.engine = engine
        self.policy = policy if policy is not None else DeliveryPolicy()
        self.worker = worker if worker is not None else default_worker_id()
        self._random: Callable[[], float] = random if random is not None else _random.random

    def __repr__(self) -> str:
        return f"Dispatcher(worker={self.worker!r}, policy={self.policy!r})"

    # -- one round --------------------------------------------------------------------------

    def dispatch(self, *, limit: int = 100) -> DispatchReport:
        """Claim up to `limit` due messages and deliver, defer, drop or retry each.

        A notifier or directory plugin that raises never stops the round: its error is
        recorded against the message (``last_error``) and the next attempt scheduled. A
        failing store raises `StorageError`; the messages claimed are then taken again once
        their lease runs out.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= LIMIT_MAX:
            raise InvalidInputError.field(
                "$.limit", f"must be a whole number from 1 to {LIMIT_MAX}, got {limit!r:.60}", context="dispatch"
            )
        store = self.engine.store
        now = self.engine.clock.now()
        entries = store.claim_messages(worker=self.worker, now=now, lease=self.policy.lease, limit=limit)
        report = DispatchReport(worker=self.worker, claimed=len(entries))
        round_ = _Round(self)
        settled_now: list[Outcome] = []
        deliveries: list[_Now] = []
        digests: dict[str, list[_Digest]] = {}
        for entry in entries:
            decision = self._decide(round_, entry, now)
            if isinstance(decision, Outcome):
                settled_now.append(decision)
            elif isinstance(decision, _Now):
                deliveries.append(decision)
            else:
                digests.setdefault(entry.message.recipient_id, []).append(decision)
        self._settle(settled_now, report)
        for delivery in deliveries:
            if self._lease_kept(delivery.entry, report):
                outcomes = self._attempt([delivery.entry], round_.displayed(delivery.entry.message), delivery)
                self._settle(outcomes, report)
        for group in digests.values():
            kept = [d for d in group if self._lease_kept(d.entry, report)]
            if kept:
                outcomes = self._attempt([d.entry for d in kept], self._digest(round_, kept), kept[0])
                if self._settle(outcomes, report) and outcomes[0].status is DeliveryStatus.DELIVERED:
                    report.digests += 1
        return report

    def _decide(self, round_: _Round, entry: OutboxEntry, now: datetime) -> _Decision:
        message = entry.message
        pid = message.recipient_id
        try:
            person = round_.person(pid)
        except Exception as exc:  # the directory failed: try again later, as for a notifier
            log.warning("the directory failed on recipient %r of message %s", pid, message.id, exc_info=True)
            return self._failed(entry, now, f"the identity directory failed on {pid!r}", exc)
        if person is None:
            return self._drop(entry, now, f"recipient {pid!r} is unknown to the directory")
        if not person.active:
            return self._drop(entry, now, f"recipient {pid!r} has left the organisation or is inactive")
        if message.community_id is not None:
            found = self.engine.store.get(Ref("membership", membership_id(message.community_id, pid)))
            membership = found.value if found is not None and isinstance(found.value, Membership) else None
            if membership is not None and membership.status is MembershipStatus.LEFT:
                return self._drop(entry, now, f"recipient {pid!r} has left the community {message.community_id!r}")
            if membership is not None and membership.status is MembershipStatus.REMOVED:
                return self._drop(
                    entry, now, f"recipient {pid!r} was removed from the community {message.community_id!r}"
                )
        preferences = round_.preferences_of(pid)
        frequency = preferences.frequency if preferences is not None else Frequency.IMMEDIATE
        if frequency is Frequency.NEVER:
            return self._drop(entry, now, f"unsubscribed: {pid!r} wants no messages (frequency never)")
        if preferences is not None and message.topic in preferences.unsubscribed:
            return self._drop(entry, now, f"unsubscribed: {pid!r} unsubscribed from the topic {message.topic!r}")
        if frequency in (Frequency.DAILY, Frequency.WEEKLY):
            slot = self.policy.digest_slot(message.created_at, frequency, preferences)
            if now < slot:
                return self._defer(entry, now, slot)
        quiet = preferences.quiet_hours if preferences is not None else None
        if quiet is not None and quiet.contains(now):
            return self._defer(entry, now, quiet.ends_after(now))
        channel = (preferences.channel if preferences is not None else None) or self.policy.default_channel
        if frequency in (Frequency.DAILY, Frequency.WEEKLY):
            return _Digest(entry, person, channel, frequency)
        return _Now(entry, person, channel)

    # -- outcomes ---------------------------------------------------------------------------

    @staticmethod
    def _drop(entry: OutboxEntry, now: datetime, reason: str) -> Outcome:
        return Outcome(entry.message.id, DeliveryStatus.DROPPED, now, error=reason, count_attempt=False)

    @staticmethod
    def _defer(entry: OutboxEntry, now: datetime, until: datetime) -> Outcome:
        return Outcome(entry.message.id, DeliveryStatus.PENDING, now, next_attempt_at=until, count_attempt=False)

    def _failed(self, entry: OutboxEntry, now: datetime, what: str, exc: BaseException | None) -> Outcome:
        """A failed attempt: retried after the backoff, or dead once attempts run out."""
        attempt = entry.attempts + 1
        cause = f": {type(exc).__name__}: {one_line(exc, max_chars=ERROR_MAX)}" if exc is not None else ""
        error = f"attempt {attempt} of {self.policy.max_attempts}: {what}{cause}"[:ERROR_MAX]
        permanent = isinstance(exc, DeliveryError) and exc.permanent
        if permanent or attempt >= self.policy.max_attempts:
            why = "a permanent error" if permanent else f"{attempt} attempts"
            log.error("message %s is dead after %s: %s", entry.message.id, why, error)
            return Outcome(entry.message.id, DeliveryStatus.DEAD, now, error=error)
        retry_at = now + self.policy.backoff(attempt, self._random())
        log.warning("message %s will be tried again at %s: %s", entry.message.id, retry_at.isoformat(), error)
        return Outcome(entry.message.id, DeliveryStatus.PENDING, now, next_attempt_at=retry_at, error=error)

    def _lease_kept(self, entry: OutboxEntry, report: DispatchReport) -> bool:
        """False (and the message left alone) when its lease ran out during the round:
        another dispatcher may have it by now."""
        if entry.claimed_until is not None and self.engine.clock.now() >= entry.claimed_until:
            log.warning("lease on message %s ran out before its delivery: left to the next claim", entry.message.id)
            report.lost += 1
            return False
        return True

    def _settle(self, outcomes: Sequence[Outcome], report: DispatchReport) -> bool:
        """Record `outcomes` in one transaction; True when all of them applied."""
        if not outcomes:
            return True
        applied = self.engine.store.settle_messages(outcomes, worker=self.worker)
        if applied == len(outcomes):
            for outcome in outcomes:
                report.count(outcome)
            return True
        log.warning(
            "%d of %d outcomes of %s came after their lease ran out: another dispatcher may repeat them",
            len(outcomes) - applied,
            len(outcomes),
            self.worker,
        )
        report.lost += len(outcomes) - applied
        # The store does not say which ones applied: they can be counted only when alike.
        if len({(o.status, o.count_attempt) for o in outcomes}) == 1:
            report.count(outcomes[0], applied)
        return False

    # -- delivery ---------------------------------------------------------------------------

    def _attempt(self, entries: Sequence[OutboxEntry], message: OutboxMessage, target: _Now | _Digest) -> list[Outcome]:
        """Deliver `message` (standing for `entries`) on the target's channel; the outcome of
        each entry."""
        channel = target.channel
        try:
            result = self.engine.plugin_manager.hook.coplib_deliver(
                message=message, recipient=target.person, channel=channel
            )
        except Exception as exc:  # whatever a notifier raises is recorded, never propagated
            now = self.engine.clock.now()
            what = f"delivery on channel {channel!r} failed"
            return [self._failed(entry, now, what, exc) for entry in entries]
        now = self.engine.clock.now()
        if result is True:
            return [Outcome(entry.message.id, DeliveryStatus.DELIVERED, now) for entry in entries]
        if result is None:
            error = (
                f"no notifier delivers on channel {channel!r}: register a plugin whose coplib_deliver "
                "answers this channel, or change the recipient's channel; the message stays queued"
            )
            log.warning("message %s stays queued: %s", message.id, error)
            later = now + self.policy.unserved_retry
            return [
                Outcome(
                    entry.message.id,
                    DeliveryStatus.PENDING,
                    now,
                    next_attempt_at=later,
                    error=error,
                    count_attempt=False,
                )
                for entry in entries
            ]
        what = (
            f"a coplib_deliver implementation returned {result!r:.60} on channel {channel!r}, "
            "instead of True (delivered) or None (not its channel)"
        )
        return [self._failed(entry, now, what, None) for entry in entries]

    def _digest(self, round_: _Round, group: Sequence[_Digest]) -> OutboxMessage:
        """One message of topic ``digest`` listing the messages of `group`, in the
        recipient's language. Its id depends only on the messages it lists, so a retry of
        the same digest carries the same idempotency key."""
        person = group[0].person
        entries = sorted((d.entry for d in group), key=lambda e: (e.message.created_at, e.message.id))
        lines = []
        for entry in entries:
            shown = round_.displayed(entry.message)
            try:
                text = render(shown.topic, shown.params, person.locale, catalogue=self.policy.catalogue).body
            except CoplibError:
                text = shown.topic  # a topic without text still shows up in the list
            lines.append(f"• {one_line(text)}")
        ids = [e.message.id for e in entries]
        key = name_based_id(_DIGEST_NAMESPACE.bytes, "\x00".join([person.id, *sorted(ids)]))
        return OutboxMessage(
            id=key,
            event_id=key,
            recipient_id=person.id,
            topic=DIGEST_TOPIC,
            community_id=None,
            params={
                "items": "\n".join(lines),
                "count": str(len(entries)),
                "period": group[0].frequency.value,
                "message_ids": " ".join(ids),
            },
            created_at=self.engine.clock.now(),
        )

    # -- a worker loop ----------------------------------------------------------------------

    def run(
        self,
        *,
        idle: float = 5.0,
        limit: int = 100,
        stop: threading.Event | None = None,
        rounds: int | None = None,
    ) -> int:
        """Dispatch until `stop` is set (or `rounds` rounds ran), waiting `idle` seconds
        whenever a round found nothing due. A round that raises is logged and the loop goes
        on after `idle` seconds. Returns how many messages were claimed in all."""
        if isinstance(idle, bool) or not isinstance(idle, (int, float)) or not 0 <= idle <= 3600:
            raise InvalidInputError.field("$.idle", f"must be seconds from 0 to 3600, got {idle!r:.60}", context="run")
        if rounds is not None and (isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 0):
            raise InvalidInputError.field("$.rounds", f"must be a whole number >= 0, got {rounds!r:.60}", context="run")
        stopping = stop if stop is not None else threading.Event()
        claimed = 0
        done = 0
        while not stopping.is_set() and (rounds is None or done < rounds):
            done += 1
            try:
                report = self.dispatch(limit=limit)
            except CoplibError:
                log.exception("dispatch round of %s failed; trying again in %s s", self.worker, idle)
                stopping.wait(idle)
                continue
            claimed += report.claimed
            if not report:
                stopping.wait(idle)
        return claimed
