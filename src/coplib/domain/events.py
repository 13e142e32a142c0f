"""Domain events: the immutable history of every change.

Each event carries everything needed to replay it (`coplib.domain.history.apply`), so that
health measures can be computed and a community rebuilt from its events alone. An event's
``TYPE`` is its stable name in storage and on the wire: never rename one, add a new type.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Final

import attrs

from coplib.domain import validation as v
from coplib.domain.community import (
    Charter,
    CommunityKind,
    LifecycleStage,
    Role,
    Visibility,
)
from coplib.domain.contributions import (
    BODY_TEXT,
    COMMENT_TEXT,
    LOCATION_TEXT,
    OPTIONAL_BODY_TEXT,
    OPTIONAL_LOCATION_TEXT,
    TITLE_TEXT,
    ContributionKind,
    ExperienceKind,
    ResourceKind,
    ThreadStatus,
)
from coplib.domain.decline import month_text
from coplib.domain.errors import InvalidInputError
from coplib.domain.guarantee import CloseReason, Route, person_ids
from coplib.domain.membership import EXPERTISE_MAX
from coplib.domain.moderation import RevisedFields
from coplib.domain.participation import ParticipationLevel
from coplib.domain.preferences import Frequency, QuietHours
from coplib.domain.readiness import LaunchFacts
from coplib.domain.recognition import token
from coplib.domain.value import RESULT_TEXT as STORY_RESULT_TEXT
from coplib.domain.value import LinkedContribution, linked_contributions


def _id() -> str:
    return attrs.field(validator=v.identifier)  # type: ignore[no-any-return]


@attrs.frozen(kw_only=True)
class DomainEvent:
    """What every event has: an id, the actor, the community and when it happened (UTC)."""

    TYPE: ClassVar[str] = ""

    id: str = attrs.field(validator=v.identifier)
    actor_id: str = attrs.field(validator=v.identifier)
    community_id: str | None = attrs.field(validator=v.optional_identifier)
    occurred_at: datetime = attrs.field(validator=v.utc_datetime)


# -- organisation and community -------------------------------------------------------------


@attrs.frozen(kw_only=True)
class OrganisationCreated(DomainEvent):
    TYPE: ClassVar[str] = "organisation_created"
    organisation_id: str = attrs.field(validator=v.identifier)
    name: str = attrs.field(validator=v.text(max_chars=v.NAME_MAX))


@attrs.frozen(kw_only=True)
class AdministratorAppointed(DomainEvent):
    """`person_id` becomes an administrator of the organisation (its founder first)."""

    TYPE: ClassVar[str] = "administrator_appointed"
    organisation_id: str = _id()
    person_id: str = _id()


@attrs.frozen(kw_only=True)
class AdministratorWithdrawn(DomainEvent):
    """`person_id` is an administrator of the organisation no more."""

    TYPE: ClassVar[str] = "administrator_withdrawn"
    organisation_id: str = _id()
    person_id: str = _id()


@attrs.frozen(kw_only=True)
class CommunityCreated(DomainEvent):
    TYPE: ClassVar[str] = "community_created"
    organisation_id: str = attrs.field(validator=v.identifier)
    name: str = attrs.field(validator=v.text(max_chars=v.NAME_MAX))
    kind: CommunityKind
    visibility: Visibility
    stage: LifecycleStage
    tags: frozenset[str] = attrs.field(converter=v.to_tags, validator=v.tags())
    charter: Charter


@attrs.frozen(kw_only=True)
class CommunityUpdated(DomainEvent):
    TYPE: ClassVar[str] = "community_updated"
    name: str = attrs.field(validator=v.text(max_chars=v.NAME_MAX))
    visibility: Visibility
    tags: frozenset[str] = attrs.field(converter=v.to_tags, validator=v.tags())


@attrs.frozen(kw_only=True)
class CommunityStageChanged(DomainEvent):
    TYPE: ClassVar[str] = "community_stage_changed"
    stage: LifecycleStage
    previous: LifecycleStage


@attrs.frozen(kw_only=True)
class CharterAmended(DomainEvent):
    TYPE: ClassVar[str] = "charter_amended"
    version: int = attrs.field(validator=v.non_negative_int)
    charter: Charter
    reason: str = attrs.field(validator=v.text(max_chars=v.SHORT_TEXT_MAX))


@attrs.frozen(kw_only=True)
class CommunityShared(DomainEvent):
    """The community is shared with another organisation (`organisation_id`), whose people
    then see, join and read it as the people of its own organisation do."""

    TYPE: ClassVar[str] = "community_shared"
    organisation_id: str = _id()


@attrs.frozen(kw_only=True)
class CommunityUnshared(DomainEvent):
    """The community is shared with `organisation_id` no more."""

    TYPE: ClassVar[str] = "community_unshared"
    organisation_id: str = _id()


# -- membership -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class MembershipEvent(DomainEvent):
    """An event about one person's membership (`person_id`)."""

    person_id: str = attrs.field(validator=v.identifier)


