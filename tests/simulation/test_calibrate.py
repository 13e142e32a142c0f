"""Calibration: the observed months are the history's own (counted here independently, on a
history made through the engine and on a real Stack Exchange dump), the fit covers the first
months, and the errors are simulated minus observed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

import coplib
from coplib.domain.errors import InvalidInputError
from coplib.simulation import calibrate
from tests.importers.dumps import REAL_DUMPS


def _history(engine: coplib.Engine, clock: coplib.ManualClock) -> tuple[str, Counter[str], Counter[str]]:
    org = engine.create_organisation(coplib.SYSTEM, "Works", organisation_id="works")
    community = engine.create_community(coplib.SYSTEM, org.id, name="Help", vocation="Help", tags=["pumps"])
    people = [f"p{i}" for i in range(8)]
    for person in people:
        engine.join(person, community.id)
    questions: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    start = clock.now()
    for day in range(0, 120, 2):
        clock.set(start + timedelta(days=day, hours=10))
        asker = people[day % 8]
        q = engine.ask(asker, community.id, title=f"Question {day}", body="Why?", tags=["pumps"])
        questions[f"{clock.now():%Y-%m}"] += 1
        if day % 3:
            clock.advance(timedelta(hours=5))
            engine.answer(people[(day + 1) % 8], q.id, body="Because.")
            answers[f"{clock.now():%Y-%m}"] += 1
    return community.id, questions, answers


def test_the_months_observed_are_the_history_and_the_errors_simulated_minus_observed() -> None:
    clock = coplib.ManualClock(datetime(2026, 1, 5, tzinfo=UTC))
    people = [coplib.Person(id=f"p{i}", display_name=f"P {i}") for i in range(8)]
    with coplib.open("memory://", people=people, clock=clock) as engine:
        cid, questions, answers = _history(engine, clock)
        result = calibrate(engine, cid, fit_months=2, runs=1)
    months = [m.month for m in result.months]
    assert months == sorted(set(questions) | set(answers))
    assert [m.fitted for m in result.months] == [True, True] + [False] * (len(months) - 2)
    for m in result.months:
        assert m.observed_questions == questions[m.month]
        assert m.observed_answers == answers[m.month]
        assert m.question_error == m.simulated_questions - m.observed_questions
    rest = [m for m in result.months if not m.fitted]
    mae = result.mean_absolute_error()
    assert mae["questions"] == pytest.approx(sum(abs(m.question_error) for m in rest) / len(rest))
    document = result.to_dict()
    assert document["schema"] == "coplib.simulation.calibration/1"
    assert not document["scenario"]["communities"]["site"]["answer_guarantee"]  # the site had none
    assert "predicted months" in result.text()


def test_a_fit_that_leaves_nothing_to_predict_is_refused() -> None:
    clock = coplib.ManualClock(datetime(2026, 1, 5, tzinfo=UTC))
    people = [coplib.Person(id=f"p{i}", display_name=f"P {i}") for i in range(8)]
    with coplib.open("memory://", people=people, clock=clock) as engine:
        cid, _, _ = _history(engine, clock)
        with pytest.raises(InvalidInputError) as caught:
            calibrate(engine, cid, fit_months=12)
        assert caught.value.errors[0].path == "$.fit_months"
        with pytest.raises(InvalidInputError):
            calibrate(engine, cid, fit_months=0)


def _posts_by_month(site: str) -> tuple[Counter[str], Counter[str]]:
    """Questions and answers per month of a dump, read with the standard library alone."""
    questions: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    for _, row in ET.iterparse(REAL_DUMPS / site / "Posts.xml"):
        if row.tag != "row":
            continue
        month = row.get("CreationDate", "")[:7]
        if row.get("PostTypeId") == "1":
            questions[month] += 1
        elif row.get("PostTypeId") == "2":
            answers[month] += 1
    return questions, answers


def test_calibration_on_a_real_dump_reads_its_months() -> None:
    from coplib.importers.stackexchange import import_stackexchange

    with coplib.open("memory://") as engine:
        report = import_stackexchange(engine, REAL_DUMPS / "beer")
        result = calibrate(engine, report.community_id, fit_months=1, runs=1, max_months=3)
    questions, answers = _posts_by_month("beer")
    first = min(questions)
    assert result.months[0].month == first
    assert len(result.months) == 3
    for m in result.months:
        assert (m.observed_questions, m.observed_answers) == (questions[m.month], answers[m.month])
    assert all(m.simulated_questions >= 0 for m in result.months)
