"""The in-memory store (``memory://``): for tests and simulations; nothing survives the process.

It keeps the exact semantics of the durable stores (versions, conflicts, atomic commits,
event positions, the queries), checked by the same conformance suite.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs

from coplib.adapters.storage._index import IndexRow, index_row
from coplib.adapters.storage._text_index import TextIndex
from coplib.domain.community import Community, Role
from coplib.domain.contributions import Question
from coplib.domain.errors import ConcurrencyConflictError, ConflictError, StorageError
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
from coplib.ports.hookspecs import hookimpl
from coplib.ports.storage import (
    ACTIVE_ONLY,
    EVERYTHING,
    Changeset,
    DeliveryStatus,
    Filter,
    HistoryRewrite,
    HistoryRewriting,
    OutboxEntry,
    OutboxMessage,
    Outcome,
    Period,
    RecordedEvent,
    Store,
    TextMatches,
    TextSearch,
    Versioned,
    check_after,
    check_limit,
    count_by_finding,
    open_flags_by_finding,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def period_start(moment: datetime, period: Period) -> date:
    day = moment.date()
    if period is Period.DAY:
        return day
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


class MemoryStore(Store, TextSearch, HistoryRewriting):
    """A store held in memory: thread-safe, same semantics as the durable stores."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.RLock()
        self._rows: dict[Ref, tuple[Versioned[Aggregate], IndexRow]] = {}
        # Secondary indexes, so that the queries cost what they return, as in the SQL stores.
        self._by_kind: dict[str, dict[str, tuple[Versioned[Aggregate], IndexRow]]] = {}
        self._by_community: dict[tuple[str, str], set[str]] = {}  # (kind, community) -> ids
        self._by_person: dict[tuple[str, str], set[str]] = {}  # (kind, person) -> ids
        self._holders: dict[tuple[str, str], set[str]] = {}  # (community, role) -> membership ids
        self._open: dict[str | None, set[str]] = {}  # community -> ids of its open questions
        self._by_actor: dict[str, list[RecordedEvent]] = {}  # actor -> their events, in order
        self._due: dict[str, list[tuple[datetime, str]]] = {}  # kind -> sorted (due_at, id)
        self._events: list[RecordedEvent] = []
        self._event_ids: set[str] = set()
        self._outbox: dict[str, OutboxEntry] = {}
        self._closed = False
        self._text = TextIndex()  # the searchable contributions' terms

    # -- writes ------------------------------------------------------------------------------

    def commit(self, changes: Changeset) -> list[RecordedEvent]:
        with self._lock:
            self._check_open()
            for write in changes.writes:
                current = self._rows.get(write.ref)
                actual = current[0].version if current else 0
                if actual != write.expected_version:
                    raise ConcurrencyConflictError(
                        write.ref.kind, write.ref.id, write.expected_version, actual if current else None
                    )
            seen: set[str] = set()
            for event in changes.events:
                if event.id in self._event_ids or event.id in seen:
                    raise ConflictError(
                        f"an event of this unit of work is stored already ({event.id!r}): event ids are unique",
                        kind="event",
                    )
                seen.add(event.id)
            for write in changes.writes:
                versioned = Versioned(write.value, write.expected_version + 1)
                self._store_row(write.ref, versioned, index_row(write.ref, write.value))
            start = len(self._events)
            recorded = [RecordedEvent(start + i + 1, e) for i, e in enumerate(changes.events)]
            self._events.extend(recorded)
            for r in recorded:
                self._by_actor.setdefault(r.event.actor_id, []).append(r)
            self._event_ids.update(seen)
            for message in changes.messages:
                if message.id not in self._outbox:
                    self._outbox[message.id] = OutboxEntry(message, DeliveryStatus.PENDING, 0, message.created_at)
            return recorded

    # -- reads -------------------------------------------------------------------------------

    def get(self, ref: Ref) -> Versioned[Aggregate] | None:
        with self._lock:
            self._check_open()
            row = self._rows.get(ref)
            return row[0] if row else None

    def get_many(self, refs: Iterable[Ref]) -> dict[Ref, Versioned[Aggregate]]:
        with self._lock:
            self._check_open()
            return {ref: self._rows[ref][0] for ref in refs if ref in self._rows}

    def _id_sets(self, ref: Ref, idx: IndexRow) -> Iterator[tuple[dict[Any, set[str]], Any]]:
        """The secondary indexes (each a map of id sets) holding `ref` when its row is `idx`,
        with its key in each."""
        if idx.community_id is not None:
            yield self._by_community, (ref.kind, idx.community_id)
            for role in idx.roles:
                yield self._holders, (idx.community_id, role)
        if idx.person_id is not None:
            yield self._by_person, (ref.kind, idx.person_id)
        if idx.open_since is not None:
            yield self._open, idx.community_id

    def _store_row(self, ref: Ref, versioned: Versioned[Aggregate], idx: IndexRow) -> None:
        previous = self._rows.get(ref)
        if previous is not None:
            old = previous[1]
            for index, key in self._id_sets(ref, old):
                index.get(key, set()).discard(ref.id)
            if old.due_at is not None:
                due = self._due[ref.kind]
                at = bisect.bisect_left(due, (old.due_at, ref.id))
                if at < len(due) and due[at] == (old.due_at, ref.id):
                    del due[at]
        row = (versioned, idx)
        self._rows[ref] = row
        self._by_kind.setdefault(ref.kind, {})[ref.id] = row
        for index, key in self._id_sets(ref, idx):
            index.setdefault(key, set()).add(ref.id)
        if idx.due_at is not None:
            bisect.insort(self._due.setdefault(ref.kind, []), (idx.due_at, ref.id))
        self._text.put(ref, versioned.value)

    def _remove_row(self, ref: Ref) -> None:
        previous = self._rows.pop(ref, None)
        if previous is None:
            return
        old = previous[1]
        for index, key in self._id_sets(ref, old):
            index.get(key, set()).discard(ref.id)
        if old.due_at is not None:
            due = self._due[ref.kind]
            at = bisect.bisect_left(due, (old.due_at, ref.id))
            if at < len(due) and due[at] == (old.due_at, ref.id):
                del due[at]
        self._by_kind.get(ref.kind, {}).pop(ref.id, None)
        self._text.drop(ref)

    # -- full-text search and the rewriting of history (issue 16) ------------------------------

    def search_text(
        self,
        query: Sequence[tuple[str, ...]],
        *,
        community_ids: Sequence[str],
        kinds: Sequence[str],
        limit: int,
        offset: int = 0,
    ) -> TextMatches:
        check_limit(limit)
        check_limit(offset, "$.offset")
        with self._lock:
            self._check_open()
            return self._text.search(query, community_ids=community_ids, kinds=kinds, limit=limit, offset=offset)

    def rewrite_history(self, rewrite: HistoryRewrite) -> None:
        with self._lock:
            self._check_open()
            for change in rewrite.aggregates:
                old = self._rows.get(change.ref)
                self._remove_row(change.ref)
                if change.value is None:
                    continue
                if change.new_ref == change.ref:
                    version = (old[0].version if old else 0) + 1
                else:
                    present = self._rows.get(change.new_ref)
                    version = (present[0].version if present else 0) + 1
                self._store_row(
                    change.new_ref, Versioned(change.value, version), index_row(change.new_ref, change.value)
                )
            for recorded in rewrite.events:
                index = recorded.position - 1
                if 0 <= index < len(self._events) and self._events[index].event.id == recorded.event.id:
                    self._events[index] = recorded
            if rewrite.events:
                self._by_actor = {}
                for r in self._events:
                    self._by_actor.setdefault(r.event.actor_id, []).append(r)
            for message_id in rewrite.dropped_messages:
                self._outbox.pop(message_id, None)
            for message in rewrite.messages:
                entry = self._outbox.get(message.id)
                if entry is not None:
                    kept = attrs.evolve(
                        entry.message,
                        recipient_id=message.recipient_id,
                        community_id=message.community_id,
                        params=message.params,
                    )
                    self._outbox[message.id] = attrs.evolve(entry, message=kept)

    def _select(self, kind: str, community_id: str | None = None) -> list[tuple[Versioned[Aggregate], IndexRow]]:
        rows = self._by_kind.get(kind, {})
        if community_id is None:
            return list(rows.values())
        return [rows[i] for i in self._by_community.get((kind, community_id), ())]

    def find(
        self,
        kind: str,
        where: Filter = EVERYTHING,
        *,
        limit: int | None = None,
        after: tuple[datetime, str] | None = None,
        newest_first: bool = False,
    ) -> list[Aggregate]:
        check_limit(limit)
        check_after(after)
        community_id, person_id, parent_id = where.community_id, where.person_id, where.parent_id
        since, until = where.since, where.until
        with self._lock:
            self._check_open()
            if person_id is not None:  # a person's rows are fewer than a community's
                of_kind = self._by_kind.get(kind, {})
                candidates = [of_kind[i] for i in self._by_person.get((kind, person_id), ())]
            else:
                candidates = self._select(kind, community_id)
            rows = [
                (idx, versioned.value)
                for versioned, idx in candidates
                if (community_id is None or idx.community_id == community_id)
                and (person_id is None or idx.person_id == person_id)
                and (parent_id is None or idx.parent_id == parent_id)
                and (since is None or (idx.created_at is not None and idx.created_at >= since))
                and (until is None or (idx.created_at is not None and idx.created_at < until))
            ]
        if after is not None:
            rows = [
                r
                for r in rows
                if r[0].created_at is not None
                and ((r[0].created_at, r[0].id) < after if newest_first else (r[0].created_at, r[0].id) > after)
            ]
        rows.sort(key=lambda r: (r[0].created_at or _EPOCH, r[0].id), reverse=newest_first)
        values = [value for _, value in rows]
        return values[:limit] if limit is not None else values

    def count(self, kind: str, where: Filter = EVERYTHING) -> int:
        return count_by_finding(self, kind, where)

    def unanswered_questions(
        self,
        community_id: str | None,
        *,
        tag: str | None = None,
        asked_before: datetime | None = None,
        limit: int = 100,
        after: tuple[datetime, str] | None = None,
    ) -> list[Question]:
        check_limit(limit)
        with self._lock:
            self._check_open()
            found: list[tuple[datetime, str, Question]] = []
            questions = self._by_kind.get("question", {})
            if community_id is not None:
                open_ids: Iterable[str] = self._open.get(community_id, ())
            else:
                open_ids = [i for ids in self._open.values() for i in ids]
            for versioned, idx in (questions[i] for i in open_ids):
                if idx.open_since is None or not isinstance(versioned.value, Question):
                    continue
                if community_id is not None and idx.community_id != community_id:
                    continue
                if tag is not None and tag not in idx.tags:
                    continue
                if asked_before is not None and idx.open_since >= asked_before:
                    continue
                if after is not None and (idx.open_since, idx.id) <= after:
                    continue
                found.append((idx.open_since, idx.id, versioned.value))
        found.sort(key=lambda r: (r[0], r[1]))
        return [q for _, _, q in found[:limit]]

    def members(
        self,
        community_id: str,
        *,
        role: Role | None = None,
        tag: str | None = None,
        statuses: Sequence[MembershipStatus] = ACTIVE_ONLY,
    ) -> list[Membership]:
        wanted = {s.value for s in statuses}
        with self._lock:
            self._check_open()
            if role is not None:  # the holders of a role are few
                memberships = self._by_kind.get("membership", {})
                candidates = [memberships[i] for i in self._holders.get((community_id, role.value), ())]
            else:
                candidates = self._select("membership", community_id)
            found = [
                versioned.value
                for versioned, idx in candidates
                if idx.community_id == community_id
                and idx.status in wanted
                and (role is None or role.value in idx.roles)
                and (tag is None or tag in idx.tags)
                and isinstance(versioned.value, Membership)
            ]
        return sorted(found, key=lambda m: m.person_id)

    def communities(self, organisation_id: str | None = None) -> list[Community]:
        with self._lock:
            self._check_open()
            found = [
                versioned.value
                for versioned, _ in self._select("community")
                if isinstance(versioned.value, Community)
                and (organisation_id is None or versioned.value.organisation_id == organisation_id)
            ]
        return sorted(found, key=lambda c: (c.name, c.id))

    # -- the facts of the health report: from the rows per (kind, community) ------------------

    def _live_rows(self, kind: str, community_id: str, until: datetime) -> list[Any]:
        with self._lock:
            self._check_open()
            rows = self._select(kind, community_id)
        return [
            versioned.value
            for versioned, idx in rows
            if idx.created_at is not None and idx.created_at < until and not left_out(versioned.value)
        ]

    def open_flags(
        self, community_id: str, *, limit: int = 100, after: tuple[datetime, str] | None = None
    ) -> list[Flag]:
        # The community's flags are read and the open ones kept: a queue's cost follows every
        # flag of the community here, which a memory store (tests, simulations) can afford.
        return open_flags_by_finding(self, community_id, limit=limit, after=after)

    def question_facts(
        self, community_id: str, *, until: datetime, unattributed: Sequence[str] = ()
    ) -> list[QuestionFacts]:
        with self._lock:
            self._check_open()
            questions = [v.value for v, _ in self._select("question", community_id)]
            answers = [v.value for v, _ in self._select("answer", community_id)]
        return question_facts_of(questions, answers, until=until, unattributed=unattributed)

    def contributor_facts(
        self,
        community_id: str,
        *,
        since: datetime | None,
        until: datetime,
        experts: Sequence[str] = (),
        window: timedelta = timedelta(days=90),
    ) -> ContributorFacts:
        found = (
            (kind, item.author_id, item.created_at)
            for kind in CONTRIBUTION_KINDS
            for item in self._live_rows(kind, community_id, until)
        )
        return contributor_facts_of(found, since=since, until=until, experts=experts, window=window)

    def member_facts(self, community_id: str) -> list[MemberFacts]:
        with self._lock:
            self._check_open()
            rows = self._select("membership", community_id)
            experts = self._holders.get((community_id, Role.EXPERT.value), set())
            found = [
                MemberFacts(idx.person_id, idx.created_at, idx.id in experts)
                for _, idx in rows
                if idx.status == MembershipStatus.ACTIVE.value and idx.person_id is not None
            ]
        return sorted(found)

    def events(
        self,
        *,
        community_id: str | None = None,
        after: int = 0,
        limit: int = 1000,
        before: int | None = None,
        newest_first: bool = False,
    ) -> list[RecordedEvent]:
        check_limit(limit)
        with self._lock:
            self._check_open()
            # Positions are 1, 2, 3...: position p is at index p - 1.
            tail = self._events[max(after, 0) : None if before is None else max(before - 1, 0)]
        chosen = reversed(tail) if newest_first else iter(tail)
        if community_id is not None:
            chosen = (r for r in chosen if r.event.community_id == community_id)
        return list(itertools.islice(chosen, limit))

    def last_position(self) -> int:
        with self._lock:
            self._check_open()
            return len(self._events)

    def activity(
        self, person_id: str, *, since: datetime, until: datetime, community_id: str | None = None
    ) -> list[RecordedEvent]:
        with self._lock:
            self._check_open()
            return [
                r
                for r in self._by_actor.get(person_id, ())
                if r.event.actor_id == person_id
                and since <= r.event.occurred_at < until
                and (community_id is None or r.event.community_id == community_id)
            ]

    def count_events(
        self,
        community_id: str | None,
        *,
        since: datetime,
        until: datetime,
        period: Period,
        types: Sequence[str] | None = None,
    ) -> dict[date, int]:
        wanted = set(types) if types is not None else None
        counts: dict[date, int] = {}
        with self._lock:
            self._check_open()
            for r in self._events:
                e = r.event
                if community_id is not None and e.community_id != community_id:
                    continue
                if not since <= e.occurred_at < until or (wanted is not None and e.TYPE not in wanted):
                    continue
                key = period_start(e.occurred_at, period)
                counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items()))

    # -- outbox ------------------------------------------------------------------------------

    def pending_messages(self, *, limit: int = 100) -> list[OutboxMessage]:
        check_limit(limit)
        with self._lock:
            self._check_open()
            pending = [e.message for e in self._outbox.values() if e.status is DeliveryStatus.PENDING]
        pending.sort(key=lambda m: (m.created_at, m.id))
        return pending[:limit]

    def mark_delivered(self, message_ids: Sequence[str], *, at: datetime) -> None:
        with self._lock:
            self._check_open()
            for mid in message_ids:
                entry = self._outbox.get(mid)
                if entry is not None and entry.status is DeliveryStatus.PENDING:
                    self._outbox[mid] = attrs.evolve(
                        entry, status=DeliveryStatus.DELIVERED, settled_at=at, claimed_by=None, claimed_until=None
                    )

    def claim_messages(self, *, worker: str, now: datetime, lease: timedelta, limit: int = 100) -> list[OutboxEntry]:
        check_limit(limit)
        with self._lock:
            self._check_open()
            due = [
                e
                for e in self._outbox.values()
                if e.status is DeliveryStatus.PENDING
                and e.next_attempt_at <= now
                and (e.claimed_until is None or e.claimed_until <= now)
            ]
            due.sort(key=lambda e: (e.next_attempt_at, e.message.created_at, e.message.id))
            claimed = []
            for entry in due[:limit]:
                taken = attrs.evolve(entry, claimed_by=worker, claimed_until=now + lease)
                self._outbox[entry.message.id] = taken
                claimed.append(taken)
            return claimed

    def settle_messages(self, outcomes: Sequence[Outcome], *, worker: str) -> int:
        applied = 0
        with self._lock:
            self._check_open()
            for outcome in outcomes:
                entry = self._outbox.get(outcome.message_id)
                if entry is None or entry.claimed_by != worker or entry.status is not DeliveryStatus.PENDING:
                    continue
                settled = outcome.status is not DeliveryStatus.PENDING
                self._outbox[outcome.message_id] = attrs.evolve(
                    entry,
                    status=outcome.status,
                    attempts=entry.attempts + (1 if outcome.count_attempt else 0),
                    next_attempt_at=outcome.next_attempt_at or entry.next_attempt_at,
                    last_error=outcome.error if outcome.error is not None else entry.last_error,
                    settled_at=outcome.at if settled else None,
                    claimed_by=None,
                    claimed_until=None,
                )
                applied += 1
        return applied

    def outbox(
        self,
        *,
        status: DeliveryStatus | None = None,
        recipient_id: str | None = None,
        limit: int = 100,
        after: tuple[datetime, str] | None = None,
    ) -> list[OutboxEntry]:
        check_limit(limit)
        check_after(after)
        with self._lock:
            self._check_open()
            found = [
                e
                for e in self._outbox.values()
                if (status is None or e.status is status)
                and (recipient_id is None or e.message.recipient_id == recipient_id)
                and (after is None or (e.message.created_at, e.message.id) > after)
            ]
        return heapq.nsmallest(limit, found, key=lambda e: (e.message.created_at, e.message.id))

    def requeue(self, message_ids: Sequence[str], *, now: datetime) -> int:
        count = 0
        with self._lock:
            self._check_open()
            for mid in message_ids:
                entry = self._outbox.get(mid)
                if entry is None or entry.status not in (DeliveryStatus.DEAD, DeliveryStatus.DROPPED):
                    continue
                self._outbox[mid] = attrs.evolve(
                    entry,
                    status=DeliveryStatus.PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    settled_at=None,
                    claimed_by=None,
                    claimed_until=None,
                )
                count += 1
        return count

    # -- timers ------------------------------------------------------------------------------

    def find_due(self, kind: str, *, before: datetime, limit: int = 100) -> list[Aggregate]:
        check_limit(limit)
        with self._lock:
            self._check_open()
            due = self._due.get(kind, [])
            rows = self._by_kind.get(kind, {})
            found: list[Aggregate] = []
            for due_at, key in due:
                if due_at > before or len(found) >= limit:
                    break
                found.append(rows[key][0].value)
            return found

    def close(self) -> None:
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError(f"the store {self.url} is closed")


class MemoryStorePlugin:
    """Opens ``memory://`` stores."""

    @hookimpl(trylast=True)
    def coplib_open_store(self, url: str, options: Mapping[str, Any]) -> Store | None:
        if url == "memory://" or url.startswith("memory:"):
            return MemoryStore(url)
        return None

    @hookimpl(trylast=True)
    def coplib_store_schemes(self) -> list[str]:
        return ["memory"]
