"""The small organisation the unit and property tests run in, and helpers to look at a store."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import coplib
from coplib import SYSTEM, Engine, ManualClock, Person
from coplib.domain.history import AGGREGATE_KINDS, Ref
from coplib.domain.history import ref_of as _ref_of

#: A Monday morning, UTC.
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

#: ana animates, eve sponsors, ben is an expert, chloe and dev are members or newcomers,
#: walt is a welder in Lyon (for rules on attributes), olga has left the organisation.
PEOPLE = (
    Person(id="ana", display_name="Ana", email="ana@example.org", locale="fr"),
    Person(id="ben", display_name="Ben", email="ben@example.org", locale="en"),
    Person(id="chloe", display_name="Chloé", email="chloe@example.org", locale="fr"),
    Person(id="dev", display_name="Dev", email="dev@example.org", locale="en"),
    Person(id="eve", display_name="Eve", email="eve@example.org", locale="en"),
    Person(id="walt", display_name="Walt", attributes={"job": "welder", "site": ["Lyon"]}),
    Person(id="olga", display_name="Olga", active=False),
)


def counting_ids(prefix: str = "id") -> Any:
    """A deterministic id factory: ``id-0001``, ``id-0002``..."""
    counter = itertools.count(1)
    return lambda: f"{prefix}-{next(counter):04d}"


def open_engine(clock: ManualClock | None = None, people: Iterable[Person] = PEOPLE, **kwargs: Any) -> Engine:
    """An engine on a fresh memory store, with a manual clock, deterministic ids and a
    recording notifier (first of the plugins)."""
    plugins = list(kwargs.pop("plugins", ()))
    if not any(isinstance(p, coplib.RecordingNotifier) for p in plugins):
        plugins.append(coplib.RecordingNotifier())
    return coplib.open(
        "memory://",
        people=people,
        plugins=plugins,
        clock=clock or ManualClock(START),
        id_factory=counting_ids(),
        **kwargs,
    )


def event_types(engine: Engine, after: int = 0) -> list[str]:
    return [r.event.TYPE for r in engine.store.events(after=after, limit=100_000)]


def last_own_event(engine: Engine) -> Any:
    """The last event a person (not a policy, which acts as `SYSTEM`) recorded."""
    return next(r.event for r in reversed(engine.store.events(limit=1_000_000)) if r.event.actor_id != SYSTEM)


def snapshot(engine: Engine) -> dict[Ref, tuple[Any, int]]:
    """Every stored aggregate with its version, found through the store's own queries."""
    refs = [_ref_of(value) for kind in AGGREGATE_KINDS for value in engine.store.find(kind)]
    return {ref: (found.value, found.version) for ref, found in engine.store.get_many(refs).items()}


def last_position(engine: Engine) -> int:
    recorded = engine.store.events(limit=1_000_000)
    return recorded[-1].position if recorded else 0