#: The roles an invitation may offer (a launched community's sponsor, facilitator and core
#: group): given when the person joins, as `RoleAssigned` events of their joining.
OFFERABLE_ROLES: Final = frozenset({Role.SPONSOR, Role.FACILITATOR, Role.CORE_GROUP})


_ROLES: Final = v.members_of(Role)


def _offerable(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _ROLES(instance, attribute, value)
    if not frozenset(value) <= OFFERABLE_ROLES:
        offered = ", ".join(sorted(r.value for r in OFFERABLE_ROLES))
        raise InvalidInputError.field(f"$.{attribute.name}", f"an invitation offers only {offered}")


@attrs.frozen(kw_only=True)
class MemberInvited(MembershipEvent):
    """An invitation to join; `roles`, offered with it, are given when the person joins."""

    TYPE: ClassVar[str] = "member_invited"
    roles: frozenset[Role] = attrs.field(default=frozenset(), converter=v.to_frozenset, validator=_offerable)


@attrs.frozen(kw_only=True)
class MembershipRequested(MembershipEvent):
    TYPE: ClassVar[str] = "membership_requested"


@attrs.frozen(kw_only=True)
class MembershipApproved(MembershipEvent):
    TYPE: ClassVar[str] = "membership_approved"


@attrs.frozen(kw_only=True)
class MembershipDeclined(MembershipEvent):
    TYPE: ClassVar[str] = "membership_declined"
    reason: str = attrs.field(default="", validator=v.text(max_chars=v.SHORT_TEXT_MAX, allow_empty=True))


@attrs.frozen(kw_only=True)
class MemberJoined(MembershipEvent):
    """Became active: by joining an open community, accepting an invitation, by rule, or founding."""

    TYPE: ClassVar[str] = "member_joined"
    via: str = attrs.field(validator=attrs.validators.in_(("open", "invitation", "rule", "founder")))


@attrs.frozen(kw_only=True)
class MemberLeft(MembershipEvent):
    TYPE: ClassVar[str] = "member_left"
    #: Why, when the person did not leave of their own accord (the directory sync says so).
    reason: str = attrs.field(default="", validator=v.text(max_chars=v.SHORT_TEXT_MAX, allow_empty=True))


@attrs.frozen(kw_only=True)
class MemberRemoved(MembershipEvent):
    TYPE: ClassVar[str] = "member_removed"
    reason: str = attrs.field(default="", validator=v.text(max_chars=v.SHORT_TEXT_MAX, allow_empty=True))


@attrs.frozen(kw_only=True)
class RoleAssigned(MembershipEvent):
    TYPE: ClassVar[str] = "role_assigned"
    role: Role
    tags: frozenset[str] = attrs.field(
        default=frozenset(), converter=v.to_tags, validator=v.tags(max_count=EXPERTISE_MAX)
    )


@attrs.frozen(kw_only=True)
class RoleWithdrawn(MembershipEvent):
    TYPE: ClassVar[str] = "role_withdrawn"
    role: Role


# -- contributions ----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class QuestionAsked(DomainEvent):
    TYPE: ClassVar[str] = "question_asked"
    question_id: str = _id()
    title: str = attrs.field(validator=TITLE_TEXT)
    body: str = attrs.field(validator=BODY_TEXT)
    tags: frozenset[str] = attrs.field(converter=v.to_tags, validator=v.tags())


@attrs.frozen(kw_only=True)
class AnswerPosted(DomainEvent):
    TYPE: ClassVar[str] = "answer_posted"
    answer_id: str = _id()
    question_id: str = _id()
    asker_id: str = _id()
    body: str = attrs.field(validator=BODY_TEXT)


@attrs.frozen(kw_only=True)
class AnswerAccepted(DomainEvent):
    """The asker (or a facilitator) marks an answer as the one that solved the question."""

    TYPE: ClassVar[str] = "answer_accepted"
    question_id: str = _id()
    answer_id: str = _id()
    answer_author_id: str = _id()
    asker_id: str = _id()
    previous_answer_id: str | None = attrs.field(default=None, validator=v.optional_identifier)
    previous_answer_author_id: str | None = attrs.field(default=None, validator=v.optional_identifier)


@attrs.frozen(kw_only=True)
class CommentPosted(DomainEvent):
    TYPE: ClassVar[str] = "comment_posted"
    comment_id: str = _id()
    target_id: str = _id()
    target_kind: ContributionKind
    target_author_id: str = _id()
    body: str = attrs.field(validator=COMMENT_TEXT)


@attrs.frozen(kw_only=True)
class ContributionEndorsed(DomainEvent):
    TYPE: ClassVar[str] = "contribution_endorsed"
    endorsement_id: str = _id()
    target_id: str = _id()
    target_kind: ContributionKind
    target_author_id: str = _id()


@attrs.frozen(kw_only=True)
class ResourceShared(DomainEvent):
    TYPE: ClassVar[str] = "resource_shared"
    resource_id: str = _id()
    title: str = attrs.field(validator=TITLE_TEXT)
    kind: ResourceKind
    location: str = attrs.field(validator=LOCATION_TEXT)
    description: str = attrs.field(validator=OPTIONAL_BODY_TEXT)
    tags: frozenset[str] = attrs.field(converter=v.to_tags, validator=v.tags())


@attrs.frozen(kw_only=True)
class ExperienceRecorded(DomainEvent):
    TYPE: ClassVar[str] = "experience_recorded"
    experience_id: str = _id()
    title: str = attrs.field(validator=TITLE_TEXT)
    body: str = attrs.field(validator=BODY_TEXT)
    kind: ExperienceKind
    tags: frozenset[str] = attrs.field(converter=v.to_tags, validator=v.tags())


@attrs.frozen(kw_only=True)
class MeetingScheduled(DomainEvent):
    TYPE: ClassVar[str] = "meeting_scheduled"
    meeting_id: str = _id()
    title: str = attrs.field(validator=TITLE_TEXT)
    description: str = attrs.field(validator=OPTIONAL_BODY_TEXT)
    starts_at: datetime = attrs.field(validator=v.utc_datetime)
    ends_at: datetime = attrs.field(validator=v.utc_datetime)
    location: str = attrs.field(validator=OPTIONAL_LOCATION_TEXT)
    tags: frozenset[str] = attrs.field(converter=v.to_tags, validator=v.tags())


@attrs.frozen(kw_only=True)
class AttendanceRecorded(DomainEvent):
    """The people who attended a meeting (the full list, replacing any earlier one)."""

    TYPE: ClassVar[str] = "attendance_recorded"
    meeting_id: str = _id()
    attendees: frozenset[str] = attrs.field(
        converter=v.to_frozenset, validator=v.members_of(str, max_count=v.ATTENDEES_MAX)
    )


@attrs.frozen(kw_only=True)
class ContributionWithdrawn(DomainEvent):
    """A contribution taken back by its author or a facilitator; recognition is reversed."""

    TYPE: ClassVar[str] = "contribution_withdrawn"
    contribution_id: str = _id()
    contribution_kind: ContributionKind
    author_id: str = _id()
    question_id: str | None = attrs.field(default=None, validator=v.optional_identifier)
    reason: str = attrs.field(default="", validator=v.text(max_chars=v.SHORT_TEXT_MAX, allow_empty=True))


@attrs.frozen(kw_only=True)
class PreferencesChanged(DomainEvent):
    """A person's notification preferences, in full (replacing the earlier ones)."""

    TYPE: ClassVar[str] = "preferences_changed"
    person_id: str = _id()
    channel: str | None = None
    frequency: Frequency = Frequency.IMMEDIATE
    quiet_hours: QuietHours | None = None
    unsubscribed: frozenset[str] = attrs.field(default=frozenset(), converter=v.to_frozenset)


@attrs.frozen(kw_only=True)
class PolicyReactionFailed(DomainEvent):
    """A policy raised while reacting to `event`: the command stood, the reaction is kept
    here and retried by `Engine.tick` from `retry_at`."""

    TYPE: ClassVar[str] = "policy_reaction_failed"
    policy: str = attrs.field(validator=v.text(max_chars=v.NAME_MAX))
    event: DomainEvent
    #: What the policy raised, as coplib words it: characters the text rule refuses are escaped.
    error: str = attrs.field(converter=v.escape_refused, validator=v.text(max_chars=v.SHORT_TEXT_MAX))
    attempt: int = attrs.field(validator=v.non_negative_int)
    retry_at: datetime = attrs.field(validator=v.utc_datetime)


@attrs.frozen(kw_only=True)
class PolicyReactionRecovered(DomainEvent):
    """A failed reaction succeeded on a later try."""

    TYPE: ClassVar[str] = "policy_reaction_recovered"
    policy: str = attrs.field(validator=v.text(max_chars=v.NAME_MAX))
    failed_event_id: str = _id()


@attrs.frozen(kw_only=True)
class ReactionsDeferred(DomainEvent):
    """The `covers` events that follow this one in the same commit await the policies that
    follow the log (`coplib.runtime.follower`): recorded first in a command's commit when
    the engine runs with a follower, so that the follower knows which commits are its work.
    Touches no aggregate."""

    TYPE: ClassVar[str] = "reactions_deferred"
    covers: int = attrs.field(validator=v.non_negative_int)


@attrs.frozen(kw_only=True)
class LogFollowed(DomainEvent):
    """The follower named `follower` has reacted to every event up to position `through`,
    in the commit that records this event (its tracking position: exactly once, resumable)."""

    TYPE: ClassVar[str] = "log_followed"
    follower: str = attrs.field(validator=v.text(max_chars=v.NAME_MAX))
    through: int = attrs.field(validator=v.non_negative_int)


# -- answer guarantee -------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class QuestionRouted(DomainEvent):
    """A question went to the people expected to answer it (`experts`, chosen by `route`);
    its watch starts, its first step due at `due_at` (None: the ladder has no step)."""

    TYPE: ClassVar[str] = "question_routed"
    question_id: str = _id()
    asker_id: str = _id()
    asked_at: datetime = attrs.field(validator=v.utc_datetime)
    experts: tuple[str, ...] = attrs.field(converter=v.to_tuple, validator=person_ids)
    route: Route = attrs.field(validator=attrs.validators.instance_of(Route))
    due_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)


