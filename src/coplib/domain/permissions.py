"""Who may do what: the one place that decides, and says why when it refuses.

A decision depends on the action, the actor (known? still in the organisation?), the
community's visibility and stage, the actor's membership status and roles, and for some
actions whether the actor owns the contribution. `PERMISSION_TABLE` is the whole policy as
data; docs/permissions.md is generated from it and a test keeps the two in step.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Final

import attrs

from coplib.domain.community import Admission, Community, Role, Visibility
from coplib.domain.errors import PermissionDeniedError
from coplib.domain.membership import Membership, MembershipStatus

# The system actor's id is a person id (coplib.domain.people refuses it to every person);
# it is named here too, beside `decide`, which allows it every action.
from coplib.domain.people import RESERVED_PREFIX as RESERVED_PREFIX
from coplib.domain.people import SYSTEM as SYSTEM
from coplib.domain.people import Person
from coplib.domain.people import is_reserved_person_id as is_reserved_person_id


class Action(enum.StrEnum):
    """What a person may try to do; `decide` rules on each."""

    SEE = "see"  # know the community exists (name, vocation, charter)
    READ = "read"  # read its contributions and members
    CREATE_COMMUNITY = "create_community"
    JOIN = "join"
    REQUEST_MEMBERSHIP = "request_membership"
    LEAVE = "leave"
    INVITE = "invite"
    DECIDE_MEMBERSHIP = "decide_membership"  # approve or decline a request
    REMOVE_MEMBER = "remove_member"
    ASSIGN_ROLE = "assign_role"  # assign and withdraw roles
    AMEND_CHARTER = "amend_charter"
    UPDATE_COMMUNITY = "update_community"  # name, visibility, tags, lifecycle stage
    CONTRIBUTE = "contribute"  # ask, answer, comment, share a resource, record an experience
    ENDORSE = "endorse"
    ACCEPT_ANSWER = "accept_answer"
    SCHEDULE_MEETING = "schedule_meeting"
    RECORD_ATTENDANCE = "record_attendance"
    WITHDRAW_CONTRIBUTION = "withdraw_contribution"
    WATCH_HELP_SPACE = "watch_help_space"  # the answer guarantee's watch list
    PIN_LEVEL = "pin_level"  # pin or unpin a member's participation level
    EXPORT_RECOGNITION = "export_recognition"  # the recognition ledger as CSV or JSON
    READ_MEMBER_BENEFITS = "read_member_benefits"  # what one member gave and received
    SET_PREFERENCES = "set_preferences"  # how a person is reached
    READ_PREFERENCES = "read_preferences"
    READ_OUTBOX = "read_outbox"  # outbox entries and dead letters
    REQUEUE_MESSAGES = "requeue_messages"


STEWARDS: Final = frozenset({Role.FACILITATOR, Role.SPONSOR})
GATEKEEPERS: Final = frozenset({Role.FACILITATOR, Role.SPONSOR, Role.COORDINATOR})
ORGANISERS: Final = frozenset({Role.FACILITATOR, Role.SPONSOR, Role.COORDINATOR, Role.COACH, Role.CORE_GROUP})
MODERATORS: Final = frozenset({Role.FACILITATOR, Role.DOCUMENTALIST})


@attrs.frozen
class Rule:
    """Who may take an action, once the general checks have passed."""

    members: bool  # every active member may
    roles: frozenset[Role] = frozenset()  # else: active members holding one of these roles
    owner: bool = False  # the contribution's author (or the asker) may too
    outsiders: frozenset[Visibility] = frozenset()  # active non-members may, in these visibilities
    in_closed: bool = False  # still allowed once the community is closed
    summary: str = ""
    scope: str = "community"  # or "organisation", "person" (their own only), "host" (`SYSTEM` only)
    refusal: str = ""  # the reason given when the action is refused for want of a role, a scope


PERMISSION_TABLE: Final[dict[Action, Rule]] = {
    Action.SEE: Rule(
        members=True,
        outsiders=frozenset({Visibility.OPEN, Visibility.RESTRICTED}),
        in_closed=True,
        summary="everyone in the organisation sees open and restricted communities; "
        "a private one is known only to its members and the people invited to it",
    ),
    Action.READ: Rule(
        members=True,
        outsiders=frozenset({Visibility.OPEN}),
        in_closed=True,
        summary="open communities are read by everyone; restricted and private ones by active members",
    ),
    Action.CREATE_COMMUNITY: Rule(members=True, scope="organisation", summary="any active person of the organisation"),
    Action.JOIN: Rule(
        members=False,
        summary="when admission is open (not in a private community), or to accept an invitation, "
        "or by matching the charter's attribute rule",
    ),
    Action.REQUEST_MEMBERSHIP: Rule(
        members=False,
        summary="when admission is on approval, in an open or restricted community",
    ),
    Action.LEAVE: Rule(members=True, in_closed=True, summary="any member, invited or pending person"),
    Action.INVITE: Rule(members=False, roles=GATEKEEPERS),
    Action.DECIDE_MEMBERSHIP: Rule(members=False, roles=GATEKEEPERS),
    Action.REMOVE_MEMBER: Rule(members=False, roles=STEWARDS),
    Action.ASSIGN_ROLE: Rule(members=False, roles=STEWARDS),
    Action.AMEND_CHARTER: Rule(members=False, roles=STEWARDS, in_closed=True),
    Action.UPDATE_COMMUNITY: Rule(members=False, roles=STEWARDS, in_closed=True),
    Action.CONTRIBUTE: Rule(members=True),
    Action.ENDORSE: Rule(members=True, summary="active members, never their own contribution"),
    Action.ACCEPT_ANSWER: Rule(members=False, roles=frozenset({Role.FACILITATOR}), owner=True),
    Action.SCHEDULE_MEETING: Rule(members=False, roles=ORGANISERS),
    Action.RECORD_ATTENDANCE: Rule(members=False, roles=GATEKEEPERS, owner=True),
    Action.WITHDRAW_CONTRIBUTION: Rule(members=False, roles=MODERATORS, owner=True),
    Action.WATCH_HELP_SPACE: Rule(
        members=False,
        roles=ORGANISERS,
        in_closed=True,
        refusal="the watch list is for the community's " + ", ".join(sorted(r.value for r in ORGANISERS)),
    ),
    Action.PIN_LEVEL: Rule(members=False, roles=STEWARDS),
    Action.EXPORT_RECOGNITION: Rule(members=False, roles=STEWARDS, in_closed=True),
    Action.READ_MEMBER_BENEFITS: Rule(
        members=False, roles=STEWARDS, owner=True, in_closed=True, summary="the member themselves, or a steward"
    ),
    Action.SET_PREFERENCES: Rule(
        members=False,
        scope="person",
        summary="a person sets their own only",
        refusal="a person sets their own preferences only",
    ),
    Action.READ_PREFERENCES: Rule(
        members=False,
        scope="person",
        summary="a person reads their own only",
        refusal="only the person themselves may",
    ),
    Action.READ_OUTBOX: Rule(
        members=False,
        scope="host",
        summary="the host's operators, as `SYSTEM`, only",
        refusal=f"only the host ({SYSTEM}) may",
    ),
    Action.REQUEUE_MESSAGES: Rule(
        members=False,
        scope="host",
        summary="the host's operators, as `SYSTEM`, only",
        refusal=f"only the host ({SYSTEM}) may replay messages",
    ),
}

_Verdict = Callable[[bool, str], "Decision"]


@attrs.frozen
class Decision:
    """Whether an action is allowed, and why (true when allowed)."""

    allowed: bool
    reason: str
    action: Action
    actor_id: str
    community_id: str | None

    def __bool__(self) -> bool:
        return self.allowed

    def require(self) -> None:
        """Raise `PermissionDeniedError` with the reason when refused."""
        if not self.allowed:
            raise PermissionDeniedError(self.action.value, self.actor_id, self.community_id, self.reason)


def decide(
    action: Action,
    *,
    actor_id: str,
    actor: Person | None,
    community: Community | None,
    membership: Membership | None,
    owner_id: str | None = None,
    target_author_id: str | None = None,
) -> Decision:
    """Whether `actor` may take `action` in `community`; the decision carries its reason.

    `owner_id` is the author of the contribution concerned (the asker, for accepting an
    answer), or for the actions on a person (`scope` "person", the benefits of a member) the
    person concerned."""
    community_id = community.id if community else None

    def verdict(allowed: bool, reason: str) -> Decision:
        return Decision(allowed, reason, action, actor_id, community_id)

    rule = PERMISSION_TABLE[action]
    if actor_id == SYSTEM:
        return verdict(True, "the host's trusted jobs may")
    if actor is None:
        return verdict(False, "this person is unknown to the identity directory")
    if not actor.active:
        return verdict(False, "this person has left the organisation or is inactive")
    if rule.scope == "host":
        return verdict(False, rule.refusal or f"only the host ({SYSTEM}) may")
    if rule.scope == "organisation":
        return verdict(True, "any active person of the organisation may")
    if rule.scope == "person":
        if owner_id == actor_id:
            return verdict(True, "a person may for themselves")
        return verdict(False, rule.refusal or "a person may for themselves only")
    if community is None:
        return verdict(False, "the community does not exist")
    status = membership.status if membership else None
    if status is MembershipStatus.REMOVED:
        return verdict(False, "this person was removed from the community and holds no right in it")
    if community.closed and not rule.in_closed:
        return verdict(False, "the community is closed")

    match action:
        case Action.SEE:
            if status in (MembershipStatus.ACTIVE, MembershipStatus.INVITED, MembershipStatus.PENDING):
                return verdict(True, "a member or an invited person sees the community")
        case Action.JOIN:
            return _decide_join(verdict, actor, community, membership)
        case Action.REQUEST_MEMBERSHIP:
            return _decide_request(verdict, community, membership)
        case Action.LEAVE:
            if status in (MembershipStatus.ACTIVE, MembershipStatus.INVITED, MembershipStatus.PENDING):
                return verdict(True, "members may leave at any time")
            return verdict(False, "this person is not a member")
        case Action.ENDORSE if target_author_id == actor_id:
            return verdict(False, "nobody endorses their own contribution")

    is_member = membership is not None and membership.active
    if is_member and rule.members:
        return verdict(True, "active members may")
    if is_member and membership is not None and membership.holds_any(rule.roles):
        held = sorted(r.value for r in membership.roles & rule.roles)
        return verdict(True, f"held role: {', '.join(held)}")
    if rule.owner and owner_id is not None and owner_id == actor_id and is_member:
        return verdict(True, "the author may")
    if not is_member and community.visibility in rule.outsiders:
        return verdict(True, f"the community is {community.visibility.value}")
    if rule.roles and is_member:
        needed = " or ".join(sorted(r.value for r in rule.roles))
        owner = " (or be its author)" if rule.owner else ""
        return verdict(False, rule.refusal or f"needs the role {needed}{owner}")
    if not is_member:
        if community.visibility is Visibility.PRIVATE and action in (Action.SEE, Action.READ):
            return verdict(False, "the community is private: only its members may")
        return verdict(False, "only active members may: join the community first")
    return verdict(False, "not allowed")


def _decide_join(verdict: _Verdict, actor: Person, community: Community, membership: Membership | None) -> Decision:
    status = membership.status if membership else None
    admission = community.charter.membership_policy.admission
    if status is MembershipStatus.ACTIVE:
        return verdict(False, "this person is already an active member")
    if status is MembershipStatus.INVITED:
        return verdict(True, "accepting an invitation")
    if community.visibility is Visibility.PRIVATE:
        return verdict(False, "a private community is joined by invitation only")
    if admission is Admission.OPEN:
        return verdict(True, "admission is open")
    if admission is Admission.APPROVAL:
        return verdict(False, "admission is on approval: request membership instead")
    rule = community.charter.membership_policy.rule
    if admission is Admission.RULE and rule is not None:
        if rule.matches(actor):
            return verdict(True, "this person matches the charter's membership rule")
        return verdict(False, "admission is by rule on people's attributes, and this person does not match it")
    return verdict(False, "admission is on invitation only")


def _decide_request(verdict: _Verdict, community: Community, membership: Membership | None) -> Decision:
    status = membership.status if membership else None
    if status in (MembershipStatus.ACTIVE, MembershipStatus.PENDING, MembershipStatus.INVITED):
        return verdict(False, f"this person is already {status.value if status else ''}")
    if community.visibility is Visibility.PRIVATE:
        return verdict(False, "a private community is joined by invitation only")
    if community.charter.membership_policy.admission is Admission.APPROVAL:
        return verdict(True, "admission is on approval")
    return verdict(False, f"admission is {community.charter.membership_policy.admission.value}, not on approval")
