"""Hypothesis strategies for coplib's values: people, charters, communities, memberships,
contributions and every domain event, all valid by the domain's own validators.

For plugin authors and host applications testing code that receives coplib values. It needs
hypothesis, a test dependency: only test code imports this module, never coplib itself.

    from coplib.testing import strategies as cst

    @given(cst.events())
    def test_my_subscriber_accepts_every_event(event): ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from hypothesis import strategies as st

from coplib.domain import events as ev
from coplib.domain import validation as v
from coplib.domain.community import (
    Admission,
    Charter,
    CharterRule,
    CharterVersion,
    CollaborationMode,
    Community,
    CommunityKind,
    LifecycleStage,
    MembershipPolicy,
    Organisation,
    Role,
    Visibility,
)
from coplib.domain.contributions import (
    Answer,
    Comment,
    Contribution,
    ContributionKind,
    Endorsement,
    Experience,
    ExperienceKind,
    Meeting,
    Question,
    Resource,
    ResourceKind,
    ThreadStatus,
)
from coplib.domain.errors import CoplibError
from coplib.domain.guarantee import AUDIENCES, CloseReason, Route
from coplib.domain.history import Aggregate
from coplib.domain.membership import Membership, MembershipStatus
from coplib.domain.moderation import REVISABLE, RevisedFields
from coplib.domain.participation import ParticipationLevel
from coplib.domain.people import LOCALES, AttributeCondition, AttributeRule, Person
from coplib.domain.permissions import is_reserved_person_id
from coplib.domain.preferences import Frequency, Preferences, QuietHours
from coplib.domain.readiness import LaunchFacts
from coplib.domain.value import LINKABLE_KINDS, LinkedContribution
from coplib.notification.messages import CATALOGUE

__all__ = [
    "EVENT_STRATEGIES",
    "aggregates",
    "aggregates_of",
    "answers",
    "attribute_conditions",
    "attribute_rules",
    "bodies",
    "charter_versions",
    "charters",
    "comments",
    "communities",
    "contributions",
    "endorsements",
    "events",
    "experiences",
    "ids",
    "meetings",
    "membership_policies",
    "memberships",
    "names",
    "organisations",
    "people",
    "preferences",
    "questions",
    "quiet_hours",
    "resources",
    "short_texts",
    "tag_sets",
    "tags",
    "texts",
    "titles",
    "utc_datetimes",
]

#: Commentable and endorsable contribution kinds, as the engine accepts them.
COMMENTABLE_KINDS = (
    ContributionKind.QUESTION,
    ContributionKind.ANSWER,
    ContributionKind.RESOURCE,
    ContributionKind.EXPERIENCE,
    ContributionKind.MEETING,
)
ENDORSABLE_KINDS = COMMENTABLE_KINDS[:4]
WITHDRAWABLE_KINDS = tuple(k for k in ContributionKind if k is not ContributionKind.ENDORSEMENT)

# -- scalars ------------------------------------------------------------------------------------

# What the text rule of coplib.domain.validation refuses is never drawn: control characters
# (Cc), lone surrogates (Cs, which UTF-8 cannot write), the bidirectional controls, and line
# breaks (Zl, Zp) but in multi-line texts.
_BIDI = "".join(sorted(v.BIDI_CONTROLS))
_CHARACTERS = st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp"), exclude_characters=_BIDI)
_MULTI_LINE_CHARACTERS = _CHARACTERS | st.sampled_from(["\n", "\t", "\r\n", "\u2028"])
_ID_CHARACTERS = st.characters(
    exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), exclude_characters="\x85\u180e" + _BIDI
)


def texts(*, max_size: int = 200, allow_empty: bool = False, multiline: bool = False) -> st.SearchStrategy[str]:
    """Strings of at most `max_size` characters; not blank unless `allow_empty`; with line
    breaks and tabs if `multiline`."""
    if multiline:
        pieces = st.lists(_MULTI_LINE_CHARACTERS, min_size=0 if allow_empty else 1, max_size=max_size // 2)
        strategy = pieces.map("".join)
    else:
        strategy = st.text(_CHARACTERS, min_size=0 if allow_empty else 1, max_size=max_size)
    return strategy if allow_empty else strategy.filter(lambda s: bool(s.strip()))


def _up_to_the_limit(usual: st.SearchStrategy[str], *at_limit: str) -> st.SearchStrategy[str]:
    """`usual`, and now and then a text exactly at its field's limit: a property that holds for
    short texts only would otherwise pass."""
    return st.one_of(usual, st.sampled_from(at_limit)) if at_limit else usual


def names() -> st.SearchStrategy[str]:
    """Names of people, organisations and communities (at most `NAME_MAX` characters, that
    limit itself included)."""
    return _up_to_the_limit(texts(max_size=min(60, v.NAME_MAX)), "N" * v.NAME_MAX, "é" * v.NAME_MAX)


def titles(*, max_size: int = 80) -> st.SearchStrategy[str]:
    """Titles of contributions, within `TITLE_MAX` characters (the limit itself included
    unless `max_size` asks for less)."""
    usual = texts(max_size=min(max_size, v.TITLE_MAX))
    if max_size < v.TITLE_MAX:
        return usual
    return _up_to_the_limit(usual, "T" * v.TITLE_MAX, "à" * v.TITLE_MAX)


def bodies(*, max_size: int = 300, allow_empty: bool = False) -> st.SearchStrategy[str]:
    """Bodies of contributions. `max_size` is in characters; most examples stay far below
    `BODY_MAX_BYTES` (64 KiB in UTF-8) so that they are quick to make, and some are exactly at
    it (in ASCII, in two-byte characters, in lines), unless `max_size` asks for less."""
    usual = texts(max_size=min(max_size, v.BODY_MAX_BYTES // 4), allow_empty=allow_empty, multiline=True)
    if max_size < v.BODY_MAX_BYTES // 4:
        return usual
    limit = v.BODY_MAX_BYTES
    return _up_to_the_limit(usual, "b" * limit, "é" * (limit // 2), ("ligne\n" * (limit // 6 + 1))[:limit])


def short_texts(*, allow_empty: bool = False) -> st.SearchStrategy[str]:
    """Short texts (reasons, vocations, locations), within `SHORT_TEXT_MAX` characters, the
    limit itself included."""
    return _up_to_the_limit(texts(max_size=120, allow_empty=allow_empty), "r" * v.SHORT_TEXT_MAX)


def ids() -> st.SearchStrategy[str]:
    """Ids: 1 to 40 characters without white space or control characters."""
    return st.text(_ID_CHARACTERS, min_size=1, max_size=40).filter(lambda s: not any(c.isspace() for c in s))


def tags() -> st.SearchStrategy[str]:
    """One well-formed tag: lower-case letters, digits or ``+ # . _ -``, starting with a
    letter or digit."""
    return st.from_regex(r"[a-z0-9][a-z0-9+#._-]{0,24}", fullmatch=True)


def tag_sets(*, max_size: int = v.TAGS_MAX) -> st.SearchStrategy[frozenset[str]]:
    """Sets of at most `max_size` tags (`TAGS_MAX` by default)."""
    return st.frozensets(tags(), max_size=max_size)


def utc_datetimes(
    *, min_value: datetime = datetime(2000, 1, 1), max_value: datetime = datetime(2100, 1, 1)
) -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes in UTC, to the microsecond (bounds are naive, read as UTC)."""
    return st.datetimes(min_value=min_value, max_value=max_value, timezones=st.just(UTC))


