"""The health report kept up to date from the log (coplib.service.health_cache): read again and
again while a random history goes on, it is at every step the naive reference's report of the
history so far; the reports after new questions, answers, comments and acceptances read only
the events since the last one, and those after what changes past facts (a withdrawal, a
hiding, a change of experts or of charter) build the tally again; a commit between the reads
of a build keeps nothing; another engine's commits on the same file are followed."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import coplib
from coplib import Charter, CoplibError, ManualClock, Role
from coplib.adapters.storage import _sql
from coplib.adapters.storage.sqlite import SQLITE, SQLITE_HEALTH
from coplib.domain.health import ContributorFacts, HealthSettings, PeriodFacts, PersonFacts
from coplib.domain.health_tally import HealthTally
from tests.health.test_properties import PEOPLE_IDS, check, go_on, naive, play
from tests.unit.support import PEOPLE, START

HOUR = timedelta(hours=1)
STEP = st.lists(
    st.tuples(
        st.sampled_from(("ask", "ask", "answer", "answer", "answer", "comment", "share", "accept", "withdraw", "hide")),
        st.integers(0, len(PEOPLE_IDS) - 1),
        st.integers(0, 1000),
        st.sampled_from([0.0, 0.5, 3.0, 25.0, 24 * 40]),
    ),
    max_size=8,
)
#: Between steps, now and then: a change of experts or of the charter's settings.
CHANGE = st.sampled_from(("none", "none", "none", "expert", "unexpert", "charter", "unaccept"))


class Counting:
    """Counts the store's reads of the report's facts."""

    def __init__(self, engine: coplib.Engine) -> None:
        self.builds = 0
        store = engine.store
        original = store.question_facts

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.builds += 1
            return original(*args, **kwargs)

        store.question_facts = counted  # type: ignore[method-assign]


def _change(engine: coplib.Engine, change: str, pick: int) -> bool:
    """Make the change; whether it may need the tally built again (the experts or the charter)."""
    person = PEOPLE_IDS[1 + pick % (len(PEOPLE_IDS) - 1)]
    try:
        if change == "expert":
            engine.assign_role("ana", "weld", person, Role.EXPERT, tags=["tig"])
        elif change == "unexpert":
            engine.withdraw_role("ana", "weld", person, Role.EXPERT)
        elif change == "charter":
            days = str(30 + pick % 90)
            settings_ = {"community_health": {"retention_days": days}}
            engine.amend_charter("ana", "weld", Charter(vocation="Weld", policy_settings=settings_), reason="Retention")
        elif change == "unaccept":
            accepted = [q for q in engine.store.find("question") if q.accepted_answer_id is not None]
            if accepted:
                question = accepted[pick % len(accepted)]
                engine.unaccept(question.author_id, question.id)
    except CoplibError:
        pass
    return change in ("expert", "unexpert", "charter")


def _retention_days(engine: coplib.Engine) -> int:
    community = engine.community(coplib.SYSTEM, "weld")
    return int(community.charter.policy_settings.get("community_health", {}).get("retention_days", "90"))


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def open_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[ManualClock], coplib.Engine]]:
    """Opens an engine on a new store of the kind: memory, a new SQLite file, a new schema of
    the test session's PostgreSQL server."""
    opened: list[coplib.Engine] = []
    schemas: list[str] = []

    def url() -> str:
        if request.param == "memory":
            return "memory://"
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / f'{len(opened)}.db'}"
        from coplib.testing.pgserver import with_search_path

        schemas.append(f"coplib_tally_{uuid.uuid4().hex[:16]}")
        request.getfixturevalue("_postgres_admin").execute(f'CREATE SCHEMA "{schemas[-1]}"')
        return with_search_path(request.getfixturevalue("postgres_url"), schemas[-1])

    def make(clock: ManualClock) -> coplib.Engine:
        engine = coplib.open(url(), people=PEOPLE, plugins=[coplib.RecordingNotifier()], clock=clock)
        opened.append(engine)
        return engine

    yield make
    for engine in opened:
        engine.close()
    for schema in schemas:
        request.getfixturevalue("_postgres_admin").execute(f'DROP SCHEMA "{schema}" CASCADE')


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(st.tuples(STEP, CHANGE, st.integers(0, 100)), min_size=1, max_size=5))
def test_the_report_read_while_the_history_goes_on_is_the_naive_references_at_every_step(
    steps: list[tuple[list[tuple[str, int, int, float]], str, int]],
    open_engine: Callable[[ManualClock], coplib.Engine],
) -> None:
    clock = ManualClock(START)
    engine = open_engine(clock)
    play(engine, clock, [])
    reads = Counting(engine)
    for step, (actions, change, pick) in enumerate(steps):
        changed_past = go_on(engine, clock, actions)
        changed_past |= _change(engine, change, pick)
        clock.advance(HOUR)  # the report's `until` (now) after the last contribution
        builds = reads.builds
        report = engine.community_health(coplib.SYSTEM, "weld")
        wanted = naive(engine, None, clock.now(), retention=timedelta(days=_retention_days(engine)))
        check(report, wanted)
        if step and not changed_past:  # only new contributions since the last report: no build
            assert reads.builds == builds


