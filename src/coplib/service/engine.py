"""The engine: the one entry point of a host application.

Each command is one unit of work: validate the input, authorise the actor, record events
(which change state through `coplib.domain.history.apply`), compose the outbox messages,
commit all of it atomically, and only then hand the events to subscribers.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import pluggy

from coplib.domain import events as ev
from coplib.domain import validation as v
from coplib.domain.clock import Clock, SystemClock, ensure_utc
from coplib.domain.community import (
    GIVE_BEFORE_RECEIVE_GRACE,
    Admission,
    Charter,
    CharterRule,
    CharterVersion,
    CollaborationMode,
    Community,
    CommunityKind,
    LifecycleStage,
    Organisation,
    Role,
    Visibility,
    charter_version_id,
    check_coherent,
)
from coplib.domain.contributions import (
    CONTRIBUTION_CLASSES,
    Answer,
    Comment,
    Contribution,
    ContributionKind,
    Endorsement,
    Experience,
    ExperienceKind,
    Meeting,
    Question,
    Resource,
    ResourceKind,
)
from coplib.domain.errors import (
    CharterViolationError,
    ConcurrencyConflictError,
    ConflictError,
    CoplibError,
    FieldError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    PluginError,
    StorageError,
)
from coplib.domain.history import Aggregate, PolicyFailure, Ref, apply, touched
from coplib.domain.ids import derived_id, name_based_id, time_ordered_id
from coplib.domain.membership import Membership, MembershipStatus, membership_id
from coplib.domain.people import Person
from coplib.domain.permissions import Action, decide
from coplib.domain.preferences import Frequency, Preferences, QuietHours
from coplib.notification.messages import MessageDraft, check_channel
from coplib.ports.policy import Policy, PolicyContext
from coplib.ports.storage import (
    ACTIVE_ONLY,
    Changeset,
    DeliveryStatus,
    OutboxEntry,
    OutboxMessage,
    Period,
    RecordedEvent,
    Store,
    Versioned,
    Write,
)

if TYPE_CHECKING:
    from coplib.notification.dispatcher import DeliveryPolicy, DispatchReport
    from coplib.service.directory_sync import SyncReport

log = logging.getLogger("coplib.service.engine")

R = TypeVar("R")

#: The actor id of the host's own trusted jobs (imports, directory sync, policies): it
#: bypasses permissions and needs no directory entry.
SYSTEM = "coplib:system"

_MESSAGE_NAMESPACE = uuid.UUID("6c0b3c1e-8d3e-4a39-9f54-7d1f0a5e2b11")
_ENDORSEMENT_NAMESPACE = uuid.UUID("0f4b8d62-41a5-4f0e-8a43-5f3c9e2d7a90")
_MESSAGE_NAMESPACE_BYTES = _MESSAGE_NAMESPACE.bytes


ENDORSABLE = frozenset(
    {ContributionKind.QUESTION, ContributionKind.ANSWER, ContributionKind.RESOURCE, ContributionKind.EXPERIENCE}
)
COMMENTABLE = ENDORSABLE | {ContributionKind.MEETING}


@attrs.frozen
class QuestionThread:
    """A question with its live answers and the comments on them, oldest first."""

    question: Question
    answers: tuple[Answer, ...]
    comments: tuple[Comment, ...]

    @property
    def accepted_answer(self) -> Answer | None:
        return next((a for a in self.answers if a.id == self.question.accepted_answer_id), None)


@attrs.frozen
class TickReport:
    """What a tick did: per policy, how many things; how many failed reactions were retried."""

    now: datetime
    done: dict[str, int] = attrs.field(hash=False)
    retried: int
    errors: tuple[str, ...]


class UnitOfWork:
    """Reads through an identity map, stages the state each event produces, and builds the
    changeset that commits it all."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._loaded: dict[Ref, tuple[Aggregate | None, int]] = {}
        self._staged: dict[Ref, Aggregate] = {}
        self.events: list[ev.DomainEvent] = []
        self.messages: dict[str, OutboxMessage] = {}

    def get(self, ref: Ref) -> Aggregate | None:
        # One hash of the ref per map (policies read through here many times per command).
        staged = self._staged.get(ref)
        if staged is not None:
            return staged
        loaded = self._loaded.get(ref)
        if loaded is None:
            found = self.store.get(ref)
            loaded = self._loaded[ref] = (found.value, found.version) if found else (None, 0)
        return loaded[0]

    def prefetch(self, refs: Iterable[Ref]) -> None:
        """Read the refs not seen yet in one `get_many` (a bulk import's batch)."""
        wanted = [ref for ref in dict.fromkeys(refs) if ref not in self._staged and ref not in self._loaded]
        if not wanted:
            return
        found = self.store.get_many(wanted)
        for ref in wanted:
            hit = found.get(ref)
            self._loaded[ref] = (hit.value, hit.version) if hit is not None else (None, 0)

    def record(self, event: ev.DomainEvent, refs: Sequence[Ref] | None = None) -> None:
        """Apply `event` to every aggregate it touches (`refs`, when the caller has them
        already: ``touched(event)``) and keep it for the commit."""
        for ref in touched(event) if refs is None else refs:
            self._staged[ref] = apply(ref, self.get(ref), event)
        self.events.append(event)

    def add_message(self, message: OutboxMessage) -> None:
        """Queue an outbox message (the first one with a given id wins)."""
        self.messages.setdefault(message.id, message)

    def snapshot(self) -> tuple[dict[Ref, Aggregate], int, dict[str, OutboxMessage]]:
        """What has been staged so far, to undo a failed policy reaction with `restore`."""
        return dict(self._staged), len(self.events), dict(self.messages)

    def restore(self, snapshot: tuple[dict[Ref, Aggregate], int, dict[str, OutboxMessage]]) -> None:
        staged, count, messages = snapshot
        self._staged = staged
        del self.events[count:]
        self.messages = messages

    def changeset(self, messages: Sequence[OutboxMessage]) -> Changeset:
        writes = tuple(Write(ref, value, self._loaded[ref][1]) for ref, value in self._staged.items())
        return Changeset(writes=writes, events=tuple(self.events), messages=tuple(messages))


