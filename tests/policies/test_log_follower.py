"""The log follower: recognition, participation levels and badges reacting after the commit,
a batch of committed events at a time (``follow="manual"`` and ``"thread"``), against the
same policies reacting inside each command's unit of work (``follow="unit"``)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import coplib
from coplib import Charter, CoplibError, Engine, InvalidInputError, ManualClock, PluginError
from coplib.domain import events as ev
from coplib.domain.history import AGGREGATE_KINDS, FollowerPosition, Ref, ref_of, replay
from coplib.domain.recognition import PointsBalance, PointsEntry
from coplib.policies.recognition import RecognitionPolicy
from coplib.testing.contract import every_event
from tests.scale import examples
from tests.unit.support import PEOPLE, START, counting_ids

MEMBERS = ("ana", "ben", "chloe", "dev")
Command = tuple[str, int, int]

commands = st.tuples(
    st.sampled_from(["ask", "answer", "answer", "accept", "endorse", "withdraw", "wait"]),
    st.integers(0, 3),
    st.integers(0, 15),
)


class Community:
    """One community run through the engine in a given follow mode."""

    def __init__(self, follow: str, url: str = "memory://", *, batch: int | None = None, **kwargs: Any) -> None:
        self.clock = ManualClock(START)
        plugins = [coplib.RecordingNotifier(), *kwargs.pop("plugins", ())]
        self.engine: Engine = coplib.open(
            url,
            people=PEOPLE,
            plugins=plugins,
            clock=self.clock,
            id_factory=counting_ids(follow),
            follow=follow,
            **kwargs,
        )
        if batch is not None:
            self.engine.runtime.follower.batch_size = batch
        self.questions: list[str] = []
        self.answers: list[str] = []

    def found(self) -> Community:
        e = self.engine
        e.create_organisation("eve", "Acme", organisation_id="acme")
        e.create_community("ana", "acme", name="Welding", charter=Charter(vocation="Weld"), community_id="welding")
        for person in MEMBERS[1:]:
            e.join(person, "welding")
        return self

    def run(self, command: Command) -> None:
        name, who, pick = command
        e, actor = self.engine, MEMBERS[who]
        try:
            match name:
                case "ask":
                    self.questions.append(e.ask(actor, "welding", title=f"Q{pick}", body="Which gas?").id)
                case "answer" if self.questions:
                    question = self.questions[pick % len(self.questions)]
                    self.answers.append(e.answer(actor, question, body="Argon").id)
                case "accept" if self.answers:
                    e.accept("ana", self.answers[pick % len(self.answers)])  # the facilitator may
                case "endorse" if self.answers:
                    e.endorse(actor, "answer", self.answers[pick % len(self.answers)])
                case "withdraw" if self.answers:
                    e.withdraw("ana", "answer", self.answers[pick % len(self.answers)])
                case "wait":
                    self.clock.advance(timedelta(hours=pick * 5 + 1))
        except CoplibError:
            pass  # refused as it would be in either mode (a withdrawn answer, a self-endorsement...)

    def recognition(self) -> dict[str, Any]:
        """What the following policies made, person by person (ids set aside: the two modes
        hand out ids in a different order)."""
        store = self.engine.store
        balances = {b.person_id: (b.points, b.awarded, b.reversed, b.entries) for b in store.find("points_balance")}
        levels = {p.person_id: (p.level, p.pinned) for p in store.find("participation")}  # type: ignore[attr-defined]
        badges = Counter((a.person_id, a.badge) for a in store.find("badge_award"))  # type: ignore[attr-defined]
        return {"balances": balances, "levels": levels, "badges": badges}


def awards_per_cause(engine: Engine) -> Counter[tuple[str, str, str]]:
    return Counter(
        (r.event.cause_event_id, r.event.reason, r.event.person_id)
        for r in every_event(engine.store)
        if isinstance(r.event, ev.PointsAwarded)
    )


def follower_position(engine: Engine) -> int:
    found = engine.store.get(Ref("log_follower", "policies"))
    assert found is not None and isinstance(found.value, FollowerPosition)
    return found.value.through


# -- what a host sees -----------------------------------------------------------------------------


def test_in_manual_mode_an_answer_is_recorded_at_once_and_its_points_arrive_when_the_host_drains() -> None:
    c = Community("manual").found()
    question = c.engine.ask("chloe", "welding", title="Which wire?", body="For thin sheets")
    c.engine.answer("ben", question.id, body="0.8 mm")
    assert c.engine.store.find("points_balance") == []
    assert c.engine.runtime.follower.pending()
    handled = c.engine.drain()
    assert handled > 0 and not c.engine.runtime.follower.pending()
    balance = c.engine.store.get(Ref("points_balance", "welding/ben"))
    assert balance is not None and isinstance(balance.value, PointsBalance) and balance.value.points > 0
    assert c.engine.drain() == 0


def test_in_unit_mode_nothing_waits_for_a_follower_and_no_commit_is_marked() -> None:
    c = Community("unit").found()
    question = c.engine.ask("chloe", "welding", title="Which wire?", body="For thin sheets")
    c.engine.answer("ben", question.id, body="0.8 mm")
    assert c.engine.store.find("points_balance") != []
    assert c.engine.drain() == 0
    types = {r.event.TYPE for r in every_event(c.engine.store)}
    assert "reactions_deferred" not in types and "log_followed" not in types


def test_a_command_with_a_follower_keeps_the_answer_guarantee_in_its_own_unit_of_work() -> None:
    c = Community("manual").found()
    before = c.engine.store.last_position()
    c.engine.ask("chloe", "welding", title="Which wire?", body="For thin sheets")
    committed = [r.event for r in c.engine.store.events(after=before)]
    assert isinstance(committed[0], ev.ReactionsDeferred) and committed[0].covers == len(committed) - 1
    assert [type(e) for e in committed[1:]] == [ev.QuestionAsked, ev.QuestionRouted]


def test_the_tick_catches_the_follower_up_before_it_judges_what_is_due() -> None:
    c = Community("manual").found()
    question = c.engine.ask("chloe", "welding", title="Which wire?", body="For thin sheets")
    c.engine.answer("ben", question.id, body="0.8 mm")
    c.engine.tick()
    assert not c.engine.runtime.follower.pending()
    assert c.engine.store.find("points_balance") != []


def test_an_unknown_follow_mode_is_refused_naming_the_field_and_opens_no_store(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as caught:
        coplib.open(f"sqlite:///{tmp_path / 'x.db'}", follow="sometimes")
    assert caught.value.errors[0].path == "$.follow"
    assert not (tmp_path / "x.db").exists()


# -- the same result as reacting in the unit ----------------------------------------------------


@settings(max_examples=examples(25), deadline=None)
@given(st.lists(commands, max_size=30))
def test_drained_after_every_command_a_follower_makes_what_the_policies_make_in_the_unit(
    history: list[Command],
) -> None:
    inline, following = Community("unit").found(), Community("manual").found()
    following.engine.drain()
    for command in history:
        inline.run(command)
        following.run(command)
        following.engine.drain()
    assert following.recognition() == inline.recognition()


@settings(max_examples=examples(25), deadline=None)
@given(st.lists(st.tuples(commands, st.booleans()), max_size=40), st.integers(1, 7))
def test_however_batches_fall_every_committed_event_gets_its_reactions_exactly_once(
    history: list[tuple[Command, bool]], batch: int
) -> None:
    c = Community("manual", batch=batch, strict=True).found()
    for command, drain in history:
        c.run(command)
        if drain:
            c.engine.drain()
    c.engine.drain()
    assert not c.engine.runtime.follower.pending()
    assert follower_position(c.engine) <= c.engine.store.last_position()
    assert all(n == 1 for n in awards_per_cause(c.engine).values())
    # Every contribution rewarded once: each answer by someone other than the asker paid once.
    answered = [
        r.event
        for r in every_event(c.engine.store)
        if isinstance(r.event, ev.AnswerPosted) and r.event.actor_id != r.event.asker_id
    ]
    paid = {cause for cause, reason, _ in awards_per_cause(c.engine) if reason == "answer_posted"}
    assert {e.id for e in answered} == paid
    # Replaying the log (markers and positions included) rebuilds the stored state.
    stored = {ref_of(v): v for kind in AGGREGATE_KINDS for v in c.engine.store.find(kind)}
    assert replay(r.event for r in every_event(c.engine.store)) == stored
    entries = [e for e in c.engine.store.find("points_entry") if isinstance(e, PointsEntry)]
    for balance in c.engine.store.find("points_balance"):
        assert isinstance(balance, PointsBalance)
        mine = [e for e in entries if e.person_id == balance.person_id and e.community_id == balance.community_id]
        assert balance.points == sum(e.points for e in mine)


def test_a_long_stretch_with_nothing_to_follow_is_recorded_once_and_not_read_again() -> None:
    c = Community("manual", batch=3).found()
    c.engine.runtime.follower.record_stretch = 5
    c.engine.drain()
    head = c.engine.store.last_position()
    assert follower_position(c.engine) >= head - 5
    assert c.engine.drain() == 0 and c.engine.store.last_position() == head  # nothing written again


# -- running it ---------------------------------------------------------------------------------


def test_a_follower_thread_catches_up_without_being_asked_and_close_waits_for_it(tmp_path: Path) -> None:
    c = Community("thread", f"sqlite:///{tmp_path / 'c.db'}").found()
    question = c.engine.ask("chloe", "welding", title="Which wire?", body="For thin sheets")
    c.engine.answer("ben", question.id, body="0.8 mm")
    deadline = time.monotonic() + 30
    while c.engine.store.get(Ref("points_balance", "welding/ben")) is None:
        assert time.monotonic() < deadline, "the follower thread did not catch up within 30 s"
        time.sleep(0.01)
    for i in range(20):
        c.engine.ask("dev", "welding", title=f"Q{i}", body="?")
    c.engine.close()
    again = coplib.open(f"sqlite:///{tmp_path / 'c.db'}", people=PEOPLE, follow="manual")
    try:
        assert not again.runtime.follower.pending()
        assert again.drain() == 0
    finally:
        again.close()


def test_an_engine_in_unit_mode_catches_up_on_opening_what_a_following_engine_left(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    c = Community("manual", url).found()
    question = c.engine.ask("chloe", "welding", title="Which wire?", body="For thin sheets")
    c.engine.answer("ben", question.id, body="0.8 mm")
    c.engine.runtime.store.close()  # as if the process died before its follower ran
    later = coplib.open(url, people=PEOPLE)
    try:
        assert later.store.get(Ref("points_balance", "welding/ben")) is not None
        assert not later.runtime.follower.pending()
    finally:
        later.close()


def test_two_engines_following_one_file_together_react_to_each_event_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    writer = Community("manual", url).found()
    for i in range(30):
        question = writer.engine.ask(MEMBERS[1 + i % 3], "welding", title=f"Q{i}", body="?")
        writer.engine.answer(MEMBERS[(2 + i) % 4], question.id, body="!")
    followers = [coplib.open(url, people=PEOPLE, follow="manual") for _ in range(2)]
    for engine in followers:
        engine.runtime.follower.batch_size = 7
    errors: list[BaseException] = []

    def drain(engine: Engine) -> None:
        try:
            engine.drain()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(engine,)) for engine in followers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert not writer.engine.runtime.follower.pending()
    awards = awards_per_cause(writer.engine)
    assert awards and all(n == 1 for n in awards.values())
    for engine in followers:
        engine.close()
    writer.engine.close()


class FailsOnce(RecognitionPolicy):
    """Recognition that raises on its first reaction to an answer."""

    name = "recognition"

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def react(self, ctx: Any, event: ev.DomainEvent) -> None:
        if isinstance(event, ev.AnswerPosted) and not self.failed:
            self.failed = True
            raise RuntimeError("the ledger is not reachable")
        super().react(ctx, event)


class FailingRecognitionPlugin:
    def __init__(self, policy: FailsOnce) -> None:
        self.policy = policy

    @coplib.hookimpl
    def coplib_policies(self) -> list[Any]:
        return [self.policy]


def test_a_following_policy_that_fails_is_set_aside_and_retried_by_the_tick_as_in_the_unit() -> None:
    policy = FailsOnce()
    c = Community("manual", plugins=[FailingRecognitionPlugin(policy)], block=["coplib.policy.recognition"]).found()
    question = c.engine.ask("chloe", "welding", title="Which wire?", body="For thin sheets")
    c.engine.answer("ben", question.id, body="0.8 mm")
    c.engine.drain()
    failed = [r.event for r in every_event(c.engine.store) if isinstance(r.event, ev.PolicyReactionFailed)]
    assert [f.policy for f in failed] == ["recognition"] and not c.engine.runtime.follower.pending()
    c.clock.advance(timedelta(minutes=5))
    assert c.engine.tick().retried == 1
    assert c.engine.store.get(Ref("points_balance", "welding/ben")) is not None


def test_in_strict_mode_a_following_policy_that_fails_stops_the_drain_and_leaves_the_batch_to_follow() -> None:
    policy = FailsOnce()
    c = Community(
        "manual", plugins=[FailingRecognitionPlugin(policy)], block=["coplib.policy.recognition"], strict=True
    ).found()
    question = c.engine.ask("chloe", "welding", title="Which wire?", body="For thin sheets")
    c.engine.answer("ben", question.id, body="0.8 mm")
    with pytest.raises(PluginError):
        c.engine.drain()
    assert c.engine.runtime.follower.pending()
    c.engine.drain()  # the policy works now: the same batch is followed, once
    assert not c.engine.runtime.follower.pending()
    assert all(n == 1 for n in awards_per_cause(c.engine).values())
