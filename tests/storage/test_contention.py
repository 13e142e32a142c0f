"""Several processes writing one community at once: no ordinary command fails and nothing is
lost, on a SQLite file shared by four processes and on PostgreSQL with four clients. The
writers all answer one hot question, so that nearly every commit races the others for the
question and its watch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from coplib.adapters.storage.postgres import PostgresStore
from coplib.adapters.storage.sqlite import SQLiteStore
from coplib.domain import events as ev
from coplib.domain.contributions import Question
from coplib.domain.history import Ref
from coplib.ports.storage import Filter, Store
from coplib.testing.contract import every_event
from coplib.testing.samples import SampleHistory

WRITERS = ("ana", "ben", "chloe", "eve")
PER_WRITER = 25

_WRITER = """
import sys
from coplib.adapters.storage.{module} import {store}
from coplib.testing.contract import open_engine_on

url, person, question_id, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
engine = open_engine_on({store}(url))  # the engine's default retry policy, nothing tuned
failed = 0
for n in range(count):
    try:
        engine.answer(person, question_id, body=f"answer {{n}} by {{person}}")
    except Exception as exc:
        failed += 1
        print(type(exc).__name__, exc, file=sys.stderr)
engine.close()
sys.exit(1 if failed else 0)
"""


def _prepare(store: Store) -> str:
    history = SampleHistory()
    cid = history.found_community(store, history.found_organisation(store))
    for person in (*WRITERS, "dev"):
        if person != "ana":  # the founder is a member already
            history.join(store, cid, person)
    return history.ask(store, cid, "dev")


def _race(module: str, store_class: str, url: str, question_id: str) -> None:
    script = _WRITER.format(module=module, store=store_class)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", script, url, person, question_id, str(PER_WRITER)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for person in WRITERS
    ]
    failures = []
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        if writer.returncode != 0:
            failures.append(err[-2000:])
    assert failures == [], "\n".join(failures)


def _check_nothing_lost(store: Store, question_id: str) -> None:
    expected = len(WRITERS) * PER_WRITER
    question = store.get(Ref("question", question_id))
    assert question is not None and isinstance(question.value, Question)
    assert question.value.answer_count == expected
    assert store.count("answer", Filter(parent_id=question_id)) == expected
    recorded = every_event(store)
    assert [r.position for r in recorded] == list(range(1, len(recorded) + 1))
    assert sum(isinstance(r.event, ev.AnswerPosted) for r in recorded) == expected
    told_the_asker = [e for e in store.outbox(recipient_id="dev", limit=10_000) if e.message.topic == "answer_posted"]
    assert len(told_the_asker) == expected


@pytest.mark.slow
def test_four_processes_answering_one_question_on_one_sqlite_file_fail_no_command_and_lose_nothing(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "hot.db")
    question_id = _prepare(store)
    store.close()

    _race("sqlite", "SQLiteStore", str(tmp_path / "hot.db"), question_id)

    store = SQLiteStore(tmp_path / "hot.db")
    _check_nothing_lost(store, question_id)
    store.close()


@pytest.mark.slow
@pytest.mark.postgres
def test_four_processes_answering_one_question_on_postgresql_fail_no_command_and_lose_nothing(
    fresh_postgres_url: str,
) -> None:
    store = PostgresStore(fresh_postgres_url)
    question_id = _prepare(store)

    _race("postgres", "PostgresStore", fresh_postgres_url, question_id)

    _check_nothing_lost(store, question_id)
    store.close()
