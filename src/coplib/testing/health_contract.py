"""The conformance kit of the health report's read queries (`ReadQueries.question_facts`,
`contributor_facts`, `member_facts`): every store gives the answers of the reference
implementations over `find` (`coplib.ports.storage.question_facts_by_finding`...), and those
answers are the counting rules of docs/health.md, checked here on one history that holds each
case (self-answers, an unattributed author, withdrawals, acceptances, the period's bounds), and
on one where a moderator hides contributions and shows some again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coplib.domain import events as ev
from coplib.domain.clock import ManualClock
from coplib.domain.community import Role
from coplib.domain.health import DEFAULT_UNATTRIBUTED
from coplib.ports.storage import (
    Store,
    contributor_facts_by_finding,
    member_facts_by_finding,
    question_facts_by_finding,
)
from coplib.testing._fixtures import StoreFixtures, open_engine_on
from coplib.testing.samples import MONDAY

__all__ = ["HealthQueriesContract"]

ANONYMOUS = "site/anonymous/0a1b"
FORMER = "site/former-member"
UNTIL = MONDAY + timedelta(days=200)


def _build(store: Store) -> dict[str, Any]:
    """A community whose history holds every case the counting rules name; returns its ids."""
    clock = ManualClock(MONDAY)
    engine = open_engine_on(store, clock=clock)
    engine.create_organisation("eve", "Acme", organisation_id="acme")
    community = engine.create_community("ana", "acme", name="Welding", vocation="Weld better", community_id="weld")
    for person in ("ben", "chloe", "dev"):
        engine.join(person, community.id)
    engine.assign_role("ana", community.id, "ben", Role.EXPERT, tags=["tig"])

    def later(**delta: float) -> None:
        clock.advance(timedelta(**delta))

    ids: dict[str, Any] = {"community": community.id}
    later(hours=1)
    q1 = engine.ask("chloe", community.id, title="Porosity?", body="Why?")  # self-answered, then helped
    later(hours=1)
    own = engine.answer("chloe", q1.id, body="Maybe the gas")
    later(hours=2)
    engine.answer("ben", q1.id, body="Clean the oxide")
    later(minutes=10)
    engine.answer("dev", q1.id, body="And dry the rods")
    engine.accept("chloe", own.id)  # a self-answer may be the accepted one
    later(days=1)
    q2 = engine.ask("dev", community.id, title="Which gas?", body="Argon?")  # only a self-answer: unanswered
    later(hours=3)
    engine.answer("dev", q2.id, body="Argon it is")
    later(days=2)
    q3 = engine.ask("ben", community.id, title="Tungsten?", body="Which one?")  # its accepted answer withdrawn
    later(days=2)  # answered after 24 h
    gone = engine.answer("chloe", q3.id, body="Red")
    engine.accept("ben", gone.id)
    later(minutes=1)
    engine.withdraw("chloe", "answer", gone.id)
    later(minutes=1)
    engine.answer("ana", q3.id, body="Grey")
    later(hours=1)
    q4 = engine.ask("chloe", community.id, title="Withdrawn", body="Never mind")
    engine.withdraw("chloe", "question", q4.id)
    later(hours=1)
    engine.comment("ben", "question", q2.id, body="Try argon")
    engine.share_resource(
        "ana", community.id, title="The guide", kind="link", location="https://example.org", description="", tags=[]
    )
    ids.update(q1=q1.id, q2=q2.id, q3=q3.id)

    # Authors who stand for no one person, written through the bulk path as an import does.
    at = clock.now() + timedelta(days=1)
    base = {"community_id": community.id}
    events: list[ev.DomainEvent] = [
        ev.MemberJoined(id="h-e1", actor_id=ANONYMOUS, occurred_at=at, person_id=ANONYMOUS, via="open", **base),
        ev.MemberJoined(id="h-e2", actor_id=FORMER, occurred_at=at, person_id=FORMER, via="open", **base),
        ev.QuestionAsked(
            id="h-e3", actor_id=ANONYMOUS, occurred_at=at, question_id="h-q5", title="Anon?", body="?", tags=(), **base
        ),
        ev.AnswerPosted(
            id="h-e4",
            actor_id=ANONYMOUS,
            occurred_at=at + timedelta(hours=5),
            answer_id="h-a5",
            question_id="h-q5",
            asker_id=ANONYMOUS,
            body="!",
            **base,
        ),
        ev.QuestionAsked(
            id="h-e5",
            actor_id=FORMER,
            occurred_at=at + timedelta(days=100),
            question_id="h-q6",
            title="After the window",
            body="?",
            tags=(),
            **base,
        ),
        ev.QuestionAsked(
            id="h-e6",
            actor_id="dev",
            occurred_at=UNTIL,
            question_id="h-q7",
            title="Too late",
            body="?",
            tags=(),
            **base,
        ),
    ]
    engine.import_history(events)
    ids.update(q5="h-q5", q6="h-q6", q7="h-q7", first_anonymous=at)
    return ids


class HealthQueriesContract(StoreFixtures):
    """`question_facts`, `contributor_facts` and `member_facts`: the rules and the reference."""

    @pytest.fixture
    def built(self, store: Store) -> dict[str, Any]:
        return _build(store)

    def test_question_facts_give_the_first_answer_by_someone_else_and_the_live_acceptance(
        self, store: Store, built: dict[str, Any]
    ) -> None:
        facts = {q.question_id: q for q in store.question_facts(built["community"], until=UNTIL)}

        assert set(facts) == {built[k] for k in ("q1", "q2", "q3", "q5", "q6")}  # q4 withdrawn, q7 too late
        q1, q2, q3, q5 = (facts[built[k]] for k in ("q1", "q2", "q3", "q5"))
        assert q1.first_answer_at == q1.asked_at + timedelta(hours=3)  # the self-answer an hour in does not count
        assert q1.helpers == ("ben", "dev")
        assert q1.accepted  # a self-answer, accepted
        assert (q2.first_answer_at, q2.helpers, q2.accepted) == (None, (), False)
        assert q3.helpers == ("ana",)  # the withdrawn answer is gone
        assert not q3.accepted  # its accepted answer was withdrawn
        assert q5.first_answer_at is None  # without the unattributed patterns, a self-answer

    def test_an_unattributed_author_is_always_someone_else(self, store: Store, built: dict[str, Any]) -> None:
        facts = store.question_facts(built["community"], until=UNTIL, unattributed=DEFAULT_UNATTRIBUTED)
        q5 = next(q for q in facts if q.question_id == built["q5"])

        assert q5.first_answer_at == built["first_anonymous"] + timedelta(hours=5)
        assert q5.helpers == (ANONYMOUS,)

    @pytest.mark.parametrize("unattributed", [(), DEFAULT_UNATTRIBUTED], ids=["plain", "unattributed"])
    def test_question_facts_are_those_of_the_reference(
        self, store: Store, built: dict[str, Any], unattributed: tuple[str, ...]
    ) -> None:
        for until in (UNTIL, MONDAY + timedelta(days=1, hours=2), UNTIL + timedelta(days=1)):
            got = store.question_facts(built["community"], until=until, unattributed=unattributed)
            assert got == question_facts_by_finding(store, built["community"], until=until, unattributed=unattributed)

    def test_contributor_facts_count_live_contributions_per_period_and_person(
        self, store: Store, built: dict[str, Any]
    ) -> None:
        facts = store.contributor_facts(built["community"], since=None, until=UNTIL, experts=["ben"])
        people = {p.person_id: p for p in facts.people}

        # chloe: q1, her answer to q1 (q4 and her answer to q3 are withdrawn)
        assert (people["chloe"].contributions, people["chloe"].questions, people["chloe"].answers) == (2, 1, 1)
        assert people["chloe"].contributed_again is True  # her first contribution is a question
        assert people["ben"].contributed_again is None  # his first contribution is an answer
        assert people["ana"].repertoire == 1
        assert people[FORMER].contributed_again is False  # one question only
        assert sum(p.contributions for p in facts.monthly) == sum(p.contributions for p in facts.people) == 13
        assert sum(p.answers_by_experts for p in facts.weekly) == 1
        assert all(p.active_contributors >= 1 for p in facts.weekly)

    @pytest.mark.parametrize("days", [None, 1, 3, 30], ids=["all", "from-day-1", "from-day-3", "from-day-30"])
    def test_contributor_facts_are_those_of_the_reference(self, store: Store, built: dict[str, Any], days: Any) -> None:
        since = (
            None if days is None else datetime.combine((MONDAY + timedelta(days=days)).date(), datetime.min.time(), UTC)
        )
        for until in (UNTIL, MONDAY + timedelta(days=2)):
            for window in (timedelta(days=90), timedelta(days=1)):
                cid, experts = built["community"], ["ben", "dev"]
                got = store.contributor_facts(cid, since=since, until=until, experts=experts, window=window)
                assert got == contributor_facts_by_finding(
                    store, cid, since=since, until=until, experts=experts, window=window
                )

    def test_a_hidden_contribution_counts_as_a_withdrawn_one_until_it_is_shown_again(self, store: Store) -> None:
        clock = ManualClock(MONDAY)
        engine = open_engine_on(store, clock=clock)
        engine.create_organisation("eve", "Acme", organisation_id="acme")
        cid = engine.create_community("ana", "acme", name="Welding", vocation="Weld", community_id="weld").id
        for person in ("ben", "chloe"):
            engine.join(person, cid)
        question = engine.ask("chloe", cid, title="Porosity?", body="Why?")
        clock.advance(timedelta(hours=1))
        first = engine.answer("ben", question.id, body="Clean the oxide")
        clock.advance(timedelta(hours=1))
        second = engine.answer("ana", question.id, body="Dry the rods")
        engine.accept("chloe", first.id)
        spam = engine.ask("ben", cid, title="Cheap watches", body="Here")
        engine.hide("ana", "answer", first.id, reason="off-topic")
        engine.hide("ana", "question", spam.id, reason="spam")
        engine.hide("ana", "answer", second.id, reason="off-topic")
        engine.unhide("ana", "answer", second.id)  # shown again: it counts again

        facts = store.question_facts(cid, until=UNTIL)
        assert [q.question_id for q in facts] == [question.id]  # the hidden question is left out
        (only,) = facts
        assert (only.first_answer_at, only.helpers) == (only.asked_at + timedelta(hours=2), ("ana",))
        assert not only.accepted  # its accepted answer is hidden
        assert facts == question_facts_by_finding(store, cid, until=UNTIL)
        people = {p.person_id: p for p in store.contributor_facts(cid, since=None, until=UNTIL).people}
        assert "ben" not in people  # both of his contributions are hidden
        assert (people["ana"].answers, people["chloe"].questions) == (1, 1)
        assert store.contributor_facts(cid, since=None, until=UNTIL) == contributor_facts_by_finding(
            store, cid, since=None, until=UNTIL
        )

    def test_member_facts_list_active_members_and_the_experts(self, store: Store, built: dict[str, Any]) -> None:
        facts = store.member_facts(built["community"])

        assert facts == member_facts_by_finding(store, built["community"])
        assert [m.person_id for m in facts if m.expert] == ["ben"]
        assert {m.person_id for m in facts} == {"ana", "ben", "chloe", "dev", ANONYMOUS, FORMER}
        assert all(m.joined_at is not None for m in facts)
