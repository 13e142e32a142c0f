"""The runtime: one store and its plugins, the clock and the id factory, the unit-of-work loop
with its retries, the policy reactor, message composition, event subscribers and the one
permission decision point. Use cases (`coplib.service`) run on it; so do policies, the
dispatcher and directory synchronisation."""

from __future__ import annotations

import logging
import random as _random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pluggy

from coplib.domain import events as ev
from coplib.domain.clock import Clock, SystemClock
from coplib.domain.community import Community, Organisation
from coplib.domain.errors import ConcurrencyConflictError, InvalidInputError, NotFoundError, PluginError
from coplib.domain.history import Ref
from coplib.domain.ids import time_ordered_id
from coplib.domain.membership import Membership, membership_id
from coplib.domain.people import Person
from coplib.domain.permissions import SYSTEM, Action, OrganisationCreators, decide, is_reserved_person_id
from coplib.ports.storage import RecordedEvent, Store
from coplib.runtime.compose import compose_messages
from coplib.runtime.follower import DEFAULT_BATCH_SIZE, LogFollower
from coplib.runtime.reactor import PolicyReactor
from coplib.runtime.retry import RetryPolicy
from coplib.runtime.unit_of_work import UnitOfWork

log = logging.getLogger("coplib.runtime")

R = TypeVar("R")


