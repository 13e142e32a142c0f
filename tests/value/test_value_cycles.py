"""The five cycles of value against a naive reading of the history: random histories driven
through the engine, every indicator recomputed here from the events themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coplib import Charter, Engine, LifecycleStage, ManualClock
from coplib.domain import events as ev
from coplib.domain.value import CYCLES, INDICATORS
from coplib.health import render_text, to_json
from tests.unit.support import START
from tests.value.support import open_engine, organisation

MEMBERS = ("ana", "ben", "chloe")
CONTRIBUTED = (
    ev.QuestionAsked,
    ev.AnswerPosted,
    ev.CommentPosted,
    ev.ResourceShared,
    ev.ExperienceRecorded,
    ev.MeetingScheduled,
)

step = st.tuples(
    # asking and answering most often, as in a help network
    st.sampled_from(
        ["ask"] * 3 + ["answer"] * 4 + ["accept", "endorse", "share", "story", "amend", "stage", "comment"]
    ),
    st.sampled_from(MEMBERS),
    st.integers(0, 40),  # hours before the step
    st.integers(0, 10_000),  # which earlier item it acts on
)


def _run(engine: Engine, steps: list[tuple[str, str, int, int]]) -> None:
    clock = engine.clock
    assert isinstance(clock, ManualClock)
    questions: list[Any] = []
    answers: list[Any] = []
    items: list[str] = []
    for op, person, hours, pick in steps:
        clock.advance(timedelta(hours=hours))
        if op == "ask":
            questions.append(engine.ask(person, "welding", title="How?", body="How do I weld this?"))
        elif op == "answer" and questions:
            answers.append(engine.answer(person, questions[pick % len(questions)].id, body="Like this"))
            items.append(answers[-1].id)
        elif op == "accept" and answers:
            answer = answers[pick % len(answers)]
            engine.accept("ana", answer.id)  # the facilitator may accept any answer
        elif op == "endorse" and answers:
            answer = answers[pick % len(answers)]
            if answer.author_id != person and not engine.store.find("endorsement"):
                engine.endorse(person, "answer", answer.id)
        elif op == "share":
            items.append(engine.share_resource(person, "welding", title="Guide", location="https://example.org").id)
        elif op == "comment" and questions:
            engine.comment(person, "question", questions[pick % len(questions)].id, body="Me too")
        elif op == "story" and items:
            linked = sorted({items[pick % len(items)], items[(pick // 7) % len(items)]})
            engine.tell_value_story(person, "welding", contributions=linked, result="It saved a day")
        elif op == "amend":
            engine.amend_charter("ana", "welding", Charter(vocation=f"Weld well, version {pick}"), reason="review")
        elif op == "stage":
            stage = [LifecycleStage.COALESCING, LifecycleStage.MATURING][pick % 2]
            if engine.community("ana", "welding").stage is not stage:
                engine.change_stage("ana", "welding", stage)
    clock.advance(timedelta(hours=1))


def _naive(engine: Engine, since: datetime | None, until: datetime) -> dict[str, dict[str, int]]:
    events = [r.event for r in engine.store.events(community_id="welding", limit=100_000)]
    start = since or datetime.min.replace(tzinfo=UTC)

    def within(e: ev.DomainEvent) -> bool:
        return start <= e.occurred_at < until

    made = [e for e in events if isinstance(e, CONTRIBUTED) and e.occurred_at < until]
    in_period = [e for e in made if within(e)]
    first_ever: dict[str, datetime] = {}
    for e in made:
        first_ever.setdefault(e.actor_id, e.occurred_at)
    asked = {e.question_id: e for e in in_period if isinstance(e, ev.QuestionAsked)}
    helped: dict[str, list[ev.AnswerPosted]] = {}
    for e in made:
        if isinstance(e, ev.AnswerPosted) and e.question_id in asked and e.actor_id != asked[e.question_id].actor_id:
            helped.setdefault(e.question_id, []).append(e)
    pairs = {frozenset({a.actor_id, asked[q].actor_id}) for q, found in helped.items() for a in found}
    givers = {a.actor_id for found in helped.values() for a in found}
    receivers = {asked[q].actor_id for q in helped}
    accepted = {e.question_id for e in events if isinstance(e, ev.AnswerAccepted)}
    stories = [e for e in events if isinstance(e, ev.ValueStoryTold) and within(e)]
    return {
        "immediate": {
            "contributions": len(in_period),
            "active_contributors": len({e.actor_id for e in in_period}),
            "questions_answered": len(helped),
            "answered_within_24h": sum(
                1 for q, found in helped.items() if found[0].occurred_at - asked[q].occurred_at <= timedelta(hours=24)
            ),
            "help_pairs": len(pairs),
        },
        "potential": {
            "answers": sum(1 for e in in_period if isinstance(e, ev.AnswerPosted)),
            "repertoire_items": sum(1 for e in in_period if isinstance(e, (ev.ResourceShared, ev.ExperienceRecorded))),
            "new_contributors": sum(1 for when in first_ever.values() if start <= when < until),
            "gave_and_received": len(givers & receivers),
        },
        "applied": {
            "accepted_answers": len(accepted & set(asked)),
            "endorsements": sum(1 for e in events if isinstance(e, ev.ContributionEndorsed) and within(e)),
            "contributions_reused": len({c.id for s in stories for c in s.contributions}),
        },
        "realised": {
            "value_stories": len(stories),
            "storytellers": len({s.actor_id for s in stories}),
            "people_credited": len(
                {c.author_id for s in stories for c in s.contributions if c.author_id != s.actor_id}
            ),
        },
        "reframing": {
            "charter_amendments": sum(1 for e in events if isinstance(e, ev.CharterAmended) and within(e)),
            "stage_changes": sum(1 for e in events if isinstance(e, ev.CommunityStageChanged) and within(e)),
        },
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(step, min_size=3, max_size=30), since_days=st.none() | st.integers(0, 10), length=st.integers(1, 400)
)
def test_every_indicator_of_every_cycle_is_what_the_history_says(
    steps: list[tuple[str, str, int, int]], since_days: int | None, length: int
) -> None:
    engine = open_engine(clock=ManualClock(START))
    organisation(engine)
    _run(engine, steps)
    day = datetime.combine(START.date(), datetime.min.time(), tzinfo=UTC)
    since = day + timedelta(days=since_days) if since_days is not None else None
    until = (since or START) + timedelta(hours=length)

    cycles = engine.value_cycles("dev", "welding", since=since, until=until)

    expected = _naive(engine, since, until)
    assert {c.name: dict(c.indicators) for c in cycles.cycles} == expected
    assert cycles.reached == tuple(name for name in CYCLES if any(expected[name].values()))


def test_the_cycles_are_the_value_key_of_the_health_json_and_a_section_of_the_text() -> None:
    engine = open_engine(clock=ManualClock(START))
    organisation(engine)
    _run(engine, [("ask", "chloe", 1, 0), ("answer", "ben", 2, 0), ("story", "chloe", 1, 0), ("amend", "ana", 1, 3)])

    report = engine.community_health("ana", "welding")
    value = to_json([report])["communities"][0]["value"]

    assert to_json([report])["schema"] == "coplib.health/1"
    assert value["reached"] == list(CYCLES)  # the story reuses the answer: applied value too
    assert value["cycles"]["realised"] == {
        "evidence": True,
        "indicators": {"value_stories": 1, "storytellers": 1, "people_credited": 1},
    }
    assert set(value["cycles"]) == set(CYCLES)
    assert {k: list(c["indicators"]) for k, c in value["cycles"].items()} == {k: list(v) for k, v in INDICATORS.items()}
    assert "Cycles de valeur" in render_text(report, "fr")
    assert "réalisée : récits de valeur 1" in render_text(report, "fr")
    assert "realised: value stories 1" in render_text(report, "en")
    assert attrs.evolve(report, value=None) == report  # the cycles do not change what the report compares


STEPS = [
    ("ask", "chloe", 1, 0),
    ("answer", "ben", 2, 0),
    ("ask", "ben", 30, 0),
    ("answer", "chloe", 1, 1),
    ("accept", "ana", 1, 0),
    ("endorse", "chloe", 1, 0),
    ("share", "ana", 3, 0),
    ("story", "chloe", 1, 5),
    ("story", "ben", 1, 1),
    ("amend", "ana", 1, 3),
    ("stage", "ana", 50, 1),
]


def _cycles_on(url: str) -> list[Any]:
    with open_engine(url, clock=ManualClock(START)) as engine:
        organisation(engine)
        _run(engine, STEPS)
        return [
            to_json([engine.community_health("ana", "welding", since=since)])["communities"][0]["value"]
            for since in (None, START.date() + timedelta(days=2))
        ]


def test_sqlite_gives_the_cycles_memory_gives(tmp_path: Any) -> None:
    on_memory = _cycles_on("memory://")

    assert _cycles_on(f"sqlite:///{tmp_path / 'coplib.db'}") == on_memory
    assert on_memory[0]["reached"] == list(CYCLES)
    assert on_memory[1] != on_memory[0]  # the later period leaves most of it out


@pytest.mark.postgres
def test_postgresql_gives_the_cycles_memory_gives(fresh_postgres_url: str) -> None:
    assert _cycles_on(fresh_postgres_url) == _cycles_on("memory://")
