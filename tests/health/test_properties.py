"""Each indicator of the health report against a naive reference implementation, on random
histories driven through the engine (asking, answering oneself or others, commenting, sharing,
accepting, withdrawing, a moderator hiding and showing again, at random times), over random
periods; the memory and SQLite stores give the same report; and the pure measures (median,
percentile, absence factor, index, the target's check) against their definitions."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import coplib
from coplib import Charter, CoplibError, ManualClock, Role
from coplib.domain.contributions import Answer, Question
from coplib.domain.guarantee import GuaranteeSettings
from coplib.domain.health import (
    CONTRIBUTION_KINDS,
    CommunityHealth,
    TargetCheck,
    absence_factor,
    health_index,
    median,
    percentile,
)
from coplib.ports.storage import Filter
from tests.unit.support import PEOPLE, START

PEOPLE_IDS = ("ana", "ben", "chloe", "dev", "eve")
KINDS = ("ask", "ask", "answer", "answer", "answer", "comment", "share", "accept", "withdraw", "hide", "unhide")
ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.integers(0, len(PEOPLE_IDS) - 1),
        st.integers(0, 1000),
        st.sampled_from([0.0, 0.1, 0.5, 3.0, 20.0, 25.0, 70.0, 24 * 40, 24 * 95]),
    ),
    max_size=45,
)
DAY = timedelta(days=1)


def play(engine: coplib.Engine, clock: ManualClock, actions: list[tuple[str, int, int, float]]) -> str:
    """Run the random history; returns the community's id."""
    engine.create_organisation("eve", "Acme", organisation_id="acme")
    engine.create_community("ana", "acme", name="Welders", charter=Charter(vocation="Weld"), community_id="weld")
    for person in PEOPLE_IDS[1:]:
        engine.join(person, "weld")
    engine.assign_role("ana", "weld", "ben", Role.EXPERT, tags=["tig"])
    go_on(engine, clock, actions)
    return "weld"


def go_on(engine: coplib.Engine, clock: ManualClock, actions: list[tuple[str, int, int, float]]) -> bool:
    """Run more of the random history on the community `play` made; whether an action changed
    past facts (a withdrawal, a hiding or a showing again went through)."""
    questions = [q.id for q in sorted(engine.store.find("question"), key=lambda q: (q.created_at, q.id))]
    answers = [a.id for a in sorted(engine.store.find("answer"), key=lambda a: (a.created_at, a.id))]
    changed_past = False
    for kind, who, pick, hours in actions:
        clock.advance(timedelta(hours=hours))
        actor = PEOPLE_IDS[who]
        try:
            if kind == "ask":
                questions.append(engine.ask(actor, "weld", title="Why?", body="Because").id)
            elif kind == "answer" and questions:
                answers.append(engine.answer(actor, questions[pick % len(questions)], body="So").id)
            elif kind == "comment" and questions:
                engine.comment(actor, "question", questions[pick % len(questions)], body="Hm")
            elif kind == "share":
                engine.share_resource(actor, "weld", title="Guide", location="https://example.org")
            elif kind == "accept" and answers:
                answer = answers[pick % len(answers)]
                found = engine.store.find("answer", Filter(community_id="weld"))
                question = next(a.question_id for a in found if a.id == answer)
                asker = next(q.author_id for q in engine.store.find("question") if q.id == question)
                engine.accept(asker, answer)
            elif kind == "withdraw" and (questions or answers):
                pool = [("question", q) for q in questions] + [("answer", a) for a in answers]
                what, cid = pool[pick % len(pool)]
                author = next(c.author_id for c in engine.store.find(what) if c.id == cid)
                engine.withdraw(author, what, cid)
                changed_past = True
            elif kind in ("hide", "unhide") and (questions or answers):
                pool = [("question", q) for q in questions] + [("answer", a) for a in answers]
                what, cid = pool[pick % len(pool)]
                if kind == "hide":
                    engine.hide("ana", what, cid, reason="Off topic")  # ana, who created it, facilitates
                else:
                    engine.unhide("ana", what, cid)
                changed_past = True
        except CoplibError:
            pass  # refused (already withdrawn, not allowed...): the history goes on
    return changed_past


# -- the naive reference ------------------------------------------------------------------------------


