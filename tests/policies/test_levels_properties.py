"""Properties of the levels under random timelines of activity, waiting and ticks: no level
flaps within its minimum stay, promotion is never late, a due demotion is never missed by a
tick, and ticking twice at the same moment does nothing more."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

import coplib
from coplib import Charter, Engine, ManualClock
from coplib.domain import events as ev
from coplib.domain.history import Ref
from coplib.domain.participation import LevelSettings, Participation, ParticipationLevel
from tests.unit.support import PEOPLE, START, counting_ids

SETTINGS = {
    "occasional": "3",
    "active": "9",
    "core_group": "18",
    "window_days": "10",
    "min_stay_days": "5",
    "low_water_percent": "80",
}
LEVELS, _ = LevelSettings.read(SETTINGS)
MEMBERS = ("ben", "chloe", "dev")
Step = tuple[str, int, int]

steps = st.tuples(
    st.sampled_from(["answer", "answer", "comment", "wait", "wait", "tick", "leave", "join"]),
    st.integers(0, 2),
    st.integers(1, 96),
)


class Timeline:
    def __init__(self) -> None:
        self.clock = ManualClock(START)
        self.engine: Engine = coplib.open(
            "memory://",
            people=PEOPLE,
            clock=self.clock,
            id_factory=counting_ids(),
            strict=True,
            block=["coplib.policy.answer_guarantee"],
        )
        self.engine.create_organisation("eve", "Acme", organisation_id="acme")
        charter = Charter(vocation="Weld", policy_settings={"participation_levels": SETTINGS})
        self.engine.create_community("ana", "acme", name="Welding", charter=charter, community_id="welding")
        for person in MEMBERS:
            self.engine.join(person, "welding")
        self.question = self.engine.ask("ana", "welding", title="Gas?", body="Which one?")

    def run(self, step: Step) -> None:
        name, who, amount = step
        person = MEMBERS[who]
        member = self.active(person)
        match name:
            case "answer" if member:
                self.engine.answer(person, self.question.id, body="Argon")
            case "comment" if member:
                self.engine.comment(person, "question", self.question.id, body="+1")
            case "wait":
                self.clock.advance(timedelta(hours=amount * 2))
            case "tick":
                self.tick_twice()
            case "leave" if member:
                self.engine.leave(person, "welding")
            case "join" if not member:
                self.engine.join(person, "welding")
        self.clock.advance(timedelta(minutes=1))

    def active(self, person: str) -> bool:
        found = self.engine.store.get(Ref("membership", f"welding/{person}"))
        return found is not None and getattr(found.value, "active", False)

    def tick_twice(self) -> None:
        self.engine.tick()
        events = self.engine.store.events(limit=1_000_000)
        again = self.engine.tick()
        assert set(again.done.values()) <= {0}
        assert self.engine.store.events(limit=1_000_000) == events
        self.check_now()

    def score(self, person: str, now: datetime) -> int:
        recorded = self.engine.store.activity(
            person, since=now - LEVELS.window, until=now + timedelta(microseconds=1), community_id="welding"
        )
        return LEVELS.score(((r.event.occurred_at, LEVELS.weights.get(r.event.TYPE, 0)) for r in recorded), now=now)

    def check_now(self) -> None:
        """Right after a tick: nobody is below the level their score earns (promotion is at
        once), and nobody who should have been demoted by now still waits."""
        now = self.clock.now()
        for person in MEMBERS:
            if not self.active(person):
                continue
            found = self.engine.store.get(Ref("participation", f"welding/{person}"))
            record = found.value if found is not None else None
            level = record.level if isinstance(record, Participation) else ParticipationLevel.PERIPHERAL
            score = self.score(person, now)
            assert level.rank >= LEVELS.level_for(score).rank, (person, level, score)
            if isinstance(record, Participation):
                overdue = score < LEVELS.low_water(level) and now >= record.since + LEVELS.min_stay
                assert not overdue, (person, record, score, now)

    def changes(self) -> dict[str, list[tuple[datetime, ParticipationLevel, ParticipationLevel]]]:
        out: dict[str, list[tuple[datetime, ParticipationLevel, ParticipationLevel]]] = {p: [] for p in MEMBERS}
        for recorded in self.engine.store.events(limit=1_000_000):
            event = recorded.event
            if isinstance(event, ev.ParticipationLevelChanged):
                out[event.person_id].append((event.occurred_at, event.previous, event.level))
        return out


@given(st.lists(steps, min_size=5, max_size=60))
def test_no_level_flaps_within_its_minimum_stay(timeline_steps: list[Step]) -> None:
    timeline = Timeline()
    for step in timeline_steps:
        timeline.run(step)
    timeline.clock.advance(timedelta(days=30))
    timeline.tick_twice()

    outside = ParticipationLevel.OUTSIDER
    for person, changes in timeline.changes().items():
        for (before_at, _, _), (at, previous, level) in itertools.pairwise(changes):
            demoted = outside not in (previous, level) and level.rank < previous.rank
            if demoted:
                assert at - before_at >= LEVELS.min_stay, (person, changes)


def test_the_timeline_generator_reaches_promotions_and_demotions() -> None:
    """A guard on the generator: a fixed timeline promotes and demotes (so the property
    above is not vacuous)."""
    timeline = Timeline()
    for step in [("answer", 0, 1)] * 3 + [("wait", 0, 96)] * 3 + [("tick", 0, 1), ("answer", 1, 1), ("tick", 0, 1)]:
        timeline.run(step)

    changes = timeline.changes()
    assert [(p.value, lv.value) for _, p, lv in changes["ben"]] == [
        ("peripheral", "occasional"),
        ("occasional", "active"),
        ("active", "peripheral"),
    ]
    assert changes["chloe"] and changes["chloe"][-1][2] is ParticipationLevel.OCCASIONAL
