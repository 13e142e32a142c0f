"""Running out of steam (*essoufflement*, seeds/003): a trend test on a community's monthly
series of complete months, with a minimum effect, hysteresis and a minimum history.

Pure and deterministic: series of complete months in, a state and its reasons out. The test is
Mann–Kendall's (is there a monotonic trend?) with the Theil–Sen slope (how steep, robustly),
both written here, small and exact (docs/health.md#decline says why not a library):

- `mann_kendall`: the statistic S, its variance with the correction for ties, and the one-sided
  p-value of a decreasing trend, exact (the Mahonian distribution of inversions) when there is
  no tie, else from the normal approximation with the tie-corrected variance and a continuity
  correction;
- `theil_sen`: the median of the pairwise slopes, and the intercept through the medians;
- a collapse rule for a sudden stop (the last months against the level before them, with an
  exact Poisson probability), which a trend test sees late because the silent months are ties.

`evaluate` judges one month (the last of the series given); `replay` runs it as it would have
run at the end of every complete month, carrying the state from month to month: what the tick
does live, so that a replay says when the detector would have fired.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any, Final, NamedTuple

import attrs

from coplib.domain.errors import FieldError, InvalidInputError
from coplib.domain.health import FAST, ContributorFacts, QuestionFacts, median
from coplib.domain.recognition import SettingsReader

# -- the trend test -------------------------------------------------------------------------------


class MannKendall(NamedTuple):
    """Mann–Kendall's test of a series against its order in time."""

    n: int
    s: int  # concordant minus discordant pairs: negative for a falling series
    variance: float  # of S under no trend, corrected for ties
    ties: bool
    p_decreasing: float  # one-sided p-value of a decreasing trend


@cache
def _inversions(n: int) -> tuple[int, ...]:
    """How many permutations of n items have k inversions, for k = 0..n(n-1)/2 (Mahonian
    numbers, by the recurrence on inserting the n-th item)."""
    counts = [1]
    for m in range(2, n + 1):
        out = [0] * (len(counts) + m - 1)
        for k, c in enumerate(counts):
            for j in range(m):
                out[k + j] += c
        counts = out
    return tuple(counts)


#: Up to this many points the p-value of a series without ties is exact.
EXACT_MAX: Final = 60


def _normal_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2))


