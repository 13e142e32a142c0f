"""The host's operational jobs: ticking the policies, dispatching the outbox, the dead
letters, directory synchronisation."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from coplib.domain import validation as v
from coplib.domain.errors import (
    InvalidInputError,
)
from coplib.domain.permissions import Action
from coplib.notification.dispatcher import DeliveryPolicy, Dispatcher, DispatchReport
from coplib.ports.storage import (
    DeliveryStatus,
    OutboxEntry,
)
from coplib.runtime import TickReport
from coplib.service._base import UseCases, check_enum, check_id, check_strings
from coplib.service.directory_sync import SyncReport, sync_directory


class HostOperations(UseCases):
    """Jobs a host runs from cron or a worker."""

    #: How `dispatch` delivers the outbox when given no policy (`coplib.open(delivery=...)`).
    delivery: DeliveryPolicy

    def tick(self, now: datetime | None = None, *, limit: int = 500) -> TickReport:
        """Let every policy act on what is due at `now` (the clock's time by default), and
        retry failed policy reactions that are due. Idempotent: a second tick at the same
        moment does nothing; safe with several workers (a conflicting worker retries and finds
        the work done). Cost follows the work due, not the size of the communities."""
        checked = v.check_limit(limit, "tick")
        # What is due is judged on the state the following policies make: catch them up first.
        self.runtime.follower.drain()
        return self.runtime.reactor.tick(now, limit=checked)

    def dispatch(
        self,
        *,
        limit: int = 100,
        policy: DeliveryPolicy | None = None,
        worker: str | None = None,
        random: Callable[[], float] | None = None,
    ) -> DispatchReport:
        """Deliver the due outbox messages (up to `limit`) through the notifier plugins,
        outside any unit of work, as one round of a `coplib.notification.dispatcher.Dispatcher`.

        Each message is claimed under a lease, then dropped (recipient unknown, inactive,
        gone or unsubscribed, with the reason kept), deferred (quiet hours, digests), or
        delivered on the recipient's channel; a failure is retried with backoff (`policy`,
        jitter drawn from `random`) and ends dead after too many attempts. Returns the
        report of the round, true when it handled any message.
        """
        chosen = policy if policy is not None else self.delivery
        return Dispatcher(self, policy=chosen, worker=worker, random=random).dispatch(limit=limit)

    def outbox(
        self,
        viewer: str,
        *,
        status: DeliveryStatus | str | None = None,
        recipient_id: str | None = None,
        limit: int = 100,
    ) -> list[OutboxEntry]:
        """Outbox entries with their delivery state (the dead letters with
        ``status="dead"``), oldest first. For the host's operators: `SYSTEM` only."""

        ctx = "outbox"
        viewer = check_id("$.viewer", viewer, ctx)
        status_ = check_enum("$.status", status, DeliveryStatus, ctx) if status is not None else None
        rid = check_id("$.recipient_id", recipient_id, ctx) if recipient_id is not None else None
        v.check_limit(limit, ctx)
        self.runtime.authorise(None, Action.READ_OUTBOX, viewer, None)
        return self._store.outbox(status=status_, recipient_id=rid, limit=limit)

    def requeue(self, actor: str, message_ids: Iterable[str]) -> int:
        """Put dead (or dropped) messages back in the queue, due now with their attempts
        reset; others are left as they are. `SYSTEM` only. Returns how many were requeued."""

        ctx = "requeue"
        actor = check_id("$.actor", actor, ctx)
        ids = [
            check_id(f"$.message_ids[{i}]", m, ctx)
            for i, m in enumerate(check_strings("$.message_ids", message_ids, ctx))
        ]
        if len(ids) > 10_000:
            raise InvalidInputError.field("$.message_ids", f"at most 10000 ids at once, got {len(ids)}", context=ctx)
        self.runtime.authorise(None, Action.REQUEUE_MESSAGES, actor, None)
        return self._store.requeue(ids, now=self.clock.now())

    def sync_directory(self) -> SyncReport:
        """Bring memberships in step with the identity directory, as `SYSTEM`: people matching
        a community's rule (and of its organisations) join it, rule members who no longer match
        leave, anyone the directory says has left the organisation (or does not know) leaves
        every community, and anyone it no longer places in a community's organisations leaves
        that community (`SyncReport.outside`).
        Idempotent: a second run changes nothing. See `coplib.service.directory_sync`."""
        return sync_directory(self.runtime)
