"""Levels of participation (core group, active, peripheral): reading them, and pinning one
by hand. The levels policy (`coplib.policies.levels`) computes them as members act."""

from __future__ import annotations

from typing import cast

from coplib.domain import events as ev
from coplib.domain import validation as v
from coplib.domain.community import Community
from coplib.domain.errors import ConflictError, InvalidInputError, NotFoundError
from coplib.domain.history import Ref
from coplib.domain.membership import Membership, membership_id
from coplib.domain.participation import Participation, ParticipationLevel
from coplib.domain.permissions import Action
from coplib.policies import levels as _levels
from coplib.policies.levels import ParticipationLevelsPolicy, notify_level_change, participation_record
from coplib.ports.policy import Policy
from coplib.runtime import UnitOfWork
from coplib.service._base import UseCases, check_id


class ParticipationCommands(UseCases):
    """Reading and pinning levels of participation."""

    def level_of(self, viewer: str, community_id: str, person_id: str) -> ParticipationLevel:
        """A person's level in a community (outsider unless an active member, peripheral for a
        member the levels policy has not raised yet), for whoever may read the community."""
        ctx = "level_of"
        pid = check_id("$.person_id", person_id, ctx)
        community = self._community(community_id, ctx)
        self._readable(check_id("$.viewer", viewer, ctx), community)
        return _levels.level_of(self._store, community.id, pid)

    def levels(self, viewer: str, community_id: str) -> dict[str, ParticipationLevel]:
        """Every active member's level, by person id, for whoever may read the community."""
        community = self._community(community_id, "levels")
        self._readable(check_id("$.viewer", viewer, "levels"), community)
        return _levels.levels(self._store, community.id)

    def pin_level(
        self,
        actor: str,
        community_id: str,
        person_id: str,
        level: ParticipationLevel | str | None,
        *,
        reason: str = "",
    ) -> Participation | None:
        """Fix a member's level (a facilitator or the sponsor of the community only), or give
        `level` None to let it be computed again from the next tick. Returns the record."""
        context = "pin_level"
        if level is not None:
            try:
                level = ParticipationLevel(level)
            except ValueError:
                choices = ", ".join(lv.value for lv in ParticipationLevel if lv is not ParticipationLevel.OUTSIDER)
                raise InvalidInputError.field(
                    "$.level", f"must be one of {choices}, or None; got {level!r:.60}", context=context
                ) from None
            if level is ParticipationLevel.OUTSIDER:
                raise InvalidInputError.field(
                    "$.level",
                    "a member cannot be pinned as an outsider: remove them from the community instead",
                    context=context,
                )
        v.check_fields(ev.ParticipationLevelPinned, context, reason=reason)
        actor = check_id("$.actor", actor, context)
        community_id = check_id("$.community_id", community_id, context)
        person_id = check_id("$.person_id", person_id, context)
        pinned = level if isinstance(level, ParticipationLevel) else None

        def unit(uow: UnitOfWork) -> Participation | None:
            community = uow.get(Ref("community", community_id))
            if not isinstance(community, Community):
                raise NotFoundError("community", community_id)
            self._authorise(uow, Action.PIN_LEVEL, actor, community)
            membership = uow.get(Ref("membership", membership_id(community_id, person_id)))
            if not isinstance(membership, Membership) or not membership.active:
                raise ConflictError(
                    f"{person_id!r} is not an active member of {community_id!r}: levels are for members"
                )
            record = participation_record(uow.get, community_id, person_id)
            previous = record.level if record is not None else ParticipationLevel.PERIPHERAL
            if pinned is None and (record is None or not record.pinned):
                return record
            if pinned is not None and record is not None and record.pinned and record.level is pinned:
                return record
            now = self.clock.now()
            event = ev.ParticipationLevelPinned(
                id=self._new_id(),
                actor_id=actor,
                community_id=community_id,
                occurred_at=now,
                person_id=person_id,
                level=pinned,
                previous=previous,
                reason=reason,
                review_at=now if pinned is None else None,
            )
            uow.record(event)
            if pinned is not None and pinned is not previous:
                policy = self.runtime.reactor.policy(ParticipationLevelsPolicy.name) or cast(
                    Policy, ParticipationLevelsPolicy()
                )
                notify_level_change(self.runtime.reactor.context(uow, policy, now), event, person_id, pinned, previous)
            return participation_record(uow.get, community_id, person_id)

        # A policy-level command: it runs as the engine's own commands do (one unit of work,
        # policies reacting inside it, retried on a concurrent write).
        return self._run(unit)


def pin_level(
    engine: ParticipationCommands,
    actor: str,
    community_id: str,
    person_id: str,
    level: ParticipationLevel | str | None,
    *,
    reason: str = "",
) -> Participation | None:
    """`Engine.pin_level`, as a function of the engine."""
    return engine.pin_level(actor, community_id, person_id, level, reason=reason)


def level_of(engine: ParticipationCommands, viewer: str, community_id: str, person_id: str) -> ParticipationLevel:
    """`Engine.level_of`, as a function of the engine."""
    return engine.level_of(viewer, community_id, person_id)