def _pair_of_times() -> st.SearchStrategy[tuple[datetime, datetime]]:
    """A start and an end no earlier than the start."""
    return st.tuples(utc_datetimes(), st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3))).map(
        lambda pair: (pair[0], pair[0] + pair[1])
    )


# -- people and rules ---------------------------------------------------------------------------


def people(*, active: bool | None = None) -> st.SearchStrategy[Person]:
    """People as a directory knows them; `active` fixes whether they are still in the
    organisation (both kinds by default)."""
    attribute_values = st.lists(texts(max_size=30, allow_empty=True), max_size=3).map(tuple)
    return st.builds(
        Person,
        id=ids().filter(lambda s: not is_reserved_person_id(s)),  # coplib's own ids are no person's
        display_name=names(),
        email=st.one_of(st.just(""), st.emails()),
        locale=st.sampled_from(LOCALES),
        active=st.booleans() if active is None else st.just(active),
        attributes=st.dictionaries(texts(max_size=20), attribute_values, max_size=4),
        organisations=st.none() | st.frozensets(ids(), max_size=3),
    )


def attribute_conditions() -> st.SearchStrategy[AttributeCondition]:
    return st.builds(
        AttributeCondition,
        attribute=texts(max_size=20),
        values=st.frozensets(texts(max_size=20, allow_empty=True), min_size=1, max_size=4),
    )


def attribute_rules() -> st.SearchStrategy[AttributeRule]:
    """Rules on people's attributes (``job in {welder} and site in {Lyon}``)."""
    return st.builds(AttributeRule, conditions=st.lists(attribute_conditions(), min_size=1, max_size=3).map(tuple))


def membership_policies(*, admissions: Iterable[Admission] = tuple(Admission)) -> st.SearchStrategy[MembershipPolicy]:
    """Membership policies with one of `admissions`; admission by rule comes with its rule."""

    def build(admission: Admission) -> st.SearchStrategy[MembershipPolicy]:
        if admission is Admission.RULE:
            return st.builds(MembershipPolicy, admission=st.just(admission), rule=attribute_rules())
        return st.just(MembershipPolicy(admission=admission))

    return st.sampled_from(tuple(admissions)).flatmap(build)


