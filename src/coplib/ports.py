"""The ports a host application fills through plugins: storage, notification and identity.

A storage adapter is a `Store`; the engine finds one through the ``coplib_open_store`` hook.
Every method's semantics is pinned down by the conformance kit (`coplib.testing`).
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Generic, TypeVar

import attrs

from coplib.domain.community import Community, Role
from coplib.domain.contributions import Question
from coplib.domain.events import DomainEvent
from coplib.domain.history import Aggregate, Ref
from coplib.domain.membership import Membership, MembershipStatus

A = TypeVar("A")


@attrs.frozen
class Versioned(Generic[A]):
    """An aggregate as stored, with its version (1 after the first write)."""

    value: A
    version: int


@attrs.frozen
class Write:
    """Store `value` at `ref`, provided the stored version is still `expected_version`
    (0: it must not exist yet)."""

    ref: Ref
    value: Aggregate
    expected_version: int


@attrs.frozen
class RecordedEvent:
    """An event with its position in the store's global order (1, 2, 3... with no reuse)."""

    position: int
    event: DomainEvent


@attrs.frozen
class OutboxMessage:
    """A message to a person, written in the same transaction as the change that caused it.

    `id` is the idempotency key: the same message always has the same id, so a receiver can
    drop a duplicate.
    """

    id: str
    event_id: str
    recipient_id: str
    topic: str
    community_id: str | None
    params: dict[str, str] = attrs.field(hash=False)
    created_at: datetime


@attrs.frozen
class Changeset:
    """Everything one unit of work commits, all or nothing."""

    writes: tuple[Write, ...] = ()
    events: tuple[DomainEvent, ...] = ()
    messages: tuple[OutboxMessage, ...] = ()


class Period(enum.StrEnum):
    """Buckets for counting events, in UTC. A week starts on Monday."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


ACTIVE_ONLY = (MembershipStatus.ACTIVE,)


class Store(ABC):
    """A storage adapter. All methods are safe to call from one thread at a time per store;
    several stores (processes) may share one database where the adapter says so."""

    #: The URL the store was opened with, with any password masked.
    url: str = ""

    @abstractmethod
    def get(self, ref: Ref) -> Versioned[Aggregate] | None:
        """The aggregate at `ref` with its version, or None."""

    @abstractmethod
    def get_many(self, refs: Iterable[Ref]) -> dict[Ref, Versioned[Aggregate]]:
        """The aggregates that exist among `refs` (missing ones are left out)."""

    @abstractmethod
    def commit(self, changes: Changeset) -> list[RecordedEvent]:
        """Apply the writes, append the events and queue the messages in one transaction.

        Raises `ConcurrencyConflictError` (and writes nothing) when any write's expected
        version is not the stored one. Returns the events with their positions.
        """

    @abstractmethod
    def find(
        self,
        kind: str,
        *,
        community_id: str | None = None,
        person_id: str | None = None,
        parent_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[Aggregate]:
        """Aggregates of `kind` filtered by the indexed fields, oldest first (then by id).

        `person_id` is a contribution's author or a membership's person; `parent_id` the
        question of an answer or the target of a comment or endorsement; `since` (inclusive)
        and `until` (exclusive) bound the creation time.
        """

    @abstractmethod
    def unanswered_questions(
        self,
        community_id: str | None,
        *,
        tag: str | None = None,
        asked_before: datetime | None = None,
        limit: int = 100,
        after: tuple[datetime, str] | None = None,
    ) -> list[Question]:
        """Open questions (no live answer, not withdrawn), oldest first.

        `asked_before` keeps those asked strictly before it; `after` is the (created_at, id)
        of the last question of the previous page. Cost follows the rows returned.
        """

    @abstractmethod
    def members(
        self,
        community_id: str,
        *,
        role: Role | None = None,
        tag: str | None = None,
        statuses: Sequence[MembershipStatus] = ACTIVE_ONLY,
    ) -> list[Membership]:
        """Memberships of a community by status, role and expertise tag, ordered by person."""

    @abstractmethod
    def communities(self, organisation_id: str | None = None) -> list[Community]:
        """The portfolio: communities of an organisation (or all), ordered by name then id."""

    @abstractmethod
    def events(self, *, community_id: str | None = None, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """Events in position order, after position `after`, of one community or all."""

    @abstractmethod
    def activity(
        self, person_id: str, *, since: datetime, until: datetime, community_id: str | None = None
    ) -> list[RecordedEvent]:
        """Events a person was the actor of, in [since, until), in position order."""

    @abstractmethod
    def count_events(
        self,
        community_id: str | None,
        *,
        since: datetime,
        until: datetime,
        period: Period,
        types: Sequence[str] | None = None,
    ) -> dict[date, int]:
        """How many events (of `types`, or all) fell in each period of [since, until).

        Keys are the first day of each period that has events (UTC).
        """

    @abstractmethod
    def pending_messages(self, *, limit: int = 100) -> list[OutboxMessage]:
        """Outbox messages not yet delivered, oldest first."""

    @abstractmethod
    def mark_delivered(self, message_ids: Sequence[str], *, at: datetime) -> None:
        """Record that these messages were delivered (idempotent)."""

    def close(self) -> None:  # noqa: B027 - optional: stores without resources need nothing
        """Release connections and files. The store cannot be used afterwards."""
