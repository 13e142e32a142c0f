"""The working calendar: working time skips nights, weekends and holidays, in the community's
time zone, through daylight-saving changes; durations are read from short text."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coplib.domain.calendar import Duration, DurationUnit, WorkingCalendar, WorkingSpan
from coplib.domain.errors import InvalidInputError

PARIS = ZoneInfo("Europe/Paris")


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Paris wall-clock time, as the UTC instant the calendar works with."""
    return datetime(year, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


@pytest.fixture
def office() -> WorkingCalendar:
    """Monday to Friday, 09:00 to 18:00 in Paris."""
    return WorkingCalendar.from_settings(timezone="Europe/Paris")


@pytest.fixture
def split() -> WorkingCalendar:
    """Monday to Friday, 09:00-12:30 and 13:30-18:00 in Paris (8 working hours a day)."""
    return WorkingCalendar.from_settings(timezone="Europe/Paris", working_hours="09:00-12:30, 13:30-18:00")


# -- durations ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("4wh", 4, DurationUnit.WORKING_HOURS),
        ("1wd", 1, DurationUnit.WORKING_DAYS),
        ("90wm", 90, DurationUnit.WORKING_MINUTES),
        ("30m", 30, DurationUnit.MINUTES),
        ("2h", 2, DurationUnit.HOURS),
        ("1d", 1, DurationUnit.DAYS),
        (" 4 WH ", 4, DurationUnit.WORKING_HOURS),
    ],
)
def test_a_duration_is_a_whole_number_and_a_unit(text: str, amount: int, unit: DurationUnit) -> None:
    parsed = Duration.parse(text)

    assert (parsed.amount, parsed.unit) == (amount, unit)
    assert parsed.working is unit.value.startswith("w")
    assert Duration.parse(str(parsed)) == parsed


@pytest.mark.parametrize("text", ["", "4", "wh", "-1h", "0h", "1.5h", "4 weeks", "4hw", "367d", "9000wh"])
def test_a_duration_that_cannot_be_read_is_refused_at_its_path(text: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        Duration.parse(text, "$.target")

    assert [e.path for e in refused.value.errors] == ["$.target"]


def test_a_duration_that_is_not_text_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="a duration is text"):
        Duration.parse(4)


# -- adding working time ------------------------------------------------------------------------


def test_four_working_hours_after_friday_at_five_is_monday_noon_not_saturday(office: WorkingCalendar) -> None:
    assert office.add_working_time(paris(2026, 1, 9, 17), hours(4)) == paris(2026, 1, 12, 12)


def test_working_time_inside_one_day_is_plain_time(office: WorkingCalendar) -> None:
    assert office.add_working_time(paris(2026, 1, 5, 10), hours(3)) == paris(2026, 1, 5, 13)


def test_a_result_at_the_end_of_the_day_stays_that_evening(office: WorkingCalendar) -> None:
    assert office.add_working_time(paris(2026, 1, 9, 17), hours(1)) == paris(2026, 1, 9, 18)


def test_time_asked_outside_working_hours_starts_counting_at_the_next_opening(office: WorkingCalendar) -> None:
    saturday = paris(2026, 1, 10, 11)
    early_monday = paris(2026, 1, 12, 7)
    late_tuesday = paris(2026, 1, 13, 20)

    assert office.add_working_time(saturday, hours(2)) == paris(2026, 1, 12, 11)
    assert office.add_working_time(early_monday, hours(2)) == paris(2026, 1, 12, 11)
    assert office.add_working_time(late_tuesday, hours(2)) == paris(2026, 1, 14, 11)


def test_no_working_time_added_is_the_start_itself_even_at_night(office: WorkingCalendar) -> None:
    night = paris(2026, 1, 10, 3)

    assert office.add_working_time(night, timedelta(0)) == night


def test_the_lunch_break_of_split_hours_is_skipped(split: WorkingCalendar) -> None:
    assert split.add_working_time(paris(2026, 1, 5, 12), hours(1)) == paris(2026, 1, 5, 14)
    assert split.day_length == hours(8)


def test_one_working_day_is_the_same_time_on_the_next_working_day(
    office: WorkingCalendar, split: WorkingCalendar
) -> None:
    friday_afternoon = paris(2026, 1, 9, 15)

    assert office.add(friday_afternoon, Duration.parse("1wd")) == paris(2026, 1, 12, 15)
    assert split.add(friday_afternoon, Duration.parse("1wd")) == paris(2026, 1, 12, 15)
    assert office.add(friday_afternoon, Duration.parse("2wd")) == paris(2026, 1, 13, 15)


def test_dated_holidays_are_skipped() -> None:
    calendar = WorkingCalendar.from_settings(timezone="Europe/Paris", holidays="2026-01-12")

    assert calendar.add_working_time(paris(2026, 1, 9, 17), hours(4)) == paris(2026, 1, 13, 12)