def charters(*, visibility: Visibility | None = None) -> st.SearchStrategy[Charter]:
    """Charters. Given a `visibility`, the membership policy suits it (a private community
    admits by invitation, approval or rule, never everyone)."""
    admissions = tuple(Admission)
    if visibility is Visibility.PRIVATE:
        admissions = tuple(a for a in Admission if a is not Admission.OPEN)
    return st.builds(
        Charter,
        vocation=short_texts(),
        member_profiles=st.lists(short_texts(), max_size=3).map(tuple),
        roles=st.frozensets(st.sampled_from(Role)).map(lambda roles: roles | {Role.FACILITATOR, Role.MEMBER}),
        resources=st.lists(short_texts(), max_size=3).map(tuple),
        collaboration_modes=st.frozensets(st.sampled_from(CollaborationMode)),
        rules=st.frozensets(st.sampled_from(CharterRule)),
        membership_policy=membership_policies(admissions=admissions),
        common_culture=short_texts(allow_empty=True),
        individual_interest=short_texts(allow_empty=True),
    )


# -- communities and memberships ----------------------------------------------------------------


def organisations() -> st.SearchStrategy[Organisation]:
    return st.builds(
        Organisation,
        id=ids(),
        name=names(),
        created_at=utc_datetimes(),
        created_by=ids(),
        administrators=st.frozensets(ids(), max_size=3),
        shared_communities=st.frozensets(ids(), max_size=3),
    )


def communities() -> st.SearchStrategy[Community]:
    """Communities whose charter suits their visibility, shared with other organisations
    than their own now and then."""

    def build(visibility: Visibility, organisation_id: str) -> st.SearchStrategy[Community]:
        return st.builds(
            Community,
            id=ids(),
            organisation_id=st.just(organisation_id),
            name=names(),
            kind=st.sampled_from(CommunityKind),
            visibility=st.just(visibility),
            stage=st.sampled_from(LifecycleStage),
            tags=tag_sets(),
            charter=charters(visibility=visibility),
            charter_version=st.integers(min_value=0, max_value=10_000),
            created_at=utc_datetimes(),
            created_by=ids(),
            shared_with=st.frozensets(ids().filter(lambda oid: oid != organisation_id), max_size=3),
        )

    return st.tuples(st.sampled_from(Visibility), ids()).flatmap(lambda pair: build(*pair))


def charter_versions() -> st.SearchStrategy[CharterVersion]:
    return st.builds(
        CharterVersion,
        community_id=ids(),
        number=st.integers(min_value=0, max_value=10_000),
        charter=charters(),
        amended_by=ids(),
        amended_at=utc_datetimes(),
        reason=short_texts(),
    )


def memberships(*, statuses: Iterable[MembershipStatus] = tuple(MembershipStatus)) -> st.SearchStrategy[Membership]:
    """Memberships as the domain keeps them: roles (always with ``member``) and expertise
    only while active, expertise only with the expert role."""

    def build(status: MembershipStatus) -> st.SearchStrategy[Membership]:
        base: dict[str, st.SearchStrategy[Any]] = {
            "community_id": ids(),
            "person_id": ids(),
            "status": st.just(status),
            "since": utc_datetimes(),
            "invited_by": st.none() | ids(),
        }
        if status is not MembershipStatus.ACTIVE:
            return st.builds(Membership, joined_at=st.none() | utc_datetimes(), **base)
        roles = st.frozensets(st.sampled_from(Role)).map(lambda r: r | {Role.MEMBER})
        return roles.flatmap(
            lambda held: st.builds(
                Membership,
                roles=st.just(held),
                expertise=tag_sets(max_size=5).filter(bool) if Role.EXPERT in held else st.just(frozenset[str]()),
                joined_at=utc_datetimes(),
                **base,
            )
        )

    return st.sampled_from(tuple(statuses)).flatmap(build)


# -- contributions ------------------------------------------------------------------------------


def questions() -> st.SearchStrategy[Question]:
    """Questions, answered or not; an accepted answer only on an answered question."""

    def build(answer_count: int) -> st.SearchStrategy[Question]:
        answered = answer_count > 0
        return st.builds(
            Question,
            id=ids(),
            community_id=ids(),
            author_id=ids(),
            title=titles(),
            body=bodies(),
            tags=tag_sets(),
            created_at=utc_datetimes(),
            answer_count=st.just(answer_count),
            first_answered_at=utc_datetimes() if answered else st.none(),
            accepted_answer_id=(st.none() | ids()) if answered else st.none(),
            withdrawn=st.booleans(),
        )

    return st.integers(min_value=0, max_value=50).flatmap(build)


def answers() -> st.SearchStrategy[Answer]:
    return st.builds(
        Answer,
        id=ids(),
        community_id=ids(),
        question_id=ids(),
        author_id=ids(),
        body=bodies(),
        created_at=utc_datetimes(),
        withdrawn=st.booleans(),
    )


def comments() -> st.SearchStrategy[Comment]:
    return st.builds(
        Comment,
        id=ids(),
        community_id=ids(),
        target_id=ids(),
        target_kind=st.sampled_from(COMMENTABLE_KINDS),
        author_id=ids(),
        body=bodies(),
        created_at=utc_datetimes(),
        withdrawn=st.booleans(),
    )