class _StagedView:
    """What message composers read: the store, with `get` seeing the unit of work's changes."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def get(self, ref: Ref) -> Any:
        value = self._uow.get(ref)
        return Versioned(value, 0) if value is not None else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow.store, name)


#: The statuses one can leave: a membership, an invitation, a pending request.
_LEAVABLE = frozenset({MembershipStatus.ACTIVE, MembershipStatus.INVITED, MembershipStatus.PENDING})


def _prefetch_first_reads(uow: UnitOfWork, community_id: str, actor: str, *new: Ref) -> None:
    """Read in one batch what a command reads first: its community, the actor's membership
    there, and the refs of what it creates (found absent: they are new)."""
    uow.prefetch([Ref("community", community_id), Ref("membership", membership_id(community_id, actor)), *new])


def _need(uow: UnitOfWork, kind: str, id: str, cls: type[R]) -> R:
    value = uow.get(Ref(kind, id))
    if not isinstance(value, cls):
        raise NotFoundError(kind, id)
    return value


def _check_id(path: str, value: object, context: str) -> str:
    if not v.is_identifier(value):
        raise InvalidInputError.field(path, f"must be an id string, got {value!r:.60}", context=context)
    return value


def _check_enum(path: str, value: object, enum_type: type[R], context: str) -> R:
    try:
        return enum_type(value)  # type: ignore[call-arg]
    except (ValueError, TypeError):
        choices = ", ".join(str(m.value) for m in enum_type)  # type: ignore[attr-defined]
        raise InvalidInputError.field(path, f"must be one of {choices}; got {value!r:.60}", context=context) from None


def _check_str(path: str, value: object, context: str) -> str:
    if not isinstance(value, str):
        raise InvalidInputError.field(path, f"must be a string, got {type(value).__name__}", context=context)
    return value


def _check_strings(path: str, value: object, context: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidInputError.field(path, f"must be a list of strings, got {type(value).__name__}", context=context)
    items = tuple(value)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise InvalidInputError.field(
                f"{path}[{i}]", f"must be a string, got {type(item).__name__}", context=context
            )
    return items


class Engine:
    """Commands and queries over one store, with its plugins. Thread-safe if the store is."""

    def __init__(
        self,
        store: Store,
        *,
        plugin_manager: pluggy.PluginManager,
        clock: Clock | None = None,
        id_factory: Callable[[], str] | None = None,
        max_attempts: int = 3,
        strict: bool = False,
    ) -> None:
        if max_attempts < 1:
            raise InvalidInputError.field("$.max_attempts", "must be at least 1")
        self._store = store
        self._pm = plugin_manager
        self.clock: Clock = clock or SystemClock()
        self._new_id = id_factory or time_ordered_id
        self.max_attempts = max_attempts
        self.strict = strict
        self._policies: list[Policy] | None = None

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        return self._store

    @property
    def plugin_manager(self) -> pluggy.PluginManager:
        return self._pm

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def person(self, person_id: str) -> Person | None:
        """The person as the identity plugins know them, or None."""
        found: Person | None = self._pm.hook.coplib_get_person(person_id=person_id)
        return found

    def authenticate(self, principal: str) -> str | None:
        """The coplib person id for the host's authenticated user name, or None."""
        _check_str("$.principal", principal, "authenticate")
        found: str | None = self._pm.hook.coplib_authenticate(principal=principal)
        return found

    def _event_base(self, actor: str, community_id: str | None) -> dict[str, Any]:
        return {"id": self._new_id(), "actor_id": actor, "community_id": community_id, "occurred_at": self.clock.now()}

    def transact(self, body: Callable[[UnitOfWork], R]) -> R:
        """Run `body` as one unit of work: what it records (through ``uow.record``) commits
        atomically with the policies' reactions and the outbox messages, and the whole body
        is run again from scratch on a concurrent write. For plugins and host jobs that need a
        command of their own; `body` must read through `uow` and decide from what it reads."""
        return self._run(body)

    def _run(self, body: Callable[[UnitOfWork], R]) -> R:
        """Run a command body as a unit of work, retrying it from scratch on a concurrent
        write (every body re-reads and re-decides, so a retry is always safe)."""
        for attempt in range(1, self.max_attempts + 1):
            uow = UnitOfWork(self._store)
            result = body(uow)
            if not uow.events:
                return result
            self._react(uow)
            messages = self._compose(uow)
            try:
                recorded = self._store.commit(uow.changeset(messages))
            except ConcurrencyConflictError:
                if attempt == self.max_attempts:
                    raise
                log.debug("concurrent write, retrying (attempt %d of %d)", attempt + 1, self.max_attempts)
                continue
            self._notify_subscribers(recorded)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _compose(self, uow: UnitOfWork) -> list[OutboxMessage]:
        view = _StagedView(uow)
        messages: dict[str, OutboxMessage] = {}
        for event in uow.events:
            for drafts in self._pm.hook.coplib_compose_messages(event=event, store=view):
                for draft in drafts or ():
                    if not isinstance(draft, MessageDraft):
                        raise PluginError(f"coplib_compose_messages returned {draft!r}, not a MessageDraft")
                    key = derived_id(
                        _MESSAGE_NAMESPACE_BYTES, f"{event.id}\x00{draft.recipient_id}\x00{draft.topic}", event.id
                    )
                    messages.setdefault(
                        key,
                        OutboxMessage(
                            id=key,
                            event_id=event.id,
                            recipient_id=draft.recipient_id,
                            topic=draft.topic,
                            community_id=event.community_id,
                            params=dict(draft.params),
                            created_at=event.occurred_at,
                        ),
                    )
        for message in uow.messages.values():
            messages.setdefault(message.id, message)
        return list(messages.values())

    # -- policies ---------------------------------------------------------------------------

    def new_id(self) -> str:
        """A new unique id from the engine's id factory."""
        return self._new_id()

    @property
    def policies(self) -> list[Policy]:
        """The policies the plugins provide, in registration order (host plugins first)."""
        if self._policies is None:
            found: list[Policy] = []
            for group in self._pm.hook.coplib_policies():
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

    def _check_policy_settings(self, charter: Charter, context: str) -> None:
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

    def _react(self, uow: UnitOfWork) -> None:
        """Let every interested policy react to each event of the unit of work, including the
        events the reactions record themselves (bounded, so a loop between policies ends)."""
        index = 0
        budget = 10_000
        while index < len(uow.events):
            event = uow.events[index]
            index += 1
            if isinstance(event, (ev.PolicyReactionFailed, ev.PolicyReactionRecovered)):
                continue
            interested = [policy for policy in self.policies if policy.interested_in(event)]
            self._prefetch_reads(uow, interested, event)
            for policy in interested:
                budget -= 1
                if budget < 0:
                    raise PluginError("policies keep reacting to each other's events: stopped after 10000 reactions")
                self._react_once(uow, policy, event, attempt=1)

    @staticmethod
    def _prefetch_reads(uow: UnitOfWork, policies: Sequence[Policy], event: ev.DomainEvent) -> None:
        """Read in one batch what the policies say their reactions to `event` will read (their
        optional ``reads``: a hint, so a policy whose hint fails only loses the batch)."""
        refs: list[Ref] = []
        for policy in policies:
            reads = getattr(policy, "reads", None)
            if reads is None:
                continue
            try:
                refs.extend(ref for ref in reads(event) if isinstance(ref, Ref))
            except Exception:
                log.warning("policy %s could not name its reads for event %s", policy.name, event.id, exc_info=True)
        if refs:
            uow.prefetch(refs)

    def _react_once(self, uow: UnitOfWork, policy: Policy, event: ev.DomainEvent, *, attempt: int) -> bool:
        ctx = PolicyContext(self, uow, policy, event.occurred_at if attempt == 1 else self.clock.now())
        if not ctx.enabled(event.community_id):
            return True
        snapshot = uow.snapshot()
        try:
            policy.react(ctx, event)
            return True
        except Exception as exc:  # the command stands; the reaction is kept and retried by tick
            uow.restore(snapshot)
            log.exception("policy %s failed on event %s (attempt %d)", policy.name, event.id, attempt)
            if self.strict:
                raise PluginError(f"policy {policy.name!r} failed on event {event.id}: {exc!r}") from exc
            now = self.clock.now()
            uow.record(
                ev.PolicyReactionFailed(
                    **self._event_base(SYSTEM, event.community_id),
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
        moment = ensure_utc(now, "$.now") if now is not None else self.clock.now()
        done: dict[str, int] = {}
        errors: list[str] = []
        for policy in self.policies:

            def act(uow: UnitOfWork, policy: Policy = policy) -> int:
                return policy.due(PolicyContext(self, uow, policy, moment))

            try:
                done[policy.name] = self._run(act)
            except CoplibError as exc:
                errors.append(f"{policy.name}: {exc}")
            except Exception as exc:  # one policy's bug must not stop the others
                log.exception("policy %s failed during tick", policy.name)
                errors.append(f"{policy.name}: {type(exc).__name__}: {exc}")
        retried = self._retry_failed_reactions(moment, limit)
        return TickReport(now=moment, done=done, retried=retried, errors=tuple(errors))

    def _retry_failed_reactions(self, moment: datetime, limit: int) -> int:
        retried = 0
        for failure in self._store.find_due("policy_failure", before=moment, limit=limit):
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
                            **self._event_base(SYSTEM, current.event.community_id),
                            policy=policy.name,
                            failed_event_id=current.event.id,
                        )
                    )

            self._run(again)
            retried += 1
        return retried

    def _notify_subscribers(self, recorded: list[RecordedEvent]) -> None:
        errors: list[BaseException] = []
        offered = {"engine": self, "events": recorded}
        for impl in reversed(self._pm.hook.coplib_events_committed.get_hookimpls()):
            try:
                impl.function(**{name: offered[name] for name in impl.argnames})
            except Exception as exc:  # the commit stands; see the hookspec for the policy
                log.exception("subscriber %s failed on events %s", impl.plugin_name, [r.position for r in recorded])
                errors.append(exc)
        if errors and self.strict:
            raise PluginError(f"{len(errors)} event subscriber(s) failed: {errors[0]!r}") from errors[0]

    def _authorise(
        self,
        uow: UnitOfWork,
        action: Action,
        actor: str,
        community: Community | None,
        *,
        owner_id: str | None = None,
        target_author_id: str | None = None,
    ) -> Membership | None:
        """Refuse with `PermissionDeniedError` unless `actor` may; return their membership."""
        membership = None
        if community is not None:
            found = uow.get(Ref("membership", membership_id(community.id, actor)))
            membership = found if isinstance(found, Membership) else None
        if actor == SYSTEM:
            return membership
        decide(
            action,
            actor_id=actor,
            actor=self.person(actor),
            community=community,
            membership=membership,
            owner_id=owner_id,
            target_author_id=target_author_id,
        ).require()
        return membership

    def _open_community(self, uow: UnitOfWork, community_id: object, context: str, actor: str, *new: Ref) -> Community:
        """The community a command acts in (`NotFoundError` if there is none), read in one
        batch with `actor`'s membership there, which the permission check reads next, and the
        refs of what the command creates (found absent: they are new)."""
        cid = _check_id("$.community_id", community_id, context)
        _prefetch_first_reads(uow, cid, actor, *new)
        return _need(uow, "community", cid, Community)

    def _require_mode(self, community: Community, mode: CollaborationMode) -> None:
        if not community.charter.allows(mode):
            raise CharterViolationError(
                community.id, mode.value, f"the charter does not provide for {mode.value}: amend it to allow this"
            )

    # -- organisation and community -------------------------------------------------------------

    def create_organisation(self, actor: str, name: str, *, organisation_id: str | None = None) -> Organisation:
        """Create an organisation, the holder of a portfolio of communities."""
        ctx = "create_organisation"
        actor = _check_id("$.actor", actor, ctx)
        oid = _check_id("$.organisation_id", organisation_id, ctx) if organisation_id is not None else self._new_id()
        v.check_fields(Organisation, ctx, name=name)

        def body(uow: UnitOfWork) -> Organisation:
            self._authorise(uow, Action.CREATE_COMMUNITY, actor, None)
            if uow.get(Ref("organisation", oid)) is not None:
                raise ConflictError(f"organisation {oid!r} exists already", kind="organisation", id=oid)
            uow.record(ev.OrganisationCreated(**self._event_base(actor, None), organisation_id=oid, name=name))
            return _need(uow, "organisation", oid, Organisation)

        return self._run(body)

    def create_community(
        self,
        actor: str,
        organisation_id: str,
        *,
        name: str,
        vocation: str | None = None,
        charter: Charter | None = None,
        kind: CommunityKind | str = CommunityKind.PRACTICE,
        visibility: Visibility | str = Visibility.OPEN,
        stage: LifecycleStage | str = LifecycleStage.POTENTIAL,
        tags: Iterable[str] = (),
        community_id: str | None = None,
    ) -> Community:
        """Create a community in an organisation's portfolio. Its founder (unless `SYSTEM`)
        becomes its first member and facilitator. Give a `charter`, or just a `vocation`."""
        ctx = "create_community"
        actor = _check_id("$.actor", actor, ctx)
        oid = _check_id("$.organisation_id", organisation_id, ctx)
        cid = _check_id("$.community_id", community_id, ctx) if community_id is not None else self._new_id()
        kind_ = _check_enum("$.kind", kind, CommunityKind, ctx)
        visibility_ = _check_enum("$.visibility", visibility, Visibility, ctx)
        stage_ = _check_enum("$.stage", stage, LifecycleStage, ctx)
        if charter is None:
            if vocation is None:
                raise InvalidInputError.field(
                    "$.vocation", "give the community a vocation (or a full charter)", context=ctx
                )
            charter = Charter(vocation=_check_str("$.vocation", vocation, ctx))
        if not isinstance(charter, Charter):
            raise InvalidInputError.field("$.charter", f"must be a Charter, got {type(charter).__name__}", context=ctx)
        fields = v.check_fields(Community, ctx, name=name, tags=_check_strings("$.tags", tags, ctx))
        try:
            check_coherent(visibility_, charter)
        except InvalidInputError as exc:
            raise exc.under("$", context=ctx) from None
        self._check_policy_settings(charter, ctx)

        def body(uow: UnitOfWork) -> Community:
            _need(uow, "organisation", oid, Organisation)
            self._authorise(uow, Action.CREATE_COMMUNITY, actor, None)
            if uow.get(Ref("community", cid)) is not None:
                raise ConflictError(f"community {cid!r} exists already", kind="community", id=cid)
            uow.record(
                ev.CommunityCreated(
                    **self._event_base(actor, cid),
                    organisation_id=oid,
                    name=name,
                    kind=kind_,
                    visibility=visibility_,
                    stage=stage_,
                    tags=fields["tags"],
                    charter=charter,
                )
            )
            if actor != SYSTEM:
                uow.record(ev.MemberJoined(**self._event_base(actor, cid), person_id=actor, via="founder"))
                uow.record(ev.RoleAssigned(**self._event_base(actor, cid), person_id=actor, role=Role.FACILITATOR))
            return _need(uow, "community", cid, Community)

        return self._run(body)

    def update_community(
        self,
        actor: str,
        community_id: str,
        *,
        name: str | None = None,
        visibility: Visibility | str | None = None,
        tags: Iterable[str] | None = None,
    ) -> Community:
        """Rename a community, change its visibility or its themes (facilitator or sponsor)."""
        ctx = "update_community"
        actor = _check_id("$.actor", actor, ctx)
        visibility_ = _check_enum("$.visibility", visibility, Visibility, ctx) if visibility is not None else None
        checked = v.check_fields(
            Community,
            ctx,
            **({"name": name} if name is not None else {}),
            **({"tags": _check_strings("$.tags", tags, ctx)} if tags is not None else {}),
        )

        def body(uow: UnitOfWork) -> Community:
            community = self._open_community(uow, community_id, ctx, actor)
            self._authorise(uow, Action.UPDATE_COMMUNITY, actor, community)
            new_visibility = visibility_ or community.visibility
            try:
                check_coherent(new_visibility, community.charter)
            except InvalidInputError as exc:
                raise exc.under("$", context=ctx) from None
            new = (checked.get("name", community.name), new_visibility, checked.get("tags", community.tags))
            if new == (community.name, community.visibility, community.tags):
                return community
            uow.record(
                ev.CommunityUpdated(
                    **self._event_base(actor, community.id), name=new[0], visibility=new[1], tags=new[2]
                )
            )
            return _need(uow, "community", community.id, Community)

        return self._run(body)

    def change_stage(self, actor: str, community_id: str, stage: LifecycleStage | str) -> Community:
        """Move a community to another lifecycle stage (closing it freezes contributions)."""
        ctx = "change_stage"
        actor = _check_id("$.actor", actor, ctx)
        stage_ = _check_enum("$.stage", stage, LifecycleStage, ctx)

        def body(uow: UnitOfWork) -> Community:
            community = self._open_community(uow, community_id, ctx, actor)
            self._authorise(uow, Action.UPDATE_COMMUNITY, actor, community)
            if community.stage is stage_:
                return community
            uow.record(
                ev.CommunityStageChanged(
                    **self._event_base(actor, community.id), stage=stage_, previous=community.stage
                )
            )
            return _need(uow, "community", community.id, Community)

        return self._run(body)

    def amend_charter(self, actor: str, community_id: str, charter: Charter, *, reason: str) -> CharterVersion:
        """Record a new version of the charter; earlier versions stay readable."""
        ctx = "amend_charter"
        actor = _check_id("$.actor", actor, ctx)
        if not isinstance(charter, Charter):
            raise InvalidInputError.field("$.charter", f"must be a Charter, got {type(charter).__name__}", context=ctx)
        v.check_fields(CharterVersion, ctx, reason=reason)
        self._check_policy_settings(charter, ctx)

        def body(uow: UnitOfWork) -> CharterVersion:
            community = self._open_community(uow, community_id, ctx, actor)
            self._authorise(uow, Action.AMEND_CHARTER, actor, community)
            try:
                check_coherent(community.visibility, charter)
            except InvalidInputError as exc:
                raise exc.under("$", context=ctx) from None
            for role in sorted(community.charter.roles - charter.roles):
                holders = self._store.members(community.id, role=role)
                if holders:
                    raise CharterViolationError(
                        community.id,
                        "roles",
                        f"the role {role.value} is held by {len(holders)} member(s): withdraw it before "
                        "removing it from the charter",
                    )
            number = community.charter_version + 1
            uow.record(
                ev.CharterAmended(
                    **self._event_base(actor, community.id), version=number, charter=charter, reason=reason
                )
            )
            return _need(uow, "charter_version", charter_version_id(community.id, number), CharterVersion)

        return self._run(body)

    # -- membership -------------------------------------------------------------------------------

    def _membership(self, uow: UnitOfWork, community: Community, person_id: str) -> Membership | None:
        found = uow.get(Ref("membership", membership_id(community.id, person_id)))
        return found if isinstance(found, Membership) else None

    def _require_person(self, person_id: str) -> Person:
        person = self.person(person_id)
        if person is None:
            raise NotFoundError("person", person_id)
        if not person.active:
            raise ConflictError(f"{person_id!r} has left the organisation or is inactive", kind="person", id=person_id)
        return person

    def invite(self, actor: str, community_id: str, person_id: str) -> Membership:
        """Invite a person; they become a member when they `join`."""
        ctx = "invite"
        actor = _check_id("$.actor", actor, ctx)
        pid = _check_id("$.person_id", person_id, ctx)

        def body(uow: UnitOfWork) -> Membership:
            community = self._open_community(uow, community_id, ctx, actor)
            self._authorise(uow, Action.INVITE, actor, community)
            self._require_person(pid)
            current = self._membership(uow, community, pid)
            if current is not None and current.status in (MembershipStatus.ACTIVE, MembershipStatus.INVITED):
                raise ConflictError(f"{pid!r} is already {current.status.value} in {community.id!r}")
            if current is not None and current.status is MembershipStatus.REMOVED and actor != SYSTEM:
                decide(
                    Action.REMOVE_MEMBER,
                    actor_id=actor,
                    actor=self.person(actor),
                    community=community,
                    membership=self._membership(uow, community, actor),
                ).require()
            uow.record(ev.MemberInvited(**self._event_base(actor, community.id), person_id=pid))
            return _need(uow, "membership", membership_id(community.id, pid), Membership)

        return self._run(body)

    def request_membership(self, actor: str, community_id: str) -> Membership:
        """Ask to join a community whose admission is on approval."""
        ctx = "request_membership"
        actor = _check_id("$.actor", actor, ctx)

        def body(uow: UnitOfWork) -> Membership:
            community = self._open_community(uow, community_id, ctx, actor)
            self._authorise(uow, Action.REQUEST_MEMBERSHIP, actor, community)
            uow.record(ev.MembershipRequested(**self._event_base(actor, community.id), person_id=actor))
            return _need(uow, "membership", membership_id(community.id, actor), Membership)

        return self._run(body)

    def _decide_request(self, actor: str, community_id: str, person_id: str, approve: bool, reason: str) -> Membership:
        ctx = "approve" if approve else "decline"
        actor = _check_id("$.actor", actor, ctx)
        pid = _check_id("$.person_id", person_id, ctx)
        _check_str("$.reason", reason, ctx)

        def body(uow: UnitOfWork) -> Membership:
            community = self._open_community(uow, community_id, ctx, actor)
            self._authorise(uow, Action.DECIDE_MEMBERSHIP, actor, community)
            current = self._membership(uow, community, pid)
            if current is None or current.status is not MembershipStatus.PENDING:
                raise ConflictError(f"{pid!r} has no pending request in {community.id!r}")
            base = self._event_base(actor, community.id)
            if approve:
                self._require_person(pid)
                uow.record(ev.MembershipApproved(**base, person_id=pid))
            else:
                uow.record(ev.MembershipDeclined(**base, person_id=pid, reason=reason))
            return _need(uow, "membership", membership_id(community.id, pid), Membership)

        return self._run(body)

    def approve(self, actor: str, community_id: str, person_id: str) -> Membership:
        """Approve a pending request: the person becomes an active member."""
        return self._decide_request(actor, community_id, person_id, True, "")

    def decline(self, actor: str, community_id: str, person_id: str, *, reason: str = "") -> Membership:
        """Turn a pending request down."""
        return self._decide_request(actor, community_id, person_id, False, reason)

    def join(self, actor: str, community_id: str) -> Membership:
        """Join: an open community, one that invited the actor, or one whose rule they match."""
        ctx = "join"
        actor = _check_id("$.actor", actor, ctx)

        def body(uow: UnitOfWork) -> Membership:
            community = self._open_community(uow, community_id, ctx, actor)
            current = self._authorise(uow, Action.JOIN, actor, community)
            if current is not None and current.active:
                raise ConflictError(f"{actor!r} is already an active member of {community.id!r}")
            if current is not None and current.status is MembershipStatus.INVITED:
                via = "invitation"
            elif community.charter.membership_policy.admission is Admission.RULE:
                via = "rule"
            else:
                via = "open"
            uow.record(ev.MemberJoined(**self._event_base(actor, community.id), person_id=actor, via=via))
            return _need(uow, "membership", membership_id(community.id, actor), Membership)

        return self._run(body)

    def _guard_last_facilitator(self, community: Community, leaving: Membership, actor: str) -> None:
        if actor == SYSTEM or not leaving.holds(Role.FACILITATOR):
            return
        others = [
            m for m in self._store.members(community.id, role=Role.FACILITATOR) if m.person_id != leaving.person_id
        ]
        if not others:
            raise ConflictError(
                f"{leaving.person_id!r} is the last facilitator of {community.id!r}: "
                "assign the role to someone else first",
                kind="community",
                id=community.id,
            )

    def leave(self, actor: str, community_id: str) -> Membership:
        """Leave a community (or drop an invitation or a pending request)."""
        ctx = "leave"
        actor = _check_id("$.actor", actor, ctx)

        def body(uow: UnitOfWork) -> Membership:
            community = self._open_community(uow, community_id, ctx, actor)
            current = self._authorise(uow, Action.LEAVE, actor, community)
            if current is None or current.status not in _LEAVABLE:  # only `SYSTEM` gets this far
                raise ConflictError(f"{actor!r} is not a member of {community.id!r}", kind="membership", id=actor)
            self._guard_last_facilitator(community, current, actor)
            uow.record(ev.MemberLeft(**self._event_base(actor, community.id), person_id=actor))
            return _need(uow, "membership", membership_id(community.id, actor), Membership)

        return self._run(body)

    def remove(self, actor: str, community_id: str, person_id: str, *, reason: str = "") -> Membership:
        """Remove a member: they lose every right in the community at once."""
        ctx = "remove"
        actor = _check_id("$.actor", actor, ctx)
        pid = _check_id("$.person_id", person_id, ctx)
        _check_str("$.reason", reason, ctx)

        def body(uow: UnitOfWork) -> Membership:
            community = self._open_community(uow, community_id, ctx, actor)
            self._authorise(uow, Action.REMOVE_MEMBER, actor, community)
            current = self._membership(uow, community, pid)
            if current is None or current.status not in (
                MembershipStatus.ACTIVE,
                MembershipStatus.INVITED,
                MembershipStatus.PENDING,
            ):
                raise ConflictError(f"{pid!r} is not a member of {community.id!r}")
            self._guard_last_facilitator(community, current, actor)
            uow.record(ev.MemberRemoved(**self._event_base(actor, community.id), person_id=pid, reason=reason))
            return _need(uow, "membership", membership_id(community.id, pid), Membership)

        return self._run(body)

    def assign_role(
        self, actor: str, community_id: str, person_id: str, role: Role | str, *, tags: Iterable[str] = ()
    ) -> Membership:
        """Give an active member a role; an expert is an expert of the given tags."""
        ctx = "assign_role"
        actor = _check_id("$.actor", actor, ctx)
        pid = _check_id("$.person_id", person_id, ctx)
        role_ = _check_enum("$.role", role, Role, ctx)
        checked = v.check_fields(Membership, ctx, expertise=_check_strings("$.tags", tags, ctx))
        expertise: frozenset[str] = checked["expertise"]
        if role_ is Role.EXPERT and not expertise:
            raise InvalidInputError.field(
                "$.tags", "an expert is an expert of some tags: give at least one", context=ctx
            )
        if role_ is not Role.EXPERT and expertise:
            raise InvalidInputError.field("$.tags", "only the expert role takes tags", context=ctx)

        def body(uow: UnitOfWork) -> Membership:
            community = self._open_community(uow, community_id, ctx, actor)
            self._authorise(uow, Action.ASSIGN_ROLE, actor, community)
            if role_ not in community.charter.roles:
                raise CharterViolationError(
                    community.id, "roles", f"the charter does not use the role {role_.value}: amend it first"
                )
            current = self._membership(uow, community, pid)
            if current is None or not current.active:
                raise ConflictError(f"{pid!r} is not an active member of {community.id!r}: roles are for members")
            if role_ in current.roles and expertise <= current.expertise:
                return current
            uow.record(
                ev.RoleAssigned(**self._event_base(actor, community.id), person_id=pid, role=role_, tags=expertise)
            )
            return _need(uow, "membership", current.id, Membership)

        return self._run(body)

    def withdraw_role(self, actor: str, community_id: str, person_id: str, role: Role | str) -> Membership:
        """Take a role back (the member role itself is withdrawn by `remove`)."""
        ctx = "withdraw_role"
        actor = _check_id("$.actor", actor, ctx)
        pid = _check_id("$.person_id", person_id, ctx)
        role_ = _check_enum("$.role", role, Role, ctx)
        if role_ is Role.MEMBER:
            raise InvalidInputError.field("$.role", "the member role goes with membership: use remove", context=ctx)

        def body(uow: UnitOfWork) -> Membership:
            community = self._open_community(uow, community_id, ctx, actor)
            self._authorise(uow, Action.ASSIGN_ROLE, actor, community)
            current = self._membership(uow, community, pid)
            if current is None:
                raise NotFoundError("membership", membership_id(community.id, pid))
            if role_ not in current.roles:
                return current
            if role_ is Role.FACILITATOR:
                self._guard_last_facilitator(community, current, actor)
            uow.record(ev.RoleWithdrawn(**self._event_base(actor, community.id), person_id=pid, role=role_))
            return _need(uow, "membership", current.id, Membership)

        return self._run(body)

    # -- contributions ----------------------------------------------------------------------------

    def _check_give_before_receive(self, community: Community, actor: str) -> None:
        if CharterRule.GIVE_BEFORE_RECEIVE not in community.charter.rules or actor == SYSTEM:
            return
        asked = self._store.count("question", community_id=community.id, person_id=actor)
        given = sum(
            self._store.count(kind, community_id=community.id, person_id=actor)
            for kind in ("answer", "resource", "experience")
        )
        if asked >= given + GIVE_BEFORE_RECEIVE_GRACE:
            raise CharterViolationError(
                community.id,
                CharterRule.GIVE_BEFORE_RECEIVE.value,
                f"{actor!r} has asked {asked} question(s) and given {given} contribution(s): "
                "answer a question or share a resource before asking again",
            )

    def ask(self, actor: str, community_id: str, *, title: str, body: str, tags: Iterable[str] = ()) -> Question:
        """Ask a question: the promise of the community is a fast answer."""
        ctx = "ask"
        actor = _check_id("$.actor", actor, ctx)
        fields = v.check_fields(Question, ctx, title=title, body=body, tags=_check_strings("$.tags", tags, ctx))
        qid = self._new_id()

        def run(uow: UnitOfWork) -> Question:
            community = self._open_community(uow, community_id, ctx, actor, Ref("question", qid))
            self._authorise(uow, Action.CONTRIBUTE, actor, community)
            self._require_mode(community, CollaborationMode.QUESTIONS)
            self._check_give_before_receive(community, actor)
            uow.record(ev.QuestionAsked(**self._event_base(actor, community.id), question_id=qid, **fields))
            return _need(uow, "question", qid, Question)

        return self._run(run)

    def answer(self, actor: str, question_id: str, *, body: str) -> Answer:
        """Answer a question."""
        ctx = "answer"
        actor = _check_id("$.actor", actor, ctx)
        qid = _check_id("$.question_id", question_id, ctx)
        fields = v.check_fields(Answer, ctx, body=body)
        aid = self._new_id()

        def run(uow: UnitOfWork) -> Answer:
            question = _need(uow, "question", qid, Question)
            _prefetch_first_reads(uow, question.community_id, actor, Ref("answer", aid))
            community = _need(uow, "community", question.community_id, Community)
            self._authorise(uow, Action.CONTRIBUTE, actor, community)
            self._require_mode(community, CollaborationMode.QUESTIONS)
            if question.withdrawn:
                raise ConflictError(f"question {qid!r} was withdrawn", kind="question", id=qid)
            uow.record(
                ev.AnswerPosted(
                    **self._event_base(actor, community.id),
                    answer_id=aid,
                    question_id=qid,
                    asker_id=question.author_id,
                    **fields,
                )
            )
            return _need(uow, "answer", aid, Answer)

        return self._run(run)

    def accept(self, actor: str, answer_id: str) -> Question:
        """Mark an answer as accepted (the asker or a facilitator); another one can replace it."""
        ctx = "accept"
        actor = _check_id("$.actor", actor, ctx)
        aid = _check_id("$.answer_id", answer_id, ctx)

        def run(uow: UnitOfWork) -> Question:
            answer = _need(uow, "answer", aid, Answer)
            question = _need(uow, "question", answer.question_id, Question)
            community = _need(uow, "community", question.community_id, Community)
            self._authorise(uow, Action.ACCEPT_ANSWER, actor, community, owner_id=question.author_id)
            if answer.withdrawn or question.withdrawn:
                raise ConflictError("a withdrawn answer or question cannot be accepted", kind="answer", id=aid)
            if question.accepted_answer_id == aid:
                return question
            previous = question.accepted_answer_id
            previous_author = None
            if previous is not None:
                prev = uow.get(Ref("answer", previous))
                previous_author = prev.author_id if isinstance(prev, Answer) else None
            uow.record(
                ev.AnswerAccepted(
                    **self._event_base(actor, community.id),
                    question_id=question.id,
                    answer_id=aid,
                    answer_author_id=answer.author_id,
                    asker_id=question.author_id,
                    previous_answer_id=previous,
                    previous_answer_author_id=previous_author,
                )
            )
            return _need(uow, "question", question.id, Question)

        return self._run(run)

    def _target(
        self,
        uow: UnitOfWork,
        kind: object,
        target_id: object,
        allowed: frozenset[ContributionKind],
        ctx: str,
        *,
        paths: tuple[str, str] = ("$.target_kind", "$.target_id"),
    ) -> Contribution:
        kind_path, id_path = paths  # named as the command's parameters are
        kind_ = _check_enum(kind_path, kind, ContributionKind, ctx)
        tid = _check_id(id_path, target_id, ctx)
        if kind_ not in allowed:
            choices = ", ".join(sorted(k.value for k in allowed))
            raise InvalidInputError.field(kind_path, f"must be one of {choices}; got {kind_.value}", context=ctx)
        found = uow.get(Ref(kind_.value, tid))
        if found is None:
            raise NotFoundError(kind_.value, tid)
        assert isinstance(found, CONTRIBUTION_CLASSES)
        if getattr(found, "withdrawn", False):
            raise ConflictError(f"{kind_.value} {tid!r} was withdrawn", kind=kind_.value, id=tid)
        return found

    def comment(self, actor: str, target_kind: ContributionKind | str, target_id: str, *, body: str) -> Comment:
        """Comment on a question, an answer, a resource, an experience or a meeting."""
        ctx = "comment"
        actor = _check_id("$.actor", actor, ctx)
        fields = v.check_fields(Comment, ctx, body=body)
        comment_id = self._new_id()

        def run(uow: UnitOfWork) -> Comment:
            target = self._target(uow, target_kind, target_id, COMMENTABLE, ctx)
            community = _need(uow, "community", target.community_id, Community)
            self._authorise(uow, Action.CONTRIBUTE, actor, community)
            uow.record(
                ev.CommentPosted(
                    **self._event_base(actor, community.id),
                    comment_id=comment_id,
                    target_id=target.id,
                    target_kind=target.KIND,
                    target_author_id=target.author_id,
                    **fields,
                )
            )
            return _need(uow, "comment", comment_id, Comment)

        return self._run(run)

    def endorse(self, actor: str, target_kind: ContributionKind | str, target_id: str) -> Endorsement:
        """Vouch for someone else's contribution (once per person and contribution)."""
        ctx = "endorse"
        actor = _check_id("$.actor", actor, ctx)

        def run(uow: UnitOfWork) -> Endorsement:
            target = self._target(uow, target_kind, target_id, ENDORSABLE, ctx)
            community = _need(uow, "community", target.community_id, Community)
            self._authorise(uow, Action.ENDORSE, actor, community, target_author_id=target.author_id)
            eid = name_based_id(_ENDORSEMENT_NAMESPACE.bytes, f"{target.KIND.value}\x00{target.id}\x00{actor}")
            if uow.get(Ref("endorsement", eid)) is not None:
                raise ConflictError(f"{actor!r} has already endorsed {target.KIND.value} {target.id!r}")
            uow.record(
                ev.ContributionEndorsed(
                    **self._event_base(actor, community.id),
                    endorsement_id=eid,
                    target_id=target.id,
                    target_kind=target.KIND,
                    target_author_id=target.author_id,
                )
            )
            return _need(uow, "endorsement", eid, Endorsement)

        return self._run(run)

    def share_resource(
        self,
        actor: str,
        community_id: str,
        *,
        title: str,
        location: str,
        kind: ResourceKind | str = ResourceKind.LINK,
        description: str = "",
        tags: Iterable[str] = (),
    ) -> Resource:
        """Add a document or a link to the shared repertoire."""
        ctx = "share_resource"
        actor = _check_id("$.actor", actor, ctx)
        kind_ = _check_enum("$.kind", kind, ResourceKind, ctx)
        fields = v.check_fields(
            Resource,
            ctx,
            title=title,
            location=location,
            description=description,
            tags=_check_strings("$.tags", tags, ctx),
        )
        rid = self._new_id()

        def run(uow: UnitOfWork) -> Resource:
            community = self._open_community(uow, community_id, ctx, actor)
            self._authorise(uow, Action.CONTRIBUTE, actor, community)
            self._require_mode(community, CollaborationMode.SHARED_REPERTOIRE)
            uow.record(
                ev.ResourceShared(**self._event_base(actor, community.id), resource_id=rid, kind=kind_, **fields)
            )
            return _need(uow, "resource", rid, Resource)

        return self._run(run)

    def record_experience(
        self,
        actor: str,
        community_id: str,
        *,
        title: str,
        body: str,
        kind: ExperienceKind | str = ExperienceKind.LESSON,
        tags: Iterable[str] = (),
    ) -> Experience:
        """Tell a lesson learned or a case for the others."""
        ctx = "record_experience"
        actor = _check_id("$.actor", actor, ctx)
        kind_ = _check_enum("$.kind", kind, ExperienceKind, ctx)
        fields = v.check_fields(Experience, ctx, title=title, body=body, tags=_check_strings("$.tags", tags, ctx))
        xid = self._new_id()

        def run(uow: UnitOfWork) -> Experience:
            community = self._open_community(uow, community_id, ctx, actor)
            self._authorise(uow, Action.CONTRIBUTE, actor, community)
            self._require_mode(community, CollaborationMode.EXPERIENCES)
            uow.record(
                ev.ExperienceRecorded(**self._event_base(actor, community.id), experience_id=xid, kind=kind_, **fields)
            )
            return _need(uow, "experience", xid, Experience)

        return self._run(run)

    def schedule_meeting(
        self,
        actor: str,
        community_id: str,
        *,
        title: str,
        starts_at: datetime,
        ends_at: datetime,
        description: str = "",
        location: str = "",
        tags: Iterable[str] = (),
    ) -> Meeting:
        """Schedule an event of the community (a meeting, a call to all)."""
        ctx = "schedule_meeting"
        actor = _check_id("$.actor", actor, ctx)
        try:
            start = ensure_utc(starts_at, "$.starts_at")
            end = ensure_utc(ends_at, "$.ends_at")
        except InvalidInputError as exc:
            raise exc.under("$", context=ctx) from None
        fields = v.check_fields(
            Meeting,
            ctx,
            title=title,
            description=description,
            starts_at=start,
            ends_at=end,
            location=location,
            tags=_check_strings("$.tags", tags, ctx),
        )
        mid = self._new_id()

        def run(uow: UnitOfWork) -> Meeting:
            community = self._open_community(uow, community_id, ctx, actor)
            self._authorise(uow, Action.SCHEDULE_MEETING, actor, community)
            self._require_mode(community, CollaborationMode.MEETINGS)
            uow.record(ev.MeetingScheduled(**self._event_base(actor, community.id), meeting_id=mid, **fields))
            return _need(uow, "meeting", mid, Meeting)

        return self._run(run)

    def record_attendance(self, actor: str, meeting_id: str, attendees: Iterable[str]) -> Meeting:
        """Record who attended a meeting (members only; replaces any earlier list)."""
        ctx = "record_attendance"
        actor = _check_id("$.actor", actor, ctx)
        mid = _check_id("$.meeting_id", meeting_id, ctx)
        people = frozenset(
            _check_id(f"$.attendees[{i}]", p, ctx) for i, p in enumerate(_check_strings("$.attendees", attendees, ctx))
        )
        v.check_fields(Meeting, ctx, attendees=people)

        def run(uow: UnitOfWork) -> Meeting:
            meeting = _need(uow, "meeting", mid, Meeting)
            community = _need(uow, "community", meeting.community_id, Community)
            self._authorise(uow, Action.RECORD_ATTENDANCE, actor, community, owner_id=meeting.author_id)
            if meeting.withdrawn:
                raise ConflictError(f"meeting {mid!r} was withdrawn", kind="meeting", id=mid)
            outsiders = sorted(p for p in people if not (m := self._membership(uow, community, p)) or not m.active)
            if outsiders:
                raise InvalidInputError.field(
                    "$.attendees", f"not active members of {community.id!r}: {', '.join(outsiders[:10])}", context=ctx
                )
            if people == meeting.attendees:
                return meeting
            uow.record(ev.AttendanceRecorded(**self._event_base(actor, community.id), meeting_id=mid, attendees=people))
            return _need(uow, "meeting", mid, Meeting)

        return self._run(run)

    def withdraw(
        self, actor: str, kind: ContributionKind | str, contribution_id: str, *, reason: str = ""
    ) -> Contribution:
        """Take a contribution back (its author, a facilitator or the documentalist)."""
        ctx = "withdraw"
        actor = _check_id("$.actor", actor, ctx)
        _check_str("$.reason", reason, ctx)
        withdrawable = frozenset(ContributionKind) - {ContributionKind.ENDORSEMENT}

        def run(uow: UnitOfWork) -> Contribution:
            target = self._target(uow, kind, contribution_id, withdrawable, ctx, paths=("$.kind", "$.contribution_id"))
            community = _need(uow, "community", target.community_id, Community)
            self._authorise(uow, Action.WITHDRAW_CONTRIBUTION, actor, community, owner_id=target.author_id)
            uow.record(
                ev.ContributionWithdrawn(
                    **self._event_base(actor, community.id),
                    contribution_id=target.id,
                    contribution_kind=target.KIND,
                    author_id=target.author_id,
                    question_id=target.question_id if isinstance(target, Answer) else None,
                    reason=reason,
                )
            )
            found = uow.get(Ref(target.KIND.value, target.id))
            assert isinstance(found, CONTRIBUTION_CLASSES)
            return found

        return self._run(run)

    # -- queries ----------------------------------------------------------------------------------

    def _readable(self, viewer: str, community: Community, action: Action = Action.READ) -> None:
        if viewer == SYSTEM:
            return
        found = self._store.get(Ref("membership", membership_id(community.id, viewer)))
        membership = found.value if found and isinstance(found.value, Membership) else None
        decide(action, actor_id=viewer, actor=self.person(viewer), community=community, membership=membership).require()

    def _community(self, community_id: object, ctx: str) -> Community:
        cid = _check_id("$.community_id", community_id, ctx)
        found = self._store.get(Ref("community", cid))
        if found is None or not isinstance(found.value, Community):
            raise NotFoundError("community", cid)
        return found.value

    def community(self, viewer: str, community_id: str) -> Community:
        """A community with its current charter, if the viewer may see it."""
        community = self._community(community_id, "community")
        self._readable(_check_id("$.viewer", viewer, "community"), community, Action.SEE)
        return community

    def charter_history(self, viewer: str, community_id: str) -> list[CharterVersion]:
        """Every version of the charter, oldest first."""
        community = self.community(viewer, community_id)
        versions = [
            c for c in self._store.find("charter_version", community_id=community.id) if isinstance(c, CharterVersion)
        ]
        return sorted(versions, key=lambda c: c.number)

    def organisation(self, organisation_id: str) -> Organisation:
        oid = _check_id("$.organisation_id", organisation_id, "organisation")
        found = self._store.get(Ref("organisation", oid))
        if found is None or not isinstance(found.value, Organisation):
            raise NotFoundError("organisation", oid)
        return found.value

    def portfolio(self, viewer: str, organisation_id: str) -> list[Community]:
        """The organisation's communities that the viewer may see, by name."""
        viewer = _check_id("$.viewer", viewer, "portfolio")
        org = self.organisation(organisation_id)
        visible = []
        for community in self._store.communities(org.id):
            try:
                self._readable(viewer, community, Action.SEE)
            except CoplibError:
                continue
            visible.append(community)
        return visible

    def members(
        self,
        viewer: str,
        community_id: str,
        *,
        role: Role | str | None = None,
        tag: str | None = None,
        statuses: Sequence[MembershipStatus | str] = ACTIVE_ONLY,
    ) -> list[Membership]:
        """Members of a community, by role and by expertise tag."""
        ctx = "members"
        role_ = _check_enum("$.role", role, Role, ctx) if role is not None else None
        statuses_ = [_check_enum(f"$.statuses[{i}]", s, MembershipStatus, ctx) for i, s in enumerate(statuses)]
        tag_ = v.normalise_tag(_check_str("$.tag", tag, ctx)) if tag is not None else None
        community = self._community(community_id, ctx)
        self._readable(_check_id("$.viewer", viewer, ctx), community)
        return self._store.members(community.id, role=role_, tag=tag_, statuses=statuses_)

    def membership(self, viewer: str, community_id: str, person_id: str) -> Membership | None:
        community = self._community(community_id, "membership")
        pid = _check_id("$.person_id", person_id, "membership")
        if viewer != pid:
            self._readable(_check_id("$.viewer", viewer, "membership"), community)
        found = self._store.get(Ref("membership", membership_id(community.id, pid)))
        return found.value if found and isinstance(found.value, Membership) else None

    def question(self, viewer: str, question_id: str) -> QuestionThread:
        """A question with its live answers and the comments on question and answers."""
        ctx = "question"
        qid = _check_id("$.question_id", question_id, ctx)
        found = self._store.get(Ref("question", qid))
        if found is None or not isinstance(found.value, Question):
            raise NotFoundError("question", qid)
        question = found.value
        self._readable(_check_id("$.viewer", viewer, ctx), self._community(question.community_id, ctx))
        answers = tuple(
            a for a in self._store.find("answer", parent_id=qid) if isinstance(a, Answer) and not a.withdrawn
        )
        comments: list[Comment] = []
        for target in (qid, *(a.id for a in answers)):
            comments.extend(
                c for c in self._store.find("comment", parent_id=target) if isinstance(c, Comment) and not c.withdrawn
            )
        comments.sort(key=lambda c: (c.created_at, c.id))
        return QuestionThread(question, answers, tuple(comments))

    def unanswered_questions(
        self,
        viewer: str,
        community_id: str,
        *,
        tag: str | None = None,
        older_than: timedelta = timedelta(0),
        limit: int = 50,
    ) -> list[Question]:
        """Open questions of a community (optionally of a tag), at least `older_than` old,
        oldest first: the help space to watch."""
        ctx = "unanswered_questions"
        if not isinstance(older_than, timedelta) or older_than < timedelta(0):
            raise InvalidInputError.field("$.older_than", "must be a timedelta >= 0", context=ctx)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise InvalidInputError.field(
                "$.limit", f"must be a whole number from 1 to 10000, got {limit!r}", context=ctx
            )
        tag_ = v.normalise_tag(_check_str("$.tag", tag, ctx)) if tag is not None else None
        community = self._community(community_id, ctx)
        self._readable(_check_id("$.viewer", viewer, ctx), community)
        cutoff = self.clock.now() - older_than if older_than else None
        return self._store.unanswered_questions(community.id, tag=tag_, asked_before=cutoff, limit=limit)

    def contributions_of(
        self,
        viewer: str,
        person_id: str,
        *,
        community_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Iterable[ContributionKind | str] | None = None,
    ) -> list[Contribution]:
        """What a person contributed, oldest first, in the communities the viewer may read."""
        ctx = "contributions_of"
        pid = _check_id("$.person_id", person_id, ctx)
        viewer = _check_id("$.viewer", viewer, ctx)
        since_ = ensure_utc(since, "$.since") if since is not None else None
        until_ = ensure_utc(until, "$.until") if until is not None else None
        chosen = (
            [_check_enum(f"$.kinds[{i}]", k, ContributionKind, ctx) for i, k in enumerate(kinds)]
            if kinds is not None
            else list(ContributionKind)
        )
        cid = None
        if community_id is not None:
            community = self._community(community_id, ctx)
            self._readable(viewer, community)
            cid = community.id
        found: list[Contribution] = []
        for kind in chosen:
            for item in self._store.find(kind.value, community_id=cid, person_id=pid, since=since_, until=until_):
                assert isinstance(item, CONTRIBUTION_CLASSES)
                found.append(item)
        readable: dict[str, bool] = {}
        out = []
        for item in sorted(found, key=lambda c: (c.created_at, c.id)):
            if item.community_id not in readable:
                try:
                    self._readable(viewer, self._community(item.community_id, ctx))
                    readable[item.community_id] = True
                except CoplibError:
                    readable[item.community_id] = False
            if readable[item.community_id]:
                out.append(item)
        return out

    def history(self, viewer: str, community_id: str, *, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """A community's events in order (page with `after` = the last position seen)."""
        ctx = "history"
        community = self._community(community_id, ctx)
        self._readable(_check_id("$.viewer", viewer, ctx), community)
        return self._store.events(community_id=community.id, after=after, limit=limit)

    def count_events(
        self,
        viewer: str,
        community_id: str,
        *,
        since: datetime,
        until: datetime,
        period: Period | str = Period.WEEK,
        types: Sequence[str] | None = None,
    ) -> dict[date, int]:
        """Events per period (day, week, month) in [since, until)."""
        ctx = "count_events"
        period_ = _check_enum("$.period", period, Period, ctx)
        community = self._community(community_id, ctx)
        self._readable(_check_id("$.viewer", viewer, ctx), community)
        return self._store.count_events(
            community.id,
            since=ensure_utc(since, "$.since"),
            until=ensure_utc(until, "$.until"),
            period=period_,
            types=types,
        )

    # -- bulk path --------------------------------------------------------------------------------

    def import_history(self, events: Iterable[ev.DomainEvent], *, batch_size: int = 500) -> int:
        """Append an existing history (an import, a replay) in batches, one unit of work each.

        Every event goes through the same transitions as a command, so an event that does not
        fit the state (an answer to an unknown question...) is refused with its batch, and
        earlier batches stay. It is a trusted host job: no permission check, and no messages
        (old history is not news). Returns how many events were stored.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= 100_000:
            raise InvalidInputError.field("$.batch_size", f"must be from 1 to 100000, got {batch_size!r}")
        stored = 0
        source = iter(events)
        start = 0
        while batch := list(itertools.islice(source, batch_size)):
            for i, event in enumerate(batch, start):
                if not isinstance(event, ev.DomainEvent):
                    raise InvalidInputError.field(
                        f"$.events[{i}]", f"must be a DomainEvent, got {type(event).__name__}"
                    )
            uow = UnitOfWork(self._store)
            refs = [touched(event) for event in batch]
            # One read for the whole batch instead of one per aggregate it touches.
            uow.prefetch(ref for each in refs for ref in each)
            for i, (event, its_refs) in enumerate(zip(batch, refs), start):
                try:
                    uow.record(event, its_refs)
                except InvalidInputError as exc:
                    raise exc.under(f"$.events[{i}]", context="import_history") from None
            stored += self._commit_batch(uow)
            start += len(batch)
        return stored

    def _commit_batch(self, uow: UnitOfWork) -> int:
        recorded = self._store.commit(uow.changeset(()))
        self._notify_subscribers(recorded)
        return len(recorded)

    # -- delivery ---------------------------------------------------------------------------------
    # The delivery side lives in coplib.notification.dispatcher and coplib.service.directory_sync; these methods are
    # thin entry points. Their imports are local so that this region stays self-contained.

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
        from coplib.notification.dispatcher import Dispatcher

        return Dispatcher(self, policy=policy, worker=worker, random=random).dispatch(limit=limit)

    def set_preferences(
        self,
        actor: str,
        person_id: str,
        *,
        channel: str | None = None,
        frequency: Frequency | str = "immediate",
        quiet_hours: QuietHours | None = None,
        unsubscribed: Iterable[str] = (),
    ) -> Preferences:
        """Set how a person wants to be reached, in full (what is not given goes back to its
        default). A person sets their own; `SYSTEM` sets anyone's."""

        ctx = "set_preferences"
        actor = _check_id("$.actor", actor, ctx)
        pid = _check_id("$.person_id", person_id, ctx)
        channel_ = check_channel(channel, "$.channel") if channel is not None else None
        frequency_ = _check_enum("$.frequency", frequency, Frequency, ctx)
        if quiet_hours is not None and not isinstance(quiet_hours, QuietHours):
            raise InvalidInputError.field(
                "$.quiet_hours", f"must be a QuietHours or None, got {type(quiet_hours).__name__}", context=ctx
            )
        topics = _check_strings("$.unsubscribed", unsubscribed, ctx)
        for i, topic in enumerate(topics):
            if not topic or len(topic) > 100 or any(c.isspace() for c in topic):
                raise InvalidInputError.field(
                    f"$.unsubscribed[{i}]", f"must be a topic name without spaces, got {topic!r:.60}", context=ctx
                )
        if len(set(topics)) > 100:
            raise InvalidInputError.field("$.unsubscribed", "at most 100 topics", context=ctx)
        if actor != SYSTEM:
            if actor != pid:
                raise PermissionDeniedError(ctx, actor, None, "a person sets their own preferences only")
            me = self.person(actor)
            if me is None or not me.active:
                why = "unknown to the identity directory" if me is None else "no longer in the organisation"
                raise PermissionDeniedError(ctx, actor, None, f"this person is {why}")
        elif self.person(pid) is None:
            raise NotFoundError("person", pid)

        def body(uow: UnitOfWork) -> Preferences:
            current = uow.get(Ref("preferences", pid))
            wanted = (channel_, frequency_, quiet_hours, frozenset(topics))
            if isinstance(current, Preferences) and wanted == (
                current.channel,
                current.frequency,
                current.quiet_hours,
                current.unsubscribed,
            ):
                return current
            uow.record(
                ev.PreferencesChanged(
                    **self._event_base(actor, None),
                    person_id=pid,
                    channel=channel_,
                    frequency=frequency_,
                    quiet_hours=quiet_hours,
                    unsubscribed=frozenset(topics),
                )
            )
            return _need(uow, "preferences", pid, Preferences)

        return self._run(body)

    def preferences(self, viewer: str, person_id: str) -> Preferences | None:
        """A person's notification preferences (None: never set, so every message goes at
        once on the default channel). The person themselves or `SYSTEM` may read them."""

        ctx = "preferences"
        viewer = _check_id("$.viewer", viewer, ctx)
        pid = _check_id("$.person_id", person_id, ctx)
        if viewer not in (SYSTEM, pid):
            raise PermissionDeniedError("read the preferences", viewer, None, "only the person themselves may")
        found = self._store.get(Ref("preferences", pid))
        return found.value if found is not None and isinstance(found.value, Preferences) else None

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
        viewer = _check_id("$.viewer", viewer, ctx)
        status_ = _check_enum("$.status", status, DeliveryStatus, ctx) if status is not None else None
        rid = _check_id("$.recipient_id", recipient_id, ctx) if recipient_id is not None else None
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise InvalidInputError.field(
                "$.limit", f"must be a whole number from 1 to 10000, got {limit!r}", context=ctx
            )
        if viewer != SYSTEM:
            raise PermissionDeniedError("read the outbox", viewer, None, f"only the host ({SYSTEM}) may")
        try:
            return self._store.outbox(status=status_, recipient_id=rid, limit=limit)
        except NotImplementedError as exc:
            raise StorageError(f"the store {self._store.url} cannot list its outbox: {exc}") from exc

    def requeue(self, actor: str, message_ids: Iterable[str]) -> int:
        """Put dead (or dropped) messages back in the queue, due now with their attempts
        reset; others are left as they are. `SYSTEM` only. Returns how many were requeued."""

        ctx = "requeue"
        actor = _check_id("$.actor", actor, ctx)
        ids = [
            _check_id(f"$.message_ids[{i}]", m, ctx)
            for i, m in enumerate(_check_strings("$.message_ids", message_ids, ctx))
        ]
        if len(ids) > 10_000:
            raise InvalidInputError.field("$.message_ids", f"at most 10000 ids at once, got {len(ids)}", context=ctx)
        if actor != SYSTEM:
            raise PermissionDeniedError(ctx, actor, None, f"only the host ({SYSTEM}) may replay messages")
        try:
            return self._store.requeue(ids, now=self.clock.now())
        except NotImplementedError as exc:
            raise StorageError(f"the store {self._store.url} cannot requeue messages: {exc}") from exc

    def sync_directory(self) -> SyncReport:
        """Bring memberships in step with the identity directory, as `SYSTEM`: people matching
        a community's rule join it, rule members who no longer match leave, and anyone the
        directory says has left the organisation (or does not know) leaves every community.
        Idempotent: a second run changes nothing. See `coplib.service.directory_sync`."""
        from coplib.service.directory_sync import sync_directory

        return sync_directory(self)