@attrs.frozen(kw_only=True)
class QuestionEscalated(DomainEvent):
    """Step `step` (1 for the first) of the ladder: the question still had no answer, and
    the people of `audience` (``experts`` and roles) were notified: `notified`."""

    TYPE: ClassVar[str] = "question_escalated"
    question_id: str = _id()
    step: int = attrs.field(validator=v.non_negative_int)
    audience: tuple[str, ...] = attrs.field(converter=v.to_tuple, validator=v.short_texts(max_chars=v.NAME_MAX))
    notified: tuple[str, ...] = attrs.field(converter=v.to_tuple, validator=person_ids)
    next_due_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)


@attrs.frozen(kw_only=True)
class WatchClosed(DomainEvent):
    """The guarantee stopped watching a question, and why."""

    TYPE: ClassVar[str] = "watch_closed"
    question_id: str = _id()
    reason: CloseReason = attrs.field(validator=attrs.validators.instance_of(CloseReason))


# -- recognition and participation ------------------------------------------------------------


@attrs.frozen(kw_only=True)
class PointsAwarded(DomainEvent):
    """Points credited to `person_id` for `reason` on `subject_id` (the contribution or
    meeting concerned), caused by the event `cause_event_id`: one entry of the ledger.
    `requested` is the table's value; `points` what the daily cap let through."""

    TYPE: ClassVar[str] = "points_awarded"
    entry_id: str = _id()
    person_id: str = _id()
    reason: str = attrs.field(validator=token)
    points: int = attrs.field(validator=v.non_negative_int)
    requested: int = attrs.field(validator=v.non_negative_int)
    capped: bool = attrs.field(validator=v.instance_of(bool))
    subject_id: str = _id()
    cause_event_id: str = _id()


