"""A writer killed at random points (SIGKILL) never leaves a SQLite file damaged, nor a unit of
work half applied, nor loses a unit of work it reported as committed."""

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
from coplib.domain import events as ev
from coplib.domain.community import CharterVersion, Community, charter_version_id
from coplib.domain.contributions import Answer, Question
from coplib.domain.history import Ref
from coplib.domain.membership import membership_id
from coplib.testing.contract import every_event

KILLS = 24

#: The writer: units of work of four shapes, one after the other, until it is killed. It prints
#: a line naming each unit once `commit` has returned, never before.
WRITER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime

    from coplib import NotFoundError, SYSTEM
    from coplib.bootstrap.open import open_engine
    from coplib.domain import events as ev
    from coplib.testing.samples import IdSequence, sample_people

    path, run = sys.argv[1], sys.argv[2]
    ids = IdSequence(f"r{run}")
    engine = open_engine(f"sqlite:///{path}", people=sample_people(), id_factory=ids)
    try:
        engine.organisation(SYSTEM, "acme")
    except NotFoundError:
        engine.create_organisation(SYSTEM, "Acme", organisation_id="acme")
        engine.create_community("ana", "acme", name="Welding", vocation="Weld", community_id="welding")
        engine.join("ben", "welding")
        engine.join("chloe", "welding")
    print("ready", flush=True)
    question = None
    n = 0
    while True:
        n += 1
        shape = n % 4
        if shape == 0 or question is None:
            question = engine.ask("chloe", "welding", title=f"Question {n}", body="Which wire?").id
            print(f"ask {question}", flush=True)
        elif shape == 1:
            answer = engine.answer("ben", question, body="0.8 mm").id
            print(f"answer {answer} {question}", flush=True)
        elif shape == 2:
            community = engine.create_community("dev", "acme", name=f"Circle {run}-{n}", vocation="Meet").id
            print(f"community {community}", flush=True)
        else:
            at = datetime.now(UTC)
            batch = [
                ev.QuestionAsked(
                    id=ids(), actor_id="chloe", community_id="welding", occurred_at=at,
                    question_id=f"imported-{run}-{n}-{i}", title="Imported", body="From the old forum",
                    tags=frozenset({"imported"}),
                )
                for i in range(40)
            ]
            engine.import_history(batch, batch_size=40)
            print(f"batch {batch[0].question_id} {batch[-1].question_id}", flush=True)
    """
)


def _run_and_kill(db: Path, run: int, rng: random.Random) -> list[list[str]]:
    """Start a writer, let it report a random number of units, kill it; its reports."""
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), str(run)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    reports: list[list[str]] = []
    wanted = rng.randint(1, 25)
    deadline = time.monotonic() + 30
    try:
        while len(reports) < wanted:
            line = child.stdout.readline()
            if not line:
                stderr = child.stderr.read() if child.stderr else ""
                pytest.fail(f"the writer stopped by itself (exit {child.wait()}):\n{stderr}")
            if line.strip() != "ready":
                reports.append(line.split())
            assert time.monotonic() < deadline, "the writer is too slow"
        time.sleep(rng.random() * 0.01)  # land anywhere in the next unit of work
        os.kill(child.pid, signal.SIGKILL)
        rest, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    # Lines written before the kill are in the pipe; a torn last line is no report.
    complete = rest.splitlines(keepends=True)
    reports.extend(line.split() for line in complete if line.endswith("\n") and line.strip() != "ready")
    return reports


def _check_nothing_is_half_applied(store: SQLiteStore) -> None:
    events = every_event(store)
    assert [r.position for r in events] == list(range(1, len(events) + 1))
    by_type = Counter(r.event.TYPE for r in events)
    questions = {q.id: q for q in store.find("question") if isinstance(q, Question)}
    answers = [a for a in store.find("answer") if isinstance(a, Answer)]
    communities = {c.id: c for c in store.find("community") if isinstance(c, Community)}
    asked = {r.event.question_id for r in events if isinstance(r.event, ev.QuestionAsked)}
    posted = {r.event.answer_id for r in events if isinstance(r.event, ev.AnswerPosted)}
    created = {r.event.community_id for r in events if isinstance(r.event, ev.CommunityCreated)}
    assert asked == set(questions)
    assert posted == {a.id for a in answers}
    assert created == set(communities)
    answers_of = Counter(a.question_id for a in answers)
    for qid, question in questions.items():
        assert question.answer_count == answers_of[qid], qid  # the answer and its question together
    founders = store.get_many([ref for cid, c in communities.items() for ref in _founding_refs(cid, c.created_by)])
    for cid, community in communities.items():
        charter = founders.get(_founding_refs(cid, community.created_by)[0])
        assert charter is not None and isinstance(charter.value, CharterVersion), cid
        assert _founding_refs(cid, community.created_by)[1] in founders, cid
    for cid in communities:
        founding = {r.event.TYPE for r in store.events(community_id=cid, limit=10)}
        assert {"community_created", "member_joined", "role_assigned"} <= founding, cid
    # every answer's message to the asker went with it, and every message came with its event
    outbox = store.outbox(limit=1_000_000)
    messages = {(e.message.event_id, e.message.recipient_id, e.message.topic) for e in outbox}
    for r in events:
        if isinstance(r.event, ev.AnswerPosted):
            assert (r.event.id, r.event.asker_id, "answer_posted") in messages, r.event.answer_id
    assert {event_id for event_id, _, _ in messages} <= {r.event.id for r in events}
    assert by_type["answer_posted"] == len(answers)


def _founding_refs(cid: str, founder: str) -> list[Ref]:
    """The first charter version and the founder's membership: written with the community."""
    return [Ref("charter_version", charter_version_id(cid, 0)), Ref("membership", membership_id(cid, founder))]


def _check_every_report_is_there(store: SQLiteStore, reports: list[list[str]]) -> None:
    answered = {r.event.answer_id for r in every_event(store) if isinstance(r.event, ev.AnswerPosted)}
    for report in reports:
        match report:
            case ["ask", qid]:
                assert store.get(Ref("question", qid)) is not None, report
            case ["answer", aid, qid]:
                found = store.get(Ref("answer", aid))
                assert found is not None and isinstance(found.value, Answer) and found.value.question_id == qid
                assert aid in answered, report
            case ["community", cid]:
                assert store.get(Ref("community", cid)) is not None, report
                assert store.get(Ref("membership", membership_id(cid, "dev"))) is not None, report
            case ["batch", first, last]:
                assert store.get(Ref("question", first)) is not None, report
                assert store.get(Ref("question", last)) is not None, report
            case _:
                pytest.fail(f"unexpected report {report}")


def test_a_writer_killed_at_random_points_leaves_every_committed_unit_whole(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    rng = random.Random(20260105)
    reported: list[list[str]] = []
    for run in range(KILLS):
        reported.extend(_run_and_kill(db, run, rng))
        with sqlite3.connect(db) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)], f"after kill {run + 1}"
        raw.close()
        store = SQLiteStore(db)
        try:
            _check_nothing_is_half_applied(store)
            _check_every_report_is_there(store, reported)
        finally:
            store.close()
    assert len(reported) >= KILLS
    assert {report[0] for report in reported} == {"ask", "answer", "community", "batch"}