def _two_people() -> st.SearchStrategy[tuple[str, str]]:
    return st.tuples(ids(), ids()).filter(lambda pair: pair[0] != pair[1])


def endorsements() -> st.SearchStrategy[Endorsement]:
    """Endorsements, never of one's own contribution."""
    return _two_people().flatmap(
        lambda pair: st.builds(
            Endorsement,
            id=ids(),
            community_id=ids(),
            target_id=ids(),
            target_kind=st.sampled_from(ENDORSABLE_KINDS),
            target_author_id=st.just(pair[0]),
            author_id=st.just(pair[1]),
            created_at=utc_datetimes(),
        )
    )


def resources() -> st.SearchStrategy[Resource]:
    return st.builds(
        Resource,
        id=ids(),
        community_id=ids(),
        author_id=ids(),
        title=titles(),
        kind=st.sampled_from(ResourceKind),
        location=short_texts(),
        description=bodies(allow_empty=True),
        tags=tag_sets(),
        created_at=utc_datetimes(),
        withdrawn=st.booleans(),
    )


def experiences() -> st.SearchStrategy[Experience]:
    return st.builds(
        Experience,
        id=ids(),
        community_id=ids(),
        author_id=ids(),
        title=titles(),
        body=bodies(),
        kind=st.sampled_from(ExperienceKind),
        tags=tag_sets(),
        created_at=utc_datetimes(),
        withdrawn=st.booleans(),
    )


def meetings() -> st.SearchStrategy[Meeting]:
    """Meetings that end no earlier than they start."""
    return _pair_of_times().flatmap(
        lambda times: st.builds(
            Meeting,
            id=ids(),
            community_id=ids(),
            author_id=ids(),
            title=titles(),
            description=bodies(allow_empty=True),
            starts_at=st.just(times[0]),
            ends_at=st.just(times[1]),
            location=short_texts(allow_empty=True),
            tags=tag_sets(),
            created_at=utc_datetimes(),
            attendees=st.frozensets(ids(), max_size=5),
            withdrawn=st.booleans(),
        )
    )


def contributions() -> st.SearchStrategy[Contribution]:
    """A contribution of any kind."""
    return st.one_of(questions(), answers(), comments(), endorsements(), resources(), experiences(), meetings())


def aggregates() -> st.SearchStrategy[Aggregate]:
    """Any stored aggregate: organisation, community, charter version, membership or contribution."""
    return st.one_of(organisations(), communities(), charter_versions(), memberships(), contributions())


# -- events -------------------------------------------------------------------------------------

E = TypeVar("E", bound=ev.DomainEvent)


def _event(
    cls: type[E], *, community_id: st.SearchStrategy[str | None] | None = None, **fields: st.SearchStrategy[Any]
) -> st.SearchStrategy[ev.DomainEvent]:
    """Events of `cls`: the common fields (id, actor, community, time) and `fields`."""
    return st.builds(
        cls,
        id=ids(),
        actor_id=ids(),
        community_id=ids() if community_id is None else community_id,
        occurred_at=utc_datetimes(),
        **fields,
    )


def _community_created() -> st.SearchStrategy[ev.DomainEvent]:
    return st.sampled_from(Visibility).flatmap(
        lambda visibility: _event(
            ev.CommunityCreated,
            organisation_id=ids(),
            name=names(),
            kind=st.sampled_from(CommunityKind),
            visibility=st.just(visibility),
            stage=st.sampled_from(LifecycleStage),
            tags=tag_sets(),
            charter=charters(visibility=visibility),
        )
    )


def _stage_changed() -> st.SearchStrategy[ev.DomainEvent]:
    stages = st.lists(st.sampled_from(LifecycleStage), min_size=2, max_size=2, unique=True)
    return stages.flatmap(
        lambda pair: _event(ev.CommunityStageChanged, stage=st.just(pair[0]), previous=st.just(pair[1]))
    )


def _role_assigned() -> st.SearchStrategy[ev.DomainEvent]:
    return st.sampled_from(Role).flatmap(
        lambda role: _event(
            ev.RoleAssigned,
            person_id=ids(),
            role=st.just(role),
            tags=tag_sets(max_size=5).filter(bool) if role is Role.EXPERT else st.just(frozenset[str]()),
        )
    )


def _answer_accepted() -> st.SearchStrategy[ev.DomainEvent]:
    previous = st.one_of(st.tuples(st.none(), st.none()), st.tuples(ids(), ids()))
    return previous.flatmap(
        lambda prev: _event(
            ev.AnswerAccepted,
            question_id=ids(),
            answer_id=ids(),
            answer_author_id=ids(),
            asker_id=ids(),
            previous_answer_id=st.just(prev[0]),
            previous_answer_author_id=st.just(prev[1]),
        )
    )


def _endorsed() -> st.SearchStrategy[ev.DomainEvent]:
    return _two_people().flatmap(
        lambda pair: st.builds(
            ev.ContributionEndorsed,
            id=ids(),
            actor_id=st.just(pair[1]),
            community_id=ids(),
            occurred_at=utc_datetimes(),
            endorsement_id=ids(),
            target_id=ids(),
            target_kind=st.sampled_from(ENDORSABLE_KINDS),
            target_author_id=st.just(pair[0]),
        )
    )