@attrs.frozen(kw_only=True)
class PointsReversed(DomainEvent):
    """The entry `reversed_entry_id` taken back by a new entry `entry_id` of ``-points``:
    `reason` says why (``contribution_withdrawn``, ``acceptance_moved``...), `awarded_for`
    what the points were for, `cause_event_id` the event that undid them."""

    TYPE: ClassVar[str] = "points_reversed"
    entry_id: str = _id()
    reversed_entry_id: str = _id()
    person_id: str = _id()
    points: int = attrs.field(validator=v.non_negative_int)
    reason: str = attrs.field(validator=token)
    awarded_for: str = attrs.field(validator=token)
    subject_id: str = _id()
    cause_event_id: str = _id()


@attrs.frozen(kw_only=True)
class ParticipationLevelChanged(DomainEvent):
    """A member's level of participation moved from `previous` to `level` (promoted at once,
    demoted after the minimum stay below the low-water mark, or an outsider on leaving);
    `score` is the weighted activity it was decided on, `review_at` the next review."""

    TYPE: ClassVar[str] = "participation_level_changed"
    person_id: str = _id()
    level: ParticipationLevel = attrs.field(validator=attrs.validators.instance_of(ParticipationLevel))
    previous: ParticipationLevel = attrs.field(validator=attrs.validators.instance_of(ParticipationLevel))
    score: int = attrs.field(validator=v.non_negative_int)
    review_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)


