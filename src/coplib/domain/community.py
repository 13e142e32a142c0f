"""Organisations, their portfolio of communities, and each community's versioned charter."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs

from coplib.domain import validation as v
from coplib.domain.errors import InvalidInputError
from coplib.domain.people import AttributeRule, PersonId

OrganisationId = str
CommunityId = str


class CommunityKind(enum.StrEnum):
    """The kinds of community the sources name (seeds/004, seeds/000)."""

    PRACTICE = "practice"
    INTEREST = "interest"
    TRADE = "trade"
    SERVICE = "service"
    EPISTEMIC = "epistemic"
    MUTUAL_HELP = "mutual_help"


class Visibility(enum.StrEnum):
    """Who can see and read a community."""

    OPEN = "open"  # every active person of the organisation reads it
    RESTRICTED = "restricted"  # everyone sees it exists; only members read it
    PRIVATE = "private"  # only members know and read it


class LifecycleStage(enum.StrEnum):
    """Wenger, McDermott & Snyder's five stages of development."""

    POTENTIAL = "potential"
    COALESCING = "coalescing"
    MATURING = "maturing"
    STEWARDSHIP = "stewardship"
    TRANSFORMATION = "transformation"
    CLOSED = "closed"


class Role(enum.StrEnum):
    """Roles named by the sources (DOMAIN.md section 6)."""

    SPONSOR = "sponsor"
    FACILITATOR = "facilitator"  # animateur
    COACH = "coach"
    EXPERT = "expert"
    DOCUMENTALIST = "documentalist"
    TECHNICAL_SUPPORT = "technical_support"
    ADMINISTRATIVE_SUPPORT = "administrative_support"
    COORDINATOR = "coordinator"
    CORE_GROUP = "core_group"
    MEMBER = "member"
    NEWCOMER = "newcomer"


class Admission(enum.StrEnum):
    """How people become members."""

    OPEN = "open"  # anyone who may see the community joins at once
    APPROVAL = "approval"  # a request, approved by a facilitator or the sponsor
    INVITATION = "invitation"  # only the invited join
    RULE = "rule"  # people matching an attribute rule join automatically (and the invited)


class CollaborationMode(enum.StrEnum):
    """How members take part; a contribution needs its mode in the charter."""

    QUESTIONS = "questions"  # ask, answer, accept, comment, endorse
    SHARED_REPERTOIRE = "shared_repertoire"  # resources and documents
    EXPERIENCES = "experiences"  # lessons learned and cases
    MEETINGS = "meetings"  # scheduled events with attendance
    CALLS_TO_ALL = "calls_to_all"
    SYNCHRONOUS = "synchronous"
    ASYNCHRONOUS = "asynchronous"


class CharterRule(enum.StrEnum):
    """Rules a charter can set (seeds/000, seeds/003)."""

    SINGLE_VENUE = "single_venue"  # the community is the one place for its exchanges
    GIVE_BEFORE_RECEIVE = "give_before_receive"  # contribute before asking again


#: How many questions a member may ask before having given anything, under
#: `CharterRule.GIVE_BEFORE_RECEIVE` (a newcomer must be able to ask once).
GIVE_BEFORE_RECEIVE_GRACE = 1


@attrs.frozen
class MembershipPolicy:
    """How people are admitted; admission by rule comes with its attribute rule."""

    admission: Admission = attrs.field(default=Admission.OPEN, validator=attrs.validators.instance_of(Admission))
    rule: AttributeRule | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(AttributeRule))
    )

    @rule.validator
    def _rule_matches_admission(self, attribute: attrs.Attribute[Any], value: AttributeRule | None) -> None:
        if self.admission is Admission.RULE and value is None:
            raise InvalidInputError.field("$.rule", "admission by rule needs an attribute rule")
        if self.admission is not Admission.RULE and value is not None:
            raise InvalidInputError.field("$.rule", f"an attribute rule needs admission 'rule', not {self.admission}")