def _meeting_scheduled() -> st.SearchStrategy[ev.DomainEvent]:
    return _pair_of_times().flatmap(
        lambda times: _event(
            ev.MeetingScheduled,
            meeting_id=ids(),
            title=titles(),
            description=bodies(allow_empty=True),
            starts_at=st.just(times[0]),
            ends_at=st.just(times[1]),
            location=short_texts(allow_empty=True),
            tags=tag_sets(),
        )
    )


def _withdrawn() -> st.SearchStrategy[ev.DomainEvent]:
    return st.sampled_from(WITHDRAWABLE_KINDS).flatmap(
        lambda kind: _event(
            ev.ContributionWithdrawn,
            contribution_id=ids(),
            contribution_kind=st.just(kind),
            author_id=ids(),
            question_id=ids() if kind is ContributionKind.ANSWER else st.none(),
            reason=short_texts(allow_empty=True),
        )
    )


def _membership(
    cls: type[ev.MembershipEvent], **fields: st.SearchStrategy[Any]
) -> Callable[[], st.SearchStrategy[ev.DomainEvent]]:
    return lambda: _event(cls, person_id=ids(), **fields)


def _machine_names() -> st.SearchStrategy[str]:
    """Stable machine names (points reasons, badges): lower-case letters, digits and ``_.-``."""
    return st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,30}", fullmatch=True)


