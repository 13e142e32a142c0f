"""Who may do what: the one place that decides, and says why when it refuses.

A decision depends on the action, the actor (known? still in the organisation? of which
organisations?), the community's organisations, visibility and stage, the actor's membership
status and roles, for some actions whether the actor owns the contribution, and for the
actions on an organisation its administrators and the host's setting of who creates
organisations. `PERMISSION_TABLE` is the whole policy as data; docs/permissions.md is
generated from it and a test keeps the two in step.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar, Final, Protocol

import attrs

from coplib.domain import validation as v
from coplib.domain.community import Admission, Community, Organisation, Role, Visibility
from coplib.domain.errors import InvalidInputError, PermissionDeniedError
from coplib.domain.membership import Membership, MembershipStatus

# The system actor's id is a person id (coplib.domain.people refuses it to every person);
# it is named here too, beside `decide`, which allows it every action.
from coplib.domain.people import RESERVED_PREFIX as RESERVED_PREFIX
from coplib.domain.people import SYSTEM as SYSTEM
from coplib.domain.people import Person, PersonId, reserved_id_message
from coplib.domain.people import is_reserved_person_id as is_reserved_person_id


class Action(enum.StrEnum):
    """What a person may try to do; `decide` rules on each."""

    SEE = "see"  # know the community exists (name, vocation, charter)
    READ = "read"  # read its contributions and members
    CREATE_ORGANISATION = "create_organisation"  # as the host's setting says
    SEE_ORGANISATION = "see_organisation"  # know the organisation exists, list its portfolio
    ADMINISTER_ORGANISATION = "administer_organisation"  # appoint and withdraw administrators
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
    SHARE_COMMUNITY = "share_community"  # share with another organisation, or stop sharing
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
    EXPORT_PERSONAL_DATA = "export_personal_data"  # everything coplib stores about a person
    ERASE_PERSONAL_DATA = "erase_personal_data"  # a person's personal data removed
    # editing and moderation (docs/host-api.md)
    EDIT_CONTRIBUTION = "edit_contribution"  # a revision of a question, answer, comment...
    READ_REVISIONS = "read_revisions"  # the earlier revisions of a contribution
    RETAG_QUESTION = "retag_question"
    UNACCEPT_ANSWER = "unaccept_answer"
    CLOSE_THREAD = "close_thread"  # close or reopen a question's thread
    LOCK_THREAD = "lock_thread"  # lock a thread: no new answer nor comment
    FLAG_CONTRIBUTION = "flag_contribution"
    MODERATE = "moderate"  # the moderation queue; hide, show again, dismiss flags
    # value and launch (issue 14)
    TELL_VALUE_STORY = "tell_value_story"  # link contributions to a result in one's work
    PROPOSE_COMMUNITY = "propose_community"  # a candidate community, before it is launched
    MANAGE_CANDIDATE = "manage_candidate"  # read, assess, revise, drop or launch a candidate
    READ_RECOMMENDATIONS = "read_recommendations"  # the communities recommended to a person


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
    # "community"; "organisation" (taken in an organisation: `members` then means every person
    # of the organisation); "person" (their own only); "host" (`SYSTEM` only).
    scope: str = "community"
    refusal: str = ""  # the reason given when the action is refused for want of a role, a scope
    # The administrators of the organisation may too (in a community: of its own organisation).
    administrators: bool = False
    # Still allowed to someone with a membership (active, invited or pending) who is a person
    # of none of the community's organisations any more: everyone else of another
    # organisation finds the community unknown.
    across_organisations: bool = False


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
    Action.CREATE_ORGANISATION: Rule(
        members=False,
        scope="organisation",
        summary="as the host's setting `organisation_creators` says: any active person, for an organisation "
        "the directory places them in (the default); the people it names, for any organisation; or the host only",
    ),
    Action.SEE_ORGANISATION: Rule(
        members=True,
        administrators=True,
        scope="organisation",
        summary="its people and its administrators; to anyone else it is unknown",
    ),
    Action.ADMINISTER_ORGANISATION: Rule(
        members=False,
        administrators=True,
        scope="organisation",
        summary="its administrators",
        refusal="only the organisation's administrators may",
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
    Action.LEAVE: Rule(
        members=True,
        in_closed=True,
        across_organisations=True,
        summary="any member, invited or pending person, even once the community is no longer open to their "
        "organisation",
    ),
    Action.INVITE: Rule(members=False, roles=GATEKEEPERS),
    Action.DECIDE_MEMBERSHIP: Rule(members=False, roles=GATEKEEPERS),
    Action.REMOVE_MEMBER: Rule(members=False, roles=STEWARDS),
    Action.ASSIGN_ROLE: Rule(members=False, roles=STEWARDS),
    Action.AMEND_CHARTER: Rule(members=False, roles=STEWARDS, in_closed=True),
    Action.UPDATE_COMMUNITY: Rule(members=False, roles=STEWARDS, in_closed=True),
    Action.SHARE_COMMUNITY: Rule(
        members=False,
        roles=STEWARDS,
        administrators=True,
        in_closed=True,
        summary="its stewards, or the administrators of its own organisation",
    ),
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
    Action.EXPORT_PERSONAL_DATA: Rule(
        members=False,
        scope="person",
        administrators=True,
        summary="the person themselves, or an administrator of an organisation the person belongs to",
        refusal="only the person themselves or an administrator of their organisation may",
    ),
    Action.ERASE_PERSONAL_DATA: Rule(
        members=False,
        scope="person",
        administrators=True,
        summary="the person themselves, or an administrator of an organisation the person belongs to",
        refusal="only the person themselves or an administrator of their organisation may",
    ),
    # editing and moderation
    Action.EDIT_CONTRIBUTION: Rule(
        members=False, roles=MODERATORS, owner=True, summary="its author, or a facilitator or documentalist"
    ),
    Action.READ_REVISIONS: Rule(
        members=False,
        roles=MODERATORS,
        owner=True,
        in_closed=True,
        summary="its author, or a facilitator or documentalist",
    ),
    Action.RETAG_QUESTION: Rule(
        members=False, roles=MODERATORS, owner=True, summary="its asker, or a facilitator or documentalist"
    ),
    Action.UNACCEPT_ANSWER: Rule(
        members=False, roles=frozenset({Role.FACILITATOR}), owner=True, summary="the asker, or a facilitator"
    ),
    Action.CLOSE_THREAD: Rule(
        members=False, roles=frozenset({Role.FACILITATOR}), owner=True, summary="the asker, or a facilitator"
    ),
    Action.LOCK_THREAD: Rule(members=False, roles=frozenset({Role.FACILITATOR})),
    Action.FLAG_CONTRIBUTION: Rule(members=True, summary="active members, never their own contribution"),
    Action.MODERATE: Rule(
        members=False,
        roles=frozenset({Role.FACILITATOR}),
        in_closed=True,
        refusal="moderation is for the community's facilitators",
    ),
    # value and launch (issue 14)
    Action.TELL_VALUE_STORY: Rule(
        members=True, summary="active members, crediting contributions of the same community they may read"
    ),
    Action.PROPOSE_COMMUNITY: Rule(members=True, scope="organisation", summary="any active person of the organisation"),
    Action.MANAGE_CANDIDATE: Rule(
        members=False,
        owner=True,
        administrators=True,
        scope="organisation",
        summary="the person who proposed the candidate (while one of the organisation's people), or the "
        "organisation's administrators; to anyone else of the organisation candidates are not shown",
        refusal="only the person who proposed the candidate or the organisation's administrators may",
    ),
    Action.READ_RECOMMENDATIONS: Rule(
        members=False,
        scope="person",
        summary="a person reads their own only",
        refusal="only the person themselves may",
    ),
}

#: Why a person of another organisation may do nothing in a community: they are told it does
#: not exist (`Decision.concealed`), and the reason stays in the decision for the host's logs.
OUTSIDE_ORGANISATIONS: Final = "the community belongs to another organisation and is not shared with this person's"
#: Why a person who is not one of an organisation's people may do nothing in it (concealed too).
OUTSIDE_ORGANISATION: Final = "this person is not one of the organisation's people"

_LEAVABLE: Final = frozenset({MembershipStatus.ACTIVE, MembershipStatus.INVITED, MembershipStatus.PENDING})


def _creator_ids(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.members_of(str)(_, attribute, value)
    for person_id in sorted(value):
        if not v.is_identifier(person_id):
            raise InvalidInputError.field("$.people", f"must hold person ids, got {person_id!r:.60}")
        if is_reserved_person_id(person_id):
            raise InvalidInputError.field("$.people", reserved_id_message(person_id))


@attrs.frozen
class OrganisationCreators:
    """Who may create an organisation: the host's setting (`coplib.open(organisation_creators=...)`).

    With `anyone`, any active person may create an organisation the directory places them in
    (any organisation, for a person whose organisations it does not list); the `people`
    named may create any organisation (the host's staff who set up the organisations of a
    club); with neither, only the host does, as `SYSTEM`. Its founder becomes the
    organisation's first administrator."""

    anyone: bool = attrs.field(default=True, validator=v.instance_of(bool))
    people: frozenset[PersonId] = attrs.field(default=frozenset(), converter=v.to_frozenset, validator=_creator_ids)

    #: The words `of` takes.
    ANYONE: ClassVar[str] = "anyone"
    HOST: ClassVar[str] = "host"

    @classmethod
    def of(cls, value: object, path: str = "$.organisation_creators") -> OrganisationCreators:
        """The setting from what a host passes: ``"anyone"``, ``"host"``, a list of person ids,
        or an `OrganisationCreators`. Anything else: `InvalidInputError` naming `path`."""
        if isinstance(value, OrganisationCreators):
            return value
        if value == cls.ANYONE:
            return cls(anyone=True)
        if value == cls.HOST:
            return cls(anyone=False)
        if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
            raise InvalidInputError.field(
                path, f"must be 'anyone', 'host' or a list of person ids, got {type(value).__name__} {value!r:.60}"
            )
        for i, item in enumerate(value if isinstance(value, (list, tuple)) else sorted(value, key=repr)):
            if not v.is_identifier(item):
                raise InvalidInputError.field(f"{path}[{i}]", f"must be a person id, got {item!r:.60}")
            if is_reserved_person_id(item):
                raise InvalidInputError.field(f"{path}[{i}]", reserved_id_message(item))
        if not value:
            raise InvalidInputError.field(path, "name at least one person, or say 'host' for the host only")
        return cls(anyone=False, people=frozenset(value))

    def describe(self) -> str:
        """The setting in words, for messages and docs."""
        named = ", ".join(sorted(self.people))
        if self.anyone:
            own = "any active person, for an organisation the directory places them in"
            return f"{own}; {named}, for any organisation" if named else own
        return f"{named} only, for any organisation" if named else f"the host ({SYSTEM}) only"


