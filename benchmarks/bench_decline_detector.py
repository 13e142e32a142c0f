"""The decline detector on synthetic series: how often it fires on steady communities (false
alarms) and how long it takes to fire on declining ones (detection delay).

Each synthetic community is a monthly series built from Poisson arrivals: contributions arrive
at `rate` a month (exponential gaps), each by one of a pool of people (the active contributors
are the distinct ones of a month), a third of them are questions, and each question is answered
within 24 hours with probability 0.7. A steady community keeps its rate for ``--years`` years;
a declining one is steady for two years, then its rate (and its share answered fast, from 0.7
to 0.35) halves linearly over six months and stays there for a year; a stopping one is steady
for two years, then silent for a year. The detector is run as the
lifecycle policy runs it, month by month (`coplib.domain.decline.replay`).

Printed: for each rate, the false alarms per community-year and the share of steady
communities with at least one alert; the share of declining communities detected, and the
delay from the start of the decline to the first alert (median and 90th percentile, in
months); the share of sudden stops caught and the longest delay among them. Alerts in a
declining series before its decline count as false alarms there too.

    python -m benchmarks.bench_decline_detector            # 400 seeds a rate
    python -m benchmarks.bench_decline_detector --quick    # a smoke test
    python -m benchmarks.bench_decline_detector --dump ../shared/data/stackexchange/history-meta

With ``--dump``, it also imports a Stack Exchange dump into a memory store and times the
lifecycle's part of the health report (the monthly series, the detector replayed over every
month, the stage rules, on the facts the report read) against the whole report, in the same run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import date

import attrs

from coplib.domain.decline import DeclineSettings, MonthPoint, alerts, next_month, replay

RATES = (5, 10, 20, 50, 200)
FAST_SHARE = 0.7


def _month_of(rng: random.Random, rate: float, fast: float, pool: int) -> tuple[int, int, int, int]:
    """One month of Poisson arrivals at `rate`: contributions, distinct contributors,
    questions, questions answered within 24 h."""
    t = rng.expovariate(rate) if rate > 0 else 2.0
    n = 0
    people = set()
    questions = answered = 0
    while t < 1.0:
        n += 1
        people.add(rng.randrange(pool))
        if rng.random() < 1 / 3:
            questions += 1
            answered += rng.random() < fast
        t += rng.expovariate(rate)
    return n, len(people), questions, answered


def series(rng: random.Random, rates: Sequence[float], fasts: Sequence[float], pool: int) -> list[MonthPoint]:
    out = []
    month = date(2020, 1, 1)
    for rate, fast in zip(rates, fasts, strict=True):
        n, people, q, a = _month_of(rng, rate, fast, pool)
        out.append(MonthPoint(month, n, people, q, a))
        month = next_month(month)
    return out


def steady(rate: float, months: int) -> tuple[list[float], list[float]]:
    return [rate] * months, [FAST_SHARE] * months


#: A declining community: steady for this many months, then halving over six.
STEADY_BEFORE = 24


def halving(rate: float) -> tuple[list[float], list[float]]:
    """Steady for two years, halving linearly over six months, then a year at half."""
    factors = [1.0] * STEADY_BEFORE + [1 - 0.5 * (i + 1) / 6 for i in range(6)] + [0.5] * 12
    return [rate * f for f in factors], [FAST_SHARE * f for f in factors]


def stopping(rate: float) -> tuple[list[float], list[float]]:
    """Steady for two years, then silent for a year (a sudden stop)."""
    factors = [1.0] * STEADY_BEFORE + [0.0] * 12
    return [rate * f for f in factors], [FAST_SHARE] * len(factors)


@attrs.frozen
class Figures:
    rate: int
    false_per_year: float
    steady_with_alert: float
    detected: float
    delay_median: float | None
    delay_p90: float | None
    false_before_decline_per_year: float
    stop_detected: float
    stop_delay_max: int | None


def measure(rate: int, seeds: int, years: int, settings: DeclineSettings) -> Figures:
    months = 12 * years
    pool = max(10, rate)
    false_alerts = with_alert = 0
    delays: list[int] = []
    stops: list[int] = []
    before = 0
    for seed in range(seeds):
        rng = random.Random(f"steady-{rate}-{seed}")
        found = alerts(replay(series(rng, *steady(rate, months), pool), settings))
        false_alerts += len(found)
        with_alert += bool(found)
        rng = random.Random(f"halving-{rate}-{seed}")
        verdicts = replay(series(rng, *halving(rate), pool), settings)
        hits = [i for i, v in enumerate(verdicts) if v.entered]
        before += sum(1 for i in hits if i < STEADY_BEFORE)
        after = [i for i in hits if i >= STEADY_BEFORE]
        if after:
            # Months from the start of the decline to the end of the month the alert came in.
            delays.append(after[0] - STEADY_BEFORE + 1)
        rng = random.Random(f"stop-{rate}-{seed}")
        hits = [i for i, v in enumerate(replay(series(rng, *stopping(rate), pool), settings)) if v.entered]
        stop = [i for i in hits if i >= STEADY_BEFORE]
        stops.append(stop[0] - STEADY_BEFORE + 1 if stop else 99)
    delays.sort()
    return Figures(
        rate=rate,
        false_per_year=false_alerts / (seeds * years),
        steady_with_alert=with_alert / seeds,
        detected=len(delays) / seeds,
        delay_median=statistics.median(delays) if delays else None,
        delay_p90=delays[min(len(delays) - 1, int(0.9 * len(delays)))] if delays else None,
        false_before_decline_per_year=before / (seeds * STEADY_BEFORE / 12),
        stop_detected=sum(1 for d in stops if d < 99) / seeds,
        stop_delay_max=max((d for d in stops if d < 99), default=None),
    )


def _fmt(x: float | None, pattern: str = "{:.1f}") -> str:
    return "-" if x is None else pattern.format(x)


def time_dump(folder: str, out: Callable[[str], None]) -> float:
    """The lifecycle's share of the health report's time on a real dump (best of 5)."""
    from datetime import UTC, datetime

    import coplib
    from coplib.domain.history import Ref
    from coplib.importers.stackexchange import import_stackexchange
    from coplib.service.lifecycle import lifecycle_report

    until = datetime(2030, 1, 1, tzinfo=UTC)
    with coplib.open("memory://") as engine:
        cid = import_stackexchange(engine, folder).community_id
        store = engine.store
        community = store.get(Ref("community", cid)).value  # type: ignore[union-attr]
        questions = store.question_facts(cid, until=until)
        contributors = store.contributor_facts(cid, since=None, until=until)
        members = store.member_facts(cid)

        def best(run: Callable[[], object]) -> float:
            times = []
            for _ in range(5):
                started = time.perf_counter()
                run()
                times.append(time.perf_counter() - started)
            return min(times)

        report = best(lambda: engine.community_health(coplib.SYSTEM, cid, until=until))
        part = best(
            lambda: lifecycle_report(
                store,
                community,
                until,
                questions=questions,
                contributors=contributors,
                members=members,  # type: ignore[arg-type]
            )
        )
    out(
        f"{folder}: health report {1000 * report:.0f} ms, of which the lifecycle {1000 * part:.0f} ms "
        f"({part / report:.0%} of the report)"
    )
    return part / report


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> list[Figures]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smoke test: 20 seeds a rate")
    parser.add_argument("--seeds", type=int, default=400, help="synthetic communities per rate and kind")
    parser.add_argument("--years", type=int, default=5, help="years of each steady series")
    parser.add_argument("--dump", default=None, help="a Stack Exchange dump folder to time the lifecycle on")
    for field in attrs.fields(DeclineSettings):
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=int, default=None)
    args = parser.parse_args(argv)
    seeds = 20 if args.quick else args.seeds
    chosen = {f.name: getattr(args, f.name) for f in attrs.fields(DeclineSettings) if getattr(args, f.name) is not None}
    settings = DeclineSettings(**chosen)
    out(f"decline detector on synthetic series: {seeds} seeds a rate, steady series of {args.years} years")
    out(f"settings: {attrs.asdict(settings)}")
    out(
        f"{'rate/month':>10} {'false/yr':>9} {'steady w/ alert':>16} {'detected':>9} "
        f"{'delay med':>10} {'delay p90':>10} {'false/yr before':>16} {'stops caught':>13} {'stop delay max':>15}"
    )
    started = time.perf_counter()
    results = []
    for rate in RATES:
        f = measure(rate, seeds, args.years, settings)
        results.append(f)
        out(
            f"{f.rate:>10} {f.false_per_year:>9.3f} {f.steady_with_alert:>15.1%} {f.detected:>9.1%} "
            f"{_fmt(f.delay_median):>10} {_fmt(f.delay_p90, '{:.0f}'):>10} {f.false_before_decline_per_year:>16.3f} "
            f"{f.stop_detected:>12.1%} {_fmt(f.stop_delay_max, '{:.0f}'):>15}"
        )
    elapsed = time.perf_counter() - started
    n_series = 3 * seeds * len(RATES)
    out(f"{n_series} series replayed in {elapsed:.1f} s ({1000 * elapsed / n_series:.2f} ms a series)")
    if args.dump:
        time_dump(args.dump, out)
    return results


if __name__ == "__main__":
    main()
