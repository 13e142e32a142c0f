"""The policy runtime's contract: what a policy is, and what it may do.

A policy reacts to the events a command records, inside that command's unit of work (so its
reaction commits atomically with the change, or not at all), and acts on what is due when
the host calls `Engine.tick`. A policy that raises never blocks the command: its reaction is
set aside as a `PolicyReactionFailed` event and retried by `tick`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

from coplib.domain import events as ev
from coplib.domain.community import Community
from coplib.domain.errors import FieldError, InvalidInputError
from coplib.domain.history import AGGREGATE_KINDS, Aggregate, Ref
from coplib.domain.ids import derived_id
from coplib.ports.storage import OutboxMessage

if TYPE_CHECKING:
    from coplib.ports.storage import Store
    from coplib.service.engine import Engine, UnitOfWork

#: The actor id policies act as (same as `coplib.SYSTEM`).
POLICY_ACTOR = "coplib:system"

_POLICY_MESSAGE_NAMESPACE = uuid.UUID("2f7f6a4e-0c55-4f53-9d1e-7f1a33b8c6d2")

T = TypeVar("T")


class SettingsMemo(Generic[T]):
    """What `parse` made of each content of a policy's settings, kept: a policy reads its
    community's settings on every reaction, and they change only when the charter does.

    Keyed by the settings' content (a charter's mapping is a plain dict), so a changed
    setting is parsed again; at most `size` contents are kept (the oldest go first).
    """

    def __init__(self, parse: Callable[[Mapping[str, str]], T], size: int = 256) -> None:
        self._parse = parse
        self._size = size
        self._memo: dict[tuple[tuple[str, str], ...], T] = {}

    def __call__(self, settings: Mapping[str, str]) -> T:
        key = tuple(sorted(settings.items())) if settings else ()
        try:
            return self._memo[key]
        except KeyError:
            pass
        parsed = self._parse(settings)
        if len(self._memo) >= self._size:
            del self._memo[next(iter(self._memo))]
        self._memo[key] = parsed
        return parsed


@runtime_checkable
class Policy(Protocol):
    """A policy plugin object, returned by the ``coplib_policies`` hook."""

    @property
    def name(self) -> str:
        """Stable name: the key of its settings in a charter and of its switch."""
        ...

    def interested_in(self, event: ev.DomainEvent) -> bool:
        """Whether `react` should see this event (cheap: called for every event)."""
        ...

    def settings_errors(self, settings: Mapping[str, str]) -> list[FieldError]:
        """What is wrong with a community's settings for this policy (paths from ``$``)."""
        ...

    def react(self, ctx: PolicyContext, event: ev.DomainEvent) -> None:
        """React to an event just recorded, within the same unit of work."""
        ...

    def due(self, ctx: PolicyContext) -> int:
        """Act on what is due at ``ctx.now`` (timers via ``ctx.store.find_due``); return how
        many things were done. Must be idempotent: called twice at the same moment, the second
        call finds nothing left to do."""
        ...


class BasePolicy:
    """Convenient defaults: interested in nothing, no settings, nothing due, no reads named.

    A policy may also name, in ``reads(event)``, the aggregates its reaction to `event` will
    read by key (`PolicyContext.get`): the engine reads those of every interested policy in one
    batch (`Store.get_many`) before the reactions, one round trip to a database server instead
    of one per read. It is a hint: what is named but not read costs a little, what is read but
    not named is read when asked. The `Policy` protocol does not require it.
    """

    name: ClassVar[str] = ""
    interests: ClassVar[frozenset[type[ev.DomainEvent]]] = frozenset()

    def interested_in(self, event: ev.DomainEvent) -> bool:
        return type(event) in self.interests

    def settings_errors(self, settings: Mapping[str, str]) -> list[FieldError]:
        return [FieldError(f"$.{key}", f"unknown setting for policy {self.name!r}") for key in settings]

    def react(self, ctx: PolicyContext, event: ev.DomainEvent) -> None:
        return None

    def due(self, ctx: PolicyContext) -> int:
        return 0

    def reads(self, event: ev.DomainEvent) -> Iterable[Ref]:
        """The aggregates `react` will read by key for `event` (see the class)."""
        return ()


class PolicyContext:
    """What a policy sees and may do: read (through the unit of work, so it sees what the
    command staged), record events (as `POLICY_ACTOR`), and leave messages in the outbox."""

    def __init__(self, engine: Engine, uow: UnitOfWork, policy: Policy, now: datetime) -> None:
        self.engine = engine
        self._uow = uow
        self.policy = policy
        self.now = now

    @property
    def store(self) -> Store:
        """The store, for queries (they see committed data, not this unit of work's)."""
        return self._uow.store

    def get(self, ref: Ref) -> Aggregate | None:
        """An aggregate as this unit of work sees it."""
        return self._uow.get(ref)

    def prefetch(self, refs: Iterable[Ref]) -> None:
        """Read `refs` in one batch now (one round trip to a database server), so that the
        `get` calls that follow find them; what was read already is not read again."""
        wanted = list(refs)
        for i, ref in enumerate(wanted):
            if not isinstance(ref, Ref) or ref.kind not in AGGREGATE_KINDS or not isinstance(ref.id, str):
                raise InvalidInputError.field(f"$.refs[{i}]", f"must be a Ref to an aggregate, got {ref!r:.80}")
        self._uow.prefetch(wanted)

    def community(self, community_id: str | None) -> Community | None:
        if community_id is None:
            return None
        found = self._uow.get(Ref("community", community_id))
        return found if isinstance(found, Community) else None

    def enabled(self, community_id: str | None) -> bool:
        """False when the community's charter switches this policy off."""
        community = self.community(community_id)
        return community is None or self.policy.name not in community.charter.disabled_policies

    def settings(self, community_id: str | None) -> Mapping[str, str]:
        """This policy's settings in the community's charter (empty when none)."""
        community = self.community(community_id)
        if community is None:
            return {}
        return community.charter.policy_settings.get(self.policy.name, {})

    def new_id(self) -> str:
        return self.engine.new_id()

    def event_fields(self, community_id: str | None) -> dict[str, Any]:
        """The common fields of an event recorded by this policy now."""
        return {"id": self.new_id(), "actor_id": POLICY_ACTOR, "community_id": community_id, "occurred_at": self.now}

    def record(self, event: ev.DomainEvent) -> None:
        """Record an event: its state change and the reactions it causes join this unit of work."""
        self._uow.record(event)

    def message(
        self,
        recipient_id: str,
        topic: str,
        params: Mapping[str, str],
        *,
        key: str,
        community_id: str | None = None,
        event_id: str | None = None,
    ) -> None:
        """Leave a message in the outbox. `key` makes it unique (with the recipient, topic and
        policy): leaving the same message twice writes it once. `event_id` names the event
        that caused it (the key when not given)."""
        message_id = derived_id(
            _POLICY_MESSAGE_NAMESPACE.bytes,
            f"{self.policy.name}\x00{key}\x00{recipient_id}\x00{topic}",
            event_id or key,
        )
        self._uow.add_message(
            OutboxMessage(
                id=message_id,
                event_id=event_id or key,
                recipient_id=recipient_id,
                topic=topic,
                community_id=community_id,
                params=dict(params),
                created_at=self.now,
            )
        )