def within_organisations(person: Person, community: Community) -> bool:
    """Whether `person` is one of the people of the community's organisations (its own and
    those it is shared with): the first condition of every right in it."""
    return person.belongs_to_any(community.organisations)


@attrs.frozen
class Decision:
    """Whether an action is allowed, and why (true when allowed). A refusal that is
    `concealed` must not tell the actor that the community (or organisation) exists: the
    engine answers it with the `NotFoundError` an unknown id gets."""

    allowed: bool
    reason: str
    action: Action
    actor_id: str
    community_id: str | None
    concealed: bool = False

    def __bool__(self) -> bool:
        return self.allowed

    def require(self) -> None:
        """Raise `PermissionDeniedError` with the reason when refused (its `concealed` says
        whether the refusal must look like an unknown id)."""
        if not self.allowed:
            raise PermissionDeniedError(
                self.action.value, self.actor_id, self.community_id, self.reason, concealed=self.concealed
            )


class _Verdict(Protocol):
    def __call__(self, allowed: bool, reason: str, *, concealed: bool = False) -> Decision: ...


def decide(
    action: Action,
    *,
    actor_id: str,
    actor: Person | None,
    community: Community | None,
    membership: Membership | None,
    owner_id: str | None = None,
    target_author_id: str | None = None,
    organisation: Organisation | None = None,
    creators: OrganisationCreators | None = None,
) -> Decision:
    """Whether `actor` may take `action` in `community`; the decision carries its reason.

    `owner_id` is the author of the contribution concerned (the asker, for accepting an
    answer), or for the actions on a person (`scope` "person", the benefits of a member) the
    person concerned. `organisation` is the organisation an action of scope "organisation"
    is taken in (for `create_organisation`, the one to be created), or for an action in a
    community whose rule lets `administrators` act, the community's own organisation.
    `creators` is the host's setting for `create_organisation` (by default, anyone).

    A refusal in a private community that the actor may not see (an outsider, a removed
    member, an unknown person, one who left the organisation) is `concealed`, as is one in a
    community of another organisation: to the actor it does not exist."""
    decision = _decide(
        action,
        actor_id=actor_id,
        actor=actor,
        community=community,
        membership=membership,
        owner_id=owner_id,
        target_author_id=target_author_id,
        organisation=organisation,
        creators=creators,
    )
    if (
        decision.allowed
        or decision.concealed
        or community is None
        or community.visibility is not Visibility.PRIVATE
        or PERMISSION_TABLE[action].scope != "community"
    ):
        return decision
    seen = (
        decision
        if action is Action.SEE
        else _decide(Action.SEE, actor_id=actor_id, actor=actor, community=community, membership=membership)
    )
    return attrs.evolve(decision, concealed=True) if not seen.allowed else decision