def _start(engine: coplib.Engine, clock: ManualClock) -> list[str]:
    play(engine, clock, [])
    asked = [engine.ask(p, "weld", title="Why?", body="Because").id for p in ("ana", "ben", "chloe")]
    clock.advance(HOUR)
    return asked


def test_reports_after_new_questions_answers_and_acceptances_read_only_the_new_events(
    open_engine: Callable[[ManualClock], coplib.Engine],
) -> None:
    clock = ManualClock(START)
    engine = open_engine(clock)
    asked = _start(engine, clock)
    reads = Counting(engine)
    engine.community_health(coplib.SYSTEM, "weld")
    assert reads.builds == 1
    answer = engine.answer("dev", asked[0], body="So")
    engine.answer("ana", asked[0], body="Myself")  # a self-answer: not help received
    engine.comment("eve", "question", asked[1], body="Hm")
    engine.accept("ana", answer.id)
    engine.share_resource("ben", "weld", title="Guide", location="https://example.org")
    engine.ask("dev", "weld", title="And then?", body="Then")
    clock.advance(HOUR)
    report = engine.community_health(coplib.SYSTEM, "weld")
    assert reads.builds == 1
    check(report, naive(engine, None, clock.now()))
    assert (report.responsiveness.questions, report.responsiveness.answered, report.responsiveness.accepted) == (
        4,
        1,
        1,
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda e, a: e.withdraw("dev", "answer", a),
        lambda e, a: e.hide("ana", "answer", a, reason="Off topic"),
        lambda e, a: e.assign_role("ana", "weld", "dev", Role.EXPERT, tags=["tig"]),
        lambda e, a: e.amend_charter(
            "ana",
            "weld",
            Charter(vocation="Weld", policy_settings={"community_health": {"retention_days": "30"}}),
            reason="Shorter",
        ),
    ],
    ids=["a withdrawal", "a hiding", "a new expert", "a charter amendment"],
)
def test_what_changes_past_facts_builds_the_tally_again(
    change: Callable[[coplib.Engine, str], object], open_engine: Callable[[ManualClock], coplib.Engine]
) -> None:
    clock = ManualClock(START)
    engine = open_engine(clock)
    asked = _start(engine, clock)
    answer = engine.answer("dev", asked[0], body="So").id
    clock.advance(HOUR)
    reads = Counting(engine)
    engine.community_health(coplib.SYSTEM, "weld")
    change(engine, answer)
    clock.advance(HOUR)
    report = engine.community_health(coplib.SYSTEM, "weld")
    assert reads.builds == 2
    check(report, naive(engine, None, clock.now(), retention=timedelta(days=_retention_days(engine))))


def _unaccepted_report(engine: coplib.Engine, clock: ManualClock) -> Any:
    asked = _start(engine, clock)
    kept = engine.answer("dev", asked[0], body="So")
    dropped = engine.answer("eve", asked[1], body="So")
    engine.accept("ana", kept.id)
    engine.accept("ben", dropped.id)
    engine.unaccept("ben", asked[1])
    clock.advance(HOUR)
    return engine.community_health(coplib.SYSTEM, "weld", until=clock.now())


def test_a_question_whose_answer_is_accepted_no_more_is_not_accepted(
    open_engine: Callable[[ManualClock], coplib.Engine],
) -> None:
    clock = ManualClock(START)
    engine = open_engine(clock)
    assert _unaccepted_report(engine, clock).responsiveness.accepted == 1