def naive(
    engine: coplib.Engine, since: datetime | None, until: datetime, *, retention: timedelta = timedelta(days=90)
) -> dict[str, Any]:
    """Every indicator the plain way, from the stored aggregates (`retention`: the charter's
    retention window)."""
    start = since or datetime.min.replace(tzinfo=UTC)
    live = {
        kind: [
            c
            for c in engine.store.find(kind, Filter(community_id="weld"))
            if not c.withdrawn and getattr(c, "hidden_reason", None) is None and c.created_at < until
        ]
        for kind in CONTRIBUTION_KINDS
    }
    everything = [(kind, c) for kind, items in live.items() for c in items]
    questions = [q for q in live["question"] if isinstance(q, Question)]
    answers = [a for a in live["answer"] if isinstance(a, Answer)]
    shown_answers = {a.id for a in engine.store.find("answer", Filter(community_id="weld")) if a.hidden_reason is None}
    guarantee = GuaranteeSettings.parse({})

    def first_answer(q: Question) -> datetime | None:
        return min(
            (a.created_at for a in answers if a.question_id == q.id and a.author_id != q.author_id), default=None
        )

    period = [q for q in questions if q.created_at >= start]
    waits = [(first_answer(q) - q.created_at).total_seconds() for q in period if first_answer(q) is not None]
    backlog = [(until - q.created_at).total_seconds() for q in period if first_answer(q) is None]
    in_period = [(k, c) for k, c in everything if c.created_at >= start]
    count = Counter(c.author_id for _, c in in_period)
    first_of: dict[str, datetime] = {}
    for _, c in everything:
        first_of[c.author_id] = min(first_of.get(c.author_id, c.created_at), c.created_at)

    groups: dict[str, list[int]] = {"fast": [0, 0], "later": [0, 0], "never": [0, 0]}
    askers = pending = 0
    for person in sorted(first_of):
        theirs = sorted((c.created_at, c.id) for c in questions if c.author_id == person)
        if not theirs or theirs[0][0] != first_of[person] or first_of[person] < start:
            continue
        askers += 1
        asked, qid = theirs[0]
        if asked + retention > until:
            pending += 1
            continue
        q = next(q for q in questions if q.id == qid)
        got = first_answer(q)
        group = "never" if got is None else "fast" if got - asked <= DAY else "later"
        groups[group][0] += 1
        again = [c for _, c in everything if c.author_id == person and c.created_at <= asked + retention]
        groups[group][1] += len(again) >= 2

    links = {
        (a.author_id, q.author_id)
        for q in period
        for a in answers
        if a.question_id == q.id and a.author_id != q.author_id
    }
    givers, receivers = {g for g, _ in links}, {r for _, r in links}
    members = {m.person_id for m in engine.store.members("weld")}
    experts = {m.person_id for m in engine.store.members("weld", role=Role.EXPERT)}
    by_experts = sum(1 for a in answers if a.created_at >= start and a.author_id in experts)
    all_answers = sum(1 for a in answers if a.created_at >= start)

    fewest = 0
    total = sum(count.values())
    while total and 2 * sum(sorted(count.values(), reverse=True)[:fewest]) < total:
        fewest += 1

    last_of: dict[str, datetime] = {}
    for _, c in everything:
        last_of[c.author_id] = max(last_of.get(c.author_id, c.created_at), c.created_at)
    months = Counter(c.created_at.strftime("%Y-%m") for _, c in in_period)
    month_people = {m: len({c.author_id for _, c in in_period if c.created_at.strftime("%Y-%m") == m}) for m in months}
    weeks = Counter((c.created_at.date() - timedelta(days=c.created_at.weekday())).isoformat() for _, c in in_period)
    return {
        "questions": len(period),
        "answered": len(waits),
        "median": statistics.median(waits) / 3600 if waits else None,
        "p90": sorted(waits)[math.ceil(0.9 * len(waits)) - 1] / 3600 if waits else None,
        "fast": sum(1 for w in waits if w <= 86400),
        "within_target": sum(
            1 for q in period if (f := first_answer(q)) is not None and f <= guarantee.target_at(q.created_at)
        ),
        # Accepted: its accepted answer is there now, neither withdrawn nor hidden.
        "accepted": sum(1 for q in period if q.accepted_answer_id in shown_answers),
        "unanswered": len(backlog),
        "oldest": max(backlog) / 86400 if backlog else None,
        "contributions": len(in_period),
        "answers": all_answers,
        "repertoire": sum(1 for k, _ in in_period if k in ("resource", "experience")),
        "active": len(count),
        "new": sum(1 for t in first_of.values() if t >= start),
        "askers": askers,
        "pending": pending,
        "groups": {k: tuple(v) for k, v in groups.items()},
        "pairs": len({frozenset(link) for link in links}),
        "mutual": len({frozenset(link) for link in links if (link[1], link[0]) in links}),
        "gave_and_received": len(givers & receivers),
        "absence": fewest,
        "by_experts": by_experts,
        "inactive": sum(1 for p in members if p in last_of and last_of[p] < until - timedelta(days=90)),
        "never": sum(1 for p in members if p not in last_of),
        "monthly": {m: (n, month_people[m]) for m, n in months.items()},
        "weekly": dict(weeks),
    }


