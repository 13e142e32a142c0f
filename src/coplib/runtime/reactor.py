"""The policy reactor: policies react to each event of a unit of work inside it, act on what
is due when the host ticks, and a reaction that fails is set aside and retried by `tick`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

import attrs

from coplib.domain import events as ev
from coplib.domain import validation as v
from coplib.domain.clock import ensure_utc
from coplib.domain.community import Charter
from coplib.domain.errors import CoplibError, FieldError, InvalidInputError, PluginError
from coplib.domain.history import PolicyFailure, Ref
from coplib.domain.permissions import SYSTEM
from coplib.ports.policy import Policy, PolicyContext, PolicyRuntime
from coplib.runtime.unit_of_work import UnitOfWork

log = logging.getLogger("coplib.runtime")

R = TypeVar("R")

#: How many reactions one unit of work may cause before the reactor stops a loop between policies.
REACTION_BUDGET = 10_000

#: Events no policy reacts to: the reactor's and the follower's own bookkeeping.
_NOT_REACTED_TO: tuple[type[ev.DomainEvent], ...] = (
    ev.PolicyReactionFailed,
    ev.PolicyReactionRecovered,
    ev.ReactionsDeferred,
    ev.LogFollowed,
)


def follows_log(policy: Policy) -> bool:
    """Whether `policy` may react after the commit (its optional ``follows_log``)."""
    return getattr(policy, "follows_log", False) is True


@attrs.frozen
class TickReport:
    """What a tick did: per policy, how many things; how many failed reactions were retried."""

    now: datetime
    done: dict[str, int] = attrs.field(hash=False)
    retried: int
    errors: tuple[str, ...]


class ReactorHost(PolicyRuntime, Protocol):
    """What the reactor needs of the runtime (`coplib.runtime.Runtime`): what a policy may
    use of it, and the unit-of-work loop with the fields of a new event."""

    def event_base(self, actor: str, community_id: str | None) -> dict[str, Any]: ...

    def run(self, body: Callable[[UnitOfWork], R]) -> R: ...


class PolicyReactor:
    """The policies the plugins provide, and how they run (see the module docstring)."""

    def __init__(self, host: ReactorHost) -> None:
        self._host = host
        self._policies: list[Policy] | None = None
        self._log_policies: list[Policy] | None = None
        self._unit_policies: list[Policy] | None = None

    @property
    def policies(self) -> list[Policy]:
        """The policies the plugins provide, in registration order (host plugins first)."""
        if self._policies is None:
            found: list[Policy] = []
            for group in self._host.plugin_manager.hook.coplib_policies():
                for policy in group or ():
                    if not isinstance(policy, Policy):
                        raise PluginError(f"coplib_policies returned {policy!r}, which is not a Policy")
                    found.append(policy)
            names = [p.name for p in found]
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise PluginError(f"two policies share the name(s) {', '.join(duplicates)}: block one of them")
            self._policies = found
        return self._policies

    def policy(self, name: str) -> Policy | None:
        return next((p for p in self.policies if p.name == name), None)

    def context(self, uow: UnitOfWork, policy: Policy, now: datetime) -> PolicyContext:
        return PolicyContext(self._host, uow, policy, now)

    def check_settings(self, charter: Charter, context: str) -> None:
        """Refuse a charter whose settings name a policy that is not installed, or that its
        policy rejects (`Policy.settings_errors`), naming every bad setting by its path."""
        errors: list[FieldError] = []
        for name, settings in sorted(charter.policy_settings.items()):
            path = f"$.charter.policy_settings.{name}"
            policy = self.policy(name)
            if policy is None:
                known = ", ".join(sorted(p.name for p in self.policies)) or "none"
                errors.append(FieldError(path, f"no policy named {name!r} is installed; installed: {known}"))
                continue
            errors.extend(FieldError(path + e.path[1:], e.message) for e in policy.settings_errors(settings))
        if errors:
            raise InvalidInputError(errors, context=context)

    @property
    def log_policies(self) -> list[Policy]:
        """The policies that may react after the commit (their ``follows_log`` is True)."""
        if self._log_policies is None:
            self._log_policies = [p for p in self.policies if follows_log(p)]
        return self._log_policies

    @property
    def unit_policies(self) -> list[Policy]:
        """The policies that always react inside the unit of work that records the event."""
        if self._unit_policies is None:
            self._unit_policies = [p for p in self.policies if not follows_log(p)]
        return self._unit_policies

    def react(self, uow: UnitOfWork, policies: Sequence[Policy] | None = None) -> None:
        """Let every interested policy (of `policies`, all by default) react to each event of
        the unit of work, including the events the reactions record themselves (bounded, so
        a loop between policies ends)."""
        chosen = self.policies if policies is None else policies
        index = 0
        budget = [REACTION_BUDGET]
        while index < len(uow.events):
            event = uow.events[index]
            index += 1
            self.react_to(uow, event, chosen, budget)

    def react_to(
        self, uow: UnitOfWork, event: ev.DomainEvent, policies: Sequence[Policy], budget: list[int] | None = None
    ) -> None:
        """Let the interested ones of `policies` react to `event` in `uow` (`budget`: the
        reactions left to the unit, shared between calls)."""
        if isinstance(event, _NOT_REACTED_TO):
            return
        interested = [policy for policy in policies if policy.interested_in(event)]
        if not interested:
            return
        self._prefetch_reads(uow, interested, event)
        for policy in interested:
            if budget is not None:
                budget[0] -= 1
                if budget[0] < 0:
                    raise PluginError(
                        f"policies keep reacting to each other's events: stopped after {REACTION_BUDGET} reactions"
                    )
            self._react_once(uow, policy, event, attempt=1)

    def prefetch_for(self, uow: UnitOfWork, events: Sequence[ev.DomainEvent], policies: Sequence[Policy]) -> None:
        """Read in one batch what `policies` say their reactions to `events` will read."""
        refs: list[Ref] = []
        for event in events:
            for policy in policies:
                if policy.interested_in(event):
                    refs.extend(self._named_reads(policy, event))
        if refs:
            uow.prefetch(refs)

    @classmethod
    def _prefetch_reads(cls, uow: UnitOfWork, policies: Sequence[Policy], event: ev.DomainEvent) -> None:
        """Read in one batch what the policies say their reactions to `event` will read (their
        optional ``reads``: a hint, so a policy whose hint fails only loses the batch)."""
        refs = [ref for policy in policies for ref in cls._named_reads(policy, event)]
        if refs:
            uow.prefetch(refs)

    @staticmethod
    def _named_reads(policy: Policy, event: ev.DomainEvent) -> list[Ref]:
        reads = getattr(policy, "reads", None)
        if reads is None:
            return []
        try:
            return [ref for ref in reads(event) if isinstance(ref, Ref)]
        except Exception:
            log.warning("policy %s could not name its reads for event %s", policy.name, event.id, exc_info=True)
            return []

    def _react_once(self, uow: UnitOfWork, policy: Policy, event: ev.DomainEvent, *, attempt: int) -> bool:
        host = self._host
        ctx = self.context(uow, policy, event.occurred_at if attempt == 1 else host.clock.now())
        if not ctx.enabled(event.community_id):
            return True
        snapshot = uow.snapshot()
        try:
            policy.react(ctx, event)
            return True
        except Exception as exc:  # the command stands; the reaction is kept and retried by tick
            uow.restore(snapshot)
            log.exception("policy %s failed on event %s (attempt %d)", policy.name, event.id, attempt)
            if host.strict:
                raise PluginError(f"policy {policy.name!r} failed on event {event.id}: {exc!r}") from exc
            now = host.clock.now()
            uow.record(
                ev.PolicyReactionFailed(
                    **host.event_base(SYSTEM, event.community_id),
                    policy=policy.name,
                    event=event,
                    error=f"{type(exc).__name__}: {exc}"[: v.SHORT_TEXT_MAX],
                    attempt=attempt,
                    retry_at=now + min(timedelta(minutes=2**attempt), timedelta(days=1)),
                )
            )
            return False

    def tick(self, now: datetime | None = None, *, limit: int = 500) -> TickReport:
        """Let every policy act on what is due at `now` (the clock's time by default), and
        retry failed policy reactions that are due. Idempotent: a second tick at the same
        moment does nothing; safe with several workers (a conflicting worker retries and finds
        the work done). Cost follows the work due, not the size of the communities."""
        host = self._host
        moment = ensure_utc(now, "$.now") if now is not None else host.clock.now()
        done: dict[str, int] = {}
        errors: list[str] = []
        for policy in self.policies:

            def act(uow: UnitOfWork, policy: Policy = policy) -> int:
                return policy.due(self.context(uow, policy, moment))

            try:
                done[policy.name] = host.run(act)
            except CoplibError as exc:
                errors.append(f"{policy.name}: {exc}")
            except Exception as exc:  # one policy's bug must not stop the others
                log.exception("policy %s failed during tick", policy.name)
                errors.append(f"{policy.name}: {type(exc).__name__}: {exc}")
        retried = self._retry_failed_reactions(moment, limit)
        return TickReport(now=moment, done=done, retried=retried, errors=tuple(errors))

    def _retry_failed_reactions(self, moment: datetime, limit: int) -> int:
        host = self._host
        retried = 0
        for failure in host.store.find_due("policy_failure", before=moment, limit=limit):
            if not isinstance(failure, PolicyFailure):
                continue
            policy = self.policy(failure.policy)
            if policy is None:
                continue

            def again(uow: UnitOfWork, failure: PolicyFailure = failure, policy: Policy = policy) -> None:
                current = uow.get(Ref("policy_failure", failure.id))
                if not isinstance(current, PolicyFailure) or current.due_at is None or current.due_at > moment:
                    return  # another worker got to it first
                if self._react_once(uow, policy, current.event, attempt=current.attempts + 1):
                    uow.record(
                        ev.PolicyReactionRecovered(
                            **host.event_base(SYSTEM, current.event.community_id),
                            policy=policy.name,
                            failed_event_id=current.event.id,
                        )
                    )

            host.run(again)
            retried += 1
        return retried