def mann_kendall(values: Sequence[float], *, continuity: bool = True) -> MannKendall:
    """The test of `values` (in time order, at least 3). Without ties and up to `EXACT_MAX`
    points, ``p_decreasing`` is exact: the share of orderings with an S at most the observed
    one. Otherwise it is the normal approximation with the tie-corrected variance
    (``continuity``: the usual correction by one towards zero)."""
    n = len(values)
    if n < 3:
        raise InvalidInputError.field("$.values", f"the test needs at least 3 points, got {n}")
    s = 0
    for i in range(n - 1):
        vi = values[i]
        for j in range(i + 1, n):
            d = values[j] - vi
            s += (d > 0) - (d < 0)
    groups: dict[float, int] = {}
    for x in values:
        groups[x] = groups.get(x, 0) + 1
    tie_term = sum(t * (t - 1) * (2 * t + 5) for t in groups.values() if t > 1)
    variance = (n * (n - 1) * (2 * n + 5) - tie_term) / 18
    ties = tie_term > 0
    if not ties and n <= EXACT_MAX:
        # S = N - 2 * (inversions against increasing order); S <= s  <=>  inversions >= (N - s) / 2.
        counts = _inversions(n)
        at_least = (n * (n - 1) // 2 - s) // 2
        p = sum(counts[at_least:]) / math.factorial(n)
    elif variance <= 0:
        p = 1.0  # a constant series: no trend
    else:
        shifted = s + 1 if continuity and s < 0 else s - 1 if continuity and s > 0 else s
        p = _normal_cdf(shifted / math.sqrt(variance))
    return MannKendall(n, s, variance, ties, min(1.0, p))


def theil_sen(values: Sequence[float]) -> tuple[float, float]:
    """Theil–Sen's line through `values` at x = 0, 1, 2...: the median of the slopes of every
    pair of points, and the intercept median(y) - slope * median(x) (as `scipy.stats.theilslopes`)."""
    n = len(values)
    if n < 2:
        raise InvalidInputError.field("$.values", f"a slope needs at least 2 points, got {n}")
    slopes = sorted((values[j] - values[i]) / (j - i) for i in range(n - 1) for j in range(i + 1, n))
    slope = median(slopes)
    assert slope is not None
    intercept = median(sorted(values))
    assert intercept is not None
    return slope, intercept - slope * (n - 1) / 2


# -- the settings, in a charter -------------------------------------------------------------------------


@attrs.frozen
class DeclineSettings:
    """The detector's settings (part of the lifecycle policy's, docs/health.md#decline). The
    defaults were chosen on synthetic series (``python -m benchmarks.bench_decline_detector``),
    never on the real histories."""

    window_months: int = 8  # the months the trend is tested on
    min_history_months: int = 8  # complete months since the first contribution, before any alert
    enter_p_percent: int = 1  # enter when p <= 1 %...
    enter_drop_percent: int = 30  # ... and the Theil–Sen line fell at least 30 % over the window
    leave_p_percent: int = 20  # stay while p <= 20 % and the line fell at least 15 %
    leave_drop_percent: int = 15
    min_level: int = 10  # a count is judged when a month of the window and its line's start reach this
    min_questions: int = 10  # a month's share answered within 24 h counts from this many questions
    share_drop_points: int = 25  # a share "fell" by this many points over the window (enter)
    share_leave_points: int = 10  # ... and stays fallen while it is at least this many points down
    confirm_months: int = 2  # enter once the entering thresholds are met this many months in a row
    collapse_percent: int = 25  # a count's last 2 months at most this % of the months before: a collapse

    @classmethod
    def read(cls, read: SettingsReader, prefix: str = "decline_") -> DeclineSettings:
        """The settings from `read` (keys ``decline_window_months``...), bad ones collected
        in ``read.errors`` with the default used instead."""
        d = cls()
        window = read.whole(f"{prefix}window_months", d.window_months, minimum=4, maximum=36)
        out = cls(
            window_months=window,
            min_history_months=read.whole(f"{prefix}min_history_months", d.min_history_months, minimum=4, maximum=120),
            enter_p_percent=read.whole(f"{prefix}enter_p_percent", d.enter_p_percent, minimum=1, maximum=50),
            enter_drop_percent=read.whole(f"{prefix}enter_drop_percent", d.enter_drop_percent, minimum=1, maximum=100),
            leave_p_percent=read.whole(f"{prefix}leave_p_percent", d.leave_p_percent, minimum=1, maximum=100),
            leave_drop_percent=read.whole(f"{prefix}leave_drop_percent", d.leave_drop_percent, minimum=0, maximum=100),
            min_level=read.whole(f"{prefix}min_level", d.min_level, minimum=1, maximum=1_000_000),
            min_questions=read.whole(f"{prefix}min_questions", d.min_questions, minimum=1, maximum=1_000_000),
            share_drop_points=read.whole(f"{prefix}share_drop_points", d.share_drop_points, minimum=1, maximum=100),
            share_leave_points=read.whole(f"{prefix}share_leave_points", d.share_leave_points, minimum=0, maximum=100),
            confirm_months=read.whole(f"{prefix}confirm_months", d.confirm_months, minimum=1, maximum=12),
            collapse_percent=read.whole(f"{prefix}collapse_percent", d.collapse_percent, minimum=0, maximum=90),
        )
        if out.min_history_months < out.window_months:
            read.errors.append(
                FieldError(
                    f"$.{prefix}min_history_months",
                    f"must be at least {prefix}window_months ({out.window_months}), got {out.min_history_months}",
                )
            )
        # Hysteresis: leaving is easier than entering (p at least as high, a fall at most as big).
        for strict, loose, higher in (
            ("enter_p_percent", "leave_p_percent", True),
            ("enter_drop_percent", "leave_drop_percent", False),
            ("share_drop_points", "share_leave_points", False),
        ):
            a, b = getattr(out, strict), getattr(out, loose)
            if (b < a) if higher else (b > a):
                # Name the key the charter set (the loose one when it set both).
                key, other = (strict, loose) if f"{prefix}{loose}" not in read.settings else (loose, strict)
                read.errors.append(
                    FieldError(
                        f"$.{prefix}{key}",
                        f"must keep the leave threshold ({prefix}{loose}: {b}) "
                        f"{'at least' if higher else 'at most'} the enter one ({prefix}{strict}: {a}): "
                        f"leaving is easier than entering (hysteresis); see {prefix}{other}",
                    )
                )
        return out


# -- the monthly series ---------------------------------------------------------------------------------


class MonthPoint(NamedTuple):
    """One complete month of a community: its contributions, active contributors, questions,
    and of those questions the ones answered within 24 hours (``None`` while a question of the
    month may still be answered within 24 hours: the month ended less than 24 hours ago)."""

    month: date  # its first day
    contributions: int
    active_contributors: int
    questions: int
    answered_within_24h: int | None


def month_text(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """An attrs validator: a month as ``YYYY-MM``."""
    ok = isinstance(value, str) and len(value) == 7 and value[4] == "-" and value[:4].isdigit()
    if not (ok and isinstance(value, str) and value[5:].isdigit() and 1 <= int(value[5:]) <= 12):
        raise InvalidInputError.field(f"$.{attribute.name}", f"must be a month YYYY-MM, got {value!r:.20}")


def month_key(day: date) -> str:
    """A month as ``YYYY-MM``."""
    return f"{day.year:04d}-{day.month:02d}"


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_end(day: date) -> datetime:
    """The first instant after the month starting `day` (UTC)."""
    nxt = next_month(day)
    return datetime(nxt.year, nxt.month, 1, tzinfo=UTC)


def complete_months(first: date, until: datetime) -> list[date]:
    """The first days of the months from `first`'s month whose end is at or before `until`."""
    out = []
    current = first.replace(day=1)
    while month_end(current) <= until:
        out.append(current)
        current = next_month(current)
    return out


def questions_by_month(questions: Iterable[QuestionFacts]) -> dict[date, tuple[int, int]]:
    """The questions asked each month (by its first day) and how many of them had a first
    answer within 24 hours."""
    asked: dict[date, list[int]] = {}
    fast_s = FAST.total_seconds()
    for q in questions:
        m = q.asked_at.date().replace(day=1)
        row = asked.setdefault(m, [0, 0])
        row[0] += 1
        first = q.first_answer_at
        if first is not None and (first - q.asked_at).total_seconds() <= fast_s:
            row[1] += 1
    return {m: (n, fast) for m, (n, fast) in asked.items()}


def monthly_series(
    questions: Sequence[QuestionFacts],
    contributors: ContributorFacts,
    *,
    until: datetime,
    start: date | None = None,
    asked: Mapping[date, tuple[int, int]] | None = None,
) -> list[MonthPoint]:
    """The complete months (ended at or before `until`) from the first contribution (or from
    `start`'s month, the community's creation, when earlier), from the
    health report's facts (`ReadQueries.question_facts` and `contributor_facts` with since None).
    A month's value depends only on what happened before its end (and, for the answers within
    24 hours, the 24 hours after it), so the series at a later `until` extends the earlier one.
    `asked`: `questions_by_month` of the questions when the caller has it already (the health
    report's monthly series gives it); then `questions` are not read."""
    by_month = {f.start: f for f in contributors.monthly}
    if asked is None:
        asked = questions_by_month(questions)
    starts = [*by_month, *asked, *([start] if start is not None else [])]
    if not starts:
        return []
    out = []
    for m in complete_months(min(starts), until):
        f = by_month.get(m)
        n_asked, n_fast = asked.get(m, (0, 0))
        settled = month_end(m) + FAST <= until
        out.append(
            MonthPoint(
                month=m,
                contributions=f.contributions if f is not None else 0,
                active_contributors=f.active_contributors if f is not None else 0,
                questions=n_asked,
                answered_within_24h=n_fast if settled else None,
            )
        )
    return out


# -- judging a month ------------------------------------------------------------------------------------

#: The signals the detector reads: two of activity (counts) and one of responsiveness (a share).
SIGNALS: Final = ("contributions", "active_contributors", "share_answered_within_24h")


class Trend(NamedTuple):
    """One signal over the window ending at the judged month."""

    signal: str
    since: date  # the window's first month
    months: int  # points tested
    start: float  # the Theil–Sen line at the window's first month
    end: float  # ... and at its last
    drop: float  # relative (counts) or in points of share (0..1), positive when it fell
    p: float  # Mann–Kendall's one-sided p-value of a decrease
    entering: bool  # meets the thresholds to enter
    holding: bool  # meets the (looser) thresholds to stay
    test: str = "mann_kendall"  # or "collapse": the last months against the level before (Poisson)


class Verdict(NamedTuple):
    """The detector's state at the end of `month`, and the trends that made it."""

    month: date
    declining: bool
    entered: bool
    left: bool
    trends: tuple[Trend, ...]
    history_months: int  # complete months since the first contribution
    streak: int = 0  # months in a row, up to this one, in which a trend met the entering thresholds

    @property
    def falling(self) -> tuple[Trend, ...]:
        """The trends that keep (or put) the community in the declining state."""
        return tuple(t for t in self.trends if (t.entering if self.entered else t.holding))


def _trend(signal: str, months: Sequence[date], values: Sequence[float], share: bool, s: DeclineSettings) -> Trend:
    slope, intercept = theil_sen(values)
    # The line at the window's ends, kept within what the signal can be (a count is never
    # negative, a share at most 1): a steep line must not say "from 30 to -30".
    top = 1.0 if share else math.inf
    start = min(top, max(0.0, intercept))
    end = min(top, max(0.0, intercept + slope * (len(values) - 1)))
    mk = mann_kendall(values)
    if share:
        drop = start - end
        entering = drop * 100 >= s.share_drop_points
        holding = drop * 100 >= s.share_leave_points
    else:
        drop = (start - end) / start if start > 0 else 0.0
        big_enough = start >= s.min_level
        entering = big_enough and drop * 100 >= s.enter_drop_percent
        holding = big_enough and drop * 100 >= s.leave_drop_percent
    return Trend(
        signal=signal,
        since=months[0],
        months=len(values),
        start=start,
        end=end,
        drop=drop,
        p=mk.p_decreasing,
        entering=entering and mk.p_decreasing * 100 <= s.enter_p_percent,
        holding=holding and mk.p_decreasing * 100 <= s.leave_p_percent,
    )


#: A collapse: the last this many months...
COLLAPSE_MONTHS: Final = 2


def _poisson_cdf(k: int, rate: float) -> float:
    """P(X <= k) for X Poisson of mean `rate`."""
    term = total = math.exp(-rate)
    for i in range(1, k + 1):
        term *= rate / i
        total += term
    return min(1.0, total)


def _collapse(signal: str, window: Sequence[MonthPoint], s: DeclineSettings) -> Trend | None:
    """A sudden stop, which a trend test sees late (the months at zero are ties): each of the
    last `COLLAPSE_MONTHS` months at most ``collapse_percent`` % of the median of the months
    before them in the window, that median at least ``min_level``. Its p is the chance of
    months that low under Poisson arrivals at the earlier median (exact)."""
    before = sorted(getattr(p, signal) for p in window[:-COLLAPSE_MONTHS])
    recent = [getattr(p, signal) for p in window[-COLLAPSE_MONTHS:]]
    level = median(before)
    if level is None or level < s.min_level or max(recent) * 100 > level * s.collapse_percent:
        return None
    p = math.prod(_poisson_cdf(r, level) for r in recent)
    end = sum(recent) / len(recent)
    entering = p * 100 <= s.enter_p_percent
    return Trend(
        signal=signal,
        since=window[-COLLAPSE_MONTHS].month,
        months=COLLAPSE_MONTHS,
        start=level,
        end=end,
        drop=1 - end / level,
        p=p,
        entering=entering,
        holding=entering,
        test="collapse",
    )


def trends(points: Sequence[MonthPoint], settings: DeclineSettings) -> tuple[Trend, ...]:
    """Each signal's trend over the window ending at the last point, and a collapse of a
    count in the last months when there is one. No trend for a signal with fewer points than
    the window, nor for a count that stays below ``min_level`` all through it. The share answered within
    24 hours reads the months of the window that are settled and had at least
    ``min_questions`` questions (at least 4)."""
    w = settings.window_months
    window = points[-w:]
    if len(window) < w:
        return ()
    months = [p.month for p in window]
    out = []
    for name in ("contributions", "active_contributors"):
        values = [getattr(p, name) for p in window]
        # A count judged must reach min_level in some month of the window (and its line
        # start there, below): a signal that small is noise, and skipping it saves the work.
        if max(values) < settings.min_level:
            continue
        out.append(_trend(name, months, values, False, settings))
        found = _collapse(name, window, settings)
        if found is not None:
            out.append(found)
    shares = [
        (p.month, p.answered_within_24h / p.questions)
        for p in window
        if p.answered_within_24h is not None and p.questions >= settings.min_questions
    ]
    if len(shares) >= 4:
        out.append(_trend("share_answered_within_24h", [m for m, _ in shares], [x for _, x in shares], True, settings))
    return tuple(out)


def step(declining: bool, streak: int, found: Sequence[Trend], confirm: int = 1) -> tuple[bool, int]:
    """The state after a month, and the streak of months in a row in which some trend met
    the entering thresholds: enter when that streak reaches `confirm`; once in, stay while
    a trend still meets the (looser) holding thresholds."""
    streak = streak + 1 if any(t.entering for t in found) else 0
    if declining:
        return any(t.holding for t in found), streak
    return streak >= confirm, streak


def replay(points: Sequence[MonthPoint], settings: DeclineSettings) -> list[Verdict]:
    """The verdict at the end of every complete month of `points` (in order, from the first
    contribution), as the detector run live at each month's end would have given it: the
    month's own point and earlier ones, the state carried over."""
    out: list[Verdict] = []
    declining = False
    streak = 0
    for i, point in enumerate(points):
        history = i + 1
        # What was known at the end of this month: the answers within 24 h of this month were
        # not settled yet (they are by the next month's end).
        seen = [*points[:i], point._replace(answered_within_24h=None)]
        found = trends(seen, settings) if history >= settings.min_history_months else ()
        now, streak = step(declining, streak, found, settings.confirm_months)
        out.append(Verdict(point.month, now, now and not declining, declining and not now, found, history, streak))
        declining = now
    return out


def alerts(verdicts: Sequence[Verdict]) -> list[Verdict]:
    """The months in which the detector entered the declining state."""
    return [v for v in verdicts if v.entered]


# -- words ----------------------------------------------------------------------------------------------

SIGNAL_NAMES: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {
        "contributions": "contributions",
        "active_contributors": "active contributors",
        "share_answered_within_24h": "the share of questions answered within 24 hours",
    },
    "fr": {
        "contributions": "les contributions",
        "active_contributors": "les contributeurs actifs",
        "share_answered_within_24h": "la part des questions répondues en moins de 24 heures",
    },
}


def _number(x: float, locale: str) -> str:
    text = f"{x:.0f}" if abs(x) >= 10 else f"{x:.1f}"
    return text.replace(".", ",") if locale == "fr" else text


def describe(trend: Trend, locale: str = "en") -> str:
    """What fell, by how much, since when: one sentence."""
    name = SIGNAL_NAMES[locale][trend.signal]
    since = trend.since.strftime("%Y-%m")
    p = _number(trend.p * 100, locale)
    test = "Mann–Kendall" if trend.test == "mann_kendall" else "Poisson"
    if trend.signal == "share_answered_within_24h":
        a, b, d = (
            _number(trend.start * 100, locale),
            _number(trend.end * 100, locale),
            _number(trend.drop * 100, locale),
        )
        if locale == "fr":
            return f"{name} est passée de {a} % à {b} % depuis {since} (−{d} points ; {test} p = {p} %)"
        return f"{name} went from {a} % to {b} % since {since} (−{d} points; {test} p = {p} %)"
    a, b, d = _number(trend.start, locale), _number(trend.end, locale), _number(trend.drop * 100, locale)
    if locale == "fr":
        return f"{name} sont passés de {a} à {b} par mois depuis {since} (−{d} % ; {test} p = {p} %)"
    return f"{name} went from {a} to {b} a month since {since} (−{d} %; {test} p = {p} %)"


def reasons(verdict: Verdict, locale: str = "en") -> list[str]:
    """The verdict in words: the falling trends, or why it holds no alert."""
    fr = locale == "fr"
    if verdict.declining:
        return [describe(t, locale) for t in verdict.falling]
    if verdict.left:
        return ["plus aucune baisse nette" if fr else "no clear fall any more"]
    return []


__all__ = [
    "EXACT_MAX",
    "SIGNALS",
    "SIGNAL_NAMES",
    "DeclineSettings",
    "MannKendall",
    "MonthPoint",
    "Trend",
    "Verdict",
    "alerts",
    "complete_months",
    "describe",
    "mann_kendall",
    "month_end",
    "month_key",
    "month_text",
    "monthly_series",
    "reasons",
    "replay",
    "step",
    "theil_sen",
    "trends",
]
