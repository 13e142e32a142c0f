"""Calibration: fit a scenario's rates to a community's real history (its first months), then
measure how well the simulation predicts the rest, month by month (docs/simulation.md,
"Calibration").

The history is read from the store (`engine.history`), so any imported history serves: a
Stack Exchange dump imported with `coplib import stackexchange` (`engine.import_history`),
or a community's own. What is fitted, on the first `fit_months` months only:

- the people: those who answered at least `ANSWERER_MIN` times in the fit period form the
  ``answerers`` group (persona ``regular``); everyone else arrives as ``askers`` (persona
  ``newcomer``) at the weekly rate of new people seen in the last third of the fit period
  (the pace of the community when the prediction begins);
- the rates: questions per week of each group, and each group's propensities to answer (a
  question seen, one asked about, one that has an answer already), by a
  few rounds of simulating the fit period and scaling each rate by observed / simulated
  (moment matching), so that the questions and answers of the fit period's last third are
  reproduced;
- how long people stay: each group's weekly chance of leaving is 1 / (1 + the mean weeks
  between first and last contribution, in the fit period, of those who came in its first half);
- the answer delay: the median time to a first answer in the fit period.

The personas' reactions and every other behaviour keep their defaults: calibration fits a
scenario's rates, never the model's constants. The real site had no answer guarantee, so the
calibrated scenario has it off (and no organised experts).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import attrs

from coplib.domain.errors import InvalidInputError
from coplib.domain.permissions import SYSTEM
from coplib.service.engine import Engine
from coplib.simulation.model import RunResult, rounded
from coplib.simulation.runner import run_sweep
from coplib.simulation.scenario import MAX_WEEKS, Scenario

__all__ = ["ANSWERER_MIN", "Calibration", "MonthError", "calibrate", "history_by_month"]

#: Answers in the fit period that make someone one of the ``answerers``.
ANSWERER_MIN: Final = 3
FIT_ROUNDS: Final = 4
THEME: Final = "general"


@attrs.frozen
class MonthError:
    """One calendar month: observed and simulated (mean over the runs) questions and answers."""

    month: str
    fitted: bool  # inside the fit period
    observed_questions: int
    simulated_questions: float
    observed_answers: int
    simulated_answers: float

    @property
    def question_error(self) -> float:
        return self.simulated_questions - self.observed_questions

    @property
    def answer_error(self) -> float:
        return self.simulated_answers - self.observed_answers


@attrs.frozen
class Calibration:
    """The fitted scenario and how well it predicts the months after the fit."""

    community_id: str
    fit_months: int
    runs: int
    scenario: Scenario
    months: tuple[MonthError, ...]

    def _predicted(self) -> list[MonthError]:
        return [m for m in self.months if not m.fitted]

    def mean_absolute_error(self) -> dict[str, float | None]:
        """Mean absolute error per predicted month, on questions and on answers."""
        rest = self._predicted()
        if not rest:
            return {"questions": None, "answers": None}
        return {
            "questions": statistics.fmean(abs(m.question_error) for m in rest),
            "answers": statistics.fmean(abs(m.answer_error) for m in rest),
        }

    def relative_error(self) -> dict[str, float | None]:
        """Total absolute error over the predicted months, as a share of the observed total."""
        rest = self._predicted()
        q = sum(m.observed_questions for m in rest)
        a = sum(m.observed_answers for m in rest)
        return {
            "questions": sum(abs(m.question_error) for m in rest) / q if q else None,
            "answers": sum(abs(m.answer_error) for m in rest) / a if a else None,
        }

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = rounded(
            {
                "schema": "coplib.simulation.calibration/1",
                "community_id": self.community_id,
                "fit_months": self.fit_months,
                "runs": self.runs,
                "scenario": self.scenario.to_dict(),
                "months": [
                    {
                        **attrs.asdict(m),
                        "question_error": m.question_error,
                        "answer_error": m.answer_error,
                    }
                    for m in self.months
                ],
                "mean_absolute_error": self.mean_absolute_error(),
                "relative_error": self.relative_error(),
            }
        )
        return out

    def text(self) -> str:
        lines = [
            f"calibration of {self.community_id}: fitted on the first {self.fit_months} months, "
            f"{self.runs} runs per month's mean",
            f"{'month':<8} {'fit':>3} {'questions':>10} {'simulated':>10} {'answers':>8} {'simulated':>10}",
        ]
        for m in self.months:
            lines.append(
                f"{m.month:<8} {'*' if m.fitted else '':>3} {m.observed_questions:>10} {m.simulated_questions:>10.1f} "
                f"{m.observed_answers:>8} {m.simulated_answers:>10.1f}"
            )
        mae, rel = self.mean_absolute_error(), self.relative_error()

        def fmt(x: float | None, pct: bool = False) -> str:
            return "-" if x is None else (f"{x:.0%}" if pct else f"{x:.1f}")

        lines.append(
            f"predicted months: mean absolute error {fmt(mae['questions'])} questions, {fmt(mae['answers'])} answers "
            f"a month; {fmt(rel['questions'], True)} and {fmt(rel['answers'], True)} of the observed totals"
        )
        return "\n".join(lines) + "\n"


@attrs.frozen
class _History:
    start: date  # the Monday of the first question's week
    questions: tuple[tuple[datetime, str, str], ...]  # (at, asker, question id)
    answers: tuple[tuple[datetime, str, str], ...]  # (at, author, question id)


def _read_history(engine: Engine, community_id: str) -> _History:
    questions, answers = [], []
    after = 0
    while page := engine.history(SYSTEM, community_id, after=after, limit=1000):
        for recorded in page:
            e = recorded.event
            if e.TYPE == "question_asked":
                questions.append((e.occurred_at, e.actor_id, e.question_id))  # type: ignore[attr-defined]
            elif e.TYPE == "answer_posted":
                answers.append((e.occurred_at, e.actor_id, e.question_id))  # type: ignore[attr-defined]
        after = page[-1].position
    if not questions:
        raise InvalidInputError.field("$.community_id", "the community has no question to calibrate on")
    first = min(q[0] for q in questions).date()
    return _History(first - timedelta(days=first.weekday()), tuple(sorted(questions)), tuple(sorted(answers)))


def _month(moment: datetime | date) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def _add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    return date(day.year + y, m + 1, 1)


def history_by_month(engine: Engine, community_id: str) -> dict[str, tuple[int, int]]:
    """Questions and answers of each month of a community's history (from its events)."""
    history = _read_history(engine, community_id)
    q = Counter(_month(at) for at, _, _ in history.questions)
    a = Counter(_month(at) for at, _, _ in history.answers)
    return {m: (q[m], a[m]) for m in sorted(set(q) | set(a))}


