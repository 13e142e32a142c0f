"""Each person's notification preferences: channel, frequency, quiet hours, unsubscriptions."""

from __future__ import annotations

import enum
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from coplib.domain import validation as v
from coplib.domain.errors import InvalidInputError


class Frequency(enum.StrEnum):
    """How often a person wants to hear from coplib."""

    IMMEDIATE = "immediate"
    DAILY = "daily"  # one digest a day
    WEEKLY = "weekly"  # one digest a week (on Monday)
    NEVER = "never"  # unsubscribed from everything


def _check_zone(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidInputError.field(f"$.{attribute.name}", "must be an IANA time zone name such as Europe/Paris")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInputError.field(f"$.{attribute.name}", f"unknown time zone {value!r}") from None


@attrs.frozen
class QuietHours:
    """No message is sent between `start` and `end` (local time in `timezone`); the window
    may span midnight (22:00 to 07:00)."""

    start: time = attrs.field(validator=attrs.validators.instance_of(time))
    end: time = attrs.field(validator=attrs.validators.instance_of(time))
    timezone: str = attrs.field(default="UTC", validator=_check_zone)

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(ZoneInfo(self.timezone)).time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_after(self, moment: datetime) -> datetime:
        """The first instant at or after `moment` outside the quiet hours."""
        if not self.contains(moment):
            return moment
        zone = ZoneInfo(self.timezone)
        local = moment.astimezone(zone)
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(moment.tzinfo)


@attrs.frozen
class Preferences:
    """How a person wants to be reached. A person without preferences gets every message at
    once on the host's default channel."""

    person_id: str = attrs.field(validator=v.identifier)
    updated_at: datetime = attrs.field(validator=v.utc_datetime)
    channel: str | None = attrs.field(default=None, validator=attrs.validators.optional(v.text(max_chars=50)))
    frequency: Frequency = attrs.field(default=Frequency.IMMEDIATE, validator=attrs.validators.instance_of(Frequency))
    quiet_hours: QuietHours | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(QuietHours))
    )
    unsubscribed: frozenset[str] = attrs.field(
        default=frozenset(), converter=v.to_frozenset, validator=v.members_of(str, max_count=100)
    )

    @property
    def id(self) -> str:
        return self.person_id

    def wants(self, topic: str) -> bool:
        return self.frequency is not Frequency.NEVER and topic not in self.unsubscribed
