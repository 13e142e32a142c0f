"""A community driven through the engine month by month, on a controlled clock."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import coplib
from coplib import Charter, ManualClock, Role
from coplib.domain.decline import next_month
from coplib.domain.people import Person

PEOPLE = tuple(Person(id=f"p{i:02d}", display_name=f"P{i}", email=f"p{i}@example.org") for i in range(30))
FACILITATOR, SPONSOR = "p00", "p01"
START = datetime(2024, 1, 1, 8, tzinfo=UTC)
#: Short windows so that a year and a half of history is enough (the defaults need more).
QUICK = {
    "decline_window_months": "5",
    "decline_min_history_months": "5",
    "decline_confirm_months": "1",
    "decline_enter_p_percent": "5",
    "bootstrap_members": "20",
}
#: Questions a month: steady, then falling by half over a few months, then steady again.
FALLING = [24] * 8 + [20, 15, 11, 8, 6, 5] + [5] * 4


def open_engine(url: str = "memory://", clock: ManualClock | None = None) -> coplib.Engine:
    return coplib.open(url, people=PEOPLE, clock=clock or ManualClock(START), plugins=[coplib.RecordingNotifier()])


def found(engine: coplib.Engine, settings: dict[str, str] | None = None, cid: str = "weld") -> str:
    engine.create_organisation(FACILITATOR, "Acme", organisation_id="acme")
    charter = Charter(vocation="Weld", policy_settings={"lifecycle": dict(QUICK if settings is None else settings)})
    engine.create_community(FACILITATOR, "acme", name="Welders", charter=charter, community_id=cid)
    for p in PEOPLE[1:]:
        engine.join(p.id, cid)
    engine.assign_role(FACILITATOR, cid, SPONSOR, Role.SPONSOR)
    return cid


def month_start(i: int) -> datetime:
    day = START.date().replace(day=1)
    for _ in range(i):
        day = next_month(day)
    return datetime(day.year, day.month, 1, tzinfo=UTC)


def live(
    engine: coplib.Engine,
    clock: ManualClock,
    cid: str,
    monthly: Sequence[int],
    *,
    seed: int = 0,
    tick_hours: Sequence[int] = (1,),
) -> list[Any]:
    """Ask `monthly[i]` questions in month i (each answered by another member within hours),
    ticking in each month at the hours of `tick_hours` after it starts; returns the tick
    reports."""
    rng = random.Random(seed)
    reports = []
    for i, n in enumerate(monthly):
        begin = month_start(i)
        for hours in tick_hours:
            at = begin + timedelta(hours=hours)
            if at > clock.now():
                clock.advance(at - clock.now())
            reports.append(engine.tick())
        span = (month_start(i + 1) - clock.now()).total_seconds() - 3 * 86400
        moments = sorted(clock.now() + timedelta(seconds=rng.random() * span) for _ in range(n))
        for at in moments:
            if at > clock.now():
                clock.advance(at - clock.now())
            asker, helper = rng.sample(PEOPLE[2:], 2)
            question = engine.ask(asker.id, cid, title="Which wire?", body="For thin sheets")
            clock.advance(timedelta(minutes=rng.randrange(5, 600)))
            engine.answer(helper.id, question.id, body="0.8 mm")
    end = month_start(len(monthly)) + timedelta(hours=tick_hours[0])
    clock.advance(end - clock.now())
    reports.append(engine.tick())
    return reports


def recorded(engine: coplib.Engine, cid: str, *types: str) -> list[Any]:
    return [r.event for r in engine.store.events(community_id=cid, limit=100_000) if r.event.TYPE in types]
