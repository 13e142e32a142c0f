"""Organisations: creating one, its administrators, and sharing its communities with others."""

from __future__ import annotations

from coplib.domain import events as ev
from coplib.domain import validation as v
from coplib.domain.community import ADMINISTRATORS_MAX, SHARED_WITH_MAX, Community, Organisation
from coplib.domain.errors import ConflictError, InvalidInputError
from coplib.domain.history import Ref
from coplib.domain.permissions import SYSTEM, Action, within_organisations
from coplib.runtime import UnitOfWork
from coplib.service._base import LEAVABLE, UseCases, check_id, need

#: Why the members of an organisation a community stops being shared with leave it.
NO_LONGER_SHARED = "the community is no longer shared with their organisation"


class OrganisationCommands(UseCases):
    """Commands on organisations: creating one, appointing and withdrawing its administrators,
    sharing a community with other organisations and ending it."""

    def create_organisation(self, actor: str, name: str, *, organisation_id: str | None = None) -> Organisation:
        """Create an organisation, the holder of a portfolio of communities. Who may is the
        host's setting (`coplib.open(organisation_creators=...)`); the founder (unless
        `SYSTEM`) becomes its first administrator."""
        ctx = "create_organisation"
        actor = check_id("$.actor", actor, ctx)
        oid = check_id("$.organisation_id", organisation_id, ctx) if organisation_id is not None else self._new_id()
        v.check_fields(Organisation, ctx, name=name)

        def unit(uow: UnitOfWork) -> Organisation:
            to_be = Organisation(id=oid, name=name, created_at=self.clock.now(), created_by=actor)
            self._authorise_in_organisation(uow, Action.CREATE_ORGANISATION, actor, to_be)
            if uow.get(Ref("organisation", oid)) is not None:
                raise ConflictError(f"organisation {oid!r} exists already", kind="organisation", id=oid)
            uow.record(ev.OrganisationCreated(**self._event_base(actor, None), organisation_id=oid, name=name))
            if actor != SYSTEM:
                uow.record(
                    ev.AdministratorAppointed(**self._event_base(actor, None), organisation_id=oid, person_id=actor)
                )
            return need(uow, "organisation", oid, Organisation)

        return self._run(unit)

    def appoint_administrator(self, actor: str, organisation_id: str, person_id: str) -> Organisation:
        """Make `person_id`, one of the organisation's people, an administrator of it (its
        administrators may; the host, as `SYSTEM`, may appoint anyone the directory knows)."""
        ctx = "appoint_administrator"
        actor = check_id("$.actor", actor, ctx)
        oid = check_id("$.organisation_id", organisation_id, ctx)
        pid = check_id("$.person_id", person_id, ctx)

        def unit(uow: UnitOfWork) -> Organisation:
            organisation = need(uow, "organisation", oid, Organisation)
            self._authorise_in_organisation(uow, Action.ADMINISTER_ORGANISATION, actor, organisation)
            person = self._require_person(pid)
            if actor != SYSTEM and not person.belongs_to(oid):
                raise ConflictError(
                    f"{pid!r} is not one of the people of {oid!r} (the directory does not place them in it): "
                    "an administrator is one of the organisation's people",
                    kind="person",
                    id=pid,
                )
            if organisation.administered_by(pid):
                raise ConflictError(f"{pid!r} is already an administrator of {oid!r}", kind="organisation", id=oid)
            if len(organisation.administrators) >= ADMINISTRATORS_MAX:
                raise ConflictError(
                    f"{oid!r} has {ADMINISTRATORS_MAX} administrators, the most it may have: withdraw one first",
                    kind="organisation",
                    id=oid,
                )
            uow.record(ev.AdministratorAppointed(**self._event_base(actor, None), organisation_id=oid, person_id=pid))
            return need(uow, "organisation", oid, Organisation)

        return self._run(unit)

    def withdraw_administrator(self, actor: str, organisation_id: str, person_id: str) -> Organisation:
        """End `person_id`'s office as an administrator (an administrator may withdraw
        themselves). The last administrator stays until another is appointed, unless the host
        (`SYSTEM`) withdraws them."""
        ctx = "withdraw_administrator"
        actor = check_id("$.actor", actor, ctx)
        oid = check_id("$.organisation_id", organisation_id, ctx)
        pid = check_id("$.person_id", person_id, ctx)

        def unit(uow: UnitOfWork) -> Organisation:
            organisation = need(uow, "organisation", oid, Organisation)
            self._authorise_in_organisation(uow, Action.ADMINISTER_ORGANISATION, actor, organisation)
            if not organisation.administered_by(pid):
                raise ConflictError(f"{pid!r} is not an administrator of {oid!r}", kind="organisation", id=oid)
            if actor != SYSTEM and organisation.administrators == {pid}:
                raise ConflictError(
                    f"{pid!r} is the last administrator of {oid!r}: appoint another one first",
                    kind="organisation",
                    id=oid,
                )
            uow.record(ev.AdministratorWithdrawn(**self._event_base(actor, None), organisation_id=oid, person_id=pid))
            return need(uow, "organisation", oid, Organisation)

        return self._run(unit)

    def share_community(self, actor: str, community_id: str, organisation_id: str) -> Community:
        """Share a community with another organisation: its people then see, join and read it
        as the people of the community's own organisation do (its stewards may, or the
        administrators of its organisation). Sharing it again changes nothing."""
        ctx = "share_community"
        actor = check_id("$.actor", actor, ctx)
        oid = check_id("$.organisation_id", organisation_id, ctx)

        def unit(uow: UnitOfWork) -> Community:
            community = self._open_community(uow, community_id, ctx, actor)
            self._authorise_sharing(uow, actor, community, oid, ctx)
            if oid in community.shared_with:
                return community
            if len(community.shared_with) >= SHARED_WITH_MAX:
                raise ConflictError(
                    f"{community.id!r} is shared with {SHARED_WITH_MAX} organisations, the most it may be",
                    kind="community",
                    id=community.id,
                )
            uow.record(ev.CommunityShared(**self._event_base(actor, community.id), organisation_id=oid))
            return need(uow, "community", community.id, Community)

        return self._run(unit)

    def unshare_community(self, actor: str, community_id: str, organisation_id: str) -> Community:
        """Stop sharing a community with an organisation. Its members, invited and pending
        people who are then of none of the community's organisations leave it at once, so that
        nothing of it reaches them any more. Stopping what was not shared changes nothing."""
        ctx = "unshare_community"
        actor = check_id("$.actor", actor, ctx)
        oid = check_id("$.organisation_id", organisation_id, ctx)

        def unit(uow: UnitOfWork) -> Community:
            community = self._open_community(uow, community_id, ctx, actor)
            self._authorise_sharing(uow, actor, community, oid, ctx)
            if oid not in community.shared_with:
                return community
            uow.record(ev.CommunityUnshared(**self._event_base(actor, community.id), organisation_id=oid))
            after = need(uow, "community", community.id, Community)
            for membership in self._store.members(community.id, statuses=sorted(LEAVABLE)):
                person = self.person(membership.person_id)
                if person is None or within_organisations(person, after):
                    continue  # someone the directory no longer knows leaves with the directory sync
                current = self._membership(uow, after, membership.person_id)
                if current is not None and current.status in LEAVABLE:
                    uow.record(
                        ev.MemberLeft(
                            **self._event_base(actor, community.id),
                            person_id=membership.person_id,
                            reason=NO_LONGER_SHARED,
                        )
                    )
            return after

        return self._run(unit)

    def _authorise_sharing(self, uow: UnitOfWork, actor: str, community: Community, oid: str, ctx: str) -> None:
        """Refuse unless `actor` may share `community` (a steward, or an administrator of its
        organisation), with `oid`: another organisation that exists."""
        owner = need(uow, "organisation", community.organisation_id, Organisation)
        self._authorise_in_organisation(uow, Action.SHARE_COMMUNITY, actor, owner, community=community)
        if oid == community.organisation_id:
            raise InvalidInputError.field(
                "$.organisation_id",
                f"{oid!r} is the community's own organisation: a community is shared with other organisations",
                context=ctx,
            )
        need(uow, "organisation", oid, Organisation)
