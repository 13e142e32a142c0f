"""The SQLite bulk path (`Engine.import_history` on a SQLite file): its session puts off WAL
checkpoints and checkpoints once at the end, the search index holds every imported
contribution even when another connection writes between the batches, and an import killed
midway leaves its committed batches whole and searchable."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coplib import SYSTEM, Engine
from coplib.adapters.storage.sqlite import SQLiteStore
from coplib.bootstrap.open import open_engine
from coplib.domain import events as ev
from coplib.domain.contributions import ContributionKind
from coplib.domain.errors import ConflictError
from coplib.domain.text_search import query_terms
from coplib.testing.samples import IdSequence, sample_people

START = datetime(2025, 3, 3, 9, tzinfo=UTC)


def _engine(db: Path, prefix: str = "t") -> Engine:
    return open_engine(f"sqlite:///{db}", people=sample_people(), id_factory=IdSequence(prefix))


def _found(engine: Engine) -> None:
    engine.create_organisation(SYSTEM, "Acme", organisation_id="acme")
    engine.create_community("ana", "acme", name="Welding", vocation="Weld", community_id="welding")
    engine.join("ben", "welding")
    engine.join("chloe", "welding")


def _word(n: int) -> str:
    """A word found in question `n`'s title and nowhere else (digits are not stemmed)."""
    return f"tag{n}x"


def _questions(count: int, *, first: int = 0) -> Iterator[ev.QuestionAsked]:
    for n in range(first, first + count):
        yield ev.QuestionAsked(
            id=f"e-q{n}",
            actor_id="chloe",
            community_id="welding",
            occurred_at=START + timedelta(seconds=n),
            question_id=f"q{n}",
            title=f"Thin sheets warp, case {_word(n)}",
            body="Preheating did not help; which wire and which gas?",
            tags=frozenset({"imported"}),
        )


def _searched(store: SQLiteStore, text: str) -> set[str]:
    """The ids of the questions and answers the store's search finds for `text`, every page."""
    found: set[str] = set()
    while True:
        page = store.search_text(
            query_terms(text), community_ids=["welding"], kinds=["question", "answer"], limit=1000, offset=len(found)
        )
        found.update(hit.id for hit in page.hits)
        if not page.hits:
            assert len(found) == page.total
            return found


