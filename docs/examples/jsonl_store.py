"""A worked example of a coplib storage adapter: a JSON-lines file (``jsonl:///path``).

Each unit of work is one line appended to the file, under an exclusive file lock, and
flushed to disk before `commit` returns: the line is the transaction, so a unit of work is
in the file whole or not at all. The queries are answered from memory by coplib's reference
in-memory store, rebuilt from the file on open and brought up to date, under a shared lock,
with the lines other processes appended since.

It passes coplib's conformance kit (see tests/storage/test_contract_example.py). It is small
on purpose: every read replays what it has not seen yet and all data lives in memory, so it
suits a few thousand contributions, not a large organisation. POSIX only (``fcntl``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from coplib import (
    Changeset,
    Community,
    ConcurrencyConflictError,
    ConfigurationError,
    Membership,
    MembershipStatus,
    OutboxMessage,
    Period,
    Question,
    RecordedEvent,
    Role,
    StorageError,
    Store,
    Versioned,
    Write,
    hookimpl,
)
from coplib.adapters.storage.memory import MemoryStore
from coplib.domain.health import ContributorFacts, MemberFacts, QuestionFacts
from coplib.domain.history import Aggregate, Ref
from coplib.domain.moderation import Flag
from coplib.ports.storage import (
    ACTIVE_ONLY,
    EVERYTHING,
    DeliveryStatus,
    Filter,
    HistoryRewrite,
    HistoryRewriting,
    OutboxEntry,
    Outcome,
    TextMatches,
    TextSearch,
    check_limit,
)
from coplib.serialization import (
    aggregate_from_json,
    aggregate_to_json,
    event_from_json,
    event_to_json,
    format_timestamp,
    parse_timestamp,
)


def _changeset_to_line(changes: Changeset) -> bytes:
    record = {
        "writes": [
            {
                "kind": w.ref.kind,
                "id": w.ref.id,
                "expected_version": w.expected_version,
                "value": json.loads(aggregate_to_json(w.value)),
            }
            for w in changes.writes
        ],
        "events": [json.loads(event_to_json(e)) for e in changes.events],
        "messages": [
            {
                "id": m.id,
                "event_id": m.event_id,
                "recipient_id": m.recipient_id,
                "topic": m.topic,
                "community_id": m.community_id,
                "params": m.params,
                "created_at": format_timestamp(m.created_at),
            }
            for m in changes.messages
        ],
    }
    return (json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


def _changeset_from_record(record: Mapping[str, Any]) -> Changeset:
    return Changeset(
        writes=tuple(
            Write(
                Ref(w["kind"], w["id"]),
                aggregate_from_json(w["kind"], json.dumps(w["value"])),
                w["expected_version"],
            )
            for w in record["writes"]
        ),
        events=tuple(event_from_json(json.dumps(e)) for e in record["events"]),
        messages=tuple(
            OutboxMessage(
                id=m["id"],
                event_id=m["event_id"],
                recipient_id=m["recipient_id"],
                topic=m["topic"],
                community_id=m["community_id"],
                params=dict(m["params"]),
                created_at=parse_timestamp(m["created_at"]),
            )
            for m in record["messages"]
        ),
    )


def _outcome_to_record(o: Outcome) -> dict[str, Any]:
    return {
        "message_id": o.message_id,
        "status": o.status.value,
        "at": format_timestamp(o.at),
        "next_attempt_at": format_timestamp(o.next_attempt_at) if o.next_attempt_at else None,
        "error": o.error,
        "count_attempt": o.count_attempt,
    }


def _outcome_from_record(r: Mapping[str, Any]) -> Outcome:
    return Outcome(
        message_id=r["message_id"],
        status=DeliveryStatus(r["status"]),
        at=parse_timestamp(r["at"]),
        next_attempt_at=parse_timestamp(r["next_attempt_at"]) if r["next_attempt_at"] else None,
        error=r["error"],
        count_attempt=r["count_attempt"],
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _rewrite_line(rewrite: HistoryRewrite) -> bytes:
    record = {
        "op": "rewrite",
        # The file's past lines no longer hold a deleted or moved aggregate's old ref (their
        # writes are dropped): the last line names only what stays, so no old id is left.
        "aggregates": [
            {
                "kind": a.new_ref.kind,
                "id": a.new_ref.id,
                "new_id": a.new_ref.id,
                "value": json.loads(aggregate_to_json(a.value)),
            }
            for a in rewrite.aggregates
            if a.value is not None
        ],
        "events": [{"position": r.position, "event": json.loads(event_to_json(r.event))} for r in rewrite.events],
        "dropped": list(rewrite.dropped_messages),
        "messages": [
            {"id": m.id, "recipient_id": m.recipient_id, "community_id": m.community_id, "params": m.params}
            for m in rewrite.messages
        ],
    }
    return (json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


def _rewrite_from_record(record: Mapping[str, Any]) -> HistoryRewrite:
    from coplib.ports.storage import AggregateRewrite

    return HistoryRewrite(
        aggregates=tuple(
            AggregateRewrite(
                Ref(a["kind"], a["id"]),
                Ref(a["kind"], a["new_id"]),
                aggregate_from_json(a["kind"], json.dumps(a["value"])) if a["value"] is not None else None,
            )
            for a in record["aggregates"]
        ),
        events=tuple(RecordedEvent(e["position"], event_from_json(json.dumps(e["event"]))) for e in record["events"]),
        dropped_messages=tuple(record["dropped"]),
        # Only the id, recipient, community and parameters of a rewritten message are read.
        messages=tuple(
            OutboxMessage(m["id"], "", m["recipient_id"], "", m["community_id"], dict(m["params"]), _EPOCH)
            for m in record["messages"]
        ),
    )


def _rewritten_lines(lines: Sequence[bytes], rewrite: HistoryRewrite) -> list[bytes]:
    """The file's lines with the old values of `rewrite` replaced (see `rewrite_history`)."""
    gone = {(a.ref.kind, a.ref.id) for a in rewrite.aggregates if a.value is None or a.new_ref != a.ref}
    values = {
        (a.ref.kind, a.ref.id): json.loads(aggregate_to_json(a.value))
        for a in rewrite.aggregates
        if a.value is not None and a.new_ref == a.ref
    }
    events = {r.position: json.loads(event_to_json(r.event)) for r in rewrite.events}
    messages = {m.id: m for m in rewrite.messages}
    dropped = set(rewrite.dropped_messages)
    position = 0
    out = []
    for raw in lines:
        record = json.loads(raw)
        if record.get("op", "commit") == "commit":
            record["writes"] = [
                {**w, "value": values.get((w["kind"], w["id"]), w["value"])}
                for w in record["writes"]
                if (w["kind"], w["id"]) not in gone
            ]
            new_events = []
            for event in record["events"]:
                position += 1
                new_events.append(events.get(position, event))
            record["events"] = new_events
            for m in record["messages"]:
                if m["id"] in dropped:  # kept, emptied, until the last line drops it: claims replay alike
                    m["params"], m["recipient_id"] = {}, "dropped"
                elif m["id"] in messages:
                    new = messages[m["id"]]
                    m["params"], m["recipient_id"], m["community_id"] = new.params, new.recipient_id, new.community_id
        out.append((json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8"))
    return out


class JsonLinesStore(Store, TextSearch, HistoryRewriting):
    """A store in one JSON-lines file, safe across threads and processes on one machine."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.url = f"jsonl:///{self.path}"
        if not self.path.parent.is_dir():
            raise ConfigurationError(f"the directory {self.path.parent} of {self.path.name} does not exist")
        try:
            self._file: IO[bytes] | None = open(self.path, "a+b")  # noqa: SIM115 - held until close()
        except OSError as exc:
            raise StorageError(f"{self.path} cannot be opened: {exc}") from exc
        self._lock = threading.RLock()  # one thread at a time in this process...
        self._index = MemoryStore(self.url)  # ...and the state as of `_offset` bytes of the file
        self._offset = 0
        with self._locked(exclusive=False):
            pass

    # -- the file -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[IO[bytes]]:
        """Hold the thread lock and the file lock, with the index brought up to date."""
        with self._lock:
            if self._file is None:
                raise StorageError(f"the store {self.url} is closed")
            file = self._file
            try:
                fcntl.flock(file, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            except OSError as exc:
                raise StorageError(f"{self.path} could not be locked: {exc}") from exc
            try:
                if self._replaced(file):  # another process rewrote the history: start again
                    fcntl.flock(file, fcntl.LOCK_UN)
                    file.close()
                    self._file = file = open(self.path, "a+b")  # noqa: SIM115 - held until close()
                    fcntl.flock(file, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
                    self._index, self._offset = MemoryStore(self.url), 0
                self._catch_up(file)
                yield file
            finally:
                fcntl.flock(file, fcntl.LOCK_UN)

    def _replaced(self, file: IO[bytes]) -> bool:
        """Whether the path now names another file than the one held (`rewrite_history`
        renames a new file over it)."""
        try:
            return os.stat(self.path).st_ino != os.fstat(file.fileno()).st_ino
        except OSError as exc:
            raise StorageError(f"{self.path} cannot be read: {exc}") from exc

    def _catch_up(self, file: IO[bytes]) -> None:
        """Apply the lines appended since we last looked. A last line without its newline
        was torn by a crash mid-append: it never committed, so it is ignored (and cut off
        by the next writer)."""
        file.seek(self._offset)
        for raw in iter(file.readline, b""):
            if not raw.endswith(b"\n"):
                break
            self._apply(json.loads(raw))
            self._offset += len(raw)

    def _apply(self, record: Mapping[str, Any]) -> Any:
        """Replay one line on the index. Every change is a line, replayed in file order on
        the same state, so every process's index ends up the same."""
        match record.get("op", "commit"):
            case "commit":
                return self._index.commit(_changeset_from_record(record))
            case "delivered":
                return self._index.mark_delivered(record["ids"], at=parse_timestamp(record["at"]))
            case "claim":
                return self._index.claim_messages(
                    worker=record["worker"],
                    now=parse_timestamp(record["now"]),
                    lease=timedelta(microseconds=record["lease_us"]),
                    limit=record["limit"],
                )
            case "settle":
                return self._index.settle_messages(
                    [_outcome_from_record(o) for o in record["outcomes"]], worker=record["worker"]
                )
            case "requeue":
                return self._index.requeue(record["ids"], now=parse_timestamp(record["now"]))
            case "rewrite":
                return self._index.rewrite_history(_rewrite_from_record(record))
        raise StorageError(f"{self.path} holds a line this version cannot read: {record.get('op')!r}")

    def _record(self, record: dict[str, Any]) -> Any:
        """Append `record` as a line (under the exclusive lock) and apply it."""
        with self._locked(exclusive=True) as file:
            self._append(file, (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8"))
            return self._apply(record)

    def _append(self, file: IO[bytes], line: bytes) -> None:
        try:
            file.truncate(self._offset)  # drop a torn line left by a crashed writer
            file.seek(self._offset)
            file.write(line)
            file.flush()
            os.fsync(file.fileno())
        except OSError as exc:
            file.truncate(self._offset)
            raise StorageError(f"{self.path} could not be written: {exc}") from exc
        self._offset += len(line)

    # -- writes ----------------------------------------------------------------------------------

    def commit(self, changes: Changeset) -> list[RecordedEvent]:
        with self._locked(exclusive=True) as file:
            for write in changes.writes:  # the index is current: we hold the exclusive lock
                current = self._index.get(write.ref)
                actual = current.version if current else 0
                if actual != write.expected_version:
                    raise ConcurrencyConflictError(
                        write.ref.kind, write.ref.id, write.expected_version, actual if current else None
                    )
            if not (changes.writes or changes.events or changes.messages):
                return []
            self._append(file, _changeset_to_line(changes))
            return self._index.commit(changes)

    def mark_delivered(self, message_ids: Sequence[str], *, at: datetime) -> None:
        self._record({"op": "delivered", "ids": list(message_ids), "at": format_timestamp(at)})

    def claim_messages(self, *, worker: str, now: datetime, lease: timedelta, limit: int = 100) -> list[OutboxEntry]:
        check_limit(limit)  # before the line is written: a bad one would be replayed on every open
        lease_us = lease // timedelta(microseconds=1)
        record = {"op": "claim", "worker": worker, "now": format_timestamp(now), "lease_us": lease_us, "limit": limit}
        claimed: list[OutboxEntry] = self._record(record)
        return claimed

    def settle_messages(self, outcomes: Sequence[Outcome], *, worker: str) -> int:
        applied: int = self._record(
            {"op": "settle", "worker": worker, "outcomes": [_outcome_to_record(o) for o in outcomes]}
        )
        return applied

    def requeue(self, message_ids: Sequence[str], *, now: datetime) -> int:
        requeued: int = self._record({"op": "requeue", "ids": list(message_ids), "now": format_timestamp(now)})
        return requeued

    # -- reads: answered by the in-memory index, once it has caught up ----------------------------

    def get(self, ref: Ref) -> Versioned[Aggregate] | None:
        with self._locked(exclusive=False):
            return self._index.get(ref)

    def get_many(self, refs: Iterable[Ref]) -> dict[Ref, Versioned[Aggregate]]:
        with self._locked(exclusive=False):
            return self._index.get_many(refs)

    def find(
        self,
        kind: str,
        where: Filter = EVERYTHING,
        *,
        limit: int | None = None,
        after: tuple[datetime, str] | None = None,
        newest_first: bool = False,
    ) -> list[Aggregate]:
        with self._locked(exclusive=False):
            return self._index.find(kind, where, limit=limit, after=after, newest_first=newest_first)

    def count(self, kind: str, where: Filter = EVERYTHING) -> int:
        with self._locked(exclusive=False):
            return self._index.count(kind, where)

    def unanswered_questions(
        self,
        community_id: str | None,
        *,
        tag: str | None = None,
        asked_before: datetime | None = None,
        limit: int = 100,
        after: tuple[datetime, str] | None = None,
    ) -> list[Question]:
        with self._locked(exclusive=False):
            return self._index.unanswered_questions(
                community_id, tag=tag, asked_before=asked_before, limit=limit, after=after
            )

    def members(
        self,
        community_id: str,
        *,
        role: Role | None = None,
        tag: str | None = None,
        statuses: Sequence[MembershipStatus] = ACTIVE_ONLY,
    ) -> list[Membership]:
        with self._locked(exclusive=False):
            return self._index.members(community_id, role=role, tag=tag, statuses=statuses)

    def communities(self, organisation_id: str | None = None) -> list[Community]:
        with self._locked(exclusive=False):
            return self._index.communities(organisation_id)

    def open_flags(
        self, community_id: str, *, limit: int = 100, after: tuple[datetime, str] | None = None
    ) -> list[Flag]:
        # The moderation queue; coplib.ports.open_flags_by_finding answers it from `find`.
        with self._locked(exclusive=False):
            return self._index.open_flags(community_id, limit=limit, after=after)

    # The health report's facts; a store without an index of its own may answer them with
    # coplib.ports.question_facts_by_finding and its siblings.
    def question_facts(
        self, community_id: str, *, until: datetime, unattributed: Sequence[str] = ()
    ) -> list[QuestionFacts]:
        with self._locked(exclusive=False):
            return self._index.question_facts(community_id, until=until, unattributed=unattributed)

    def contributor_facts(
        self,
        community_id: str,
        *,
        since: datetime | None,
        until: datetime,
        experts: Sequence[str] = (),
        window: timedelta = timedelta(days=90),
    ) -> ContributorFacts:
        with self._locked(exclusive=False):
            return self._index.contributor_facts(community_id, since=since, until=until, experts=experts, window=window)

    def member_facts(self, community_id: str) -> list[MemberFacts]:
        with self._locked(exclusive=False):
            return self._index.member_facts(community_id)

    def events(
        self,
        *,
        community_id: str | None = None,
        after: int = 0,
        limit: int = 1000,
        before: int | None = None,
        newest_first: bool = False,
    ) -> list[RecordedEvent]:
        with self._locked(exclusive=False):
            return self._index.events(
                community_id=community_id, after=after, limit=limit, before=before, newest_first=newest_first
            )

    def last_position(self) -> int:
        with self._locked(exclusive=False):
            return self._index.last_position()

    def activity(
        self, person_id: str, *, since: datetime, until: datetime, community_id: str | None = None
    ) -> list[RecordedEvent]:
        with self._locked(exclusive=False):
            return self._index.activity(person_id, since=since, until=until, community_id=community_id)

    def count_events(
        self,
        community_id: str | None,
        *,
        since: datetime,
        until: datetime,
        period: Period,
        types: Sequence[str] | None = None,
    ) -> dict[date, int]:
        with self._locked(exclusive=False):
            return self._index.count_events(community_id, since=since, until=until, period=period, types=types)

    def pending_messages(self, *, limit: int = 100) -> list[OutboxMessage]:
        with self._locked(exclusive=False):
            return self._index.pending_messages(limit=limit)

    def outbox(
        self,
        *,
        status: DeliveryStatus | None = None,
        recipient_id: str | None = None,
        limit: int = 100,
        after: tuple[datetime, str] | None = None,
    ) -> list[OutboxEntry]:
        with self._locked(exclusive=False):
            return self._index.outbox(status=status, recipient_id=recipient_id, limit=limit, after=after)

    def find_due(self, kind: str, *, before: datetime, limit: int = 100) -> list[Aggregate]:
        with self._locked(exclusive=False):
            return self._index.find_due(kind, before=before, limit=limit)

    # -- full-text search and the rewriting of history (optional capabilities) --------------------

    def search_text(
        self,
        query: Sequence[tuple[str, ...]],
        *,
        community_ids: Sequence[str],
        kinds: Sequence[str],
        limit: int,
        offset: int = 0,
    ) -> TextMatches:
        with self._locked(exclusive=False):
            return self._index.search_text(query, community_ids=community_ids, kinds=kinds, limit=limit, offset=offset)

    def rewrite_history(self, rewrite: HistoryRewrite) -> None:
        """Rewrite the file whole: every past line with the new values in place of the old
        ones (writes of a deleted or moved aggregate dropped, those of a rewritten one carrying
        its new value, events replaced at their positions, dropped messages emptied), then the
        rewrite itself as a last line, so that replaying the file gives the rewritten state.
        The new file is renamed over the old one; other processes notice and start again."""
        with self._locked(exclusive=True) as file:
            file.seek(0)
            lines = [raw for raw in iter(file.readline, b"") if raw.endswith(b"\n")]
            rewritten = _rewritten_lines(lines, rewrite)
            rewritten.append(_rewrite_line(rewrite))
            temporary = self.path.with_name(self.path.name + ".rewrite")
            try:
                with open(temporary, "wb") as out:
                    out.writelines(rewritten)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temporary, self.path)
                directory = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(directory)
                finally:
                    os.close(directory)
            except OSError as exc:
                raise StorageError(f"{self.path} could not be rewritten: {exc}") from exc
            self._index.rewrite_history(rewrite)
            self._offset = sum(len(line) for line in rewritten)
        with self._lock:  # hold the new file from now on
            if self._file is not None:
                self._file.close()
            self._file = open(self.path, "a+b")  # noqa: SIM115 - held until close()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class JsonLinesStorePlugin:
    """Opens ``jsonl:///relative/path`` and ``jsonl:////absolute/path`` stores. Register it
    with ``coplib.open(url, plugins=[JsonLinesStorePlugin()])`` or the ``coplib`` entry-point
    group."""

    @hookimpl
    def coplib_open_store(self, url: str, options: Mapping[str, Any]) -> Store | None:
        if not url.startswith("jsonl:"):
            return None
        if not url.startswith("jsonl:///") or len(url) == len("jsonl:///"):
            raise ConfigurationError(f"bad URL {url!r}: use jsonl:///relative/path or jsonl:////absolute/path")
        return JsonLinesStore(url[len("jsonl:///") :])

    @hookimpl
    def coplib_store_schemes(self) -> list[str]:
        return ["jsonl"]
