"""The PostgreSQL store (``postgresql://``, extra ``postgres``): for deployments whose
processes and hosts share one database. Same contract and semantics as the memory store.

psycopg is imported when a store is opened, never at import time, so that coplib works
without it; a missing driver is a `ConfigurationError` saying what to install.

Concurrency model, in short (docs/postgres.md has the long form):

- Aggregates carry a version. A write is ``UPDATE ... WHERE version = expected`` or, for a
  new aggregate, a plain ``INSERT``. A stale version makes the server raise (SQLSTATE
  `CONFLICT_SQLSTATE`), an existing row violates the primary key: either aborts the whole
  transaction, and the store raises `ConcurrencyConflictError` (the engine then retries).
- Event positions are gapless and visible in order: the events table is locked in
  EXCLUSIVE mode just before the events are inserted, and the lock is held to the commit.
- Each commit is one round trip (psycopg pipeline mode): BEGIN, the versioned writes, the
  index side tables, the outbox, the events and COMMIT are sent together.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs

from coplib.adapters.storage import _sql
from coplib.adapters.storage._index import index_row
from coplib.adapters.storage._text_sql import search_row, tsquery
from coplib.domain.community import Community, Role
from coplib.domain.contributions import Question
from coplib.domain.errors import ConcurrencyConflictError, ConfigurationError, CoplibError, StorageError
from coplib.domain.events import DomainEvent
from coplib.domain.health import ContributorFacts, MemberFacts, QuestionFacts
from coplib.domain.history import Aggregate, Ref
from coplib.domain.membership import Membership, MembershipStatus
from coplib.domain.moderation import Flag
from coplib.domain.text_search import SEARCHABLE_KIND_NAMES, searchable_texts
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
    TextHit,
    TextMatches,
    TextSearch,
    Versioned,
    Write,
    check_after,
    check_limit,
)
from coplib.serialization import aggregate_from_stored, aggregate_to_json, event_from_stored, event_to_json

if TYPE_CHECKING:
    from types import ModuleType

    import psycopg

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SCHEMES", "PostgresStore", "PostgresStorePlugin", "mask_password"]

SCHEMES: Final = ("postgresql", "postgres")
_CACHE_SIZE: Final = 20_000  # decoded aggregates kept in memory
_EVENT_CACHE_SIZE: Final = 50_000  # decoded events kept in memory
#: The SQLSTATE the server raises when a versioned write finds another version ("CP409").
CONFLICT_SQLSTATE: Final = "CP409"

# -- schema -----------------------------------------------------------------------------------
#
# Identifiers and tags use the "C" collation: byte order of UTF-8 is code point order, which
# is how Python (and so the memory store) sorts strings, whatever the server's locale.
# Documents are JSON stored as text, not jsonb: jsonb refuses "\u0000" and lone surrogates,
# which free text may hold, and text is read back without being parsed twice. A community's
# name is sorted as its UTF-8 bytes (bytea) for the same reasons.
# Side tables (tags, roles) are maintained by the adapter in the same transaction as their
# aggregate's row, so they carry no foreign key (which would cost a lookup per row).

_V1: Final = (
    """
    CREATE TABLE coplib_aggregates (
        kind text COLLATE "C" NOT NULL,
        id text COLLATE "C" NOT NULL,
        version bigint NOT NULL CHECK (version > 0),
        data text NOT NULL,
        community_id text COLLATE "C",
        person_id text COLLATE "C",
        parent_id text COLLATE "C",
        organisation_id text COLLATE "C",
        created_at timestamptz,
        open_since timestamptz,
        status text COLLATE "C",
        sort_name bytea,
        due_at timestamptz,
        PRIMARY KEY (kind, id)
    )
    """,
    # Raises CONFLICT_SQLSTATE, aborting the transaction, when a versioned UPDATE missed a row.
    f"""
    CREATE FUNCTION coplib_require_written(wanted integer, written bigint) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        IF written <> wanted THEN
            RAISE EXCEPTION 'coplib: % of % versioned writes matched their expected version', written, wanted
                USING ERRCODE = '{CONFLICT_SQLSTATE}';
        END IF;
    END
    $$
    """,
    "CREATE INDEX coplib_aggregates_by_community ON coplib_aggregates (kind, community_id, created_at NULLS FIRST, id)",
    """CREATE INDEX coplib_aggregates_by_person ON coplib_aggregates (kind, person_id, created_at NULLS FIRST, id)
       WHERE person_id IS NOT NULL""",
    """CREATE INDEX coplib_aggregates_by_parent ON coplib_aggregates (kind, parent_id, created_at NULLS FIRST, id)
       WHERE parent_id IS NOT NULL""",
    # Open questions only: the unanswered-questions query reads just the rows it returns.
    """CREATE INDEX coplib_open_questions_by_community ON coplib_aggregates (community_id, open_since, id)
       WHERE kind = 'question' AND open_since IS NOT NULL""",
    """CREATE INDEX coplib_open_questions ON coplib_aggregates (open_since, id)
       WHERE kind = 'question' AND open_since IS NOT NULL""",
    """CREATE INDEX coplib_aggregates_due ON coplib_aggregates (kind, due_at, id)
       WHERE due_at IS NOT NULL""",
    """CREATE INDEX coplib_portfolio ON coplib_aggregates (organisation_id, sort_name, id)
       WHERE kind = 'community'""",
    # A contribution's tags and a membership's expertise, with the question's open_since
    # copied so that "open questions tagged x" is one index range too.
    """
    CREATE TABLE coplib_tags (
        kind text COLLATE "C" NOT NULL,
        id text COLLATE "C" NOT NULL,
        tag text COLLATE "C" NOT NULL,
        community_id text COLLATE "C",
        open_since timestamptz,
        PRIMARY KEY (kind, id, tag)
    )
    """,
    """CREATE INDEX coplib_open_questions_by_tag ON coplib_tags (tag, community_id, open_since, id)
       WHERE kind = 'question' AND open_since IS NOT NULL""",
    """CREATE INDEX coplib_open_questions_by_tag_anywhere ON coplib_tags (tag, open_since, id)
       WHERE kind = 'question' AND open_since IS NOT NULL""",
    """
    CREATE TABLE coplib_membership_roles (
        id text COLLATE "C" NOT NULL,
        role text COLLATE "C" NOT NULL,
        community_id text COLLATE "C" NOT NULL,
        PRIMARY KEY (id, role)
    )
    """,
    "CREATE INDEX coplib_membership_roles_by_community ON coplib_membership_roles (community_id, role)",
    """
    CREATE TABLE coplib_events (
        position bigint PRIMARY KEY CHECK (position > 0),
        id text COLLATE "C" NOT NULL,
        type text COLLATE "C" NOT NULL,
        community_id text COLLATE "C",
        actor_id text COLLATE "C" NOT NULL,
        occurred_at timestamptz NOT NULL,
        data text NOT NULL
    )
    """,
    "CREATE INDEX coplib_events_by_community ON coplib_events (community_id, position)",
    "CREATE INDEX coplib_events_by_community_time ON coplib_events (community_id, occurred_at)",
    "CREATE INDEX coplib_events_by_actor ON coplib_events (actor_id, occurred_at)",
    "CREATE INDEX coplib_events_by_time ON coplib_events (occurred_at)",
    # Messages are written 'pending' in the transaction of their cause; the other columns are
    # the dispatchers' (claims with a lease, attempts, back-off, dead letters).
    """
    CREATE TABLE coplib_outbox (
        id text COLLATE "C" PRIMARY KEY,
        event_id text COLLATE "C" NOT NULL,
        recipient_id text COLLATE "C" NOT NULL,
        topic text COLLATE "C" NOT NULL,
        community_id text COLLATE "C",
        params text NOT NULL,
        created_at timestamptz NOT NULL,
        status text COLLATE "C" NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL,
        last_error text,
        settled_at timestamptz,
        delivered_at timestamptz,
        claimed_by text,
        claimed_until timestamptz
    )
    """,
    "CREATE INDEX coplib_outbox_pending ON coplib_outbox (created_at, id) WHERE status = 'pending'",
    """CREATE INDEX coplib_outbox_due ON coplib_outbox (next_attempt_at, created_at, id)
       WHERE status = 'pending'""",
    "CREATE INDEX coplib_outbox_by_status ON coplib_outbox (status, created_at, id)",
    "CREATE INDEX coplib_outbox_by_recipient ON coplib_outbox (recipient_id, created_at, id)",
)

#: Forward migrations: entry n (from 1) brings a schema at version n-1 to version n. Never
#: edit a released entry: append a new one.
# The full-text index (docs/search.md): one row per live searchable contribution, its terms
# (`coplib.domain.text_search.index_terms`, stemmed by coplib) as a 'simple' tsvector under a
# GIN index. Backfilled from the stored contributions after the statements (`_BACKFILLS`).
_V2: Final = (
    """
    CREATE TABLE coplib_search (
        kind text COLLATE "C" NOT NULL,
        id text COLLATE "C" NOT NULL,
        community_id text COLLATE "C" NOT NULL,
        terms tsvector NOT NULL,
        PRIMARY KEY (kind, id)
    )
    """,
    "CREATE INDEX coplib_search_terms ON coplib_search USING gin (terms)",
    "CREATE INDEX coplib_search_by_community ON coplib_search (community_id, kind)",
)

MIGRATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("aggregates, index side tables, events, outbox", _V1),
    ("the full-text index of the searchable contributions (tsvector, GIN), backfilled", _V2),
    (
        "the outbox by creation, for paging it whole",
        ("CREATE INDEX coplib_outbox_by_creation ON coplib_outbox (created_at, id)",),
    ),
    (
        "the health report's events (acceptances, withdrawals, hidings and showings again) by community",
        (
            "CREATE INDEX coplib_events_health ON coplib_events (community_id, type, position) "
            f"WHERE {_sql.HEALTH_EVENTS_BEFORE_UNACCEPTING_SQL}",  # as released; a later migration widens it
        ),
    ),
    (
        "the open flags of a community (the moderation queue), their status backfilled",
        (
            "UPDATE coplib_aggregates SET status = data::jsonb ->> 'status' WHERE kind = 'flag'",
            "CREATE INDEX coplib_aggregates_open_flags ON coplib_aggregates (community_id, created_at, id) "
            "WHERE kind = 'flag' AND status = 'open'",
        ),
    ),
    (
        "the health report's events by community, over unacceptances too",
        (
            "DROP INDEX coplib_events_health",
            "CREATE INDEX coplib_events_health ON coplib_events (community_id, type, position) "
            f"WHERE {_sql.HEALTH_EVENTS_SQL}",
        ),
    ),
)
SCHEMA_VERSION: Final = len(MIGRATIONS)

_MIGRATIONS_TABLE: Final = "coplib_schema_migrations"
# The advisory lock class of coplib's migrations ("copl"), paired with the schema's name so
# that deployments in different schemas of one database do not wait for each other.
_MIGRATION_LOCK: Final = 0x636F706C

# -- statements -------------------------------------------------------------------------------

_AGGREGATE_COLUMNS: Final = (
    "community_id, person_id, parent_id, organisation_id, created_at, open_since, status, sort_name, due_at"
)
_AGGREGATE_ARRAYS: Final = (
    "%b::text[], %b::text[], %b::text[], %b::text[], %b::timestamptz[], %b::timestamptz[], %b::text[], %b::bytea[],"
    " %b::timestamptz[]"
)
_LOCK_ROWS: Final = """
    SELECT 1 FROM coplib_aggregates a
    JOIN unnest(%b::text[], %b::text[]) AS w(kind, id) ON a.kind = w.kind AND a.id = w.id
    ORDER BY a.kind, a.id FOR UPDATE OF a