def _decide(
    action: Action,
    *,
    actor_id: str,
    actor: Person | None,
    community: Community | None,
    membership: Membership | None,
    owner_id: str | None = None,
    target_author_id: str | None = None,
    organisation: Organisation | None = None,
    creators: OrganisationCreators | None = None,
) -> Decision:
    """`decide` before a private community's concealment."""
    community_id = community.id if community else None

    def verdict(allowed: bool, reason: str, *, concealed: bool = False) -> Decision:
        return Decision(allowed, reason, action, actor_id, community_id, concealed)

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
        return _decide_in_organisation(verdict, action, rule, actor_id, actor, organisation, creators, owner_id)
    if rule.scope == "person":
        if owner_id == actor_id:
            return verdict(True, "a person may for themselves")
        if rule.administrators and organisation is not None and organisation.administered_by(actor_id):
            return verdict(True, "an administrator of the person's organisation may")
        return verdict(False, rule.refusal or "a person may for themselves only")
    if community is None:
        return verdict(False, "the community does not exist")
    return _decide_in_community(
        verdict, action, rule, actor_id, actor, community, membership, owner_id, target_author_id, organisation
    )


def _decide_in_organisation(
    verdict: _Verdict,
    action: Action,
    rule: Rule,
    actor_id: str,
    actor: Person,
    organisation: Organisation | None,
    creators: OrganisationCreators | None,
    owner_id: str | None = None,
) -> Decision:
    if organisation is None:
        return verdict(False, "the organisation does not exist")
    if action is Action.CREATE_ORGANISATION:
        setting = creators if creators is not None else OrganisationCreators()
        if actor_id in setting.people:
            return verdict(True, "the host names this person among those who create organisations")
        if not setting.anyone:
            return verdict(False, f"the host's setting: organisations are created by {setting.describe()}")
        if actor.belongs_to(organisation.id):
            return verdict(True, "any active person may create an organisation the directory places them in")
        return verdict(False, f"the directory does not place this person in the organisation {organisation.id!r:.60}")
    administrator = organisation.administered_by(actor_id)
    if rule.administrators and administrator:
        return verdict(True, "an administrator of the organisation may")
    if not actor.belongs_to(organisation.id):
        # Its administrators know it exists, even those it does not count among its people.
        return verdict(False, OUTSIDE_ORGANISATION, concealed=not administrator)
    if rule.owner and owner_id is not None and owner_id == actor_id:
        return verdict(True, "the person who proposed it may")
    if rule.members:
        return verdict(True, "any active person of the organisation may")
    return verdict(False, rule.refusal or "only the organisation's administrators may")


