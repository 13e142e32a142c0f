"""The SQL of the pushed-down queries, shared by the SQLite and PostgreSQL stores: each
statement is written once, and what the two dialects spell differently (placeholders, table
names, how a time is held, a period's first day, index hints, row locks) is a parameter of
`Dialect`.

Every value a caller gives is a parameter of the statement, never formatted into its text:
only SQL chosen here (names, hints, a period's expression) is.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import attrs

from coplib.domain.health import ContributorFacts, PeriodFacts, PersonFacts
from coplib.ports.storage import DeliveryStatus, Filter, OutboxEntry, OutboxMessage, Outcome, Period

Statement = tuple[str, list[Any]]


@attrs.frozen
class Dialect:
    """What differs between SQLite's SQL and PostgreSQL's, for the statements of this module."""

    #: The driver's placeholder.
    mark: str
    #: Put before every table name (the PostgreSQL store's tables are ``coplib_*``).
    prefix: str
    #: A datetime as the time columns hold it, and a time column's value as a UTC datetime.
    time: Callable[[datetime], Any]
    read_time: Callable[[Any], datetime]
    #: SQL giving the first day of the period of ``occurred_at``, and that day as a date.
    period_start: Mapping[Period, str]
    read_day: Callable[[Any], date]
    #: ``ORDER BY`` of `find`: aggregates without a creation time first, then by time and id.
    by_creation: str
    #: The reverse of `by_creation` (newest first), walking the same index backwards.
    by_creation_descending: str
    #: A join that walks its left side first (SQLite's planner keeps a CROSS JOIN's order).
    ordered_join: str
    #: The column of the tags table that holds an open question's ``open_since``.
    tag_time: str
    #: ``column IN`` the values, with its parameters.
    any_of: Callable[[str, Sequence[str]], Statement]
    #: Appended to the select of the messages a claim takes: its row locks.
    claim_lock: str = ""
    #: Whether to name the index a statement must walk (SQLite, whose planner lacks statistics).
    hints: bool = False

    def table(self, name: str) -> str:
        return self.prefix + name

    def indexed_by(self, index: str) -> str:
        return f" INDEXED BY {index}" if self.hints else ""


# -- aggregates: find, count, the portfolio, the timers -------------------------------------------

AGGREGATE_ROW: Final = "kind, id, version, data"


def _after(
    d: Dialect, key: str, after: tuple[datetime, str] | None, *, descending: bool = False
) -> tuple[list[str], list[Any]]:
    """A keyset page's condition: rows strictly after `after`, a (time, id) pair, in the
    order of `key` (its time and id columns, ``"created_at, id"``): none when `after` is None."""
    if after is None:
        return [], []
    m = d.mark
    return [f"({key}) {'<' if descending else '>'} ({m}, {m})"], [d.time(after[0]), after[1]]


def _matching(d: Dialect, kind: str, where: Filter) -> Statement:
    m = d.mark
    clauses = [f"kind = {m}"]
    params: list[Any] = [kind]
    for column, value in (
        ("community_id", where.community_id),
        ("person_id", where.person_id),
        ("parent_id", where.parent_id),
    ):
        if value is not None:
            clauses.append(f"{column} = {m}")
            params.append(value)
    if where.since is not None:
        clauses.append(f"created_at >= {m}")
        params.append(d.time(where.since))
    if where.until is not None:
        clauses.append(f"created_at < {m}")
        params.append(d.time(where.until))
    return " AND ".join(clauses), params


def find(
    d: Dialect,
    kind: str,
    where: Filter,
    limit: int | None,
    after: tuple[datetime, str] | None = None,
    newest_first: bool = False,
) -> Statement:
    """`ReadQueries.find`: rows of `AGGREGATE_ROW`; with `after`, those strictly after that
    (created_at, id) in the order asked (a keyset page: the row comparison walks the index)."""
    clause, params = _matching(d, kind, where)
    keyset, keyset_params = _after(d, "created_at, id", after, descending=newest_first)
    clause = " AND ".join([clause, *keyset])
    params.extend(keyset_params)
    order = d.by_creation_descending if newest_first else d.by_creation
    sql = f"SELECT {AGGREGATE_ROW} FROM {d.table('aggregates')} WHERE {clause} ORDER BY {order}"
    if limit is not None:
        sql += f" LIMIT {d.mark}"
        params.append(limit)
    return sql, params


def count(d: Dialect, kind: str, where: Filter) -> Statement:
    """`ReadQueries.count`: one row, the count, read from the index `find` walks."""
    clause, params = _matching(d, kind, where)
    return f"SELECT count(*) FROM {d.table('aggregates')} WHERE {clause}", params


def find_due(d: Dialect, kind: str, before: datetime, limit: int) -> Statement:
    """`Timers.find_due`: rows of `AGGREGATE_ROW`, from the index of set timers."""
    m = d.mark
    return (
        f"SELECT {AGGREGATE_ROW} FROM {d.table('aggregates')} "
        f"WHERE kind = {m} AND due_at IS NOT NULL AND due_at <= {m} ORDER BY due_at, id LIMIT {m}",
        [kind, d.time(before), limit],
    )


def communities(d: Dialect, organisation_id: str | None) -> Statement:
    """`ReadQueries.communities`: rows of `AGGREGATE_ROW`, by name then id."""
    if organisation_id is None:
        # Named for SQLite: without statistics its planner would rather sort every community.
        source = d.table("aggregates") + d.indexed_by("aggregates_names")
        return f"SELECT {AGGREGATE_ROW} FROM {source} WHERE kind = 'community' ORDER BY sort_name, id", []
    return (
        f"SELECT {AGGREGATE_ROW} FROM {d.table('aggregates')} WHERE kind = 'community' AND organisation_id = {d.mark} "
        "ORDER BY sort_name, id",
        [organisation_id],
    )


def open_flags(d: Dialect, community_id: str, *, limit: int, after: tuple[datetime, str] | None) -> Statement:
    """`ReadQueries.open_flags`: rows of `AGGREGATE_ROW`, walking in (created_at, id) order
    an index that holds the open flags only, and stopping after `limit` rows."""
    m = d.mark
    keyset, keyset_params = _after(d, "created_at, id", after)
    where = ["kind = 'flag'", "status = 'open'", f"community_id = {m}", *keyset]
    sql = (
        f"SELECT {AGGREGATE_ROW} FROM {d.table('aggregates')}{d.indexed_by('aggregates_open_flags')} "
        f"WHERE {' AND '.join(where)} ORDER BY created_at, id LIMIT {m}"
    )
    return sql, [community_id, *keyset_params, limit]


def unanswered_questions(
    d: Dialect,
    community_id: str | None,
    *,
    tag: str | None = None,
    asked_before: datetime | None = None,
    limit: int = 100,
    after: tuple[datetime, str] | None = None,
) -> Statement:
    """`ReadQueries.unanswered_questions`: rows of `AGGREGATE_ROW`. Both shapes walk, in
    (open_since, id) order, an index holding open questions only (by tag: the tags of open
    questions only) and stop after `limit` rows: the cost follows the page, not the history."""
    m = d.mark
    params: list[Any] = []
    if tag is not None:
        t = "t"
        source = f"{d.table('tags')} t {d.ordered_join} {d.table('aggregates')} a ON a.kind = t.kind AND a.id = t.id"
        time = f"t.{d.tag_time}"
        where = ["t.kind = 'question'", f"{time} IS NOT NULL", f"t.tag = {m}"]
        params.append(tag)
    else:
        t = "a"
        # Named for SQLite: with the kind in the query its planner would take the index by
        # community and sort; the partial index of open questions is the one that stops early.
        source = f"{d.table('aggregates')} a{d.indexed_by('aggregates_open_questions')}"
        time = "a.open_since"
        where = ["a.kind = 'question'", f"{time} IS NOT NULL"]
    if community_id is not None:
        where.append(f"{t}.community_id = {m}")
        params.append(community_id)
    if asked_before is not None:
        where.append(f"{time} < {m}")
        params.append(d.time(asked_before))
    keyset, keyset_params = _after(d, f"{time}, {t}.id", after)
    where.extend(keyset)
    params.extend(keyset_params)
    params.append(limit)
    sql = (
        f"SELECT a.kind, a.id, a.version, a.data FROM {source} WHERE {' AND '.join(where)} "
        f"ORDER BY {time}, {t}.id LIMIT {m}"
    )
    return sql, params


# -- the event log ------------------------------------------------------------------------------

EVENT_ROW: Final = "position, data"


def events(
    d: Dialect,
    community_id: str | None,
    after: int,
    limit: int,
    before: int | None = None,
    newest_first: bool = False,
) -> Statement:
    """`EventLog.events`: rows of `EVENT_ROW`, by the primary key or by community (either
    index read forwards, or backwards for the newest first)."""
    m = d.mark
    where = f"position > {m}"
    params: list[Any] = [after]
    if before is not None:
        where += f" AND position < {m}"
        params.append(before)
    if community_id is not None:
        where = f"community_id = {m} AND {where}"
        params.insert(0, community_id)
    params.append(limit)
    order = "position DESC" if newest_first else "position"
    return f"SELECT {EVENT_ROW} FROM {d.table('events')} WHERE {where} ORDER BY {order} LIMIT {m}", params


def last_position(d: Dialect) -> Statement:
    """`EventLog.last_position`: the greatest position, from the primary key."""
    return f"SELECT coalesce(max(position), 0) FROM {d.table('events')}", []


def activity(d: Dialect, person_id: str, since: datetime, until: datetime, community_id: str | None) -> Statement:
    """`EventLog.activity`: rows of `EVENT_ROW`, from the index by actor and time."""
    m = d.mark
    # Named for SQLite: left to itself, its planner walks the community's events in the window
    # instead, a cost that follows the community, not the person.
    sql = (
        f"SELECT {EVENT_ROW} FROM {d.table('events')}{d.indexed_by('events_by_actor')} "
        f"WHERE actor_id = {m} AND occurred_at >= {m} AND occurred_at < {m}"
    )
    params: list[Any] = [person_id, d.time(since), d.time(until)]
    if community_id is not None:
        sql += f" AND community_id = {m}"
        params.append(community_id)
    return sql + " ORDER BY position", params


def count_events(
    d: Dialect,
    community_id: str | None,
    since: datetime,
    until: datetime,
    period: Period,
    types: Sequence[str] | None,
) -> Statement:
    """`EventLog.count_events`: rows of (first day of the period, count), by day."""
    m = d.mark
    where = [f"occurred_at >= {m}", f"occurred_at < {m}"]
    params: list[Any] = [d.time(since), d.time(until)]
    if community_id is not None:
        where.insert(0, f"community_id = {m}")
        params.insert(0, community_id)
    if types is not None:
        clause, wanted = d.any_of("type", sorted(set(types)))
        where.append(clause)
        params.extend(wanted)
    bucket = d.period_start[Period(period)]
    sql = (
        f"SELECT {bucket} AS first_day, count(*) FROM {d.table('events')} WHERE {' AND '.join(where)} "
        "GROUP BY first_day ORDER BY first_day"
    )
    return sql, params


# -- the outbox ---------------------------------------------------------------------------------

#: The columns of an outbox entry, in the order `entry_from_row` reads them.
ENTRY_ROW: Final = (
    "id, event_id, recipient_id, topic, community_id, created_at, params, "
    "status, attempts, next_attempt_at, last_error, settled_at, claimed_by, claimed_until"
)


def entry_from_row(d: Dialect, row: Sequence[Any]) -> OutboxEntry:
    """The named constructor of an outbox entry from a row of `ENTRY_ROW`."""
    message_id, event_id, recipient_id, topic, community_id, created_at, params = row[:7]
    status, attempts, next_attempt_at, last_error, settled_at, claimed_by, claimed_until = row[7:]
    message = OutboxMessage(
        id=message_id,
        event_id=event_id,
        recipient_id=recipient_id,
        topic=topic,
        community_id=community_id,
        params=json.loads(params),
        created_at=d.read_time(created_at),
    )
    return OutboxEntry(
        message=message,
        status=DeliveryStatus(status),
        attempts=int(attempts),
        next_attempt_at=d.read_time(next_attempt_at),
        last_error=last_error,
        settled_at=d.read_time(settled_at) if settled_at is not None else None,
        claimed_by=claimed_by,
        claimed_until=d.read_time(claimed_until) if claimed_until is not None else None,
    )


def pending_messages(d: Dialect, limit: int) -> Statement:
    """`Outbox.pending_messages`: rows of `ENTRY_ROW`, oldest first."""
    return (
        f"SELECT {ENTRY_ROW} FROM {d.table('outbox')} WHERE status = 'pending' ORDER BY created_at, id LIMIT {d.mark}",
        [limit],
    )


def outbox(
    d: Dialect,
    status: DeliveryStatus | None,
    recipient_id: str | None,
    limit: int,
    after: tuple[datetime, str] | None = None,
) -> Statement:
    """`Outbox.outbox`: rows of `ENTRY_ROW`, oldest first, by status or recipient; with
    `after`, those strictly after that (created_at, id)."""
    m = d.mark
    where: list[str] = []
    params: list[Any] = []
    keyset, keyset_params = _after(d, "created_at, id", after)
    where.extend(keyset)
    params.extend(keyset_params)
    if status is not None:
        where.append(f"status = {m}")
        params.append(DeliveryStatus(status).value)
    if recipient_id is not None:
        where.append(f"recipient_id = {m}")
        params.append(recipient_id)
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    params.append(limit)
    return f"SELECT {ENTRY_ROW} FROM {d.table('outbox')} {clause}ORDER BY created_at, id LIMIT {m}", params


def due_messages(d: Dialect) -> str:
    """The ids a claim takes (parameters: now, now, limit), oldest due first, from the index of
    pending messages by due time (named for SQLite: without statistics its planner would
    rather sort every pending message), with `Dialect.claim_lock`."""
    m = d.mark
    return (
        f"SELECT id FROM {d.table('outbox')}{d.indexed_by('outbox_due')} WHERE status = 'pending' "
        f"AND next_attempt_at <= {m} AND (claimed_until IS NULL OR claimed_until <= {m}) "
        f"ORDER BY next_attempt_at, created_at, id LIMIT {m}{d.claim_lock}"
    )


def claim_messages(d: Dialect, worker: str, now: datetime, lease: timedelta, limit: int) -> Statement:
    """`Outbox.claim_messages`: one UPDATE of the due messages, returning rows of `ENTRY_ROW`
    (in no order). Atomic in one statement; SQLite runs it in a ``BEGIN IMMEDIATE``."""
    m = d.mark
    stamp = d.time(now)
    return (
        f"UPDATE {d.table('outbox')} SET claimed_by = {m}, claimed_until = {m} WHERE id IN ({due_messages(d)}) "
        f"RETURNING {ENTRY_ROW}",
        [worker, d.time(now + lease), stamp, stamp, limit],
    )


# The outbox's bookkeeping: one statement run once per row (`executemany`), in order, in one
# transaction; each returns how many rows it changed.

Rows = tuple[str, list[tuple[Any, ...]]]


def mark_delivered(d: Dialect, message_ids: Sequence[str], at: datetime) -> Rows:
    """`Outbox.mark_delivered`: pending messages only (the others are left as they are)."""
    m = d.mark
    stamp = d.time(at)
    return (
        f"UPDATE {d.table('outbox')} SET status = 'delivered', delivered_at = {m}, settled_at = {m}, "
        f"claimed_by = NULL, claimed_until = NULL WHERE id = {m} AND status = 'pending'",
        [(stamp, stamp, mid) for mid in dict.fromkeys(message_ids)],
    )


def settle_messages(d: Dialect, outcomes: Sequence[Outcome], worker: str) -> Rows:
    """`Outbox.settle_messages`: each outcome applies while `worker` holds the claim, and
    releases it, so that a repeated outcome (run after) finds nothing to change."""
    m = d.mark
    rows = []
    for o in outcomes:
        settled = d.time(o.at) if o.status is not DeliveryStatus.PENDING else None
        delivered = settled if o.status is DeliveryStatus.DELIVERED else None
        retry = d.time(o.next_attempt_at) if o.next_attempt_at is not None else None
        count_attempt = 1 if o.count_attempt else 0
        rows.append(
            (DeliveryStatus(o.status).value, count_attempt, retry, o.error, settled, delivered, o.message_id, worker)
        )
    return (
        f"UPDATE {d.table('outbox')} SET status = {m}, attempts = attempts + {m}, "
        f"next_attempt_at = coalesce({m}, next_attempt_at), last_error = coalesce({m}, last_error), "
        f"settled_at = {m}, delivered_at = coalesce({m}, delivered_at), claimed_by = NULL, claimed_until = NULL "
        f"WHERE id = {m} AND claimed_by = {m} AND status = 'pending'",
        rows,
    )


def requeue(d: Dialect, message_ids: Sequence[str], now: datetime) -> Rows:
    """`Outbox.requeue`: dead or dropped messages only."""
    m = d.mark
    stamp = d.time(now)
    return (
        f"UPDATE {d.table('outbox')} SET status = 'pending', attempts = 0, next_attempt_at = {m}, settled_at = NULL, "
        f"claimed_by = NULL, claimed_until = NULL WHERE id = {m} AND status IN ('dead', 'dropped')",
        [(stamp, mid) for mid in dict.fromkeys(message_ids)],
    )


# -- the facts of the health report ----------------------------------------------------------------
# One aggregate query per family (coplib.domain.health): the questions with their first answer
# by someone else, the contributions per person and day, the members. Withdrawn contributions
# and acceptances come from their events, the few rows of those types, so that no stored
# document is read. What the two stores spell differently is a `HealthDialect`.

#: The contribution kinds, as SQL (the partial indexes of the SQLite store name this very list).
CONTRIBUTION_KINDS_SQL: Final = "kind IN ('question', 'answer', 'comment', 'resource', 'experience', 'meeting')"
#: The events the report reads by type, as SQL (likewise), and the fields of them it reads
#: (the SQLite store's index of those events holds them).
HEALTH_EVENTS_SQL: Final = (
    "type IN ('answer_accepted', 'answer_unaccepted', 'contribution_withdrawn', 'contribution_hidden', "
    "'contribution_unhidden')"
)
#: `HEALTH_EVENTS_SQL` as the migrations of SQLite's version 8 and PostgreSQL's fourth released it
#: (without the unacceptances, which a later migration adds).
HEALTH_EVENTS_BEFORE_UNACCEPTING_SQL: Final = (
    "type IN ('answer_accepted', 'contribution_withdrawn', 'contribution_hidden', 'contribution_unhidden')"
)
#: The events that take a contribution out of the report (a withdrawal, or a moderator's
#: hiding not undone since), or put it back (showing it again).
LEFT_OUT_EVENTS_SQL: Final = "type IN ('contribution_withdrawn', 'contribution_hidden', 'contribution_unhidden')"
HEALTH_EVENT_FIELDS: Final = ("question_id", "answer_id", "contribution_kind", "contribution_id")


@attrs.frozen
class HealthDialect:
    """What differs between the stores in the statements of the health report."""

    #: SQL of the first day of the week (Monday, UTC) and of the month (``YYYY-MM``) of the
    #: time column ``{col}``, as text (``YYYY-MM-DD``; the SQLite store's index holds these).
    week: str
    month: str
    #: SQL of the time column ``{col}`` plus a number of days given as a parameter.
    plus_days: str
    #: The aggregate that joins the distinct texts ``{expr}`` of a group with commas, in no
    #: order (NULLs left out).
    concat_distinct: str
    #: The contributions of a community, as the FROM of the contributors' query (``{alias}``;
    #: index hints).
    contributions: str
    #: The questions and answers, as the FROM of the questions' query (``q`` and ``a``).
    threads: str
    #: A field of an event's JSON document, by name.
    json_field: Callable[[str], str]
    #: ``column`` matches a pattern of `coplib.domain.health.pattern_regex` (``*``: anything),
    #: with the pattern as the statement gives it.
    matches: Callable[[str, str], Statement]
    #: ``column`` is none of the values: SQL and its parameters (none when there are no values).
    none_of: Callable[[str, Sequence[Any]], Statement]
    #: ``column`` is one of the values (a condition, even for no values), with its parameters.
    one_of: Callable[[str, Sequence[str]], Statement]
    #: Correlated subqueries (SQLite walks its index once per question) or one join grouped
    #: by question (PostgreSQL hashes it).
    correlated: bool
    #: The column that names a row for `none_of` (SQLite's ``rowid``, a key of its covering
    #: indexes; PostgreSQL's ``id``).
    row_key: str = "id"


def withdrawn_contributions(d: Dialect, h: HealthDialect, community_id: str) -> Statement:
    """Rows of (type, kind, id) of the community's withdrawals, hidings and showings again, in
    their order: `left_out` folds them into what the report leaves out."""
    return (
        f"SELECT type, {h.json_field('contribution_kind')}, {h.json_field('contribution_id')} "
        f"FROM {d.table('events')} WHERE community_id = {d.mark} AND {LEFT_OUT_EVENTS_SQL} AND {HEALTH_EVENTS_SQL} "
        "ORDER BY position",
        [community_id],
    )


def left_out(rows: Iterable[Sequence[Any]]) -> list[tuple[str, str]]:
    """The (kind, id) of the contributions the report leaves out, from the rows of
    `withdrawn_contributions`: those withdrawn, and those a moderator hid and nobody showed
    again since (docs/health.md, "Counting rules"), in the order they were left out."""
    out: dict[tuple[str, str], bool] = {}  # the key: whether it was withdrawn
    for type_, kind, id_ in rows:
        key = (kind, id_)
        if type_ == "contribution_unhidden":
            if not out.get(key, True):
                del out[key]
        elif type_ == "contribution_withdrawn" or key not in out:
            out[key] = type_ == "contribution_withdrawn"
    return list(out)


def acceptances(d: Dialect, h: HealthDialect, community_id: str) -> Statement:
    """Rows of (question id, answer id) of the community's acceptances and unacceptances, in
    their order, the answer NULL for an unacceptance: the last row of a question says what it
    has accepted now."""
    answer = f"CASE WHEN type = 'answer_unaccepted' THEN NULL ELSE {h.json_field('answer_id')} END"
    return (
        f"SELECT {h.json_field('question_id')}, {answer} FROM {d.table('events')} "
        f"WHERE community_id = {d.mark} AND type IN ('answer_accepted', 'answer_unaccepted') "
        f"AND {HEALTH_EVENTS_SQL} ORDER BY position",
        [community_id],
    )


def _someone_else(h: HealthDialect, unattributed: Sequence[str]) -> Statement:
    clauses = ["a.person_id <> q.person_id"]
    params: list[Any] = []
    for pattern in unattributed:
        sql, given = h.matches("q.person_id", pattern)
        clauses.append(sql)
        params.extend(given)
    return "(" + " OR ".join(clauses) + ")", params


def question_facts(
    d: Dialect,
    h: HealthDialect,
    community_id: str,
    until: datetime,
    unattributed: Sequence[str],
    withdrawn: Sequence[Any],
) -> Statement:
    """`ReadQueries.question_facts`: rows of (id, asker, created_at, first answer by someone
    else, the authors of those answers separated by spaces), by creation then id; correlated,
    the last two are one text: the time, a space, the authors.
    `withdrawn` are `HealthDialect.row_key` values of the withdrawn contributions."""
    m = d.mark
    stamp = d.time(until)
    other, other_params = _someone_else(h, unattributed)
    q_live, q_params = h.none_of(f"q.{h.row_key}", withdrawn)
    a_live, a_params = h.none_of(f"a.{h.row_key}", withdrawn)
    # The list of kinds repeats the partial index's condition, so that SQLite may use it.
    questions = (
        f"q.community_id = {m} AND q.kind = 'question' AND q.{CONTRIBUTION_KINDS_SQL} AND q.created_at < {m}{q_live}"
    )
    answers = (
        f"a.community_id = q.community_id AND a.kind = 'answer' AND a.{CONTRIBUTION_KINDS_SQL} "
        f"AND a.parent_id = q.id AND a.created_at < {m} AND {other}{a_live}"
    )
    if h.correlated:
        inner = h.threads.format(alias="a")
        sql = (
            # One walk of the question's answers gives both: the first time, then the authors.
            "SELECT q.id, q.person_id, q.created_at, "
            f"(SELECT min(a.created_at) || ' ' || group_concat(a.person_id, ' ') FROM {inner} WHERE {answers}) "
            f"FROM {h.threads.format(alias='q')} WHERE {questions} AND q.parent_id IS NULL ORDER BY q.created_at, q.id"
        )
        return sql, [stamp, *other_params, *a_params, community_id, stamp, *q_params]
    sql = (
        f"SELECT q.id, q.person_id, q.created_at, min(a.created_at), string_agg(DISTINCT a.person_id, ' ') "
        f"FROM {h.threads.format(alias='q')} LEFT JOIN {h.threads.format(alias='a')} ON {answers} "
        f"WHERE {questions} GROUP BY q.id, q.person_id, q.created_at ORDER BY q.created_at, q.id"
    )
    return sql, [stamp, *other_params, *a_params, community_id, stamp, *q_params]


_EARLIEST: Final = datetime(1, 1, 1, tzinfo=UTC)


def contributor_facts(
    d: Dialect,
    h: HealthDialect,
    community_id: str,
    since: datetime | None,
    until: datetime,
    window_days: int,
    withdrawn: Sequence[Any],
    experts: Sequence[str] = (),
) -> list[Statement]:
    """`ReadQueries.contributor_facts`: two statements, read in one snapshot and given to
    `contributor_facts_from_rows`.

    The people, one row per person, grouped while the index is walked in person order:
    (person, contributions, questions, answers and repertoire items in the period, first and
    last contribution, first question, the distinct weeks (first days, ``YYYY-MM-DD``) and the
    distinct months (``YYYY-MM``) of their contributions in the period, each joined with
    commas, the window's end, and, for a person whose first contribution is a question, how
    many contributions they made within the window of it). A period's active contributors are
    the people whose list names it.

    The cells of the period, one row per week and month that hold contributions (a week across
    two months is two cells): (week, month, contributions, answers, answers by `experts`),
    summed into weeks and into months: a count splits across cells, a set of people would not."""
    m = d.mark
    stamp = d.time(until)
    live, live_params = h.none_of(f"c.{h.row_key}", withdrawn)
    inner_live, inner_params = h.none_of(f"k.{h.row_key}", withdrawn)
    contributions = h.contributions.format(alias="c")
    scope = f"c.community_id = {m} AND c.{CONTRIBUTION_KINDS_SQL} AND c.created_at < {m}{live}"
    # The whole history is the period when `since` is None: then no row is tested for it.
    in_period, period_params = ("", []) if since is None else (f"c.created_at >= {m}", [d.time(since)])

    def counted(*conditions: str) -> str:
        wanted = " AND ".join(c for c in conditions if c)
        return f"sum(CASE WHEN {wanted} THEN 1 ELSE 0 END)" if wanted else "count(*)"

    def listed(expr: str) -> str:
        return h.concat_distinct.format(expr=f"CASE WHEN {in_period} THEN {expr} END" if in_period else expr)

    question, answer, repertoire = "c.kind = 'question'", "c.kind = 'answer'", "c.kind IN ('resource', 'experience')"
    week, month = h.week.format(col="c.created_at"), h.month.format(col="c.created_at")
    people = (
        # Whether they contributed again within the window: two contributions by its end
        # (the first is the first), so the walk stops at the second.
        "SELECT p.*, CASE WHEN p.first_q = p.first_at THEN "
        f"(SELECT count(*) FROM (SELECT 1 FROM {h.contributions.format(alias='k')} WHERE k.community_id = {m} "
        f"AND k.{CONTRIBUTION_KINDS_SQL} AND k.person_id = p.person_id "
        f"AND {h.week.format(col='k.created_at')} <= {h.week.format(col='p.until_at')} "
        f"AND k.created_at <= p.until_at{inner_live} LIMIT 2) AS hits) END FROM ("
        f"SELECT c.person_id AS person_id, {counted(in_period)}, {counted(in_period, question)}, "
        f"{counted(in_period, answer)}, {counted(in_period, repertoire)}, "
        "min(c.created_at) AS first_at, max(c.created_at), "
        f"min(CASE WHEN {question} THEN c.created_at END) AS first_q, {listed(week)}, {listed(month)}, "
        f"{h.plus_days.format(col='min(c.created_at)')} AS until_at "
        f"FROM {contributions} WHERE {scope} GROUP BY c.person_id) p"
    )
    people_params = [community_id, *inner_params, *period_params * 6, window_days, community_id, stamp, *live_params]
    by_expert, expert_params = h.one_of("c.person_id", experts)
    cells = (
        f"SELECT {week}, {month}, count(*), {counted(answer)}, {counted(answer, by_expert)} "
        f"FROM {contributions} WHERE {scope}{f' AND {in_period}' if in_period else ''} GROUP BY 1, 2"
    )
    return [(people, people_params), (cells, [*expert_params, community_id, stamp, *live_params, *period_params])]


def window_days(window: timedelta) -> int:
    """A retention window as the whole days the statement takes."""
    if window.total_seconds() % 86400:
        raise ValueError(f"a retention window is whole days, got {window}")
    return window.days


def contributor_facts_from_rows(
    people_rows: Iterable[Sequence[Any]], cell_rows: Iterable[Sequence[Any]], read_time: Callable[[Any], datetime]
) -> ContributorFacts:
    """`ContributorFacts` from the rows of the two statements of `contributor_facts`: the
    people as they come; each period's active contributors counted from the people's lists,
    joined into one text and counted at once (``Counter`` of a list is a loop in C)."""
    people = []
    weeks: list[str] = []
    months: list[str] = []
    for person, n, q, a, r, first, last, first_q, in_weeks, in_months, _, again in people_rows:
        people.append(
            PersonFacts(
                person,
                int(n),
                int(q),
                int(a),
                int(r),
                read_time(first),
                read_time(last),
                read_time(first_q) if first_q is not None else None,
                int(again) >= 2 if again is not None else None,
            )
        )
        if in_weeks:
            weeks.append(in_weeks)
            months.append(in_months)
    people.sort()
    present = {"w": Counter(",".join(weeks).split(",")), "m": Counter(",".join(months).split(","))}
    sums: dict[str, dict[str, list[int]]] = {"w": {}, "m": {}}
    for week, month, n, a, e in cell_rows:
        for key, start in (("w", week), ("m", month)):
            row = sums[key].setdefault(start, [0, 0, 0])
            row[0] += int(n)
            row[1] += int(a)
            row[2] += int(e)

    def periods(key: str, day: str) -> list[PeriodFacts]:
        return sorted(
            PeriodFacts(date.fromisoformat(start + day), n, a, present[key][start], e)
            for start, (n, a, e) in sums[key].items()
        )

    return ContributorFacts(periods("w", ""), periods("m", "-01"), people)


def member_facts(d: Dialect, community_id: str) -> Statement:
    """`ReadQueries.member_facts`: rows of (person, joined, 1 for an expert else 0), by person."""
    m = d.mark
    return (
        f"SELECT a.person_id, a.created_at, CASE WHEN EXISTS (SELECT 1 FROM {d.table('membership_roles')} r "
        "WHERE r.id = a.id AND r.role = 'expert') THEN 1 ELSE 0 END "
        f"FROM {d.table('aggregates')} a WHERE a.kind = 'membership' AND a.community_id = {m} AND a.status = 'active' "
        "ORDER BY a.person_id",
        [community_id],
    )