@pytest.mark.postgres
def test_a_question_whose_answer_is_accepted_no_more_is_not_accepted_on_postgresql(fresh_postgres_url: str) -> None:
    clock = ManualClock(START)
    with coplib.open(fresh_postgres_url, people=PEOPLE, plugins=[coplib.RecordingNotifier()], clock=clock) as engine:
        assert _unaccepted_report(engine, clock).responsiveness.accepted == 1


def test_a_commit_between_the_reads_of_a_build_keeps_nothing(
    open_engine: Callable[[ManualClock], coplib.Engine],
) -> None:
    clock = ManualClock(START)
    engine = open_engine(clock)
    asked = _start(engine, clock)
    store = engine.store
    original = store.question_facts
    meanwhile = []

    def then_a_commit(*args: Any, **kwargs: Any) -> Any:
        found = original(*args, **kwargs)
        if not meanwhile:  # another writer answers while the report reads
            meanwhile.append(engine.answer("dev", asked[1], body="Meanwhile").id)
        return found

    store.question_facts = then_a_commit  # type: ignore[method-assign]
    engine.community_health(coplib.SYSTEM, "weld")
    store.question_facts = original  # type: ignore[method-assign]
    reads = Counting(engine)
    clock.advance(HOUR)
    report = engine.community_health(coplib.SYSTEM, "weld")
    assert reads.builds == 1  # nothing was kept: built again, from facts that hold the answer
    assert report.responsiveness.answered == 1
    check(report, naive(engine, None, clock.now()))


def test_a_report_over_a_past_period_is_computed_from_the_facts_and_the_tally_is_kept(
    open_engine: Callable[[ManualClock], coplib.Engine],
) -> None:
    clock = ManualClock(START)
    engine = open_engine(clock)
    asked = _start(engine, clock)
    engine.answer("dev", asked[0], body="So")
    middle = clock.now()
    clock.advance(HOUR)
    engine.answer("eve", asked[1], body="So")
    clock.advance(HOUR)
    engine.community_health(coplib.SYSTEM, "weld")
    reads = Counting(engine)
    past = engine.community_health(coplib.SYSTEM, "weld", until=middle)
    assert past.responsiveness.answered == 0  # the answer at `middle` is not before it
    check(past, naive(engine, None, middle))
    now = engine.community_health(coplib.SYSTEM, "weld")
    assert now.responsiveness.answered == 2
    assert reads.builds == 1  # the past period from the facts; now from the tally


def test_another_engines_commits_on_the_same_file_are_followed(tmp_path: Path) -> None:
    clock = ManualClock(START)
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with (
        coplib.open(url, people=PEOPLE, plugins=[coplib.RecordingNotifier()], clock=clock) as reader,
        coplib.open(url, people=PEOPLE, plugins=[coplib.RecordingNotifier()], clock=clock) as writer,
    ):
        asked = _start(reader, clock)
        reads = Counting(reader)
        reader.community_health(coplib.SYSTEM, "weld")
        writer.answer("dev", asked[0], body="So")
        writer.ask("eve", "weld", title="Another?", body="Yes")
        clock.advance(HOUR)
        report = reader.community_health(coplib.SYSTEM, "weld")
        assert reads.builds == 1
        assert (report.responsiveness.questions, report.responsiveness.answered) == (4, 1)
        check(report, naive(reader, None, clock.now()))


def test_an_erasure_in_the_engine_forgets_every_tally(open_engine: Callable[[ManualClock], coplib.Engine]) -> None:
    clock = ManualClock(START)
    engine = open_engine(clock)
    asked = _start(engine, clock)
    engine.answer("dev", asked[0], body="So")
    clock.advance(HOUR)
    engine.community_health(coplib.SYSTEM, "weld")
    reads = Counting(engine)
    engine.erase_person(coplib.SYSTEM, "dev")
    clock.advance(HOUR)
    report = engine.community_health(coplib.SYSTEM, "weld")
    assert reads.builds == 1
    check(report, naive(engine, None, clock.now()))


# -- the tally itself ----------------------------------------------------------------------------------


def _tally() -> HealthTally:
    at = START
    person = PersonFacts("ana", 2, 1, 1, 0, at, at + HOUR, at, True)
    month = PeriodFacts(at.date().replace(day=1), 2, 1, 1, 0)
    week = PeriodFacts(at.date() - timedelta(days=at.weekday()), 2, 1, 1, 0)
    return HealthTally.of(
        [],
        ContributorFacts([week], [month], [person]),
        since=None,
        experts=(),
        within_target=lambda asked, answered: True,
        window=timedelta(days=90),
    )