"""
# A versioned write that matched no row raises CONFLICT_SQLSTATE, which aborts the transaction
# on the server: no round trip is spent checking before the rest of the unit is sent.
_UPDATE: Final = f"""
    WITH written AS (
        UPDATE coplib_aggregates AS a SET
            version = a.version + 1, data = w.data,
            community_id = w.community_id, person_id = w.person_id, parent_id = w.parent_id,
            organisation_id = w.organisation_id, created_at = w.created_at, open_since = w.open_since,
            status = w.status, sort_name = w.sort_name, due_at = w.due_at
        FROM unnest(%b::text[], %b::text[], %b::bigint[], %b::text[], {_AGGREGATE_ARRAYS})
            AS w(kind, id, expected, data, {_AGGREGATE_COLUMNS})
        WHERE a.kind = w.kind AND a.id = w.id AND a.version = w.expected
        RETURNING 1
    )
    SELECT coplib_require_written(%s::integer, (SELECT count(*) FROM written))
"""
# A plain INSERT: an existing row is a unique violation of the primary key, i.e. a conflict.
_INSERT: Final = f"""
    INSERT INTO coplib_aggregates (kind, id, version, data, {_AGGREGATE_COLUMNS})
    SELECT kind, id, 1, data, {_AGGREGATE_COLUMNS}
    FROM unnest(%b::text[], %b::text[], %b::text[], {_AGGREGATE_ARRAYS})
        AS w(kind, id, data, {_AGGREGATE_COLUMNS})