@attrs.frozen(kw_only=True)
class ParticipationLevelPinned(DomainEvent):
    """A facilitator or the sponsor (the actor) fixed a member's level at `level`, or let it
    be computed again (`level` None: reviewed from `review_at`)."""

    TYPE: ClassVar[str] = "participation_level_pinned"
    person_id: str = _id()
    level: ParticipationLevel | None = attrs.field(
        validator=attrs.validators.optional(attrs.validators.instance_of(ParticipationLevel))
    )
    previous: ParticipationLevel = attrs.field(validator=attrs.validators.instance_of(ParticipationLevel))
    reason: str = attrs.field(default="", validator=v.text(max_chars=v.SHORT_TEXT_MAX, allow_empty=True))
    review_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)


@attrs.frozen(kw_only=True)
class ParticipationReviewed(DomainEvent):
    """A member's level was reviewed and kept; the next review is at `review_at` (None: none)."""

    TYPE: ClassVar[str] = "participation_reviewed"
    person_id: str = _id()
    score: int = attrs.field(validator=v.non_negative_int)
    review_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)


@attrs.frozen(kw_only=True)
class BadgeAwarded(DomainEvent):
    """`person_id` earned the badge `badge` in the community, by the event `cause_event_id`."""

    TYPE: ClassVar[str] = "badge_awarded"
    person_id: str = _id()
    badge: str = attrs.field(validator=token)
    cause_event_id: str = _id()


@attrs.frozen(kw_only=True)
class BadgeProgressed(DomainEvent):
    """`person_id` came nearer to the badge `badge`: under `key` (one thing the badge counts,
    such as a newcomer helped), the `items` that show it (such as the answers) are added, or
    taken back when `withdrawn` (an answer withdrawn). Bookkeeping of the badges policy: it
    lets a rule count without reading a person's whole history."""

    TYPE: ClassVar[str] = "badge_progressed"
    person_id: str = _id()
    badge: str = attrs.field(validator=token)
    key: str = _id()
    items: tuple[str, ...] = attrs.field(converter=v.to_tuple, validator=v.identifiers(max_count=10))
    withdrawn: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))


