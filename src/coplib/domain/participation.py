"""Levels of participation (Wenger-Trayner): core group, active, occasional, peripheral and
outsider, computed from a member's weighted activity over a rolling window.

Promotion is immediate; demotion waits for the score to fall below a low-water mark (a share
of the level's threshold, as Discourse does) and for a minimum stay at the level, so that a
level never flaps. Each record carries the time of its next review (`due_at`), so that the
passage of time costs only what is due.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Final

import attrs

from coplib.domain import validation as v
from coplib.domain.errors import FieldError
from coplib.domain.recognition import SettingsReader


class ParticipationLevel(enum.StrEnum):
    """From the heart of the community to its edge."""

    CORE_GROUP = "core_group"
    ACTIVE = "active"
    OCCASIONAL = "occasional"
    PERIPHERAL = "peripheral"  # a member who mostly watches
    OUTSIDER = "outsider"  # not (or no longer) a member

    @property
    def rank(self) -> int:
        """Higher is closer to the core."""
        return _RANK[self]


_RANK: Final = {
    ParticipationLevel.OUTSIDER: 0,
    ParticipationLevel.PERIPHERAL: 1,
    ParticipationLevel.OCCASIONAL: 2,
    ParticipationLevel.ACTIVE: 3,
    ParticipationLevel.CORE_GROUP: 4,
}

#: The levels a score earns, from the top: each needs at least its threshold.
SCORED_LEVELS: Final = (ParticipationLevel.CORE_GROUP, ParticipationLevel.ACTIVE, ParticipationLevel.OCCASIONAL)

#: How much each of a member's own events counts, by event type. Giving (answers, resources,
#: experiences) weighs most; asking and reacting count too.
DEFAULT_WEIGHTS: Final[Mapping[str, int]] = {
    "question_asked": 2,
    "answer_posted": 3,
    "answer_accepted": 1,
    "comment_posted": 1,
    "contribution_endorsed": 1,
    "resource_shared": 3,
    "experience_recorded": 3,
    "meeting_scheduled": 2,
    "attendance_recorded": 1,
}
DEFAULT_THRESHOLDS: Final[Mapping[ParticipationLevel, int]] = {
    ParticipationLevel.CORE_GROUP: 40,
    ParticipationLevel.ACTIVE: 12,
    ParticipationLevel.OCCASIONAL: 3,
}
NOTIFY_CHOICES: Final = ("promotions", "all", "none")


def participation_id(community_id: str, person_id: str) -> str:
    return f"{community_id}/{person_id}"


@attrs.frozen
class LevelSettings:
    """The window, thresholds, hysteresis and notices of the levels, as a charter sets them."""

    window: timedelta = timedelta(days=90)
    thresholds: Mapping[ParticipationLevel, int] = attrs.field(factory=lambda: dict(DEFAULT_THRESHOLDS), hash=False)
    low_water_percent: int = 90
    min_stay: timedelta = timedelta(days=14)
    weights: Mapping[str, int] = attrs.field(factory=lambda: dict(DEFAULT_WEIGHTS), hash=False)
    notify: str = "promotions"

    @classmethod
    def read(
        cls, settings: Mapping[str, str], policy: str = "participation_levels"
    ) -> tuple[LevelSettings, list[FieldError]]:
        """The settings a charter gives (text values), and what is wrong with them."""
        reader = SettingsReader(settings)
        window = reader.whole("window_days", 90, minimum=1, maximum=3650)
        thresholds = {
            level: reader.whole(level.value, default, minimum=1, maximum=1_000_000)
            for level, default in DEFAULT_THRESHOLDS.items()
        }
        order = [thresholds[level] for level in SCORED_LEVELS]
        if order != sorted(order, reverse=True) or len(set(order)) != len(order):
            reader.errors.append(
                FieldError(
                    "$.core_group",
                    "thresholds must decrease from core_group to active to occasional, "
                    f"got {', '.join(map(str, order))}",
                )
            )
            thresholds = dict(DEFAULT_THRESHOLDS)
        low_water = reader.whole("low_water_percent", 90, minimum=1, maximum=100)
        min_stay = reader.whole("min_stay_days", 14, minimum=0, maximum=3650)
        weights = reader.weights("weights", DEFAULT_WEIGHTS, frozenset(DEFAULT_WEIGHTS))
        notify = reader.choice("notify", "promotions", NOTIFY_CHOICES)
        reader.check_unknown(policy)
        settings_ = cls(
            window=timedelta(days=window),
            thresholds=thresholds,
            low_water_percent=low_water,
            min_stay=timedelta(days=min_stay),
            weights=weights,
            notify=notify,
        )
        return settings_, reader.errors

    def level_for(self, score: int) -> ParticipationLevel:
        """The level a member's score earns (peripheral when it earns none)."""
        for level in SCORED_LEVELS:
            if score >= self.thresholds[level]:
                return level
        return ParticipationLevel.PERIPHERAL

    def low_water(self, level: ParticipationLevel) -> float:
        """Below this score a member at `level` may be demoted (0 for the unscored levels)."""
        if level not in self.thresholds:
            return 0.0
        return self.thresholds[level] * self.low_water_percent / 100

    def next_review(
        self, activity: Iterable[tuple[datetime, int]], *, now: datetime, level: ParticipationLevel, since: datetime
    ) -> datetime | None:
        """When a member at `level` (since `since`) could first be demoted if they did nothing
        more: once enough of their `activity` (time, weight) has left the window for the score
        to fall below the low-water mark, and not before the minimum stay. None for the levels
        nothing can lower (peripheral, outsider). Always after `now`."""
        low = self.low_water(level)
        if low <= 0:
            return None
        events = sorted((at, weight) for at, weight in activity if weight > 0)
        remaining = sum(weight for _, weight in events)
        falls_at = now
        if remaining >= low:
            for at, weight in events:
                remaining -= weight
                if remaining < low:
                    # An event counts while it is at most `window` old: it is gone just after.
                    falls_at = at + self.window + timedelta(seconds=1)
                    break
        return max(falls_at, since + self.min_stay, now + timedelta(seconds=1))

    def score(self, activity: Iterable[tuple[datetime, int]], *, now: datetime) -> int:
        """The weighted activity that counts at `now`: events at most `window` old."""
        start = now - self.window
        return sum(weight for at, weight in activity if start <= at <= now)


@attrs.frozen
class Participation:
    """A member's level in a community, since when, and when it is next reviewed.

    Members without a record are peripheral; people who are not members are outsiders.
    """

    community_id: str = attrs.field(validator=v.identifier)
    person_id: str = attrs.field(validator=v.identifier)
    level: ParticipationLevel = attrs.field(validator=attrs.validators.instance_of(ParticipationLevel))
    since: datetime = attrs.field(validator=v.utc_datetime)  # when the level took effect
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    score: int = attrs.field(default=0, validator=v.non_negative_int)  # at the last evaluation
    evaluated_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
    #: When the level is next reviewed (a demotion may be due); None when nothing can lower it.
    due_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
    pinned: bool = attrs.field(default=False, validator=v.instance_of(bool))
    pinned_by: str | None = attrs.field(default=None, validator=v.optional_identifier)

    @property
    def id(self) -> str:
        return participation_id(self.community_id, self.person_id)

    @property
    def author_id(self) -> str:
        """The person, under the name the stores index people by (`Store.find`'s ``person_id``)."""
        return self.person_id
