"""The log follower: the policies that may react after the commit (recognition, levels,
badges) react to committed events a batch at a time, in one unit of work per batch, with
their tracking position recorded in the same commit (exactly once, resumable after a crash).

A command's unit of work keeps what belongs to its promise (the contribution, the answer
guarantee's routing and the asker's message); when the engine runs with a follower, its
commit starts with a `ReactionsDeferred` marker naming how many of its events await the
following policies. The follower reads the log after its position, reacts to the marked
events only (other commits: imports, its own batches, an engine without a follower, were
handled where they were made), lets every policy react to what its own reactions record
inside the batch, and records `LogFollowed` with the last position it read. Two followers
on one store (two processes) race on that position: the loser's batch fails as a whole and
is read again from the winner's position, so each event gets its reactions once.

Modes (``coplib.open(follow=...)``): ``"unit"`` (the default: no follower, every policy
reacts inside the command's unit, as before), ``"thread"`` (a background thread follows,
woken by each commit and every `poll_interval` for other processes' commits) and
``"manual"`` (the host calls `Engine.drain`, and `Engine.tick` drains first).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Final, Protocol

from coplib.domain import events as ev
from coplib.domain.errors import ConcurrencyConflictError, InvalidInputError
from coplib.domain.history import FollowerPosition, Ref
from coplib.domain.permissions import SYSTEM
from coplib.ports.policy import PolicyRuntime
from coplib.ports.storage import RecordedEvent
from coplib.runtime.compose import compose_messages
from coplib.runtime.reactor import REACTION_BUDGET, PolicyReactor
from coplib.runtime.retry import RetryPolicy
from coplib.runtime.unit_of_work import UnitOfWork

log = logging.getLogger("coplib.runtime")

#: The follower's name: the id of its tracking position (`FollowerPosition`).
FOLLOWER_NAME: Final = "policies"
#: How the engine runs the policies that may follow the log (see the module docstring).
FOLLOW_MODES: Final = ("unit", "thread", "manual")
#: How many events one batch reads at most.
DEFAULT_BATCH_SIZE: Final = 500
#: After how many positions with nothing to follow the follower records its position anyway
#: (so that a restart does not read them again). Each such record is itself one event at the
#: log's end, so the stretch must be long for the reading to converge.
RECORD_STRETCH: Final = 5_000


class FollowerHost(PolicyRuntime, Protocol):
    """What the follower needs of the runtime (`coplib.runtime.Runtime`)."""

    @property
    def retry(self) -> RetryPolicy: ...

    def event_base(self, actor: str, community_id: str | None) -> dict[str, Any]: ...

    def notify_subscribers(self, recorded: list[RecordedEvent]) -> None: ...


def check_follow_mode(mode: object, path: str = "$.follow") -> str:
    if mode not in FOLLOW_MODES:
        raise InvalidInputError.field(path, f"must be one of {', '.join(FOLLOW_MODES)}, got {mode!r:.40}")
    return str(mode)


class LogFollower:
    """Follows the committed log for the policies that may react after the commit."""

    def __init__(
        self,
        host: FollowerHost,
        reactor: PolicyReactor,
        *,
        mode: str = "manual",
        batch_size: int = DEFAULT_BATCH_SIZE,
        poll_interval: float = 1.0,
        linger: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.mode = check_follow_mode(mode)
        if not isinstance(batch_size, int) or not 1 <= batch_size <= 10_000:
            raise InvalidInputError.field(
                "$.follow_batch", f"must be a whole number from 1 to 10000, got {batch_size!r}"
            )
        self._host = host
        self._reactor = reactor
        self.batch_size = batch_size
        self.record_stretch = RECORD_STRETCH
        self.poll_interval = poll_interval
        #: How long the thread lets commits gather once woken, so that a batch amortises its
        #: commit over many commands (the latency a level or badge may take, at most, under load).
        self.linger = linger
        self._sleep = sleep
        self._lock = threading.RLock()
        # The position up to which this process knows there is nothing to follow (what it
        # read, and its own batches' commits): a later read starts there, the stored
        # position is only rewritten with a batch.
        self._known_through = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        #: The last error the background thread met (it logs it and goes on).
        self.last_error: BaseException | None = None

    @property
    def defers(self) -> bool:
        """Whether commands leave the following policies' reactions to this follower."""
        return self.mode != "unit" and bool(self._reactor.log_policies)

    # -- lifecycle --------------------------------------------------------------------------------

    def open(self) -> None:
        """Called when the engine opens: a following engine records where it starts (the
        log's end, the first time: what came before was not left to a follower), before any
        of its commands commits; an engine in ``"unit"`` mode catches up what a following
        engine may have left on this store. Then the thread starts, in ``"thread"`` mode."""
        store = self._host.store
        found = store.get(Ref("log_follower", FOLLOWER_NAME))
        if self.mode == "unit":
            if found is not None and self._reactor.log_policies:
                self._drain()
            return
        if found is None:
            uow = UnitOfWork(store)
            uow.record(self._followed(store.last_position()))
            # When another engine recorded its start first, this one follows from there.
            with contextlib.suppress(ConcurrencyConflictError):
                self._host.notify_subscribers(store.commit(uow.changeset(())))
        if self.mode == "thread":
            self._thread = threading.Thread(target=self._run, name="coplib-follower", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop the thread (if any) after it has caught up."""
        thread = self._thread
        if thread is not None:
            self._stopping.set()
            self._wake.set()
            thread.join()
            self._thread = None
        if self.mode != "unit":
            try:
                self.drain()
            except Exception:
                log.exception("the log follower could not catch up on close")

    def committed(self) -> None:
        """A command committed: wake the thread."""
        if self._thread is not None:
            self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            woken = self._wake.wait(self.poll_interval)
            if woken and self.linger > 0:
                self._stopping.wait(self.linger)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                self.drain()
            except Exception as exc:  # logged; the next wake tries again from the stored position
                self.last_error = exc
                log.exception("the log follower failed; it will try again")

    # -- following --------------------------------------------------------------------------------

    def drain(self) -> int:
        """Follow until nothing is left; return how many events got their reactions (0 in
        ``"unit"`` mode: there, what an earlier following engine left is caught up at open)."""
        if self.mode == "unit":
            return 0
        return self._drain()

    def _drain(self) -> int:
        total = 0
        while True:
            read, reacted = self._follow()
            total += reacted
            if read == 0:
                return total

    def follow(self) -> int:
        """Follow one batch: react to the marked events after the position, record the new
        position with the reactions in one commit; return how many events got reactions. A
        batch that loses a race with another follower is read again."""
        return self._follow()[1]

    def _follow(self) -> tuple[int, int]:
        """One batch: how many events it read (0: caught up), how many got reactions."""
        host = self._host
        with self._lock:
            attempt = 0
            started = time.monotonic()
            while True:
                attempt += 1
                try:
                    return self._batch()
                except ConcurrencyConflictError:
                    retry = host.retry
                    if attempt >= retry.attempts or time.monotonic() - started >= retry.deadline.total_seconds():
                        raise
                    pause = retry.pause(attempt, 0.5)
                    if pause:
                        self._sleep(pause)

    def _batch(self) -> tuple[int, int]:
        host = self._host
        store = host.store
        uow = UnitOfWork(store)
        position = uow.get(Ref("log_follower", FOLLOWER_NAME))
        stored = position.through if isinstance(position, FollowerPosition) else 0
        start = max(stored, self._known_through)
        read = store.events(after=start, limit=self.batch_size)
        if not read:
            return 0, 0
        marked, last = self._marked(read)
        if not marked:
            self._known_through = last
            if last - stored >= self.record_stretch:
                # A long stretch with nothing to follow (an import...): record it, so that a
                # restart does not read it again.
                uow.record(self._followed(last))
                self._commit(uow, last)
            return len(read), 0
        policies = self._reactor.log_policies
        self._reactor.prefetch_for(uow, [r.event for r in marked], policies)
        budget = [REACTION_BUDGET * len(marked)]
        for recorded in marked:
            self._reactor.react_to(uow, recorded.event, policies, budget)
        # What the reactions recorded is followed here, by every policy: no commit marks it.
        self._reactor.react(uow)
        uow.record(self._followed(last))
        self._commit(uow, last)
        return len(read), len(marked)

    def _marked(self, read: list[RecordedEvent]) -> tuple[list[RecordedEvent], int]:
        """The events of `read` that await the following policies (those a marker covers,
        reading on when a marker's events go past the batch), and the last position read."""
        store = self._host.store
        marked: list[RecordedEvent] = []
        index = 0
        last = read[-1].position
        while index < len(read):
            event = read[index].event
            index += 1
            if not isinstance(event, ev.ReactionsDeferred):
                continue
            covered = read[index : index + event.covers]
            while len(covered) < event.covers:
                after = covered[-1].position if covered else read[index - 1].position
                more = store.events(after=after, limit=min(10_000, event.covers - len(covered)))
                if not more:
                    break  # cannot happen: a commit's events are all visible at once
                covered.extend(more)
            marked.extend(covered)
            index += event.covers
            if covered:
                last = max(last, covered[-1].position)
        return marked, last

    def _commit(self, uow: UnitOfWork, through: int) -> None:
        recorded = self._host.store.commit(uow.changeset(compose_messages(self._host.plugin_manager, uow)))
        # When this batch's commit came right after what it read, it is known followed too.
        contiguous = bool(recorded) and recorded[0].position == through + 1
        self._known_through = recorded[-1].position if contiguous else through
        self._host.notify_subscribers(recorded)

    def _followed(self, through: int) -> ev.LogFollowed:
        return ev.LogFollowed(**self._host.event_base(SYSTEM, None), follower=FOLLOWER_NAME, through=through)

    def pending(self) -> bool:
        """Whether marked events wait after the position (a read, for hosts and tests)."""
        found = self._host.store.get(Ref("log_follower", FOLLOWER_NAME))
        through = found.value.through if found is not None and isinstance(found.value, FollowerPosition) else 0
        after = max(through, self._known_through)
        while page := self._host.store.events(after=after, limit=self.batch_size):
            if any(isinstance(r.event, ev.ReactionsDeferred) and r.event.covers for r in page):
                return True
            after = page[-1].position
        return False