# -- personal data (issue 16) -------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class PersonalDataErased(DomainEvent):
    """A person's personal data was erased (docs/personal-data.md): what named them now names
    `pseudonym`; their contributions were kept under it (`contributions` "keep") or withdrawn
    and emptied ("remove"). It holds no personal data itself: not the person's id, name or
    e-mail, and its actor is the pseudonym when the person erased their own data. The counts
    say how many aggregates, events and messages were rewritten or dropped. Touches no
    aggregate."""

    TYPE: ClassVar[str] = "personal_data_erased"
    pseudonym: str = attrs.field(validator=v.identifier)
    contributions: str = attrs.field(validator=attrs.validators.in_(("keep", "remove")))
    aggregates: int = attrs.field(validator=v.non_negative_int)
    events: int = attrs.field(validator=v.non_negative_int)
    messages: int = attrs.field(validator=v.non_negative_int)


# -- editing and moderation (docs/host-api.md) --------------------------------------------------


@attrs.frozen(kw_only=True)
class ContributionRevised(DomainEvent):
    """A contribution edited by its author or a moderator: revision `revision` (1 for the
    first), the fields it `changed` with their `previous` values. A question's new tags route
    it again (the answer guarantee); recognition is kept."""

    TYPE: ClassVar[str] = "contribution_revised"
    contribution_id: str = _id()
    contribution_kind: ContributionKind
    author_id: str = _id()
    revision: int = attrs.field(validator=v.non_negative_int)
    changed: RevisedFields = attrs.field(validator=attrs.validators.instance_of(RevisedFields))
    previous: RevisedFields = attrs.field(validator=attrs.validators.instance_of(RevisedFields))
    reason: str = attrs.field(default="", validator=v.text(max_chars=v.SHORT_TEXT_MAX, allow_empty=True))


@attrs.frozen(kw_only=True)
class AnswerUnaccepted(DomainEvent):
    """The accepted answer of a question is accepted no more (by the asker or a facilitator)."""

    TYPE: ClassVar[str] = "answer_unaccepted"
    question_id: str = _id()
    answer_id: str = _id()
    answer_author_id: str = _id()
    asker_id: str = _id()


@attrs.frozen(kw_only=True)
class ThreadStatusChanged(DomainEvent):
    """A question's thread closed, locked or reopened by a facilitator (or its asker, to close)."""

    TYPE: ClassVar[str] = "thread_status_changed"
    question_id: str = _id()
    asker_id: str = _id()
    status: ThreadStatus = attrs.field(validator=attrs.validators.instance_of(ThreadStatus))
    previous: ThreadStatus = attrs.field(validator=attrs.validators.instance_of(ThreadStatus))
    reason: str = attrs.field(default="", validator=v.text(max_chars=v.SHORT_TEXT_MAX, allow_empty=True))


@attrs.frozen(kw_only=True)
class ContributionFlagged(DomainEvent):
    """A member flags a contribution for the moderators, with a reason (a new `Flag`)."""

    TYPE: ClassVar[str] = "contribution_flagged"
    flag_id: str = _id()
    contribution_id: str = _id()
    contribution_kind: ContributionKind
    target_author_id: str = _id()
    reason: str = attrs.field(validator=v.text(max_chars=v.SHORT_TEXT_MAX))


@attrs.frozen(kw_only=True)
class ContributionHidden(DomainEvent):
    """A moderator hides a contribution from everyone but its author, who sees `reason`; the
    open flags on it (`flag_ids`) are upheld."""

    TYPE: ClassVar[str] = "contribution_hidden"
    contribution_id: str = _id()
    contribution_kind: ContributionKind
    author_id: str = _id()
    reason: str = attrs.field(validator=v.text(max_chars=v.SHORT_TEXT_MAX))
    flag_ids: tuple[str, ...] = attrs.field(
        default=(), converter=v.to_tuple, validator=v.identifiers(max_count=100, allow_empty=True)
    )
    #: The question of a hidden answer: it counts the answer no more while hidden.
    question_id: str | None = attrs.field(default=None, validator=v.optional_identifier)


