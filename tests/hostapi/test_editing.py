"""Editing: revisions (who, when, what changed, read by those allowed), retagging, taking an
acceptance back, closing, reopening and locking a thread; the policies' reactions."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from coplib import (
    SYSTEM,
    ConflictError,
    Engine,
    InvalidInputError,
    ManualClock,
    NotFoundError,
    PermissionDeniedError,
    Question,
    Role,
)
from coplib.domain import events as ev
from coplib.domain.contributions import COMMENT_MAX, Comment, ContributionKind, Meeting, Resource, ThreadStatus
from coplib.domain.guarantee import CloseReason, Watch
from coplib.domain.history import Ref
from coplib.domain.moderation import RevisedFields, Revision


def _ask(engine: Engine, *, tags: tuple[str, ...] = ("welding",)) -> Question:
    return engine.ask("chloe", "welding", title="Which wire for thin sheet?", body="It burns through.", tags=tags)


def _monthly_meeting(engine: Engine, clock: ManualClock) -> Meeting:
    """A meeting of an hour, two days from now, scheduled by its organiser ana."""
    start = clock.now() + timedelta(days=2)
    return engine.schedule_meeting(
        "ana", "welding", title="Monthly", starts_at=start, ends_at=start + timedelta(hours=1)
    )


def test_an_author_edits_their_question_and_each_edit_is_a_revision_kept_with_its_previous_values(
    engine: Engine, clock: ManualClock
) -> None:
    question = _ask(engine)
    clock.advance(timedelta(minutes=5))
    engine.revise("chloe", "question", question.id, body="It burns through at 80 A.", reason="the current")
    clock.advance(timedelta(minutes=5))
    edited = engine.revise("chloe", "question", question.id, title="Which wire for 1 mm sheet?")

    assert (edited.revision, edited.title, edited.body) == (
        2,
        "Which wire for 1 mm sheet?",
        "It burns through at 80 A.",
    )
    revisions = engine.revisions("chloe", "question", question.id)
    assert [(r.number, r.revised_by, r.revised_at) for r in revisions] == [
        (1, "chloe", question.created_at + timedelta(minutes=5)),
        (2, "chloe", question.created_at + timedelta(minutes=10)),
    ]
    assert revisions[0].changed.names() == ("body",) and revisions[0].reason == "the current"
    # The first text is the current one with every revision's previous values put back.
    original = {"title": edited.title, "body": edited.body}
    for revision in reversed(revisions):
        original.update({name: getattr(revision.previous, name) for name in revision.previous.names()})
    assert original == {"title": question.title, "body": question.body}


def test_an_edit_that_changes_nothing_records_nothing(engine: Engine) -> None:
    question = _ask(engine)
    before = engine.store.last_position()

    same = engine.revise("chloe", "question", question.id, body=question.body)

    assert same.revision == 0 and engine.store.last_position() == before


@pytest.mark.parametrize("person", ["ana", "dev"])
def test_a_facilitator_or_documentalist_edits_anyones_contribution_a_member_does_not(
    engine: Engine, person: str
) -> None:
    question = _ask(engine)
    engine.assign_role("ana", "welding", "dev", Role.DOCUMENTALIST) if person == "dev" else None

    assert engine.revise(person, "question", question.id, body="Clearer.").revision == 1
    with pytest.raises(PermissionDeniedError):
        engine.revise("ben", "question", question.id, body="Not mine.")


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("answer", {"body": "ER4043, 0.8 mm"}),
        ("comment", {"body": "Try pulse mode"}),
        ("resource", {"title": "The AWS guide", "location": "https://example.org/aws", "tags": ["aluminium"]}),
        ("experience", {"title": "Thin sheet", "body": "Pulse saved the day"}),
    ],
)
def test_every_kind_of_contribution_is_edited_by_its_author(
    engine: Engine, kind: str, fields: dict[str, object]
) -> None:
    question = _ask(engine)
    answer = engine.answer("ben", question.id, body="ER4043")
    made = {
        "answer": lambda: answer,
        "comment": lambda: engine.comment("ben", "answer", answer.id, body="Or ER5356"),
        "resource": lambda: engine.share_resource("ben", "welding", title="A guide", location="https://example.org"),
        "experience": lambda: engine.record_experience("ben", "welding", title="Sheet", body="Pulse"),
    }[kind]()

    edited = engine.revise("ben", kind, made.id, **fields)  # type: ignore[arg-type]

    for name, value in fields.items():
        assert getattr(edited, name) == (frozenset(value) if name == "tags" else value)  # type: ignore[arg-type]
    assert [sorted(r.changed.names()) for r in engine.revisions("ben", kind, made.id)] == [sorted(fields)]


def test_a_meeting_is_moved_by_its_organiser_but_never_to_end_before_it_starts(
    engine: Engine, clock: ManualClock
) -> None:
    meeting = _monthly_meeting(engine, clock)
    start = meeting.starts_at

    moved = engine.revise(
        "ana", "meeting", meeting.id, starts_at=start + timedelta(days=1), ends_at=start + timedelta(days=1, hours=2)
    )

    assert moved.starts_at == start + timedelta(days=1)
    with pytest.raises(InvalidInputError) as caught:
        engine.revise("ana", "meeting", meeting.id, ends_at=start)
    assert [e.path for e in caught.value.errors] == ["$.ends_at"]


@pytest.mark.parametrize(
    ("kind", "changed"),
    [
        ("resource", RevisedFields(location="")),  # a meeting's location may be empty, a resource's may not
        ("comment", RevisedFields(body="x" * (COMMENT_MAX + 1))),  # longer than a comment may be
    ],
)
def test_an_imported_revision_a_kind_may_not_take_is_refused_and_stores_nothing(
    engine: Engine, clock: ManualClock, kind: str, changed: RevisedFields
) -> None:
    if kind == "resource":
        made: object = engine.share_resource("ben", "welding", title="A guide", location="https://example.org")
    else:
        made = engine.comment("ben", "question", _ask(engine).id, body="Try a thinner wire.")
    assert isinstance(made, (Resource, Comment))
    before = engine.store.last_position()
    current = engine.store.get(Ref(kind, made.id))
    revision = ev.ContributionRevised(
        id="e-revised",
        actor_id="ben",
        community_id="welding",
        occurred_at=clock.now(),
        contribution_id=made.id,
        contribution_kind=ContributionKind(kind),
        author_id="ben",
        revision=1,
        changed=changed,
        previous=RevisedFields(**{name: getattr(made, name) for name in changed.names()}),
    )

    with pytest.raises(ConflictError, match=rf"{kind} .* cannot take revision 1"):
        engine.import_history([revision])

    assert engine.store.last_position() == before
    assert engine.store.get(Ref(kind, made.id)) == current
    assert engine.revisions("ben", kind, made.id) == []


def test_an_imported_revision_of_a_meeting_s_start_or_end_alone_is_checked_against_the_other(
    engine: Engine, clock: ManualClock
) -> None:
    meeting = _monthly_meeting(engine, clock)
    start = meeting.starts_at

    def moved(revision: int, **changed: datetime) -> ev.ContributionRevised:
        return ev.ContributionRevised(
            id=f"e-moved-{revision}",
            actor_id="ana",
            community_id="welding",
            occurred_at=clock.now(),
            contribution_id=meeting.id,
            contribution_kind=ContributionKind.MEETING,
            author_id="ana",
            revision=revision,
            changed=RevisedFields(**changed),
            previous=RevisedFields(**{name: getattr(meeting, name) for name in changed}),
        )

    assert engine.import_history([moved(1, ends_at=start + timedelta(hours=2))]) == 1
    with pytest.raises(ConflictError, match=r"meeting .* cannot take revision 2: .*end before it starts"):
        engine.import_history([moved(2, ends_at=start - timedelta(minutes=1))])
    with pytest.raises(ConflictError, match=r"meeting .* cannot take revision 2: .*end before it starts"):
        engine.import_history([moved(2, starts_at=start + timedelta(hours=3))])

    found = engine.store.get(Ref("meeting", meeting.id))
    assert found is not None and isinstance(found.value, Meeting)
    assert (found.value.revision, found.value.starts_at, found.value.ends_at) == (1, start, start + timedelta(hours=2))


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"body": "bell \x07"}, "$.body"),
        ({"title": "two\nlines"}, "$.title"),
        ({"location": "https://example.org"}, "$.location"),  # a question has no location
        ({}, "$"),
        ({"tags": "welding"}, "$.tags"),
    ],
)
def test_a_bad_edit_is_refused_naming_the_field_and_changes_nothing(
    engine: Engine, fields: dict[str, object], path: str
) -> None:
    question = _ask(engine)
    before = engine.store.last_position()

    with pytest.raises(InvalidInputError) as caught:
        engine.revise("chloe", "question", question.id, **fields)  # type: ignore[arg-type]

    assert path in [e.path for e in caught.value.errors]
    assert engine.store.last_position() == before


def test_a_comment_edit_keeps_to_the_comment_length(engine: Engine) -> None:
    question = _ask(engine)
    comment = engine.comment("ben", "question", question.id, body="Which machine?")

    with pytest.raises(InvalidInputError) as caught:
        engine.revise("ben", "comment", comment.id, body="x" * (COMMENT_MAX + 1))

    assert [e.path for e in caught.value.errors] == ["$.body"]


def test_revisions_are_read_by_the_author_and_the_moderators_and_unknown_to_outsiders(engine: Engine) -> None:
    question = _ask(engine)
    engine.revise("chloe", "question", question.id, body="Edited")

    assert len(engine.revisions("ana", "question", question.id)) == 1
    with pytest.raises(PermissionDeniedError):
        engine.revisions("dev", "question", question.id)
    private = engine.ask("ana", "managers", title="Budget?", body="For 2027")
    engine.revise("ana", "question", private.id, body="For 2028")
    with pytest.raises(NotFoundError) as caught:
        engine.revisions("chloe", "question", private.id)
    assert (caught.value.kind, caught.value.id) == ("question", private.id)


def test_revisions_survive_in_sqlite(tmp_path: object) -> None:
    import coplib
    from tests.unit.support import PEOPLE

    url = f"sqlite:///{tmp_path}/coplib.db"
    with coplib.open(url, people=PEOPLE) as engine:
        engine.create_organisation("eve", "Acme", organisation_id="acme")
        engine.create_community("ana", "acme", name="Welding", vocation="v", community_id="welding")
        question = engine.ask("ana", "welding", title="T", body="B", tags=["x"])
        engine.revise("ana", "question", question.id, body="B2", tags=["y"])
    with coplib.open(url, people=PEOPLE) as engine:
        [revision] = engine.revisions("ana", "question", question.id)
        assert isinstance(revision, Revision)
        assert (revision.previous.body, revision.previous.tags, revision.changed.tags) == ("B", {"x"}, {"y"})
        assert engine.question("ana", question.id).question.body == "B2"


# -- policies react ---------------------------------------------------------------------------------


def test_a_retagged_question_is_routed_again_to_the_experts_of_its_new_tags(engine: Engine) -> None:
    engine.assign_role("ana", "welding", "dev", Role.EXPERT, tags=["painting"])
    question = _ask(engine, tags=("painting",))
    [watch] = [r.event for r in engine.store.events(limit=10_000) if r.event.TYPE == "question_routed"]
    assert watch.experts == ("dev",)  # type: ignore[attr-defined]

    engine.retag("chloe", question.id, ["aluminium"])

    routed = [r.event for r in engine.store.events(limit=10_000) if r.event.TYPE == "question_routed"]
    assert routed[-1].experts == ("ben",)  # type: ignore[attr-defined]
    told = [e for e in engine.outbox(SYSTEM, recipient_id="ben", limit=100) if e.message.topic == "question_for_expert"]
    assert len(told) == 1


def test_a_retag_is_for_the_asker_and_the_moderators(engine: Engine) -> None:
    question = _ask(engine)
    with pytest.raises(PermissionDeniedError):
        engine.retag("ben", question.id, ["aluminium"])
    assert engine.retag("ana", question.id, ["aluminium"]).tags == {"aluminium"}


def test_an_edited_answer_keeps_its_recognition(engine: Engine) -> None:
    question = _ask(engine)
    answer = engine.answer("ben", question.id, body="ER4043")
    engine.accept("chloe", answer.id)
    before = engine.points_balance("ana", "welding", "ben")

    engine.revise("ben", "answer", answer.id, body="ER4043, with argon")

    after = engine.points_balance("ana", "welding", "ben")
    assert before is not None and after is not None
    assert (after.points, after.entries) == (before.points, before.entries)
    assert engine.question("dev", question.id).accepted_answer is not None


def test_taking_an_acceptance_back_takes_its_points_back(engine: Engine) -> None:
    question = _ask(engine)
    answer = engine.answer("ben", question.id, body="ER4043")
    posted = engine.points_balance("ana", "welding", "ben")
    engine.accept("chloe", answer.id)

    unaccepted = engine.unaccept("chloe", question.id)

    assert unaccepted.accepted_answer_id is None
    balance = engine.points_balance("ana", "welding", "ben")
    assert posted is not None and balance is not None and balance.points == posted.points
    with pytest.raises(ConflictError):
        engine.unaccept("chloe", question.id)
    with pytest.raises(PermissionDeniedError):
        engine.accept("chloe", answer.id) and engine.unaccept("dev", question.id)


# -- the thread's status ----------------------------------------------------------------------------


def test_a_closed_question_is_not_unanswered_and_the_guarantee_stops_watching_it(engine: Engine) -> None:
    question = _ask(engine)
    assert [q.id for q in engine.unanswered_questions("dev", "welding")] == [question.id]

    closed = engine.close_thread("chloe", question.id, reason="solved elsewhere")

    assert closed.status is ThreadStatus.CLOSED
    assert engine.unanswered_questions("dev", "welding") == []
    assert list(engine.questions("dev", "welding", order="unanswered")) == []
    closes = [r.event for r in engine.store.events(limit=10_000) if r.event.TYPE == "watch_closed"]
    assert [c.reason.value for c in closes] == ["moderated"]  # type: ignore[attr-defined]

    reopened = engine.reopen_thread("chloe", question.id)
    assert reopened.status is ThreadStatus.OPEN
    assert [q.id for q in engine.unanswered_questions("dev", "welding")] == [question.id]


def _watch(engine: Engine, question_id: str) -> Watch:
    stored = engine.store.get(Ref("answer_watch", question_id))
    assert stored is not None and isinstance(stored.value, Watch)
    return stored.value


def _told(engine: Engine, person_id: str, topic: str) -> int:
    return sum(1 for e in engine.outbox(SYSTEM, recipient_id=person_id, limit=1000) if e.message.topic == topic)


@pytest.mark.parametrize("how", ["reopened", "shown again"])
def test_a_question_reopened_or_shown_again_unanswered_is_promised_a_fast_answer_again(
    engine: Engine, clock: ManualClock, how: str
) -> None:
    question = _ask(engine, tags=("aluminium",))
    assert _watch(engine, question.id).experts == ("ben",) and _told(engine, "ben", "question_for_expert") == 1
    first_step = _watch(engine, question.id).due_at
    assert first_step is not None
    clock.advance((first_step - clock.now()) / 2)  # moderated before its first reminder
    if how == "reopened":
        engine.close_thread("ana", question.id, reason="off topic?")
    else:
        engine.hide("ana", "question", question.id, reason="check the wording")
    assert not _watch(engine, question.id).open
    clock.advance(timedelta(hours=1))

    if how == "reopened":
        engine.reopen_thread("ana", question.id)
    else:
        engine.unhide("ana", "question", question.id)

    watch = _watch(engine, question.id)
    assert watch.open and watch.steps_taken == 0 and watch.experts == ("ben",)
    assert watch.due_at is not None and watch.due_at > clock.now()
    assert _told(engine, "ben", "question_for_expert") == 2  # the expert is told again
    # The ladder starts over from its first step, as for a new question.
    clock.advance(watch.due_at - clock.now())
    engine.tick()
    assert _watch(engine, question.id).steps_taken >= 1


def test_a_thread_reopened_after_its_answer_is_not_watched_again(engine: Engine) -> None:
    question = _ask(engine, tags=("aluminium",))
    engine.answer("ben", question.id, body="ER4043")
    engine.close_thread("chloe", question.id)

    engine.reopen_thread("chloe", question.id)

    watch = _watch(engine, question.id)
    assert not watch.open and watch.closed_because is CloseReason.ANSWERED
    assert _told(engine, "ben", "question_for_expert") == 1


def test_a_locked_thread_takes_no_new_answer_nor_comment_and_only_a_facilitator_locks_or_unlocks(
    engine: Engine,
) -> None:
    question = _ask(engine)
    answer = engine.answer("ben", question.id, body="ER4043")
    with pytest.raises(PermissionDeniedError):
        engine.lock_thread("chloe", question.id)

    engine.lock_thread("ana", question.id, reason="heated")

    for attempt in (
        lambda: engine.answer("dev", question.id, body="Me too"),
        lambda: engine.comment("dev", "question", question.id, body="Me too"),
        lambda: engine.comment("dev", "answer", answer.id, body="Me too"),
    ):
        with pytest.raises(ConflictError):
            attempt()
    with pytest.raises(PermissionDeniedError):
        engine.reopen_thread("chloe", question.id)  # the asker closes and reopens, not unlocks
    engine.reopen_thread("ana", question.id)
    assert engine.comment("dev", "question", question.id, body="Thanks").body == "Thanks"


def test_a_locked_thread_is_edited_by_its_facilitators_only_not_by_its_authors(engine: Engine) -> None:
    question = _ask(engine)
    answer = engine.answer("ben", question.id, body="ER4043")
    comment = engine.comment("dev", "answer", answer.id, body="Or ER5356")
    engine.lock_thread("ana", question.id, reason="heated")
    before = engine.store.last_position()
    for attempt in (
        lambda: engine.revise("chloe", "question", question.id, body="Edited after the lock"),
        lambda: engine.retag("chloe", question.id, ["tig"]),
        lambda: engine.revise("ben", "answer", answer.id, body="Edited after the lock"),
        lambda: engine.revise("dev", "comment", comment.id, body="Edited after the lock"),
    ):
        with pytest.raises(ConflictError, match="locked"):
            attempt()
    assert engine.store.last_position() == before  # refused: nothing recorded

    assert engine.revise("ana", "answer", answer.id, body="ER4043 (facilitator's edit)").body.endswith("edit)")
    engine.reopen_thread("ana", question.id)
    assert engine.revise("ben", "answer", answer.id, body="ER4043, or ER5356").body == "ER4043, or ER5356"


def test_another_member_neither_closes_nor_reopens_a_thread(engine: Engine) -> None:
    question = _ask(engine)
    with pytest.raises(PermissionDeniedError):
        engine.close_thread("dev", question.id)
    before = engine.store.last_position()
    assert engine.close_thread("chloe", question.id).status is ThreadStatus.CLOSED
    assert engine.close_thread("chloe", question.id).status is ThreadStatus.CLOSED  # again: nothing new
    assert engine.store.last_position() > before
