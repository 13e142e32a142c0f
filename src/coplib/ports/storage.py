"""The storage port: what the engine asks of a store, split by capability.

- `AggregateStore`: the aggregates by key, with their versions;
- `EventLog`: the events in their one global order, and counts of them per period;
- `Outbox`: the messages written with the change that caused them, and their delivery;
- `Timers`: the aggregates that come due;
- `ReadQueries`: the indexed queries (`find` and `count` with a `Filter`, the unanswered
  questions, members, the portfolio);
- `Store`: all of them, plus `commit`, the unit of work that writes aggregates, events and
  messages in one transaction. It is what an adapter implements and what the engine needs.

Every method is abstract: a store that lacks one cannot be built, rather than failing when
the engine first calls it. The engine finds a store through the ``coplib_open_store`` hook;
the conformance kit (`coplib.testing.contract`) pins down each method, one test class per
capability.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime, timedelta
from typing import Any, Final, Generic, TypeVar

import attrs

from coplib.domain import validation
from coplib.domain.community import Community, Role
from coplib.domain.contributions import Question
from coplib.domain.errors import InvalidInputError
from coplib.domain.events import DomainEvent
from coplib.domain.health import (
    CONTRIBUTION_KINDS,
    ContributorFacts,
    MemberFacts,
    QuestionFacts,
    contributor_facts_of,
    left_out,
    question_facts_of,
)
from coplib.domain.history import Aggregate, Ref
from coplib.domain.membership import Membership, MembershipStatus
from coplib.domain.moderation import Flag

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


class DeliveryStatus(enum.StrEnum):
    """Where an outbox message stands."""

    PENDING = "pending"  # waiting for its next attempt (or its digest, or the end of quiet hours)
    DELIVERED = "delivered"
    DEAD = "dead"  # gave up after too many attempts: visible, and replayable with `requeue`
    DROPPED = "dropped"  # deliberately not sent (recipient left, unsubscribed...): reason kept


@attrs.frozen
class OutboxEntry:
    """An outbox message with its delivery state."""

    message: OutboxMessage
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None = None
    settled_at: datetime | None = None  # when delivered, dead or dropped
    claimed_by: str | None = None
    claimed_until: datetime | None = None


@attrs.frozen
class Outcome:
    """What a dispatcher did with a claimed message.

    `status` PENDING means "try again at `next_attempt_at`" (a failure when `error` is set
    and `count_attempt` is true; a deferral for quiet hours or a digest otherwise).
    """

    message_id: str
    status: DeliveryStatus
    at: datetime
    next_attempt_at: datetime | None = None
    error: str | None = None
    count_attempt: bool = True


class Period(enum.StrEnum):
    """Buckets for counting events, in UTC. A week starts on Monday."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


ACTIVE_ONLY = (MembershipStatus.ACTIVE,)