@attrs.frozen(kw_only=True)
class ContributionUnhidden(DomainEvent):
    """A moderator shows a hidden contribution again."""

    TYPE: ClassVar[str] = "contribution_unhidden"
    contribution_id: str = _id()
    contribution_kind: ContributionKind
    author_id: str = _id()
    question_id: str | None = attrs.field(default=None, validator=v.optional_identifier)


@attrs.frozen(kw_only=True)
class FlagsDismissed(DomainEvent):
    """A moderator dismisses the open flags `flag_ids` on a contribution, with a note."""

    TYPE: ClassVar[str] = "flags_dismissed"
    contribution_id: str = _id()
    contribution_kind: ContributionKind
    flag_ids: tuple[str, ...] = attrs.field(converter=v.to_tuple, validator=v.identifiers(max_count=100))
    note: str = attrs.field(default="", validator=v.text(max_chars=v.SHORT_TEXT_MAX, allow_empty=True))


# -- value and launch (issue 14) --------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ValueStoryTold(DomainEvent):
    """A member (the actor) tells a `result` in their work that the linked contributions of
    the community made possible: the evidence of the realised cycle of value."""

    TYPE: ClassVar[str] = "value_story_told"
    story_id: str = _id()
    contributions: tuple[LinkedContribution, ...] = attrs.field(converter=v.to_tuple, validator=linked_contributions)
    result: str = attrs.field(validator=STORY_RESULT_TEXT)


@attrs.frozen(kw_only=True)
class ValueStoryRevised(DomainEvent):
    """A value story's account amended by its teller or a facilitator or documentalist (the
    actor): `result` is the new text, `previous` the one it replaces. The contributions it
    credits stay as they were (to credit others, withdraw it and tell another)."""

    TYPE: ClassVar[str] = "value_story_revised"
    story_id: str = _id()
    result: str = attrs.field(validator=STORY_RESULT_TEXT)
    previous: str = attrs.field(validator=STORY_RESULT_TEXT)
    reason: str = attrs.field(default="", validator=v.text(max_chars=v.SHORT_TEXT_MAX, allow_empty=True))


@attrs.frozen(kw_only=True)
class ValueStoryWithdrawn(DomainEvent):
    """A value story taken back by its teller or a facilitator (the actor), and why; `credited`
    are the authors it credited, whose credit is taken back."""

    TYPE: ClassVar[str] = "value_story_withdrawn"
    story_id: str = _id()
    credited: tuple[str, ...] = attrs.field(
        default=(), converter=v.to_tuple, validator=v.identifiers(max_count=100, allow_empty=True)
    )
    reason: str = attrs.field(default="", validator=v.text(max_chars=v.SHORT_TEXT_MAX, allow_empty=True))


@attrs.frozen(kw_only=True)
class CommunityProposed(DomainEvent):
    """Someone (the actor) proposes a community to launch in `organisation_id`: a candidate,
    with what is known of it against the readiness criteria (`facts`)."""

    TYPE: ClassVar[str] = "community_proposed"
    candidate_id: str = _id()
    organisation_id: str = _id()
    name: str = attrs.field(validator=v.text(max_chars=v.NAME_MAX))
    vocation: str = attrs.field(validator=v.text(max_chars=v.SHORT_TEXT_MAX, multiline=True))
    kind: CommunityKind
    tags: frozenset[str] = attrs.field(converter=v.to_tags, validator=v.tags())
    facts: LaunchFacts


@attrs.frozen(kw_only=True)
class CandidateRevised(DomainEvent):
    """A candidate's name, vocation, tags and facts, in full (replacing the earlier ones)."""

    TYPE: ClassVar[str] = "candidate_revised"
    candidate_id: str = _id()
    name: str = attrs.field(validator=v.text(max_chars=v.NAME_MAX))
    vocation: str = attrs.field(validator=v.text(max_chars=v.SHORT_TEXT_MAX, multiline=True))
    tags: frozenset[str] = attrs.field(converter=v.to_tags, validator=v.tags())
    facts: LaunchFacts


@attrs.frozen(kw_only=True)
class CandidateLaunched(DomainEvent):
    """The community `community_id` was created from the candidate (recorded in its history)."""

    TYPE: ClassVar[str] = "candidate_launched"
    candidate_id: str = _id()