def _fitted_scenario(
    history: _History, fit_end: datetime, weeks: int, recent_weeks: int
) -> tuple[Scenario, dict[str, float]]:
    qs = [q for q in history.questions if q[0] < fit_end]
    ans = [a for a in history.answers if a[0] < fit_end]
    recent_start = fit_end - timedelta(weeks=recent_weeks)
    answer_counts = Counter(author for _, author, _ in ans)
    answerers = sorted(p for p, n in answer_counts.items() if n >= ANSWERER_MIN)
    people = {p for _, p, _ in qs} | set(answer_counts)
    others = len(people - set(answerers))
    asked_at = {qid: at for at, _, qid in history.questions}
    first: dict[str, datetime] = {}
    for at, _, qid in ans:
        if qid in asked_at and (qid not in first or at < first[qid]):
            first[qid] = at
    delays = sorted((first[q] - asked_at[q]).total_seconds() / 3600 for q in first if asked_at[q] < fit_end)
    delay = max(0.1, min(1000.0, statistics.median(delays))) if delays else 8.0
    # The pace the community keeps when the prediction begins: the last weeks of the fit period.
    group = set(answerers)
    recent_q = [q for q in qs if q[0] >= recent_start]
    recent_a = Counter(author for at, author, _ in ans if at >= recent_start)
    by_answerers_q = sum(1 for _, p, _ in recent_q if p in group)
    targets = {
        "answerers_questions": by_answerers_q / recent_weeks,
        "askers_questions": (len(recent_q) - by_answerers_q) / recent_weeks,
        "answerers_answers": sum(recent_a[p] for p in answerers) / recent_weeks,
        "askers_answers": sum(n for p, n in recent_a.items() if p not in group) / recent_weeks,
    }
    first_seen: dict[str, datetime] = {}
    for at, person, _ in (*qs, *ans):
        if person not in first_seen or at < first_seen[person]:
            first_seen[person] = at
    newcomers = sum(1 for p, at in first_seen.items() if at >= recent_start and p not in group)
    arrivals = (newcomers or others) / (recent_weeks if newcomers else max(1, weeks))
    # How long people stay: the weeks from their first to their last contribution in the fit
    # period, for those who came in its first half (so that most spans are not cut short).
    seen: dict[str, list[datetime]] = {}
    for at, person, _ in (*qs, *ans):
        seen.setdefault(person, []).append(at)
    half = history.questions[0][0] + (fit_end - history.questions[0][0]) / 2
    spans: dict[bool, list[float]] = {True: [], False: []}
    for person, moments in seen.items():
        if min(moments) < half:
            spans[person in set(answerers)].append((max(moments) - min(moments)).days / 7)

    def leave(group: bool) -> float:
        return min(1.0, max(0.001, 1 / (1 + statistics.fmean(spans[group])))) if spans[group] else 0.01

    n_answerers = max(1, len(answerers))
    data: dict[str, Any] = {
        "name": "calibrated",
        "description": "rates fitted to a real history's first months",
        "weeks": weeks,
        "seed": 1,
        "start": history.start.isoformat(),
        "communities": {
            "site": {"name": "Calibrated community", "tags": [THEME], "answer_guarantee": False},
        },
        "population": {
            "answerers": {
                "persona": "regular",
                "count": n_answerers,
                "expertise": [THEME],
                "tags_per_person": 1,
                "working_days": "mon-sun",
                "working_hours": "00:00-24:00",
            },
            "askers": {
                "persona": "newcomer",
                "count": 0,
                "arrivals_per_week": min(1000.0, arrivals),
                "max_arrivals": min(15_000, math.ceil(arrivals * weeks * 1.5) + 10),
                "working_days": "mon-sun",
                "working_hours": "00:00-24:00",
            },
        },
        "personas": {
            "regular": {
                "questions_per_week": min(100.0, targets["answerers_questions"] / n_answerers),
                "answer_own_tag": 0.3,
                "answer_when_asked": 0.3,
                "answer_delay_hours": delay,
                "weekly_leave": leave(True),
            },
            "newcomer": {
                "questions_per_week": 1.0,
                "answer_own_tag": 0.02,
                "answer_other_tag": 0.02,
                "answer_delay_hours": delay,
                "weekly_leave": leave(False),
            },
        },
    }
    return Scenario.from_dict(data, source="calibration"), targets


