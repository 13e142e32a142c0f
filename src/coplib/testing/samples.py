"""Sample data for store tests: real domain events run through `coplib.domain.history.apply`,
turned into the changesets an engine would commit, with deterministic ids and times.

`SampleHistory` keeps the state and versions it committed, so a test can build the next
changeset (or a deliberately stale one) without an engine.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar

import attrs

from coplib.domain import events as ev
from coplib.domain.community import (
    Admission,
    Charter,
    Community,
    CommunityKind,
    LifecycleStage,
    MembershipPolicy,
    Role,
    Visibility,
    charter_version_id,
)
from coplib.domain.contributions import (
    CONTRIBUTION_CLASSES,
    Answer,
    Contribution,
    ContributionKind,
    ExperienceKind,
    Meeting,
    Question,
    ResourceKind,
    ThreadStatus,
)
from coplib.domain.guarantee import CloseReason, Route
from coplib.domain.history import Aggregate, Ref, apply, policy_failure_id, touched
from coplib.domain.membership import membership_id
from coplib.domain.moderation import RevisedFields, revision_id
from coplib.domain.participation import ParticipationLevel, participation_id
from coplib.domain.people import Person
from coplib.domain.preferences import Frequency, QuietHours
from coplib.domain.readiness import CommunityCandidate, LaunchFacts
from coplib.domain.recognition import badge_award_id, badge_progress_id, points_balance_id
from coplib.domain.value import LinkedContribution, ValueStory
from coplib.ports.storage import Changeset, OutboxMessage, RecordedEvent, Store, Write

T = TypeVar("T")

#: The actor of the host's own jobs (`coplib.service.engine.SYSTEM`), spelled here to keep the
#: samples free of the engine.
SYSTEM_ACTOR = "coplib:system"

#: A Monday, 09:00 UTC: sample histories start here so that weeks are easy to reason about.
MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

_MESSAGE_NAMESPACE = uuid.UUID("2f1d7f0e-5b0c-4c55-9a57-8f0d3c2b6a41")

#: The people of the sample organisation: ids are short, names say who they are.
SAMPLE_PEOPLE: tuple[Person, ...] = (
    Person(id="ana", display_name="Ana (facilitator)", email="ana@example.org", locale="fr"),
    Person(id="ben", display_name="Ben (expert)", email="ben@example.org"),
    Person(id="chloe", display_name="Chloé (member)", email="chloe@example.org", locale="fr"),
    Person(id="dev", display_name="Dev (newcomer)", email="dev@example.org"),
    Person(id="eve", display_name="Eve (sponsor)", email="eve@example.org"),
)


class IdSequence:
    """A deterministic, thread-safe id factory for an engine: ``<prefix>-0001``, ``-0002``..."""

    def __init__(self, prefix: str = "id") -> None:
        self.prefix = prefix
        self.issued = 0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            self.issued += 1
            return f"{self.prefix}-{self.issued:04d}"


def sample_people() -> list[Person]:
    """The sample organisation's people (ana, ben, chloe, dev, eve), all active."""
    return list(SAMPLE_PEOPLE)