def _decide_in_community(
    verdict: _Verdict,
    action: Action,
    rule: Rule,
    actor_id: str,
    actor: Person,
    community: Community,
    membership: Membership | None,
    owner_id: str | None,
    target_author_id: str | None,
    organisation: Organisation | None,
) -> Decision:
    status = membership.status if membership else None
    if (
        rule.administrators
        and organisation is not None
        and organisation.id == community.organisation_id
        and organisation.administered_by(actor_id)
    ):
        if community.closed and not rule.in_closed:
            return verdict(False, "the community is closed")
        return verdict(True, "an administrator of the community's organisation may")
    if not within_organisations(actor, community) and not (rule.across_organisations and status in _LEAVABLE):
        return verdict(False, OUTSIDE_ORGANISATIONS, concealed=True)
    if status is MembershipStatus.REMOVED:
        return verdict(False, "this person was removed from the community and holds no right in it")
    if community.closed and not rule.in_closed:
        return verdict(False, "the community is closed")

    match action:
        case Action.SEE:
            if status in _LEAVABLE:
                return verdict(True, "a member or an invited person sees the community")
        case Action.JOIN:
            return _decide_join(verdict, actor, community, membership)
        case Action.REQUEST_MEMBERSHIP:
            return _decide_request(verdict, community, membership)
        case Action.LEAVE:
            if status in _LEAVABLE:
                return verdict(True, "members may leave at any time")
            return verdict(False, "this person is not a member")
        case Action.ENDORSE if target_author_id == actor_id:
            return verdict(False, "nobody endorses their own contribution")
        case Action.FLAG_CONTRIBUTION if target_author_id == actor_id:
            return verdict(False, "nobody flags their own contribution: edit or withdraw it")

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
        admins = " (or administer its organisation)" if rule.administrators else ""
        return verdict(False, rule.refusal or f"needs the role {needed}{owner}{admins}")
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