def calibrate(
    engine: Engine,
    community_id: str,
    *,
    fit_months: int = 6,
    runs: int = 5,
    workers: int | None = 1,
    max_months: int | None = None,
) -> Calibration:
    """Fit a scenario to the first `fit_months` months of the community's history, run it
    `runs` times over the whole history (at most `max_months`), and compare month by month."""
    if isinstance(fit_months, bool) or not isinstance(fit_months, int) or not 1 <= fit_months <= 120:
        raise InvalidInputError.field("$.fit_months", f"must be a whole number from 1 to 120, got {fit_months!r}")
    if isinstance(runs, bool) or not isinstance(runs, int) or not 1 <= runs <= 1000:
        raise InvalidInputError.field("$.runs", f"must be a whole number from 1 to 1000, got {runs!r}")
    history = _read_history(engine, community_id)
    first_month = history.questions[0][0].date().replace(day=1)
    fit_end_day = _add_months(first_month, fit_months)
    fit_end = datetime(fit_end_day.year, fit_end_day.month, 1, tzinfo=UTC)
    last = max(history.questions[-1][0], history.answers[-1][0] if history.answers else history.questions[-1][0])
    end_day = _add_months(last.date().replace(day=1), 1)
    if max_months is not None:
        end_day = min(end_day, _add_months(first_month, max_months))
    start = datetime(history.start.year, history.start.month, history.start.day, tzinfo=UTC)
    weeks = min(MAX_WEEKS, math.ceil((datetime(end_day.year, end_day.month, 1, tzinfo=UTC) - start).days / 7))
    fit_weeks = max(1, math.ceil((fit_end - start).days / 7))
    if fit_end_day >= end_day:
        raise InvalidInputError.field("$.fit_months", "leaves no month to predict: the history is shorter")
    recent_weeks = max(1, fit_weeks // 3)
    scenario, targets = _fitted_scenario(history, fit_end, weeks, recent_weeks)
    # Moment matching on the fit period: scale each rate by observed / simulated.
    fit_scenario = scenario.with_values({"weeks": fit_weeks})
    for _ in range(FIT_ROUNDS):
        sweep = run_sweep(fit_scenario, runs=2, workers=workers)
        got = _group_rates(sweep.runs["baseline"], fit_weeks - recent_weeks)
        changes: dict[str, Any] = {}
        p = fit_scenario.behaviours
        for group, persona in (("answerers", "regular"), ("askers", "newcomer")):
            q_target, q_got = targets[f"{group}_questions"], got.get(f"{group}_questions", 0.0)
            if q_got > 0:
                changes[f"personas.{persona}.questions_per_week"] = min(
                    100.0, p[persona].questions_per_week * q_target / q_got
                )
            a_target, a_got = targets[f"{group}_answers"], got.get(f"{group}_answers", 0.0)
            if a_got > 0:
                for key in ("answer_own_tag", "answer_other_tag", "answer_when_asked", "adds_answer"):
                    current = getattr(p[persona], key)
                    changes[f"personas.{persona}.{key}"] = min(1.0, current * a_target / a_got)
        fit_scenario = fit_scenario.with_values(changes)
    scenario = fit_scenario.with_values({"weeks": weeks})
    final = run_sweep(scenario, runs=runs, workers=workers).runs["baseline"]
    observed = dict(history_by_month(engine, community_id).items())
    simulated_q: Counter[str] = Counter()
    simulated_a: Counter[str] = Counter()
    for result in final:
        for row in result.weekly:
            for day, questions, answers in row.get("days", ()):
                month = day[:7]
                simulated_q[month] += questions
                simulated_a[month] += answers
    months = []
    cursor = first_month
    while cursor < end_day:
        key = _month(cursor)
        oq, oa = observed.get(key, (0, 0))
        months.append(
            MonthError(
                month=key,
                fitted=cursor < fit_end_day,
                observed_questions=oq,
                simulated_questions=simulated_q[key] / len(final),
                observed_answers=oa,
                simulated_answers=simulated_a[key] / len(final),
            )
        )
        cursor = _add_months(cursor, 1)
    return Calibration(community_id, fit_months, runs, scenario, tuple(months))


def _group_rates(results: tuple[RunResult, ...], skip: int) -> dict[str, float]:
    """Each group's questions and answers a week in the simulated runs, after `skip` weeks."""
    totals: Counter[str] = Counter()
    weeks = 0
    for result in results:
        for row in result.weekly[skip:]:
            weeks += 1
            for key, value in row.items():
                if key.startswith(("answerers_", "askers_")):
                    totals[key] += value
    return {k: v / max(1, weeks) for k, v in totals.items()}
