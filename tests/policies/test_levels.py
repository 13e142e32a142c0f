"""Levels of participation: promotion at once, demotion only below the low-water mark and
after the minimum stay, driven by timers that `tick` finds when due; a facilitator or the
sponsor may pin a level."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

import pytest

import coplib
from coplib import (
    Charter,
    ConflictError,
    Engine,
    Filter,
    InvalidInputError,
    ManualClock,
    PermissionDeniedError,
    Role,
)
from coplib.domain import events as ev
from coplib.domain.history import Ref
from coplib.domain.participation import LevelSettings, Participation, ParticipationLevel
from coplib.notification.messages import render
from coplib.policies.levels import ParticipationLevelsPolicy, level_of, levels
from coplib.service.participation import pin_level
from tests.unit.support import PEOPLE, START, counting_ids

CORE, ACTIVE, OCCASIONAL, PERIPHERAL, OUTSIDER = (
    ParticipationLevel.CORE_GROUP,
    ParticipationLevel.ACTIVE,
    ParticipationLevel.OCCASIONAL,
    ParticipationLevel.PERIPHERAL,
    ParticipationLevel.OUTSIDER,
)
#: Small numbers, so that a few answers (3 points each) move a member.
SETTINGS = {"occasional": "3", "active": "9", "core_group": "18", "window_days": "30", "min_stay_days": "14"}
DAY = timedelta(days=1)


class World:
    """Acme's welding community (ana animates, eve sponsors; ben, chloe, dev are members) on
    a strict engine, with a clock that moves only when told."""

    def __init__(self, settings: Mapping[str, str] = SETTINGS, *, disabled: Sequence[str] = ()) -> None:
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
        self.community = self.engine.create_community(
            "ana", "acme", name="Welding", charter=charter(settings, disabled), community_id="welding"
        )
        for person in ("ben", "chloe", "dev", "eve"):
            self.engine.join(person, "welding")
        self.engine.assign_role("ana", "welding", "eve", Role.SPONSOR)
        self.question = self.engine.ask("chloe", "welding", title="Gas?", body="Which one?")

    def answer(self, person: str = "ben", times: int = 1) -> None:
        for _ in range(times):
            self.engine.answer(person, self.question.id, body="Argon")

    def level(self, person: str = "ben") -> ParticipationLevel:
        return level_of(self.engine.store, "welding", person)

    def later(self, delta: timedelta) -> coplib.TickReport:
        self.clock.advance(delta)
        return self.engine.tick()

    def changes(self, person: str = "ben") -> list[tuple[ParticipationLevel, ParticipationLevel]]:
        return [
            (e.previous, e.level)
            for r in self.engine.store.events(limit=100_000)
            if isinstance(e := r.event, ev.ParticipationLevelChanged) and e.person_id == person
        ]

    def topics(self, person: str) -> list[str]:
        return [m.topic for m in self.engine.store.pending_messages(limit=1000) if m.recipient_id == person]


def charter(settings: Mapping[str, str], disabled: Sequence[str] = ()) -> Charter:
    return Charter(
        vocation="Welders help each other",
        policy_settings={"participation_levels": dict(settings)},
        disabled_policies=frozenset(disabled),
    )


def test_a_member_starts_peripheral_and_a_non_member_is_an_outsider() -> None:
    world = World()

    assert (world.level("ben"), world.level("walt")) == (PERIPHERAL, OUTSIDER)
    assert world.changes("ben") == []  # joining is its own event: no level event for it


def test_promotion_is_immediate_and_the_member_is_told() -> None:
    world = World()

    world.answer("ben")
    assert world.level() is OCCASIONAL
    world.answer("ben", times=2)

    assert world.level() is ACTIVE
    assert world.changes() == [(PERIPHERAL, OCCASIONAL), (OCCASIONAL, ACTIVE)]
    assert world.topics("ben").count("participation_level_raised") == 1  # told of the milestone: active


def test_a_core_group_member_contributing_again_costs_no_read_of_their_window() -> None:
    """At the top, with a review timer set, nothing a contribution adds can promote: the
    policy does not read the member's activity (the longest window of all), and the timer
    still demotes them when the activity has gone."""
    world = World()
    world.answer("ben", times=6)  # 18: core group
    assert world.level() is CORE

    reads: list[str] = []
    store = world.engine.store
    read = store.activity

    def counting(person_id: str, **kwargs: object) -> object:
        reads.append(person_id)
        return read(person_id, **kwargs)  # type: ignore[arg-type]

    store.activity = counting  # type: ignore[method-assign]
    world.answer("ben", times=5)
    world.answer("chloe")  # chloe is still climbing: her window is read

    assert reads == ["chloe"]
    assert world.changes() == [(PERIPHERAL, OCCASIONAL), (OCCASIONAL, ACTIVE), (ACTIVE, CORE)]
    store.activity = read  # type: ignore[method-assign]
    world.later(31 * DAY)
    assert world.level() is PERIPHERAL


def test_the_promotion_notice_speaks_the_members_language() -> None:
    world = World()
    world.answer("ana", times=3)  # ana reads French
    message = next(m for m in world.engine.store.pending_messages(limit=100) if m.topic == "participation_level_raised")

    assert render(message.topic, message.params, "fr").body == (
        "Votre niveau de participation à Welding est désormais : membre actif. Merci pour tout ce que vous apportez !"
    )
    assert "active member" in render(message.topic, message.params, "en").body


def test_demotion_comes_with_time_once_the_activity_has_left_the_window() -> None:
    world = World()
    world.answer("ben", times=3)  # 9: active

    assert world.later(29 * DAY).done["participation_levels"] == 0
    assert world.level() is ACTIVE
    assert world.later(2 * DAY).done["participation_levels"] == 1

    assert world.level() is PERIPHERAL
    assert world.changes()[-1] == (ACTIVE, PERIPHERAL)
    assert "participation_level_lowered" not in world.topics("ben")  # by default only promotions are told


def test_demotion_waits_for_the_minimum_stay() -> None:
    world = World({**SETTINGS, "window_days": "7", "min_stay_days": "14"})
    world.answer("ben", times=3)

    world.later(10 * DAY)  # the answers left the window three days ago, but the stay is not over
    assert world.level() is ACTIVE
    world.later(4 * DAY)

    assert world.level() is PERIPHERAL


def test_a_score_just_below_the_threshold_keeps_the_level_above_the_low_water_mark() -> None:
    world = World({"occasional": "3", "active": "10", "core_group": "30", "window_days": "10", "min_stay_days": "0"})
    world.engine.comment("ben", "question", world.question.id, body="Good question")  # 1
    world.clock.advance(DAY)
    world.answer("ben", times=3)  # 9 more: 10, active
    assert world.level() is ACTIVE

    world.later(timedelta(days=9, hours=12))  # the comment left the window: 9, below 10 but not below 9
    assert world.level() is ACTIVE
    world.later(DAY)  # the answers left too: 0

    assert world.changes() == [(PERIPHERAL, OCCASIONAL), (OCCASIONAL, ACTIVE), (ACTIVE, PERIPHERAL)]


def test_without_hysteresis_the_same_member_is_demoted_as_soon_as_the_score_drops() -> None:
    world = World(
        {
            "occasional": "3",
            "active": "10",
            "core_group": "30",
            "window_days": "10",
            "min_stay_days": "0",
            "low_water_percent": "100",
        }
    )
    world.engine.comment("ben", "question", world.question.id, body="Good question")
    world.clock.advance(DAY)
    world.answer("ben", times=3)

    world.later(timedelta(days=9, hours=12))

    assert world.level() is OCCASIONAL


def test_demotions_are_told_when_the_charter_asks_for_all_changes() -> None:
    world = World({**SETTINGS, "notify": "all"})
    world.answer("ben", times=3)

    world.later(31 * DAY)

    assert world.topics("ben")[-1] == "participation_level_lowered"


def test_ticking_twice_at_the_same_moment_does_nothing_more() -> None:
    world = World()
    world.answer("ben", times=3)
    world.answer("dev", times=1)
    world.clock.advance(31 * DAY)
    first = world.engine.tick()
    events = world.engine.store.events(limit=100_000)
    outbox = world.engine.store.pending_messages(limit=1000)

    second = world.engine.tick()

    assert first.done["participation_levels"] == 2
    assert set(second.done.values()) == {0}
    assert world.engine.store.events(limit=100_000) == events
    assert world.engine.store.pending_messages(limit=1000) == outbox


def test_a_tick_looks_only_at_the_reviews_that_are_due() -> None:
    world = World()
    for person in ("ben", "dev", "chloe"):
        world.engine.answer(person, world.question.id, body="Argon")
        world.clock.advance(5 * DAY)
    # Their reviews fall due five days apart: a tick just after the first finds only it.
    world.clock.set(START + timedelta(days=30, hours=1))

    report = world.engine.tick()

    assert report.done["participation_levels"] == 1
    assert (world.level("ben"), world.level("dev"), world.level("chloe")) == (PERIPHERAL, OCCASIONAL, OCCASIONAL)


def test_a_facilitator_pins_a_level_that_neither_activity_nor_time_changes() -> None:
    world = World()

    pinned = pin_level(world.engine, "ana", "welding", "dev", CORE, reason="Leads the TIG working group")
    world.answer("dev", times=10)
    world.later(120 * DAY)

    assert pinned is not None and (pinned.level, pinned.pinned, pinned.pinned_by) == (CORE, True, "ana")
    assert world.level("dev") is CORE
    assert world.changes("dev") == []
    assert "participation_level_raised" in world.topics("dev")


def test_the_sponsor_may_pin_and_a_member_may_not() -> None:
    world = World()

    assert pin_level(world.engine, "eve", "welding", "dev", ACTIVE) is not None
    with pytest.raises(PermissionDeniedError) as caught:
        pin_level(world.engine, "ben", "welding", "dev", CORE)

    assert "facilitator or sponsor" in str(caught.value)
    assert world.level("dev") is ACTIVE


def test_pinning_an_outsider_an_unknown_level_or_a_non_member_is_refused() -> None:
    world = World()

    with pytest.raises(InvalidInputError) as outsider:
        pin_level(world.engine, "ana", "welding", "dev", OUTSIDER)
    with pytest.raises(InvalidInputError) as unknown:
        pin_level(world.engine, "ana", "welding", "dev", "guru")
    with pytest.raises(ConflictError):
        pin_level(world.engine, "ana", "welding", "walt", ACTIVE)

    assert outsider.value.errors[0].path == unknown.value.errors[0].path == "$.level"


def test_an_unpinned_level_is_reviewed_again_after_the_minimum_stay() -> None:
    world = World()
    pin_level(world.engine, "ana", "welding", "dev", CORE)
    world.clock.advance(3 * DAY)

    pin_level(world.engine, "ana", "welding", "dev", None)
    world.engine.tick()
    assert world.level("dev") is CORE  # pinned three days ago: the stay of 14 days runs
    world.later(11 * DAY)

    assert world.level("dev") is PERIPHERAL
    assert world.changes("dev") == [(CORE, PERIPHERAL)]


def test_leaving_makes_an_outsider_and_coming_back_starts_again_from_the_activity() -> None:
    world = World()
    world.answer("ben", times=3)

    world.engine.leave("ben", "welding")
    assert world.level() is OUTSIDER
    record = world.engine.store.get(Ref("participation", "welding/ben"))
    assert record is not None and isinstance(record.value, Participation) and record.value.due_at is None
    world.engine.join("ben", "welding")

    assert world.changes()[-2:] == [(ACTIVE, OUTSIDER), (OUTSIDER, ACTIVE)]  # the answers still count


def test_levels_lists_every_member() -> None:
    world = World()
    world.answer("ben", times=3)
    world.answer("dev")

    assert levels(world.engine.store, "welding") == {
        "ana": PERIPHERAL,
        "ben": ACTIVE,
        "chloe": PERIPHERAL,
        "dev": OCCASIONAL,
        "eve": PERIPHERAL,
    }


def test_each_community_has_its_own_thresholds_and_may_switch_levels_off() -> None:
    world = World()
    engine = world.engine
    engine.create_community("ana", "acme", name="Strict", charter=charter({"occasional": "6"}), community_id="strict")
    engine.create_community(
        "ana", "acme", name="Off", charter=charter({}, disabled=["participation_levels"]), community_id="off"
    )
    for community in ("strict", "off"):
        engine.join("ben", community)
        question = engine.ask("ana", community, title="Q", body="B")
        engine.answer("ben", question.id, body="A")

    assert level_of(engine.store, "strict", "ben") is PERIPHERAL  # 3 < 6
    assert level_of(engine.store, "off", "ben") is PERIPHERAL
    assert engine.store.find("participation", Filter(community_id="off")) == []


def test_switching_levels_off_parks_the_timers_due_in_that_community() -> None:
    world = World()
    world.answer("ben", times=3)
    world.engine.amend_charter("ana", "welding", charter(SETTINGS, ["participation_levels"]), reason="Pause")

    world.later(31 * DAY)

    assert world.level() is ACTIVE
    record = world.engine.store.get(Ref("participation", "welding/ben"))
    assert record is not None and isinstance(record.value, Participation) and record.value.due_at is None
    assert world.engine.tick().done["participation_levels"] == 0

    world.engine.amend_charter("ana", "welding", charter(SETTINGS), reason="Back on")
    world.answer("ben")  # the next contribution sets the timer again
    world.later(31 * DAY)
    assert world.level() is PERIPHERAL


def test_bad_level_settings_are_named_one_by_one() -> None:
    errors = ParticipationLevelsPolicy().settings_errors(
        {
            "window_days": "ninety",
            "active": "50",  # above core_group's 40: out of order
            "weights": "answer_posted:x",
            "notify": "sometimes",
            "colour": "blue",
        }
    )

    assert sorted(e.path for e in errors) == ["$.colour", "$.core_group", "$.notify", "$.weights", "$.window_days"]


def test_a_charter_with_bad_level_settings_is_refused_naming_the_setting() -> None:
    world = World()

    with pytest.raises(InvalidInputError) as caught:
        world.engine.amend_charter("ana", "welding", charter({"min_stay_days": "-1"}), reason="Faster")

    assert [e.path for e in caught.value.errors] == ["$.charter.policy_settings.participation_levels.min_stay_days"]


def test_the_default_settings_read_from_an_empty_charter() -> None:
    settings, errors = LevelSettings.read({})

    assert errors == []
    assert (settings.window, settings.min_stay, settings.low_water_percent) == (90 * DAY, 14 * DAY, 90)
    assert [settings.level_for(s) for s in (0, 3, 12, 40)] == [PERIPHERAL, OCCASIONAL, ACTIVE, CORE]
