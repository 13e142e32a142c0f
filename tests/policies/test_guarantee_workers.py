"""Several workers tick the same store: each step of the ladder is still taken once. A worker
that loses the race conflicts on the watch's version, retries, and finds nothing due."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest

import coplib
from coplib import Engine, ManualClock
from coplib.bootstrap.open import default_plugins
from coplib.bootstrap.plugins import make_plugin_manager
from coplib.domain import events as ev
from coplib.domain.guarantee import POLICY_NAME
from coplib.ports.storage import Changeset, Store
from tests.policies.test_guarantee import (
    COMMUNITY,
    FRIDAY_EVENING,
    OTHER_POLICIES,
    PEOPLE,
    found_community,
    guarantee_events,
    paris,
)
from tests.unit.support import counting_ids


class CommitsAfter:
    """A store handle that lets another worker run just before its first commit of an
    escalation: the race a second worker loses, made to happen every time."""

    def __init__(self, store: Store, other_worker: Callable[[], object]) -> None:
        self._store = store
        self._other_worker: Callable[[], object] | None = other_worker
        self.conflicts = 0

    def commit(self, changes: Changeset) -> Any:
        if self._other_worker is not None and any(isinstance(e, ev.QuestionEscalated) for e in changes.events):
            run, self._other_worker = self._other_worker, None
            run()
        try:
            return self._store.commit(changes)
        except coplib.ConcurrencyConflictError:
            self.conflicts += 1
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def worker(store: Store | CommitsAfter, clock: ManualClock, prefix: str) -> Engine:
    """An engine of its own (its own plugins and ids) on a shared store."""
    defaults = [(n, p) for n, p in default_plugins(PEOPLE) if n not in OTHER_POLICIES]
    return Engine(
        cast(Store, store),
        plugin_manager=make_plugin_manager(defaults=defaults),
        clock=clock,
        id_factory=counting_ids(prefix),
    )


@pytest.fixture(params=["memory", "sqlite"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens handles on one store: the same memory store, or the same SQLite file."""
    if request.param == "memory":
        store = coplib.MemoryStore()
        yield lambda: store
        return
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    opened: list[Engine] = []

    def handle() -> Store:
        engine = coplib.open(url, people=PEOPLE)
        opened.append(engine)
        return engine.store

    yield handle
    for engine in opened:
        engine.close()


def test_a_worker_that_loses_the_race_escalates_nothing_twice(shared_store: Callable[[], Store]) -> None:
    clock = ManualClock(paris(1, 5, 9))
    first = worker(shared_store(), clock, "a")
    found_community(first)
    clock.set(FRIDAY_EVENING)
    question = first.ask("dev", COMMUNITY, title="Q", body="B", tags=["tig"])
    monday_noon = paris(1, 12, 12)
    reports = []
    racing = CommitsAfter(shared_store(), lambda: reports.append(first.tick(monday_noon)))
    second = worker(racing, clock, "b")

    late = second.tick(monday_noon)

    [early] = reports
    assert early.done[POLICY_NAME] == 1
    assert racing.conflicts == 1
    assert (late.done[POLICY_NAME], late.errors) == (0, ())
    steps = [e for e in guarantee_events(first) if isinstance(e, ev.QuestionEscalated)]
    assert [(e.question_id, e.step) for e in steps] == [(question.id, 1)]


def test_two_workers_ticking_together_take_each_step_once() -> None:
    clock = ManualClock(paris(1, 5, 9))
    store = coplib.MemoryStore()
    engines = [worker(store, clock, name) for name in ("a", "b")]
    found_community(engines[0])
    clock.set(FRIDAY_EVENING)
    questions = []
    for i in range(30):
        clock.advance(timedelta(minutes=7))
        questions.append(engines[i % 2].ask("dev", COMMUNITY, title=f"Q{i}", body="B", tags=["tig"]))
    moments = [FRIDAY_EVENING + timedelta(minutes=20 * i) for i in range(3 * 24 * 4)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(engine: Engine) -> None:
        try:
            for moment in moments:
                barrier.wait()
                engine.tick(moment)
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    steps = Counter(
        (e.question_id, e.step) for e in guarantee_events(engines[0]) if isinstance(e, ev.QuestionEscalated)
    )
    assert set(steps.values()) == {1}
    assert set(steps) == {(q.id, step) for q in questions for step in (1, 2)}