def _approx(value: float | None) -> Any:
    return None if value is None else pytest.approx(value)


def check(report: CommunityHealth, wanted: dict[str, Any]) -> None:
    r, a, ret, i, c, m = (
        report.responsiveness,
        report.activity,
        report.retention,
        report.interaction,
        report.concentration,
        report.members,
    )
    assert (r.questions, r.answered, r.answered_within_24h) == (wanted["questions"], wanted["answered"], wanted["fast"])
    assert r.median_hours_to_first_answer == _approx(wanted["median"])
    assert r.p90_hours_to_first_answer == _approx(wanted["p90"])
    assert r.answered_within_target == wanted["within_target"]
    assert (r.accepted, r.unanswered) == (wanted["accepted"], wanted["unanswered"])
    assert r.unanswered_oldest_age_days == _approx(wanted["oldest"])
    assert (a.contributions, a.answers, a.repertoire) == (
        wanted["contributions"],
        wanted["answers"],
        wanted["repertoire"],
    )
    assert (a.active_contributors, a.new_contributors) == (wanted["active"], wanted["new"])
    assert (ret.first_time_askers, ret.pending) == (wanted["askers"], wanted["pending"])
    for name, group in (("fast", ret.answered_fast), ("later", ret.answered_later), ("never", ret.never_answered)):
        assert (group.askers, group.retained) == wanted["groups"][name], name
    assert (i.help_pairs, i.mutual_pairs, i.gave_and_received) == (
        wanted["pairs"],
        wanted["mutual"],
        wanted["gave_and_received"],
    )
    assert c.absence_factor == wanted["absence"]
    assert c.answers_by_experts == wanted["by_experts"]
    assert (m.inactive, m.never_contributed) == (wanted["inactive"], wanted["never"])
    assert {
        p.start.strftime("%Y-%m"): (p.contributions, p.active_contributors) for p in report.monthly if p.contributions
    } == wanted["monthly"]
    assert {p.start.isoformat(): p.contributions for p in report.weekly if p.contributions} == wanted["weekly"]
    assert sum(p.questions for p in report.monthly) == r.questions
    if report.index is not None:
        assert 0 <= report.index <= 100


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=ACTIONS, since_days=st.one_of(st.none(), st.integers(0, 60)), until_days=st.integers(0, 400))
def test_every_indicator_is_that_of_the_naive_reference(
    actions: list[tuple[str, int, int, float]], since_days: int | None, until_days: int
) -> None:
    clock = ManualClock(START)
    with coplib.open("memory://", people=PEOPLE, plugins=[coplib.RecordingNotifier()], clock=clock) as engine:
        community = play(engine, clock, actions)
        since = None if since_days is None else datetime.combine((START + since_days * DAY).date(), time(0), UTC)
        until = START + until_days * DAY + timedelta(hours=5)
        if since is not None and until <= since:
            until = since + DAY
        report = engine.community_health(coplib.SYSTEM, community, since=since, until=until)
        check(report, naive(engine, since, until))


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(actions=ACTIONS, since_days=st.one_of(st.none(), st.integers(0, 60)))
def test_memory_and_sqlite_give_the_same_report_on_the_same_history(
    actions: list[tuple[str, int, int, float]], since_days: int | None, tmp_path: Path
) -> None:
    reports = []
    for url in ("memory://", f"sqlite:///{tmp_path / f'{len(list(tmp_path.iterdir()))}.db'}"):
        clock = ManualClock(START)
        ids = iter(f"id-{k:05d}" for k in range(100_000))
        with coplib.open(
            url, people=PEOPLE, plugins=[coplib.RecordingNotifier()], clock=clock, id_factory=lambda ids=ids: next(ids)
        ) as engine:
            community = play(engine, clock, actions)
            since = None if since_days is None else datetime.combine((START + since_days * DAY).date(), time(0), UTC)
            reports.append(engine.community_health(coplib.SYSTEM, community, since=since, until=START + 300 * DAY))
    assert attrs.asdict(reports[0]) == attrs.asdict(reports[1])


