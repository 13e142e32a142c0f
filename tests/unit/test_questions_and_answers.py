"""Questions and answers: the mutual-help promise (ask, and get a fast answer), the help space
to watch (unanswered questions), and the accepted answer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coplib import (
    Community,
    ConflictError,
    ContributionKind,
    Engine,
    ManualClock,
    NotFoundError,
    PermissionDeniedError,
    Role,
)
from coplib.domain.events import AnswerAccepted
from tests.unit.support import START, event_types, last_own_event


@pytest.fixture
def members(engine: Engine, community: Community) -> Community:
    for person in ("ben", "chloe", "dev"):
        engine.join(person, community.id)
    return community


def test_a_member_asks_a_question_with_normalised_tags(engine: Engine, members: Community) -> None:
    question = engine.ask("dev", members.id, title="Which rod for cast iron?", body="Cracks appear", tags=["TIG "])

    assert (question.author_id, question.community_id, question.created_at) == ("dev", members.id, START)
    assert question.tags == {"tig"}
    assert question.open
    assert (question.answer_count, question.first_answered_at, question.accepted_answer_id) == (0, None, None)


def test_an_outsider_cannot_ask(engine: Engine, community: Community) -> None:
    with pytest.raises(PermissionDeniedError, match="join the community first"):
        engine.ask("dev", community.id, title="Hello?", body="Is anyone there?")


def test_answers_are_counted_and_the_first_answer_time_is_kept(
    engine: Engine, members: Community, clock: ManualClock
) -> None:
    question = engine.ask("dev", members.id, title="Which rod?", body="Cast iron")
    clock.advance(timedelta(minutes=12))
    engine.answer("ben", question.id, body="Nickel rods")
    clock.advance(timedelta(hours=1))
    engine.answer("chloe", question.id, body="Preheat first")

    thread = engine.question("dev", question.id)

    assert thread.question.answer_count == 2
    assert thread.question.first_answered_at == START + timedelta(minutes=12)
    assert [a.author_id for a in thread.answers] == ["ben", "chloe"]
    assert not thread.question.open


def test_an_unanswered_question_is_listed_oldest_first(engine: Engine, members: Community, clock: ManualClock) -> None:
    first = engine.ask("dev", members.id, title="First", body="Oldest")
    clock.advance(timedelta(minutes=5))
    second = engine.ask("chloe", members.id, title="Second", body="Newer")
    clock.advance(timedelta(minutes=5))
    answered = engine.ask("ben", members.id, title="Third", body="Answered soon")
    engine.answer("ana", answered.id, body="Done")

    assert engine.unanswered_questions("ana", members.id) == [
        engine.question("ana", first.id).question,
        engine.question("ana", second.id).question,
    ]


def test_unanswered_questions_are_filtered_by_tag_and_by_age(
    engine: Engine, members: Community, clock: ManualClock
) -> None:
    old = engine.ask("dev", members.id, title="Old", body="Waiting", tags=["tig"])
    clock.advance(timedelta(hours=3))
    engine.ask("chloe", members.id, title="Recent", body="Waiting", tags=["tig"])
    engine.ask("chloe", members.id, title="Other theme", body="Waiting", tags=["mig"])
    clock.advance(timedelta(hours=1))

    older_than_two_hours = engine.unanswered_questions("ana", members.id, older_than=timedelta(hours=2))
    about_tig = engine.unanswered_questions("ana", members.id, tag="TIG")

    assert [q.id for q in older_than_two_hours] == [old.id]
    assert [q.title for q in about_tig] == ["Old", "Recent"]
    assert len(engine.unanswered_questions("ana", members.id, limit=1)) == 1


def test_a_question_whose_only_answer_is_withdrawn_is_unanswered_again(engine: Engine, members: Community) -> None:
    question = engine.ask("dev", members.id, title="Which rod?", body="Cast iron")
    answer = engine.answer("ben", question.id, body="Wrong advice")
    assert engine.unanswered_questions("ana", members.id) == []

    engine.withdraw("ben", ContributionKind.ANSWER, answer.id, reason="Wrong")

    again = engine.unanswered_questions("ana", members.id)
    assert [q.id for q in again] == [question.id]
    assert again[0].answer_count == 0
    assert engine.question("dev", question.id).answers == ()


def test_a_withdrawn_question_is_not_waiting_for_an_answer(engine: Engine, members: Community) -> None:
    question = engine.ask("dev", members.id, title="Never mind", body="Solved")

    engine.withdraw("dev", "question", question.id)

    assert engine.unanswered_questions("ana", members.id) == []
    with pytest.raises(ConflictError, match="withdrawn"):
        engine.answer("ben", question.id, body="Too late")


def test_the_asker_accepts_an_answer(engine: Engine, members: Community) -> None:
    question = engine.ask("dev", members.id, title="Which rod?", body="Cast iron")
    answer = engine.answer("ben", question.id, body="Nickel rods")

    accepted = engine.accept("dev", answer.id)

    assert accepted.accepted_answer_id == answer.id
    assert engine.question("chloe", question.id).accepted_answer == answer


def test_a_facilitator_accepts_an_answer_for_the_asker(engine: Engine, members: Community) -> None:
    question = engine.ask("dev", members.id, title="Which rod?", body="Cast iron")
    answer = engine.answer("ben", question.id, body="Nickel rods")

    assert engine.accept("ana", answer.id).accepted_answer_id == answer.id


@pytest.mark.parametrize("who", ["chloe", "ben"])
def test_another_member_cannot_accept_an_answer(engine: Engine, members: Community, who: str) -> None:
    question = engine.ask("dev", members.id, title="Which rod?", body="Cast iron")
    answer = engine.answer("ben", question.id, body="Nickel rods")

    with pytest.raises(PermissionDeniedError) as caught:
        engine.accept(who, answer.id)

    assert caught.value.reason == "needs the role facilitator (or be its author)"


def test_an_asker_who_left_the_community_can_no_longer_accept(engine: Engine, members: Community) -> None:
    question = engine.ask("dev", members.id, title="Which rod?", body="Cast iron")
    answer = engine.answer("ben", question.id, body="Nickel rods")
    engine.leave("dev", members.id)

    with pytest.raises(PermissionDeniedError):
        engine.accept("dev", answer.id)


def test_the_accepted_answer_can_be_changed_and_the_event_keeps_the_previous_one(
    engine: Engine, members: Community
) -> None:
    question = engine.ask("dev", members.id, title="Which rod?", body="Cast iron")
    first = engine.answer("ben", question.id, body="Nickel rods")
    better = engine.answer("chloe", question.id, body="Nickel rods, and preheat")
    engine.accept("dev", first.id)

    changed = engine.accept("dev", better.id)

    assert changed.accepted_answer_id == better.id
    last = last_own_event(engine)
    assert isinstance(last, AnswerAccepted)
    assert (last.previous_answer_id, last.previous_answer_author_id) == (first.id, "ben")
    assert (last.answer_author_id, last.asker_id) == ("chloe", "dev")


def test_accepting_the_accepted_answer_again_records_nothing(engine: Engine, members: Community) -> None:
    question = engine.ask("dev", members.id, title="Which rod?", body="Cast iron")
    answer = engine.answer("ben", question.id, body="Nickel rods")
    engine.accept("dev", answer.id)
    before = event_types(engine)

    engine.accept("dev", answer.id)

    assert event_types(engine) == before


def test_a_withdrawn_answer_cannot_be_accepted(engine: Engine, members: Community) -> None:
    question = engine.ask("dev", members.id, title="Which rod?", body="Cast iron")
    answer = engine.answer("ben", question.id, body="Nickel rods")
    engine.withdraw("ben", "answer", answer.id)

    with pytest.raises(ConflictError, match="withdrawn"):
        engine.accept("dev", answer.id)


def test_withdrawing_the_accepted_answer_clears_the_acceptance(engine: Engine, members: Community) -> None:
    question = engine.ask("dev", members.id, title="Which rod?", body="Cast iron")
    answer = engine.answer("ben", question.id, body="Nickel rods")
    engine.accept("dev", answer.id)

    engine.withdraw("ana", "answer", answer.id, reason="Unsafe advice")

    thread = engine.question("dev", question.id)
    assert thread.question.accepted_answer_id is None
    assert thread.accepted_answer is None


def test_answering_an_unknown_question_is_not_found(engine: Engine, members: Community) -> None:
    with pytest.raises(NotFoundError) as caught:
        engine.answer("ben", "no-such-question", body="Hello")

    assert (caught.value.kind, caught.value.id) == ("question", "no-such-question")


def test_the_thread_shows_live_answers_and_comments_oldest_first(
    engine: Engine, members: Community, clock: ManualClock
) -> None:
    question = engine.ask("dev", members.id, title="Which rod?", body="Cast iron")
    clock.advance(timedelta(minutes=1))
    kept = engine.answer("ben", question.id, body="Nickel rods")
    clock.advance(timedelta(minutes=1))
    dropped = engine.answer("chloe", question.id, body="No idea")
    clock.advance(timedelta(minutes=1))
    on_answer = engine.comment("dev", "answer", kept.id, body="Thanks!")
    clock.advance(timedelta(minutes=1))
    on_question = engine.comment("ana", "question", question.id, body="Good question")
    engine.withdraw("chloe", "answer", dropped.id)

    thread = engine.question("ben", question.id)

    assert thread.answers == (kept,)
    assert thread.comments == (on_answer, on_question)


def test_a_persons_contributions_are_listed_oldest_first_where_the_viewer_may_read(
    engine: Engine, members: Community, private: Community, clock: ManualClock
) -> None:
    engine.invite("ana", private.id, "ben")
    engine.join("ben", private.id)
    public_question = engine.ask("ben", members.id, title="Public", body="Anyone?")
    clock.advance(timedelta(minutes=1))
    secret_question = engine.ask("ben", private.id, title="Secret", body="Managers only")
    clock.advance(timedelta(minutes=1))
    answer = engine.answer("ben", public_question.id, body="Answering myself")

    seen_by_dev = engine.contributions_of("dev", "ben")
    seen_by_ana = engine.contributions_of("ana", "ben")
    only_questions = engine.contributions_of("ana", "ben", kinds=["question"])

    assert [c.id for c in seen_by_dev] == [public_question.id, answer.id]
    assert [c.id for c in seen_by_ana] == [public_question.id, secret_question.id, answer.id]
    assert [c.id for c in only_questions] == [public_question.id, secret_question.id]


def test_an_expert_is_found_for_the_tags_of_a_question(engine: Engine, members: Community) -> None:
    engine.assign_role("ana", members.id, "ben", Role.EXPERT, tags=["tig"])
    question = engine.ask("dev", members.id, title="TIG on aluminium?", body="Which gas?", tags=["tig"])

    experts = {m.person_id for tag in question.tags for m in engine.members("dev", members.id, role="expert", tag=tag)}

    assert experts == {"ben"}
