"""Membership and roles: invitations, requests, joining, leaving, removal, roles."""

from __future__ import annotations

from collections.abc import Iterable

from coplib.domain import events as ev
from coplib.domain import validation as v
from coplib.domain.community import (
    Admission,
    Role,
)
from coplib.domain.errors import (
    CharterViolationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from coplib.domain.membership import EXPERTISE_MAX, Membership, MembershipStatus, membership_id
from coplib.domain.permissions import Action
from coplib.runtime import UnitOfWork
from coplib.service._base import LEAVABLE, UseCases, check_enum, check_id, check_strings, need


class MembershipCommands(UseCases):
    """Commands on who belongs to a community and with which roles."""

    def invite(self, actor: str, community_id: str, person_id: str) -> Membership:
        """Invite a person; they become a member when they `join`."""
        ctx = "invite"
        actor = check_id("$.actor", actor, ctx)
        pid = check_id("$.person_id", person_id, ctx)

        def unit(uow: UnitOfWork) -> Membership:
            community = self._open_community(uow, community_id, ctx, actor)
            self._authorise(uow, Action.INVITE, actor, community)
            self._require_within(self._require_person(pid), community)
            current = self._membership(uow, community, pid)
            if current is not None and current.status in (MembershipStatus.ACTIVE, MembershipStatus.INVITED):
                raise ConflictError(f"{pid!r} is already {current.status.value} in {community.id!r}")
            if current is not None and current.status is MembershipStatus.REMOVED:
                # Inviting back someone who was removed is for those who may remove.
                self._authorise(uow, Action.REMOVE_MEMBER, actor, community)
            uow.record(ev.MemberInvited(**self._event_base(actor, community.id), person_id=pid))
            return need(uow, "membership", membership_id(community.id, pid), Membership)

        return self._run(unit)

    def request_membership(self, actor: str, community_id: str) -> Membership:
        """Ask to join a community whose admission is on approval."""
        ctx = "request_membership"
        actor = check_id("$.actor", actor, ctx)

        def unit(uow: UnitOfWork) -> Membership:
            community = self._open_community(uow, community_id, ctx, actor)
            self._authorise(uow, Action.REQUEST_MEMBERSHIP, actor, community)
            uow.record(ev.MembershipRequested(**self._event_base(actor, community.id), person_id=actor))
            return need(uow, "membership", membership_id(community.id, actor), Membership)

        return self._run(unit)

    def _decide_request(self, actor: str, community_id: str, person_id: str, approve: bool, reason: str) -> Membership:
        ctx = "approve" if approve else "decline"
        actor = check_id("$.actor", actor, ctx)
        pid = check_id("$.person_id", person_id, ctx)
        v.check_fields(ev.MembershipDeclined, ctx, reason=reason)

        def unit(uow: UnitOfWork) -> Membership:
            community = self._open_community(uow, community_id, ctx, actor)
            self._authorise(uow, Action.DECIDE_MEMBERSHIP, actor, community)
            current = self._membership(uow, community, pid)
            if current is None or current.status is not MembershipStatus.PENDING:
                raise ConflictError(f"{pid!r} has no pending request in {community.id!r}")
            base = self._event_base(actor, community.id)
            if approve:
                self._require_within(self._require_person(pid), community)
                uow.record(ev.MembershipApproved(**base, person_id=pid))
            else:
                uow.record(ev.MembershipDeclined(**base, person_id=pid, reason=reason))
            return need(uow, "membership", membership_id(community.id, pid), Membership)

        return self._run(unit)

    def approve(self, actor: str, community_id: str, person_id: str) -> Membership:
        """Approve a pending request: the person becomes an active member."""
        return self._decide_request(actor, community_id, person_id, True, "")

    def decline(self, actor: str, community_id: str, person_id: str, *, reason: str = "") -> Membership:
        """Turn a pending request down."""
        return self._decide_request(actor, community_id, person_id, False, reason)

    def join(self, actor: str, community_id: str) -> Membership:
        """Join: an open community, one that invited the actor, or one whose rule they match.
        Joining on an invitation gives the roles it offered (`MemberInvited.roles`: a launched
        community's sponsor, facilitator and core group), recorded as `role_assigned`."""
        ctx = "join"
        actor = check_id("$.actor", actor, ctx)

        def unit(uow: UnitOfWork) -> Membership:
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
            # The roles the invitation offered (a launch's sponsor, facilitator, core group).
            offered = current.offered_roles if current is not None and via == "invitation" else frozenset()
            for role in sorted(offered):
                uow.record(ev.RoleAssigned(**self._event_base(actor, community.id), person_id=actor, role=role))
            return need(uow, "membership", membership_id(community.id, actor), Membership)

        return self._run(unit)

    def leave(self, actor: str, community_id: str) -> Membership:
        """Leave a community (or drop an invitation or a pending request)."""
        ctx = "leave"
        actor = check_id("$.actor", actor, ctx)

        def unit(uow: UnitOfWork) -> Membership:
            community = self._open_community(uow, community_id, ctx, actor)
            current = self._authorise(uow, Action.LEAVE, actor, community)
            if current is None or current.status not in LEAVABLE:  # only `SYSTEM` gets this far
                raise ConflictError(f"{actor!r} is not a member of {community.id!r}", kind="membership", id=actor)
            self._guard_last_facilitator(community, current, actor)
            uow.record(ev.MemberLeft(**self._event_base(actor, community.id), person_id=actor))
            return need(uow, "membership", membership_id(community.id, actor), Membership)

        return self._run(unit)

    def remove(self, actor: str, community_id: str, person_id: str, *, reason: str = "") -> Membership:
        """Remove a member: they lose every right in the community at once."""
        ctx = "remove"
        actor = check_id("$.actor", actor, ctx)
        pid = check_id("$.person_id", person_id, ctx)
        v.check_fields(ev.MemberRemoved, ctx, reason=reason)

        def unit(uow: UnitOfWork) -> Membership:
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
            return need(uow, "membership", membership_id(community.id, pid), Membership)

        return self._run(unit)

    def assign_role(
        self, actor: str, community_id: str, person_id: str, role: Role | str, *, tags: Iterable[str] = ()
    ) -> Membership:
        """Give an active member a role; an expert is an expert of the given tags."""
        ctx = "assign_role"
        actor = check_id("$.actor", actor, ctx)
        pid = check_id("$.person_id", person_id, ctx)
        role_ = check_enum("$.role", role, Role, ctx)
        expertise = v.check_tags("$.tags", check_strings("$.tags", tags, ctx), max_count=EXPERTISE_MAX, context=ctx)
        if role_ is Role.EXPERT and not expertise:
            raise InvalidInputError.field(
                "$.tags", "an expert is an expert of some tags: give at least one", context=ctx
            )
        if role_ is not Role.EXPERT and expertise:
            raise InvalidInputError.field("$.tags", "only the expert role takes tags", context=ctx)

        def unit(uow: UnitOfWork) -> Membership:
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
            return need(uow, "membership", current.id, Membership)

        return self._run(unit)

    def withdraw_role(self, actor: str, community_id: str, person_id: str, role: Role | str) -> Membership:
        """Take a role back (the member role itself is withdrawn by `remove`)."""
        ctx = "withdraw_role"
        actor = check_id("$.actor", actor, ctx)
        pid = check_id("$.person_id", person_id, ctx)
        role_ = check_enum("$.role", role, Role, ctx)
        if role_ is Role.MEMBER:
            raise InvalidInputError.field("$.role", "the member role goes with membership: use remove", context=ctx)

        def unit(uow: UnitOfWork) -> Membership:
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
            return need(uow, "membership", current.id, Membership)

        return self._run(unit)
