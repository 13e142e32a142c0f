"""The health report as running sums: a `HealthTally` holds what a community's facts give the
report (counts, waits, help links, the people's firsts and lasts, per week and per month), and
`HealthTally.finish` turns it into the report (docs/health.md states every formula).

The report computed from the store's facts (`compute_health`) is a tally built from those facts
and finished at once. A tally can also take the contributions that follow, one at a time
(`ask`, `answer`, `accept`, `contribute`), so that a host's next report reads the few events
recorded since the last one instead of every question and every person again
(`coplib.service.health_cache`). What it takes stays exact: a question's first answer,
helpers and acceptance are replaced as a whole (its old share of every sum taken out, the new
one put in); a contribution older than its author's last one is refused (`contribute` returns
False), and then the caller builds the tally again from the facts.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain, repeat
from operator import itemgetter
from typing import Any, Final

import attrs

from coplib.domain.health import (
    AXES,
    DIMENSIONS,
    FAST,
    LEVELS,
    REPERTOIRE_KINDS,
    Activity,
    CommunityHealth,
    Concentration,
    ContributorFacts,
    Group,
    HealthSettings,
    Interaction,
    MemberFacts,
    Members,
    MonthOfExperts,
    PeriodFacts,
    PersonFacts,
    QuestionFacts,
    Responsiveness,
    Retention,
    RetentionGroup,
    SeriesPoint,
    absence_factor,
    health_index,
    median,
    pattern_regex,
    percentile,
    share,
)

__all__ = ["HealthTally", "compute_health"]

_MICRO: Final = timedelta(microseconds=1)
_FAST_S: Final = FAST.total_seconds()


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _hours(seconds: float | None) -> float | None:
    return seconds / 3600 if seconds is not None else None


def _group(people: int, retained: int) -> RetentionGroup:
    return RetentionGroup(people, retained, share(retained, people))


def _starts(first: date, last: date, start: Callable[[date], date], step: Callable[[date], date]) -> list[date]:
    out = []
    current = start(first)
    while current <= last:
        out.append(current)
        current = step(current)
    return out


@attrs.define
class _Asked:
    """What the questions of one week or month give its point of the series."""

    questions: int = 0
    answered: int = 0
    fast: int = 0
    waits: list[float] = attrs.Factory(list)  # sorted


_NO_PERIOD: Final = PeriodFacts(date.min, 0, 0, 0, 0)


class HealthTally:
    """The running sums of one community's report over [since, the end of its history).

    Built from the store's facts (`of`), or empty and fed; kept exact by `ask`, `answer`,
    `accept` and `contribute`. The settings that enter the sums are fixed at creation: the
    start of the period, the designated experts (their answers are counted apart), the
    charter's target (`within_target`), the retention window and the unattributed patterns; a
    change of any of them needs a new tally. Not thread-safe: one caller at a time.
    """

    def __init__(
        self,
        *,
        since: datetime | None,
        experts: Iterable[str],
        within_target: Callable[[datetime, datetime], bool],
        window: timedelta,
        unattributed: Sequence[str],
    ) -> None:
        self.since = since
        self._since_day = since.date() if since is not None else date.min
        self.experts = frozenset(experts)
        self.window = window
        self.unattributed = tuple(unattributed)
        self._within_target = within_target
        self._unknown = pattern_regex(unattributed)
        #: The latest creation of a contribution the tally holds (None: none yet).
        self.latest: datetime | None = None
        # The questions: every live one (those before `since` too: a first question may be
        # there), by id, and the earliest of each asker (by creation, then id).
        self._questions: dict[str, QuestionFacts] = {}
        self._first_question: dict[str, str] = {}
        # What the questions of the period add up to.
        self._asked_weeks: dict[date, _Asked] = {}
        self._asked_months: dict[date, _Asked] = {}
        self._waits: list[float] = []
        self._fast = self._within = self._accepted = 0
        self._backlog: dict[str, datetime] = {}  # unanswered questions of the period: their creation
        self._pairs: Counter[tuple[str, str]] = Counter()  # (helper, asker) of each helped question
        self._mutual = 0  # links whose reverse is a link too
        self._givers: Counter[str] = Counter()
        self._receivers: Counter[str] = Counter()
        # The contributions: per week and month of the period, and per person.
        self._weeks: dict[date, PeriodFacts] = {}
        self._months: dict[date, PeriodFacts] = {}
        self._people: dict[str, PersonFacts] = {}
        self._new_weeks: Counter[date] = Counter()
        self._new_months: Counter[date] = Counter()

    # -- building from the facts -----------------------------------------------------------------

    @classmethod
    def of(
        cls,
        questions: Sequence[QuestionFacts],
        contributors: ContributorFacts,
        *,
        since: datetime | None,
        experts: Iterable[str],
        within_target: Callable[[datetime, datetime], bool],
        window: timedelta,
        unattributed: Sequence[str] = (),
    ) -> HealthTally:
        """The tally of the store's facts: `questions` (`ReadQueries.question_facts`, by
        creation then id) and `contributors` over [since, ...) with `window` and the answers
        of `experts` (`ReadQueries.contributor_facts`)."""
        tally = cls(since=since, experts=experts, within_target=within_target, window=window, unattributed=unattributed)
        tally._take_questions(questions)
        tally._take_contributors(contributors)
        return tally

    def _take_questions(self, questions: Sequence[QuestionFacts]) -> None:
        # One tight pass per question: counts by day (folded into weeks and months after), the
        # waits, and the helped questions (their links are made after, in C loops).
        self._questions = dict(zip(map(itemgetter(0), questions), questions))
        # By creation then id: the first of each asker is the earliest, which a dict built from
        # the last to the first keeps.
        askers, ids = map(itemgetter(1), reversed(questions)), map(itemgetter(0), reversed(questions))
        self._first_question = dict(zip(askers, ids))
        since_day = self._since_day
        within_target = self._within_target
        of_day: dict[date, list[Any]] = {}  # questions, answered within 24 h, the waits
        waits = self._waits
        fast = within = accepted = 0
        backlog = self._backlog
        helped: list[tuple[str, ...]] = []
        helped_askers: list[str] = []
        for q in questions:
            qid, asker, asked, first, helpers, taken = q
            day = asked.date()
            if day < since_day:
                continue
            bucket = of_day.get(day)
            if bucket is None:
                bucket = of_day[day] = [0, 0, []]
            bucket[0] += 1
            accepted += taken
            if first is None:
                backlog[qid] = asked
                continue
            wait = (first - asked).total_seconds()
            waits.append(wait)
            bucket[2].append(wait)
            if wait <= _FAST_S:
                fast += 1
                bucket[1] += 1
            if within_target(asked, first):
                within += 1
            if helpers:
                if asker in helpers:  # an unattributed author on both sides: not help received
                    helpers = tuple(h for h in helpers if h != asker)
                    if not helpers:
                        continue
                helped.append(helpers)
                helped_askers.append(asker)
        self._fast, self._within, self._accepted = fast, within, accepted
        for day, (n, n_fast, day_waits) in of_day.items():
            for b in (
                self._asked_weeks.setdefault(_week_start(day), _Asked()),
                self._asked_months.setdefault(day.replace(day=1), _Asked()),
            ):
                b.questions += n
                b.answered += len(day_waits)
                b.fast += n_fast
                b.waits += day_waits
        # The waits stay sorted (new ones go in their place): a report reads medians, no sort.
        waits.sort()
        for b in chain(self._asked_weeks.values(), self._asked_months.values()):
            b.waits.sort()
        # Set algebra rather than loops: a help network has about as many links as answers.
        link_askers = list(chain.from_iterable(map(repeat, helped_askers, map(len, helped))))
        helpers_ = list(chain.from_iterable(helped))
        self._pairs = Counter(zip(helpers_, link_askers))
        self._mutual = len(self._pairs.keys() & set(zip(link_askers, helpers_)))
        self._givers = Counter(helpers_)
        self._receivers = Counter(helped_askers)

    def _take_contributors(self, contributors: ContributorFacts) -> None:
        self._weeks = {f.start: f for f in contributors.weekly}
        self._months = {f.start: f for f in contributors.monthly}
        people = contributors.people
        self._people = dict(zip(map(itemgetter(0), people), people))
        since_day = self._since_day
        for p in people:
            day = p.first_at.date()
            if day >= since_day:
                self._new_weeks[_week_start(day)] += 1
                self._new_months[day.replace(day=1)] += 1
        self.latest = max(map(itemgetter(6), people), default=None)

    # -- what follows ------------------------------------------------------------------------------

    def ask(self, question_id: str, asker: str, at: datetime) -> None:
        """A new live question (its contribution is `contribute`'s)."""
        q = QuestionFacts(question_id, asker, at, None, (), False)
        self._questions[question_id] = q
        first = self._first_question.get(asker)
        if first is None or (at, question_id) < (self._questions[first].asked_at, first):
            self._first_question[asker] = question_id
        self._count(q, 1)

    def answer(self, question_id: str, author: str, at: datetime) -> None:
        """A new live answer to `question_id` (its contribution is `contribute`'s): the
        question's first answer and helpers as the facts would give them now. An answer to a
        question the tally does not hold (withdrawn, hidden) helps no question."""
        q = self._questions.get(question_id)
        if q is None:
            return
        asker = q.asker_id
        if author == asker and (self._unknown is None or self._unknown.match(asker) is None):
            return  # a self-answer is not help received
        first = q.first_answer_at if q.first_answer_at is not None and q.first_answer_at <= at else at
        helpers = q.helpers if author in q.helpers else tuple(sorted((*q.helpers, author)))
        self._replace(q, q._replace(first_answer_at=first, helpers=helpers))

    def accept(self, question_id: str, accepted: bool) -> None:
        """The question's accepted answer changed: `accepted` when the new one is live."""
        q = self._questions.get(question_id)
        if q is not None and q.accepted != accepted:
            self._replace(q, q._replace(accepted=accepted))

    def contribute(self, kind: str, person: str, at: datetime) -> bool:
        """A new live contribution of `kind` (`coplib.domain.health.CONTRIBUTION_KINDS`) by
        `person`. False, and nothing changed, when it is older than the person's last one:
        the sums cannot tell then whether the person was active in its week already."""
        p = self._people.get(person)
        if p is not None and at < p.last_at:
            return False
        day = at.date()
        week, month = _week_start(day), day.replace(day=1)
        question = kind == "question"
        if p is None:
            p = PersonFacts(person, 0, 0, 0, 0, at, at, at if question else None, False if question else None)
            if day >= self._since_day:
                self._new_weeks[week] += 1
                self._new_months[month] += 1
            seen_week = seen_month = False
        else:
            # Active in the week (month) already: a contribution of the period in it, which
            # is the last one when there is any (every earlier one is older).
            floor = self.since or p.last_at
            seen_week = p.last_at >= max(floor, datetime.combine(week, time(0), tzinfo=UTC))
            seen_month = p.last_at >= max(floor, datetime.combine(month, time(0), tzinfo=UTC))
            first_question = p.first_question_at if p.first_question_at is not None or not question else at
            again = p.contributed_again
            if first_question != p.first_at:
                again = None  # not a first-time asker
            elif again is None or at <= p.first_at + self.window:
                # Another contribution within the window (a first question at the very moment
                # of the first contribution makes its author a first-time asker, with two).
                again = True
            p = p._replace(last_at=at, first_question_at=first_question, contributed_again=again)
        if day >= self._since_day:
            answer = kind == "answer"
            p = p._replace(
                contributions=p.contributions + 1,
                questions=p.questions + question,
                answers=p.answers + answer,
                repertoire=p.repertoire + (kind in REPERTOIRE_KINDS),
            )
            by_expert = answer and person in self.experts
            for table, start, seen in ((self._weeks, week, seen_week), (self._months, month, seen_month)):
                f = table.get(start) or PeriodFacts(start, 0, 0, 0, 0)
                table[start] = PeriodFacts(
                    start,
                    f.contributions + 1,
                    f.answers + answer,
                    f.active_contributors + (not seen),
                    f.answers_by_experts + by_expert,
                )
        self._people[person] = p
        if self.latest is None or at > self.latest:
            self.latest = at
        return True

    def _replace(self, old: QuestionFacts, new: QuestionFacts) -> None:
        self._count(old, -1)
        self._count(new, 1)
        self._questions[new.question_id] = new

    def _count(self, q: QuestionFacts, sign: int) -> None:
        """Add (`sign` 1) or take out (-1) one question's share of the period's sums."""
        qid, asker, asked, first, helpers, taken = q
        day = asked.date()
        if day < self._since_day:
            return
        buckets = (
            self._asked_weeks.setdefault(_week_start(day), _Asked()),
            self._asked_months.setdefault(day.replace(day=1), _Asked()),
        )
        for b in buckets:
            b.questions += sign
        self._accepted += sign * taken
        if first is None:
            if sign > 0:
                self._backlog[qid] = asked
            else:
                del self._backlog[qid]
            return
        wait = (first - asked).total_seconds()
        quick = wait <= _FAST_S
        for waits in (self._waits, buckets[0].waits, buckets[1].waits):
            if sign > 0:
                insort(waits, wait)
            else:
                del waits[bisect_left(waits, wait)]
        for b in buckets:
            b.answered += sign
            b.fast += sign * quick
        self._fast += sign * quick
        self._within += sign * self._within_target(asked, first)
        helping = [h for h in helpers if h != asker]
        if not helping:
            return
        self._receivers[asker] += sign
        if not self._receivers[asker]:
            del self._receivers[asker]
        for h in helping:
            self._givers[h] += sign
            if not self._givers[h]:
                del self._givers[h]
            link = (h, asker)
            held = self._pairs[link]
            self._pairs[link] = held + sign
            if (held == 0) != (held + sign == 0) and (asker, h) in self._pairs:  # the link comes or goes
                self._mutual += 2 * sign
            if not self._pairs[link]:
                del self._pairs[link]

    # -- the report ----------------------------------------------------------------------------------

    def monthly_facts(self) -> list[PeriodFacts]:
        """The months of the period that have contributions, by start (as
        `ContributorFacts.monthly` gives them)."""
        return [self._months[k] for k in sorted(self._months)]

    def finish(
        self,
        *,
        community_id: str,
        name: str,
        until: datetime,
        members: Sequence[MemberFacts],
        settings: HealthSettings,
        target: str,
    ) -> CommunityHealth:
        """The report over [since, until) of the community's active `members`; `until` after
        every contribution the tally holds. `settings` give the inactivity window, the levels
        and the index's weights (the retention window is the tally's)."""
        since = self.since
        since_day = self._since_day

        # -- responsiveness --------------------------------------------------------------------------
        asked_in_period = sum(b.questions for b in self._asked_months.values())
        waits = self._waits
        backlog = sorted((until - asked).total_seconds() for asked in self._backlog.values())
        answered = len(waits)
        fast, within, accepted = self._fast, self._within, self._accepted
        responsiveness = Responsiveness(
            questions=asked_in_period,
            answered=answered,
            share_answered=share(answered, asked_in_period),
            median_hours_to_first_answer=_hours(median(waits)),
            p90_hours_to_first_answer=_hours(percentile(waits, 0.9)),
            answered_within_24h=fast,
            share_within_24h=share(fast, asked_in_period),
            target=target,
            answered_within_target=within,
            share_within_target=share(within, asked_in_period),
            accepted=accepted,
            share_accepted=share(accepted, asked_in_period),
            unanswered=len(backlog),
            unanswered_median_age_days=(age / 86400) if (age := median(backlog)) is not None else None,
            unanswered_oldest_age_days=backlog[-1] / 86400 if backlog else None,
        )

        # -- activity, retention, members: the contributors ------------------------------------------
        people = list(self._people.values())
        member_ids = {m.person_id for m in members if m.joined_at is None or m.joined_at < until}
        experts = {m.person_id for m in members if m.expert}
        active = {p.person_id: p.contributions for p in people if p.contributions}
        activity = Activity(  # sums over the fields of the people (PersonFacts' order), in C
            questions=sum(map(itemgetter(2), people)),
            answers=sum(map(itemgetter(3), people)),
            repertoire=sum(map(itemgetter(4), people)),
            contributions=sum(map(itemgetter(1), people)),
            active_contributors=len(active),
            new_contributors=sum(self._new_months.values()),
        )

        window = self.window
        groups = {"fast": [0, 0], "later": [0, 0], "never": [0, 0]}
        askers = pending = 0
        questions, first_question = self._questions, self._first_question
        for p in people:
            if p.contributed_again is None or p.first_at.date() < since_day:
                continue
            qid = first_question.get(p.person_id)
            firstq = questions[qid] if qid is not None else None
            if firstq is None or firstq.asked_at != p.first_at:
                continue
            askers += 1
            if p.first_at + window > until:
                pending += 1
                continue
            first = firstq.first_answer_at
            wait = (first - firstq.asked_at).total_seconds() if first is not None else None
            key = "never" if wait is None else "fast" if wait <= _FAST_S else "later"
            groups[key][0] += 1
            groups[key][1] += p.contributed_again
        settled = sum(g[0] for g in groups.values())
        retention = Retention(
            window_days=window.days,
            fast_hours=int(_FAST_S // 3600),
            first_time_askers=askers,
            pending=pending,
            all=_group(settled, sum(g[1] for g in groups.values())),
            answered_fast=_group(*groups["fast"]),
            answered_later=_group(*groups["later"]),
            never_answered=_group(*groups["never"]),
        )

        givers, receivers = self._givers.keys(), self._receivers.keys()
        both = givers & receivers
        mutual = self._mutual // 2
        interaction = Interaction(
            help_pairs=len(self._pairs) - mutual,
            mutual_pairs=mutual,
            givers=len(givers),
            receivers=len(receivers),
            gave_and_received=len(both),
            reciprocity=share(len(both & member_ids), len(member_ids)),
            reciprocity_of_participants=share(len(both), len(givers | receivers)),
        )

        monthly_facts = self.monthly_facts()
        by_experts = sum(f.answers_by_experts for f in monthly_facts)
        all_answers = activity.answers
        concentration = Concentration(
            absence_factor=absence_factor(active.values()),
            contributors=len(active),
            designated_experts=len(experts),
            answers_by_experts=by_experts,
            answers_by_others=all_answers - by_experts,
            share_by_others=share(all_answers - by_experts, all_answers) if experts else None,
            by_month=tuple(
                MonthOfExperts(
                    f.start.strftime("%Y-%m"),
                    f.answers_by_experts,
                    f.answers - f.answers_by_experts,
                    share(f.answers - f.answers_by_experts, f.answers),
                )
                for f in monthly_facts
                if f.answers
            ),
        )

        recent = until - settings.inactive_after
        last_at = {p.person_id: p.last_at for p in people}
        level_of = settings.levels
        levels = dict.fromkeys((*LEVELS, "peripheral"), 0)
        # The members by their contributions in the period (counted in C), then each count's level.
        for n, held in Counter(map(active.get, member_ids, repeat(0))).items():
            level = next((lv for lv in LEVELS if n >= level_of[lv]), "peripheral")
            levels[level] += held
        lasts = list(map(last_at.get, member_ids))  # the members' last contributions (None: never), in C
        members_ = Members(
            members=len(member_ids),
            inactive_days=settings.inactive_after.days,
            inactive=sum(map(recent.__gt__, filter(None, lasts))),
            never_contributed=lasts.count(None),
            levels=levels,
        )

        # -- series ---------------------------------------------------------------------------------
        starts = [*self._asked_weeks, *self._asked_months, *self._weeks, *self._months]
        first_day = since.date() if since is not None else (min(starts) if starts else None)
        last = (until - _MICRO).date()

        def series(
            asked: Mapping[date, _Asked],
            facts: Mapping[date, PeriodFacts],
            new: Mapping[date, int],
            start: Callable[[date], date],
            step: Callable[[date], date],
        ) -> tuple[SeriesPoint, ...]:
            if first_day is None or first_day > last:
                return ()
            points = []
            for begin in _starts(first_day, last, start, step):
                a = asked.get(begin)
                f = facts.get(begin, _NO_PERIOD)
                ordered = a.waits if a is not None else []
                points.append(
                    SeriesPoint(
                        start=begin,
                        questions=a.questions if a is not None else 0,
                        answered=a.answered if a is not None else 0,
                        answered_within_24h=a.fast if a is not None else 0,
                        median_hours_to_first_answer=_hours(median(ordered)),
                        answers=f.answers,
                        contributions=f.contributions,
                        active_contributors=f.active_contributors,
                        new_contributors=new.get(begin, 0),
                    )
                )
            return tuple(points)

        weekly_series = series(
            self._asked_weeks, self._weeks, self._new_weeks, _week_start, lambda d: d + timedelta(days=7)
        )
        monthly_series = series(self._asked_months, self._months, self._new_months, _month_start, _next_month)

        # -- the index and its groups -------------------------------------------------------------------
        active_members = len(member_ids & active.keys())
        half = math.ceil(len(active) / 2)
        components: dict[str, float | None] = {
            "answered": responsiveness.share_answered,
            "fast": responsiveness.share_within_24h,
            "solved": responsiveness.share_accepted,
            "retention": retention.all.share_retained,
            "participation": share(active_members, len(member_ids)),
            "reciprocity": interaction.reciprocity_of_participants,
            "spread": share(concentration.absence_factor, half),
            "takeover": concentration.share_by_others,
        }
        weights = dict(settings.weights)

        def groups_of(table: Iterable[tuple[str, tuple[str, ...], tuple[str, ...]]]) -> tuple[Group, ...]:
            return tuple(
                Group(name, indicators, parts, health_index({k: components[k] for k in parts}, weights))
                for name, indicators, parts in table
            )

        return CommunityHealth(
            community_id=community_id,
            name=name,
            since=since,
            until=until,
            responsiveness=responsiveness,
            activity=activity,
            retention=retention,
            interaction=interaction,
            concentration=concentration,
            members=members_,
            weekly=weekly_series,
            monthly=monthly_series,
            components=components,
            weights=weights,
            index=health_index(components, weights),
            dimensions=groups_of(DIMENSIONS),
            axes=groups_of(AXES),
        )


def compute_health(
    *,
    community_id: str,
    name: str,
    since: datetime | None,
    until: datetime,
    questions: Sequence[QuestionFacts],
    contributors: ContributorFacts,
    members: Sequence[MemberFacts],
    settings: HealthSettings,
    target: str,
    within_target: Callable[[datetime, datetime], bool],
) -> CommunityHealth:
    """The report from the store's facts: `questions` asked before `until`; `contributors`
    over [since, until) (people: their whole history before `until`), with the retention
    window of `settings`; the community's active `members`. `since` is None or the start of a
    UTC day; docs/health.md gives every formula. The tally of the facts, finished."""
    tally = HealthTally.of(
        questions,
        contributors,
        since=since,
        experts=[m.person_id for m in members if m.expert],
        within_target=within_target,
        window=settings.retention_window,
        unattributed=settings.unattributed,
    )
    return tally.finish(
        community_id=community_id, name=name, until=until, members=members, settings=settings, target=target
    )
