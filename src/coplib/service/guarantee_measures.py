"""How well a community keeps its promise of a fast answer, over a period: time to first
answer, the share answered within the target, and whether the rest of the community takes
over from the designated experts month after month (seeds/000).

Computed from the store's indexed queries for the community and period (the questions asked
and the answers given in it, events counted per month), never from the whole history.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import attrs

from coplib.domain.clock import ensure_utc
from coplib.domain.community import Role
from coplib.domain.contributions import Answer, Question
from coplib.domain.errors import InvalidInputError
from coplib.domain.events import QuestionEscalated
from coplib.domain.guarantee import Route, Watch
from coplib.domain.history import Ref
from coplib.policies.guarantee import guarantee_settings
from coplib.ports.storage import Filter, Period
from coplib.service.queries import Queries

__all__ = ["AnswerMeasures", "Durations", "MonthOfAnswers", "answer_measures"]

_EXPERT_ROUTES = frozenset({Route.TAG_EXPERTS, Route.COMMUNITY_EXPERTS})


@attrs.frozen
class Durations:
    """The median and 90th percentile (nearest rank) of some durations; None when there are none."""

    count: int
    median: timedelta | None
    p90: timedelta | None

    @classmethod
    def of(cls, values: Sequence[timedelta]) -> Durations:
        if not values:
            return cls(0, None, None)
        ordered = sorted(values)
        n = len(ordered)
        middle = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
        return cls(n, middle, ordered[math.ceil(0.9 * n) - 1])


@attrs.frozen
class MonthOfAnswers:
    """One calendar month (UTC): who answered, and how much the guarantee had to push."""

    month: date  # its first day
    answers: int  # answers given that month (not withdrawn)
    by_experts: int  # of which by designated experts
    questions: int  # questions asked that month (and not withdrawn)
    escalations: int  # ladder steps taken that month

    @property
    def share_by_experts(self) -> float | None:
        """Designated experts' share of the answers: falling means the others take over."""
        return self.by_experts / self.answers if self.answers else None


@attrs.frozen
class AnswerMeasures:
    """The answer guarantee of a community over [since, until), measured at `measured_at`."""

    community_id: str
    since: datetime
    until: datetime
    measured_at: datetime
    target: str  # the promised time to a first answer, e.g. "4wh"
    asked: int  # questions asked in the period and not withdrawn
    answered: int  # of which answered by `measured_at`
    #: Time from question to first answer, on the wall clock and in working time.
    first_answer: Durations
    first_answer_working: Durations
    #: Questions answered within the target, out of those that are settled: answered, or
    #: past the target without an answer (a question still inside its target is not counted).
    within_target: int
    settled: int
    months: tuple[MonthOfAnswers, ...]

    @property
    def unanswered(self) -> int:
        return self.asked - self.answered

    @property
    def share_within_target(self) -> float | None:
        return self.within_target / self.settled if self.settled else None


def _month(moment: datetime) -> date:
    return moment.astimezone(UTC).date().replace(day=1)


def _months(since: datetime, until: datetime) -> list[date]:
    months = []
    current = _month(since)
    while datetime.combine(current, datetime.min.time(), tzinfo=UTC) < until:
        months.append(current)
        current = (current + timedelta(days=32)).replace(day=1)
    return months


def answer_measures(
    engine: Queries, viewer: str, community_id: str, *, since: datetime, until: datetime
) -> AnswerMeasures:
    """The answer guarantee's measures for the questions asked and answers given in
    [since, until), for anyone who may read the community.

    An answer counts as a designated expert's when its author is an expert of the community
    now, or was one of the experts the question was routed to.
    """
    ctx = "answer_measures"
    since_ = ensure_utc(since, "$.since")
    until_ = ensure_utc(until, "$.until")
    if until_ <= since_:
        raise InvalidInputError.field("$.until", "must come after since", context=ctx)
    if not isinstance(viewer, str) or not viewer:
        raise InvalidInputError.field("$.viewer", f"must be an id string, got {viewer!r:.60}", context=ctx)
    community = engine.community(viewer, community_id)
    engine._readable(viewer, community)
    settings = guarantee_settings(community)
    calendar = settings.calendar
    now = engine.clock.now()
    store = engine.store

    questions = [
        q
        for q in store.find("question", Filter(community_id=community.id, since=since_, until=until_))
        if isinstance(q, Question) and not q.withdrawn
    ]
    waits: list[timedelta] = []
    working_waits: list[timedelta] = []
    within = settled = 0
    for question in questions:
        target_at = settings.target_at(question.created_at)
        if question.first_answered_at is not None:
            waits.append(question.first_answered_at - question.created_at)
            working_waits.append(calendar.working_time_between(question.created_at, question.first_answered_at))
            settled += 1
            within += question.first_answered_at <= target_at
        elif target_at <= now:
            settled += 1

    answers = [
        a
        for a in store.find("answer", Filter(community_id=community.id, since=since_, until=until_))
        if isinstance(a, Answer) and not a.withdrawn
    ]
    experts = {m.person_id for m in store.members(community.id, role=Role.EXPERT)}
    watches = store.get_many({Ref("answer_watch", a.question_id) for a in answers})
    routed: dict[str, frozenset[str]] = {}
    for ref, versioned in watches.items():
        watch = versioned.value
        if isinstance(watch, Watch) and watch.route in _EXPERT_ROUTES:
            routed[ref.id] = frozenset(watch.experts)
    answers_by_month: dict[date, list[bool]] = {}
    for answer in answers:
        by_expert = answer.author_id in experts or answer.author_id in routed.get(answer.question_id, frozenset())
        answers_by_month.setdefault(_month(answer.created_at), []).append(by_expert)

    asked_by_month = Counter(_month(q.created_at) for q in questions)
    escalations = store.count_events(
        community.id, since=since_, until=until_, period=Period.MONTH, types=[QuestionEscalated.TYPE]
    )
    months = tuple(
        MonthOfAnswers(
            month=month,
            answers=len(answers_by_month.get(month, [])),
            by_experts=sum(answers_by_month.get(month, [])),
            questions=asked_by_month.get(month, 0),
            escalations=escalations.get(month, 0),
        )
        for month in _months(since_, until_)
    )
    return AnswerMeasures(
        community_id=community.id,
        since=since_,
        until=until_,
        measured_at=now,
        target=str(settings.target),
        asked=len(questions),
        answered=len(waits),
        first_answer=Durations.of(waits),
        first_answer_working=Durations.of(working_waits),
        within_target=within,
        settled=settled,
        months=months,
    )


class GuaranteeMeasureReads(Queries):
    """The answer guarantee's measures, as an engine method."""

    def answer_measures(self, viewer: str, community_id: str, *, since: datetime, until: datetime) -> AnswerMeasures:
        """The answer guarantee's measures for [since, until) (see `answer_measures`)."""
        return answer_measures(self, viewer, community_id, since=since, until=until)