def test_annual_holidays_are_skipped_every_year() -> None:
    calendar = WorkingCalendar.from_settings(timezone="Europe/Paris", holidays="12-25, 01-01")

    # Thursday 24 December 2026, 17:00: Christmas, then Saturday and Sunday.
    assert calendar.add_working_time(paris(2026, 12, 24, 17), hours(2)) == paris(2026, 12, 28, 10)
    # Thursday 31 December 2026: New Year's day is off too.
    assert calendar.add_working_time(paris(2026, 12, 31, 17), hours(2)) == paris(2027, 1, 4, 10)
    assert not calendar.is_working_day(date(2030, 12, 25))


def test_working_hours_stay_local_when_paris_moves_to_summer_time(office: WorkingCalendar) -> None:
    # Paris leaves UTC+1 for UTC+2 on Sunday 29 March 2026.
    friday = paris(2026, 3, 27, 17)
    monday_noon = paris(2026, 3, 30, 12)

    assert friday == datetime(2026, 3, 27, 16, tzinfo=UTC)
    assert monday_noon == datetime(2026, 3, 30, 10, tzinfo=UTC)
    assert office.add_working_time(friday, hours(4)) == monday_noon
    assert office.working_time_between(friday, monday_noon) == hours(4)


def test_working_hours_stay_local_when_paris_goes_back_to_winter_time(office: WorkingCalendar) -> None:
    # Paris goes back from UTC+2 to UTC+1 on Sunday 25 October 2026.
    friday = paris(2026, 10, 23, 17)
    monday_noon = paris(2026, 10, 26, 12)

    assert monday_noon == datetime(2026, 10, 26, 11, tzinfo=UTC)
    assert office.add_working_time(friday, hours(4)) == monday_noon


def test_a_day_that_loses_or_gains_an_hour_counts_the_hours_really_worked() -> None:
    always = WorkingCalendar.from_settings(timezone="Europe/Paris", working_days="mon-sun", working_hours="00:00-24:00")

    assert always.working_time_between(paris(2026, 3, 29), paris(2026, 3, 30)) == hours(23)
    assert always.working_time_between(paris(2026, 10, 25), paris(2026, 10, 26)) == hours(25)
    assert always.working_time_between(paris(2026, 3, 28), paris(2026, 3, 29)) == hours(24)


def test_a_wall_clock_day_keeps_the_local_time_across_a_change_of_offset(office: WorkingCalendar) -> None:
    saturday = paris(2026, 3, 28, 10)

    assert office.add(saturday, Duration.parse("1d")) == paris(2026, 3, 29, 10)
    assert office.add(saturday, Duration.parse("1d")) - saturday == hours(23)
    assert office.add(saturday, Duration.parse("24h")) == paris(2026, 3, 29, 11)
    assert office.add(saturday, Duration.parse("30m")) == saturday + timedelta(minutes=30)


def test_a_calendar_in_another_zone_works_on_its_own_local_hours() -> None:
    tokyo = WorkingCalendar.from_settings(timezone="Asia/Tokyo")

    # Monday 09:00 in Tokyo is Monday 00:00 UTC.
    assert tokyo.add_working_time(datetime(2026, 1, 4, 23, tzinfo=UTC), hours(1)) == datetime(2026, 1, 5, 1, tzinfo=UTC)


# -- measuring working time ---------------------------------------------------------------------


def test_working_time_between_skips_the_nights_and_the_weekend(office: WorkingCalendar) -> None:
    assert office.working_time_between(paris(2026, 1, 9, 17), paris(2026, 1, 12, 10)) == hours(2)
    assert office.working_time_between(paris(2026, 1, 5, 9), paris(2026, 1, 12, 9)) == hours(45)
    assert office.working_time_between(paris(2026, 1, 10, 9), paris(2026, 1, 11, 18)) == timedelta(0)


def test_working_time_between_is_negative_backwards_and_zero_for_one_moment(office: WorkingCalendar) -> None:
    a, b = paris(2026, 1, 5, 10), paris(2026, 1, 5, 12)

    assert office.working_time_between(b, a) == -hours(2)
    assert office.working_time_between(a, a) == timedelta(0)


def test_elapsed_time_is_measured_as_the_duration_it_is_compared_with(office: WorkingCalendar) -> None:
    a, b = paris(2026, 1, 9, 17), paris(2026, 1, 12, 10)

    assert office.elapsed(a, b, Duration.parse("4wh")) == hours(2)
    assert office.elapsed(a, b, Duration.parse("4h")) == hours(65)


def test_naive_datetimes_are_refused_rather_than_guessed(office: WorkingCalendar) -> None:
    with pytest.raises(InvalidInputError, match="timezone-aware"):
        office.add_working_time(datetime(2026, 1, 5, 9), hours(1))


moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))
durations = st.integers(min_value=0, max_value=60 * 24 * 20).map(lambda m: timedelta(minutes=m))
calendars = st.sampled_from(
    [
        WorkingCalendar.from_settings(timezone="Europe/Paris"),
        WorkingCalendar.from_settings(
            timezone="Europe/Paris", working_hours="09:00-12:30, 13:30-18:00", holidays="2026-05-01, 12-25"
        ),
        WorkingCalendar.from_settings(timezone="America/New_York", working_days="sun-thu", working_hours="7:00-15:00"),
        WorkingCalendar.from_settings(timezone="Europe/Paris", working_days="mon-sun", working_hours="00:00-24:00"),
    ]
)


@given(calendars, moments, durations)
def test_adding_working_time_then_measuring_it_gives_it_back(
    calendar: WorkingCalendar, start: datetime, duration: timedelta
) -> None:
    end = calendar.add_working_time(start, duration)

    assert end >= start
    assert calendar.working_time_between(start, end) == duration


@given(calendars, moments, durations.filter(bool))
def test_added_working_time_ends_inside_working_hours_or_at_their_end(
    calendar: WorkingCalendar, start: datetime, duration: timedelta
) -> None:
    end = calendar.add_working_time(start, duration)

    assert calendar.is_working_time(end - timedelta(microseconds=1))


@given(calendars, moments, moments, durations)
def test_a_later_start_never_gives_an_earlier_end(
    calendar: WorkingCalendar, a: datetime, b: datetime, duration: timedelta
) -> None:
    first, second = sorted((a, b))

    assert calendar.add_working_time(first, duration) <= calendar.add_working_time(second, duration)


# -- reading a calendar from its settings -------------------------------------------------------


def test_the_default_calendar_is_monday_to_friday_nine_to_six_in_utc() -> None:
    calendar = WorkingCalendar()

    assert calendar == WorkingCalendar.from_settings()
    assert calendar.timezone == "UTC"
    assert calendar.working_days == frozenset(range(5))
    assert calendar.hours == (WorkingSpan(540, 1080),)
    assert calendar.day_length == hours(9)


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("MON,wed, fri", {0, 2, 4}),
        ("lun-ven", {0, 1, 2, 3, 4}),
        ("mon-wed sat", {0, 1, 2, 5}),
        ("sun", {6}),
        ("sun-thu", {6, 0, 1, 2, 3}),
    ],
)
def test_working_days_are_day_names_and_ranges_in_english_or_french(text: str, days: set[int]) -> None:
    assert WorkingCalendar.from_settings(working_days=text).working_days == frozenset(days)


def test_working_hours_may_be_split_given_in_any_order_and_end_at_midnight() -> None:
    calendar = WorkingCalendar.from_settings(working_hours="13h30-18h, 9h-12:30, 20:00-24:00")

    assert [str(span) for span in calendar.hours] == ["09:00-12:30", "13:30-18:00", "20:00-24:00"]


def test_the_settings_of_a_calendar_read_back_as_the_same_calendar() -> None:
    calendar = WorkingCalendar.from_settings(
        timezone="Europe/Paris",
        working_days="mon-thu",
        working_hours="08:30-12:00, 13:00-17:30",
        holidays="2026-05-08, 12-25",
    )

    assert WorkingCalendar.from_settings(**calendar.describe()) == calendar


def test_every_bad_calendar_setting_is_named_at_once() -> None:
    with pytest.raises(InvalidInputError) as refused:
        WorkingCalendar.from_settings(
            timezone="Mars/Olympus", working_days="mon-fry", working_hours="nine-six", holidays="2026-02-30"
        )

    assert [e.path for e in refused.value.errors] == ["$.timezone", "$.working_days", "$.working_hours", "$.holidays"]
    assert "Mars/Olympus" in str(refused.value)


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("working_days", "mon-fry", "unknown day"),
        ("working_days", "", "at least one working day"),
        ("working_hours", "18:00-09:00", "end after it starts"),
        ("working_hours", "09:00-13:00, 12:00-18:00", "must not overlap"),
        ("working_hours", "09:00-25:00", "not a time of day"),
        ("working_hours", "", "at least one span"),
        ("holidays", "christmas", "not a holiday"),
        ("holidays", "02-30", "not a holiday"),
        ("timezone", "../etc/passwd", "unknown time zone"),
        ("timezone", "", "IANA"),
    ],
)
def test_a_bad_calendar_setting_is_refused_with_what_to_write(setting: str, value: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as refused:
        WorkingCalendar.from_settings(**{setting: value})

    assert [e.path for e in refused.value.errors] == [f"$.{setting}"]


def test_a_calendar_without_any_working_time_says_so_instead_of_looping_forever() -> None:
    every_day = ", ".join(f"{m:02d}-{d:02d}" for m in range(1, 13) for d in range(1, 32) if _real(m, d))
    calendar = WorkingCalendar.from_settings(working_days="mon", holidays=every_day)

    with pytest.raises(InvalidInputError, match="too little working time"):
        calendar.add_working_time(datetime(2026, 1, 5, tzinfo=UTC), hours(1))


def _real(month: int, day: int) -> bool:
    try:
        date(2024, month, day)
    except ValueError:
        return False
    return True