def test_a_contribution_older_than_its_authors_last_one_is_refused_and_changes_nothing() -> None:
    tally = _tally()
    before = attrs.asdict(_finish(tally))
    assert tally.contribute("comment", "ana", START + HOUR / 2) is False
    assert attrs.asdict(_finish(tally)) == before
    assert tally.contribute("comment", "ana", START + 2 * HOUR) is True
    assert _finish(tally).activity.contributions == 3


def test_a_second_contribution_in_the_same_week_leaves_the_weeks_contributors_as_they_were() -> None:
    tally = _tally()
    assert tally.contribute("comment", "ana", START + 2 * HOUR)
    assert tally.contribute("comment", "ben", START + 3 * HOUR)
    week = next(p for p in _finish(tally).weekly if p.contributions)
    assert (week.contributions, week.active_contributors, week.new_contributors) == (4, 2, 2)


def _finish(tally: HealthTally) -> Any:
    return tally.finish(
        community_id="c", name="C", until=START + 10 * HOUR, members=[], settings=HealthSettings(), target="P1D"
    )


def test_a_file_of_schema_version_9_reads_its_unacceptances_through_the_widened_index(tmp_path: Path) -> None:
    path = tmp_path / "v9.db"
    clock = ManualClock(START)
    with coplib.open(f"sqlite:///{path}", people=PEOPLE, plugins=[coplib.RecordingNotifier()], clock=clock) as engine:
        _unaccepted_report(engine, clock)
    fields = ", ".join(f"json_extract(data, '$.{name}')" for name in _sql.HEALTH_EVENT_FIELDS)
    conn = sqlite3.connect(path)
    with conn:  # the index as version 9 had it
        conn.execute("DROP INDEX events_health")
        conn.execute(
            f"CREATE INDEX events_health ON events (community_id, type, position, {fields}) "
            f"WHERE {_sql.HEALTH_EVENTS_BEFORE_UNACCEPTING_SQL}"
        )
        conn.execute("UPDATE schema_version SET version = 9")
    conn.close()
    with coplib.open(f"sqlite:///{path}", people=PEOPLE, plugins=[coplib.RecordingNotifier()], clock=clock) as engine:
        report = engine.community_health(coplib.SYSTEM, "weld", until=clock.now())
    assert report.responsiveness.accepted == 1
    conn = sqlite3.connect(path)
    sql, params = _sql.acceptances(SQLITE, SQLITE_HEALTH, "weld")
    plan = " ".join(str(row[-1]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    (index,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events_health'").fetchone()
    conn.close()
    assert "answer_unaccepted" in index
    assert "events_health" in plan


def test_after_joins_departures_and_stage_changes_the_report_is_a_fresh_engines(tmp_path: Path) -> None:
    """Members and the reframing events the value cycles count are kept with the tally: a
    membership event reads the members again; a stage change is counted in its month."""
    clock = ManualClock(START)
    url = f"sqlite:///{tmp_path / 'kept.db'}"
    with coplib.open(url, people=PEOPLE, plugins=[coplib.RecordingNotifier()], clock=clock) as engine:
        asked = _start(engine, clock)
        engine.community_health(coplib.SYSTEM, "weld")
        reads = Counting(engine)
        for step, stage in enumerate(("coalescing", "maturing")):
            engine.change_stage("ana", "weld", stage)
            clock.advance(timedelta(days=40))  # into the next month
            engine.answer(PEOPLE_IDS[2 + step], asked[step], body="So")
            clock.advance(HOUR)
            kept = engine.community_health(coplib.SYSTEM, "weld")
        engine.join("walt", "weld")
        engine.leave("eve", "weld")
        engine.change_stage("ana", "weld", "stewardship")  # this month: counted up to now
        clock.advance(HOUR)
        kept = engine.community_health(coplib.SYSTEM, "weld")
        assert reads.builds == 0
        with coplib.open(url, people=PEOPLE, plugins=[coplib.RecordingNotifier()], clock=clock) as fresh:
            cold = fresh.community_health(coplib.SYSTEM, "weld")
    assert attrs.asdict(kept) == attrs.asdict(cold)
    assert attrs.asdict(kept.value) == attrs.asdict(cold.value)
    assert kept.members.members == 5  # walt in, eve out
    assert kept.value.cycle("reframing").indicators["stage_changes"] == 3