@attrs.frozen(kw_only=True)
class CandidateDropped(DomainEvent):
    """The candidate is given up, and why."""

    TYPE: ClassVar[str] = "candidate_dropped"
    candidate_id: str = _id()
    reason: str = attrs.field(default="", validator=v.text(max_chars=v.SHORT_TEXT_MAX, allow_empty=True))


# -- lifecycle stage and decline (coplib.policies.lifecycle) ---------------------------------------


@attrs.frozen(kw_only=True)
class LifecycleEvaluated(DomainEvent):
    """The lifecycle policy judged the community as at the end of `month` (a complete month,
    YYYY-MM): the next tick evaluates the next month."""

    TYPE: ClassVar[str] = "lifecycle_evaluated"
    month: str = attrs.field(validator=month_text)


@attrs.frozen(kw_only=True)
class StageSuggested(DomainEvent):
    """The stage the health signals suggest changed, as at the end of `month`; `since` is the
    first month of the run of this suggestion."""

    TYPE: ClassVar[str] = "stage_suggested"
    month: str = attrs.field(validator=month_text)
    since: str = attrs.field(validator=month_text)
    stage: LifecycleStage = attrs.field(validator=attrs.validators.instance_of(LifecycleStage))
    previous: LifecycleStage | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(LifecycleStage))
    )
    reasons: tuple[str, ...] = attrs.field(default=(), converter=v.to_tuple, validator=v.short_texts())


@attrs.frozen(kw_only=True)
class DeclineEntered(DomainEvent):
    """The community started running out of steam (essoufflement) as at the end of `month`:
    `reasons` say what fell, by how much, since when."""

    TYPE: ClassVar[str] = "decline_entered"
    month: str = attrs.field(validator=month_text)
    reasons: tuple[str, ...] = attrs.field(default=(), converter=v.to_tuple, validator=v.short_texts())


@attrs.frozen(kw_only=True)
class DeclineLeft(DomainEvent):
    """The community is no longer running out of steam as at the end of `month`."""

    TYPE: ClassVar[str] = "decline_left"
    month: str = attrs.field(validator=month_text)
    reasons: tuple[str, ...] = attrs.field(default=(), converter=v.to_tuple, validator=v.short_texts())


EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.TYPE: cls
    for cls in (
        OrganisationCreated,
        AdministratorAppointed,
        AdministratorWithdrawn,
        CommunityCreated,
        CommunityUpdated,
        CommunityStageChanged,
        CharterAmended,
        CommunityShared,
        CommunityUnshared,
        MemberInvited,
        MembershipRequested,
        MembershipApproved,
        MembershipDeclined,
        MemberJoined,
        MemberLeft,
        MemberRemoved,
        RoleAssigned,
        RoleWithdrawn,
        QuestionAsked,
        AnswerPosted,
        AnswerAccepted,
        CommentPosted,
        ContributionEndorsed,
        ResourceShared,
        ExperienceRecorded,
        MeetingScheduled,
        AttendanceRecorded,
        ContributionWithdrawn,
        PreferencesChanged,
        PolicyReactionFailed,
        PolicyReactionRecovered,
        ReactionsDeferred,
        LogFollowed,
        # answer guarantee
        QuestionRouted,
        QuestionEscalated,
        WatchClosed,
        # recognition and participation
        PointsAwarded,
        PointsReversed,
        ParticipationLevelChanged,
        ParticipationLevelPinned,
        ParticipationReviewed,
        BadgeAwarded,
        BadgeProgressed,
        # personal data
        PersonalDataErased,
        # editing and moderation
        ContributionRevised,
        AnswerUnaccepted,
        ThreadStatusChanged,
        ContributionFlagged,
        ContributionHidden,
        ContributionUnhidden,
        FlagsDismissed,
        # value and launch
        ValueStoryTold,
        ValueStoryWithdrawn,
        ValueStoryRevised,
        CommunityProposed,
        CandidateRevised,
        CandidateLaunched,
        CandidateDropped,
        # lifecycle stage and decline
        LifecycleEvaluated,
        StageSuggested,
        DeclineEntered,
        DeclineLeft,
    )
}
