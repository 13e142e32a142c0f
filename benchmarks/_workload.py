"""The workloads the benchmarks share: a community where people ask and answer, the same as a
history to import, the census of the rows coplib wrote, and raw rows of the same number and
size for the baselines."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

import coplib
from coplib import Engine, Person
from coplib.domain import events as ev
from coplib.domain.community import Charter, CommunityKind, LifecycleStage, Role, Visibility

#: One facilitator (p00) and 19 members who ask and answer in turn.
PEOPLE = tuple(Person(id=f"p{i:02d}", display_name=f"Person {i}", email=f"p{i:02d}@example.org") for i in range(20))
TAGS = ("welding", "aluminium")
TITLE = "How do I weld thin aluminium sheets without warping them? ({})"
QUESTION = "I tried preheating and a smaller nozzle, the sheet still warps at the edges. " * 3
ANSWER = "Clamp it to a copper backing bar, tack both ends first, then stitch in short runs. " * 3


def policy_plugins() -> list[str]:
    """The names of the built-in policy plugins (what ``block=`` takes to switch them off)."""
    from coplib.bootstrap.open import default_plugins

    return [name for name, _ in default_plugins() if name.startswith("coplib.policy.")]


def found_community(engine: Engine) -> str:
    """An organisation and an open community with its 20 members; returns the community id."""
    engine.create_organisation(PEOPLE[0].id, "Acme", organisation_id="acme")
    community = engine.create_community(PEOPLE[0].id, "acme", name="Welding", vocation="Welders help each other")
    for person in PEOPLE[1:]:
        engine.join(person.id, community.id)
    return community.id


def contributions(engine: Engine, community_id: str, count: int, start: int = 0) -> None:
    """`count` commands, one unit of work each: a question, then an answer to it by someone
    else, and so on."""
    question_id = ""
    members = len(PEOPLE) - 1
    for i in range(start, start + count):
        actor = PEOPLE[1 + i % members].id
        if i % 2 == 0:
            question_id = engine.ask(actor, community_id, title=TITLE.format(i), body=QUESTION, tags=TAGS).id
        else:
            engine.answer(actor, question_id, body=ANSWER)


def history(count: int, *, open_questions: bool = False, start: datetime | None = None) -> list[ev.DomainEvent]:
    """A community's founding and `count` contributions as events (for `import_history`):
    questions each answered by the next event, or, with `open_questions`, questions only."""
    moment = start or datetime(2025, 1, 6, 9, tzinfo=UTC)
    step = timedelta(seconds=1)
    ids = iter(range(1, 10**9))

    def base(actor: str, community_id: str | None) -> dict[str, Any]:
        nonlocal moment
        moment += step
        return {"id": f"e{next(ids):08d}", "actor_id": actor, "community_id": community_id, "occurred_at": moment}

    founder, cid = PEOPLE[0].id, "welding"
    events: list[ev.DomainEvent] = [
        ev.OrganisationCreated(**base(founder, None), organisation_id="acme", name="Acme"),
        ev.CommunityCreated(
            **base(founder, cid),
            organisation_id="acme",
            name="Welding",
            kind=CommunityKind.PRACTICE,
            visibility=Visibility.OPEN,
            stage=LifecycleStage.COALESCING,
            tags=frozenset(TAGS),
            charter=Charter(vocation="Welders help each other"),
        ),
        ev.MemberJoined(**base(founder, cid), person_id=founder, via="founder"),
        ev.RoleAssigned(**base(founder, cid), person_id=founder, role=Role.FACILITATOR),
    ]
    events.extend(ev.MemberJoined(**base(p.id, cid), person_id=p.id, via="open") for p in PEOPLE[1:])
    members = len(PEOPLE) - 1
    question = ("", "")
    for i in range(count):
        actor = PEOPLE[1 + i % members].id
        if open_questions or i % 2 == 0:
            question = (f"q{i:08d}", actor)
            events.append(
                ev.QuestionAsked(
                    **base(actor, cid), question_id=question[0], title=TITLE.format(i), body=QUESTION, tags=TAGS
                )
            )
        else:
            events.append(
                ev.AnswerPosted(
                    **base(actor, cid),
                    answer_id=f"a{i:08d}",
                    question_id=question[0],
                    asker_id=question[1],
                    body=ANSWER,
                )
            )
    return events


# -- what coplib wrote ------------------------------------------------------------------------


@attrs.frozen
class Census:
    """The rows a run wrote, table by table, and their average size (bytes of JSON)."""

    aggregates: int
    aggregate_updates: int
    tags: int
    roles: int
    events: int
    outbox: int
    aggregate_size: float
    event_size: float
    contribution_event_size: float
    params_size: float

    def per_unit(self, units: int) -> str:
        def each(n: int) -> str:
            return f"{n / units:.2f}"

        return (
            f"per unit: {each(self.aggregates)} aggregate rows inserted (+{each(self.aggregate_updates)} updated), "
            f"{each(self.tags)} tag rows, {each(self.roles)} role rows, {each(self.events)} events, "
            f"{each(self.outbox)} outbox rows; JSON sizes: aggregate {self.aggregate_size:.0f} B, "
            f"event {self.event_size:.0f} B, contribution event {self.contribution_event_size:.0f} B"
        )

    @property
    def rows(self) -> int:
        return self.aggregates + self.tags + self.roles + self.events + self.outbox


#: Queries of a coplib SQLite file (table names) and PostgreSQL schema (coplib_ prefix).
_MARK_SQL = {
    "sqlite": (
        "SELECT (SELECT coalesce(max(rowid), 0) FROM aggregates), (SELECT coalesce(sum(version), 0) FROM aggregates), "
        "(SELECT count(*) FROM aggregates), (SELECT coalesce(max(position), 0) FROM events), "
        "(SELECT count(*) FROM outbox), (SELECT count(*) FROM membership_roles)"
    ),
}


def sqlite_mark(conn: Any) -> tuple[int, ...]:
    """Where a coplib SQLite file stands: the census counts what was written after it."""
    row = conn.execute(_MARK_SQL["sqlite"]).fetchone()
    return tuple(int(x) for x in row)


def sqlite_census(conn: Any, mark: tuple[int, ...]) -> Census:
    """The rows written to a coplib SQLite file since `mark` (a `sqlite_mark`)."""
    max_rowid, versions, count, position, outbox, roles = mark
    now = sqlite_mark(conn)
    inserted = now[2] - count
    # Tag rows of open questions are written when asked (and dropped once answered).
    tags, size = conn.execute(
        "SELECT coalesce(sum(CASE WHEN kind IN ('question', 'resource', 'experience') "
        "THEN json_array_length(data, '$.tags') ELSE 0 END), 0), coalesce(avg(length(data)), 0) "
        "FROM aggregates WHERE rowid > ?",
        (max_rowid,),
    ).fetchone()
    event_size, contribution_size = conn.execute(
        "SELECT coalesce(avg(length(data)), 0), "
        "coalesce(avg(CASE WHEN type IN ('question_asked', 'answer_posted') THEN length(data) END), 0) "
        "FROM events WHERE position > ?",
        (position,),
    ).fetchone()
    params_size = conn.execute(
        "SELECT coalesce(avg(length(params)), 0) FROM outbox WHERE event_id IN "
        "(SELECT id FROM events WHERE position > ?)",
        (position,),
    ).fetchone()[0]
    return Census(
        aggregates=inserted,
        aggregate_updates=now[1] - versions - inserted,
        tags=int(tags),
        roles=now[5] - roles,
        events=now[3] - position,
        outbox=now[4] - outbox,
        aggregate_size=float(size),
        event_size=float(event_size),
        contribution_event_size=float(contribution_size),
        params_size=float(params_size),
    )


# -- raw rows of the same number and size -----------------------------------------------------


def _share(total: int, units: int, i: int) -> int:
    """How many of `total` rows unit `i` of `units` holds (spread evenly, summing to `total`)."""
    return (total * (i + 1)) // units - (total * i) // units


def _text(size: float) -> str:
    return "x" * max(1, round(size))


@attrs.frozen
class RawUnit:
    """The rows of one unit of work, as tuples ready for the raw statements: inserts, and
    updates of aggregate rows written by earlier units (a question answered, a balance)."""

    aggregates: list[tuple[Any, ...]]
    tags: list[tuple[Any, ...]]
    events: list[tuple[Any, ...]]
    outbox: list[tuple[Any, ...]]
    updates: list[tuple[Any, ...]] = attrs.field(factory=list)


def raw_units(census: Census, units: int, stamp: Callable[[datetime], Any] = str) -> list[RawUnit]:
    """`units` units holding, together, as many rows of each table as `census` counted, with
    JSON of the same average size, and as many updates of aggregate rows, each of a row an
    earlier unit wrote (the most recent ones, as coplib mostly updates what was just written);
    ids are random like coplib's (uuid4)."""
    moment = datetime(2025, 1, 6, 9, tzinfo=UTC)
    aggregate, event, params = _text(census.aggregate_size), _text(census.event_size), _text(census.params_size)
    out: list[RawUnit] = []
    written: list[tuple[str, str]] = []
    for i in range(units):
        at = stamp(moment + timedelta(seconds=i))
        aggregates = [
            ("question", uuid.uuid4().hex, "welding", "p01", None, None, at, None, None, None, None, 1, aggregate)
            for _ in range(_share(census.aggregates, units, i))
        ]
        tags = [
            ("question", uuid.uuid4().hex, TAGS[j % 2], "welding", at) for j in range(_share(census.tags, units, i))
        ]
        events = [
            (uuid.uuid4().hex, "question_asked", "welding", "p01", at, event)
            for _ in range(_share(census.events, units, i))
        ]
        cause = events[0][0] if events else uuid.uuid4().hex
        outbox = [
            (uuid.uuid4().hex, cause, "p02", "answer_posted", "welding", at, params, at)
            for _ in range(_share(census.outbox, units, i))
        ]
        updates = [
            (aggregate, *written[-1 - (j % len(written))])
            for j in range(_share(census.aggregate_updates, units, i) if written else 0)
        ]
        written.extend((row[0], row[1]) for row in aggregates)
        del written[:-64]
        out.append(RawUnit(aggregates, tags, events, outbox, updates))
    return out