#: One strategy maker per event type, by its stable name: every entry of `EVENT_TYPES`.
EVENT_STRATEGIES: dict[str, Callable[[], st.SearchStrategy[ev.DomainEvent]]] = {
    ev.OrganisationCreated.TYPE: lambda: _event(
        ev.OrganisationCreated, community_id=st.none(), organisation_id=ids(), name=names()
    ),
    ev.AdministratorAppointed.TYPE: lambda: _event(
        ev.AdministratorAppointed, community_id=st.none(), organisation_id=ids(), person_id=ids()
    ),
    ev.AdministratorWithdrawn.TYPE: lambda: _event(
        ev.AdministratorWithdrawn, community_id=st.none(), organisation_id=ids(), person_id=ids()
    ),
    ev.CommunityShared.TYPE: lambda: _event(ev.CommunityShared, organisation_id=ids()),
    ev.CommunityUnshared.TYPE: lambda: _event(ev.CommunityUnshared, organisation_id=ids()),
    ev.CommunityCreated.TYPE: _community_created,
    ev.CommunityUpdated.TYPE: lambda: st.sampled_from(Visibility).flatmap(
        lambda visibility: _event(ev.CommunityUpdated, name=names(), visibility=st.just(visibility), tags=tag_sets())
    ),
    ev.CommunityStageChanged.TYPE: _stage_changed,
    ev.CharterAmended.TYPE: lambda: _event(
        ev.CharterAmended, version=st.integers(min_value=1, max_value=10_000), charter=charters(), reason=short_texts()
    ),
    ev.MemberInvited.TYPE: _membership(
        ev.MemberInvited, roles=st.frozensets(st.sampled_from(sorted(ev.OFFERABLE_ROLES)))
    ),
    ev.MembershipRequested.TYPE: _membership(ev.MembershipRequested),
    ev.MembershipApproved.TYPE: _membership(ev.MembershipApproved),
    ev.MembershipDeclined.TYPE: _membership(ev.MembershipDeclined, reason=short_texts(allow_empty=True)),
    ev.MemberJoined.TYPE: _membership(ev.MemberJoined, via=st.sampled_from(("open", "invitation", "rule", "founder"))),
    ev.MemberLeft.TYPE: _membership(ev.MemberLeft),
    ev.MemberRemoved.TYPE: _membership(ev.MemberRemoved, reason=short_texts(allow_empty=True)),
    ev.RoleAssigned.TYPE: _role_assigned,
    ev.RoleWithdrawn.TYPE: _membership(ev.RoleWithdrawn, role=st.sampled_from(Role)),
    ev.QuestionAsked.TYPE: lambda: _event(
        ev.QuestionAsked, question_id=ids(), title=titles(), body=bodies(), tags=tag_sets()
    ),
    ev.AnswerPosted.TYPE: lambda: _event(
        ev.AnswerPosted, answer_id=ids(), question_id=ids(), asker_id=ids(), body=bodies()
    ),
    ev.AnswerAccepted.TYPE: _answer_accepted,
    ev.CommentPosted.TYPE: lambda: _event(
        ev.CommentPosted,
        comment_id=ids(),
        target_id=ids(),
        target_kind=st.sampled_from(COMMENTABLE_KINDS),
        target_author_id=ids(),
        body=bodies(),
    ),
    ev.ContributionEndorsed.TYPE: _endorsed,
    ev.ResourceShared.TYPE: lambda: _event(
        ev.ResourceShared,
        resource_id=ids(),
        title=titles(),
        kind=st.sampled_from(ResourceKind),
        location=short_texts(),
        description=bodies(allow_empty=True),
        tags=tag_sets(),
    ),
    ev.ExperienceRecorded.TYPE: lambda: _event(
        ev.ExperienceRecorded,
        experience_id=ids(),
        title=titles(),
        body=bodies(),
        kind=st.sampled_from(ExperienceKind),
        tags=tag_sets(),
    ),
    ev.MeetingScheduled.TYPE: _meeting_scheduled,
    ev.AttendanceRecorded.TYPE: lambda: _event(
        ev.AttendanceRecorded, meeting_id=ids(), attendees=st.frozensets(ids(), max_size=5)
    ),
    ev.ContributionWithdrawn.TYPE: _withdrawn,
    # recognition and participation
    ev.PointsAwarded.TYPE: lambda: _event(
        ev.PointsAwarded,
        entry_id=ids(),
        person_id=ids(),
        reason=_machine_names(),
        points=st.integers(min_value=0, max_value=10_000),
        requested=st.integers(min_value=0, max_value=10_000),
        capped=st.booleans(),
        subject_id=ids(),
        cause_event_id=ids(),
    ),
    ev.PointsReversed.TYPE: lambda: _event(
        ev.PointsReversed,
        entry_id=ids(),
        reversed_entry_id=ids(),
        person_id=ids(),
        points=st.integers(min_value=0, max_value=10_000),
        reason=_machine_names(),
        awarded_for=_machine_names(),
        subject_id=ids(),
        cause_event_id=ids(),
    ),
    ev.ParticipationLevelChanged.TYPE: lambda: _event(
        ev.ParticipationLevelChanged,
        person_id=ids(),
        level=st.sampled_from(ParticipationLevel),
        previous=st.sampled_from(ParticipationLevel),
        score=st.integers(min_value=0, max_value=100_000),
        review_at=st.none() | utc_datetimes(),
    ),
    ev.ParticipationLevelPinned.TYPE: lambda: _event(
        ev.ParticipationLevelPinned,
        person_id=ids(),
        level=st.none() | st.sampled_from(ParticipationLevel),
        previous=st.sampled_from(ParticipationLevel),
        reason=short_texts(allow_empty=True),
        review_at=st.none() | utc_datetimes(),
    ),
    ev.ParticipationReviewed.TYPE: lambda: _event(
        ev.ParticipationReviewed,
        person_id=ids(),
        score=st.integers(min_value=0, max_value=100_000),
        review_at=st.none() | utc_datetimes(),
    ),
    ev.BadgeAwarded.TYPE: lambda: _event(
        ev.BadgeAwarded, person_id=ids(), badge=_machine_names(), cause_event_id=ids()
    ),
    ev.BadgeProgressed.TYPE: lambda: _event(
        ev.BadgeProgressed,
        person_id=ids(),
        badge=_machine_names(),
        key=ids(),
        items=st.lists(ids(), min_size=1, max_size=3, unique=True).map(tuple),
        withdrawn=st.booleans(),
    ),
    # -- answer guarantee --
    ev.QuestionRouted.TYPE: lambda: _event(
        ev.QuestionRouted,
        question_id=ids(),
        asker_id=ids(),
        asked_at=utc_datetimes(),
        experts=st.lists(ids(), max_size=5, unique=True).map(tuple),
        route=st.sampled_from(Route),
        due_at=st.none() | utc_datetimes(),
    ),
    ev.QuestionEscalated.TYPE: lambda: _event(
        ev.QuestionEscalated,
        question_id=ids(),
        step=st.integers(min_value=1, max_value=10),
        audience=st.lists(st.sampled_from(AUDIENCES), min_size=1, max_size=4, unique=True).map(tuple),
        notified=st.lists(ids(), max_size=5, unique=True).map(tuple),
        next_due_at=st.none() | utc_datetimes(),
    ),
    ev.WatchClosed.TYPE: lambda: _event(ev.WatchClosed, question_id=ids(), reason=st.sampled_from(CloseReason)),
    ev.PreferencesChanged.TYPE: lambda: _event(
        ev.PreferencesChanged,
        community_id=st.none(),
        person_id=ids(),
        channel=st.none() | st.sampled_from(["email", "webhook", "log"]),
        frequency=st.sampled_from(Frequency),
        quiet_hours=st.none() | quiet_hours(),
        unsubscribed=st.frozensets(st.sampled_from(sorted(CATALOGUE)), max_size=3),
    ),
    ev.PolicyReactionFailed.TYPE: lambda: _event(
        ev.PolicyReactionFailed,
        policy=_machine_names(),
        event=st.deferred(lambda: events(_PLAIN_EVENT_TYPES)),
        error=short_texts(),
        attempt=st.integers(min_value=1, max_value=20),
        retry_at=utc_datetimes(),
    ),
    ev.PolicyReactionRecovered.TYPE: lambda: _event(
        ev.PolicyReactionRecovered, policy=_machine_names(), failed_event_id=ids()
    ),
    ev.ReactionsDeferred.TYPE: lambda: _event(
        ev.ReactionsDeferred, community_id=st.none(), covers=st.integers(min_value=0, max_value=10_000)
    ),
    ev.LogFollowed.TYPE: lambda: _event(
        ev.LogFollowed, community_id=st.none(), follower=_machine_names(), through=st.integers(0, 2**53)
    ),
    # -- personal data --
    ev.PersonalDataErased.TYPE: lambda: _event(
        ev.PersonalDataErased,
        community_id=st.none(),
        pseudonym=ids(),
        contributions=st.sampled_from(["keep", "remove"]),
        aggregates=st.integers(0, 10_000),
        events=st.integers(0, 10_000),
        messages=st.integers(0, 10_000),
    ),
    # -- editing and moderation --
    ev.ContributionRevised.TYPE: lambda: _event(
        ev.ContributionRevised,
        contribution_id=ids(),
        contribution_kind=st.sampled_from(sorted(REVISABLE)),
        author_id=ids(),
        revision=st.integers(min_value=1, max_value=1000),
        changed=revised_fields(),
        previous=revised_fields(),
        reason=short_texts(allow_empty=True),
    ),
    ev.AnswerUnaccepted.TYPE: lambda: _event(
        ev.AnswerUnaccepted, question_id=ids(), answer_id=ids(), answer_author_id=ids(), asker_id=ids()
    ),
    ev.ThreadStatusChanged.TYPE: lambda: _event(
        ev.ThreadStatusChanged,
        question_id=ids(),
        asker_id=ids(),
        status=st.sampled_from(ThreadStatus),
        previous=st.sampled_from(ThreadStatus),
        reason=short_texts(allow_empty=True),
    ),
    ev.ContributionFlagged.TYPE: lambda: _event(
        ev.ContributionFlagged,
        flag_id=ids(),
        contribution_id=ids(),
        contribution_kind=st.sampled_from(sorted(REVISABLE)),
        target_author_id=ids(),
        reason=short_texts(),
    ),
    ev.ContributionHidden.TYPE: lambda: _event(
        ev.ContributionHidden,
        contribution_id=ids(),
        contribution_kind=st.sampled_from(sorted(REVISABLE)),
        author_id=ids(),
        reason=short_texts(),
        flag_ids=st.lists(ids(), max_size=3, unique=True).map(tuple),
        question_id=st.none() | ids(),
    ),
    ev.ContributionUnhidden.TYPE: lambda: _event(
        ev.ContributionUnhidden,
        contribution_id=ids(),
        contribution_kind=st.sampled_from(sorted(REVISABLE)),
        author_id=ids(),
        question_id=st.none() | ids(),
    ),
    ev.FlagsDismissed.TYPE: lambda: _event(
        ev.FlagsDismissed,
        contribution_id=ids(),
        contribution_kind=st.sampled_from(sorted(REVISABLE)),
        flag_ids=st.lists(ids(), min_size=1, max_size=3, unique=True).map(tuple),
        note=short_texts(allow_empty=True),
    ),
    # -- value and launch --
    ev.ValueStoryTold.TYPE: lambda: _event(
        ev.ValueStoryTold,
        story_id=ids(),
        contributions=st.lists(
            st.builds(LinkedContribution, kind=st.sampled_from(LINKABLE_KINDS), id=ids(), author_id=ids()),
            min_size=1,
            max_size=4,
            unique_by=lambda c: (c.kind, c.id),
        ).map(tuple),
        result=bodies(),
    ),
    ev.ValueStoryRevised.TYPE: lambda: _event(
        ev.ValueStoryRevised,
        story_id=ids(),
        result=bodies(),
        previous=bodies(),
        reason=short_texts(allow_empty=True),
    ),
    ev.ValueStoryWithdrawn.TYPE: lambda: _event(
        ev.ValueStoryWithdrawn,
        story_id=ids(),
        credited=st.lists(ids(), max_size=3, unique=True).map(tuple),
        reason=short_texts(allow_empty=True),
    ),
    ev.CommunityProposed.TYPE: lambda: _event(
        ev.CommunityProposed,
        community_id=st.none(),
        candidate_id=ids(),
        organisation_id=ids(),
        name=names(),
        vocation=short_texts(),
        kind=st.sampled_from(CommunityKind),
        tags=tag_sets(),
        facts=launch_facts(),
    ),
    ev.CandidateRevised.TYPE: lambda: _event(
        ev.CandidateRevised,
        community_id=st.none(),
        candidate_id=ids(),
        name=names(),
        vocation=short_texts(),
        tags=tag_sets(),
        facts=launch_facts(),
    ),
    ev.CandidateLaunched.TYPE: lambda: _event(ev.CandidateLaunched, community_id=ids(), candidate_id=ids()),
    ev.CandidateDropped.TYPE: lambda: _event(
        ev.CandidateDropped, community_id=st.none(), candidate_id=ids(), reason=short_texts(allow_empty=True)
    ),
    # -- lifecycle stage and decline --
    ev.LifecycleEvaluated.TYPE: lambda: _event(ev.LifecycleEvaluated, community_id=ids(), month=_months()),
    ev.StageSuggested.TYPE: lambda: _event(
        ev.StageSuggested,
        community_id=ids(),
        month=_months(),
        since=_months(),
        stage=st.sampled_from(LifecycleStage),
        previous=st.none() | st.sampled_from(LifecycleStage),
        reasons=st.lists(short_texts(), max_size=3).map(tuple),
    ),
    ev.DeclineEntered.TYPE: lambda: _event(
        ev.DeclineEntered, community_id=ids(), month=_months(), reasons=st.lists(short_texts(), max_size=3).map(tuple)
    ),
    ev.DeclineLeft.TYPE: lambda: _event(
        ev.DeclineLeft, community_id=ids(), month=_months(), reasons=st.lists(short_texts(), max_size=3).map(tuple)
    ),
}