"""
_DELETE_TAGS: Final = """
    DELETE FROM coplib_tags t USING unnest(%b::text[], %b::text[]) AS w(kind, id)
    WHERE t.kind = w.kind AND t.id = w.id
"""
_INSERT_TAGS: Final = """
    INSERT INTO coplib_tags (kind, id, tag, community_id, open_since)
    SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::timestamptz[])
    ON CONFLICT DO NOTHING
"""
_DELETE_ROLES: Final = "DELETE FROM coplib_membership_roles WHERE id = ANY(%b::text[])"
_INSERT_ROLES: Final = """
    INSERT INTO coplib_membership_roles (id, role, community_id)
    SELECT * FROM unnest(%b::text[], %b::text[], %b::text[])
    ON CONFLICT DO NOTHING
"""
_INSERT_MESSAGES: Final = """
    INSERT INTO coplib_outbox (id, event_id, recipient_id, topic, community_id, params, created_at, next_attempt_at)
    SELECT *, created_at
    FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::timestamptz[])
        AS m(id, event_id, recipient_id, topic, community_id, params, created_at)
    ON CONFLICT (id) DO NOTHING
"""
# Why an EXCLUSIVE lock: a position must never become visible after a higher one, or a reader
# paging with `events(after=...)` would skip it for good. A sequence hands out numbers in
# insert order but transactions commit in any order, so instead the events table is locked
# against other writers (readers, which take ACCESS SHARE, are not blocked) from just before
# the insert to the commit: commit order is then position order, and positions can be
# max + 1, max + 2... with no gaps even when a transaction rolls back. The lock is taken last
# and released by the COMMIT sent in the same pipeline, so it is held for one server-side
# stretch of work, never across a round trip to the client.
_LOCK_EVENTS: Final = "LOCK TABLE coplib_events IN EXCLUSIVE MODE"
_INSERT_EVENTS: Final = """
    INSERT INTO coplib_events (position, id, type, community_id, actor_id, occurred_at, data)
    SELECT last.position + e.n, e.id, e.type, e.community_id, e.actor_id, e.occurred_at, e.data
    FROM (SELECT coalesce(max(position), 0) AS position FROM coplib_events) AS last,
        unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::timestamptz[], %b::text[])
            WITH ORDINALITY AS e(id, type, community_id, actor_id, occurred_at, data, n)
    RETURNING position
"""


_DELETE_SEARCH: Final = """
    DELETE FROM coplib_search s USING unnest(%b::text[], %b::text[]) AS w(kind, id)
    WHERE s.kind = w.kind AND s.id = w.id
"""
_INSERT_SEARCH: Final = """
    INSERT INTO coplib_search (kind, id, community_id, terms)
    SELECT kind, id, community_id, to_tsvector('simple', terms)
    FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[]) AS w(kind, id, community_id, terms)
    ON CONFLICT (kind, id) DO UPDATE SET community_id = excluded.community_id, terms = excluded.terms
"""
_SEARCH_WHERE: Final = """
    FROM coplib_search s, to_tsquery('simple', %s) AS q
    WHERE s.terms @@ q AND s.community_id = ANY(%s::text[]) AND s.kind = ANY(%s::text[])
"""


def _search_columns(rows: Sequence[tuple[str, str, str, str]]) -> tuple[list[str], ...]:
    columns: tuple[list[str], ...] = ([], [], [], [])
    for row in rows:
        for column, value in zip(columns, row):
            column.append(value)
    return columns


def _backfill_search(conn: psycopg.Connection[Any]) -> None:
    kinds = sorted(SEARCHABLE_KIND_NAMES)
    found = conn.execute("SELECT kind, id, data FROM coplib_aggregates WHERE kind = ANY(%s::text[])", (kinds,))
    rows = [
        r for kind, id_, data in found.fetchall() if (r := search_row(kind, id_, aggregate_from_stored(kind, data)))
    ]
    if rows:
        conn.execute(_INSERT_SEARCH, _search_columns(rows))


#: What a migration computes in Python once its statements ran, by version.
_BACKFILLS: Final = {2: _backfill_search}

# -- helpers ----------------------------------------------------------------------------------


def mask_password(url: str) -> str:
    """`url` with any password (in the user part or a ``password=`` parameter) shown as ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hosts = netloc.rpartition("@")
        if ":" in userinfo:
            netloc = f"{userinfo.split(':', 1)[0]}:***@{hosts}"
    query = parts.query
    if "password" in query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if k == "password" else v) for k, v in pairs], safe="*=- ")
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _import_psycopg() -> ModuleType:
    try:
        import psycopg
    except ImportError as exc:
        raise ConfigurationError(
            f"the PostgreSQL store needs psycopg 3, which is not installed ({exc}): pip install coplib[postgres]"
        ) from exc
    return psycopg


