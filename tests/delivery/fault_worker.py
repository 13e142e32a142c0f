"""A dispatcher process for `test_dispatch_faults`: it delivers the outbox of a SQLite file
through a notifier that fails at random 30% of the time, into an idempotent receiver (a
second SQLite file keyed by message id), until nothing is pending. The test kills it.

Run: ``python -m tests.delivery.fault_worker OUTBOX_DB RECEIVER_DB SEED``.
"""

from __future__ import annotations

import os
import random
import sqlite3
import sys
import time
from datetime import timedelta
from pathlib import Path

import coplib
from coplib import SYSTEM, Person, StaticDirectory, hookimpl
from coplib.domain.errors import DeliveryError
from coplib.notification.dispatcher import DeliveryPolicy, Dispatcher
from coplib.ports.storage import DeliveryStatus, OutboxMessage

from .support import OTHER_POLICIES, PEOPLE

#: Short leases and waits, so that a killed dispatcher's messages come back within a second.
POLICY = DeliveryPolicy(
    max_attempts=1000,
    backoff_base=timedelta(milliseconds=20),
    backoff_cap=timedelta(milliseconds=200),
    lease=timedelta(seconds=1),
)
FAILURE_RATE = 0.3


def open_receiver(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS arrivals (seq INTEGER PRIMARY KEY, message_id TEXT NOT NULL, pid INT)")
    conn.execute("CREATE TABLE IF NOT EXISTS seen (message_id TEXT PRIMARY KEY)")
    return conn


class FlakyNotifier:
    """Fails before sending 30% of the time; otherwise hands the message to the receiver,
    which logs every arrival and keeps each id once (an idempotent receiver)."""

    def __init__(self, receiver: sqlite3.Connection, rng: random.Random) -> None:
        self.receiver = receiver
        self.rng = rng

    @hookimpl
    def coplib_deliver(self, message: OutboxMessage, recipient: Person, channel: str) -> bool:
        if self.rng.random() < FAILURE_RATE:
            raise DeliveryError("the receiver did not answer", message_id=message.id, channel=channel)
        time.sleep(0.002)  # the time a real delivery takes: room for a kill in the middle
        with self.receiver:
            self.receiver.execute("BEGIN IMMEDIATE")
            self.receiver.execute("INSERT INTO arrivals (message_id, pid) VALUES (?, ?)", (message.id, os.getpid()))
            self.receiver.execute("INSERT OR IGNORE INTO seen (message_id) VALUES (?)", (message.id,))
        return True


def main(outbox_db: str, receiver_db: str, seed: str) -> int:
    receiver = open_receiver(Path(receiver_db))
    engine = coplib.open(
        f"sqlite:///{outbox_db}",
        plugins=[StaticDirectory(PEOPLE), FlakyNotifier(receiver, random.Random(int(seed)))],
        block=["coplib.notifier.recording", *OTHER_POLICIES],
    )
    dispatcher = Dispatcher(engine, policy=POLICY, worker=f"fault-worker-{os.getpid()}")
    while engine.outbox(SYSTEM, status=DeliveryStatus.PENDING, limit=1):
        if not dispatcher.dispatch(limit=10):
            time.sleep(0.02)
    engine.close()
    receiver.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