def check_limit(limit: int | None, path: str = "$.limit") -> None:
    """Refuse (`InvalidInputError` at `path`) a limit that is not a whole number >= 0: every
    store checks its queries' limits with this, before it reads anything."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise InvalidInputError.field(path, f"must be a whole number >= 0, got {limit!r}")


def check_after(after: object, path: str = "$.after") -> None:
    """Refuse (`InvalidInputError` at `path`) a keyset bound that is not a (UTC datetime, id)
    pair: the check of `find`'s and `outbox`'s `after`, before anything is read."""
    if after is None:
        return
    if (
        not isinstance(after, tuple)
        or len(after) != 2
        or not isinstance(after[0], datetime)
        or after[0].utcoffset() != timedelta(0)
        or not isinstance(after[1], str)
    ):
        raise InvalidInputError.field(path, f"must be a (UTC datetime, id) pair, got {after!r:.80}")


# -- the filter of `find` and `count` --------------------------------------------------------------


def _in_filter(check: validation.Validator) -> validation.Validator:
    """`check`, its refusal naming the `Filter` it was given to."""

    def run(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        try:
            check(instance, attribute, value)
        except InvalidInputError as exc:
            raise InvalidInputError(exc.errors, context="Filter") from None

    return run


_ID = _in_filter(validation.instance_of(str))
_TIME = _in_filter(validation.utc_datetime)


@attrs.frozen
class Filter:
    """Which aggregates of a kind `ReadQueries.find` and `count` return: those whose indexed
    fields (`coplib.adapters.storage._index.index_row`) match every field set here; a field
    left None matches anything.

    `community_id` is the aggregate's community (a community is its own); `person_id` a
    contribution's author or a membership's person; `parent_id` the question of an answer or
    the target of a comment or endorsement; `since` (inclusive) and `until` (exclusive) bound
    the creation time. Ids are strings and times timezone-aware UTC: anything else raises
    `InvalidInputError` naming the field (``invalid Filter: must be in UTC, ... @ $.since``).
    """

    community_id: str | None = attrs.field(default=None, validator=_ID, kw_only=True)
    person_id: str | None = attrs.field(default=None, validator=_ID, kw_only=True)
    parent_id: str | None = attrs.field(default=None, validator=_ID, kw_only=True)
    since: datetime | None = attrs.field(default=None, validator=_TIME, kw_only=True)
    until: datetime | None = attrs.field(default=None, validator=_TIME, kw_only=True)


#: The filter that keeps every aggregate of the kind: the default of `find` and `count`.
EVERYTHING: Final = Filter()


def count_by_finding(queries: ReadQueries, kind: str, where: Filter = EVERYTHING) -> int:
    """How many aggregates ``queries.find(kind, where)`` returns, by calling it: a correct
    `ReadQueries.count` for an adapter without a counting query of its own (its cost follows
    the rows counted, where a counting query's follows the index it walks)."""
    return len(queries.find(kind, where))


def open_flags_by_finding(
    queries: ReadQueries, community_id: str, *, limit: int = 100, after: tuple[datetime, str] | None = None
) -> list[Flag]:
    """`ReadQueries.open_flags` from `find`, a page of every flag at a time (its cost follows
    the flags ever raised in the community)."""
    check_limit(limit)
    found: list[Flag] = []
    while len(found) < limit:
        batch = queries.find("flag", Filter(community_id=community_id), limit=limit, after=after)
        found.extend(f for f in batch if isinstance(f, Flag) and f.open)
        if len(batch) < limit:
            break
        last = batch[-1]
        assert isinstance(last, Flag)
        after = (last.created_at, last.id)
    return found[:limit]


def _live(queries: ReadQueries, kind: str, community_id: str, until: datetime) -> list[Any]:
    found = queries.find(kind, Filter(community_id=community_id, until=until))
    return [c for c in found if not left_out(c)]


def question_facts_by_finding(
    queries: ReadQueries, community_id: str, *, until: datetime, unattributed: Sequence[str] = ()
) -> list[QuestionFacts]:
    """`ReadQueries.question_facts` from `find`: a correct answer for an adapter without a
    query of its own (its cost follows the community's questions and answers)."""
    return question_facts_of(
        queries.find("question", Filter(community_id=community_id, until=until)),
        queries.find("answer", Filter(community_id=community_id)),  # every one: an accepted answer may be gone
        until=until,
        unattributed=unattributed,
    )


def contributor_facts_by_finding(
    queries: ReadQueries,
    community_id: str,
    *,
    since: datetime | None,
    until: datetime,
    experts: Sequence[str] = (),
    window: timedelta = timedelta(days=90),
) -> ContributorFacts:
    """`ReadQueries.contributor_facts` from `find` (its cost follows the community's
    contributions)."""
    found = (
        (kind, item.author_id, item.created_at)
        for kind in CONTRIBUTION_KINDS
        for item in _live(queries, kind, community_id, until)
    )
    return contributor_facts_of(found, since=since, until=until, experts=experts, window=window)


def member_facts_by_finding(queries: ReadQueries, community_id: str) -> list[MemberFacts]:
    """`ReadQueries.member_facts` from `members`."""
    experts = {m.person_id for m in queries.members(community_id, role=Role.EXPERT)}
    return [
        MemberFacts(m.person_id, m.joined_at or m.since, m.person_id in experts) for m in queries.members(community_id)
    ]


# -- the capabilities -------------------------------------------------------------------------------


class AggregateStore(ABC):
    """The aggregates (communities, memberships, questions...) by key, with their versions."""

    @abstractmethod
    def get(self, ref: Ref) -> Versioned[Aggregate] | None:
        """The aggregate at `ref` with its version, or None."""

    @abstractmethod
    def get_many(self, refs: Iterable[Ref]) -> dict[Ref, Versioned[Aggregate]]:
        """The aggregates that exist among `refs` (missing ones are left out)."""


class EventLog(ABC):
    """The events, each at its position in one global order (1, 2, 3... never reused)."""

    @abstractmethod
    def events(
        self,
        *,
        community_id: str | None = None,
        after: int = 0,
        limit: int = 1000,
        before: int | None = None,
        newest_first: bool = False,
    ) -> list[RecordedEvent]:
        """Events of one community or all, after position `after` (and before `before`, when
        given), in position order, or the latest first with `newest_first` (a feed's order):
        `limit` of them, taken from the start of that order."""

    @abstractmethod
    def last_position(self) -> int:
        """The position of the last committed event (0 when there is none): one query, not a
        walk through the log (the log follower starts there)."""

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


class Outbox(ABC):
    """The messages a unit of work wrote with its change, and their delivery: dispatchers
    claim due messages under a lease and settle each with its outcome."""

    @abstractmethod
    def pending_messages(self, *, limit: int = 100) -> list[OutboxMessage]:
        """Outbox messages not yet delivered, oldest first."""

    @abstractmethod
    def mark_delivered(self, message_ids: Sequence[str], *, at: datetime) -> None:
        """Record that these messages were delivered (idempotent)."""

    @abstractmethod
    def claim_messages(self, *, worker: str, now: datetime, lease: timedelta, limit: int = 100) -> list[OutboxEntry]:
        """Atomically claim up to `limit` due messages for `worker`.

        Due: status PENDING, ``next_attempt_at <= now``, and unclaimed or with an expired lease
        (``claimed_until <= now``). Claimed messages get ``claimed_by = worker`` and
        ``claimed_until = now + lease``, oldest ``next_attempt_at`` first (then creation, id).
        While a lease runs, no other worker can claim the message.
        """

    @abstractmethod
    def settle_messages(self, outcomes: Sequence[Outcome], *, worker: str) -> int:
        """Record the outcome of claimed messages, in one transaction.

        An outcome applies only while the message is still claimed by `worker` (a worker
        whose lease ran out changes nothing); the claim is released. DELIVERED, DEAD and
        DROPPED set ``settled_at = at``; ``last_error`` takes `error`; ``attempts`` grows by
        one when `count_attempt`. Returns how many outcomes applied.
        """

    @abstractmethod
    def outbox(
        self,
        *,
        status: DeliveryStatus | None = None,
        recipient_id: str | None = None,
        limit: int = 100,
        after: tuple[datetime, str] | None = None,
    ) -> list[OutboxEntry]:
        """Outbox entries (e.g. the dead letters), oldest first (creation time, then id);
        `after` is the (created_at, id) of the last entry of the previous page (keyset paging,
        its cost following the rows returned)."""

    @abstractmethod
    def requeue(self, message_ids: Sequence[str], *, now: datetime) -> int:
        """Put DEAD or DROPPED messages back to PENDING, due `now`, attempts reset to 0.
        Returns how many were requeued (others are left as they are)."""


class Timers(ABC):
    """The aggregates that need attention at a time of their own (a ``due_at`` attribute,
    such as a failed policy reaction waiting for its retry)."""

    @abstractmethod
    def find_due(self, kind: str, *, before: datetime, limit: int = 100) -> list[Aggregate]:
        """Aggregates of `kind` whose ``due_at`` (see `coplib.adapters.storage._index`) is set and
        ``<= before``, earliest first (then id). Cost follows the rows returned."""


class ReadQueries(ABC):
    """The queries on the aggregates' indexed fields. Each runs as an indexed query in a
    database store: its cost follows the rows it returns, not the size of the history."""

    @abstractmethod
    def find(
        self,
        kind: str,
        where: Filter = EVERYTHING,
        *,
        limit: int | None = None,
        after: tuple[datetime, str] | None = None,
        newest_first: bool = False,
    ) -> list[Aggregate]:
        """Aggregates of `kind` that match `where`, oldest first (then by id), at most `limit`.

        `newest_first` reverses the order. `after` is the (created_at, id) of the last item of
        the previous page: only aggregates strictly after it in the order asked are returned
        (keyset paging; aggregates without a creation time are then left out). Cost follows
        the rows returned, however deep the page."""

    @abstractmethod
    def count(self, kind: str, where: Filter = EVERYTHING) -> int:
        """How many aggregates ``find(kind, where)`` would return, without reading them.
        An adapter without a counting query may answer with `count_by_finding`."""

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
    def open_flags(
        self, community_id: str, *, limit: int = 100, after: tuple[datetime, str] | None = None
    ) -> list[Flag]:
        """The open flags of a community (the moderation queue), oldest first by (created_at,
        id); `after` is the (created_at, id) of the last flag of the previous page. The SQL
        stores walk an index of open flags only, so that the cost follows the page, not every
        flag ever raised; an adapter without such a query may answer with
        `open_flags_by_finding`."""

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

    # The facts of the health report (`coplib.domain.health`, docs/health.md): one aggregate
    # query per family, whose rows number the questions, the person-days or the members of the
    # community, never its events. `question_facts_by_finding`, `contributor_facts_by_finding` and
    # `member_facts_by_finding` answer them from `find` for an adapter without queries of its own.
    # Live: neither withdrawn nor hidden by a moderator (shown again, a contribution is live again).

    @abstractmethod
    def question_facts(
        self, community_id: str, *, until: datetime, unattributed: Sequence[str] = ()
    ) -> list[QuestionFacts]:
        """Every live question of the community created before `until`, ordered by creation
        then id, each with its earliest live answer created before `until` by someone other
        than the asker, the distinct authors of those answers, and whether its accepted answer
        is live. An author matching one of the `unattributed` patterns (``*``: any characters)
        counts as someone else on either side."""

    @abstractmethod
    def contributor_facts(
        self,
        community_id: str,
        *,
        since: datetime | None,
        until: datetime,
        experts: Sequence[str] = (),
        window: timedelta = timedelta(days=90),
    ) -> ContributorFacts:
        """The live contributions (`coplib.domain.health.CONTRIBUTION_KINDS`) of the community
        created in [since, until) (since None: from the start), per week and per month: how
        many, of which questions, answers and repertoire items, by how many people, and the
        answers by `experts`; and per person, over their whole history before `until`, their
        count and answers in the period, first and last contribution, first question and,
        when their first contribution is a question, whether they made another within
        `window` of it (at most `window` later). See `coplib.domain.health.ContributorFacts`."""

    @abstractmethod
    def member_facts(self, community_id: str) -> list[MemberFacts]:
        """The active members of the community, ordered by person: when each joined, and
        whether they hold the expert role."""


class Store(AggregateStore, EventLog, Outbox, Timers, ReadQueries):
    """A storage adapter: every capability, and `commit`, which writes to all of them at once.

    All methods are safe to call from one thread at a time per store; several stores
    (processes) may share one database where the adapter says so.
    """

    #: The URL the store was opened with, with any password masked.
    url: str = ""

    # `commit` lives here, not on one capability: a unit of work's aggregates, events and
    # messages go in one transaction, which only the store that holds all three can promise.
    @abstractmethod
    def commit(self, changes: Changeset) -> list[RecordedEvent]:
        """Apply the writes, append the events and queue the messages in one transaction.

        Raises `ConcurrencyConflictError` (and writes nothing) when any write's expected
        version is not the stored one. Returns the events with their positions.
        """

    @abstractmethod
    def close(self) -> None:
        """Release connections and files; the store cannot be used afterwards (it raises
        `StorageError`). Closing twice is harmless."""


# -- optional capabilities: full-text search and the rewriting of history (issue 16) ----------------
#
# Optional: a store that lacks one can still be built and run; the engine's `search` and
# `erase_person` refuse with `ConfigurationError` on it. coplib's stores have both; the
# conformance kit (`coplib.testing.hostdata_contract`) pins them down.


@attrs.frozen
class TextHit:
    """One contribution a text search found, with its score (higher ranks first; scores are
    comparable within one answer of one store only)."""

    kind: str
    id: str
    community_id: str
    score: float


@attrs.frozen
class TextMatches:
    """A page of a text search: the hits, best first, and how many there are in all."""

    hits: tuple[TextHit, ...]
    total: int


class TextSearch(ABC):
    """Full-text search over the live searchable contributions
    (`coplib.domain.text_search.SEARCHABLE_KINDS`), indexed from
    `coplib.domain.text_search.document_terms` in the same transaction as their aggregate."""

    @abstractmethod
    def search_text(
        self,
        query: Sequence[tuple[str, ...]],
        *,
        community_ids: Sequence[str],
        kinds: Sequence[str],
        limit: int,
        offset: int = 0,
    ) -> TextMatches:
        """The live contributions of `kinds` in `community_ids` that hold, for every group of
        `query`, at least one of its terms; ranked best first (a higher score: more of the
        terms, rarer terms, a shorter text), ties by id then kind; `offset` hits skipped, at
        most `limit` returned; `total` counts them all. Nothing outside `community_ids` is
        read: the caller narrows them to what the viewer may read. An empty `query`,
        `community_ids` or `kinds` finds nothing."""


@attrs.frozen
class AggregateRewrite:
    """Replace the aggregate stored at `ref` by `value` stored at `new_ref` (often `ref`
    itself); `value` None deletes it."""

    ref: Ref
    new_ref: Ref
    value: Aggregate | None


@attrs.frozen
class HistoryRewrite:
    """What `HistoryRewriting.rewrite_history` changes, all in one transaction: aggregates
    replaced or deleted, events replaced at their positions (same id, same position), outbox
    messages dropped, outbox messages' parameters replaced (same id, delivery state kept)."""

    aggregates: tuple[AggregateRewrite, ...] = ()
    events: tuple[RecordedEvent, ...] = ()
    dropped_messages: tuple[str, ...] = ()
    messages: tuple[OutboxMessage, ...] = ()


class BulkWriting(ABC):
    """A store that writes a run of large commits (`Engine.import_history`'s batches) for less
    when it knows they come together."""

    @abstractmethod
    def bulk_session(self) -> AbstractContextManager[None]:
        """A context for a run of bulk commits. Every commit inside stays a whole, durable
        unit of work that other connections see as usual; the store may only put off work
        that costs time and guards nothing (SQLite: copying its write-ahead log back into the
        file), and finishes it when the context ends, even on an error."""


def bulk_session(store: object) -> AbstractContextManager[None]:
    """`store`'s bulk session when it has one (`BulkWriting`), otherwise a context that does
    nothing: for a caller that runs many `import_history` calls in a row (an importer)."""
    return store.bulk_session() if isinstance(store, BulkWriting) else nullcontext()


class HistoryRewriting(ABC):
    """Rewriting what is stored, for the erasure of a person's personal data: the one place
    where recorded events change (docs/personal-data.md)."""

    @abstractmethod
    def rewrite_history(self, rewrite: HistoryRewrite) -> None:
        """Apply `rewrite` in one transaction (all of it or nothing), keep every index and the
        search index in step, forget whatever this handle remembers of the old values, then
        make the old bytes unreadable where the store can (SQLite: secure delete, WAL
        truncated, file vacuumed). A rewritten aggregate's version grows by one (a new ref
        starts at 1), so a unit of work that read the old value conflicts and runs again."""