# -- the pure measures --------------------------------------------------------------------------------

VALUES = st.lists(st.floats(0, 1e6, allow_nan=False), max_size=40)


@given(VALUES)
def test_the_median_is_the_statistics_modules(values: list[float]) -> None:
    assert median(sorted(values)) == (_approx(statistics.median(values)) if values else None)


@given(VALUES, st.floats(0.01, 1.0))
def test_the_percentile_is_the_smallest_value_with_that_share_at_or_below_it(values: list[float], share: float) -> None:
    found = percentile(sorted(values), share)
    if not values:
        assert found is None
        return
    at_or_below = sum(1 for v in values if v <= found)
    assert at_or_below >= share * len(values) - 1e-9
    assert all(sum(1 for v in values if v <= smaller) < share * len(values) for smaller in values if smaller < found)


@given(st.lists(st.integers(0, 50), max_size=30))
def test_the_absence_factor_is_the_fewest_people_making_half(counts: list[int]) -> None:
    total = sum(counts)
    found = absence_factor(counts)
    if not total:
        assert found == 0
        return
    top = sorted(counts, reverse=True)
    assert 2 * sum(top[:found]) >= total
    assert found == 0 or 2 * sum(top[: found - 1]) < total


@given(
    st.dictionaries(st.sampled_from("abcdefgh"), st.one_of(st.none(), st.floats(0, 1))),
    st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 100)),
)
def test_the_index_is_the_weighted_mean_of_the_components_that_have_a_value(
    scores: dict[str, float | None], weights: dict[str, int]
) -> None:
    kept = {k: s for k, s in scores.items() if s is not None and weights.get(k, 0) > 0}
    found = health_index(scores, weights)
    if not kept:
        assert found is None
    else:
        mean = sum(weights[k] * s for k, s in kept.items()) / sum(weights[k] for k in kept)
        assert found == pytest.approx(100 * mean)
        assert 0 <= found <= 100 + 1e-9


CALENDARS = st.sampled_from(
    [
        {},
        {"target": "2h"},
        {"target": "30wm"},
        {"target": "1d", "timezone": "America/New_York"},
        {"target": "1wd", "timezone": "Europe/Paris", "working_hours": "09:00-12:30, 13:30-18:00", "holidays": "12-25"},
        {"target": "3wh", "working_days": "sat, sun", "timezone": "Asia/Tokyo"},
    ]
)


@given(
    CALENDARS,
    st.lists(
        st.tuples(
            st.datetimes(datetime(2014, 1, 1), datetime(2027, 1, 1), timezones=st.just(UTC)),
            st.one_of(
                st.floats(0, 24 * 30).map(lambda h: timedelta(hours=h)),
                st.sampled_from([timedelta(0), timedelta(microseconds=1)]),
            ),
            st.sampled_from([-1, 0, 1, None]),
        ),
        min_size=1,
        max_size=20,
    ),
)
def test_the_target_check_is_the_deadline_of_the_calendar(
    calendar: dict[str, str], cases: list[tuple[datetime, timedelta, int | None]]
) -> None:
    guarantee = GuaranteeSettings.parse(calendar)
    check_target = TargetCheck(guarantee)
    for asked, wait, near_deadline in cases:
        answered = asked + wait
        if near_deadline is not None:  # at the deadline, a microsecond either side
            answered = max(asked, guarantee.target_at(asked) + timedelta(microseconds=near_deadline))
        assert check_target(asked, answered) == (answered <= guarantee.target_at(asked))
