"""Memberships: who belongs to which community, with which roles, since when."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Final

import attrs

from coplib.domain import validation as v
from coplib.domain.community import CommunityId, Role
from coplib.domain.people import PersonId


class MembershipStatus(enum.StrEnum):
    """Where a person stands with a community."""

    INVITED = "invited"
    PENDING = "pending"  # asked to join, waiting for approval
    ACTIVE = "active"
    LEFT = "left"
    REMOVED = "removed"
    DECLINED = "declined"  # the request was turned down


#: How many tags an expert may be an expert of.
EXPERTISE_MAX: Final = 50


@attrs.frozen
class Membership:
    """A person's place in a community. Roles are held only while the membership is active."""

    community_id: CommunityId = attrs.field(validator=v.identifier)
    person_id: PersonId = attrs.field(validator=v.identifier)
    status: MembershipStatus = attrs.field(validator=attrs.validators.instance_of(MembershipStatus))
    since: datetime = attrs.field(validator=v.utc_datetime)
    roles: frozenset[Role] = attrs.field(default=frozenset(), converter=v.to_frozenset, validator=v.members_of(Role))
    expertise: frozenset[str] = attrs.field(
        default=frozenset(), converter=v.to_tags, validator=v.tags(max_count=EXPERTISE_MAX)
    )
    joined_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
    invited_by: PersonId | None = attrs.field(default=None, validator=v.optional_identifier)
    #: Roles offered with a pending invitation (`MemberInvited.roles`), given when they join.
    offered_roles: frozenset[Role] = attrs.field(
        default=frozenset(), converter=v.to_frozenset, validator=v.members_of(Role)
    )
    #: How the person last became active: open, invitation, rule, founder or approval.
    via: str | None = attrs.field(default=None, validator=attrs.validators.optional(v.text(max_chars=20)))

    @property
    def id(self) -> str:
        return membership_id(self.community_id, self.person_id)

    @property
    def active(self) -> bool:
        return self.status is MembershipStatus.ACTIVE

    def holds(self, role: Role) -> bool:
        return self.active and role in self.roles

    def holds_any(self, roles: frozenset[Role]) -> bool:
        return self.active and not self.roles.isdisjoint(roles)


def membership_id(community_id: CommunityId, person_id: PersonId) -> str:
    return f"{community_id}/{person_id}"
