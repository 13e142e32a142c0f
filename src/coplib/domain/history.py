"""How events become state: the one transition function, shared by the engine and replay.

The engine never changes an aggregate directly: it records an event and applies it here. So
the stored state is always what replaying the stored events gives, by construction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Final, NamedTuple

import attrs

from coplib.domain import events as ev
from coplib.domain._build import build, evolve
from coplib.domain.community import (
    CharterVersion,
    Community,
    Organisation,
    Role,
    charter_version_id,
)
from coplib.domain.contributions import (
    Answer,
    Comment,
    ContributionKind,
    Endorsement,
    Experience,
    Meeting,
    Question,
    Resource,
)
from coplib.domain.errors import ConflictError, InvalidInputError
from coplib.domain.guarantee import CloseReason, Watch
from coplib.domain.lifecycle import Lifecycle, evolve_lifecycle, lifecycle_id
from coplib.domain.membership import Membership, MembershipStatus, membership_id
from coplib.domain.moderation import Flag, FlagStatus, Revision, revision_id
from coplib.domain.participation import Participation, participation_id
from coplib.domain.preferences import Preferences
from coplib.domain.readiness import CandidateStatus, CommunityCandidate
from coplib.domain.recognition import (
    BadgeAward,
    BadgeProgress,
    PointsBalance,
    PointsEntry,
    badge_award_id,
    badge_progress_id,
    day_of,
    points_balance_id,
)
from coplib.domain.value import ValueStory


@attrs.frozen
class PolicyFailure:
    """A policy reaction that raised, kept to be retried: a timer due at `due_at`."""

    policy: str
    event: ev.DomainEvent
    error: str
    attempts: int
    due_at: datetime | None
    failed_at: datetime
    recovered_at: datetime | None = None

    @property
    def id(self) -> str:
        return policy_failure_id(self.policy, self.event.id)


def policy_failure_id(policy: str, event_id: str) -> str:
    return f"{policy}:{event_id}"


@attrs.frozen
class FollowerPosition:
    """How far a log follower has reacted: every event up to `through` (a log position)."""

    follower: str
    through: int
    updated_at: datetime

    @property
    def id(self) -> str:
        return self.follower


Aggregate = (
    Organisation
    | Community
    | CharterVersion
    | Membership
    | Question
    | Answer
    | Comment
    | Endorsement
    | Resource
    | Experience
    | Meeting
    | Preferences
    | PolicyFailure
    | FollowerPosition
    | Watch
    | PointsEntry
    | PointsBalance
    | Participation
    | BadgeAward
    | BadgeProgress
    | Revision
    | Flag
    | ValueStory
    | CommunityCandidate
    | Lifecycle
)

#: Stable storage names of the aggregate types (never the class names).
AGGREGATE_KINDS: Final[dict[str, type[Aggregate]]] = {
    "organisation": Organisation,
    "community": Community,
    "charter_version": CharterVersion,
    "membership": Membership,
    "question": Question,
    "answer": Answer,
    "comment": Comment,
    "endorsement": Endorsement,
    "resource": Resource,
    "experience": Experience,
    "meeting": Meeting,
    "preferences": Preferences,
    "policy_failure": PolicyFailure,
    "log_follower": FollowerPosition,
    "answer_watch": Watch,
    # recognition and participation
    "points_entry": PointsEntry,
    "points_balance": PointsBalance,
    "participation": Participation,
    "badge_award": BadgeAward,
    "badge_progress": BadgeProgress,
    # editing and moderation
    "revision": Revision,
    "flag": Flag,
    # value and launch
    "value_story": ValueStory,
    "community_candidate": CommunityCandidate,
    # lifecycle stage and decline
    "lifecycle": Lifecycle,
}
KIND_OF: Final[dict[type[Aggregate], str]] = {cls: name for name, cls in AGGREGATE_KINDS.items()}


class Ref(NamedTuple):
    """Names one aggregate: its kind (a key of `AGGREGATE_KINDS`) and id.

    A named tuple: refs key the maps of every unit of work and store, and a tuple hashes and
    compares in C (an attrs class would run Python code on each lookup, about ten per event).
    """

    kind: str
    id: str


def ref_of(aggregate: Aggregate) -> Ref:
    return Ref(KIND_OF[type(aggregate)], aggregate.id)


def _contribution_ref(kind: ContributionKind, id: str) -> Ref:
    return Ref(kind.value, id)


def _withdrawal_refs(event: ev.ContributionWithdrawn) -> list[Ref]:
    refs = [_contribution_ref(event.contribution_kind, event.contribution_id)]
    if event.contribution_kind is ContributionKind.ANSWER and event.question_id:
        refs.append(Ref("question", event.question_id))
    return refs


def _moderation_refs(event: ev.ContributionHidden | ev.ContributionUnhidden) -> list[Ref]:
    refs = [_contribution_ref(event.contribution_kind, event.contribution_id)]
    if event.contribution_kind is ContributionKind.ANSWER and event.question_id:
        refs.append(Ref("question", event.question_id))
    if isinstance(event, ev.ContributionHidden):
        refs.extend(Ref("flag", f) for f in event.flag_ids)
    return refs


def _cid(event: ev.DomainEvent) -> str:
    return event.community_id or ""


_LIFECYCLE_EVENTS: Final = (ev.LifecycleEvaluated, ev.StageSuggested, ev.DeclineEntered, ev.DeclineLeft)


def _lifecycle(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert current is None or isinstance(current, Lifecycle)
    return evolve_lifecycle(current, e)


#: What each event type touches, in the order they are applied: the first entry whose class
#: the event is an instance of applies (as a match statement would; looked up once per type).
_TOUCHES: Final[tuple[tuple[type[Any] | tuple[type[Any], ...], Callable[[Any], list[Ref]]], ...]] = (
    (
        (ev.OrganisationCreated, ev.AdministratorAppointed, ev.AdministratorWithdrawn),
        lambda e: [Ref("organisation", e.organisation_id)],
    ),
    (
        (ev.CommunityShared, ev.CommunityUnshared),
        lambda e: [Ref("community", _cid(e)), Ref("organisation", e.organisation_id)],
    ),
    (
        ev.CommunityCreated,
        lambda e: [Ref("community", _cid(e)), Ref("charter_version", charter_version_id(_cid(e), 0))],
    ),
    (
        ev.CharterAmended,
        lambda e: [Ref("community", _cid(e)), Ref("charter_version", charter_version_id(_cid(e), e.version))],
    ),
    ((ev.CommunityUpdated, ev.CommunityStageChanged), lambda e: [Ref("community", _cid(e))]),
    (ev.PolicyReactionFailed, lambda e: [Ref("policy_failure", policy_failure_id(e.policy, e.event.id))]),
    (ev.PolicyReactionRecovered, lambda e: [Ref("policy_failure", policy_failure_id(e.policy, e.failed_event_id))]),
    (ev.PreferencesChanged, lambda e: [Ref("preferences", e.person_id)]),
    (ev.ReactionsDeferred, lambda e: []),
    (ev.LogFollowed, lambda e: [Ref("log_follower", e.follower)]),
    (ev.MembershipEvent, lambda e: [Ref("membership", membership_id(_cid(e), e.person_id))]),
    (ev.QuestionAsked, lambda e: [Ref("question", e.question_id)]),
    (ev.AnswerPosted, lambda e: [Ref("answer", e.answer_id), Ref("question", e.question_id)]),
    (ev.AnswerAccepted, lambda e: [Ref("question", e.question_id)]),
    (ev.CommentPosted, lambda e: [Ref("comment", e.comment_id)]),
    (ev.ContributionEndorsed, lambda e: [Ref("endorsement", e.endorsement_id)]),
    (ev.ResourceShared, lambda e: [Ref("resource", e.resource_id)]),
    (ev.ExperienceRecorded, lambda e: [Ref("experience", e.experience_id)]),
    ((ev.MeetingScheduled, ev.AttendanceRecorded), lambda e: [Ref("meeting", e.meeting_id)]),
    (ev.ContributionWithdrawn, _withdrawal_refs),
    # -- answer guarantee --
    ((ev.QuestionRouted, ev.QuestionEscalated, ev.WatchClosed), lambda e: [Ref("answer_watch", e.question_id)]),
    # -- recognition and participation --
    (
        (ev.PointsAwarded, ev.PointsReversed),
        lambda e: [Ref("points_entry", e.entry_id), Ref("points_balance", points_balance_id(_cid(e), e.person_id))],
    ),
    (
        (ev.ParticipationLevelChanged, ev.ParticipationLevelPinned, ev.ParticipationReviewed),
        lambda e: [Ref("participation", participation_id(_cid(e), e.person_id))],
    ),
    (ev.BadgeAwarded, lambda e: [Ref("badge_award", badge_award_id(_cid(e), e.person_id, e.badge))]),
    (ev.BadgeProgressed, lambda e: [Ref("badge_progress", badge_progress_id(_cid(e), e.person_id, e.badge))]),
    # -- personal data --
    (ev.PersonalDataErased, lambda e: []),
    # -- editing and moderation --
    (
        ev.ContributionRevised,
        lambda e: [
            _contribution_ref(e.contribution_kind, e.contribution_id),
            Ref("revision", revision_id(e.contribution_kind, e.contribution_id, e.revision)),
        ],
    ),
    ((ev.AnswerUnaccepted, ev.ThreadStatusChanged), lambda e: [Ref("question", e.question_id)]),
    (ev.ContributionFlagged, lambda e: [Ref("flag", e.flag_id)]),
    ((ev.ContributionHidden, ev.ContributionUnhidden), lambda e: _moderation_refs(e)),
    (ev.FlagsDismissed, lambda e: [Ref("flag", f) for f in e.flag_ids]),
    # -- value and launch --
    ((ev.ValueStoryTold, ev.ValueStoryWithdrawn, ev.ValueStoryRevised), lambda e: [Ref("value_story", e.story_id)]),
    (
        (ev.CommunityProposed, ev.CandidateRevised, ev.CandidateLaunched, ev.CandidateDropped),
        lambda e: [Ref("community_candidate", e.candidate_id)],
    ),
    # -- lifecycle stage and decline --
    (_LIFECYCLE_EVENTS, lambda e: [Ref("lifecycle", lifecycle_id(_cid(e)))]),
)
_TOUCHES_BY_TYPE: dict[type[Any], Callable[[Any], list[Ref]]] = {}


def touched(event: ev.DomainEvent) -> list[Ref]:
    """The aggregates an event creates or changes, in the order they are applied."""
    refs_of = _TOUCHES_BY_TYPE.get(type(event))
    if refs_of is None:
        refs_of = next((f for classes, f in _TOUCHES if isinstance(event, classes)), None)
        if refs_of is None:
            raise TypeError(f"no transition for event type {type(event).__name__}")
        _TOUCHES_BY_TYPE[type(event)] = refs_of
    return refs_of(event)


def apply(ref: Ref, current: Aggregate | None, event: ev.DomainEvent) -> Aggregate:
    """The state of `ref` after `event`, given its state before (None when it is new)."""
    rule = _RULES.get((ref.kind, type(event)))
    if rule is None:
        raise TypeError(f"event {event.TYPE!r} does not apply to a {ref.kind}")
    handler, creates, reenters = rule
    if current is None and not creates:
        raise ConflictError(f"{ref.kind} {ref.id!r} must exist before {event.TYPE}", kind=ref.kind, id=ref.id)
    if current is not None and creates and not reenters:
        raise ConflictError(f"{ref.kind} {ref.id!r} exists already", kind=ref.kind, id=ref.id)
    return handler(ref, current, event)


def replay(events: Iterable[ev.DomainEvent]) -> dict[Ref, Aggregate]:
    """Rebuild every aggregate from a history, in order."""
    state: dict[Ref, Aggregate] = {}
    for event in events:
        for ref in touched(event):
            state[ref] = apply(ref, state.get(ref), event)
    return state


# -- transitions ------------------------------------------------------------------------------

Transition = Callable[[Ref, Aggregate | None, ev.DomainEvent], Aggregate]


def _organisation_created(ref: Ref, _: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.OrganisationCreated)
    return build(Organisation, id=e.organisation_id, name=e.name, created_at=e.occurred_at, created_by=e.actor_id)


def _administrator_appointed(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.AdministratorAppointed) and isinstance(current, Organisation)
    return evolve(current, administrators=current.administrators | {e.person_id})


def _administrator_withdrawn(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.AdministratorWithdrawn) and isinstance(current, Organisation)
    if e.person_id not in current.administrators:
        raise ConflictError(
            f"{e.person_id!r} is not an administrator of {current.id!r}", kind="organisation", id=current.id
        )
    return evolve(current, administrators=current.administrators - {e.person_id})


def _refuse_own_organisation(community: Community, e: ev.CommunityShared | ev.CommunityUnshared) -> None:
    if e.organisation_id == community.organisation_id:
        raise ConflictError(
            f"{community.id!r} belongs to {community.organisation_id!r}: it is shared with other organisations only",
            kind="community",
            id=community.id,
        )


def _community_shared(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.CommunityShared) and isinstance(current, Community)
    _refuse_own_organisation(current, e)
    return evolve(current, shared_with=current.shared_with | {e.organisation_id})


def _community_unshared(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.CommunityUnshared) and isinstance(current, Community)
    _refuse_own_organisation(current, e)
    return evolve(current, shared_with=current.shared_with - {e.organisation_id})


def _organisation_shared(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.CommunityShared) and isinstance(current, Organisation) and e.community_id
    return evolve(current, shared_communities=current.shared_communities | {e.community_id})


def _organisation_unshared(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.CommunityUnshared) and isinstance(current, Organisation) and e.community_id
    return evolve(current, shared_communities=current.shared_communities - {e.community_id})


def _community_created(ref: Ref, _: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.CommunityCreated) and e.community_id
    return build(
        Community,
        id=e.community_id,
        organisation_id=e.organisation_id,
        name=e.name,
        kind=e.kind,
        visibility=e.visibility,
        stage=e.stage,
        tags=e.tags,
        charter=e.charter,
        charter_version=0,
        created_at=e.occurred_at,
        created_by=e.actor_id,
    )


def _first_charter(ref: Ref, _: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.CommunityCreated) and e.community_id
    return build(
        CharterVersion,
        community_id=e.community_id,
        number=0,
        charter=e.charter,
        amended_by=e.actor_id,
        amended_at=e.occurred_at,
        reason="community created",
    )


def _charter_amended(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.CharterAmended) and isinstance(current, Community)
    if e.version != current.charter_version + 1:
        raise ConflictError(
            f"charter of {current.id!r} is at version {current.charter_version}, cannot record version {e.version}",
            kind="community",
            id=current.id,
        )
    return evolve(current, charter=e.charter, charter_version=e.version)


def _charter_version(ref: Ref, _: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.CharterAmended) and e.community_id
    return build(
        CharterVersion,
        community_id=e.community_id,
        number=e.version,
        charter=e.charter,
        amended_by=e.actor_id,
        amended_at=e.occurred_at,
        reason=e.reason,
    )


def _community_updated(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.CommunityUpdated) and isinstance(current, Community)
    return evolve(current, name=e.name, visibility=e.visibility, tags=e.tags)


def _stage_changed(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.CommunityStageChanged) and isinstance(current, Community)
    return evolve(current, stage=e.stage)


def _membership(status: MembershipStatus) -> Transition:
    def transition(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
        assert isinstance(e, ev.MembershipEvent) and e.community_id
        assert current is None or isinstance(current, Membership)
        was_active = current is not None and current.active
        if current is None:
            current = build(
                Membership, community_id=e.community_id, person_id=e.person_id, status=status, since=e.occurred_at
            )
        roles = current.roles
        expertise = current.expertise
        joined_at = current.joined_at
        if status is MembershipStatus.ACTIVE:
            if not was_active:
                roles, expertise, joined_at = frozenset({Role.MEMBER}), frozenset(), e.occurred_at
        else:
            # Roles are held only by active members: leaving drops them all at once.
            roles, expertise = frozenset(), frozenset()
        invited_by = e.actor_id if isinstance(e, ev.MemberInvited) else current.invited_by
        # An invitation's offer stands until the person joins (the join records the roles),
        # leaves or is otherwise moved on.
        offered = e.roles if isinstance(e, ev.MemberInvited) else frozenset[Role]()
        via = current.via
        if isinstance(e, ev.MemberJoined):
            via = e.via
        elif isinstance(e, ev.MembershipApproved):
            via = "approval"
        return evolve(
            current,
            status=status,
            since=e.occurred_at,
            roles=roles,
            expertise=expertise,
            joined_at=joined_at,
            invited_by=invited_by,
            offered_roles=offered,
            via=via,
        )

    return transition


def _role_assigned(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.RoleAssigned) and isinstance(current, Membership)
    if not current.active:
        raise ConflictError(f"{e.person_id!r} is not an active member: roles are for active members")
    expertise = current.expertise | e.tags if e.role is Role.EXPERT else current.expertise
    return evolve(current, roles=current.roles | {e.role}, expertise=expertise)


def _role_withdrawn(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.RoleWithdrawn) and isinstance(current, Membership)
    expertise = frozenset[str]() if e.role is Role.EXPERT else current.expertise
    return evolve(current, roles=current.roles - {e.role}, expertise=expertise)


def _question_asked(ref: Ref, _: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.QuestionAsked) and e.community_id
    return build(
        Question,
        id=e.question_id,
        community_id=e.community_id,
        author_id=e.actor_id,
        title=e.title,
        body=e.body,
        tags=e.tags,
        created_at=e.occurred_at,
    )


def _answer_posted(ref: Ref, _: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.AnswerPosted) and e.community_id
    return build(
        Answer,
        id=e.answer_id,
        community_id=e.community_id,
        question_id=e.question_id,
        author_id=e.actor_id,
        body=e.body,
        created_at=e.occurred_at,
    )


def _question_answered(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.AnswerPosted) and isinstance(current, Question)
    return evolve(
        current,
        answer_count=current.answer_count + 1,
        first_answered_at=current.first_answered_at or e.occurred_at,
    )


def _answer_accepted(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.AnswerAccepted) and isinstance(current, Question)
    return evolve(current, accepted_answer_id=e.answer_id)


def _comment_posted(ref: Ref, _: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.CommentPosted) and e.community_id
    return build(
        Comment,
        id=e.comment_id,
        community_id=e.community_id,
        target_id=e.target_id,
        target_kind=e.target_kind,
        author_id=e.actor_id,
        body=e.body,
        created_at=e.occurred_at,
    )


def _endorsed(ref: Ref, _: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.ContributionEndorsed) and e.community_id
    return build(
        Endorsement,
        id=e.endorsement_id,
        community_id=e.community_id,
        target_id=e.target_id,
        target_kind=e.target_kind,
        target_author_id=e.target_author_id,
        author_id=e.actor_id,
        created_at=e.occurred_at,
    )


def _resource_shared(ref: Ref, _: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.ResourceShared) and e.community_id
    return build(
        Resource,
        id=e.resource_id,
        community_id=e.community_id,
        author_id=e.actor_id,
        title=e.title,
        kind=e.kind,
        location=e.location,
        description=e.description,
        tags=e.tags,
        created_at=e.occurred_at,
    )


def _experience_recorded(ref: Ref, _: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.ExperienceRecorded) and e.community_id
    return build(
        Experience,
        id=e.experience_id,
        community_id=e.community_id,
        author_id=e.actor_id,
        title=e.title,
        body=e.body,
        kind=e.kind,
        tags=e.tags,
        created_at=e.occurred_at,
    )


def _meeting_scheduled(ref: Ref, _: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.MeetingScheduled) and e.community_id
    return build(
        Meeting,
        id=e.meeting_id,
        community_id=e.community_id,
        author_id=e.actor_id,
        title=e.title,
        description=e.description,
        starts_at=e.starts_at,
        ends_at=e.ends_at,
        location=e.location,
        tags=e.tags,
        created_at=e.occurred_at,
    )


def _attendance(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.AttendanceRecorded) and isinstance(current, Meeting)
    return evolve(current, attendees=e.attendees)


def _withdrawn(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.ContributionWithdrawn)
    if isinstance(current, Question) and ref.kind == "question" and ref.id != e.contribution_id:
        # An answer to this question was withdrawn.
        accepted = None if current.accepted_answer_id == e.contribution_id else current.accepted_answer_id
        return evolve(current, answer_count=max(0, current.answer_count - 1), accepted_answer_id=accepted)
    assert isinstance(current, (Question, Answer, Comment, Resource, Experience, Meeting))
    return evolve(current, withdrawn=True)


def _preferences_changed(ref: Ref, _: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.PreferencesChanged)
    return build(
        Preferences,
        person_id=e.person_id,
        updated_at=e.occurred_at,
        channel=e.channel,
        frequency=e.frequency,
        quiet_hours=e.quiet_hours,
        unsubscribed=e.unsubscribed,
    )


def _policy_failed(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.PolicyReactionFailed)
    return build(
        PolicyFailure,
        policy=e.policy,
        event=e.event,
        error=e.error,
        attempts=e.attempt,
        due_at=e.retry_at,
        failed_at=e.occurred_at,
    )


def _log_followed(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.LogFollowed)
    if isinstance(current, FollowerPosition) and current.through > e.through:
        raise ConflictError(f"the follower {e.follower!r} cannot go back from {current.through} to {e.through}")
    return build(FollowerPosition, follower=e.follower, through=e.through, updated_at=e.occurred_at)


def _policy_recovered(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.PolicyReactionRecovered) and isinstance(current, PolicyFailure)
    return evolve(current, due_at=None, recovered_at=e.occurred_at)


# -- answer guarantee -------------------------------------------------------------------------


def _watch_started(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.QuestionRouted) and e.community_id
    if isinstance(current, Watch) and current.closed_because is CloseReason.MODERATED:
        # The thread reopened, or the question shown again: the promise starts over.
        return evolve(
            current,
            experts=e.experts,
            route=e.route,
            due_at=e.due_at,
            steps_taken=0,
            closed_at=None,
            closed_because=None,
        )
    if current is not None:
        # Routed again (the question was retagged): new experts, the ladder where it stood.
        watch = _open_watch(current, e)
        return evolve(watch, experts=e.experts, route=e.route, due_at=e.due_at)
    return build(
        Watch,
        question_id=e.question_id,
        community_id=e.community_id,
        asker_id=e.asker_id,
        asked_at=e.asked_at,
        experts=e.experts,
        route=e.route,
        due_at=e.due_at,
    )


def _open_watch(current: Aggregate | None, e: ev.DomainEvent) -> Watch:
    assert isinstance(current, Watch)
    if not current.open:
        raise ConflictError(
            f"the watch on question {current.question_id!r} is closed ({current.closed_because}): "
            f"cannot record {e.TYPE}",
            kind="answer_watch",
            id=current.question_id,
        )
    return current


def _watch_escalated(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.QuestionEscalated)
    watch = _open_watch(current, e)
    if e.step != watch.steps_taken + 1:
        raise ConflictError(
            f"question {watch.question_id!r} took {watch.steps_taken} step(s): the next one is "
            f"{watch.steps_taken + 1}, not {e.step}",
            kind="answer_watch",
            id=watch.question_id,
        )
    return evolve(watch, steps_taken=e.step, due_at=e.next_due_at, last_escalated_at=e.occurred_at)


def _watch_closed(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.WatchClosed)
    watch = _open_watch(current, e)
    return evolve(watch, due_at=None, closed_at=e.occurred_at, closed_because=e.reason)


# -- recognition and participation ------------------------------------------------------------


def _new_entry(ref: Ref, current: Aggregate | None) -> None:
    if current is not None:
        raise ConflictError(
            f"ledger entry {ref.id!r} exists already: entries are never rewritten", kind=ref.kind, id=ref.id
        )


def _points_awarded(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.PointsAwarded) and e.community_id
    _new_entry(ref, current)
    return build(
        PointsEntry,
        id=e.entry_id,
        community_id=e.community_id,
        person_id=e.person_id,
        points=e.points,
        reason=e.reason,
        subject_id=e.subject_id,
        cause_event_id=e.cause_event_id,
        created_at=e.occurred_at,
        requested=e.requested,
        capped=e.capped,
    )


def _points_reversed(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.PointsReversed) and e.community_id
    _new_entry(ref, current)
    return build(
        PointsEntry,
        id=e.entry_id,
        community_id=e.community_id,
        person_id=e.person_id,
        points=-e.points,
        reason=e.awarded_for,
        subject_id=e.subject_id,
        cause_event_id=e.cause_event_id,
        created_at=e.occurred_at,
        reverses=e.reversed_entry_id,
        reversal_reason=e.reason,
    )


def _balance_changed(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    # The balance moves with each entry, in the same event: it is their sum by construction.
    assert isinstance(e, (ev.PointsAwarded, ev.PointsReversed)) and e.community_id
    assert current is None or isinstance(current, PointsBalance)
    if current is None:
        current = build(
            PointsBalance,
            community_id=e.community_id,
            person_id=e.person_id,
            created_at=e.occurred_at,
            updated_at=e.occurred_at,
        )
    if isinstance(e, ev.PointsReversed):
        return evolve(
            current,
            points=current.points - e.points,
            reversed=current.reversed + e.points,
            entries=current.entries + 1,
            updated_at=e.occurred_at,
        )
    day = day_of(e.occurred_at)
    capped = current.capped_on(day) + (e.points if e.capped else 0)
    return evolve(
        current,
        points=current.points + e.points,
        awarded=current.awarded + e.points,
        entries=current.entries + 1,
        updated_at=e.occurred_at,
        capped_day=day if e.capped or current.capped_day == day else current.capped_day,
        capped_points=capped if e.capped or current.capped_day == day else current.capped_points,
    )


def _level_changed(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.ParticipationLevelChanged) and e.community_id
    assert current is None or isinstance(current, Participation)
    if current is not None and current.pinned:
        raise ConflictError(
            f"the level of {e.person_id!r} in {e.community_id!r} is pinned: unpin it before it changes",
            kind="participation",
            id=current.id,
        )
    if current is None:
        current = build(
            Participation,
            community_id=e.community_id,
            person_id=e.person_id,
            level=e.level,
            since=e.occurred_at,
            created_at=e.occurred_at,
        )
    return evolve(
        current, level=e.level, since=e.occurred_at, score=e.score, evaluated_at=e.occurred_at, due_at=e.review_at
    )


def _level_pinned(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.ParticipationLevelPinned) and e.community_id
    assert current is None or isinstance(current, Participation)
    if current is None:
        current = build(
            Participation,
            community_id=e.community_id,
            person_id=e.person_id,
            level=e.previous,
            since=e.occurred_at,
            created_at=e.occurred_at,
        )
    if e.level is None:
        return evolve(current, pinned=False, pinned_by=None, due_at=e.review_at)
    since = current.since if e.level is current.level else e.occurred_at
    return evolve(current, level=e.level, since=since, pinned=True, pinned_by=e.actor_id, due_at=None)


def _participation_reviewed(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.ParticipationReviewed) and isinstance(current, Participation)
    return evolve(current, score=e.score, evaluated_at=e.occurred_at, due_at=e.review_at)


def _badge_awarded(ref: Ref, _: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.BadgeAwarded) and e.community_id
    return build(
        BadgeAward,
        community_id=e.community_id,
        person_id=e.person_id,
        badge=e.badge,
        created_at=e.occurred_at,
        cause_event_id=e.cause_event_id,
    )


def _badge_progressed(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.BadgeProgressed) and e.community_id
    progress = dict(current.progress) if isinstance(current, BadgeProgress) else {}
    held = progress.get(e.key, ())
    if e.withdrawn:
        kept = tuple(item for item in held if item not in e.items)
    else:
        kept = held + tuple(item for item in dict.fromkeys(e.items) if item not in held)
    if kept:
        progress[e.key] = kept
    else:
        progress.pop(e.key, None)
    return build(
        BadgeProgress,
        community_id=e.community_id,
        person_id=e.person_id,
        badge=e.badge,
        progress=progress,
        updated_at=e.occurred_at,
    )


# -- editing and moderation -------------------------------------------------------------------

_REVISABLE_CLASSES: Final = (Question, Answer, Comment, Resource, Experience, Meeting)


def _revised(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.ContributionRevised) and isinstance(current, _REVISABLE_CLASSES)
    if e.revision != current.revision + 1:
        raise ConflictError(
            f"{ref.kind} {ref.id!r} is at revision {current.revision}: cannot record revision {e.revision}",
            kind=ref.kind,
            id=ref.id,
        )
    values = {name: getattr(e.changed, name) for name in e.changed.names()}
    fields = attrs.fields_dict(type(current))
    unknown = sorted(set(values) - fields.keys())
    if unknown:
        raise ConflictError(f"a {ref.kind} has no field {', '.join(unknown)}", kind=ref.kind, id=ref.id)
    # The trusted path builds without validators, and the event's fields hold for every kind
    # (a meeting's location may be empty, a resource's may not): the revised state is checked
    # here by the kind's own validators, every field's, so that a rule across fields (a
    # meeting's end after its start) holds whichever of them changed.
    revised = SimpleNamespace(**{**attrs.asdict(current, recurse=False), **values})
    for name, field in fields.items():
        if field.validator is None:
            continue
        try:
            field.validator(revised, field, getattr(revised, name))
        except InvalidInputError as exc:
            raise ConflictError(
                f"{ref.kind} {ref.id!r} cannot take revision {e.revision}: {exc}", kind=ref.kind, id=ref.id
            ) from None
    return evolve(current, revision=e.revision, **values)


def _revision(ref: Ref, _: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.ContributionRevised) and e.community_id
    return build(
        Revision,
        community_id=e.community_id,
        contribution_id=e.contribution_id,
        contribution_kind=e.contribution_kind,
        number=e.revision,
        revised_by=e.actor_id,
        revised_at=e.occurred_at,
        changed=e.changed,
        previous=e.previous,
        reason=e.reason,
    )


def _unaccepted(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.AnswerUnaccepted) and isinstance(current, Question)
    if current.accepted_answer_id != e.answer_id:
        raise ConflictError(f"answer {e.answer_id!r} is not the accepted one", kind="question", id=current.id)
    return evolve(current, accepted_answer_id=None)


def _thread_status(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.ThreadStatusChanged) and isinstance(current, Question)
    return evolve(current, status=e.status)


def _flagged(ref: Ref, _: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.ContributionFlagged) and e.community_id
    return build(
        Flag,
        id=e.flag_id,
        community_id=e.community_id,
        contribution_id=e.contribution_id,
        contribution_kind=e.contribution_kind,
        author_id=e.actor_id,
        target_author_id=e.target_author_id,
        reason=e.reason,
        created_at=e.occurred_at,
    )


def _reviewed(status: FlagStatus) -> Transition:
    def transition(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
        assert isinstance(e, (ev.ContributionHidden, ev.FlagsDismissed)) and isinstance(current, Flag)
        if not current.open or current.contribution_id != e.contribution_id:
            raise ConflictError(f"flag {current.id!r} is not open on {e.contribution_id!r}", kind="flag", id=current.id)
        note = e.reason if isinstance(e, ev.ContributionHidden) else e.note
        return evolve(current, status=status, reviewed_by=e.actor_id, reviewed_at=e.occurred_at, note=note)

    return transition


def _hidden(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, (ev.ContributionHidden, ev.ContributionUnhidden))
    if isinstance(current, Question) and ref.kind == "question" and ref.id != e.contribution_id:
        # An answer to this question was hidden, or shown again.
        delta = -1 if isinstance(e, ev.ContributionHidden) else 1
        return evolve(current, answer_count=max(0, current.answer_count + delta))
    assert isinstance(current, _REVISABLE_CLASSES)
    if isinstance(e, ev.ContributionHidden):
        if current.hidden_reason is not None:
            raise ConflictError(f"{ref.kind} {ref.id!r} is hidden already", kind=ref.kind, id=ref.id)
        return evolve(current, hidden_reason=e.reason)
    if current.hidden_reason is None:
        raise ConflictError(f"{ref.kind} {ref.id!r} is not hidden", kind=ref.kind, id=ref.id)
    return evolve(current, hidden_reason=None)


# -- value and launch -------------------------------------------------------------------------


def _story_told(ref: Ref, _: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.ValueStoryTold) and e.community_id
    return build(
        ValueStory,
        id=e.story_id,
        community_id=e.community_id,
        author_id=e.actor_id,
        contributions=e.contributions,
        result=e.result,
        created_at=e.occurred_at,
    )


def _story_withdrawn(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.ValueStoryWithdrawn) and isinstance(current, ValueStory)
    if current.withdrawn:
        raise ConflictError(f"value story {current.id!r} was withdrawn already", kind="value_story", id=current.id)
    return evolve(current, withdrawn=True)


def _story_revised(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.ValueStoryRevised) and isinstance(current, ValueStory)
    if current.withdrawn:
        raise ConflictError(f"value story {current.id!r} was withdrawn", kind="value_story", id=current.id)
    return evolve(current, result=e.result)


def _candidate_proposed(ref: Ref, _: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.CommunityProposed)
    return build(
        CommunityCandidate,
        id=e.candidate_id,
        organisation_id=e.organisation_id,
        name=e.name,
        vocation=e.vocation,
        kind=e.kind,
        tags=e.tags,
        facts=e.facts,
        proposed_by=e.actor_id,
        created_at=e.occurred_at,
        updated_at=e.occurred_at,
    )


def _open_candidate(current: Aggregate | None, e: ev.DomainEvent) -> CommunityCandidate:
    assert isinstance(current, CommunityCandidate)
    if current.status is not CandidateStatus.PROPOSED:
        raise ConflictError(
            f"the candidate {current.id!r} is {current.status.value}: cannot record {e.TYPE}",
            kind="community_candidate",
            id=current.id,
        )
    return current


def _candidate_revised(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.CandidateRevised)
    candidate = _open_candidate(current, e)
    return evolve(candidate, name=e.name, vocation=e.vocation, tags=e.tags, facts=e.facts, updated_at=e.occurred_at)


def _candidate_launched(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.CandidateLaunched) and e.community_id
    candidate = _open_candidate(current, e)
    return evolve(candidate, status=CandidateStatus.LAUNCHED, launched_as=e.community_id, updated_at=e.occurred_at)


def _candidate_dropped(ref: Ref, current: Aggregate | None, e: ev.DomainEvent) -> Aggregate:
    assert isinstance(e, ev.CandidateDropped)
    candidate = _open_candidate(current, e)
    return evolve(candidate, status=CandidateStatus.DROPPED, reason=e.reason, updated_at=e.occurred_at)


_TRANSITIONS: Final[dict[tuple[str, type[ev.DomainEvent]], Transition]] = {
    ("organisation", ev.OrganisationCreated): _organisation_created,
    ("organisation", ev.AdministratorAppointed): _administrator_appointed,
    ("organisation", ev.AdministratorWithdrawn): _administrator_withdrawn,
    ("community", ev.CommunityShared): _community_shared,
    ("organisation", ev.CommunityShared): _organisation_shared,
    ("community", ev.CommunityUnshared): _community_unshared,
    ("organisation", ev.CommunityUnshared): _organisation_unshared,
    ("community", ev.CommunityCreated): _community_created,
    ("charter_version", ev.CommunityCreated): _first_charter,
    ("community", ev.CharterAmended): _charter_amended,
    ("charter_version", ev.CharterAmended): _charter_version,
    ("community", ev.CommunityUpdated): _community_updated,
    ("community", ev.CommunityStageChanged): _stage_changed,
    ("membership", ev.MemberInvited): _membership(MembershipStatus.INVITED),
    ("membership", ev.MembershipRequested): _membership(MembershipStatus.PENDING),
    ("membership", ev.MembershipApproved): _membership(MembershipStatus.ACTIVE),
    ("membership", ev.MembershipDeclined): _membership(MembershipStatus.DECLINED),
    ("membership", ev.MemberJoined): _membership(MembershipStatus.ACTIVE),
    ("membership", ev.MemberLeft): _membership(MembershipStatus.LEFT),
    ("membership", ev.MemberRemoved): _membership(MembershipStatus.REMOVED),
    ("membership", ev.RoleAssigned): _role_assigned,
    ("membership", ev.RoleWithdrawn): _role_withdrawn,
    ("question", ev.QuestionAsked): _question_asked,
    ("answer", ev.AnswerPosted): _answer_posted,
    ("question", ev.AnswerPosted): _question_answered,
    ("question", ev.AnswerAccepted): _answer_accepted,
    ("comment", ev.CommentPosted): _comment_posted,
    ("endorsement", ev.ContributionEndorsed): _endorsed,
    ("resource", ev.ResourceShared): _resource_shared,
    ("experience", ev.ExperienceRecorded): _experience_recorded,
    ("meeting", ev.MeetingScheduled): _meeting_scheduled,
    ("meeting", ev.AttendanceRecorded): _attendance,
    ("preferences", ev.PreferencesChanged): _preferences_changed,
    ("policy_failure", ev.PolicyReactionFailed): _policy_failed,
    ("policy_failure", ev.PolicyReactionRecovered): _policy_recovered,
    ("log_follower", ev.LogFollowed): _log_followed,
    # answer guarantee
    ("answer_watch", ev.QuestionRouted): _watch_started,
    ("answer_watch", ev.QuestionEscalated): _watch_escalated,
    ("answer_watch", ev.WatchClosed): _watch_closed,
    # recognition and participation
    ("points_entry", ev.PointsAwarded): _points_awarded,
    ("points_balance", ev.PointsAwarded): _balance_changed,
    ("points_entry", ev.PointsReversed): _points_reversed,
    ("points_balance", ev.PointsReversed): _balance_changed,
    ("participation", ev.ParticipationLevelChanged): _level_changed,
    ("participation", ev.ParticipationLevelPinned): _level_pinned,
    ("participation", ev.ParticipationReviewed): _participation_reviewed,
    ("badge_award", ev.BadgeAwarded): _badge_awarded,
    ("badge_progress", ev.BadgeProgressed): _badge_progressed,
    # value and launch
    ("value_story", ev.ValueStoryTold): _story_told,
    ("value_story", ev.ValueStoryWithdrawn): _story_withdrawn,
    ("value_story", ev.ValueStoryRevised): _story_revised,
    ("community_candidate", ev.CommunityProposed): _candidate_proposed,
    ("community_candidate", ev.CandidateRevised): _candidate_revised,
    ("community_candidate", ev.CandidateLaunched): _candidate_launched,
    ("community_candidate", ev.CandidateDropped): _candidate_dropped,
    # lifecycle stage and decline
    **{("lifecycle", cls): _lifecycle for cls in _LIFECYCLE_EVENTS},
    **{
        (kind.value, ev.ContributionWithdrawn): _withdrawn
        for kind in ContributionKind
        if kind is not ContributionKind.ENDORSEMENT
    },
    # editing and moderation
    **{
        (kind.value, event_type): handler
        for kind in ContributionKind
        if kind is not ContributionKind.ENDORSEMENT
        for event_type, handler in (
            (ev.ContributionRevised, _revised),
            (ev.ContributionHidden, _hidden),
            (ev.ContributionUnhidden, _hidden),
        )
    },
    ("revision", ev.ContributionRevised): _revision,
    ("question", ev.AnswerUnaccepted): _unaccepted,
    ("question", ev.ThreadStatusChanged): _thread_status,
    ("flag", ev.ContributionFlagged): _flagged,
    ("flag", ev.ContributionHidden): _reviewed(FlagStatus.UPHELD),
    ("flag", ev.FlagsDismissed): _reviewed(FlagStatus.DISMISSED),
}

#: Transitions that may create their aggregate.
_CREATORS: Final = frozenset(
    {
        ("organisation", ev.OrganisationCreated),
        ("community", ev.CommunityCreated),
        ("charter_version", ev.CommunityCreated),
        ("charter_version", ev.CharterAmended),
        ("membership", ev.MemberInvited),
        ("membership", ev.MembershipRequested),
        ("membership", ev.MemberJoined),
        ("question", ev.QuestionAsked),
        ("answer", ev.AnswerPosted),
        ("comment", ev.CommentPosted),
        ("endorsement", ev.ContributionEndorsed),
        ("resource", ev.ResourceShared),
        ("experience", ev.ExperienceRecorded),
        ("meeting", ev.MeetingScheduled),
        ("preferences", ev.PreferencesChanged),
        ("policy_failure", ev.PolicyReactionFailed),
        ("log_follower", ev.LogFollowed),
        # answer guarantee
        ("answer_watch", ev.QuestionRouted),
        # recognition and participation
        ("points_entry", ev.PointsAwarded),
        ("points_balance", ev.PointsAwarded),
        ("points_entry", ev.PointsReversed),
        ("points_balance", ev.PointsReversed),
        ("participation", ev.ParticipationLevelChanged),
        ("participation", ev.ParticipationLevelPinned),
        ("badge_award", ev.BadgeAwarded),
        ("badge_progress", ev.BadgeProgressed),
        # editing and moderation
        ("revision", ev.ContributionRevised),
        ("flag", ev.ContributionFlagged),
        # value and launch
        ("value_story", ev.ValueStoryTold),
        ("community_candidate", ev.CommunityProposed),
        # lifecycle stage and decline
        *(("lifecycle", cls) for cls in _LIFECYCLE_EVENTS),
    }
)
#: Creating events that may also meet an existing aggregate (a person who left comes back).
_REENTRANT: Final[frozenset[type[ev.DomainEvent]]] = frozenset(
    {
        ev.MemberInvited,
        ev.MembershipRequested,
        ev.MemberJoined,
        ev.PreferencesChanged,
        ev.PolicyReactionFailed,
        ev.LogFollowed,
        # recognition and participation: the balance and the level record meet them again and
        # again; a ledger entry never (its transition refuses an existing one).
        ev.PointsAwarded,
        ev.PointsReversed,
        ev.ParticipationLevelChanged,
        ev.ParticipationLevelPinned,
        ev.BadgeProgressed,
        # a retagged question is routed again, on its open watch
        ev.QuestionRouted,
        # lifecycle stage and decline: one record per community, met again every month
        *_LIFECYCLE_EVENTS,
    }
)

#: Each transition with whether it creates the aggregate and may meet it existing already
#: (one lookup per applied event instead of three).
_RULES: Final[dict[tuple[str, type[ev.DomainEvent]], tuple[Transition, bool, bool]]] = {
    key: (handler, key in _CREATORS, key[1] in _REENTRANT) for key, handler in _TRANSITIONS.items()
}