class SampleHistory:
    """Builds and commits realistic changesets against a store.

    Every helper records one unit of work the way the engine would: events applied through
    the domain's transitions, writes carrying the version this history last committed.
    Times advance by `step` per event unless `at` is given; ids are ``<prefix>-<kind>-<n>``.
    """

    def __init__(self, *, start: datetime = MONDAY, prefix: str = "s", step: timedelta = timedelta(minutes=1)) -> None:
        self.now = start
        self.prefix = prefix
        self.step = step
        self._counter = 0
        self.state: dict[Ref, Aggregate] = {}
        self.versions: dict[Ref, int] = {}
        #: Every event this history committed, with its position, in commit order.
        self.recorded: list[RecordedEvent] = []

    # -- plumbing ---------------------------------------------------------------------------

    def new_id(self, kind: str) -> str:
        self._counter += 1
        return f"{self.prefix}-{kind}-{self._counter:04d}"

    def tick(self, at: datetime | None = None) -> datetime:
        """The time of the next event: `at` if given, else `step` after the previous one."""
        if at is not None:
            self.now = at
            return at
        self.now = self.now + self.step
        return self.now

    def base(self, actor: str, community_id: str | None, at: datetime | None = None) -> dict[str, Any]:
        return {
            "id": self.new_id("event"),
            "actor_id": actor,
            "community_id": community_id,
            "occurred_at": self.tick(at),
        }

    def changeset(self, events: Sequence[ev.DomainEvent], messages: Iterable[OutboxMessage] = ()) -> Changeset:
        """The changeset that records `events` on top of what this history committed
        (nothing is remembered until `commit`)."""
        staged: dict[Ref, Aggregate] = {}
        for event in events:
            for ref in touched(event):
                current = staged.get(ref, self.state.get(ref))
                staged[ref] = apply(ref, current, event)
        writes = tuple(Write(ref, value, self.versions.get(ref, 0)) for ref, value in staged.items())
        return Changeset(writes=writes, events=tuple(events), messages=tuple(messages))

    def commit(
        self, store: Store, events: Sequence[ev.DomainEvent], messages: Iterable[OutboxMessage] = ()
    ) -> list[RecordedEvent]:
        """Commit `events` (and `messages`) as one unit of work, and remember the result."""
        changes = self.changeset(events, messages)
        recorded = store.commit(changes)
        for write in changes.writes:
            self.state[write.ref] = write.value
            self.versions[write.ref] = write.expected_version + 1
        self.recorded.extend(recorded)
        return recorded

    def message(self, event: ev.DomainEvent, recipient_id: str, topic: str = "sample", **params: str) -> OutboxMessage:
        """An outbox message caused by `event`, with the engine's kind of stable id."""
        key = uuid.uuid5(_MESSAGE_NAMESPACE, f"{event.id}\x00{recipient_id}\x00{topic}").hex
        return OutboxMessage(
            id=key,
            event_id=event.id,
            recipient_id=recipient_id,
            topic=topic,
            community_id=event.community_id,
            params=dict(params),
            created_at=event.occurred_at,
        )

    def get(self, kind: str, id: str) -> Aggregate:
        """The state this history committed for (kind, id)."""
        return self.state[Ref(kind, id)]

    def get_as(self, kind: str, id: str, cls: type[T]) -> T:
        """The state this history committed for (kind, id), which must be a `cls`."""
        value = self.state[Ref(kind, id)]
        if not isinstance(value, cls):
            raise TypeError(f"{kind} {id!r} is a {type(value).__name__}, not a {cls.__name__}")
        return value

    def contribution(self, kind: ContributionKind, id: str) -> Contribution:
        value = self.state[Ref(kind.value, id)]
        if not isinstance(value, CONTRIBUTION_CLASSES):
            raise TypeError(f"{kind.value} {id!r} is not a contribution")
        return value

    # -- organisation and community -----------------------------------------------------------

    def found_organisation(self, store: Store, *, actor: str = "eve", name: str = "Acme") -> str:
        oid = self.new_id("org")
        self.commit(store, [ev.OrganisationCreated(**self.base(actor, None), organisation_id=oid, name=name)])
        return oid

    def found_community(
        self,
        store: Store,
        organisation_id: str,
        *,
        founder: str = "ana",
        name: str = "Welding",
        tags: Iterable[str] = ("welding",),
        visibility: Visibility = Visibility.OPEN,
        admission: Admission = Admission.OPEN,
        community_id: str | None = None,
        at: datetime | None = None,
    ) -> str:
        """A community with its founder as an active facilitator (three events, one unit)."""
        cid = community_id or self.new_id("community")
        charter = Charter(
            vocation=f"Practitioners of {name.lower()} help each other",
            membership_policy=MembershipPolicy(admission=admission),
        )
        events: list[ev.DomainEvent] = [
            ev.CommunityCreated(
                **self.base(founder, cid, at),
                organisation_id=organisation_id,
                name=name,
                kind=CommunityKind.PRACTICE,
                visibility=visibility,
                stage=LifecycleStage.COALESCING,
                tags=frozenset(tags),
                charter=charter,
            ),
            ev.MemberJoined(**self.base(founder, cid), person_id=founder, via="founder"),
            ev.RoleAssigned(**self.base(founder, cid), person_id=founder, role=Role.FACILITATOR),
        ]
        self.commit(store, events)
        return cid

    def appoint_administrator(self, store: Store, oid: str, person: str, *, actor: str = "eve") -> None:
        self.commit(store, [ev.AdministratorAppointed(**self.base(actor, None), organisation_id=oid, person_id=person)])

    def withdraw_administrator(self, store: Store, oid: str, person: str, *, actor: str = "eve") -> None:
        self.commit(store, [ev.AdministratorWithdrawn(**self.base(actor, None), organisation_id=oid, person_id=person)])

    def share_community(self, store: Store, cid: str, oid: str, *, actor: str = "ana") -> None:
        self.commit(store, [ev.CommunityShared(**self.base(actor, cid), organisation_id=oid)])

    def unshare_community(self, store: Store, cid: str, oid: str, *, actor: str = "ana") -> None:
        self.commit(store, [ev.CommunityUnshared(**self.base(actor, cid), organisation_id=oid)])

    def update_community(self, store: Store, cid: str, *, actor: str = "ana", name: str) -> None:
        current = self.get_as("community", cid, Community)
        self.commit(
            store,
            [ev.CommunityUpdated(**self.base(actor, cid), name=name, visibility=current.visibility, tags=current.tags)],
        )

    def change_stage(self, store: Store, cid: str, stage: LifecycleStage, *, actor: str = "ana") -> None:
        previous = self.get_as("community", cid, Community).stage
        self.commit(store, [ev.CommunityStageChanged(**self.base(actor, cid), stage=stage, previous=previous)])

    def amend_charter(self, store: Store, cid: str, *, actor: str = "ana", vocation: str = "A new vocation") -> str:
        number = self.get_as("community", cid, Community).charter_version + 1
        charter = Charter(vocation=vocation)
        self.commit(
            store, [ev.CharterAmended(**self.base(actor, cid), version=number, charter=charter, reason="refocus")]
        )
        return charter_version_id(cid, number)

    # -- membership -------------------------------------------------------------------------------

    def join(self, store: Store, cid: str, person: str, *, at: datetime | None = None) -> str:
        self.commit(store, [ev.MemberJoined(**self.base(person, cid, at), person_id=person, via="open")])
        return membership_id(cid, person)

    def invite(self, store: Store, cid: str, person: str, *, actor: str = "ana", roles: Iterable[Role] = ()) -> str:
        self.commit(store, [ev.MemberInvited(**self.base(actor, cid), person_id=person, roles=frozenset(roles))])
        return membership_id(cid, person)

    def request(self, store: Store, cid: str, person: str) -> str:
        self.commit(store, [ev.MembershipRequested(**self.base(person, cid), person_id=person)])
        return membership_id(cid, person)

    def approve(self, store: Store, cid: str, person: str, *, actor: str = "ana") -> None:
        self.commit(store, [ev.MembershipApproved(**self.base(actor, cid), person_id=person)])

    def decline(self, store: Store, cid: str, person: str, *, actor: str = "ana") -> None:
        self.commit(store, [ev.MembershipDeclined(**self.base(actor, cid), person_id=person, reason="not now")])

    def leave(self, store: Store, cid: str, person: str) -> None:
        self.commit(store, [ev.MemberLeft(**self.base(person, cid), person_id=person)])

    def remove(self, store: Store, cid: str, person: str, *, actor: str = "ana") -> None:
        self.commit(store, [ev.MemberRemoved(**self.base(actor, cid), person_id=person, reason="spam")])

    def assign_role(
        self, store: Store, cid: str, person: str, role: Role, *, tags: Iterable[str] = (), actor: str = "ana"
    ) -> None:
        self.commit(
            store, [ev.RoleAssigned(**self.base(actor, cid), person_id=person, role=role, tags=frozenset(tags))]
        )

    def withdraw_role(self, store: Store, cid: str, person: str, role: Role, *, actor: str = "ana") -> None:
        self.commit(store, [ev.RoleWithdrawn(**self.base(actor, cid), person_id=person, role=role)])

    # -- contributions ----------------------------------------------------------------------------

    def ask(
        self,
        store: Store,
        cid: str,
        person: str,
        *,
        title: str = "How do I weld aluminium?",
        tags: Iterable[str] = (),
        at: datetime | None = None,
        question_id: str | None = None,
    ) -> str:
        qid = question_id or self.new_id("question")
        self.commit(
            store,
            [
                ev.QuestionAsked(
                    **self.base(person, cid, at),
                    question_id=qid,
                    title=title,
                    body=f"{title} (asked by {person})",
                    tags=frozenset(tags),
                )
            ],
        )
        return qid

    def answer(self, store: Store, question_id: str, person: str, *, at: datetime | None = None) -> str:
        question = self.get_as("question", question_id, Question)
        aid = self.new_id("answer")
        event = ev.AnswerPosted(
            **self.base(person, question.community_id, at),
            answer_id=aid,
            question_id=question_id,
            asker_id=question.author_id,
            body="Preheat the piece and use a spool gun.",
        )
        self.commit(store, [event], [self.message(event, question.author_id, "answer_posted")])
        return aid

    def accept(self, store: Store, answer_id: str, *, actor: str | None = None) -> None:
        answer = self.get_as("answer", answer_id, Answer)
        question = self.get_as("question", answer.question_id, Question)
        self.commit(
            store,
            [
                ev.AnswerAccepted(
                    **self.base(actor or question.author_id, question.community_id),
                    question_id=question.id,
                    answer_id=answer_id,
                    answer_author_id=answer.author_id,
                    asker_id=question.author_id,
                    previous_answer_id=question.accepted_answer_id,
                )
            ],
        )

    def moderate(self, store: Store, question_id: str, answer_id: str) -> tuple[str, str]:
        """Edit, retag, unaccept, close and reopen, flag, hide, show again and dismiss: every
        event of editing and moderation. Returns a revision's id and a flag's."""
        question = self.get_as("question", question_id, Question)
        answer = self.get_as("answer", answer_id, Answer)
        cid = question.community_id
        revised = ev.ContributionRevised(
            **self.base(question.author_id, cid),
            contribution_id=question_id,
            contribution_kind=ContributionKind.QUESTION,
            author_id=question.author_id,
            revision=question.revision + 1,
            changed=RevisedFields(title="Welding thin aluminium sheet?", tags=frozenset({"aluminium", "sheet"})),
            previous=RevisedFields(title=question.title, tags=question.tags),
            reason="more precise",
        )
        self.commit(store, [revised])
        if question.accepted_answer_id == answer_id:
            self.commit(
                store,
                [
                    ev.AnswerUnaccepted(
                        **self.base(question.author_id, cid),
                        question_id=question_id,
                        answer_id=answer_id,
                        answer_author_id=answer.author_id,
                        asker_id=question.author_id,
                    )
                ],
            )
        for status, previous in ((ThreadStatus.CLOSED, ThreadStatus.OPEN), (ThreadStatus.OPEN, ThreadStatus.CLOSED)):
            self.commit(
                store,
                [
                    ev.ThreadStatusChanged(
                        **self.base("ana", cid),
                        question_id=question_id,
                        asker_id=question.author_id,
                        status=status,
                        previous=previous,
                    )
                ],
            )
        flags = [self.new_id("flag"), self.new_id("flag")]
        for flag_id, person in zip(flags, ("dev", "ana"), strict=True):
            self.commit(
                store,
                [
                    ev.ContributionFlagged(
                        **self.base(person, cid),
                        flag_id=flag_id,
                        contribution_id=answer_id,
                        contribution_kind=ContributionKind.ANSWER,
                        target_author_id=answer.author_id,
                        reason="off-topic",
                    )
                ],
            )
        self.commit(
            store,
            [
                ev.FlagsDismissed(
                    **self.base("ana", cid),
                    contribution_id=answer_id,
                    contribution_kind=ContributionKind.ANSWER,
                    flag_ids=(flags[1],),
                    note="on topic",
                )
            ],
        )
        moderation: dict[str, Any] = {"contribution_id": answer_id, "contribution_kind": ContributionKind.ANSWER}
        self.commit(
            store,
            [
                ev.ContributionHidden(
                    **self.base("ana", cid),
                    **moderation,
                    author_id=answer.author_id,
                    reason="off-topic",
                    flag_ids=(flags[0],),
                    question_id=question_id,
                )
            ],
        )
        self.commit(
            store,
            [
                ev.ContributionUnhidden(
                    **self.base("ana", cid), **moderation, author_id=answer.author_id, question_id=question_id
                )
            ],
        )
        return revision_id(ContributionKind.QUESTION, question_id, revised.revision), flags[0]

    def withdraw(self, store: Store, kind: ContributionKind, contribution_id: str, *, actor: str | None = None) -> None:
        target = self.contribution(kind, contribution_id)
        self.commit(
            store,
            [
                ev.ContributionWithdrawn(
                    **self.base(actor or target.author_id, target.community_id),
                    contribution_id=contribution_id,
                    contribution_kind=kind,
                    author_id=target.author_id,
                    question_id=target.question_id if isinstance(target, Answer) else None,
                    reason="outdated",
                )
            ],
        )

    def comment(self, store: Store, kind: ContributionKind, target_id: str, person: str) -> str:
        target = self.contribution(kind, target_id)
        comment_id = self.new_id("comment")
        self.commit(
            store,
            [
                ev.CommentPosted(
                    **self.base(person, target.community_id),
                    comment_id=comment_id,
                    target_id=target_id,
                    target_kind=kind,
                    target_author_id=target.author_id,
                    body="Thanks, that helped.",
                )
            ],
        )
        return comment_id

    def endorse(self, store: Store, kind: ContributionKind, target_id: str, person: str) -> str:
        target = self.contribution(kind, target_id)
        endorsement_id = self.new_id("endorsement")
        self.commit(
            store,
            [
                ev.ContributionEndorsed(
                    **self.base(person, target.community_id),
                    endorsement_id=endorsement_id,
                    target_id=target_id,
                    target_kind=kind,
                    target_author_id=target.author_id,
                )
            ],
        )
        return endorsement_id

    def share_resource(self, store: Store, cid: str, person: str, *, tags: Iterable[str] = ("welding",)) -> str:
        rid = self.new_id("resource")
        self.commit(
            store,
            [
                ev.ResourceShared(
                    **self.base(person, cid),
                    resource_id=rid,
                    title="Welding parameters table",
                    kind=ResourceKind.DOCUMENT,
                    location="https://intranet.example.org/docs/welding.pdf",
                    description="Currents and speeds by thickness.",
                    tags=frozenset(tags),
                )
            ],
        )
        return rid

    def record_experience(self, store: Store, cid: str, person: str) -> str:
        xid = self.new_id("experience")
        self.commit(
            store,
            [
                ev.ExperienceRecorded(
                    **self.base(person, cid),
                    experience_id=xid,
                    title="Cracks on thin sheets",
                    body="We lowered the current by 10% and the cracks went away.",
                    kind=ExperienceKind.LESSON,
                    tags=frozenset({"welding", "quality"}),
                )
            ],
        )
        return xid

    def schedule_meeting(self, store: Store, cid: str, person: str = "ana") -> str:
        mid = self.new_id("meeting")
        starts = self.now + timedelta(days=7)
        self.commit(
            store,
            [
                ev.MeetingScheduled(
                    **self.base(person, cid),
                    meeting_id=mid,
                    title="Monthly practice call",
                    description="Bring one problem each.",
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=1),
                    location="Room 4",
                    tags=frozenset({"welding"}),
                )
            ],
        )
        return mid

    def record_attendance(self, store: Store, meeting_id: str, attendees: Iterable[str], *, actor: str = "ana") -> None:
        meeting = self.get_as("meeting", meeting_id, Meeting)
        self.commit(
            store,
            [
                ev.AttendanceRecorded(
                    **self.base(actor, meeting.community_id),
                    meeting_id=meeting_id,
                    attendees=frozenset(attendees),
                )
            ],
        )

    # -- notification preferences -----------------------------------------------------------------

    def change_preferences(
        self,
        store: Store,
        person: str,
        *,
        frequency: Frequency = Frequency.DAILY,
        quiet_hours: QuietHours | None = None,
        unsubscribed: Iterable[str] = (),
    ) -> str:
        self.commit(
            store,
            [
                ev.PreferencesChanged(
                    **self.base(person, None),
                    person_id=person,
                    channel="email",
                    frequency=frequency,
                    quiet_hours=quiet_hours,
                    unsubscribed=frozenset(unsubscribed),
                )
            ],
        )
        return person

    # -- policy reactions -------------------------------------------------------------------------

    def fail_reaction(
        self, store: Store, policy: str, event: ev.DomainEvent, *, retry_at: datetime, attempt: int = 1
    ) -> str:
        """A policy's reaction to `event` raised: kept as a timer due at `retry_at`."""
        self.commit(
            store,
            [
                ev.PolicyReactionFailed(
                    **self.base(SYSTEM_ACTOR, event.community_id),
                    policy=policy,
                    event=event,
                    error="the directory did not answer",
                    attempt=attempt,
                    retry_at=retry_at,
                )
            ],
        )
        return policy_failure_id(policy, event.id)

    def recover_reaction(self, store: Store, policy: str, event: ev.DomainEvent) -> None:
        self.commit(
            store,
            [
                ev.PolicyReactionRecovered(
                    **self.base(SYSTEM_ACTOR, event.community_id), policy=policy, failed_event_id=event.id
                )
            ],
        )

    def defer_and_follow(self, store: Store, event: ev.DomainEvent, *, follower: str = "policies") -> None:
        """A command's commit marked for the log follower, then the follower's batch after it."""
        self.commit(store, [ev.ReactionsDeferred(**self.base(SYSTEM_ACTOR, None), covers=1), event])
        self.commit(
            store,
            [ev.LogFollowed(**self.base(SYSTEM_ACTOR, None), follower=follower, through=self.recorded[-1].position)],
        )

    def record_erasure(self, store: Store, *, pseudonym: str = "former-member-1") -> None:
        """The record of a person's erasure (the rewriting itself is the store's: see
        `coplib.testing.hostdata_contract`)."""
        self.commit(
            store,
            [
                ev.PersonalDataErased(
                    **self.base(SYSTEM_ACTOR, None),
                    pseudonym=pseudonym,
                    contributions="keep",
                    aggregates=0,
                    events=0,
                    messages=0,
                )
            ],
        )

    # -- the answer guarantee ----------------------------------------------------------------------

    def route_question(
        self, store: Store, question_id: str, experts: Iterable[str], *, due_at: datetime | None = None
    ) -> str:
        """The guarantee starts watching a question, routed to `experts`."""
        question = self.get_as("question", question_id, Question)
        self.commit(
            store,
            [
                ev.QuestionRouted(
                    **self.base(SYSTEM_ACTOR, question.community_id),
                    question_id=question_id,
                    asker_id=question.author_id,
                    asked_at=question.created_at,
                    experts=tuple(experts),
                    route=Route.TAG_EXPERTS,
                    due_at=due_at,
                )
            ],
        )
        return question_id

    def escalate_question(
        self, store: Store, question_id: str, step: int, *, notified: Iterable[str], next_due_at: datetime | None
    ) -> None:
        question = self.get_as("question", question_id, Question)
        self.commit(
            store,
            [
                ev.QuestionEscalated(
                    **self.base(SYSTEM_ACTOR, question.community_id),
                    question_id=question_id,
                    step=step,
                    audience=("experts", "facilitator"),
                    notified=tuple(notified),
                    next_due_at=next_due_at,
                )
            ],
        )

    def close_watch(self, store: Store, question_id: str, reason: CloseReason = CloseReason.ANSWERED) -> None:
        question = self.get_as("question", question_id, Question)
        self.commit(
            store,
            [ev.WatchClosed(**self.base(SYSTEM_ACTOR, question.community_id), question_id=question_id, reason=reason)],
        )

    # -- recognition and participation ------------------------------------------------------------

    def award_points(
        self, store: Store, cid: str, person: str, points: int, *, subject_id: str, cause: ev.DomainEvent
    ) -> str:
        entry = self.new_id("entry")
        self.commit(
            store,
            [
                ev.PointsAwarded(
                    **self.base(SYSTEM_ACTOR, cid),
                    entry_id=entry,
                    person_id=person,
                    reason="answer_accepted",
                    points=points,
                    requested=points,
                    capped=False,
                    subject_id=subject_id,
                    cause_event_id=cause.id,
                )
            ],
        )
        return entry

    def reverse_points(
        self, store: Store, cid: str, person: str, entry: str, points: int, *, subject_id: str, cause: ev.DomainEvent
    ) -> str:
        reversal = self.new_id("entry")
        self.commit(
            store,
            [
                ev.PointsReversed(
                    **self.base(SYSTEM_ACTOR, cid),
                    entry_id=reversal,
                    reversed_entry_id=entry,
                    person_id=person,
                    points=points,
                    reason="contribution_withdrawn",
                    awarded_for="answer_accepted",
                    subject_id=subject_id,
                    cause_event_id=cause.id,
                )
            ],
        )
        return reversal

    def review_participation(self, store: Store, cid: str, person: str) -> str:
        """A member promoted, pinned by a facilitator, released and reviewed (four events)."""
        review = self.now + timedelta(days=28)
        self.commit(
            store,
            [
                ev.ParticipationLevelChanged(
                    **self.base(SYSTEM_ACTOR, cid),
                    person_id=person,
                    level=ParticipationLevel.ACTIVE,
                    previous=ParticipationLevel.PERIPHERAL,
                    score=12,
                    review_at=review,
                ),
                ev.ParticipationLevelPinned(
                    **self.base("ana", cid),
                    person_id=person,
                    level=ParticipationLevel.CORE_GROUP,
                    previous=ParticipationLevel.ACTIVE,
                    reason="leads the welding clinic",
                ),
                ev.ParticipationLevelPinned(
                    **self.base("ana", cid),
                    person_id=person,
                    level=None,
                    previous=ParticipationLevel.CORE_GROUP,
                    review_at=review,
                ),
                ev.ParticipationReviewed(**self.base(SYSTEM_ACTOR, cid), person_id=person, score=14, review_at=review),
            ],
        )
        return participation_id(cid, person)

    def award_badge(self, store: Store, cid: str, person: str, badge: str, *, cause: ev.DomainEvent) -> str:
        self.commit(
            store,
            [ev.BadgeAwarded(**self.base(SYSTEM_ACTOR, cid), person_id=person, badge=badge, cause_event_id=cause.id)],
        )
        return badge_award_id(cid, person, badge)

    def progress_badge(
        self,
        store: Store,
        cid: str,
        person: str,
        badge: str,
        key: str,
        items: Iterable[str],
        *,
        withdrawn: bool = False,
    ) -> str:
        self.commit(
            store,
            [
                ev.BadgeProgressed(
                    **self.base(SYSTEM_ACTOR, cid),
                    person_id=person,
                    badge=badge,
                    key=key,
                    items=tuple(items),
                    withdrawn=withdrawn,
                )
            ],
        )
        return badge_progress_id(cid, person, badge)

    # -- value and launch ---------------------------------------------------------------------------

    def tell_value_story(
        self, store: Store, cid: str, person: str, linked: Sequence[tuple[ContributionKind, str]]
    ) -> str:
        story_id = self.new_id("story")
        contributions = tuple(
            LinkedContribution(kind, item, self.contribution(kind, item).author_id) for kind, item in linked
        )
        self.commit(
            store,
            [
                ev.ValueStoryTold(
                    **self.base(person, cid),
                    story_id=story_id,
                    contributions=contributions,
                    result="The answer saved two days of downtime on the press",
                )
            ],
        )
        return story_id

    def revise_value_story(self, store: Store, story_id: str, result: str) -> None:
        story = self.get_as("value_story", story_id, ValueStory)
        self.commit(
            store,
            [
                ev.ValueStoryRevised(
                    **self.base(story.author_id, story.community_id),
                    story_id=story_id,
                    result=result,
                    previous=story.result,
                    reason="a typo",
                )
            ],
        )

    def withdraw_value_story(self, store: Store, story_id: str, *, reason: str = "told twice") -> None:
        story = self.get_as("value_story", story_id, ValueStory)
        self.commit(
            store,
            [
                ev.ValueStoryWithdrawn(
                    **self.base(story.author_id, story.community_id),
                    story_id=story_id,
                    credited=tuple(sorted(story.credited)),
                    reason=reason,
                )
            ],
        )

    def propose_community(self, store: Store, oid: str, person: str = "chloe", *, name: str = "Brazing") -> str:
        candidate_id = self.new_id("candidate")
        facts = LaunchFacts(strategic_theme="Quality of joints", core_group=frozenset({"ana", "ben"}))
        self.commit(
            store,
            [
                ev.CommunityProposed(
                    **self.base(person, None),
                    candidate_id=candidate_id,
                    organisation_id=oid,
                    name=name,
                    vocation=f"Practitioners of {name.lower()} help each other",
                    kind=CommunityKind.TRADE,
                    tags=frozenset({"brazing"}),
                    facts=facts,
                )
            ],
        )
        return candidate_id

    def revise_candidate(self, store: Store, candidate_id: str, *, actor: str = "chloe") -> None:
        current = self.get_as("community_candidate", candidate_id, CommunityCandidate)
        facts = attrs.evolve(current.facts, sponsor="eve", recurring_exchanges=True)
        self.commit(
            store,
            [
                ev.CandidateRevised(
                    **self.base(actor, None),
                    candidate_id=candidate_id,
                    name=current.name,
                    vocation=current.vocation,
                    tags=current.tags,
                    facts=facts,
                )
            ],
        )

    def launch_candidate(self, store: Store, candidate_id: str, oid: str, *, actor: str = "chloe") -> str:
        current = self.get_as("community_candidate", candidate_id, CommunityCandidate)
        cid = self.found_community(store, oid, founder=actor, name=current.name, tags=current.tags)
        self.commit(store, [ev.CandidateLaunched(**self.base(actor, cid), candidate_id=candidate_id)])
        return cid

    def drop_candidate(self, store: Store, candidate_id: str, *, actor: str = "chloe") -> None:
        self.commit(
            store, [ev.CandidateDropped(**self.base(actor, None), candidate_id=candidate_id, reason="no sponsor")]
        )

    # -- a bit of everything ----------------------------------------------------------------------

    def every_kind(self, store: Store) -> dict[str, Ref]:
        """Commit at least one aggregate of every kind, through every event type; returns
        one ref per kind."""
        oid = self.found_organisation(store)
        self.appoint_administrator(store, oid, "eve")
        self.appoint_administrator(store, oid, "ana")
        self.withdraw_administrator(store, oid, "eve")
        cid = self.found_community(store, oid, tags=("welding", "brazing"))
        partner = self.found_organisation(store, actor=SYSTEM_ACTOR, name="Welders' club")
        self.share_community(store, cid, partner)
        self.unshare_community(store, cid, partner)
        self.share_community(store, cid, partner)
        self.update_community(store, cid, name="Welding and brazing")
        self.change_stage(store, cid, LifecycleStage.MATURING)
        charter_ref = self.amend_charter(store, cid)
        self.join(store, cid, "ben")
        self.assign_role(store, cid, "ben", Role.EXPERT, tags=("aluminium",))
        self.invite(store, cid, "chloe")
        self.join(store, cid, "chloe")
        self.request(store, cid, "dev")
        self.decline(store, cid, "dev")
        self.request(store, cid, "dev")
        self.approve(store, cid, "dev")
        self.join(store, cid, "eve")
        self.assign_role(store, cid, "eve", Role.SPONSOR)
        self.withdraw_role(store, cid, "eve", Role.SPONSOR)
        self.leave(store, cid, "eve")
        qid = self.ask(store, cid, "chloe", tags=("aluminium",))
        self.route_question(store, qid, ["ben"], due_at=self.now + timedelta(hours=4))
        self.escalate_question(store, qid, 1, notified=["ana"], next_due_at=self.now + timedelta(hours=24))
        aid = self.answer(store, qid, "ben")
        self.close_watch(store, qid)
        self.accept(store, aid)
        accepted = self.recorded[-1].event
        entry = self.award_points(store, cid, "ben", 15, subject_id=aid, cause=accepted)
        self.reverse_points(store, cid, "ben", entry, 15, subject_id=aid, cause=accepted)
        self.award_points(store, cid, "ben", 15, subject_id=aid, cause=accepted)
        badge = self.award_badge(store, cid, "ben", "first-accepted-answer", cause=accepted)
        participation = self.review_participation(store, cid, "ben")
        progress = self.progress_badge(store, cid, "ben", "mentor", "chloe", [aid, "a-later-answer"])
        self.progress_badge(store, cid, "ben", "mentor", "chloe", ["a-later-answer"], withdrawn=True)
        # lifecycle stage and decline
        life = self.base(SYSTEM_ACTOR, cid)
        self.commit(
            store,
            [
                ev.StageSuggested(
                    **life, month="2026-01", since="2025-11", stage=LifecycleStage.COALESCING, reasons=("young",)
                ),
                ev.DeclineEntered(**self.base(SYSTEM_ACTOR, cid), month="2026-01", reasons=("contributions fell",)),
                ev.DeclineLeft(**self.base(SYSTEM_ACTOR, cid), month="2026-02"),
                ev.LifecycleEvaluated(**self.base(SYSTEM_ACTOR, cid), month="2026-02"),
            ],
        )
        comment_id = self.comment(store, ContributionKind.ANSWER, aid, "chloe")
        endorsement_id = self.endorse(store, ContributionKind.ANSWER, aid, "chloe")
        rid = self.share_resource(store, cid, "ben")
        xid = self.record_experience(store, cid, "dev")
        mid = self.schedule_meeting(store, cid)
        self.record_attendance(store, mid, ["ana", "ben"])
        withdrawn = self.comment(store, ContributionKind.QUESTION, qid, "dev")
        self.withdraw(store, ContributionKind.COMMENT, withdrawn)
        self.remove(store, cid, "dev")
        night = QuietHours(start=time(22, 0), end=time(7, 0), timezone="Europe/Paris")
        self.change_preferences(store, "chloe", quiet_hours=night, unsubscribed=("role_assigned",))
        self.change_preferences(store, "chloe", frequency=Frequency.WEEKLY, quiet_hours=night)
        asked = self.recorded[-1].event
        failure = self.fail_reaction(store, "welcome", asked, retry_at=self.now + timedelta(minutes=5))
        self.fail_reaction(store, "welcome", asked, retry_at=self.now + timedelta(minutes=30), attempt=2)
        self.recover_reaction(store, "welcome", asked)
        self.defer_and_follow(
            store, ev.PreferencesChanged(**self.base("dev", None), person_id="dev", frequency=Frequency.DAILY)
        )
        self.record_erasure(store)
        revision, flag = self.moderate(store, qid, aid)
        story = self.tell_value_story(
            store, cid, "chloe", [(ContributionKind.ANSWER, aid), (ContributionKind.RESOURCE, rid)]
        )
        self.revise_value_story(store, story, "The answer saved two days of downtime on the big press")
        self.withdraw_value_story(store, self.tell_value_story(store, cid, "chloe", [(ContributionKind.ANSWER, aid)]))
        candidate = self.propose_community(store, oid)
        self.revise_candidate(store, candidate)
        self.launch_candidate(store, candidate, oid)
        self.drop_candidate(store, self.propose_community(store, oid, name="Soldering"))
        return {
            "revision": Ref("revision", revision),
            "flag": Ref("flag", flag),
            "organisation": Ref("organisation", oid),
            "community": Ref("community", cid),
            "charter_version": Ref("charter_version", charter_ref),
            "membership": Ref("membership", membership_id(cid, "ben")),
            "question": Ref("question", qid),
            "answer": Ref("answer", aid),
            "comment": Ref("comment", comment_id),
            "endorsement": Ref("endorsement", endorsement_id),
            "resource": Ref("resource", rid),
            "experience": Ref("experience", xid),
            "meeting": Ref("meeting", mid),
            "preferences": Ref("preferences", "chloe"),
            "policy_failure": Ref("policy_failure", failure),
            "log_follower": Ref("log_follower", "policies"),
            "answer_watch": Ref("answer_watch", qid),
            "points_entry": Ref("points_entry", entry),
            "points_balance": Ref("points_balance", points_balance_id(cid, "ben")),
            "badge_award": Ref("badge_award", badge),
            "participation": Ref("participation", participation),
            "badge_progress": Ref("badge_progress", progress),
            "value_story": Ref("value_story", story),
            "community_candidate": Ref("community_candidate", candidate),
            "lifecycle": Ref("lifecycle", cid),
        }
