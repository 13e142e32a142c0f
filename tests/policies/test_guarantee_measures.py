"""Measures of the answer guarantee on a scenario whose answer times are known: time to first
answer, the share answered within the target, and who answers month after month."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from coplib import (
    Admission,
    Charter,
    Engine,
    InvalidInputError,
    ManualClock,
    MembershipPolicy,
    NotFoundError,
    Role,
    Visibility,
)
from coplib.service.guarantee_measures import AnswerMeasures, Durations, answer_measures
from tests.policies.test_guarantee import COMMUNITY, found_community, open_engine, paris

#: Months are counted in UTC, as the store counts events per month.
JANUARY, FEBRUARY, MARCH = (datetime(2026, month, 1, tzinfo=UTC) for month in (1, 2, 3))


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(paris(1, 2, 9))


@pytest.fixture
def engine(clock: ManualClock) -> Engine:
    """Two months of questions in the welding community (target: 4 working hours, Paris).

    January: q1 answered by ben (expert) in 1 h; q2 by hal (member) the next morning, 2
    working hours later; q3, asked on Friday evening, by chloe (expert) on Monday after 6
    working hours; q4 never answered; q8 withdrawn. February: q5 and q6 answered by members
    in 30 min and 2 h; q7 asked an hour before the measure, still within its target.
    """
    opened = open_engine(clock)
    found_community(opened)

    def at(month: int, day: int, hour: int, minute: int = 0) -> None:
        clock.set(paris(month, day, hour, minute))

    at(1, 5, 10)
    q1 = opened.ask("dev", COMMUNITY, title="q1", body="B", tags=["welding"])  # routed to ben alone
    at(1, 5, 11)
    opened.answer("ben", q1.id, body="A")
    at(1, 5, 17)
    q2 = opened.ask("dev", COMMUNITY, title="q2", body="B", tags=["tig"])
    at(1, 6, 10)
    opened.answer("hal", q2.id, body="A")
    at(1, 9, 17)
    q3 = opened.ask("dev", COMMUNITY, title="q3", body="B", tags=["tig"])
    at(1, 12, 9)
    opened.ask("hal", COMMUNITY, title="q4", body="B", tags=["tig"])
    opened.tick(paris(1, 12, 12))  # q3, step 1
    opened.tick(paris(1, 12, 13))  # q4, step 1
    at(1, 12, 14)
    opened.answer("chloe", q3.id, body="A")
    opened.tick(paris(1, 13, 9))  # q4, step 2
    at(1, 14, 10)
    q8 = opened.ask("hal", COMMUNITY, title="q8", body="B")
    opened.withdraw("hal", "question", q8.id)
    at(2, 2, 10)
    q5 = opened.ask("dev", COMMUNITY, title="q5", body="B")
    at(2, 2, 10, 30)
    opened.answer("hal", q5.id, body="A")
    at(2, 3, 10)
    q6 = opened.ask("hal", COMMUNITY, title="q6", body="B")
    at(2, 3, 12)
    opened.answer("dev", q6.id, body="A")
    at(2, 10, 9)
    opened.ask("dev", COMMUNITY, title="q7", body="B")
    at(2, 10, 10)
    # ben is no expert any more: his January answer to a question routed to him still counts.
    opened.withdraw_role("ana", COMMUNITY, "ben", Role.EXPERT)
    return opened


def test_time_to_first_answer_is_measured_on_the_wall_clock_and_in_working_time(engine: Engine) -> None:
    measures = answer_measures(engine, "hal", COMMUNITY, since=JANUARY, until=MARCH)

    assert (measures.asked, measures.answered, measures.unanswered) == (7, 5, 2)
    # Wall clock: 0.5, 1, 2, 17 and 69 hours; working time: 0.5, 1, 2, 2 and 6 hours.
    assert measures.first_answer == Durations(5, hours(2), hours(69))
    assert measures.first_answer_working == Durations(5, hours(2), hours(6))
    assert measures.target == "4wh"


def test_the_share_within_target_counts_only_questions_whose_fate_is_known(engine: Engine) -> None:
    measures = answer_measures(engine, "hal", COMMUNITY, since=JANUARY, until=MARCH)

    # q1, q2, q5, q6 within the target; q3 late; q4 past it unanswered; q7 still has time.
    assert (measures.within_target, measures.settled) == (4, 6)
    assert measures.share_within_target == pytest.approx(4 / 6)


def test_each_month_shows_how_much_of_the_answering_the_designated_experts_still_do(engine: Engine) -> None:
    measures = answer_measures(engine, "hal", COMMUNITY, since=JANUARY, until=MARCH)

    january, february = measures.months
    assert (january.month, january.answers, january.by_experts) == (date(2026, 1, 1), 3, 2)
    assert (january.questions, january.escalations) == (4, 3)
    assert (february.month, february.answers, february.by_experts) == (date(2026, 2, 1), 2, 0)
    assert (february.questions, february.escalations) == (3, 0)
    assert january.share_by_experts == pytest.approx(2 / 3)
    assert february.share_by_experts == 0.0


def test_only_the_period_asked_for_is_measured(engine: Engine) -> None:
    measures = answer_measures(engine, "hal", COMMUNITY, since=FEBRUARY, until=MARCH)

    assert (measures.asked, measures.answered) == (3, 2)
    assert [m.month for m in measures.months] == [date(2026, 2, 1)]
    assert measures.first_answer == Durations(2, hours(1.25), hours(2))


def test_an_empty_period_has_no_durations_and_no_share() -> None:
    empty = AnswerMeasures(
        community_id="c",
        since=JANUARY,
        until=MARCH,
        measured_at=MARCH,
        target="4wh",
        asked=0,
        answered=0,
        first_answer=Durations.of([]),
        first_answer_working=Durations.of([]),
        within_target=0,
        settled=0,
        months=(),
    )

    assert (empty.share_within_target, empty.first_answer.median, empty.first_answer.p90) == (None, None, None)


def test_measures_refuse_a_reversed_or_naive_period(engine: Engine) -> None:
    with pytest.raises(InvalidInputError, match="must come after since"):
        answer_measures(engine, "hal", COMMUNITY, since=MARCH, until=JANUARY)
    with pytest.raises(InvalidInputError, match="timezone-aware"):
        answer_measures(engine, "hal", COMMUNITY, since=JANUARY.replace(tzinfo=None), until=MARCH)


def test_a_private_community_is_measured_for_its_members_only(engine: Engine) -> None:
    engine.create_community(
        "ana",
        "acme",
        name="Managers",
        charter=Charter(vocation="V", membership_policy=MembershipPolicy(Admission.INVITATION)),
        visibility=Visibility.PRIVATE,
        community_id="managers",
    )

    assert answer_measures(engine, "ana", "managers", since=JANUARY, until=MARCH).asked == 0
    with pytest.raises(NotFoundError):  # to an outsider, a private community is not there
        answer_measures(engine, "hal", "managers", since=JANUARY, until=MARCH)