#: The tables of the raw SQLite baseline: coplib's columns, each table's primary key, and no
#: secondary index (what a hand-written application would start from).
RAW_SQLITE_SCHEMA = (
    """CREATE TABLE aggregates (kind TEXT NOT NULL, id TEXT NOT NULL, community_id TEXT, person_id TEXT,
        parent_id TEXT, organisation_id TEXT, created_at TEXT, open_since TEXT, status TEXT, sort_name TEXT,
        due_at TEXT, version INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (kind, id))""",
    """CREATE TABLE tags (kind TEXT NOT NULL, id TEXT NOT NULL, tag TEXT NOT NULL, community_id TEXT NOT NULL,
        sort_key TEXT NOT NULL, PRIMARY KEY (kind, id, tag)) WITHOUT ROWID""",
    """CREATE TABLE events (position INTEGER PRIMARY KEY, id TEXT NOT NULL, type TEXT NOT NULL, community_id TEXT,
        actor_id TEXT NOT NULL, occurred_at TEXT NOT NULL, data TEXT NOT NULL)""",
    """CREATE TABLE outbox (id TEXT NOT NULL PRIMARY KEY, event_id TEXT NOT NULL, recipient_id TEXT NOT NULL,
        topic TEXT NOT NULL, community_id TEXT, created_at TEXT NOT NULL, params TEXT NOT NULL,
        next_attempt_at TEXT) WITHOUT ROWID""",
)
RAW_SQLITE_INSERTS = (
    "INSERT INTO aggregates (kind, id, community_id, person_id, parent_id, organisation_id, created_at, open_since, "
    "status, sort_name, due_at, version, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "INSERT INTO tags (kind, id, tag, community_id, sort_key) VALUES (?, ?, ?, ?, ?)",
    "INSERT INTO events (id, type, community_id, actor_id, occurred_at, data) VALUES (?, ?, ?, ?, ?, ?)",
    "INSERT INTO outbox (id, event_id, recipient_id, topic, community_id, created_at, params, next_attempt_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "UPDATE aggregates SET version = version + 1, data = ? WHERE kind = ? AND id = ?",
)


def unit_rows(unit: RawUnit) -> Sequence[list[tuple[Any, ...]]]:
    """A unit's rows, in the order of `RAW_SQLITE_INSERTS`."""
    return (unit.aggregates, unit.tags, unit.events, unit.outbox, unit.updates)


def open_engine(url: str, **kwargs: Any) -> Engine:
    """An engine as a host gets it: default plugins, the system clock, random ids."""
    return coplib.open(url, people=PEOPLE, **kwargs)
