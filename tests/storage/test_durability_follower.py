"""A log follower killed (SIGKILL) in the middle of its batches never leaves a reaction half
applied nor applied twice: the next follower resumes from the position committed with the
last whole batch, and in the end every committed event has its reactions exactly once."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from coplib.adapters.storage.sqlite import SQLiteStore
from coplib.bootstrap.open import open_engine
from coplib.domain import events as ev
from coplib.domain.history import AGGREGATE_KINDS, FollowerPosition, Ref, ref_of, replay
from coplib.testing.contract import every_event
from coplib.testing.samples import sample_people

KILLS = 8

#: The follower: small batches, one line printed after each batch has committed.
FOLLOWER = textwrap.dedent(
    """
    import sys
    from coplib.bootstrap.open import open_engine
    from coplib.testing.samples import sample_people

    engine = open_engine(f"sqlite:///{sys.argv[1]}", people=sample_people(), follow="manual")
    follower = engine.runtime.follower
    follower.batch_size = 9
    print("ready", flush=True)
    while True:
        follower.follow()
        print("batch", flush=True)
        if not follower.pending():
            break
    print("done", flush=True)
    """
)


def _follow_and_kill(db: Path, rng: random.Random) -> bool:
    """Start a follower, let it commit a random number of batches, kill it; whether it was
    done before the kill."""
    child = subprocess.Popen(
        [sys.executable, "-c", FOLLOWER, str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    wanted = rng.randint(1, 6)
    seen = 0
    deadline = time.monotonic() + 60
    try:
        while seen < wanted:
            line = child.stdout.readline()
            if not line:
                stderr = child.stderr.read() if child.stderr else ""
                pytest.fail(f"the follower stopped by itself (exit {child.wait()}):\n{stderr}")
            if line.strip() == "done":
                child.wait(timeout=30)
                return True
            if line.strip() == "batch":
                seen += 1
            assert time.monotonic() < deadline, "the follower is too slow"
        time.sleep(rng.random() * 0.02)  # land anywhere in the next batch
        os.kill(child.pid, signal.SIGKILL)
        child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return False


def _awards(store: SQLiteStore) -> Counter[tuple[str, str, str]]:
    return Counter(
        (r.event.cause_event_id, r.event.reason, r.event.person_id)
        for r in every_event(store)
        if isinstance(r.event, ev.PointsAwarded)
    )


def _paid_answers(store: SQLiteStore) -> set[str]:
    return {cause for cause, reason, _ in _awards(store) if reason == "answer_posted"}


def test_a_follower_killed_mid_batch_resumes_and_gives_each_event_its_reactions_once(tmp_path: Path) -> None:
    db = tmp_path / "followed.db"
    writer = open_engine(f"sqlite:///{db}", people=sample_people(), follow="manual")
    writer.create_organisation("ana", "Acme", organisation_id="acme")
    writer.create_community("ana", "acme", name="Welding", vocation="Weld", community_id="welding")
    for person in ("ben", "chloe", "dev"):
        writer.join(person, "welding")
    people = ("ben", "chloe", "dev", "ana")
    for i in range(120):
        question = writer.ask(people[i % 4], "welding", title=f"Question {i}", body="Which wire?")
        writer.answer(people[(i + 1) % 4], question.id, body="0.8 mm")
    writer.runtime.store.close()  # the writer leaves everything to the followers
    answers = {
        r.event.id
        for r in every_event(SQLiteStore(db))
        if isinstance(r.event, ev.AnswerPosted) and r.event.actor_id != r.event.asker_id
    }
    rng = random.Random(20261203)
    done = False
    kills = 0
    for kill in range(KILLS):
        done = _follow_and_kill(db, rng)
        kills += not done
        with sqlite3.connect(db) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)], f"after kill {kill + 1}"
        raw.close()
        store = SQLiteStore(db)
        try:
            awards = _awards(store)
            assert all(n == 1 for n in awards.values()), f"a reaction applied twice after kill {kill + 1}"
            position = store.get(Ref("log_follower", "policies"))
            assert position is not None and isinstance(position.value, FollowerPosition)
            # Everything up to the committed position has its reactions; nothing after it does.
            before = {
                r.event.id
                for r in store.events(limit=10_000)
                if r.position <= position.value.through and r.event.id in answers
            }
            assert before <= _paid_answers(store)
        finally:
            store.close()
        if done:
            break
    assert kills >= 3, "the follower finished before it could be killed often enough"
    last = open_engine(f"sqlite:///{db}", people=sample_people(), follow="manual")
    try:
        last.drain()
        assert not last.runtime.follower.pending()
        store = last.store
        assert _paid_answers(store) == answers  # type: ignore[arg-type]
        assert all(n == 1 for n in _awards(store).values())  # type: ignore[arg-type]
        stored = {ref_of(v): v for kind in AGGREGATE_KINDS for v in store.find(kind)}
        assert replay(r.event for r in every_event(store)) == stored
    finally:
        last.close()
