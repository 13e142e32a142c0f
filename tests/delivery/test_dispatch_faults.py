"""Faults: a notifier failing at random 30% of the time while its dispatcher process is
killed (SIGKILL) ten times in the middle of a batch. In the end every message is delivered,
none is lost, and an idempotent receiver (keyed by message id) sees each exactly once; the
raw deliveries repeat at most one message per kill (delivered, then killed before the
outcome was recorded)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import coplib
from coplib import SYSTEM, Engine, StaticDirectory
from coplib.ports.storage import DeliveryStatus

from .fault_worker import open_receiver
from .support import OTHER_POLICIES, PEOPLE

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 150
KILLS = 10

pytestmark = pytest.mark.slow


def fill_outbox(url: str) -> set[str]:
    engine: Engine = coplib.open(
        url, plugins=[StaticDirectory(PEOPLE)], block=["coplib.notifier.recording", *OTHER_POLICIES]
    )
    try:
        org = engine.create_organisation(SYSTEM, "Acme")
        community = engine.create_community("ana", org.id, name="Soudeurs", vocation="Souder mieux")
        for person in ("ben", "chloe", "dev"):
            engine.join(person, community.id)
        for n in range(MESSAGES):
            question = engine.ask(("ana", "chloe", "dev")[n % 3], community.id, title=f"Question {n}", body="?")
            engine.answer("ben", question.id, body="Argon.")
        return {e.message.id for e in engine.outbox(SYSTEM, limit=10_000)}
    finally:
        engine.close()


def start_worker(outbox: Path, receiver: Path, seed: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.delivery.fault_worker", str(outbox), str(receiver), str(seed)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def arrivals(receiver: Path) -> int:
    conn = open_receiver(receiver)
    try:
        (count,) = conn.execute("SELECT count(*) FROM arrivals").fetchone()
        return int(count)
    finally:
        conn.close()


def test_a_dispatcher_killed_ten_times_mid_batch_with_a_flaky_notifier_loses_nothing_and_repeats_nothing_after_dedup(
    tmp_path: Path,
) -> None:
    outbox, receiver = tmp_path / "outbox.db", tmp_path / "receiver.db"
    ids = fill_outbox(f"sqlite:///{outbox}")
    assert len(ids) == MESSAGES
    open_receiver(receiver).close()
    chooser = random.Random(20260105)

    kills = 0
    for seed in range(KILLS):
        before = arrivals(receiver)
        worker = start_worker(outbox, receiver, seed)
        wanted = chooser.randint(2, 8)  # kill it after a few deliveries: in the middle of a batch
        deadline = time.monotonic() + 60
        while arrivals(receiver) - before < wanted and worker.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert worker.poll() is None, f"worker {seed} ended before it was killed: {worker.stderr.read()!r:.2000}"  # type: ignore[union-attr]
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        assert worker.returncode == -signal.SIGKILL
        kills += 1
    assert kills == KILLS

    last = start_worker(outbox, receiver, 999)
    _, errors = last.communicate(timeout=300)
    assert last.returncode == 0, errors.decode(errors="replace")[-3000:]

    engine = coplib.open(f"sqlite:///{outbox}", plugins=[StaticDirectory(PEOPLE)])
    try:
        entries = engine.outbox(SYSTEM, limit=10_000)
    finally:
        engine.close()
    assert {e.message.id for e in entries} == ids, "no message lost"
    assert {e.status for e in entries} == {DeliveryStatus.DELIVERED}
    assert sum(e.attempts for e in entries) > MESSAGES, "the notifier did fail along the way"

    conn = open_receiver(receiver)
    try:
        seen = {row[0] for row in conn.execute("SELECT message_id FROM seen")}
        raw = [row[0] for row in conn.execute("SELECT message_id FROM arrivals ORDER BY seq")]
    finally:
        conn.close()
    assert seen == ids, "the idempotent receiver saw every message exactly once"
    repeats = len(raw) - len(set(raw))
    assert repeats <= KILLS, f"{repeats} repeated deliveries for {KILLS} kills"