def _check_policy_settings(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, dict):
        raise InvalidInputError.field("$.policy_settings", f"must be a mapping, got {type(value).__name__}")
    if len(value) > v.LIST_MAX:
        raise InvalidInputError.field("$.policy_settings", f"at most {v.LIST_MAX} policies")
    for name, settings in value.items():
        if not isinstance(name, str) or not name or len(name) > v.NAME_MAX or v.text_fault(name):
            raise InvalidInputError.field("$.policy_settings", f"policy names are non-empty strings, got {name!r:.60}")
        if not isinstance(settings, dict) or len(settings) > v.LIST_MAX:
            raise InvalidInputError.field(f"$.policy_settings.{name}", "must be a mapping of at most 50 settings")
        for key, item in settings.items():
            if not isinstance(key, str) or not key or not isinstance(item, str) or len(item) > v.SHORT_TEXT_MAX:
                raise InvalidInputError.field(
                    f"$.policy_settings.{name}.{key}", "settings are text values of at most 2000 characters"
                )
            fault = v.text_fault(key) or v.text_fault(item)
            if fault:
                raise InvalidInputError.field(f"$.policy_settings.{name}.{key}", f"a setting {fault}")


def _check_policy_names(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.members_of(str)(_, attribute, value)
    for name in sorted(value):
        fault = v.text_fault(name)
        if fault:
            raise InvalidInputError.field(f"$.{attribute.name}", f"a policy name {fault}")


#: A charter's texts other than its vocation, which may be empty; all may run over lines.
_charter_text = v.text(max_chars=v.SHORT_TEXT_MAX, allow_empty=True, multiline=True)

ALL_ROLES = frozenset(Role)
ALL_MODES = frozenset(CollaborationMode)


@attrs.frozen
class Charter:
    """What the community is for and how it works (seeds/002)."""

    vocation: str = attrs.field(validator=v.text(max_chars=v.SHORT_TEXT_MAX, multiline=True))
    member_profiles: tuple[str, ...] = attrs.field(default=(), converter=v.to_tuple, validator=v.short_texts())
    roles: frozenset[Role] = attrs.field(default=ALL_ROLES, converter=v.to_frozenset, validator=v.members_of(Role))
    resources: tuple[str, ...] = attrs.field(default=(), converter=v.to_tuple, validator=v.short_texts())
    collaboration_modes: frozenset[CollaborationMode] = attrs.field(
        default=ALL_MODES, converter=v.to_frozenset, validator=v.members_of(CollaborationMode)
    )
    rules: frozenset[CharterRule] = attrs.field(
        default=frozenset(), converter=v.to_frozenset, validator=v.members_of(CharterRule)
    )
    membership_policy: MembershipPolicy = attrs.field(
        factory=MembershipPolicy, validator=attrs.validators.instance_of(MembershipPolicy)
    )
    common_culture: str = attrs.field(default="", validator=_charter_text)
    individual_interest: str = attrs.field(default="", validator=_charter_text)
    #: Per-policy settings for this community, by policy name (values are text the policy
    #: parses, e.g. ``{"answer_guarantee": {"first_reminder": "4wh"}}``).
    policy_settings: dict[str, dict[str, str]] = attrs.field(factory=dict, validator=_check_policy_settings, hash=False)
    #: Policies switched off in this community.
    disabled_policies: frozenset[str] = attrs.field(
        default=frozenset(), converter=v.to_frozenset, validator=_check_policy_names
    )

    @roles.validator
    def _governed(self, attribute: attrs.Attribute[Any], value: frozenset[Role]) -> None:
        if Role.FACILITATOR not in value or Role.MEMBER not in value:
            raise InvalidInputError.field(
                "$.roles", "a charter must keep the facilitator and member roles: someone has to animate"
            )

    def allows(self, mode: CollaborationMode) -> bool:
        return mode in self.collaboration_modes


@attrs.frozen
class CharterVersion:
    """One version of a community's charter; every amendment keeps who, when and why."""

    community_id: CommunityId = attrs.field(validator=v.identifier)
    number: int = attrs.field(validator=v.non_negative_int)
    charter: Charter = attrs.field(validator=attrs.validators.instance_of(Charter))
    amended_by: PersonId = attrs.field(validator=v.identifier)
    amended_at: datetime = attrs.field(validator=v.utc_datetime)
    reason: str = attrs.field(validator=v.text(max_chars=v.SHORT_TEXT_MAX))

    @property
    def id(self) -> str:
        return charter_version_id(self.community_id, self.number)


def charter_version_id(community_id: CommunityId, number: int) -> str:
    return f"{community_id}#{number:06d}"


#: How many organisations a community is shared with at most, and how many administrators
#: an organisation has at most.
SHARED_WITH_MAX = v.LIST_MAX
ADMINISTRATORS_MAX = v.LIST_MAX


def _check_ids(what: str, max_count: int) -> Any:
    collection = v.members_of(str, max_count=max_count)

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        collection(instance, attribute, value)
        bad = sorted((item for item in value if not v.is_identifier(item)), key=repr)
        if bad:
            raise InvalidInputError.field(f"$.{attribute.name}", f"must hold {what} ids, got {bad[0]!r:.60}")

    return check


@attrs.frozen
class Organisation:
    """A host (company, association, club) whose portfolio holds many communities.

    Its `administrators` appoint and withdraw administrators and decide which of its
    communities are shared with other organisations; its founder is the first. Which people
    belong to it is the directory's to say (`Person.organisations`). `shared_communities`
    are the communities other organisations share with it (its portfolio lists them too)."""

    id: OrganisationId = attrs.field(validator=v.identifier)
    name: str = attrs.field(validator=v.text(max_chars=v.NAME_MAX))
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    created_by: PersonId = attrs.field(validator=v.identifier)
    administrators: frozenset[PersonId] = attrs.field(
        default=frozenset(), converter=v.to_frozenset, validator=_check_ids("person", ADMINISTRATORS_MAX)
    )
    shared_communities: frozenset[CommunityId] = attrs.field(
        default=frozenset(), converter=v.to_frozenset, validator=_check_ids("community", 1_000_000)
    )

    def administered_by(self, person_id: PersonId) -> bool:
        return person_id in self.administrators


@attrs.frozen
class Community:
    """A community of practice held in an organisation's portfolio."""

    id: CommunityId = attrs.field(validator=v.identifier)
    organisation_id: OrganisationId = attrs.field(validator=v.identifier)
    name: str = attrs.field(validator=v.text(max_chars=v.NAME_MAX))
    kind: CommunityKind = attrs.field(validator=attrs.validators.instance_of(CommunityKind))
    visibility: Visibility = attrs.field(validator=attrs.validators.instance_of(Visibility))
    stage: LifecycleStage = attrs.field(validator=attrs.validators.instance_of(LifecycleStage))
    tags: frozenset[str] = attrs.field(converter=v.to_tags, validator=v.tags())
    charter: Charter = attrs.field(validator=attrs.validators.instance_of(Charter))
    charter_version: int = attrs.field(validator=v.non_negative_int)
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    created_by: PersonId = attrs.field(validator=v.identifier)
    #: The other organisations whose people may see, join and read it as the people of its
    #: own organisation do (seeds/004: clubs and associations bring companies together).
    shared_with: frozenset[OrganisationId] = attrs.field(
        default=frozenset(), converter=v.to_frozenset, validator=_check_ids("organisation", SHARED_WITH_MAX)
    )

    @shared_with.validator
    def _with_others(self, attribute: attrs.Attribute[Any], value: frozenset[OrganisationId]) -> None:
        if self.organisation_id in value:
            raise InvalidInputError.field(
                "$.shared_with",
                f"a community is shared with other organisations, not its own ({self.organisation_id!r})",
            )

    @property
    def organisations(self) -> frozenset[OrganisationId]:
        """The organisations whose people it is open to: its own, and those it is shared with."""
        return self.shared_with | {self.organisation_id}

    @property
    def vocation(self) -> str:
        return self.charter.vocation

    @property
    def closed(self) -> bool:
        return self.stage is LifecycleStage.CLOSED


def check_coherent(visibility: Visibility, charter: Charter) -> None:
    """A private community cannot be open to all: refuse that pairing up front."""
    if visibility is Visibility.PRIVATE and charter.membership_policy.admission is Admission.OPEN:
        raise InvalidInputError.field(
            "$.charter.membership_policy.admission",
            "a private community cannot admit everyone: use invitation, approval or a rule",
        )
