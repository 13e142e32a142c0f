"""A writer process killed with SIGKILL at random points never leaves a unit of work half
applied on PostgreSQL, and every unit it reported committed is there, events and outbox
rows included."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter

import psycopg
import pytest

from coplib.adapters.storage.postgres import PostgresStore
from coplib.domain import events as ev
from coplib.domain.contributions import Answer, Question
from coplib.domain.history import AGGREGATE_KINDS, Ref, ref_of, replay
from coplib.testing.contract import every_event
from coplib.testing.samples import SampleHistory

pytestmark = pytest.mark.postgres

KILLS = 24

# Each question is one unit of work (the question and its event); each answer another (the
# answer, the question's new count, the event and the outbox message telling the asker).
# A line is printed only once the engine's commit has returned.
_WRITER = """
import sys
import coplib
from coplib.testing.samples import sample_people

url, community_id, run = sys.argv[1], sys.argv[2], sys.argv[3]
engine = coplib.open(url, people=sample_people())
engine.max_attempts = 1000
print("READY", flush=True)
n = 0
while True:
    n += 1
    question = engine.ask("dev", community_id, title=f"Run {run}, question {n}", body="How thick?")
    print("Q", question.id, flush=True)
    answer = engine.answer("ben", question.id, body="About 3 mm.")
    print("A", answer.id, question.id, flush=True)
"""


def _run_and_kill(url: str, community_id: str, run: int, delay: float) -> list[list[str]]:
    """Start a writer, SIGKILL it `delay` seconds after it is ready; the lines it reported.
    Returns once the server has ended the killed writer's sessions: a COMMIT it had sent may
    still land after the kill, and the check must not read the log before and the state after it."""
    name = f"coplib-durability-{uuid.uuid4().hex[:12]}"
    tagged = f"{url}{'&' if '?' in url else '?'}application_name={name}"
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, tagged, community_id, str(run)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    ready = writer.stdout.readline()
    if ready.strip() != "READY":
        writer.kill()
        _, err = writer.communicate(timeout=30)
        pytest.fail(f"the writer did not start: {ready!r} {err}")
    time.sleep(delay)
    os.kill(writer.pid, signal.SIGKILL)
    out, err = writer.communicate(timeout=30)
    assert writer.returncode == -signal.SIGKILL, err
    _wait_for_sessions_to_end(url, name)
    # A line cut short by the kill was never completely reported: ignore it.
    complete = out[: out.rfind("\n") + 1] if "\n" in out else ""
    return [line.split() for line in complete.splitlines()]


def _wait_for_sessions_to_end(url: str, application_name: str) -> None:
    deadline = time.monotonic() + 30
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application_name,)
            ).fetchone()
            if row is None or row[0] == 0:
                return
            if time.monotonic() > deadline:
                pytest.fail(f"the killed writer's {row[0]} sessions are still open after 30 s")
            time.sleep(0.02)


def _outbox(url: str) -> list[tuple[str, str, str]]:
    """(event_id, recipient_id, topic) of every outbox row."""
    with psycopg.connect(url) as conn:
        return [(e, r, t) for e, r, t in conn.execute("SELECT event_id, recipient_id, topic FROM coplib_outbox")]


def _check_whole(store: PostgresStore, url: str, reported: list[list[str]]) -> None:
    recorded = every_event(store)
    assert [r.position for r in recorded] == list(range(1, len(recorded) + 1)), "positions have a gap"
    stored = {ref_of(value): value for kind in AGGREGATE_KINDS for value in store.find(kind)}
    replayed = replay(r.event for r in recorded)
    # Nothing half applied: the stored state is exactly what the stored events give.
    assert stored == replayed
    asked = Counter(r.event.question_id for r in recorded if isinstance(r.event, ev.QuestionAsked))
    posted = {r.event.answer_id: r.event for r in recorded if isinstance(r.event, ev.AnswerPosted)}
    outbox = _outbox(url)
    # Other plugins may message people too: the ones this test knows are the asker's.
    told_the_asker = Counter(e for e, recipient, topic in outbox if (recipient, topic) == ("dev", "answer_posted"))
    assert {e for e, _, _ in outbox} <= {r.event.id for r in recorded}, "a message without the event that caused it"
    assert told_the_asker == Counter(e.id for e in posted.values()), "an answer without its message, or the reverse"
    for value in stored.values():
        if isinstance(value, Question):
            assert asked[value.id] == 1
    # Everything reported committed is there.
    for line in reported:
        if line[0] == "Q":
            assert Ref("question", line[1]) in stored, f"committed question {line[1]} is missing"
        else:
            answer_id, question_id = line[1], line[2]
            assert isinstance(stored.get(Ref("answer", answer_id)), Answer), f"committed answer {answer_id} is missing"
            assert answer_id in posted
            assert told_the_asker[posted[answer_id].id] == 1
            question = stored[Ref("question", question_id)]
            assert isinstance(question, Question) and question.answer_count == 1


def test_a_writer_killed_at_random_points_leaves_only_whole_units_of_work(fresh_postgres_url: str) -> None:
    seed = int(os.environ.get("COPLIB_DURABILITY_SEED", random.randrange(1 << 30)))
    chance = random.Random(seed)
    history = SampleHistory()
    store = PostgresStore(fresh_postgres_url)
    cid = history.found_community(store, history.found_organisation(store))
    for person in ("ben", "dev"):
        history.join(store, cid, person)
    store.close()
    reported: list[list[str]] = []
    for run in range(KILLS):
        reported += _run_and_kill(fresh_postgres_url, cid, run, delay=chance.uniform(0.0, 0.3))
        reopened = PostgresStore(fresh_postgres_url)
        try:
            _check_whole(reopened, fresh_postgres_url, reported)
        except AssertionError as exc:
            raise AssertionError(f"after kill {run + 1} (COPLIB_DURABILITY_SEED={seed}): {exc}") from exc
        finally:
            reopened.close()
    assert sum(1 for line in reported if line[0] == "A") > KILLS, "the writers committed too little to test"
