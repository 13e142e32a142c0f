"""Communities and charters: creating, updating, moving a stage, amending."""

from __future__ import annotations

from collections.abc import Iterable

from coplib.domain import events as ev
from coplib.domain import validation as v
from coplib.domain.community import (
    Charter,
    CharterVersion,
    Community,
    CommunityKind,
    LifecycleStage,
    Organisation,
    Role,
    Visibility,
    charter_version_id,
    check_coherent,
)
from coplib.domain.errors import (
    CharterViolationError,
    ConflictError,
    InvalidInputError,
)
from coplib.domain.history import Ref
from coplib.domain.permissions import SYSTEM, Action
from coplib.runtime import UnitOfWork
from coplib.service._base import UseCases, check_enum, check_id, check_strings, need


class CommunityCommands(UseCases):
    """Commands on communities and their charters."""

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
        """Create a community in an organisation's portfolio (any of the organisation's people
        may; to anyone else the organisation is unknown). Its founder (unless `SYSTEM`)
        becomes its first member and facilitator. Give a `charter`, or just a `vocation`."""
        ctx = "create_community"
        actor = check_id("$.actor", actor, ctx)
        oid = check_id("$.organisation_id", organisation_id, ctx)
        cid = check_id("$.community_id", community_id, ctx) if community_id is not None else self._new_id()
        kind_ = check_enum("$.kind", kind, CommunityKind, ctx)
        visibility_ = check_enum("$.visibility", visibility, Visibility, ctx)
        stage_ = check_enum("$.stage", stage, LifecycleStage, ctx)
        if charter is None:
            if vocation is None:
                raise InvalidInputError.field(
                    "$.vocation", "give the community a vocation (or a full charter)", context=ctx
                )
            charter = Charter(vocation=v.check_fields(Charter, ctx, vocation=vocation)["vocation"])
        if not isinstance(charter, Charter):
            raise InvalidInputError.field("$.charter", f"must be a Charter, got {type(charter).__name__}", context=ctx)
        fields = v.check_fields(Community, ctx, name=name, tags=check_strings("$.tags", tags, ctx))
        try:
            check_coherent(visibility_, charter)
        except InvalidInputError as exc:
            raise exc.under("$", context=ctx) from None
        self._check_policy_settings(charter, ctx)

        def unit(uow: UnitOfWork) -> Community:
            organisation = need(uow, "organisation", oid, Organisation)
            self._authorise_in_organisation(uow, Action.CREATE_COMMUNITY, actor, organisation)
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
            return need(uow, "community", cid, Community)

        return self._run(unit)

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
        actor = check_id("$.actor", actor, ctx)
        visibility_ = check_enum("$.visibility", visibility, Visibility, ctx) if visibility is not None else None
        checked = v.check_fields(
            Community,
            ctx,
            **({"name": name} if name is not None else {}),
            **({"tags": check_strings("$.tags", tags, ctx)} if tags is not None else {}),
        )

        def unit(uow: UnitOfWork) -> Community:
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
            return need(uow, "community", community.id, Community)

        return self._run(unit)

    def change_stage(self, actor: str, community_id: str, stage: LifecycleStage | str) -> Community:
        """Move a community to another lifecycle stage (closing it freezes contributions)."""
        ctx = "change_stage"
        actor = check_id("$.actor", actor, ctx)
        stage_ = check_enum("$.stage", stage, LifecycleStage, ctx)

        def unit(uow: UnitOfWork) -> Community:
            community = self._open_community(uow, community_id, ctx, actor)
            self._authorise(uow, Action.UPDATE_COMMUNITY, actor, community)
            if community.stage is stage_:
                return community
            uow.record(
                ev.CommunityStageChanged(
                    **self._event_base(actor, community.id), stage=stage_, previous=community.stage
                )
            )
            return need(uow, "community", community.id, Community)

        return self._run(unit)

    def amend_charter(self, actor: str, community_id: str, charter: Charter, *, reason: str) -> CharterVersion:
        """Record a new version of the charter; earlier versions stay readable."""
        ctx = "amend_charter"
        actor = check_id("$.actor", actor, ctx)
        if not isinstance(charter, Charter):
            raise InvalidInputError.field("$.charter", f"must be a Charter, got {type(charter).__name__}", context=ctx)
        v.check_fields(CharterVersion, ctx, reason=reason)
        self._check_policy_settings(charter, ctx)

        def unit(uow: UnitOfWork) -> CharterVersion:
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
            return need(uow, "charter_version", charter_version_id(community.id, number), CharterVersion)

        return self._run(unit)