def _fts_is_sound(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # FTS5's own check: its index holds exactly the terms of the rows it stores.
        conn.execute("INSERT INTO search_terms (search_terms) VALUES ('integrity-check')")
        docs = conn.execute("SELECT count(*) FROM search_docs").fetchone()[0]
        terms = conn.execute("SELECT count(*) FROM search_terms").fetchone()[0]
        joined = conn.execute("SELECT count(*) FROM search_docs d JOIN search_terms t ON t.rowid = d.docid").fetchone()[
            0
        ]
        assert docs == terms == joined


def test_an_import_checkpoints_the_wal_at_its_end_and_restores_the_interval(tmp_path: Path) -> None:
    db = tmp_path / "coplib.db"
    engine = _engine(db)
    _found(engine)
    store = engine.store
    assert isinstance(store, SQLiteStore)
    conn = store._connection()
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    seen: list[int] = []

    def watched() -> Iterator[ev.QuestionAsked]:
        for i, event in enumerate(_questions(600)):
            if i % 200 == 0:  # read between the batches, while the session lasts
                seen.append(conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
            yield event

    assert engine.import_history(watched(), batch_size=200) == 600
    assert seen == [16_384, 16_384, 16_384]
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    # Nothing left to copy back: every frame of the log is in the file.
    with sqlite3.connect(db) as other:
        busy, frames, copied = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0 and frames == copied
    engine.close()


def test_an_import_that_fails_midway_still_ends_its_session(tmp_path: Path) -> None:
    db = tmp_path / "coplib.db"
    engine = _engine(db)
    _found(engine)
    store = engine.store
    assert isinstance(store, SQLiteStore)
    events: list[ev.DomainEvent] = [*_questions(5)]
    events.append(
        ev.AnswerPosted(
            id="e-bad", actor_id="ben", community_id="welding", occurred_at=START + timedelta(hours=1),
            answer_id="a-bad", question_id="no-such-question", asker_id="chloe", body="?",
        )
    )  # fmt: skip
    with pytest.raises(ConflictError, match="no-such-question"):
        engine.import_history(events, batch_size=5)
    assert store._connection().execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    assert _searched(store, "preheating") == {f"q{n}" for n in range(5)}  # the first batch stayed
    engine.close()


def test_every_imported_contribution_is_searchable_though_another_connection_writes_between_batches(
    tmp_path: Path,
) -> None:
    db = tmp_path / "coplib.db"
    importer = _engine(db, "i")
    _found(importer)
    other = _engine(db, "o")  # a second connection to the same file
    asked: list[str] = []
    withdrawn: list[str] = []

    def interleaved() -> Iterator[ev.QuestionAsked]:
        for event in _questions(300):
            n = int(event.question_id[1:])
            if n and n % 50 == 0:  # a batch boundary: the other writer asks, answers, withdraws
                asked.append(
                    other.ask("ben", "welding", title=f"Live question {_word(1000 + n)}", body="Which gas?").id
                )
                other.answer("ana", f"q{n - 1}", body=f"Argon, answer {_word(2000 + n)}")
                other.withdraw("chloe", ContributionKind.QUESTION, f"q{n - 2}")
                withdrawn.append(f"q{n - 2}")
            yield event

    assert importer.import_history(interleaved(), batch_size=50) == 300
    store = importer.store
    assert isinstance(store, SQLiteStore)
    for n in range(300):
        expected = set() if f"q{n}" in withdrawn else {f"q{n}"}
        assert _searched(store, _word(n)) == expected, n
    for n, qid in zip(range(50, 300, 50), asked, strict=True):
        assert _searched(store, _word(1000 + n)) == {qid}
        assert len(_searched(store, _word(2000 + n))) == 1  # the answer the other wrote
    live = 300 - len(withdrawn) + len(asked)
    assert len(_searched(store, "gas")) == live
    other.close()
    importer.close()
    _fts_is_sound(db)


#: An importer that reports each batch once `import_history` has committed it (one call per
#: batch, as the Stack Exchange importer makes), until it is killed.
IMPORTER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime, timedelta

    from coplib import SYSTEM
    from coplib.bootstrap.open import open_engine
    from coplib.domain import events as ev
    from coplib.testing.samples import IdSequence, sample_people

    engine = open_engine(f"sqlite:///{sys.argv[1]}", people=sample_people(), id_factory=IdSequence("k"))
    engine.create_organisation(SYSTEM, "Acme", organisation_id="acme")
    engine.create_community("ana", "acme", name="Welding", vocation="Weld", community_id="welding")
    engine.join("chloe", "welding")
    print("ready", flush=True)
    start = datetime(2025, 3, 3, 9, tzinfo=UTC)
    batch = 400
    n = 0
    while True:
        events = [
            ev.QuestionAsked(
                id=f"e-q{i}", actor_id="chloe", community_id="welding", occurred_at=start + timedelta(seconds=i),
                question_id=f"q{i}", title=f"Thin sheets warp, case tag{i}x",
                body="Preheating did not help; which wire and which gas? " * 4, tags=frozenset({"imported"}),
            )
            for i in range(n, n + batch)
        ]
        engine.import_history(events, batch_size=100)
        n += batch
        print(f"stored {n}", flush=True)
    """
)


def test_an_import_killed_midway_leaves_its_committed_batches_whole_and_searchable(tmp_path: Path) -> None:
    db = tmp_path / "coplib.db"
    child = subprocess.Popen(
        [sys.executable, "-c", IMPORTER, str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    reported = 0
    deadline = time.monotonic() + 60
    try:
        while reported < 2_000:
            line = child.stdout.readline()
            if not line:
                stderr = child.stderr.read() if child.stderr else ""
                pytest.fail(f"the importer stopped by itself (exit {child.wait()}):\n{stderr}")
            if line.startswith("stored"):
                reported = int(line.split()[1])
            assert time.monotonic() < deadline, "the importer is too slow"
        time.sleep(0.05)  # land inside the next call, whose session is open
        os.kill(child.pid, signal.SIGKILL)
        rest, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    for line in rest.splitlines():
        if line.startswith("stored") and line.endswith(tuple("0123456789")):
            reported = max(reported, int(line.split()[1]))
    _fts_is_sound(db)
    store = SQLiteStore(db)
    try:
        questions = {q.id for q in store.find("question")}
        assert len(questions) % 100 == 0  # whole batches only
        assert len(questions) >= reported  # nothing reported stored is lost
        assert questions == {f"q{i}" for i in range(len(questions))}
        assert _searched(store, "preheating") == questions
        for i in (0, reported - 1, len(questions) - 1):
            assert _searched(store, f"tag{i}x") == {f"q{i}"}
        events = store.events(limit=100_000)
        assert [r.position for r in events] == list(range(1, len(events) + 1))
    finally:
        store.close()


def test_a_session_inside_another_leaves_the_settings_to_the_outer_one(tmp_path: Path) -> None:
    db = tmp_path / "coplib.db"
    engine = _engine(db)
    _found(engine)
    store = engine.store
    assert isinstance(store, SQLiteStore)
    conn = store._connection()
    with store.bulk_session():
        engine.import_history(_questions(10), batch_size=5)  # its own session, inside this one
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 16_384
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    assert _searched(store, "preheating") == {f"q{n}" for n in range(10)}
    engine.close()
