"""The policy port: what a policy plugin is, what it sees (`PolicyContext`), and what a
badge rule is.

A policy reacts to the events a command records, inside that command's unit of work (so its
reaction commits atomically with the change, or not at all), and acts on what is due when
the host calls `Engine.tick`. A policy that says it ``follows_log`` may instead react after
the commit, when the engine runs with a follower (`coplib.runtime.follower`). A policy that
raises never blocks the command: its reaction is set aside as a `PolicyReactionFailed` event
and retried by `tick`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

import pluggy

from coplib.domain import events as ev
from coplib.domain.clock import Clock
from coplib.domain.community import Community
from coplib.domain.errors import FieldError, InvalidInputError
from coplib.domain.history import AGGREGATE_KINDS, Aggregate, Ref
from coplib.domain.ids import derived_id
from coplib.domain.membership import Membership, membership_id
from coplib.domain.people import Person
from coplib.domain.permissions import SYSTEM
from coplib.domain.recognition import (
    BadgeProgress,
    SettingsReader,
    badge_award_id,
    badge_progress_id,
    invalid_settings,
)
from coplib.ports.storage import OutboxMessage, Store

#: The actor id policies act as: the system actor, `coplib.SYSTEM` (kept as an alias).
POLICY_ACTOR = SYSTEM

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
        """React to an event just recorded, within the same unit of work (or, for a policy
        whose optional ``follows_log`` is True and an engine with a follower, within the
        follower's unit of work for a batch of committed events: see `BasePolicy`)."""
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
    #: Whether the policy may react after the commit, following the committed log in batches
    #: (`coplib.runtime.follower`), when the engine runs with a follower (``follow="thread"``
    #: or ``"manual"``). A policy whose reaction is part of the promise made to the actor (the
    #: answer guarantee: the question routed, the asker told) keeps it False: it always reacts
    #: inside the command's own unit of work.
    follows_log: ClassVar[bool] = False

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


class PolicyRuntime(Protocol):
    """What of the runtime a policy may use (`coplib.runtime.Runtime` provides it)."""

    @property
    def store(self) -> Store: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def plugin_manager(self) -> pluggy.PluginManager: ...

    @property
    def strict(self) -> bool: ...

    def person(self, person_id: str) -> Person | None: ...

    def new_id(self) -> str: ...


class Staging(Protocol):
    """What of a unit of work a policy may use (`coplib.runtime.UnitOfWork` provides it)."""

    @property
    def store(self) -> Store: ...

    def get(self, ref: Ref) -> Aggregate | None: ...

    def prefetch(self, refs: Iterable[Ref]) -> None: ...

    def record(self, event: ev.DomainEvent) -> None: ...

    def add_message(self, message: OutboxMessage) -> None: ...


class PolicyContext:
    """What a policy sees and may do: read (through the unit of work, so it sees what the
    command staged), record events (as the system actor), and leave messages in the outbox.

    `runtime` is what the policy may use of the runtime (the identity directory, the id
    factory, the plugins); `engine` is an alias of it kept for plugins written before the
    runtime had its own name."""

    def __init__(self, runtime: PolicyRuntime, uow: Staging, policy: Policy, now: datetime) -> None:
        self.runtime = runtime
        self._uow = uow
        self.policy = policy
        self.now = now

    @property
    def engine(self) -> PolicyRuntime:
        return self.runtime

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
        return self.runtime.new_id()

    def event_fields(self, community_id: str | None) -> dict[str, Any]:
        """The common fields of an event recorded by this policy now."""
        return {"id": self.new_id(), "actor_id": SYSTEM, "community_id": community_id, "occurred_at": self.now}

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


# -- badge rules -------------------------------------------------------------------------------

#: The name of the policy that awards badges (its settings are what `BadgeView.setting` reads).
BADGES_POLICY = "badges"


def _badge_event_fields(ctx: PolicyContext, community_id: str) -> dict[str, Any]:
    """`PolicyContext.event_fields`, typed for the event constructors."""
    return ctx.event_fields(community_id)


class BadgeView:
    """What a badge rule sees: the state as the unit of work sees it (`get`), the store's
    queries (`store`, committed data only), the time, and the ``badges`` policy's settings
    for the community (`setting`)."""

    def __init__(self, ctx: PolicyContext, community_id: str, settings: Mapping[str, str]) -> None:
        self._ctx = ctx
        self.community_id = community_id
        self.settings = settings

    @property
    def store(self) -> Store:
        return self._ctx.store

    @property
    def now(self) -> datetime:
        return self._ctx.now

    def get(self, ref: Ref) -> Aggregate | None:
        return self._ctx.get(ref)

    def has_badge(self, person_id: str, badge: str) -> bool:
        return self.get(Ref("badge_award", badge_award_id(self.community_id, person_id, badge))) is not None

    def membership(self, person_id: str) -> Membership | None:
        found = self.get(Ref("membership", membership_id(self.community_id, person_id)))
        return found if isinstance(found, Membership) else None

    def prefetch(self, refs: Iterable[Ref]) -> None:
        """Read `refs` in one batch, for the `get` calls that follow."""
        self._ctx.prefetch(refs)

    def progress(self, person_id: str, badge: str) -> BadgeProgress | None:
        """What a person's progress toward `badge` holds (None before the first step)."""
        found = self.get(Ref("badge_progress", badge_progress_id(self.community_id, person_id, badge)))
        return found if isinstance(found, BadgeProgress) else None

    def note_progress(
        self, person_id: str, badge: str, key: str, items: Iterable[str], *, withdrawn: bool = False
    ) -> None:
        """Record, in this unit of work, that `items` show progress under `key` (or no longer
        do, when `withdrawn`): a rule that counts things keeps its count this way instead of
        reading the person's whole history each time (`BadgeProgressed`)."""
        self._ctx.record(
            ev.BadgeProgressed(
                **_badge_event_fields(self._ctx, self.community_id),
                person_id=person_id,
                badge=badge,
                key=key,
                items=tuple(items),
                withdrawn=withdrawn,
            )
        )

    def setting(self, key: str, default: int, *, minimum: int = 1, maximum: int = 100_000) -> int:
        """A whole-number setting (``"<badge>.<name>"``); a bad one raises `InvalidInputError`
        naming it, so the reaction is retried once the charter is fixed."""
        reader = SettingsReader(self.settings)
        value = reader.whole(key, default, minimum=minimum, maximum=maximum)
        if reader.errors:
            raise invalid_settings(BADGES_POLICY, self.community_id, reader.errors)
        return value


@runtime_checkable
class BadgeRule(Protocol):
    """A badge and who earns it: returned by the ``coplib_badge_rules`` hook."""

    @property
    def name(self) -> str:
        """Stable name (lower-case letters, digits, ``_.-``): the badge's id, never renamed."""
        ...

    @property
    def titles(self) -> Mapping[str, str]:
        """The badge's title by locale; ``en`` is required (and used where a locale is missing)."""
        ...

    @property
    def interests(self) -> frozenset[type[ev.DomainEvent]]:
        """The event types the rule looks at."""
        ...

    def earners(self, view: BadgeView, event: ev.DomainEvent) -> Iterable[str]:
        """The people who earn the badge by `event` (those who hold it already are skipped)."""
        ...
