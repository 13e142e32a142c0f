"""Properties of the answer guarantee over random days of a help space: ticking twice is
ticking once, each step is taken once and never early, and an answered question is left alone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from coplib import Engine, ManualClock
from coplib.domain import events as ev
from coplib.domain.guarantee import POLICY_NAME, GuaranteeSettings
from coplib.serialization import event_to_json
from tests.policies.test_guarantee import (
    COMMUNITY,
    FRIDAY_EVENING,
    IN_PARIS,
    OTHER_POLICIES,
    found_community,
    guarantee_events,
    open_engine,
    paris,
)

#: An action of the scenario: ask (who, tags), answer the n-th question, or tick; each after a wait.
actions = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=36 * 60).map(lambda m: timedelta(minutes=m)),
        st.one_of(
            st.tuples(st.just("ask"), st.sampled_from(["dev", "hal", "chloe"]), st.sampled_from([(), ("tig",)])),
            st.tuples(st.just("answer"), st.integers(min_value=0, max_value=20)),
            st.tuples(st.just("tick")),
        ),
    ),
    max_size=25,
)


LADDER = {"ladder": "2wh: experts; 4wh: facilitator; 1wd: coach, sponsor"}
SETTINGS = GuaranteeSettings.parse({**IN_PARIS, **LADDER})


def play(scenario: list[tuple[timedelta, tuple[Any, ...]]], *, ticks_per_moment: int) -> Engine:
    clock = ManualClock(paris(1, 5, 9))
    engine = open_engine(clock, block=OTHER_POLICIES)
    found_community(engine, LADDER)
    clock.set(FRIDAY_EVENING)
    asked: list[str] = []
    for wait, action in scenario:
        clock.advance(wait)
        match action:
            case ("ask", who, tags):
                asked.append(engine.ask(who, COMMUNITY, title=f"Q{len(asked)}", body="B", tags=list(tags)).id)
            case ("answer", n) if asked:
                engine.answer("ben", asked[n % len(asked)], body="A")
            case ("tick",):
                for _ in range(ticks_per_moment):
                    engine.tick()
    clock.advance(timedelta(days=7))
    for _ in range(ticks_per_moment):
        engine.tick()
    return engine


def history(engine: Engine) -> list[str]:
    return [event_to_json(r.event) for r in engine.store.events(limit=1_000_000)]


def outbox(engine: Engine) -> set[str]:
    return {m.id for m in engine.store.pending_messages(limit=1_000_000)}


@given(actions)
def test_ticking_twice_at_each_moment_is_ticking_once(scenario: list[tuple[timedelta, tuple[Any, ...]]]) -> None:
    once = play(scenario, ticks_per_moment=1)
    twice = play(scenario, ticks_per_moment=2)

    assert history(twice) == history(once)
    assert outbox(twice) == outbox(once)


@given(actions)
def test_each_step_is_taken_once_never_early_and_never_after_an_answer(
    scenario: list[tuple[timedelta, tuple[Any, ...]]],
) -> None:
    engine = play(scenario, ticks_per_moment=1)

    asked_at: dict[str, datetime] = {}
    taken: dict[str, int] = {}
    answered: dict[str, datetime] = {}
    for recorded in engine.store.events(limit=1_000_000):
        event = recorded.event
        match event:
            case ev.AnswerPosted():
                answered.setdefault(event.question_id, event.occurred_at)
            case ev.QuestionAsked():
                asked_at[event.question_id] = event.occurred_at
            case ev.QuestionRouted():
                assert event.due_at == SETTINGS.calendar.add(asked_at[event.question_id], SETTINGS.ladder[0].delay)
            case ev.QuestionEscalated():
                assert event.step == taken.get(event.question_id, 0) + 1
                step = SETTINGS.ladder[event.step - 1]
                assert event.occurred_at >= SETTINGS.calendar.add(asked_at[event.question_id], step.delay)
                assert event.question_id not in answered
                taken[event.question_id] = event.step
    assert all(e.actor_id == "coplib:system" for e in guarantee_events(engine))
    failed = [r for r in engine.store.events(limit=1_000_000) if isinstance(r.event, ev.PolicyReactionFailed)]
    assert failed == []
    # A week later every unanswered question has climbed the whole ladder.
    open_ids = {q.id for q in engine.store.unanswered_questions(COMMUNITY, limit=1000)}
    assert all(taken.get(qid) == 3 for qid in open_ids)
    assert engine.tick().done[POLICY_NAME] == 0
