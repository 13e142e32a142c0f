"""A community's working calendar and the durations measured on it, so that "4 working hours"
after a question asked on Friday evening falls on Monday morning, not on Saturday.

Working time is real elapsed time inside the working hours of working days, in the
community's time zone (daylight-saving changes included), holidays left out.
"""

from __future__ import annotations

import enum
import itertools
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from coplib.domain.errors import FieldError, InvalidInputError

MINUTES_PER_DAY: Final = 24 * 60
#: Day names accepted in ``working_days`` (English and French), Monday = 0.
DAY_NAMES: Final[dict[str, int]] = {
    **{name: i for i, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    **{name: i for i, name in enumerate(("lun", "mar", "mer", "jeu", "ven", "sam", "dim"))},
}
_ENGLISH_DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: The longest duration coplib measures: one year (in days, or in working days).
DURATION_MAX_DAYS: Final = 366
#: How far ahead `WorkingCalendar.add_working_time` looks for working time before it
#: concludes that the calendar has (almost) none.
SEARCH_MAX_DAYS: Final = DURATION_MAX_DAYS * 8
_TIMEZONE_MAX: Final = 64


def _check(ok: bool, path: str, message: str) -> None:
    if not ok:
        raise InvalidInputError.field(path, message)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInputError.field(
            "$.timezone", f"unknown time zone {name[:_TIMEZONE_MAX]!r}: give an IANA name such as 'Europe/Paris'"
        ) from None


# -- durations --------------------------------------------------------------------------------


class DurationUnit(enum.StrEnum):
    """Wall-clock units (elapsed minutes and hours; calendar days at the same local time) and
    working units (counted inside the working hours only)."""

    MINUTES = "m"
    HOURS = "h"
    DAYS = "d"
    WORKING_MINUTES = "wm"
    WORKING_HOURS = "wh"
    WORKING_DAYS = "wd"  # one working day is the length of a day's working hours

    @property
    def working(self) -> bool:
        return self.value.startswith("w")


_UNIT_MINUTES: Final = {
    DurationUnit.MINUTES: 1,
    DurationUnit.HOURS: 60,
    DurationUnit.DAYS: MINUTES_PER_DAY,
    DurationUnit.WORKING_MINUTES: 1,
    DurationUnit.WORKING_HOURS: 60,
    DurationUnit.WORKING_DAYS: MINUTES_PER_DAY,
}
_DURATION_RE: Final = re.compile(r"^\s*(\d{1,7})\s*(wm|wh|wd|m|h|d)\s*$", re.IGNORECASE)


@attrs.frozen
class Duration:
    """A delay such as ``4wh`` (4 working hours), ``1wd``, ``30m``, ``2h`` or ``1d``."""

    amount: int = attrs.field()
    unit: DurationUnit = attrs.field(validator=attrs.validators.instance_of(DurationUnit))

    @amount.validator
    def _positive(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidInputError.field("$.amount", f"a duration is a whole number above 0, got {value!r}")
        if isinstance(self.unit, DurationUnit) and value * _UNIT_MINUTES[self.unit] > DURATION_MAX_DAYS * 1440:
            raise InvalidInputError.field(
                "$.amount", f"a duration is at most {DURATION_MAX_DAYS} days, got {value}{self.unit.value}"
            )

    @property
    def working(self) -> bool:
        """Measured in working time (``wm``, ``wh``, ``wd``) rather than on the wall clock."""
        return self.unit.working

    @classmethod
    def parse(cls, text: object, path: str = "$") -> Duration:
        """``"4wh"`` as a `Duration`; an `InvalidInputError` at `path` otherwise."""
        if not isinstance(text, str):
            raise InvalidInputError.field(path, f"a duration is text such as '4wh', got {type(text).__name__}")
        match = _DURATION_RE.match(text)
        if match is None:
            raise InvalidInputError.field(
                path,
                f"not a duration: {text[:40]!r}; write a whole number and a unit: m, h, d (wall clock) "
                "or wm, wh, wd (working minutes, hours, days), e.g. '4wh' or '1wd'",
            )
        try:
            return cls(int(match.group(1)), DurationUnit(match.group(2).lower()))
        except InvalidInputError as exc:
            raise InvalidInputError([FieldError(path, e.message) for e in exc.errors]) from None

    def __str__(self) -> str:
        return f"{self.amount}{self.unit.value}"


# -- the calendar -----------------------------------------------------------------------------


@attrs.frozen(order=True)
class WorkingSpan:
    """A stretch of working hours in a day, in minutes from local midnight: [start, end)."""

    start: int
    end: int = attrs.field()

    @end.validator
    def _ordered(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        for name, minute in (("start", self.start), ("end", value)):
            if isinstance(minute, bool) or not isinstance(minute, int) or not 0 <= minute <= MINUTES_PER_DAY:
                raise InvalidInputError.field(f"$.{name}", f"must be a minute of the day (0 to 1440), got {minute!r}")
        if value <= self.start:
            raise InvalidInputError.field("$.end", f"a span must end after it starts: {self}")

    @property
    def length(self) -> timedelta:
        return timedelta(minutes=self.end - self.start)

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"


def _hhmm(minute: object) -> str:
    if not isinstance(minute, int):
        return repr(minute)
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _check_timezone(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _check(isinstance(value, str) and 0 < len(value) <= _TIMEZONE_MAX, "$.timezone", "must be an IANA time zone name")
    _zone(value)


def _check_days(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _check(
        isinstance(value, frozenset) and bool(value) and all(isinstance(d, int) and 0 <= d <= 6 for d in value),
        "$.working_days",
        f"must name at least one day of the week (0 = Monday to 6 = Sunday), got {value!r:.60}",
    )


def _check_hours(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _check(
        isinstance(value, tuple) and bool(value) and all(isinstance(s, WorkingSpan) for s in value),
        "$.working_hours",
        "must hold at least one span of working hours",
    )
    for before, after in itertools.pairwise(value):
        _check(
            before.end <= after.start,
            "$.working_hours",
            f"spans must be in order and must not overlap: {before} then {after}",
        )


def _check_holidays(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _check(
        isinstance(value, frozenset) and all(isinstance(d, date) and not isinstance(d, datetime) for d in value),
        "$.holidays",
        "must be a set of dates",
    )


def _check_annual(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    ok = isinstance(value, frozenset)
    for item in value if ok else ():
        ok = ok and isinstance(item, tuple) and len(item) == 2 and _valid_month_day(*item)
    _check(ok, "$.annual_holidays", "must be a set of (month, day) pairs")


def _valid_month_day(month: object, day: object) -> bool:
    if not isinstance(month, int) or not isinstance(day, int):
        return False
    try:
        date(2024, month, day)  # a leap year, so 29 February is allowed
    except ValueError:
        return False
    return True


@attrs.frozen
class WorkingCalendar:
    """When a community works: its time zone, working days and hours, and holidays."""

    timezone: str = attrs.field(default="UTC", validator=_check_timezone)
    #: Days of the week (Monday = 0).
    working_days: frozenset[int] = attrs.field(default=frozenset(range(5)), validator=_check_days)
    #: The working hours of every working day, in order (e.g. 09:00-12:30 and 13:30-18:00).
    hours: tuple[WorkingSpan, ...] = attrs.field(default=(WorkingSpan(9 * 60, 18 * 60),), validator=_check_hours)
    #: Days off on given dates.
    holidays: frozenset[date] = attrs.field(default=frozenset(), validator=_check_holidays)
    #: Days off every year, as (month, day).
    annual_holidays: frozenset[tuple[int, int]] = attrs.field(default=frozenset(), validator=_check_annual)

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone)

    @property
    def day_length(self) -> timedelta:
        """The working time of one working day (what ``1wd`` means)."""
        return sum((span.length for span in self.hours), timedelta(0))

    def local_date(self, moment: datetime) -> date:
        return _utc(moment, "$.moment").astimezone(self.zone).date()

    def is_working_day(self, day: date) -> bool:
        return (
            day.weekday() in self.working_days
            and day not in self.holidays
            and (day.month, day.day) not in self.annual_holidays
        )

    def spans_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working stretches of a local date, as UTC instants (none on a day off)."""
        if not self.is_working_day(day):
            return []
        zone = self.zone
        midnight = datetime.combine(day, time(0), tzinfo=zone)
        spans = []
        for span in self.hours:
            # Adding to an aware datetime is wall-clock arithmetic: 09:00 stays 09:00 local
            # whatever the offset of that day, and the conversion to UTC applies the day's offset.
            start = (midnight + timedelta(minutes=span.start)).astimezone(UTC)
            end = (midnight + timedelta(minutes=span.end)).astimezone(UTC)
            if end > start:
                spans.append((start, end))
        return spans

    def _days_from(self, day: date) -> Iterator[tuple[date, list[tuple[datetime, datetime]]]]:
        for offset in range(SEARCH_MAX_DAYS):
            current = day + timedelta(days=offset)
            yield current, self.spans_on(current)
        raise InvalidInputError.field(
            "$.working_days",
            f"the calendar has too little working time: none found within {SEARCH_MAX_DAYS} days of {day}",
        )

    def is_working_time(self, moment: datetime) -> bool:
        moment = _utc(moment, "$.moment")
        return any(start <= moment < end for start, end in self.spans_on(self.local_date(moment)))

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The moment when `duration` of working time has passed since `start` (UTC).

        With Mon-Fri 09:00-18:00, 4 working hours after Friday 17:00 is Monday 12:00. A
        result that falls exactly at the end of a span is that end (Friday 18:00 for one hour
        after Friday 17:00), not the start of the next one.
        """
        start = _utc(start, "$.start")
        if not isinstance(duration, timedelta) or duration < timedelta(0):
            raise InvalidInputError.field("$.duration", f"must be a timedelta >= 0, got {duration!r:.60}")
        if duration == timedelta(0):
            return start
        remaining = duration
        for _, spans in self._days_from(self.local_date(start)):
            for span_start, span_end in spans:
                if span_end <= start:
                    continue
                begin = max(span_start, start)
                available = span_end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        raise AssertionError("unreachable")  # pragma: no cover - _days_from raises first

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """The working time from `a` to `b` (negative when `b` comes first)."""
        a = _utc(a, "$.a")
        b = _utc(b, "$.b")
        if b < a:
            return -self.working_time_between(b, a)
        total = timedelta(0)
        day = self.local_date(a)
        last = self.local_date(b)
        while day <= last:
            for span_start, span_end in self.spans_on(day):
                overlap = min(span_end, b) - max(span_start, a)
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return total

    def length_of(self, duration: Duration) -> timedelta:
        """A working duration as working time (``1wd`` is `day_length`), a wall-clock one as
        elapsed time (a day counts 24 hours here)."""
        if duration.unit is DurationUnit.WORKING_DAYS:
            return duration.amount * self.day_length
        return timedelta(minutes=duration.amount * _UNIT_MINUTES[duration.unit])

    def add(self, start: datetime, duration: Duration) -> datetime:
        """`start` plus `duration`: working units on this calendar; minutes and hours as
        elapsed time; days as calendar days at the same local time."""
        start = _utc(start, "$.start")
        if duration.working:
            return self.add_working_time(start, self.length_of(duration))
        if duration.unit is DurationUnit.DAYS:
            local = start.astimezone(self.zone) + timedelta(days=duration.amount)
            return local.astimezone(UTC)
        return start + self.length_of(duration)

    def elapsed(self, start: datetime, end: datetime, like: Duration) -> timedelta:
        """Time from `start` to `end` measured as `like` is: working time for a working
        duration, elapsed time otherwise."""
        if like.working:
            return self.working_time_between(start, end)
        return _utc(end, "$.end") - _utc(start, "$.start")

    def describe(self) -> dict[str, str]:
        """The calendar as the text settings that `from_settings` reads back."""
        days = ",".join(_ENGLISH_DAYS[d] for d in sorted(self.working_days))
        holidays = sorted(d.isoformat() for d in self.holidays) + sorted(
            f"{m:02d}-{d:02d}" for m, d in self.annual_holidays
        )
        return {
            "timezone": self.timezone,
            "working_days": days,
            "working_hours": ", ".join(str(s) for s in self.hours),
            "holidays": ", ".join(holidays),
        }

    @classmethod
    def from_settings(
        cls,
        *,
        timezone: str = "UTC",
        working_days: str = "mon-fri",
        working_hours: str = "09:00-18:00",
        holidays: str = "",
    ) -> WorkingCalendar:
        """A calendar from its text settings, e.g. ``timezone="Europe/Paris"``,
        ``working_days="mon-fri"``, ``working_hours="09:00-12:30, 13:30-18:00"``,
        ``holidays="2026-05-01, 12-25"`` (a date, or a month-day every year).

        Raises `InvalidInputError` naming every bad setting (``$.timezone``...).
        """
        errors: list[FieldError] = []
        values: dict[str, Any] = {}
        for name, parse, text in (
            ("timezone", _parse_timezone, timezone),
            ("working_days", parse_working_days, working_days),
            ("hours", parse_working_hours, working_hours),
            ("holidays", parse_holidays, holidays),
        ):
            try:
                values[name] = parse(text)
            except InvalidInputError as exc:
                errors.extend(exc.errors)
        if errors:
            raise InvalidInputError(errors, context="working calendar")
        dated, annual = values.pop("holidays")
        return cls(**values, holidays=dated, annual_holidays=annual)


def _utc(value: object, path: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError.field(path, f"must be a timezone-aware datetime, got {value!r:.60}")
    return value.astimezone(UTC)


def _parse_timezone(text: object) -> str:
    if not isinstance(text, str) or not text.strip() or len(text) > _TIMEZONE_MAX:
        raise InvalidInputError.field(
            "$.timezone", f"must be an IANA time zone name such as 'Europe/Paris', got {text!r:.60}"
        )
    name = text.strip()
    _zone(name)
    return name


def _items(text: str) -> list[str]:
    return [item for item in re.split(r"[,;\s]+", text.strip()) if item]


def parse_working_days(text: object) -> frozenset[int]:
    """``"mon-fri"``, ``"sun-thu"``, ``"mon,tue,thu"`` or ``"lun-ven"`` as weekday numbers
    (Monday = 0)."""
    path = "$.working_days"
    if not isinstance(text, str):
        raise InvalidInputError.field(path, f"must be text such as 'mon-fri', got {type(text).__name__}")
    days: set[int] = set()
    for item in _items(text.replace("–", "-")):
        first, _, last = item.lower().partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            raise InvalidInputError.field(
                path, f"unknown day {item!r:.30}: use mon, tue, wed, thu, fri, sat, sun (or lun...dim) and ranges"
            )
        start, end = DAY_NAMES[first], DAY_NAMES[last or first]
        # A range may run over the weekend: "sun-thu" is Sunday to Thursday.
        days.update(range(start, end + 1) if start <= end else [*range(start, 7), *range(end + 1)])
    if not days:
        raise InvalidInputError.field(path, "name at least one working day, e.g. 'mon-fri'")
    return frozenset(days)


_TIME_RE: Final = re.compile(r"^(\d{1,2})(?:[:h](\d{2})?)?$", re.IGNORECASE)


def _minute_of_day(text: str, path: str) -> int:
    match = _TIME_RE.match(text.strip())
    if match is None:
        raise InvalidInputError.field(path, f"not a time of day: {text!r:.20}; write HH:MM such as 09:00 (or 9h, 9h30)")
    hours, minutes = int(match.group(1)), int(match.group(2) or 0)
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise InvalidInputError.field(path, f"not a time of day: {text!r:.20} (00:00 to 24:00)")
    return hours * 60 + minutes


def parse_working_hours(text: object) -> tuple[WorkingSpan, ...]:
    """``"09:00-12:30, 13:30-18:00"`` as spans (``24:00`` ends a day)."""
    path = "$.working_hours"
    if not isinstance(text, str):
        raise InvalidInputError.field(path, f"must be text such as '09:00-18:00', got {type(text).__name__}")
    spans = []
    for item in [i for i in re.split(r"[,;]", text) if i.strip()]:
        start, sep, end = item.replace("–", "-").partition("-")
        if not sep:
            raise InvalidInputError.field(path, f"a span is START-END such as 09:00-12:30, got {item.strip()!r:.30}")
        first, last = _minute_of_day(start, path), _minute_of_day(end, path)
        if last <= first:
            raise InvalidInputError.field(path, f"a span must end after it starts: {item.strip()!r:.30}")
        spans.append(WorkingSpan(first, last))
    if not spans:
        raise InvalidInputError.field(path, "give at least one span of working hours, e.g. '09:00-18:00'")
    spans.sort()
    _check_hours(None, attrs.fields(WorkingCalendar).hours, tuple(spans))
    return tuple(spans)


def parse_holidays(text: object) -> tuple[frozenset[date], frozenset[tuple[int, int]]]:
    """``"2026-05-01, 12-25"`` as dated holidays and annual ones (month-day)."""
    path = "$.holidays"
    if not isinstance(text, str):
        raise InvalidInputError.field(path, f"must be text such as '2026-05-01, 12-25', got {type(text).__name__}")
    dated: set[date] = set()
    annual: set[tuple[int, int]] = set()
    for item in _items(text):
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", item):
            try:
                dated.add(date.fromisoformat(item))
            except ValueError:
                raise InvalidInputError.field(path, f"not a date: {item!r:.20}") from None
        elif re.fullmatch(r"\d{2}-\d{2}", item) and _valid_month_day(int(item[:2]), int(item[3:])):
            annual.add((int(item[:2]), int(item[3:])))
        else:
            raise InvalidInputError.field(
                path, f"not a holiday: {item!r:.20}; write a date (2026-05-01) or a month-day every year (12-25)"
            )
    if len(dated) + len(annual) > 1000:
        raise InvalidInputError.field(path, "at most 1000 holidays")
    return frozenset(dated), frozenset(annual)
