"""What the use-case modules share: input checks, the runtime's services, and the reads
every command starts with."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import pluggy

from coplib.domain import validation as v
from coplib.domain.clock import Clock
from coplib.domain.community import (
    Charter,
    CollaborationMode,
    Community,
    Organisation,
    Role,
)
from coplib.domain.contributions import (
    CONTRIBUTION_CLASSES,
    Contribution,
    ContributionKind,
)
from coplib.domain.errors import (
    CharterViolationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from coplib.domain.history import Ref
from coplib.domain.membership import Membership, MembershipStatus, membership_id
from coplib.domain.people import Person
from coplib.domain.permissions import SYSTEM, Action, OrganisationCreators, within_organisations
from coplib.ports.storage import (
    Store,
)
from coplib.runtime import Runtime, UnitOfWork
from coplib.service.health_cache import HealthCache

#: The statuses one can leave: a membership, an invitation, a pending request.
LEAVABLE = frozenset({MembershipStatus.ACTIVE, MembershipStatus.INVITED, MembershipStatus.PENDING})

R = TypeVar("R")


def prefetch_first_reads(uow: UnitOfWork, community_id: str, actor: str, *new: Ref) -> None:
    """Read in one batch what a command reads first: its community, the actor's membership
    there, and the refs of what it creates (found absent: they are new)."""
    uow.prefetch([Ref("community", community_id), Ref("membership", membership_id(community_id, actor)), *new])


def need(uow: UnitOfWork, kind: str, id: str, cls: type[R]) -> R:
    value = uow.get(Ref(kind, id))
    if not isinstance(value, cls):
        raise NotFoundError(kind, id)
    return value


def check_id(path: str, value: object, context: str) -> str:
    if not v.is_identifier(value):
        raise InvalidInputError.field(path, f"must be an id string, got {value!r:.60}", context=context)
    return value


def check_enum(path: str, value: object, enum_type: type[R], context: str) -> R:
    try:
        return enum_type(value)  # type: ignore[call-arg]
    except (ValueError, TypeError):
        choices = ", ".join(str(m.value) for m in enum_type)  # type: ignore[attr-defined]
        raise InvalidInputError.field(path, f"must be one of {choices}; got {value!r:.60}", context=context) from None


def check_str(path: str, value: object, context: str) -> str:
    if not isinstance(value, str):
        raise InvalidInputError.field(path, f"must be a string, got {type(value).__name__}", context=context)
    return value


def check_strings(path: str, value: object, context: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidInputError.field(path, f"must be a list of strings, got {type(value).__name__}", context=context)
    items = tuple(value)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise InvalidInputError.field(
                f"{path}[{i}]", f"must be a string, got {type(item).__name__}", context=context
            )
    return items


ENDORSABLE = frozenset(
    {ContributionKind.QUESTION, ContributionKind.ANSWER, ContributionKind.RESOURCE, ContributionKind.EXPERIENCE}
)
COMMENTABLE = ENDORSABLE | {ContributionKind.MEETING}


class UseCases:
    """What every use-case module's methods reach: the runtime, and the checks they share.
    `Engine` gathers the use-case classes; each reaches the runtime as ``self.runtime``."""

    runtime: Runtime
    #: The running tallies of the health reports (`coplib.service.health_cache`).
    _health_cache: HealthCache
    #: Who may create an organisation (`coplib.open(organisation_creators=...)`).
    organisation_creators: OrganisationCreators = OrganisationCreators()

    @property
    def store(self) -> Store:
        """The store the engine works on (for host jobs and tests; commands go through the
        engine's methods)."""
        return self.runtime.store

    @property
    def _store(self) -> Store:
        return self.runtime.store

    @property
    def plugin_manager(self) -> pluggy.PluginManager:
        """The pluggy plugin manager holding the engine's plugins."""
        return self.runtime.plugin_manager

    @property
    def clock(self) -> Clock:
        """The engine's clock (settable: tests swap in a `ManualClock`)."""
        return self.runtime.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self.runtime.clock = clock

    def person(self, person_id: str) -> Person | None:
        """The person as the identity plugins know them, or None."""
        return self.runtime.person(person_id)

    def _run(self, unit: Callable[[UnitOfWork], R]) -> R:
        return self.runtime.run(unit)

    def _event_base(self, actor: str, community_id: str | None) -> dict[str, Any]:
        return self.runtime.event_base(actor, community_id)

    def _new_id(self) -> str:
        return self.runtime.new_id()

    def _check_policy_settings(self, charter: Charter, context: str) -> None:
        self.runtime.reactor.check_settings(charter, context)

    def _authorise(
        self,
        uow: UnitOfWork,
        action: Action,
        actor: str,
        community: Community | None,
        *,
        owner_id: str | None = None,
        target_author_id: str | None = None,
        subject: Ref | None = None,
    ) -> Membership | None:
        """Refuse with `PermissionDeniedError` unless `actor` may; return their membership
        (`NotFoundError` naming `subject` for a community the actor may not know of: a private
        one they may not see, one of another organisation)."""
        return self.runtime.authorise(
            uow, action, actor, community, owner_id=owner_id, target_author_id=target_author_id, subject=subject
        )

    def _authorise_in_organisation(
        self,
        uow: UnitOfWork | None,
        action: Action,
        actor: str,
        organisation: Organisation,
        *,
        community: Community | None = None,
        subject: Ref | None = None,
        owner_id: str | None = None,
    ) -> Membership | None:
        """The decision for what needs the organisation (its administrators, the host's setting
        of who creates organisations): the actions of scope "organisation", in `organisation`,
        and `share_community`, in `community` of `organisation`, asked of `Runtime.authorise`
        like every other decision; a concealed refusal is the `NotFoundError` of `subject` (by
        default the community, or else the organisation)."""
        assert community is None or uow is not None, (
            "a decision in a community reads the membership in the unit of work"
        )
        return self.runtime.authorise(
            uow,
            action,
            actor,
            community,
            subject=subject,
            organisation=organisation,
            creators=self.organisation_creators,
            owner_id=owner_id,
        )

    def _open_community(self, uow: UnitOfWork, community_id: object, context: str, actor: str, *new: Ref) -> Community:
        """The community a command acts in (`NotFoundError` if there is none), read in one
        batch with `actor`'s membership there, which the permission check reads next, and the
        refs of what the command creates (found absent: they are new)."""
        cid = check_id("$.community_id", community_id, context)
        prefetch_first_reads(uow, cid, actor, *new)
        return need(uow, "community", cid, Community)

    def _require_mode(self, community: Community, mode: CollaborationMode) -> None:
        if not community.charter.allows(mode):
            raise CharterViolationError(
                community.id, mode.value, f"the charter does not provide for {mode.value}: amend it to allow this"
            )

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

    def _require_within(self, person: Person, community: Community) -> Person:
        """`person`, if they are one of the people of the community's organisations (its own
        and those it is shared with); else `ConflictError`: nobody of another organisation
        is let in, invited or approved."""
        if not within_organisations(person, community):
            raise ConflictError(
                f"{person.id!r} is not one of the people of the organisations of {community.id!r}: share the "
                "community with their organisation first (`share_community`)",
                kind="person",
                id=person.id,
            )
        return person

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

    def _open_target(
        self,
        uow: UnitOfWork,
        kind: object,
        target_id: object,
        allowed: frozenset[ContributionKind],
        ctx: str,
        action: Action,
        actor: str,
        *,
        owner: bool = False,
        paths: tuple[str, str] = ("$.target_kind", "$.target_id"),
    ) -> tuple[Contribution, Community]:
        """The contribution a command acts on, and its community, once `actor` may take
        `action` there (its author counting as the owner when `owner`): `NotFoundError` for
        an unknown one or one in a private community the actor may not see (naming the
        contribution only), `ConflictError` for a withdrawn one, asked after the permission
        check so that an outsider learns nothing of what a private community holds."""
        kind_path, id_path = paths  # named as the command's parameters are
        kind_ = check_enum(kind_path, kind, ContributionKind, ctx)
        tid = check_id(id_path, target_id, ctx)
        if kind_ not in allowed:
            choices = ", ".join(sorted(k.value for k in allowed))
            raise InvalidInputError.field(kind_path, f"must be one of {choices}; got {kind_.value}", context=ctx)
        target = uow.get(Ref(kind_.value, tid))
        if target is None:
            raise NotFoundError(kind_.value, tid)
        assert isinstance(target, CONTRIBUTION_CLASSES)
        community = need(uow, "community", target.community_id, Community)
        self._authorise(
            uow,
            action,
            actor,
            community,
            owner_id=target.author_id if owner else None,
            target_author_id=target.author_id,
            subject=Ref(kind_.value, tid),
        )
        if getattr(target, "withdrawn", False):
            raise ConflictError(f"{kind_.value} {tid!r} was withdrawn", kind=kind_.value, id=tid)
        return target, community

    def _readable(
        self,
        viewer: str,
        community: Community,
        action: Action = Action.READ,
        *,
        subject: Ref | None = None,
        owner_id: str | None = None,
    ) -> None:
        """Refuse (`PermissionDeniedError`) unless `viewer` may take `action` on `community`
        (`NotFoundError` naming `subject` for a community the viewer may not know of). Every
        read of a community asks here."""
        self.runtime.authorise(None, action, viewer, community, subject=subject, owner_id=owner_id)

    def _organisation(self, organisation_id: object, ctx: str, path: str = "$.organisation_id") -> Organisation:
        oid = check_id(path, organisation_id, ctx)
        found = self._store.get(Ref("organisation", oid))
        if found is None or not isinstance(found.value, Organisation):
            raise NotFoundError("organisation", oid)
        return found.value

    def _community(self, community_id: object, ctx: str) -> Community:
        cid = check_id("$.community_id", community_id, ctx)
        found = self._store.get(Ref("community", cid))
        if found is None or not isinstance(found.value, Community):
            raise NotFoundError("community", cid)
        return found.value
