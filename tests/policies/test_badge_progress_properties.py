"""The mentor badge's progress under random sequences of questions, answers and withdrawals:
while the answerer has no badge, what the progress counts is exactly the newcomers (judged when
answered) whose questions they answered with an answer still standing; the badge comes at the
answer that brings that count to the charter's number, never before; and replaying the events
rebuilds the progress."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

import coplib
from coplib import Charter, Engine, ManualClock
from coplib.domain.history import Ref, replay
from coplib.domain.recognition import PROGRESS_ITEMS_MAX, BadgeProgress, badge_progress_id
from coplib.policies.badges import badges_of
from tests.scale import examples
from tests.unit.support import START, open_engine

#: ben answers; chloe and dev joined long ago (chloe is no newcomer, dev holds the newcomer
#: role); walt and eve join at the start of the sequence (newcomers by date).
ASKERS = ("chloe", "dev", "walt", "eve")
NEWCOMERS = frozenset({"dev", "walt", "eve"})

steps = st.lists(
    st.tuples(st.sampled_from(["ask", "answer", "withdraw"]), st.integers(0, 3), st.integers(0, 5)),
    max_size=24,
)


class World:
    def __init__(self, needed: int) -> None:
        self.clock = ManualClock(START)
        self.engine: Engine = open_engine(self.clock, strict=True, block=["coplib.policy.answer_guarantee"])
        self.engine.create_organisation("eve", "Acme", organisation_id="acme")
        charter = Charter(vocation="Weld", policy_settings={"badges": {"mentor.newcomers": str(needed)}})
        self.engine.create_community("ana", "acme", name="Welding", charter=charter, community_id="welding")
        for person in ("ben", "chloe", "dev"):
            self.engine.join(person, "welding")
        self.engine.assign_role("ana", "welding", "dev", coplib.Role.NEWCOMER)
        self.clock.advance(timedelta(days=60))
        for person in ("walt", "eve"):
            self.engine.join(person, "welding")
        self.questions: list[tuple[str, str]] = []  # (question id, asker)
        self.answers: list[tuple[str, str]] = []  # (answer id, asker), ben's, standing
        self.per_asker: dict[str, int] = {}

    def progress(self) -> dict[str, tuple[str, ...]]:
        found = self.engine.store.get(Ref("badge_progress", badge_progress_id("welding", "ben", "mentor")))
        if found is None:
            return {}
        assert isinstance(found.value, BadgeProgress)
        return dict(found.value.progress)


@settings(max_examples=examples(150), deadline=None)
@given(needed=st.integers(1, 3), sequence=steps)
def test_the_mentor_progress_counts_the_newcomers_answered_by_a_standing_answer(
    needed: int, sequence: list[tuple[str, int, int]]
) -> None:
    world = World(needed)
    awarded_at: int | None = None
    for n, (step, who, pick) in enumerate(sequence):
        world.clock.advance(timedelta(minutes=5))
        asker = ASKERS[who]
        if step == "ask":
            question = world.engine.ask(asker, "welding", title=f"Q{n}", body="Help?")
            world.questions.append((question.id, asker))
        elif step == "answer" and world.questions:
            question_id, asked_by = world.questions[pick % len(world.questions)]
            if world.per_asker.get(asked_by, 0) >= PROGRESS_ITEMS_MAX:
                continue  # the model leaves out the cap: at most three answers per asker here
            answer = world.engine.answer("ben", question_id, body="Here")
            world.answers.append((answer.id, asked_by))
            world.per_asker[asked_by] = world.per_asker.get(asked_by, 0) + 1
        elif step == "withdraw" and world.answers:
            answer_id, _ = world.answers.pop(pick % len(world.answers))
            world.engine.withdraw("ben", "answer", answer_id, reason="Outdated")
        else:
            continue
        holds = "mentor" in badges_of(world.engine.store, "welding", "ben")
        helped = {asked_by for _, asked_by in world.answers if asked_by in NEWCOMERS}
        if not holds:
            assert set(world.progress()) == helped
            assert len(helped) < needed
        elif awarded_at is None:
            awarded_at = n
            assert step == "answer" and len(helped) >= needed  # earned by the answer that got there

    # Replaying the history rebuilds the progress exactly.
    rebuilt = replay(r.event for r in world.engine.store.events(limit=100_000))
    ref = Ref("badge_progress", badge_progress_id("welding", "ben", "mentor"))
    stored = world.engine.store.get(ref)
    assert rebuilt.get(ref) == (stored.value if stored is not None else None)