def _storable(text: str) -> str:
    """JSON text PostgreSQL accepts: a lone surrogate (legal in a Python string, not in
    UTF-8) is written as a JSON escape, which reads back as the same string."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(json.loads(text), ensure_ascii=True, separators=(",", ":"), sort_keys=True)
    return text


def _sort_key(name: str | None) -> bytes | None:
    return name.encode("utf-8", "surrogatepass") if name is not None else None


def _same(value: datetime) -> datetime:
    return value  # psycopg sends an aware datetime as timestamptz


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _any_of(column: str, values: Sequence[str]) -> tuple[str, list[Any]]:
    return f"{column} = ANY(%b::text[])", [list(values)]


def _day(value: date) -> date:
    return value


def _like(column: str, pattern: str) -> tuple[str, list[Any]]:
    # Only * is a wildcard in a pattern: LIKE's own wildcards and its escape are escaped.
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%")
    return f"{column} LIKE %s", [escaped]


def _none_of(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    if not values:
        return "", []
    return f" AND NOT ({column} = ANY(%b::text[]))", [list(values)]


#: How this store spells the health report's statements (`_sql.question_facts`...).
POSTGRES_HEALTH: Final = _sql.HealthDialect(
    week="to_char(date_trunc('week', {col} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')",
    month="to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM')",
    plus_days="({col} + make_interval(days => %s))",
    concat_distinct="string_agg(DISTINCT {expr}, ',')",
    contributions="coplib_aggregates {alias}",
    threads="coplib_aggregates {alias}",
    # text, not jsonb: the documents are stored as text (see the schema's comment)
    json_field=lambda name: f"(data::json) ->> '{name}'",
    matches=_like,
    none_of=_none_of,
    one_of=lambda column, values: (f"{column} = ANY(%b::text[])", [list(values)]),
    correlated=False,
)


#: How this store spells the shared statements of `coplib.adapters.storage._sql`.
POSTGRES: Final = _sql.Dialect(
    mark="%s",
    prefix="coplib_",
    time=_same,
    read_time=_utc,
    # date_trunc('week', ...) starts weeks on Monday (ISO), like the memory store.
    period_start={period: f"date_trunc('{period.value}', occurred_at AT TIME ZONE 'UTC')::date" for period in Period},
    read_day=_day,
    by_creation="created_at NULLS FIRST, id",
    by_creation_descending="created_at DESC NULLS LAST, id DESC",
    ordered_join="JOIN",
    tag_time="open_since",
    any_of=_any_of,
    # SKIP LOCKED: dispatchers claiming at the same moment take disjoint messages instead of
    # queueing behind each other's row locks.
    claim_lock=" FOR UPDATE SKIP LOCKED",
)


@attrs.frozen
class PostgresSettings:
    """What ``coplib.open(url, options=...)`` may set for a PostgreSQL store."""

    #: Seconds to wait for the server when connecting (unless the URL sets connect_timeout).
    connect_timeout: float = 10.0
    #: Seconds a statement waits for a lock before failing; None: the server's setting.
    lock_timeout: float | None = None
    #: Shown in pg_stat_activity (unless the URL sets application_name).
    application_name: str = "coplib"

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> PostgresSettings:
        """Validated settings; `ConfigurationError` names any unknown or bad option."""
        known = [f.name for f in attrs.fields(cls)]
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ConfigurationError(
                f"unknown PostgreSQL store option(s) {', '.join(map(repr, unknown))}; known: {', '.join(known)}"
            )
        for name in ("connect_timeout", "lock_timeout"):
            value = options.get(name)
            if name not in options or (value is None and name == "lock_timeout"):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
                raise ConfigurationError(f"PostgreSQL store option {name!r} is a number of seconds > 0, got {value!r}")
        if not isinstance(options.get("application_name", ""), str):
            raise ConfigurationError(
                f"PostgreSQL store option 'application_name' is a string, got {options['application_name']!r}"
            )
        return cls(**options)


@attrs.frozen
class _Rows:
    """The arrays of one commit, built before taking the store's lock."""

    updates: tuple[list[Any], ...]
    inserts: tuple[list[Any], ...]
    updated_refs: tuple[list[str], list[str]]
    tags: tuple[list[Any], ...]
    roles: tuple[list[str], list[str], list[str]]
    membership_updates: list[str]
    messages: tuple[list[Any], ...]
    events: tuple[list[Any], ...]

    @classmethod
    def of(cls, changes: Changeset) -> _Rows:
        updates: tuple[list[Any], ...] = tuple([] for _ in range(13))
        inserts: tuple[list[Any], ...] = tuple([] for _ in range(12))
        tags: tuple[list[Any], ...] = tuple([] for _ in range(5))
        roles: tuple[list[str], list[str], list[str]] = ([], [], [])
        membership_updates: list[str] = []
        # Sorted, so that concurrent writers lock shared rows in one order and cannot deadlock.
        for write in sorted(changes.writes, key=lambda w: (w.ref.kind, w.ref.id)):
            idx = index_row(write.ref, write.value)
            organisation_id = write.value.organisation_id if isinstance(write.value, Community) else None
            row = [
                idx.community_id,
                idx.person_id,
                idx.parent_id,
                organisation_id,
                idx.created_at,
                idx.open_since,
                idx.status,
                _sort_key(idx.sort_name),
                idx.due_at,
            ]
            data = _storable(aggregate_to_json(write.value))
            if write.expected_version:
                for column, value in zip(updates, [idx.kind, idx.id, write.expected_version, data, *row]):
                    column.append(value)
                if idx.kind == "membership":
                    membership_updates.append(idx.id)
            else:
                for column, value in zip(inserts, [idx.kind, idx.id, data, *row]):
                    column.append(value)
            for tag in sorted(idx.tags):
                for column, value in zip(tags, [idx.kind, idx.id, tag, idx.community_id, idx.open_since]):
                    column.append(value)
            if idx.kind == "membership" and idx.community_id is not None:
                for role in sorted(idx.roles):
                    roles[0].append(idx.id)
                    roles[1].append(role)
                    roles[2].append(idx.community_id)
        messages: tuple[list[Any], ...] = tuple([] for _ in range(7))
        for m in changes.messages:
            params = _storable(json.dumps(m.params, sort_keys=True, ensure_ascii=False))
            for column, value in zip(
                messages, [m.id, m.event_id, m.recipient_id, m.topic, m.community_id, params, m.created_at]
            ):
                column.append(value)
        events: tuple[list[Any], ...] = tuple([] for _ in range(6))
        for e in changes.events:
            data = _storable(event_to_json(e))
            for column, value in zip(events, [e.id, e.TYPE, e.community_id, e.actor_id, e.occurred_at, data]):
                column.append(value)
        return cls(
            updates=updates,
            inserts=inserts,
            updated_refs=(updates[0], updates[1]),
            tags=tags,
            roles=roles,
            membership_updates=membership_updates,
            messages=messages,
            events=events,
        )


def _is_conflict(exc: Exception) -> bool:
    """Whether a driver error means "another writer got there first" (nothing was written)."""
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate == CONFLICT_SQLSTATE:
        return True
    if sqlstate == "23505":  # unique_violation
        return getattr(getattr(exc, "diag", None), "constraint_name", None) == "coplib_aggregates_pkey"
    # A deadlock or serialization failure aborted the transaction; retrying is safe.
    return sqlstate in ("40P01", "40001")


