"""Moderation: flags with a reason, the facilitators' queue, hiding with a reason the author
sees (and is told of, in French or English), showing again, dismissing flags."""

from __future__ import annotations

import pytest

from coplib import (
    SYSTEM,
    ConflictError,
    Engine,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from coplib.domain.moderation import FlagStatus
from coplib.notification.messages import render


def _thread(engine: Engine) -> tuple[str, str]:
    question = engine.ask("chloe", "welding", title="Which wire?", body="For thin sheet", tags=["aluminium"])
    answer = engine.answer("ben", question.id, body="Buy my course at example.com")
    return question.id, answer.id


def _topics(engine: Engine, person: str) -> list[str]:
    return [e.message.topic for e in engine.outbox(SYSTEM, recipient_id=person, limit=1000)]


def test_a_member_flags_someone_elses_contribution_once_and_never_their_own(engine: Engine) -> None:
    _, answer = _thread(engine)

    flag = engine.flag("dev", "answer", answer, reason="advertising")

    assert (flag.status, flag.author_id, flag.target_author_id) == (FlagStatus.OPEN, "dev", "ben")
    with pytest.raises(ConflictError):
        engine.flag("dev", "answer", answer, reason="again")
    with pytest.raises(PermissionDeniedError):
        engine.flag("ben", "answer", answer, reason="mine")
    with pytest.raises(InvalidInputError) as caught:
        engine.flag("chloe", "answer", answer, reason="")
    assert [e.path for e in caught.value.errors] == ["$.reason"]


def test_the_moderation_queue_is_the_facilitators_and_lists_open_flags_oldest_first(engine: Engine) -> None:
    _, answer = _thread(engine)
    first = engine.flag("dev", "answer", answer, reason="advertising")
    second = engine.flag("chloe", "answer", answer, reason="spam")

    assert [f.id for f in engine.moderation_queue("ana", "welding")] == [first.id, second.id]
    assert _topics(engine, "ana").count("contribution_flagged") == 2  # the facilitator is told
    with pytest.raises(PermissionDeniedError):
        engine.moderation_queue("dev", "welding")
    with pytest.raises(NotFoundError):
        engine.moderation_queue("chloe", "managers")


def test_a_hidden_contribution_is_shown_to_its_author_with_the_reason_and_to_nobody_else(engine: Engine) -> None:
    question, answer = _thread(engine)
    engine.flag("dev", "answer", answer, reason="advertising")

    hidden = engine.hide("ana", "answer", answer, reason="advertising is not allowed")

    assert hidden.hidden_reason == "advertising is not allowed"
    assert engine.question("dev", question).answers == ()
    assert [a.hidden_reason for a in engine.question("ben", question).answers] == ["advertising is not allowed"]
    assert [a.id for a in engine.question("ana", question).answers] == [answer]  # the facilitator moderates
    assert engine.contributions_of("dev", "ben") == []
    assert [c.id for c in engine.contributions_of("ben", "ben")] == [answer]
    assert list(engine.moderation_queue("ana", "welding")) == []
    # A hidden answer answers nothing: the question is unanswered again.
    assert [q.id for q in engine.unanswered_questions("dev", "welding")] == [question]


def test_the_author_of_a_hidden_contribution_and_the_flaggers_are_told_in_their_language(engine: Engine) -> None:
    _, answer = _thread(engine)
    engine.flag("chloe", "answer", answer, reason="advertising")

    engine.hide("ana", "answer", answer, reason="publicité")

    [to_ben] = [
        e.message
        for e in engine.outbox(SYSTEM, recipient_id="ben", limit=1000)
        if e.message.topic == "contribution_hidden"
    ]
    assert "publicité" in render(to_ben.topic, to_ben.params, "en").body
    assert "masqué" in render(to_ben.topic, to_ben.params, "fr").body
    assert "flag_upheld" in _topics(engine, "chloe")


def test_dismissed_flags_leave_the_contribution_shown_and_their_authors_are_told(engine: Engine) -> None:
    question, answer = _thread(engine)
    engine.flag("dev", "answer", answer, reason="rude")

    dismissed = engine.dismiss_flags("ana", "answer", answer, note="it is on topic")

    assert [f.status for f in dismissed] == [FlagStatus.DISMISSED]
    assert [a.id for a in engine.question("chloe", question).answers] == [answer]
    assert "flag_dismissed" in _topics(engine, "dev")
    assert engine.dismiss_flags("ana", "answer", answer) == []


def test_only_a_facilitator_hides_shows_again_or_dismisses(engine: Engine) -> None:
    question, answer = _thread(engine)
    for attempt in (
        lambda: engine.hide("chloe", "answer", answer, reason="no"),
        lambda: engine.unhide("chloe", "answer", answer),
        lambda: engine.dismiss_flags("chloe", "answer", answer),
    ):
        with pytest.raises(PermissionDeniedError):
            attempt()
    engine.hide("ana", "question", question, reason="duplicate")
    with pytest.raises(ConflictError):
        engine.hide("ana", "question", question, reason="twice")
    with pytest.raises(NotFoundError):
        engine.question("dev", question)  # hidden: unknown to the others

    shown = engine.unhide("ana", "question", question)

    assert shown.hidden_reason is None
    assert engine.question("dev", question).question.id == question
    with pytest.raises(ConflictError):
        engine.unhide("ana", "question", question)


def test_a_hidden_question_leaves_the_questions_list_of_the_others(engine: Engine) -> None:
    question, _ = _thread(engine)
    engine.hide("ana", "question", question, reason="duplicate")

    assert list(engine.questions("dev", "welding")) == []
    assert [q.id for q in engine.questions("chloe", "welding")] == [question]


def test_the_stored_state_after_editing_and_moderation_is_what_replaying_its_events_gives(engine: Engine) -> None:
    from coplib.domain.history import replay
    from tests.unit.support import snapshot

    question, answer = _thread(engine)
    engine.revise("chloe", "question", question, body="For 1 mm sheet", tags=["aluminium", "sheet"])
    engine.accept("chloe", answer)
    engine.unaccept("chloe", question)
    engine.flag("dev", "answer", answer, reason="advertising")
    engine.hide("ana", "answer", answer, reason="advertising")
    engine.unhide("ana", "answer", answer)
    engine.flag("chloe", "answer", answer, reason="still advertising")
    engine.dismiss_flags("ana", "answer", answer, note="fine now")
    engine.lock_thread("ana", question)
    engine.reopen_thread("ana", question)

    replayed = replay(r.event for r in engine.store.events(limit=100_000))
    stored = {ref: value for ref, (value, _) in snapshot(engine).items()}
    assert replayed == stored