def revised_fields() -> st.SearchStrategy[RevisedFields]:
    """The fields of a revision: some of them set, the others None."""
    return st.builds(
        RevisedFields,
        title=st.none() | titles(),
        body=st.none() | bodies(),
        description=st.none() | bodies(allow_empty=True),
        location=st.none() | short_texts(allow_empty=True),
        starts_at=st.none() | utc_datetimes(),
        ends_at=st.none() | utc_datetimes(),
        tags=st.none() | tag_sets(),
    )


def launch_facts() -> st.SearchStrategy[LaunchFacts]:
    """What a founder may say of a candidate community, each criterion present or not."""
    return st.builds(
        LaunchFacts,
        strategic_theme=st.just("") | short_texts(),
        existing_network=st.just("") | short_texts(),
        recurring_exchanges=st.booleans(),
        immediate_needs=st.lists(short_texts(), max_size=3).map(tuple),
        core_group=st.frozensets(ids(), max_size=5),
        sponsor=st.none() | ids(),
        facilitator=st.none() | ids(),
        time_allocated=st.booleans(),
        participation_recognised=st.booleans(),
        middle_managers_informed=st.booleans(),
    )


def _months() -> st.SearchStrategy[str]:
    """Months as YYYY-MM."""
    return st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(1990, 2100), st.integers(1, 12))