class PostgresStore(Store, TextSearch, HistoryRewriting):
    """A `Store` on a PostgreSQL database, shared safely by many processes and hosts.

    One connection per store, used under a lock (so one store may serve several threads);
    it is reopened on the next call after the server dropped it.
    """

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float = 10.0,
        lock_timeout: float | None = None,
        application_name: str = "coplib",
    ) -> None:
        if not isinstance(url, str):
            raise ConfigurationError(f"a PostgreSQL URL is a string, got {type(url).__name__}")
        self.url = mask_password(url)
        if url.split(":", 1)[0].lower() not in SCHEMES:
            raise ConfigurationError(f"not a PostgreSQL URL: {self.url!r}; use postgresql://user@host:port/database")
        self._raw_url = url
        self._settings = PostgresSettings(connect_timeout, lock_timeout, application_name)
        self._pg = _import_psycopg()
        try:
            self._params = self._pg.conninfo.conninfo_to_dict(url)
        except self._pg.Error as exc:
            raise ConfigurationError(f"invalid PostgreSQL URL {self.url!r}: {exc}") from exc
        self._lock = threading.RLock()
        self._closed = False
        # Decoding is the costly part of a read. A (kind, id, version) names one content for
        # good (versions only grow, rows are never deleted), and so does a committed event
        # position: what was decoded once is served from memory, and another process's write
        # is never hidden (it has another version or position).
        self._cache: dict[tuple[str, str], tuple[int, Aggregate]] = {}
        self._event_cache: dict[int, DomainEvent] = {}
        self._conn: psycopg.Connection[Any] | None = None
        with self._lock:
            self._connection()
            try:
                with self._driver_errors("migrating the schema"):
                    self._migrate()
            except BaseException:
                self.close()
                raise

    def __repr__(self) -> str:
        return f"PostgresStore({self.url!r})"

    # -- connection ------------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        kwargs: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in self._params:
            kwargs["connect_timeout"] = max(1, math.ceil(self._settings.connect_timeout))
        if "application_name" not in self._params:
            kwargs["application_name"] = self._settings.application_name
        try:
            conn: psycopg.Connection[Any] = self._pg.connect(self._raw_url, **kwargs)
        except self._pg.OperationalError as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise StorageError(
                f"cannot connect to the PostgreSQL server for {self.url}: {reason}; check that the server is "
                "running and reachable, and the URL's host, port, user, password and database"
            ) from exc
        except self._pg.Error as exc:
            raise StorageError(f"cannot connect to the PostgreSQL server for {self.url}: {exc}") from exc
        try:
            # Timestamps come back in UTC, like every datetime coplib hands out.
            conn.execute("SET TIME ZONE 'UTC'")
            if self._settings.lock_timeout is not None:
                conn.execute(f"SET lock_timeout = {int(self._settings.lock_timeout * 1000)}")
        except self._pg.Error as exc:
            conn.close()
            raise StorageError(f"cannot set up the session on {self.url}: {exc}") from exc
        return conn

    def _connection(self) -> psycopg.Connection[Any]:
        if self._closed:
            raise StorageError(f"the store {self.url} is closed")
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    @contextlib.contextmanager
    def _driver_errors(self, doing: str) -> Iterator[None]:
        """Turn driver errors into `StorageError` (the cause chained)."""
        try:
            yield
        except CoplibError:
            raise
        except (self._pg.Error, UnicodeError) as exc:
            lost = self._conn is not None and self._conn.closed
            if lost:
                raise StorageError(
                    f"the connection to {self.url} was lost while {doing}: {exc}; the store reconnects on the next call"
                ) from exc
            sqlstate = getattr(exc, "sqlstate", None)
            code = f" [{sqlstate}]" if sqlstate else ""
            raise StorageError(f"PostgreSQL failed while {doing} on {self.url}{code}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._cache.clear()
            self._event_cache.clear()
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.close()
                self._conn = None

    # -- schema ----------------------------------------------------------------------------------

    def _migrate(self) -> None:
        conn = self._connection()
        current = self._schema_version(conn)
        if current == len(MIGRATIONS):
            return
        with conn.transaction():
            # Serialise concurrent openers: the second waits, then finds nothing to do.
            conn.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(coalesce(current_schema(), '')))", (_MIGRATION_LOCK,)
            )
            conn.execute(
                f"""CREATE TABLE IF NOT EXISTS {_MIGRATIONS_TABLE} (
                    version integer PRIMARY KEY,
                    description text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            current = self._schema_version(conn)
            for version, (description, statements) in enumerate(MIGRATIONS, start=1):
                if version <= current:
                    continue
                for statement in statements:
                    conn.execute(statement)
                if version in _BACKFILLS:
                    _BACKFILLS[version](conn)
                conn.execute(
                    f"INSERT INTO {_MIGRATIONS_TABLE} (version, description) VALUES (%s, %s)", (version, description)
                )

    def _schema_version(self, conn: psycopg.Connection[Any]) -> int:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (_MIGRATIONS_TABLE,)).fetchone()
        if row is None or not row[0]:
            return 0
        found = conn.execute(f"SELECT coalesce(max(version), 0) FROM {_MIGRATIONS_TABLE}").fetchone()
        version = int(found[0]) if found else 0
        if version > len(MIGRATIONS):
            raise StorageError(
                f"the database at {self.url} has coplib schema version {version}, written by a newer coplib "
                f"(this one knows versions up to {len(MIGRATIONS)}): upgrade coplib to open it; it was left unchanged"
            )
        return version

    # -- writes ----------------------------------------------------------------------------------

    def commit(self, changes: Changeset) -> list[RecordedEvent]:
        if not (changes.writes or changes.events or changes.messages):
            with self._lock:
                self._connection()
            return []
        rows = _Rows.of(changes)
        with self._lock:
            search = self._search_changes(changes)
            conn = self._connection()
            try:
                positions = self._commit(conn, rows, search)
            except (self._pg.Error, UnicodeError) as exc:
                if _is_conflict(exc):
                    # Rolled back, nothing written: the engine retries a conflict like any other.
                    raise self._conflict_error(changes.writes) from exc
                if conn.closed:
                    raise StorageError(
                        f"the connection to {self.url} was lost while committing a unit of work: {exc}; whether "
                        "it was applied is unknown (read it back to know); the store reconnects on the next call"
                    ) from exc
                with self._driver_errors("committing a unit of work (rolled back: nothing was written)"):
                    raise
        with self._lock:
            for write in changes.writes:
                self._remember(write.ref.kind, write.ref.id, write.expected_version + 1, write.value)
            if not positions:
                return []
            start = min(positions)
            recorded = [RecordedEvent(start + i, event) for i, event in enumerate(changes.events)]
            for r in recorded:
                self._remember_event(r.position, r.event)
        return recorded

    # -- decoding, with the caches -----------------------------------------------------------------

    def _remember(self, kind: str, id_: str, version: int, value: Aggregate) -> None:
        cache = self._cache
        cache.pop((kind, id_), None)  # re-inserted last: the oldest entries go first
        cache[(kind, id_)] = (version, value)
        if len(cache) > _CACHE_SIZE:
            del cache[next(iter(cache))]

    def _remember_event(self, position: int, event: DomainEvent) -> None:
        cache = self._event_cache
        cache[position] = event
        if len(cache) > _EVENT_CACHE_SIZE:
            del cache[next(iter(cache))]

    def _decode(self, kind: str, id_: str, version: int, data: str) -> Aggregate:
        cached = self._cache.get((kind, id_))
        if cached is not None and cached[0] == version:
            return cached[1]
        value = aggregate_from_stored(kind, data)
        self._remember(kind, id_, version, value)
        return value

    def _aggregates(self, doing: str, query: str, params: Sequence[Any]) -> list[Aggregate]:
        """Rows of (kind, id, version, data), decoded."""
        with self._lock:
            rows = self._fetch(doing, query, params)
            return [self._decode(kind, id_, int(version), data) for kind, id_, version, data in rows]

    def _search_changes(self, changes: Changeset) -> tuple[list[tuple[str, str]], list[tuple[str, str, str, str]]]:
        """The full-text index's deletions and rows for `changes`: a searchable write whose
        searched texts did not change (as far as this store knows) leaves it alone."""
        deletes: list[tuple[str, str]] = []
        rows: list[tuple[str, str, str, str]] = []
        for write in changes.writes:
            ref = write.ref
            if ref.kind not in SEARCHABLE_KIND_NAMES:
                continue
            if write.expected_version:
                cached = self._cache.get((ref.kind, ref.id))
                known = cached[1] if cached is not None and cached[0] == write.expected_version else None
                if known is not None and searchable_texts(known) == searchable_texts(write.value):
                    continue
                deletes.append((ref.kind, ref.id))
            found = search_row(ref.kind, ref.id, write.value)
            if found is not None:
                rows.append(found)
        return deletes, rows

    def _commit(
        self,
        conn: psycopg.Connection[Any],
        rows: _Rows,
        search: tuple[list[tuple[str, str]], list[tuple[str, str, str, str]]] = ([], []),
    ) -> list[int]:
        """The whole unit of work in one round trip: BEGIN, every statement and COMMIT are
        pipelined; a stale version or an existing row makes the server abort the lot."""
        events_cursor = conn.cursor()
        failure: Exception | None = None
        # BEGIN and COMMIT are sent by hand rather than with conn.transaction(), which logs a
        # warning from psycopg whenever a statement fails inside a pipeline.
        with conn.pipeline() as pipeline:
            try:
                conn.execute("BEGIN")
                if len(rows.updates[0]) > 1:
                    conn.execute(_LOCK_ROWS, rows.updated_refs)
                if rows.updates[0]:
                    conn.execute(_UPDATE, (*rows.updates, len(rows.updates[0])))
                    conn.execute(_DELETE_TAGS, rows.updated_refs)
                if rows.membership_updates:
                    conn.execute(_DELETE_ROLES, (rows.membership_updates,))
                if rows.inserts[0]:
                    conn.execute(_INSERT, rows.inserts)
                if rows.tags[0]:
                    conn.execute(_INSERT_TAGS, rows.tags)
                if rows.roles[0]:
                    conn.execute(_INSERT_ROLES, rows.roles)
                if rows.messages[0]:
                    conn.execute(_INSERT_MESSAGES, rows.messages)
                if search[0]:
                    conn.execute(_DELETE_SEARCH, ([k for k, _ in search[0]], [i for _, i in search[0]]))
                if search[1]:
                    conn.execute(_INSERT_SEARCH, _search_columns(search[1]))
                if rows.events[0]:
                    conn.execute(_LOCK_EVENTS)
                    events_cursor.execute(_INSERT_EVENTS, rows.events)
                conn.execute("COMMIT")
                pipeline.sync()
            except Exception as exc:  # re-raised below, once the pipeline is closed
                failure = exc
                # The statements queued after the failing one answer "pipeline aborted":
                # collect those answers now, or the pipeline's exit raises them instead.
                for _ in range(3):
                    try:
                        pipeline.sync()
                        break
                    except self._pg.Error:
                        if conn.closed:
                            break
        if failure is not None:
            if not conn.closed and conn.info.transaction_status != self._pg.pq.TransactionStatus.IDLE:
                # conn.rollback(), not a ROLLBACK statement: psycopg then also resets its cache
                # of prepared statements at once, which it would otherwise do inside the next
                # pipeline, after new statements were prepared ("prepared statement does not
                # exist").
                with contextlib.suppress(self._pg.Error):
                    conn.rollback()
            raise failure
        return [row[0] for row in events_cursor.fetchall()] if rows.events[0] else []

    def _conflict_error(self, writes: Sequence[Write]) -> ConcurrencyConflictError:
        """The error naming the first write whose expected version is not the stored one."""
        stored: dict[Ref, Versioned[Aggregate]] = {}
        with contextlib.suppress(CoplibError):
            stored = self.get_many(w.ref for w in writes)
        for write in writes:
            found = stored.get(write.ref)
            if (found.version if found else 0) != write.expected_version:
                return ConcurrencyConflictError(
                    write.ref.kind, write.ref.id, write.expected_version, found.version if found else None
                )
        # The rival has gone again (or the read failed): name the first write.
        first = writes[0] if writes else None
        found = stored.get(first.ref) if first else None
        return ConcurrencyConflictError(
            first.ref.kind if first else "aggregate",
            first.ref.id if first else "",
            first.expected_version if first else 0,
            found.version if found else None,
        )

    # -- reads -----------------------------------------------------------------------------------

    def _fetch(self, doing: str, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            conn = self._connection()
            with self._driver_errors(doing):
                rows: list[tuple[Any, ...]] = conn.execute(query, params).fetchall()
                return rows

    def get(self, ref: Ref) -> Versioned[Aggregate] | None:
        rows = self._fetch(
            f"reading {ref.kind} {ref.id!r}",
            "SELECT version, data FROM coplib_aggregates WHERE kind = %s AND id = %s",
            (ref.kind, ref.id),
        )
        if not rows:
            return None
        version, data = rows[0]
        with self._lock:
            return Versioned(self._decode(ref.kind, ref.id, int(version), data), int(version))

    def get_many(self, refs: Iterable[Ref]) -> dict[Ref, Versioned[Aggregate]]:
        wanted = list(dict.fromkeys(refs))
        if not wanted:
            with self._lock:
                self._connection()
            return {}
        rows = self._fetch(
            f"reading {len(wanted)} aggregates",
            """SELECT a.kind, a.id, a.version, a.data FROM coplib_aggregates a
               JOIN unnest(%b::text[], %b::text[]) AS r(kind, id) ON a.kind = r.kind AND a.id = r.id""",
            ([r.kind for r in wanted], [r.id for r in wanted]),
        )
        with self._lock:
            return {
                Ref(kind, key): Versioned(self._decode(kind, key, int(version), data), int(version))
                for kind, key, version, data in rows
            }

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
        return self._aggregates(
            f"finding {kind} aggregates", *_sql.find(POSTGRES, kind, where, limit, after, newest_first)
        )

    def count(self, kind: str, where: Filter = EVERYTHING) -> int:
        return int(self._fetch(f"counting {kind} aggregates", *_sql.count(POSTGRES, kind, where))[0][0])

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
        sql, params = _sql.unanswered_questions(
            POSTGRES, community_id, tag=tag, asked_before=asked_before, limit=limit, after=after
        )
        found = self._aggregates("finding unanswered questions", sql, params)
        return [q for q in found if isinstance(q, Question)]

    def open_flags(
        self, community_id: str, *, limit: int = 100, after: tuple[datetime, str] | None = None
    ) -> list[Flag]:
        check_limit(limit)
        check_after(after)
        sql, params = _sql.open_flags(POSTGRES, community_id, limit=limit, after=after)
        return [f for f in self._aggregates("finding open flags", sql, params) if isinstance(f, Flag)]

    def members(
        self,
        community_id: str,
        *,
        role: Role | None = None,
        tag: str | None = None,
        statuses: Sequence[MembershipStatus] = ACTIVE_ONLY,
    ) -> list[Membership]:
        where = ["a.kind = 'membership'", "a.community_id = %s", "a.status = ANY(%b::text[])"]
        params: list[Any] = [community_id, [MembershipStatus(s).value for s in statuses]]
        if role is not None:
            where.append("EXISTS (SELECT 1 FROM coplib_membership_roles r WHERE r.id = a.id AND r.role = %s)")
            params.append(Role(role).value)
        if tag is not None:
            where.append(
                "EXISTS (SELECT 1 FROM coplib_tags g WHERE g.kind = 'membership' AND g.id = a.id AND g.tag = %s)"
            )
            params.append(tag)
        query = (
            f"SELECT a.kind, a.id, a.version, a.data FROM coplib_aggregates a WHERE {' AND '.join(where)} "
            "ORDER BY a.person_id"
        )
        found = self._aggregates(f"listing members of {community_id!r}", query, params)
        return [m for m in found if isinstance(m, Membership)]

    def communities(self, organisation_id: str | None = None) -> list[Community]:
        found = self._aggregates("listing communities", *_sql.communities(POSTGRES, organisation_id))
        return [c for c in found if isinstance(c, Community)]

    def _recorded(self, rows: list[tuple[Any, ...]]) -> list[RecordedEvent]:
        with self._lock:
            cache = self._event_cache
            out = []
            for position, data in rows:
                event = cache.get(position)
                if event is None:
                    event = event_from_stored(data)
                    self._remember_event(position, event)
                out.append(RecordedEvent(int(position), event))
            return out

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
        statement = _sql.events(POSTGRES, community_id, after, limit, before, newest_first)
        return self._recorded(self._fetch("reading events", *statement))

    def last_position(self) -> int:
        rows = self._fetch("reading the log's last position", *_sql.last_position(POSTGRES))
        return int(rows[0][0])

    def activity(
        self, person_id: str, *, since: datetime, until: datetime, community_id: str | None = None
    ) -> list[RecordedEvent]:
        sql, params = _sql.activity(POSTGRES, person_id, since, until, community_id)
        return self._recorded(self._fetch(f"reading the activity of {person_id!r}", sql, params))

    def count_events(
        self,
        community_id: str | None,
        *,
        since: datetime,
        until: datetime,
        period: Period,
        types: Sequence[str] | None = None,
    ) -> dict[date, int]:
        sql, params = _sql.count_events(POSTGRES, community_id, since, until, period, types)
        return {POSTGRES.read_day(start): int(count) for start, count in self._fetch("counting events", sql, params)}

    # -- the facts of the health report ----------------------------------------------------------

    def _health_read(self, doing: str, statements: Sequence[tuple[str, list[Any]]]) -> list[list[tuple[Any, ...]]]:
        """The rows of each statement, read in one snapshot (a repeatable-read transaction)."""
        with self._lock:
            conn = self._connection()
            with self._driver_errors(doing), conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                return [conn.execute(sql, params).fetchall() for sql, params in statements]

    def _withdrawn(self, community_id: str) -> list[str]:
        rows = self._fetch(
            "reading withdrawals", *_sql.withdrawn_contributions(POSTGRES, POSTGRES_HEALTH, community_id)
        )
        return sorted({id_ for _, id_ in _sql.left_out(rows)})

    def question_facts(
        self, community_id: str, *, until: datetime, unattributed: Sequence[str] = ()
    ) -> list[QuestionFacts]:
        withdrawn = self._withdrawn(community_id)
        gone = set(withdrawn)
        accepted_rows, rows = self._health_read(
            "reading the questions' facts",
            [
                _sql.acceptances(POSTGRES, POSTGRES_HEALTH, community_id),
                _sql.question_facts(POSTGRES, POSTGRES_HEALTH, community_id, until, unattributed, withdrawn),
            ],
        )
        accepted = dict(accepted_rows)
        return [
            QuestionFacts(
                qid,
                asker,
                _utc(created),
                _utc(first) if first is not None else None,
                tuple(sorted(set(helpers.split(" ")))) if helpers else (),
                accepted.get(qid) is not None and accepted[qid] not in gone,  # None: unaccepted since
            )
            for qid, asker, created, first, helpers in rows
        ]

    def contributor_facts(
        self,
        community_id: str,
        *,
        since: datetime | None,
        until: datetime,
        experts: Sequence[str] = (),
        window: timedelta = timedelta(days=90),
    ) -> ContributorFacts:
        withdrawn = self._withdrawn(community_id)
        statements = _sql.contributor_facts(
            POSTGRES, POSTGRES_HEALTH, community_id, since, until, _sql.window_days(window), withdrawn, list(experts)
        )
        people, cells = self._health_read("reading the contributors' facts", statements)
        return _sql.contributor_facts_from_rows(people, cells, _utc)

    def member_facts(self, community_id: str) -> list[MemberFacts]:
        rows = self._fetch("reading the members' facts", *_sql.member_facts(POSTGRES, community_id))
        return [MemberFacts(p, _utc(j) if j is not None else None, bool(e)) for p, j, e in rows]

    # -- outbox ----------------------------------------------------------------------------------

    def pending_messages(self, *, limit: int = 100) -> list[OutboxMessage]:
        check_limit(limit)
        rows = self._fetch("reading pending messages", *_sql.pending_messages(POSTGRES, limit))
        return [_sql.entry_from_row(POSTGRES, row).message for row in rows]

    def _execute_each(self, doing: str, statement: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run `statement` once per row, in order, in one transaction; the rows changed."""
        with self._lock:
            conn = self._connection()
            if not rows:
                return 0
            with self._driver_errors(doing), conn.transaction():
                cursor = conn.cursor()
                cursor.executemany(statement, rows)
                return int(cursor.rowcount)

    def mark_delivered(self, message_ids: Sequence[str], *, at: datetime) -> None:
        self._execute_each("marking messages delivered", *_sql.mark_delivered(POSTGRES, message_ids, at))

    def claim_messages(self, *, worker: str, now: datetime, lease: timedelta, limit: int = 100) -> list[OutboxEntry]:
        check_limit(limit)
        sql, params = _sql.claim_messages(POSTGRES, worker, now, lease, limit)
        claimed = [
            _sql.entry_from_row(POSTGRES, row) for row in self._fetch(f"claiming messages for {worker!r}", sql, params)
        ]
        return sorted(claimed, key=lambda e: (e.next_attempt_at, e.message.created_at, e.message.id))

    def settle_messages(self, outcomes: Sequence[Outcome], *, worker: str) -> int:
        return self._execute_each(f"settling messages of {worker!r}", *_sql.settle_messages(POSTGRES, outcomes, worker))

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
        rows = self._fetch("listing the outbox", *_sql.outbox(POSTGRES, status, recipient_id, limit, after))
        return [_sql.entry_from_row(POSTGRES, row) for row in rows]

    def requeue(self, message_ids: Sequence[str], *, now: datetime) -> int:
        return self._execute_each("requeueing messages", *_sql.requeue(POSTGRES, message_ids, now))

    # -- timers ----------------------------------------------------------------------------------

    def find_due(self, kind: str, *, before: datetime, limit: int = 100) -> list[Aggregate]:
        check_limit(limit)
        return self._aggregates(f"finding due {kind} aggregates", *_sql.find_due(POSTGRES, kind, before, limit))

    # -- full-text search (docs/search.md) -----------------------------------------------------

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
        if not query or not community_ids or not kinds:
            with self._lock:
                self._connection()
            return TextMatches((), 0)
        params = [tsquery(query), list(community_ids), list(kinds)]
        rows = self._fetch(
            "searching contributions",
            f"SELECT s.kind, s.id, s.community_id, ts_rank(s.terms, q, 1) AS score {_SEARCH_WHERE} "
            "ORDER BY score DESC, s.id, s.kind LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        total = self._fetch("counting search hits", f"SELECT count(*) {_SEARCH_WHERE}", params)[0][0]
        return TextMatches(tuple(TextHit(k, i, c, float(score)) for k, i, c, score in rows), int(total))

    # -- the rewriting of history (docs/personal-data.md) -----------------------------------

    def rewrite_history(self, rewrite: HistoryRewrite) -> None:
        with self._lock:
            conn = self._connection()
            try:
                with self._driver_errors("rewriting history"), conn.transaction():
                    self._rewrite(conn, rewrite)
            finally:
                self._cache.clear()
                self._event_cache.clear()

    @staticmethod
    def _rewrite(conn: psycopg.Connection[Any], rewrite: HistoryRewrite) -> None:
        def version_of(ref: Ref) -> int:
            row = conn.execute(
                "SELECT version FROM coplib_aggregates WHERE kind = %s AND id = %s FOR UPDATE", (ref.kind, ref.id)
            ).fetchone()
            return int(row[0]) if row else 0

        def delete(ref: Ref) -> None:
            key = (ref.kind, ref.id)
            conn.execute("DELETE FROM coplib_tags WHERE kind = %s AND id = %s", key)
            if ref.kind == "membership":
                conn.execute("DELETE FROM coplib_membership_roles WHERE id = %s", (ref.id,))
            conn.execute("DELETE FROM coplib_search WHERE kind = %s AND id = %s", key)
            conn.execute("DELETE FROM coplib_aggregates WHERE kind = %s AND id = %s", key)

        for change in rewrite.aggregates:
            old = version_of(change.ref)
            delete(change.ref)
            if change.value is None:
                continue
            if change.new_ref == change.ref:
                version = old + 1
            else:
                version = version_of(change.new_ref) + 1
                delete(change.new_ref)
            ref, value = change.new_ref, change.value
            idx = index_row(ref, value)
            organisation_id = value.organisation_id if isinstance(value, Community) else None
            conn.execute(
                f"INSERT INTO coplib_aggregates (kind, id, version, data, {_AGGREGATE_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    ref.kind,
                    ref.id,
                    version,
                    _storable(aggregate_to_json(value)),
                    idx.community_id,
                    idx.person_id,
                    idx.parent_id,
                    organisation_id,
                    idx.created_at,
                    idx.open_since,
                    idx.status,
                    _sort_key(idx.sort_name),
                    idx.due_at,
                ),
            )
            for tag in sorted(idx.tags):
                conn.execute(
                    "INSERT INTO coplib_tags (kind, id, tag, community_id, open_since) VALUES (%s, %s, %s, %s, %s)",
                    (idx.kind, idx.id, tag, idx.community_id, idx.open_since),
                )
            if idx.kind == "membership" and idx.community_id is not None:
                for role in sorted(idx.roles):
                    conn.execute(
                        "INSERT INTO coplib_membership_roles (id, role, community_id) VALUES (%s, %s, %s)",
                        (idx.id, role, idx.community_id),
                    )
            searched = search_row(ref.kind, ref.id, value) if ref.kind in SEARCHABLE_KIND_NAMES else None
            if searched is not None:
                conn.execute(_INSERT_SEARCH, _search_columns([searched]))
        for recorded in rewrite.events:
            e = recorded.event
            conn.execute(
                "UPDATE coplib_events SET type = %s, community_id = %s, actor_id = %s, occurred_at = %s, data = %s "
                "WHERE position = %s AND id = %s",
                (
                    e.TYPE,
                    e.community_id,
                    e.actor_id,
                    e.occurred_at,
                    _storable(event_to_json(e)),
                    recorded.position,
                    e.id,
                ),
            )
        if rewrite.dropped_messages:
            conn.execute("DELETE FROM coplib_outbox WHERE id = ANY(%s::text[])", (list(rewrite.dropped_messages),))
        for m in rewrite.messages:
            params = _storable(json.dumps(m.params, sort_keys=True, ensure_ascii=False))
            conn.execute(
                "UPDATE coplib_outbox SET recipient_id = %s, community_id = %s, params = %s WHERE id = %s",
                (m.recipient_id, m.community_id, params, m.id),
            )


class PostgresStorePlugin:
    """Opens ``postgresql://`` and ``postgres://`` stores."""

    @hookimpl(trylast=True)
    def coplib_open_store(self, url: str, options: Mapping[str, Any]) -> Store | None:
        if url.split(":", 1)[0].lower() not in SCHEMES:
            return None
        settings = PostgresSettings.from_options(options)
        return PostgresStore(url, **attrs.asdict(settings))

    @hookimpl(trylast=True)
    def coplib_store_schemes(self) -> list[str]:
        return list(SCHEMES)
