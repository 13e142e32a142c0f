"""The embedded SQLite store (``sqlite:///path.db``): coplib's default, one local file, the
standard library's sqlite3 and nothing else.

Each unit of work is one ``BEGIN IMMEDIATE`` transaction holding the state change, its events
and its outbox rows. Every query of the port runs as indexed SQL. docs/storage.md explains the
settings, the schema and its migrations.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import re
import sqlite3
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

import attrs

from coplib.adapters.storage import _sql
from coplib.adapters.storage._index import IndexRow, index_row
from coplib.adapters.storage._text_sql import (
    SQLITE_DELETE_DOC,
    SQLITE_DELETE_TERMS,
    SQLITE_INSERT_DOC,
    SQLITE_INSERT_DOC_AT,
    SQLITE_INSERT_TERMS,
    SQLITE_INSERT_TERMS_AT,
    SQLITE_NEXT_DOCID,
    fts5_query,
    search_row,
)
from coplib.domain.community import Community, Role
from coplib.domain.contributions import Question
from coplib.domain.errors import (
    ConcurrencyConflictError,
    ConfigurationError,
    ConflictError,
    StorageError,
)
from coplib.domain.events import DomainEvent
from coplib.domain.health import ContributorFacts, MemberFacts, QuestionFacts
from coplib.domain.history import AGGREGATE_KINDS, Aggregate, Ref
from coplib.domain.membership import Membership, MembershipStatus
from coplib.domain.moderation import Flag
from coplib.domain.text_search import SEARCHABLE_KIND_NAMES, searchable_texts
from coplib.ports.hookspecs import hookimpl
from coplib.ports.storage import (
    ACTIVE_ONLY,
    EVERYTHING,
    BulkWriting,
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
    check_after,
    check_limit,
)
from coplib.serialization import (
    aggregate_from_json,
    aggregate_from_stored,
    aggregate_to_json,
    event_from_stored,
    event_to_json,
    format_timestamp,
    parse_timestamp,
)

__all__ = [
    "LATEST_SCHEMA_VERSION",
    "MIGRATIONS",
    "Migration",
    "NetworkFileSystemWarning",
    "PurgeIncompleteWarning",
    "SQLiteStore",
    "SQLiteStorePlugin",
    "migrate",
    "network_filesystem",
]


class PurgeIncompleteWarning(UserWarning):
    """A history rewrite is committed, but old bytes may remain in the WAL (another connection
    was reading): run `SQLiteStore.purge` again when no other reader is open."""


class NetworkFileSystemWarning(UserWarning):
    """The SQLite file lies on a network file system, where WAL's shared memory and file
    locks are unreliable: concurrent access may corrupt it. Keep the file on a local disk
    (or use the PostgreSQL store for a shared deployment)."""


#: File system types (as /proc/mounts names them) that are not local disks.
NETWORK_FILESYSTEMS: Final = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "sshfs",
        "fuse.sshfs",
        "9p",
        "afs",
        "ncpfs",
        "ceph",
        "glusterfs",
        "fuse.glusterfs",
        "lustre",
        "gpfs",
        "davfs",
        "fuse.davfs2",
        "fuse.s3fs",
        "fuse.rclone",
        "fuse.gcsfuse",
    }
)

#: Where the mounted file systems are listed (Linux). A module attribute so tests can point
#: it elsewhere.
MOUNTS_FILE = "/proc/mounts"

T = TypeVar("T")

_SYNCHRONOUS: Final = ("off", "normal", "full", "extra")
#: Durability first: a unit of work reported committed survives an OS crash or a power loss,
#: not only a crash of the process (``?synchronous=normal`` trades that for speed).
DEFAULT_SYNCHRONOUS: Final = "full"
_DEFAULT_BUSY_TIMEOUT_MS: Final = 10_000
_CACHE_SIZE: Final = 20_000
_EVENT_CACHE_SIZE: Final = 50_000
#: The decoded aggregates kept while a bulk session lasts (an import's recent writes).
_BULK_CACHE_SIZE: Final = 2_000
_CHUNK: Final = 400  # host parameters per IN list, well under SQLite's limit
#: How many WAL pages a bulk session lets accumulate before a commit copies them back into
#: the file (SQLite's default, kept outside a session, is 1,000): a page that every batch
#: rewrites (an index's last leaf, FTS5's structure) is copied once instead of at every
#: checkpoint, and the file is synced less often. Durability is the WAL's either way.
_BULK_AUTOCHECKPOINT: Final = 16_384


# -- the schema and its migrations ------------------------------------------------------------


@attrs.frozen
class Migration:
    """One forward step of the schema: from `version` - 1 to `version`."""

    version: int
    description: str
    apply: Callable[[sqlite3.Connection], None]


def _run_all(*statements: str) -> Callable[[sqlite3.Connection], None]:
    def run(conn: sqlite3.Connection) -> None:
        for statement in statements:
            conn.execute(statement)

    return run


_V1 = _run_all(
    """CREATE TABLE schema_version (
        version INTEGER NOT NULL,
        written_by TEXT NOT NULL
    )""",
    """CREATE TABLE aggregates (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        community_id TEXT,
        person_id TEXT,
        parent_id TEXT,
        organisation_id TEXT,
        created_at TEXT,
        open_since TEXT,
        status TEXT,
        sort_name TEXT,
        version INTEGER NOT NULL CHECK (version >= 1),
        data TEXT NOT NULL,
        PRIMARY KEY (kind, id)
    )""",
    "CREATE INDEX aggregates_by_community ON aggregates (kind, community_id, created_at, id)",
    "CREATE INDEX aggregates_by_person ON aggregates (kind, person_id, created_at, id) WHERE person_id IS NOT NULL",
    "CREATE INDEX aggregates_by_parent ON aggregates (kind, parent_id, created_at, id) WHERE parent_id IS NOT NULL",
    # The help space to watch: open questions only, so its size follows the open questions.
    "CREATE INDEX aggregates_open_questions ON aggregates (community_id, open_since, id) WHERE open_since IS NOT NULL",
    "CREATE INDEX aggregates_members ON aggregates (community_id, status, person_id) WHERE kind = 'membership'",
    "CREATE INDEX aggregates_portfolio ON aggregates (organisation_id, sort_name, id) WHERE kind = 'community'",
    "CREATE INDEX aggregates_names ON aggregates (sort_name, id) WHERE kind = 'community'",
    """CREATE TABLE events (
        position INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        community_id TEXT,
        actor_id TEXT NOT NULL,
        occurred_at TEXT NOT NULL,
        data TEXT NOT NULL
    )""",
    "CREATE INDEX events_by_community ON events (community_id, position)",
    "CREATE INDEX events_by_actor ON events (actor_id, occurred_at)",
    # Covers the per-period counts: no table row is read to count.
    "CREATE INDEX events_by_community_time ON events (community_id, occurred_at, type)",
    """CREATE TABLE outbox (
        id TEXT NOT NULL PRIMARY KEY,
        event_id TEXT NOT NULL REFERENCES events (id),
        recipient_id TEXT NOT NULL,
        topic TEXT NOT NULL,
        community_id TEXT,
        created_at TEXT NOT NULL,
        params TEXT NOT NULL,
        delivered_at TEXT
    ) WITHOUT ROWID""",
    "CREATE INDEX outbox_pending ON outbox (created_at, id) WHERE delivered_at IS NULL",
)

_V2 = _run_all(
    "ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT",
    "ALTER TABLE outbox ADD COLUMN last_error TEXT",
    "ALTER TABLE outbox ADD COLUMN status TEXT NOT NULL DEFAULT 'pending'",
    "UPDATE outbox SET status = 'delivered' WHERE delivered_at IS NOT NULL",
)


def _v3(conn: sqlite3.Connection) -> None:
    _run_all(
        # Only the tags a query filters on: those of open questions (the help space by tag)
        # and members' expertise. `sort_key` is the order each query returns: a question's
        # open_since, a member's person id.
        """CREATE TABLE tags (
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            tag TEXT NOT NULL,
            community_id TEXT NOT NULL,
            sort_key TEXT NOT NULL,
            PRIMARY KEY (kind, id, tag),
            FOREIGN KEY (kind, id) REFERENCES aggregates (kind, id)
        ) WITHOUT ROWID""",
        "CREATE INDEX tags_lookup ON tags (kind, community_id, tag, sort_key, id)",
        """CREATE TABLE membership_roles (
            kind TEXT NOT NULL DEFAULT 'membership' CHECK (kind = 'membership'),
            id TEXT NOT NULL,
            role TEXT NOT NULL,
            community_id TEXT NOT NULL,
            person_id TEXT NOT NULL,
            PRIMARY KEY (id, role),
            FOREIGN KEY (kind, id) REFERENCES aggregates (kind, id)
        ) WITHOUT ROWID""",
        "CREATE INDEX membership_roles_lookup ON membership_roles (community_id, role, person_id)",
    )(conn)
    # Backfill from what is stored, through the one shared definition of the indexed fields.
    rows = conn.execute("SELECT kind, id, data FROM aggregates WHERE kind IN ('question', 'membership')")
    for kind, id_, data in rows:
        row = index_row(Ref(kind, id_), aggregate_from_json(kind, data))
        conn.executemany(_INSERT_TAG, _tag_rows(row))
        conn.executemany(_INSERT_ROLE, _role_rows(row))


def _v4(conn: sqlite3.Connection) -> None:
    _run_all(
        "ALTER TABLE outbox ADD COLUMN settled_at TEXT",
        "ALTER TABLE outbox ADD COLUMN claimed_by TEXT",
        "ALTER TABLE outbox ADD COLUMN claimed_until TEXT",
        "UPDATE outbox SET next_attempt_at = created_at WHERE next_attempt_at IS NULL",
        "UPDATE outbox SET settled_at = delivered_at WHERE status = 'delivered'",
        # Pending now means status 'pending': a dead or dropped message is not delivered either.
        "DROP INDEX outbox_pending",
        "CREATE INDEX outbox_by_status ON outbox (status, created_at, id)",
        "CREATE INDEX outbox_due ON outbox (next_attempt_at, created_at, id) WHERE status = 'pending'",
        "CREATE INDEX outbox_by_recipient ON outbox (recipient_id, created_at, id)",
        "ALTER TABLE aggregates ADD COLUMN due_at TEXT",
        "CREATE INDEX aggregates_due ON aggregates (kind, due_at, id) WHERE due_at IS NOT NULL",
    )(conn)
    # Backfill the timers of the kinds that have one (a `due_at` attribute).
    timed = [kind for kind, cls in AGGREGATE_KINDS.items() if "due_at" in attrs.fields_dict(cls)]
    for kind in timed:
        for id_, data in conn.execute("SELECT id, data FROM aggregates WHERE kind = ?", (kind,)):
            due = index_row(Ref(kind, id_), aggregate_from_json(kind, data)).due_at
            conn.execute("UPDATE aggregates SET due_at = ? WHERE kind = ? AND id = ?", (_ts(due), kind, id_))


# The health report reads a community's contributions in two orders, from these two covering
# indexes alone (no stored document): its questions with, under each, its answers and their
# authors; and its contributors week by week. The week and month are held in the index, in the
# very expressions the query groups by, so that SQLite groups while it walks, computing no date.
# Partial: contributions only.
_WEEK: Final = "date(substr({col}, 1, 10), '-6 days', 'weekday 1')"


def _json_field(name: str) -> str:
    return f"json_extract(data, '$.{name}')"


_MONTH: Final = "substr({col}, 1, 7)"
_V5 = _run_all(
    f"CREATE INDEX aggregates_threads ON aggregates (community_id, kind, parent_id, created_at, person_id, id) "
    f"WHERE {_sql.CONTRIBUTION_KINDS_SQL}",
    "CREATE INDEX aggregates_contributors ON aggregates (community_id, person_id, "
    f"{_WEEK.format(col='created_at')}, {_MONTH.format(col='created_at')}, kind, created_at) "
    f"WHERE {_sql.CONTRIBUTION_KINDS_SQL}",
    # Withdrawals and acceptances, the few events the report reads by type, with the fields it
    # reads of them (partial: no other event gets an entry).
    "CREATE INDEX events_health ON events (community_id, type, position, "
    f"{', '.join(_json_field(name) for name in _sql.HEALTH_EVENT_FIELDS)}) "
    "WHERE type IN ('answer_accepted', 'contribution_withdrawn')",  # as released; version 8 widens it
)
# The same index, over the moderators' hidings and showings again too (the report leaves out
# a hidden contribution as it does a withdrawn one).
_V8 = _run_all(
    "DROP INDEX events_health",
    "CREATE INDEX events_health ON events (community_id, type, position, "
    f"{', '.join(_json_field(name) for name in _sql.HEALTH_EVENT_FIELDS)}) "
    f"WHERE {_sql.HEALTH_EVENTS_BEFORE_UNACCEPTING_SQL}",  # as released; version 10 widens it
)
# The same index, over the unacceptances too (a question whose answer is accepted no more is
# not accepted).
_V10 = _run_all(
    "DROP INDEX events_health",
    "CREATE INDEX events_health ON events (community_id, type, position, "
    f"{', '.join(_json_field(name) for name in _sql.HEALTH_EVENT_FIELDS)}) "
    f"WHERE {_sql.HEALTH_EVENTS_SQL}",
)

# The moderation queue walks the open flags only (`open_flags`): a flag's status is an indexed
# field since this version, backfilled from the stored documents.
_V9 = _run_all(
    "UPDATE aggregates SET status = json_extract(data, '$.status') WHERE kind = 'flag'",
    "CREATE INDEX aggregates_open_flags ON aggregates (community_id, created_at, id) "
    "WHERE kind = 'flag' AND status = 'open'",
)

#: Paging the whole outbox (`outbox(after=...)` with no status nor recipient) walks this index.
_V7 = _run_all("CREATE INDEX outbox_by_creation ON outbox (created_at, id)")


def _v6(conn: sqlite3.Connection) -> None:
    """The full-text index (docs/search.md): one row per live searchable contribution in
    `search_docs` (its docid an INTEGER PRIMARY KEY, which VACUUM keeps), its index terms in
    the FTS5 table `search_terms` under the same rowid; backfilled from what is stored."""
    _run_all(
        """CREATE TABLE search_docs (
            docid INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            community_id TEXT NOT NULL,
            UNIQUE (kind, id)
        )""",
        "CREATE INDEX search_docs_by_community ON search_docs (community_id, kind)",
        "CREATE VIRTUAL TABLE search_terms USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0')",
    )(conn)
    kinds = ", ".join(f"'{k}'" for k in sorted(SEARCHABLE_KIND_NAMES))
    for kind, id_, data in conn.execute(f"SELECT kind, id, data FROM aggregates WHERE kind IN ({kinds})").fetchall():
        row = search_row(kind, id_, aggregate_from_json(kind, data))
        if row is not None:
            conn.execute(SQLITE_INSERT_DOC, row[:3])
            conn.execute(SQLITE_INSERT_TERMS, (row[3], kind, id_))


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(1, "aggregates with their indexed fields, events, outbox", _V1),
    Migration(2, "delivery bookkeeping on the outbox (attempts, next attempt, last error, status)", _V2),
    Migration(3, "tag and role side tables for the tag and role queries, backfilled", _v3),
    Migration(4, "outbox claims and settlement (dead letters, drops), aggregate timers", _v4),
    Migration(5, "covering indexes of the health report's facts (questions with their answers, contributor days)", _V5),
    Migration(6, "the full-text index of the searchable contributions (FTS5), backfilled", _v6),
    Migration(7, "the outbox by creation, for paging it whole", _V7),
    Migration(8, "the health report's index of events, over hidings and showings again too", _V8),
    Migration(9, "the open flags of a community (the moderation queue), their status backfilled", _V9),
    Migration(10, "the health report's index of events, over unacceptances too", _V10),
)
LATEST_SCHEMA_VERSION: Final = MIGRATIONS[-1].version


def _coplib_version() -> str:
    try:
        from importlib.metadata import version

        return version("coplib")
    except Exception:  # not installed as a distribution (a source checkout)
        return "unknown"


def _schema_version(conn: sqlite3.Connection) -> int:
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
    if exists is None:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' LIMIT 1").fetchone() is not None:
            raise StorageError("the file holds tables but no coplib schema: it is not a coplib database")
        return 0
    found = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(found[0]) if found else 0


def migrate(conn: sqlite3.Connection, *, target: int = LATEST_SCHEMA_VERSION, where: str = "the database") -> int:
    """Bring the schema up to `target`, in one transaction; returns the version found before.

    Refuses (with `StorageError`) a database written by a newer coplib.
    """
    found = _schema_version(conn)
    if found > LATEST_SCHEMA_VERSION:
        raise StorageError(
            f"{where} has schema version {found}, written by a newer coplib; this coplib "
            f"({_coplib_version()}) reads schema versions up to {LATEST_SCHEMA_VERSION}: upgrade coplib to open it"
        )
    if found >= target:
        return found
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = _schema_version(conn)  # another process may have migrated meanwhile
        for step in MIGRATIONS:
            if found < step.version <= target:
                step.apply(conn)
        if found < target:
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version, written_by) VALUES (?, ?)", (target, _coplib_version()))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return found


# -- statements -------------------------------------------------------------------------------

_AGGREGATE_COLUMNS = (
    "community_id, person_id, parent_id, organisation_id, created_at, open_since, status, sort_name, due_at, "
    "version, data"
)
_INSERT_AGGREGATE = (
    f"INSERT INTO aggregates (kind, id, {_AGGREGATE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (kind, id) DO NOTHING"
)
_UPDATE_AGGREGATE = (
    "UPDATE aggregates SET community_id = ?, person_id = ?, parent_id = ?, organisation_id = ?, created_at = ?, "
    "open_since = ?, status = ?, sort_name = ?, due_at = ?, version = ?, data = ? "
    "WHERE kind = ? AND id = ? AND version = ?"
)
#: The indexed columns of `aggregates`, in the order of `_indexed_columns`.
_INDEXED_NAMES: Final = (
    "community_id",
    "person_id",
    "parent_id",
    "organisation_id",
    "created_at",
    "open_since",
    "status",
    "sort_name",
    "due_at",
)


@functools.lru_cache(maxsize=64)
def _update_changed(changed: tuple[int, ...]) -> str:
    """The UPDATE of a row whose indexed columns `changed` (positions in `_INDEXED_NAMES`) and
    no other: SQLite rewrites an index entry whenever the UPDATE names one of its columns, even
    to the same value, so naming only what changed leaves the other indexes' pages alone."""
    columns = "".join(f"{_INDEXED_NAMES[i]} = ?, " for i in changed)
    return f"UPDATE aggregates SET {columns}version = ?, data = ? WHERE kind = ? AND id = ? AND version = ?"