def aggregates_of(kind: str) -> st.SearchStrategy[Aggregate]:
    """Aggregates of `kind` as the events that create them make them (through
    `coplib.domain.history.apply`): one strategy for every kind, present and future."""
    from coplib.domain.history import _CREATORS, apply, touched

    creators = sorted(
        event_type.TYPE for k, event_type in _CREATORS if k == kind and issubclass(event_type, ev.DomainEvent)
    )
    if not creators:
        raise ValueError(f"no event creates a {kind!r} aggregate")

    def made(event: ev.DomainEvent) -> Aggregate | None:
        for ref in touched(event):
            if ref.kind == kind:
                try:
                    return apply(ref, None, event)
                except CoplibError:
                    return None
        return None

    return events(creators).map(made).filter(lambda value: value is not None)  # type: ignore[return-value]


#: Event types a failed policy reaction may carry (not the failure events themselves).
_PLAIN_EVENT_TYPES: tuple[str, ...] = (
    ev.QuestionAsked.TYPE,
    ev.AnswerPosted.TYPE,
    ev.MemberJoined.TYPE,
    ev.ResourceShared.TYPE,
)


def quiet_hours() -> st.SearchStrategy[QuietHours]:
    """Quiet hours in a few real time zones, possibly spanning midnight."""
    return st.builds(
        QuietHours,
        start=st.times(),
        end=st.times(),
        timezone=st.sampled_from(["UTC", "Europe/Paris", "America/Montreal", "Asia/Kolkata"]),
    )


def preferences() -> st.SearchStrategy[Preferences]:
    return st.builds(
        Preferences,
        person_id=ids(),
        updated_at=utc_datetimes(),
        channel=st.none() | st.sampled_from(["email", "webhook"]),
        frequency=st.sampled_from(Frequency),
        quiet_hours=st.none() | quiet_hours(),
        unsubscribed=st.frozensets(st.sampled_from(sorted(CATALOGUE)), max_size=3),
    )


def events(types: Iterable[str | type[ev.DomainEvent]] | None = None) -> st.SearchStrategy[ev.DomainEvent]:
    """Domain events of the given types (names or classes), or of every type in `EVENT_TYPES`.

    Each event is valid on its own; a sequence of them is not a coherent history (an answer
    may name a question that was never asked).
    """
    wanted = list(ev.EVENT_TYPES) if types is None else [t if isinstance(t, str) else t.TYPE for t in types]
    missing = [t for t in wanted if t not in EVENT_STRATEGIES]
    if missing:
        raise ValueError(f"no strategy for event type(s) {', '.join(missing)}: add them to EVENT_STRATEGIES")
    if not wanted:
        raise ValueError("give at least one event type")
    return st.one_of([EVENT_STRATEGIES[t]() for t in wanted])