class Runtime:
    """Everything a use case runs on (see the module docstring). Thread-safe if the store is."""

    def __init__(
        self,
        store: Store,
        *,
        plugin_manager: pluggy.PluginManager,
        clock: Clock | None = None,
        id_factory: Callable[[], str] | None = None,
        max_attempts: int | None = None,
        strict: bool = False,
        engine: object = None,
        retry: RetryPolicy | None = None,
        random: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        follow: str = "unit",
        follow_batch: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise InvalidInputError.field("$.retry", f"must be a RetryPolicy, got {type(retry).__name__}")
        if max_attempts is not None and max_attempts < 1:
            raise InvalidInputError.field("$.max_attempts", "must be at least 1")
        #: How a unit of work that lost a race is tried again (see `coplib.runtime.retry`).
        self.retry = retry or RetryPolicy()
        self._random = random or _random.random
        self._sleep = sleep or time.sleep
        self._store = store
        self._pm = plugin_manager
        self.clock: Clock = clock or SystemClock()
        self._new_id = id_factory or time_ordered_id
        self.max_attempts = max_attempts if max_attempts is not None else self.retry.attempts
        self.strict = strict
        #: What event subscribers receive as ``engine`` (the façade that owns this runtime).
        self.engine: object = engine if engine is not None else self
        self.reactor = PolicyReactor(self)
        #: The log follower of the policies that may react after the commit (`follow` says
        #: how it runs; in ``"unit"`` mode they react inside each command's unit of work).
        self.follower = LogFollower(self, self.reactor, mode=follow, batch_size=follow_batch, sleep=self._sleep)

    @property
    def store(self) -> Store:
        return self._store

    @property
    def plugin_manager(self) -> pluggy.PluginManager:
        return self._pm

    def new_id(self) -> str:
        """A new unique id from the id factory."""
        return self._new_id()

    def event_base(self, actor: str, community_id: str | None) -> dict[str, Any]:
        """The common fields of an event `actor` records now."""
        return {"id": self._new_id(), "actor_id": actor, "community_id": community_id, "occurred_at": self.clock.now()}

    # -- identity ---------------------------------------------------------------------------

    def person(self, person_id: str) -> Person | None:
        """The person as the identity plugins know them, or None. An identity plugin that
        hands out a person with one of coplib's own ids is refused (`PluginError`)."""
        if is_reserved_person_id(person_id):
            return None
        found: Person | None = self._pm.hook.coplib_get_person(person_id=person_id)
        if found is not None and is_reserved_person_id(getattr(found, "id", None)):
            raise PluginError(f"an identity plugin returned a person with coplib's own id {found.id!r}: refused")
        return found

    def authenticate(self, principal: str) -> str | None:
        """The coplib person id for the host's authenticated user name, or None. No principal
        authenticates as the system actor: an identity plugin that maps one to an id under
        ``coplib:`` is refused (`PluginError`)."""
        found: str | None = self._pm.hook.coplib_authenticate(principal=principal)
        if found is not None and is_reserved_person_id(found):
            raise PluginError(
                f"an identity plugin mapped the principal {principal!r:.60} to coplib's own id {found!r}: refused"
            )
        return found

    # -- the one permission decision point ---------------------------------------------------

    def authorise(
        self,
        uow: UnitOfWork | None,
        action: Action,
        actor: str,
        community: Community | None,
        *,
        owner_id: str | None = None,
        target_author_id: str | None = None,
        subject: Ref | None = None,
        organisation: Organisation | None = None,
        creators: OrganisationCreators | None = None,
    ) -> Membership | None:
        """Refuse with `PermissionDeniedError` unless `actor` may take `action` (in
        `community`, when it is taken in one; in `organisation`, for the actions of scope
        "organisation" and for sharing a community); return the actor's membership there.
        Every command and every read asks here; `uow` is None for a read outside a unit of
        work. `creators` is the host's setting of who creates organisations.

        A community (or an organisation) the actor may not know of, a private one they may
        not see or one of another organisation, is indistinguishable from one that does not
        exist: the refusal is the `NotFoundError` an unknown id gets, naming `subject` (what
        they asked for: the question, the answer...; the community, else the organisation, by
        default) and nothing else, not even the community's id."""
        membership = None
        if community is not None:
            ref = Ref("membership", membership_id(community.id, actor))
            if uow is not None:
                found = uow.get(ref)
            else:
                stored = self._store.get(ref)
                found = stored.value if stored is not None else None
            membership = found if isinstance(found, Membership) else None
        decision = decide(
            action,
            actor_id=actor,
            actor=self.person(actor),
            community=community,
            membership=membership,
            owner_id=owner_id,
            target_author_id=target_author_id,
            organisation=organisation,
            creators=creators,
        )
        if not decision.allowed and decision.concealed:
            hidden = subject
            if hidden is None and community is not None:
                hidden = Ref("community", community.id)
            elif hidden is None and organisation is not None:
                hidden = Ref("organisation", organisation.id)
            if hidden is not None:
                raise NotFoundError(hidden.kind, hidden.id)
        decision.require()
        return membership

    # -- the unit-of-work loop ----------------------------------------------------------------

    def run(self, body: Callable[[UnitOfWork], R]) -> R:
        """Run `body` as one unit of work: what it records commits atomically with the
        policies' reactions and the outbox messages. When a concurrent write wins the race,
        the whole body runs again from scratch (every body re-reads and re-decides, so a retry
        is always safe), after a jittered pause (`retry`), until `max_attempts` tries or the
        policy's deadline; only then does `ConcurrencyConflictError` reach the caller."""
        started = time.monotonic()
        deadline = self.retry.deadline.total_seconds()
        attempt = 0
        while True:
            attempt += 1
            uow = UnitOfWork(self._store)
            result = body(uow)
            if not uow.events:
                return result
            if self.follower.defers:
                self._react_deferring(uow)
            else:
                self.reactor.react(uow)
            messages = compose_messages(self._pm, uow)
            try:
                recorded = self._store.commit(uow.changeset(messages))
            except ConcurrencyConflictError:
                if attempt >= self.max_attempts or time.monotonic() - started >= deadline:
                    raise
                log.debug("concurrent write, retrying (attempt %d of %d)", attempt + 1, self.max_attempts)
                pause = self.retry.pause(attempt, self._random())
                if pause:
                    self._sleep(pause)
                continue
            self.notify_subscribers(recorded)
            self.follower.committed()
            return result

    def _react_deferring(self, uow: UnitOfWork) -> None:
        """The unit's own policies react now; the commit is marked for the follower when
        one of the following policies is interested in one of its events."""
        reactor = self.reactor
        reactor.react(uow, reactor.unit_policies)
        following = reactor.log_policies
        if any(policy.interested_in(event) for event in uow.events for policy in following):
            uow.record_first(ev.ReactionsDeferred(**self.event_base(SYSTEM, None), covers=len(uow.events)))

    def commit_batch(self, uow: UnitOfWork) -> int:
        """Commit a bulk unit of work as it is (no reactions, no messages); return how many
        events were stored. Subscribers hear of them as of any commit."""
        recorded = self._store.commit(uow.changeset(()))
        self.notify_subscribers(recorded)
        return len(recorded)

    def notify_subscribers(self, recorded: list[RecordedEvent]) -> None:
        """Hand committed events to the ``coplib_events_committed`` subscribers (see the
        hookspec for what happens when one fails)."""
        errors: list[BaseException] = []
        offered = {"engine": self.engine, "events": recorded}
        for impl in reversed(self._pm.hook.coplib_events_committed.get_hookimpls()):
            try:
                impl.function(**{name: offered[name] for name in impl.argnames})
            except Exception as exc:  # the commit stands; see the hookspec for the policy
                log.exception("subscriber %s failed on events %s", impl.plugin_name, [r.position for r in recorded])
                errors.append(exc)
        if errors and self.strict:
            raise PluginError(f"{len(errors)} event subscriber(s) failed: {errors[0]!r}") from errors[0]