_INSERT_TAG = "INSERT INTO tags (kind, id, tag, community_id, sort_key) VALUES (?, ?, ?, ?, ?)"
_DELETE_TAGS = "DELETE FROM tags WHERE kind = ? AND id = ?"
_INSERT_ROLE = "INSERT INTO membership_roles (id, role, community_id, person_id) VALUES (?, ?, ?, ?)"
_DELETE_ROLES = "DELETE FROM membership_roles WHERE id = ?"
_INSERT_EVENT = "INSERT INTO events (id, type, community_id, actor_id, occurred_at, data) VALUES (?, ?, ?, ?, ?, ?)"
_INSERT_MESSAGE = (
    "INSERT INTO outbox (id, event_id, recipient_id, topic, community_id, created_at, params, next_attempt_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)


def _ts(value: datetime | None) -> str | None:
    return format_timestamp(value) if value is not None else None


def _any_of(column: str, values: Sequence[str]) -> tuple[str, list[Any]]:
    return f"{column} IN ({', '.join('?' * len(values))})", list(values)


#: How this store spells the shared statements of `coplib.adapters.storage._sql`.
SQLITE: Final = _sql.Dialect(
    mark="?",
    prefix="",
    time=format_timestamp,
    read_time=parse_timestamp,
    period_start={
        Period.DAY: "substr(occurred_at, 1, 10)",
        # 'weekday 1' moves forward to a Monday, so step back 6 days first: the Monday on or before.
        Period.WEEK: "date(substr(occurred_at, 1, 10), '-6 days', 'weekday 1')",
        Period.MONTH: "substr(occurred_at, 1, 7) || '-01'",
    },
    read_day=date.fromisoformat,
    by_creation="created_at, id",  # NULL (no creation time) sorts first
    by_creation_descending="created_at DESC, id DESC",
    ordered_join="CROSS JOIN",
    tag_time="sort_key",
    any_of=_any_of,
    hints=True,
)


def _glob(column: str, pattern: str) -> tuple[str, list[Any]]:
    # GLOB, not LIKE: it is case-sensitive, as ids are. Only * is a wildcard in a pattern.
    return f"{column} GLOB ?", ["".join({"[": "[[]", "?": "[?]"}.get(c, c) for c in pattern)]


def _in_json(column: str, values: Sequence[str]) -> tuple[str, list[Any]]:
    return f"{column} IN (SELECT value FROM json_each(?))", [json.dumps(list(values))]


def _not_rowid(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    if not values:
        return "", []
    return f" AND {column} NOT IN (SELECT value FROM json_each(?))", [json.dumps(list(values))]


#: How this store spells the health report's statements (`_sql.question_facts`...).
SQLITE_HEALTH: Final = _sql.HealthDialect(
    week=_WEEK,
    month=_MONTH,
    plus_days="strftime('%Y-%m-%dT%H:%M:%S', {col}, '+' || ? || ' days') || substr({col}, 20)",
    concat_distinct="group_concat(DISTINCT {expr})",
    contributions="aggregates {alias} INDEXED BY aggregates_contributors",
    threads="aggregates {alias} INDEXED BY aggregates_threads",
    json_field=_json_field,
    matches=_glob,
    none_of=_not_rowid,
    one_of=_in_json,
    correlated=True,
    row_key="rowid",
)


def _sort_key(row: IndexRow) -> str | None:
    """What a row's tags are filed under, or None when no query looks for its tags."""
    if row.kind == "question":
        return _ts(row.open_since)
    if row.kind == "membership":
        return row.person_id
    return None


def _tag_rows(row: IndexRow) -> list[tuple[str, str, str, str | None, str]]:
    key = _sort_key(row)
    if key is None or not row.tags:
        return []
    return [(row.kind, row.id, tag, row.community_id, key) for tag in row.tags]


def _role_rows(row: IndexRow) -> list[tuple[str, str, str | None, str | None]]:
    if row.kind != "membership":
        return []
    return [(row.id, role, row.community_id, row.person_id) for role in sorted(row.roles)]


def _organisation_of(value: Aggregate) -> str | None:
    # The portfolio query filters communities by organisation; IndexRow does not carry it.
    return value.organisation_id if isinstance(value, Community) else None


def _indexed_columns(row: IndexRow, value: Aggregate) -> tuple[Any, ...]:
    """The values of the indexed columns of `aggregates`, in `_AGGREGATE_COLUMNS` order."""
    return (
        row.community_id,
        row.person_id,
        row.parent_id,
        _organisation_of(value),
        _ts(row.created_at),
        _ts(row.open_since),
        row.status,
        row.sort_name,
        _ts(row.due_at),
    )


def _read_time(text: str) -> datetime:
    return datetime.fromisoformat(text)  # coplib's own fixed-width UTC text: no checks needed


def _each(conn: sqlite3.Connection, sql: str, rows: Sequence[Sequence[Any]]) -> int:
    """Run `sql` for each row (one prepared statement, looped in C); the rows changed."""
    if len(rows) == 1:
        return conn.execute(sql, rows[0]).rowcount
    return conn.executemany(sql, rows).rowcount


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- where the file lives -------------------------------------------------------------------


def _unescape_mount(text: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def network_filesystem(path: Path, mounts: str) -> str | None:
    """The network file system type holding `path`, given the text of /proc/mounts, or None
    when it is on a local one."""
    target = str(path)
    best: tuple[int, str] | None = None
    for line in mounts.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        mount_point, fs_type = _unescape_mount(parts[1]), parts[2]
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and (best is None or len(mount_point) > best[0]):
            best = (len(mount_point), fs_type)
    if best is None:
        return None
    fs_type = best[1]
    return fs_type if fs_type in NETWORK_FILESYSTEMS or fs_type.split(".")[-1] in NETWORK_FILESYSTEMS else None


def _warn_if_network(path: Path) -> None:
    try:
        mounts = Path(MOUNTS_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return  # not Linux, or no /proc: nothing to tell
    fs_type = network_filesystem(path.parent.resolve() / path.name, mounts)
    if fs_type is not None:
        warnings.warn(
            NetworkFileSystemWarning(
                f"the SQLite database {path} is on a network file system ({fs_type}); SQLite's WAL mode needs "
                "a local disk, and concurrent access over the network may corrupt the file: move it to a local "
                "disk, or use the PostgreSQL store for a shared deployment"
            ),
            stacklevel=4,
        )


def _check_path(path: Path) -> None:
    parent = path.parent
    if path.is_dir():
        raise ConfigurationError(f"the SQLite database path {path} is a directory: name a file inside it")
    if not parent.exists():
        raise ConfigurationError(
            f"the directory {parent} of the SQLite database {path.name} does not exist: create it first"
        )
    if not parent.is_dir():
        raise ConfigurationError(f"{parent} is not a directory: the SQLite database {path.name} cannot live there")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise ConfigurationError(f"the SQLite database {path} cannot be read and written by this process")
    if not path.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigurationError(f"the directory {parent} is not writable: the database {path.name} cannot be created")


def parse_url(url: str) -> tuple[str, dict[str, str]]:
    """The file path and the options of a ``sqlite:`` URL."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        raise ConfigurationError(f"not a sqlite URL: {url!r}")
    if not url.startswith("sqlite:///") or parts.netloc:
        raise ConfigurationError(
            f"bad SQLite URL {url!r}: use sqlite:///relative/path.db or sqlite:////absolute/path.db (no host)"
        )
    path = unquote(parts.path[1:])
    if not path:
        raise ConfigurationError(f"the SQLite URL {url!r} names no file: use sqlite:///coplib.db")
    return path, dict(parse_qsl(parts.query, keep_blank_values=True))


# -- the store --------------------------------------------------------------------------------


class SQLiteStore(Store, TextSearch, HistoryRewriting, BulkWriting):
    """A coplib store in one SQLite file. Safe to share between threads (one connection
    behind a lock); several processes may open the same file (WAL, ``BEGIN IMMEDIATE``)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        url: str | None = None,
        synchronous: str = DEFAULT_SYNCHRONOUS,
        busy_timeout: int = _DEFAULT_BUSY_TIMEOUT_MS,
    ) -> None:
        if synchronous.lower() not in _SYNCHRONOUS:
            raise ConfigurationError(f"synchronous must be one of {', '.join(_SYNCHRONOUS)}, got {synchronous!r}")
        if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, int) or busy_timeout < 0:
            raise ConfigurationError(f"busy_timeout is a number of milliseconds >= 0, got {busy_timeout!r}")
        raw = os.fspath(path)
        self._in_memory = raw == ":memory:"
        self.path = Path(raw)
        self.url = url or f"sqlite:///{raw}"
        self._where = "an in-memory SQLite database" if self._in_memory else f"the SQLite database {self.path}"
        self._lock = threading.RLock()
        self._cache: OrderedDict[tuple[str, str], tuple[int, Aggregate]] = OrderedDict()
        # Decoded events by position: a committed position holds one event for good (rows
        # are never deleted, AUTOINCREMENT never hands a committed position out again).
        self._event_cache: dict[int, DomainEvent] = {}
        # Keys whose stored state this connection knows (in `_cache`, or absent when in
        # `_absent`) as of `_data_version`: SQLite's counter of commits by *other* connections.
        # While it stays the same, nobody else wrote, so a known key is read from memory.
        self._fresh: set[tuple[str, str]] = set()
        self._absent: set[tuple[str, str]] = set()
        self._data_version: int | None = None
        # The holders of a role (`members(..., role=...)`), as current as `_fresh`, and also
        # forgotten when this store commits a membership.
        self._holders: dict[tuple[Any, ...], list[Membership]] = {}
        self._bulk_depth = 0  # open bulk sessions
        self._autocheckpoint = 1000  # the WAL checkpoint interval outside them
        if not self._in_memory:
            _check_path(self.path)
            _warn_if_network(self.path)
        try:
            self._conn: sqlite3.Connection | None = sqlite3.connect(
                raw,
                timeout=busy_timeout / 1000,
                isolation_level=None,  # transactions are explicit: BEGIN IMMEDIATE ... COMMIT
                check_same_thread=False,  # our lock serialises every use of the connection
                cached_statements=256,
            )
        except sqlite3.Error as exc:
            raise StorageError(f"{self._where} could not be opened: {exc}") from exc
        try:
            conn = self._conn
            conn.execute(f"PRAGMA busy_timeout = {busy_timeout:d}")
            conn.execute("PRAGMA foreign_keys = ON")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if not self._in_memory and str(mode).lower() != "wal":
                raise StorageError(f"{self._where} could not switch to WAL journal mode (it is in {mode!r} mode)")
            conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
            migrate(conn, where=self._where)
        except sqlite3.Error as exc:
            self._conn.close()
            self._conn = None
            raise self._error("open", exc) from exc
        except BaseException:
            self._conn.close()
            self._conn = None
            raise

    @classmethod
    def from_url(cls, url: str, options: Mapping[str, Any] | None = None) -> SQLiteStore:
        """Open the store of a ``sqlite:///...`` URL; settings come from the URL's query
        (``?synchronous=full&busy_timeout=5000``) and from `options`."""
        path, query = parse_url(url)
        settings: dict[str, Any] = {**query, **dict(options or {})}
        known = {"synchronous", "busy_timeout"}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ConfigurationError(
                f"unknown SQLite option(s) {', '.join(unknown)} in {url!r}; known: {', '.join(sorted(known))}"
            )
        timeout = settings.get("busy_timeout", _DEFAULT_BUSY_TIMEOUT_MS)
        try:
            timeout = int(timeout)
        except (TypeError, ValueError):
            raise ConfigurationError(f"busy_timeout is a number of milliseconds, got {timeout!r}") from None
        return cls(
            path, url=url, synchronous=str(settings.get("synchronous", DEFAULT_SYNCHRONOUS)), busy_timeout=timeout
        )

    # -- plumbing ---------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageError(f"the store {self.url} is closed")
        return self._conn

    def _error(self, action: str, exc: sqlite3.Error) -> StorageError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return StorageError(
                f"{action} on {self._where} timed out: another process held the write lock too long ({text})"
            )
        if "not a database" in text or "malformed" in text:
            return StorageError(f"{self._where} is not a valid SQLite database ({text}): check the path")
        if "readonly" in text or "unable to open" in text:
            return StorageError(f"{self._where} cannot be written or opened ({text}): check its permissions")
        return StorageError(f"{action} on {self._where} failed: {text}")

    def _remember(self, items: Iterable[tuple[tuple[str, str], int, Aggregate]]) -> None:
        """Keep decoded aggregates by (kind, id) with their version, the most recent last;
        the oldest are dropped once for all of them."""
        cache = self._cache
        for key, version, value in items:
            cache[key] = (version, value)
            cache.move_to_end(key)
        # In a bulk session the import's own recent writes are what it reads back: a smaller
        # memory keeps an import's peak RSS from growing with the dump.
        size = _BULK_CACHE_SIZE if self._bulk_depth else _CACHE_SIZE
        while len(cache) > size:
            cache.popitem(last=False)

    def _remember_events(self, recorded: Iterable[RecordedEvent]) -> None:
        """Keep decoded events by position (a committed position names one event for good);
        the oldest in are dropped once for all of them (positions mostly arrive in order)."""
        cache = self._event_cache
        for r in recorded:
            cache[r.position] = r.event
        if len(cache) > _EVENT_CACHE_SIZE:
            for position in list(itertools.islice(cache, len(cache) - _EVENT_CACHE_SIZE)):
                del cache[position]

    def _decode(self, kind: str, id_: str, version: int, data: str) -> Aggregate:
        """The aggregate of a row; decoding is the costly part, so a (kind, id, version) seen
        before is served from memory (a version names one content for good)."""
        key = (kind, id_)
        cached = self._cache.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        value = aggregate_from_stored(kind, data)
        self._remember(((key, version, value),))
        return value

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            conn = self._connection()
            try:
                return conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self._error("a query", exc) from exc

    def _aggregates(self, sql: str, params: Sequence[Any] = ()) -> list[Aggregate]:
        """Rows of (kind, id, version, data) decoded, under one lock hold."""
        with self._lock:
            rows = self._query(sql, params)
            return [self._decode(kind, id_, version, data) for kind, id_, version, data in rows]

    # -- writes ------------------------------------------------------------------------------

    def commit(self, changes: Changeset) -> list[RecordedEvent]:
        if not (changes.writes or changes.events or changes.messages):
            with self._lock:
                self._connection()
            return []
        with self._lock:
            conn = self._connection()
            inserts: list[tuple[Any, ...]] = []
            updates: list[tuple[Any, ...]] = []
            partial_updates: dict[tuple[int, ...], list[tuple[Any, ...]]] = {}
            tag_deletes: list[tuple[str, str]] = []
            tag_rows: list[tuple[Any, ...]] = []
            role_deletes: list[tuple[str]] = []
            role_rows: list[tuple[Any, ...]] = []
            search_deletes: list[tuple[str, str]] = []
            search_rows: list[tuple[str, str, str, str]] = []
            for write in changes.writes:
                ref, value = write.ref, write.value
                row = index_row(ref, value)
                indexed = _indexed_columns(row, value)
                data = aggregate_to_json(value)
                if write.expected_version == 0:
                    inserts.append((ref.kind, ref.id, *indexed, 1, data))
                    tag_rows.extend(_tag_rows(row))
                    role_rows.extend(_role_rows(row))
                    if ref.kind in SEARCHABLE_KIND_NAMES:
                        found = search_row(ref.kind, ref.id, value)
                        if found is not None:
                            search_rows.append(found)
                    continue
                # The stored content of (kind, id) at the expected version, when this store
                # knows it (a version names one content for good); a stale guess only means
                # the version guard fails, as it would anyway.
                previous = self._cache.get((ref.kind, ref.id))
                known = previous[1] if previous is not None and previous[0] == write.expected_version else None
                # The search index changes only when the searched texts did (an answer to a
                # question updates the question, not its texts).
                if ref.kind in SEARCHABLE_KIND_NAMES and (
                    known is None or searchable_texts(known) != searchable_texts(value)
                ):
                    search_deletes.append((ref.kind, ref.id))
                    found = search_row(ref.kind, ref.id, value)
                    if found is not None:
                        search_rows.append(found)
                old = index_row(ref, known) if known is not None else None
                guard = (ref.kind, ref.id, write.expected_version)
                if old is not None and known is not None:
                    before = _indexed_columns(old, known)
                    changed = tuple(i for i, (a, b) in enumerate(zip(before, indexed)) if a != b)
                    partial_updates.setdefault(changed, []).append(
                        (*(indexed[i] for i in changed), write.expected_version + 1, data, *guard)
                    )
                else:
                    updates.append((*indexed, write.expected_version + 1, data, *guard))
                if ref.kind != "question" and ref.kind != "membership":
                    continue  # no side table rows
                # The side tables change only when what they hold changed.
                new_tags = _tag_rows(row)
                old_tags = _tag_rows(old) if old is not None else None
                if old_tags is None or set(old_tags) != set(new_tags):
                    if old_tags is None or old_tags:
                        tag_deletes.append((ref.kind, ref.id))
                    tag_rows.extend(new_tags)
                if ref.kind == "membership" and (old is None or old.roles != row.roles):
                    role_deletes.append((ref.id,))
                    role_rows.extend(_role_rows(row))
            events = changes.events
            event_rows = [
                (e.id, e.TYPE, e.community_id, e.actor_id, format_timestamp(e.occurred_at), event_to_json(e))
                for e in events
            ]
            message_rows = [_message_row(m) for m in changes.messages]
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if inserts and _each(conn, _INSERT_AGGREGATE, inserts) != len(inserts):
                        raise _Conflict
                    if updates and _each(conn, _UPDATE_AGGREGATE, updates) != len(updates):
                        raise _Conflict
                    for changed, rows in partial_updates.items():
                        if _each(conn, _update_changed(changed), rows) != len(rows):
                            raise _Conflict
                    if tag_deletes:
                        _each(conn, _DELETE_TAGS, tag_deletes)
                    if tag_rows:
                        _each(conn, _INSERT_TAG, tag_rows)
                    if role_deletes:
                        _each(conn, _DELETE_ROLES, role_deletes)
                    if role_rows:
                        _each(conn, _INSERT_ROLE, role_rows)
                    if search_deletes or search_rows:
                        self._index_text(conn, search_deletes, search_rows)
                    last = 0
                    if len(event_rows) == 1:
                        last = conn.execute(_INSERT_EVENT, event_rows[0]).lastrowid or 0
                    elif event_rows:
                        conn.executemany(_INSERT_EVENT, event_rows)
                        last = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
                    if message_rows:
                        _each(conn, _INSERT_MESSAGE, message_rows)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except _Conflict:
                raise self._conflict(changes) from None
            except sqlite3.IntegrityError as exc:
                if "events.id" in str(exc):
                    raise ConflictError(
                        f"an event of this unit of work is stored already ({exc}): event ids are unique",
                        kind="event",
                    ) from exc
                raise self._error("the commit", exc) from exc
            except sqlite3.Error as exc:
                raise self._error("the commit", exc) from exc
            # What was written is what the next unit reads (and updates) first; this store's own
            # commit leaves data_version as it was, so it is known current too.
            written = [(w.ref.kind, w.ref.id) for w in changes.writes]
            self._remember((key, w.expected_version + 1, w.value) for key, w in zip(written, changes.writes))
            self._fresh.update(written)
            self._absent.difference_update(written)
            if any(kind == "membership" for kind, _ in written):
                self._holders.clear()
            first = last - len(events) + 1
            recorded = [RecordedEvent(first + i, event) for i, event in enumerate(events)]
            if not self._bulk_depth:
                # An import reads back none of the events it writes: keeping them would fill
                # the event memory with a whole import (its peak RSS growing with the dump).
                self._remember_events(recorded)
            return recorded

    @contextlib.contextmanager
    def bulk_session(self) -> Iterator[None]:
        """Checkpoint the WAL less often while a run of bulk commits lasts; checkpoint once at
        its end (passively: it waits for no reader) and put the interval back. Sessions may
        nest. (A larger page cache for the session was measured too: it halved what an import
        reads back but added its 16 MiB to an importer's peak memory, for no clear gain in
        time.)"""
        with self._lock:
            conn = self._connection()
            if self._bulk_depth == 0:
                try:
                    self._autocheckpoint = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
                    conn.execute(f"PRAGMA wal_autocheckpoint = {max(self._autocheckpoint, _BULK_AUTOCHECKPOINT):d}")
                except sqlite3.Error as exc:
                    raise self._error("starting a bulk session", exc) from exc
            self._bulk_depth += 1
        try:
            yield
        except BaseException:
            self._end_bulk(quiet=True)  # the error that ended the session is the one to see
            raise
        self._end_bulk(quiet=False)

    def _end_bulk(self, *, quiet: bool) -> None:
        with self._lock:
            self._bulk_depth -= 1
            if self._bulk_depth or self._conn is None:
                return
            try:
                self._conn.execute(f"PRAGMA wal_autocheckpoint = {self._autocheckpoint:d}")
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as exc:
                if not quiet:
                    raise self._error("ending a bulk session", exc) from exc

    def _conflict(self, changes: Changeset) -> ConcurrencyConflictError:
        """The first write whose expected version is not the stored one (after the rollback:
        versions only grow and rows are never deleted, so the conflict is still there)."""
        stored = self._versions([w.ref for w in changes.writes])
        for write in changes.writes:
            actual = stored.get(write.ref)
            if (actual or 0) != write.expected_version:
                return ConcurrencyConflictError(write.ref.kind, write.ref.id, write.expected_version, actual)
        first = changes.writes[0]
        return ConcurrencyConflictError(first.ref.kind, first.ref.id, first.expected_version, stored.get(first.ref))

    def _versions(self, refs: Sequence[Ref]) -> dict[Ref, int]:
        found: dict[Ref, int] = {}
        by_kind: dict[str, list[str]] = {}
        for ref in refs:
            by_kind.setdefault(ref.kind, []).append(ref.id)
        for kind, ids in by_kind.items():
            for chunk in _chunks(ids):
                marks = ", ".join("?" * len(chunk))
                sql = f"SELECT id, version FROM aggregates WHERE kind = ? AND id IN ({marks})"
                for id_, version in self._query(sql, (kind, *chunk)):
                    found[Ref(kind, id_)] = version
        return found

    # -- reads -------------------------------------------------------------------------------

    def _known(self, wanted: Sequence[Ref], found: dict[Ref, Versioned[Aggregate]]) -> list[Ref]:
        """Fill `found` with what this connection knows to be current of `wanted` (nobody
        else committed since it learnt it: ``PRAGMA data_version``); return the refs to read."""
        self._check_data_version()
        fresh, cache, absent = self._fresh, self._cache, self._absent
        missing: list[Ref] = []
        for ref in wanted:
            key = (ref.kind, ref.id)
            if key in fresh:
                hit = cache.get(key)
                if hit is not None:
                    found[ref] = Versioned(hit[1], hit[0])
                    continue
                if key in absent:
                    continue
            missing.append(ref)
        return missing

    def _check_data_version(self) -> None:
        """Forget what was known current if another connection committed since."""
        try:
            version = self._connection().execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise self._error("a query", exc) from exc
        if version != self._data_version:
            self._fresh.clear()
            self._absent.clear()
            self._holders.clear()
            self._data_version = version

    def _learnt(self, read: Sequence[Ref], found: Mapping[Ref, object]) -> None:
        """`read` was just read: each is current, absent when not in `found`."""
        # What is known current stays as small as the decoded memory (`_remember`): in a bulk
        # session, at most `_BULK_CACHE_SIZE` keys, so that a long import's memory is flat.
        if len(self._fresh) > (_BULK_CACHE_SIZE if self._bulk_depth else _CACHE_SIZE):
            self._fresh.clear()
            self._absent.clear()
        for ref in read:
            key = (ref.kind, ref.id)
            self._fresh.add(key)
            if ref not in found:
                self._absent.add(key)

    def get(self, ref: Ref) -> Versioned[Aggregate] | None:
        return self.get_many((ref,)).get(ref)

    def get_many(self, refs: Iterable[Ref]) -> dict[Ref, Versioned[Aggregate]]:
        found: dict[Ref, Versioned[Aggregate]] = {}
        with self._lock:
            wanted = self._known(list(dict.fromkeys(refs)), found)  # in order, once each
            # One statement for every kind: the refs as a table of constants, each looked up by
            # primary key (CROSS JOIN keeps them the outer loop).
            for chunk in _chunks(wanted, _CHUNK // 2):
                values = ", ".join(["(?, ?)"] * len(chunk))
                sql = (
                    f"WITH wanted(kind, id) AS (VALUES {values}) SELECT a.kind, a.id, a.version, a.data "
                    "FROM wanted CROSS JOIN aggregates a ON a.kind = wanted.kind AND a.id = wanted.id"
                )
                params = [part for ref in chunk for part in (ref.kind, ref.id)]
                for kind, id_, version, data in self._query(sql, params):
                    found[Ref(kind, id_)] = Versioned(self._decode(kind, id_, version, data), version)
            self._learnt(wanted, found)
        return found

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
        return self._aggregates(*_sql.find(SQLITE, kind, where, limit, after, newest_first))

    def count(self, kind: str, where: Filter = EVERYTHING) -> int:
        return int(self._query(*_sql.count(SQLITE, kind, where))[0][0])

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
            SQLITE, community_id, tag=tag, asked_before=asked_before, limit=limit, after=after
        )
        return [q for q in self._aggregates(sql, params) if isinstance(q, Question)]

    def open_flags(
        self, community_id: str, *, limit: int = 100, after: tuple[datetime, str] | None = None
    ) -> list[Flag]:
        check_limit(limit)
        check_after(after)
        sql, params = _sql.open_flags(SQLITE, community_id, limit=limit, after=after)
        return [f for f in self._aggregates(sql, params) if isinstance(f, Flag)]

    def members(
        self,
        community_id: str,
        *,
        role: Role | None = None,
        tag: str | None = None,
        statuses: Sequence[MembershipStatus] = ACTIVE_ONLY,
    ) -> list[Membership]:
        wanted = sorted({MembershipStatus(s).value for s in statuses})
        if not wanted:
            return []
        if role is not None:
            return self._role_holders(community_id, Role(role), tag, wanted)
        status = f"a.status IN ({', '.join('?' * len(wanted))})"
        params: list[Any]
        if tag is not None:
            sql = (
                "SELECT a.kind, a.id, a.version, a.data FROM tags t "
                "CROSS JOIN aggregates a ON a.kind = t.kind AND a.id = t.id "
                f"WHERE t.kind = 'membership' AND t.community_id = ? AND t.tag = ? AND {status} "
                "ORDER BY t.sort_key, t.id"
            )
            params = [community_id, tag, *wanted]
        else:
            sql = (
                "SELECT a.kind, a.id, a.version, a.data FROM aggregates a "
                f"WHERE a.kind = 'membership' AND a.community_id = ? AND {status} ORDER BY a.person_id"
            )
            params = [community_id, *wanted]
        return [m for m in self._aggregates(sql, params) if isinstance(m, Membership)]

    def _role_holders(self, community_id: str, role: Role, tag: str | None, statuses: list[str]) -> list[Membership]:
        """`members` of one role: few people, asked on every question routed, remembered."""
        key = (community_id, role, tag, *statuses)
        with self._lock:
            self._check_data_version()
            held = self._holders.get(key)
            if held is not None:
                return list(held)
            marks = ", ".join("?" * len(statuses))
            # CROSS JOIN fixes the order: walk the few holders of the role, not every member.
            sql = (
                "SELECT a.kind, a.id, a.version, a.data FROM membership_roles r "
                "CROSS JOIN aggregates a ON a.kind = 'membership' AND a.id = r.id "
                f"WHERE r.community_id = ? AND r.role = ? AND a.status IN ({marks})"
            )
            params: list[Any] = [community_id, role.value, *statuses]
            if tag is not None:
                sql += " AND EXISTS (SELECT 1 FROM tags t WHERE t.kind = 'membership' AND t.id = a.id AND t.tag = ?)"
                params.append(tag)
            sql += " ORDER BY r.person_id"
            held = [m for m in self._aggregates(sql, params) if isinstance(m, Membership)]
            if len(self._holders) >= 1024:
                self._holders.clear()
            self._holders[key] = held
            return list(held)

    def communities(self, organisation_id: str | None = None) -> list[Community]:
        return [c for c in self._aggregates(*_sql.communities(SQLITE, organisation_id)) if isinstance(c, Community)]

    def _events(self, sql: str, params: Sequence[Any]) -> list[RecordedEvent]:
        """Rows of (position, data) as recorded events; decoding is the costly part, so a
        position seen before (read, or committed by this store) is served from memory."""
        with self._lock:
            rows = self._query(sql, params)
            cache = self._event_cache
            out, decoded = [], []
            for position, data in rows:
                event = cache.get(position)
                if event is None:
                    event = event_from_stored(data)
                    decoded.append(RecordedEvent(position, event))
                out.append(RecordedEvent(position, event))
            self._remember_events(decoded)
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
        return self._events(*_sql.events(SQLITE, community_id, after, limit, before, newest_first))

    def last_position(self) -> int:
        rows = self._query(*_sql.last_position(SQLITE))
        return int(rows[0][0])

    def activity(
        self, person_id: str, *, since: datetime, until: datetime, community_id: str | None = None
    ) -> list[RecordedEvent]:
        return self._events(*_sql.activity(SQLITE, person_id, since, until, community_id))

    def count_events(
        self,
        community_id: str | None,
        *,
        since: datetime,
        until: datetime,
        period: Period,
        types: Sequence[str] | None = None,
    ) -> dict[date, int]:
        rows = self._query(*_sql.count_events(SQLITE, community_id, since, until, period, types))
        return {SQLITE.read_day(day): count for day, count in rows}

    # -- the facts of the health report ----------------------------------------------------

    def _health_read(self, read: Callable[[sqlite3.Connection], T]) -> T:
        """`read` in one read transaction: its statements see one snapshot of the file."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN")
                try:
                    return read(conn)
                finally:
                    if conn.in_transaction:
                        conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._error("a health query", exc) from exc

    @staticmethod
    def _withdrawn(conn: sqlite3.Connection, community_id: str) -> tuple[list[int], set[str]]:
        """The rowids of the community's contributions the report leaves out (withdrawn, or
        hidden by a moderator: `_sql.left_out`), and the ids of such answers."""
        pairs = _sql.left_out(conn.execute(*_sql.withdrawn_contributions(SQLITE, SQLITE_HEALTH, community_id)))
        rowids, answers = [], set()
        for kind, id_ in pairs:
            found = conn.execute("SELECT rowid FROM aggregates WHERE kind = ? AND id = ?", (kind, id_)).fetchone()
            if found is not None:
                rowids.append(found[0])
            if kind == "answer":
                answers.add(id_)
        return rowids, answers

    def question_facts(
        self, community_id: str, *, until: datetime, unattributed: Sequence[str] = ()
    ) -> list[QuestionFacts]:
        def read(conn: sqlite3.Connection) -> list[QuestionFacts]:
            withdrawn, gone = self._withdrawn(conn, community_id)
            # The last acceptance of each question; its answer withdrawn since, none.
            last = dict(conn.execute(*_sql.acceptances(SQLITE, SQLITE_HEALTH, community_id)))
            # A self-answer may be the accepted one; an unacceptance leaves none (None).
            accepted = {q for q, a in last.items() if a is not None and a not in gone}
            sql, params = _sql.question_facts(SQLITE, SQLITE_HEALTH, community_id, until, unattributed, withdrawn)
            parse = datetime.fromisoformat  # coplib's own fixed-width UTC text
            make = tuple.__new__  # a named tuple without its Python-level constructor
            facts: list[QuestionFacts] = []
            add = facts.append
            for qid, asker, created, answered in conn.execute(sql, params):
                if answered is None:
                    add(make(QuestionFacts, (qid, asker, parse(created), None, (), qid in accepted)))
                    continue
                first, _, authors = answered.partition(" ")
                helpers = tuple(sorted(set(authors.split(" ")))) if " " in authors else (authors,)
                add(make(QuestionFacts, (qid, asker, parse(created), parse(first), helpers, qid in accepted)))
            return facts

        return self._health_read(read)

    def contributor_facts(
        self,
        community_id: str,
        *,
        since: datetime | None,
        until: datetime,
        experts: Sequence[str] = (),
        window: timedelta = timedelta(days=90),
    ) -> ContributorFacts:
        def read(conn: sqlite3.Connection) -> ContributorFacts:
            withdrawn, _ = self._withdrawn(conn, community_id)
            people, cells = (
                conn.execute(sql, params).fetchall()
                for sql, params in _sql.contributor_facts(
                    SQLITE, SQLITE_HEALTH, community_id, since, until, _sql.window_days(window), withdrawn, experts
                )
            )
            return _sql.contributor_facts_from_rows(people, cells, datetime.fromisoformat)  # coplib's own UTC text

        return self._health_read(read)

    def member_facts(self, community_id: str) -> list[MemberFacts]:
        rows = self._query(*_sql.member_facts(SQLITE, community_id))
        return [MemberFacts(p, _read_time(j) if j is not None else None, bool(e)) for p, j, e in rows]

    # -- outbox ------------------------------------------------------------------------------

    def pending_messages(self, *, limit: int = 100) -> list[OutboxMessage]:
        check_limit(limit)
        return [_sql.entry_from_row(SQLITE, row).message for row in self._query(*_sql.pending_messages(SQLITE, limit))]

    def _write(self, action: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in one ``BEGIN IMMEDIATE`` transaction."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = work(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise self._error(action, exc) from exc
            return result

    def _write_each(self, action: str, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run `sql` once per row, in order, in one transaction; the rows changed."""
        if not rows:
            with self._lock:
                self._connection()
            return 0
        return self._write(action, lambda conn: _each(conn, sql, rows))

    def mark_delivered(self, message_ids: Sequence[str], *, at: datetime) -> None:
        self._write_each("marking messages delivered", *_sql.mark_delivered(SQLITE, message_ids, at))

    def claim_messages(self, *, worker: str, now: datetime, lease: timedelta, limit: int = 100) -> list[OutboxEntry]:
        check_limit(limit)
        sql, params = _sql.claim_messages(SQLITE, worker, now, lease, limit)
        # BEGIN IMMEDIATE makes select-then-update atomic: no other writer runs in between.
        rows = self._write("claiming messages", lambda conn: conn.execute(sql, params).fetchall())
        entries = [_sql.entry_from_row(SQLITE, row) for row in rows]
        return sorted(entries, key=lambda e: (e.next_attempt_at, e.message.created_at, e.message.id))

    def settle_messages(self, outcomes: Sequence[Outcome], *, worker: str) -> int:
        return self._write_each("settling messages", *_sql.settle_messages(SQLITE, outcomes, worker))

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
        return [
            _sql.entry_from_row(SQLITE, row)
            for row in self._query(*_sql.outbox(SQLITE, status, recipient_id, limit, after))
        ]

    def requeue(self, message_ids: Sequence[str], *, now: datetime) -> int:
        return self._write_each("requeueing messages", *_sql.requeue(SQLITE, message_ids, now))

    # -- timers ------------------------------------------------------------------------------

    def find_due(self, kind: str, *, before: datetime, limit: int = 100) -> list[Aggregate]:
        check_limit(limit)
        return self._aggregates(*_sql.find_due(SQLITE, kind, before, limit))

    # -- full-text search (docs/search.md) -----------------------------------------------------

    @staticmethod
    def _index_text(
        conn: sqlite3.Connection, deletes: Sequence[tuple[str, str]], rows: Sequence[tuple[str, str, str, str]]
    ) -> None:
        """Keep the full-text index in step with the aggregates, in the caller's transaction."""
        if deletes:
            _each(conn, SQLITE_DELETE_TERMS, deletes)
            _each(conn, SQLITE_DELETE_DOC, deletes)
        if rows:
            # The docids are the next free ones: this transaction holds the write lock.
            start = conn.execute(SQLITE_NEXT_DOCID).fetchone()[0]
            _each(conn, SQLITE_INSERT_DOC_AT, [(start + i, *row[:3]) for i, row in enumerate(rows)])
            _each(conn, SQLITE_INSERT_TERMS_AT, [(start + i, row[3]) for i, row in enumerate(rows)])

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
        match = fts5_query(query)
        where = (
            "FROM search_terms CROSS JOIN search_docs d ON d.docid = search_terms.rowid "
            "WHERE search_terms MATCH ? AND d.community_id IN (SELECT value FROM json_each(?)) "
            "AND d.kind IN (SELECT value FROM json_each(?))"
        )
        params = [match, json.dumps(list(community_ids)), json.dumps(list(kinds))]
        with self._lock:
            rows = self._query(
                f"SELECT d.kind, d.id, d.community_id, -bm25(search_terms) AS score {where} "
                "ORDER BY score DESC, d.id, d.kind LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
            total = self._query(f"SELECT count(*) {where}", params)[0][0]
        return TextMatches(tuple(TextHit(k, i, c, float(score)) for k, i, c, score in rows), int(total))

    # -- the rewriting of history (docs/personal-data.md) -----------------------------------

    def rewrite_history(self, rewrite: HistoryRewrite) -> None:
        def work(conn: sqlite3.Connection) -> None:
            for change in rewrite.aggregates:
                found = conn.execute(
                    "SELECT version FROM aggregates WHERE kind = ? AND id = ?", (change.ref.kind, change.ref.id)
                ).fetchone()
                self._delete_row(conn, change.ref)
                if change.value is None:
                    continue
                if change.new_ref == change.ref:
                    version = (found[0] if found else 0) + 1
                else:
                    present = conn.execute(
                        "SELECT version FROM aggregates WHERE kind = ? AND id = ?",
                        (change.new_ref.kind, change.new_ref.id),
                    ).fetchone()
                    self._delete_row(conn, change.new_ref)
                    version = (present[0] if present else 0) + 1
                ref, value = change.new_ref, change.value
                row = index_row(ref, value)
                conn.execute(
                    _INSERT_AGGREGATE,
                    (ref.kind, ref.id, *_indexed_columns(row, value), version, aggregate_to_json(value)),
                )
                if _tag_rows(row):
                    _each(conn, _INSERT_TAG, _tag_rows(row))
                if _role_rows(row):
                    _each(conn, _INSERT_ROLE, _role_rows(row))
                searched = search_row(ref.kind, ref.id, value) if ref.kind in SEARCHABLE_KIND_NAMES else None
                if searched is not None:
                    self._index_text(conn, (), [searched])
            for recorded in rewrite.events:
                e = recorded.event
                conn.execute(
                    "UPDATE events SET type = ?, community_id = ?, actor_id = ?, occurred_at = ?, data = ? "
                    "WHERE position = ? AND id = ?",
                    (
                        e.TYPE,
                        e.community_id,
                        e.actor_id,
                        format_timestamp(e.occurred_at),
                        event_to_json(e),
                        recorded.position,
                        e.id,
                    ),
                )
            for chunk in _chunks(list(rewrite.dropped_messages)):
                conn.execute(f"DELETE FROM outbox WHERE id IN ({', '.join('?' * len(chunk))})", list(chunk))
            for m in rewrite.messages:
                params = json.dumps(m.params, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                conn.execute(
                    "UPDATE outbox SET recipient_id = ?, community_id = ?, params = ? WHERE id = ?",
                    (m.recipient_id, m.community_id, params, m.id),
                )
            # Merge the full-text index's segments, so that no deleted term stays in an old one.
            conn.execute("INSERT INTO search_terms (search_terms) VALUES ('optimize')")

        with self._lock:
            conn = self._connection()
            try:
                # Freed pages are overwritten with zeros from here on (the rewrite's own included).
                conn.execute("PRAGMA secure_delete = ON")
                self._write("rewriting history", work)
            except BaseException:
                conn.execute("PRAGMA secure_delete = OFF")
                raise
            finally:
                self._cache.clear()
                self._event_cache.clear()
                self._fresh.clear()
                self._absent.clear()
                self._holders.clear()
            try:
                self.purge()
            except StorageError as exc:
                # The rewrite is committed: say what is left to do, rather than fail a caller
                # that would otherwise not record what it did.
                warnings.warn(PurgeIncompleteWarning(str(exc)), stacklevel=2)

    def purge(self) -> None:
        """Make the bytes of deleted or rewritten rows unreadable in the file and its WAL:
        copy the WAL into the file and truncate it, rebuild the file (VACUUM, which leaves no
        free page), and truncate the WAL again. Another connection reading at the same moment
        can keep the WAL from being truncated: `StorageError` then says so (run it again)."""
        if self._in_memory:
            return
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("PRAGMA secure_delete = ON")
                self._checkpoint(conn)
                conn.execute("VACUUM")
                self._checkpoint(conn)
            except sqlite3.Error as exc:
                raise self._error("purging freed pages", exc) from exc
            finally:
                conn.execute("PRAGMA secure_delete = OFF")

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise StorageError(
                f"{self._where}: another connection is reading, so the WAL could not be truncated; the rewrite "
                "is committed, but old bytes may stay in the WAL until `purge` runs with no other reader"
            )

    @staticmethod
    def _delete_row(conn: sqlite3.Connection, ref: Ref) -> None:
        key = (ref.kind, ref.id)
        conn.execute(_DELETE_TAGS, key)
        if ref.kind == "membership":
            conn.execute(_DELETE_ROLES, (ref.id,))
        conn.execute(SQLITE_DELETE_TERMS, key)
        conn.execute(SQLITE_DELETE_DOC, key)
        conn.execute("DELETE FROM aggregates WHERE kind = ? AND id = ?", key)

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            self._cache.clear()
            self._event_cache.clear()
        if conn is not None:
            try:
                conn.execute("PRAGMA analysis_limit = 400")  # keeps optimize quick on a large file
                conn.execute("PRAGMA optimize")
            except sqlite3.Error:
                pass  # only a statistics refresh: closing matters more
            finally:
                conn.close()

    def __repr__(self) -> str:
        return f"<SQLiteStore {self.url}>"


class _Conflict(Exception):
    """Internal: a write's version guard did not match (turned into the typed error)."""


def _message_row(m: OutboxMessage) -> tuple[Any, ...]:
    params = json.dumps(m.params, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    created = format_timestamp(m.created_at)
    return (m.id, m.event_id, m.recipient_id, m.topic, m.community_id, created, params, created)


class SQLiteStorePlugin:
    """Opens ``sqlite:///relative.db`` and ``sqlite:////absolute.db`` stores."""

    @hookimpl(trylast=True)
    def coplib_open_store(self, url: str, options: Mapping[str, Any]) -> Store | None:
        if not url.startswith("sqlite:"):
            return None
        return SQLiteStore.from_url(url, options)

    @hookimpl(trylast=True)
    def coplib_store_schemes(self) -> list[str]:
        return ["sqlite"]
