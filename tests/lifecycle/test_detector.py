"""The decline detector, pure: complete months only, hysteresis without flapping, a minimum
history and a minimum effect, the replay carrying the state month to month, and its settings."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coplib.domain.decline import (
    DeclineSettings,
    MonthPoint,
    Trend,
    alerts,
    complete_months,
    describe,
    month_end,
    monthly_series,
    next_month,
    replay,
    step,
)
from coplib.domain.errors import InvalidInputError
from coplib.domain.health import QuestionFacts, contributor_facts_of
from coplib.domain.lifecycle import LifecycleSettings

START = date(2024, 1, 1)


def points(values: list[int], *, people: list[int] | None = None) -> list[MonthPoint]:
    """A series of complete months from START: contributions, and as many questions, 70 % of
    them answered within 24 hours."""
    out, month = [], START
    for i, n in enumerate(values):
        out.append(MonthPoint(month, n, (people or values)[i], n, round(0.7 * n)))
        month = next_month(month)
    return out


def history(monthly: list[int], *, seed: int = 0) -> tuple[list[QuestionFacts], list[tuple[str, str, datetime]]]:
    """Questions (each answered an hour later by someone else) at random times of each month,
    `monthly[i]` in month i from START."""
    rng = random.Random(seed)
    questions, contributions = [], []
    month = START
    for n in monthly:
        begin = datetime(month.year, month.month, 1, tzinfo=UTC)
        span = (month_end(month) - begin).total_seconds()
        for k in sorted(rng.random() * span for _ in range(n)):
            at = begin + timedelta(seconds=k)
            asker, helper = f"p{rng.randrange(40)}", f"h{rng.randrange(40)}"
            questions.append(QuestionFacts(f"q{len(questions)}", asker, at, at + timedelta(hours=1), (helper,), False))
            contributions += [("question", asker, at), ("answer", helper, at + timedelta(hours=1))]
        month = next_month(month)
    return questions, contributions


def series_at(monthly: list[int], until: datetime, seed: int = 0) -> list[MonthPoint]:
    questions, contributions = history(monthly, seed=seed)
    live = [q for q in questions if q.asked_at < until]
    facts = contributor_facts_of([c for c in contributions if c[2] < until], since=None, until=until)
    return monthly_series(live, facts, until=until, start=START)


FALLING = [60] * 12 + [50, 40, 32, 25, 20, 16, 13, 10]
STEADY = [60] * 20


def test_a_clear_fall_enters_the_declining_state_and_says_what_fell_by_how_much_since_when() -> None:
    verdicts = replay(points(FALLING), DeclineSettings())
    fired = alerts(verdicts)
    assert fired, "a fall from 60 to 10 a month must be detected"
    first = fired[0]
    assert first.month > START.replace(month=12)  # not before the fall
    falling = {t.signal: t for t in first.falling}
    assert "contributions" in falling
    trend = falling["contributions"]
    assert trend.drop >= 0.3 and trend.p <= 0.01
    text = describe(trend)
    assert text.startswith("contributions went from ") and f"since {trend.since:%Y-%m}" in text
    assert f"{trend.drop * 100:.0f} %" in text
    assert "depuis" in describe(trend, "fr")


def test_a_steady_series_never_enters_the_declining_state() -> None:
    assert alerts(replay(points(STEADY), DeclineSettings())) == []


def test_a_fall_in_a_series_too_small_to_judge_raises_no_alert() -> None:
    tiny = [8] * 12 + [7, 6, 5, 4, 3, 2, 1, 1]  # the line starts below min_level
    assert alerts(replay(points(tiny), DeclineSettings())) == []
    assert alerts(replay(points(tiny), DeclineSettings(min_level=1, min_questions=1))) != []


def test_no_alert_before_the_minimum_history() -> None:
    settings_ = DeclineSettings(window_months=4, min_history_months=10, confirm_months=1)
    verdicts = replay(points([90, 70, 50, 30, 20, 10, 8, 6, 5, 4]), settings_)
    assert [v.declining for v in verdicts[:9]] == [False] * 9
    assert all(v.trends == () for v in verdicts[:9])
    assert verdicts[9].history_months == 10


def test_a_small_fall_however_regular_is_below_the_minimum_effect() -> None:
    gentle = [100, 99, 98, 97, 96, 95, 94, 93, 92, 91, 90, 89, 88, 87]  # -1 % a month, p tiny
    verdicts = replay(points(gentle), DeclineSettings())
    assert alerts(verdicts) == []
    assert any(t.p < 0.01 for v in verdicts for t in v.trends)


def test_a_history_ending_on_the_third_of_a_month_shows_no_collapse_in_that_month() -> None:
    # Busy until the 3rd of the last month, which is then cut short: the partial month is
    # not a month of the series, and the verdicts are those at the end of the month before.
    monthly = [60] * 14 + [6]
    last = START
    for _ in range(14):
        last = next_month(last)
    cut = datetime(last.year, last.month, 3, tzinfo=UTC)
    at_cut = series_at(monthly, cut)
    at_month_start = series_at(monthly, datetime(last.year, last.month, 1, tzinfo=UTC))
    assert [p.month for p in at_cut][-1] < last
    # The same months with the same counts (the 3 days past the month's end settle its
    # answers within 24 hours, which the verdict of that month does not read anyway).
    assert [p._replace(answered_within_24h=None) for p in at_cut] == [
        p._replace(answered_within_24h=None) for p in at_month_start
    ]
    assert replay(at_cut, DeclineSettings()) == replay(at_month_start, DeclineSettings())
    assert alerts(replay(at_cut, DeclineSettings())) == []


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 80), min_size=1, max_size=20),
    st.integers(0, 40 * 24),
    st.integers(0, 3),
)
def test_an_alert_never_rests_on_an_incomplete_period(monthly: list[int], hours: int, seed: int) -> None:
    """Cut anywhere, the series holds only months ended before the cut; the answers within
    24 hours of a month count only once its 24 hours are over; and the verdicts are a prefix
    of those at any later cut (nothing judged on a month changes when it completes)."""
    end = START
    for _ in monthly:
        end = next_month(end)
    cut = datetime(end.year, end.month, 1, tzinfo=UTC) - timedelta(hours=hours)
    found = series_at(monthly, cut, seed)
    assert all(month_end(p.month) <= cut for p in found)
    assert all(p.answered_within_24h is None for p in found if month_end(p.month) + timedelta(hours=24) > cut)
    assert [p.month for p in found] == complete_months(START, cut)[: len(found)]
    later = replay(series_at(monthly, datetime(end.year, end.month, 2, tzinfo=UTC), seed), DeclineSettings())
    now = replay(found, DeclineSettings())
    assert [v.declining for v in now] == [v.declining for v in later[: len(now)]]


def _trend(entering: bool, holding: bool) -> Trend:
    return Trend("contributions", START, 8, 100.0, 50.0, 0.5, 0.001, entering, holding)


MONTHS = st.lists(
    st.lists(st.tuples(st.booleans(), st.booleans()).map(lambda f: (f[0], f[0] or f[1])), max_size=3),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(MONTHS, st.integers(1, 3))
def test_no_flapping_inside_the_hysteresis(months: list[list[tuple[bool, bool]]], confirm: int) -> None:
    """The state changes only across a threshold: it enters only after `confirm` months in a
    row meeting the entering thresholds, leaves only in a month where no trend holds, and a
    month in the band between (holding, not entering) never changes it."""
    declining, streak, entering_run = False, 0, 0
    for flags in months:
        found = [_trend(e, h) for e, h in flags]
        entering = any(e for e, _ in flags)
        holding = any(h for _, h in flags)
        entering_run = entering_run + 1 if entering else 0
        now, streak = step(declining, streak, found, confirm)
        assert streak == entering_run
        if not declining and now:
            assert entering_run >= confirm
        if declining and not now:
            assert not holding
        if holding and not entering:
            assert now == declining
        declining = now


def test_the_replay_carries_the_state_so_a_month_in_the_band_keeps_the_community_declining() -> None:
    s = DeclineSettings()
    verdicts = replay(points(FALLING + [10] * 10), s)
    entered = next(i for i, v in enumerate(verdicts) if v.entered)
    left = next(i for i, v in enumerate(verdicts) if v.left)
    assert left > entered
    assert all(v.declining for v in verdicts[entered:left])
    for v in verdicts[entered + 1 : left]:
        assert any(t.holding for t in v.trends)  # kept by the looser thresholds
    assert not any(t.holding for t in verdicts[left].trends)


def test_the_share_answered_within_24_hours_is_a_signal_of_its_own() -> None:
    base = [MonthPoint(p.month, 60, 40, 40, 36) for p in points([60] * 20)]
    fall = [36, 34, 30, 26, 22, 18, 14, 10]
    series = base[:12] + [p._replace(answered_within_24h=a) for p, a in zip(base[12:], fall, strict=True)]
    fired = alerts(replay(series, DeclineSettings()))
    assert fired
    assert {t.signal for t in fired[0].falling} == {"share_answered_within_24h"}
    assert "points" in describe(fired[0].falling[0])


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("decline_window_months", "3", "from 4 to 36"),
        ("decline_window_months", "six", "whole number"),
        ("decline_enter_p_percent", "30", "hysteresis"),
        ("decline_leave_drop_percent", "40", "hysteresis"),
        ("decline_min_history_months", "5", "at least decline_window_months"),
        ("decline_share_leave_points", "30", "hysteresis"),
        ("decline_confirm_months", "0", "from 1 to 12"),
        ("decline_windows", "6", "unknown setting"),
    ],
)
def test_bad_detector_settings_are_refused_naming_the_key(key: str, value: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        LifecycleSettings.parse({key: value})
    paths = [e.path for e in caught.value.errors]
    assert f"$.{key}" in paths
    assert message in str(caught.value)


def test_the_defaults_parse_from_nothing_and_from_their_own_text() -> None:
    from coplib.domain.lifecycle import SETTINGS

    assert LifecycleSettings.parse({}) == LifecycleSettings()
    assert LifecycleSettings.parse({key: default for key, default, _ in SETTINGS}) == LifecycleSettings()


def test_a_sudden_stop_is_a_collapse_caught_within_three_months_where_the_trend_test_is_slow() -> None:
    stop = [45] * 12 + [0] * 6
    verdicts = replay(points(stop), DeclineSettings())
    fired = alerts(verdicts)
    assert fired
    first = next(i for i, v in enumerate(verdicts) if v.entered)
    assert first - 12 + 1 <= 3  # months from the first silent month to the end of the alert's month
    assert {t.test for t in fired[0].falling} == {"collapse"}
    assert "Poisson p" in describe(fired[0].falling[0])


def test_the_collapse_p_value_is_the_poisson_probability_of_months_that_low() -> None:
    from scipy.stats import poisson

    from coplib.domain.decline import _collapse

    window = points([40, 42, 38, 41, 39, 40, 3, 5])
    found = _collapse("contributions", window, DeclineSettings())
    assert found is not None
    level = 40.0  # the median of the six months before
    assert found.start == level
    assert found.p == pytest.approx(poisson.cdf(3, level) * poisson.cdf(5, level), rel=1e-9)
    assert _collapse("contributions", points([40, 42, 38, 41, 39, 40, 11, 5]), DeclineSettings()) is None


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([10, 20, 50]), st.integers(0, 10_000))
def test_a_steady_poisson_community_is_rarely_judged_declining(rate: int, seed: int) -> None:
    """The detector's false alarms on a steady community stay rare: at most one alert in five
    years of Poisson arrivals (the benchmark measures the rate: docs/health.md#decline)."""
    rng = random.Random(seed)
    monthly = []
    for _ in range(60):
        n, t = 0, rng.expovariate(rate)
        while t < 1:
            n, t = n + 1, t + rng.expovariate(rate)
        monthly.append(n)
    assert len(alerts(replay(points(monthly), DeclineSettings()))) <= 1
