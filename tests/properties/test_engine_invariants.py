"""Generated command sequences run through the engine keep the domain's invariants, whoever
issues them and whatever gets refused on the way:

- at most one accepted answer per question, and it is a live answer to that question;
- every answer belongs to an existing question of the same community;
- nothing comes from a non-member: every contribution's author was an active member when it
  was recorded (in private communities above all);
- roles are held only by active members, and only roles the charter uses;
- one event for every change: the state changes only when events are recorded, exactly the
  aggregates they touch change, and replaying the stored events gives the stored state.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

from coplib import (
    SYSTEM,
    Admission,
    Charter,
    CharterRule,
    CollaborationMode,
    Community,
    ContributionKind,
    CoplibError,
    Engine,
    ManualClock,
    Membership,
    MembershipPolicy,
    MembershipStatus,
    Question,
    Role,
    Visibility,
)
from coplib.domain import events as ev
from coplib.domain.community import ALL_MODES, ALL_ROLES
from coplib.domain.contributions import Answer
from coplib.domain.history import Ref, apply, replay, touched
from coplib.domain.membership import membership_id
from coplib.domain.permissions import STEWARDS
from tests.unit.support import START, open_engine, snapshot

PEOPLE = ("ana", "ben", "chloe", "dev", "eve", "olga")
ROLES = (Role.FACILITATOR, Role.SPONSOR, Role.COORDINATOR, Role.DOCUMENTALIST, Role.EXPERT, Role.CORE_GROUP)
#: Closing freezes a community: it comes up, but seldom.
STAGES = ("coalescing", "maturing", "stewardship", "transformation") * 3 + ("closed",)
#: Events that add a contribution: their actor must be an active member.
CONTRIBUTING = (
    ev.QuestionAsked,
    ev.AnswerPosted,
    ev.CommentPosted,
    ev.ContributionEndorsed,
    ev.ResourceShared,
    ev.ExperienceRecorded,
    ev.MeetingScheduled,
    ev.AnswerAccepted,
    ev.AttendanceRecorded,
)

COMMAND_NAMES = (
    "join",
    "request",
    "approve",
    "decline",
    "invite",
    "leave",
    "remove",
    "assign_role",
    "withdraw_role",
    "ask",
    "answer",
    "accept",
    "comment",
    "endorse",
    "withdraw",
    "share_resource",
    "record_experience",
    "schedule_meeting",
    "record_attendance",
    "amend_charter",
    "update_visibility",
    "change_stage",
    "wait",
)
#: Commands for a facilitator or the sponsor: they are often given one as actor.
STEWARDING = ("approve", "decline", "invite", "remove", "assign_role", "withdraw_role", "amend_charter")
STEWARDING += ("update_visibility", "change_stage", "schedule_meeting", "record_attendance", "accept", "withdraw")
#: The everyday commands come up more often than the rare ones.
FREQUENT = ("ask", "answer", "accept", "comment", "endorse", "join", "invite", "assign_role", "withdraw")
Command = tuple[str, int, int, int, int]
commands = st.tuples(
    st.sampled_from(COMMAND_NAMES + FREQUENT * 2),
    st.integers(0, 20),
    st.integers(0, 20),
    st.integers(0, 20),
    st.integers(0, 63),
)


def pick(items: list[Any] | tuple[Any, ...], index: int) -> Any:
    return items[index % len(items)] if items else None


class Scenario:
    """An organisation with an open, a restricted and a private community, all animated by
    ana, and the ids of everything contributed so far (for later commands to point at)."""

    def __init__(self) -> None:
        self.clock = ManualClock(START)
        self.engine: Engine = open_engine(self.clock)
        org = self.engine.create_organisation("eve", "Acme", organisation_id="acme")
        self.communities = [
            self.engine.create_community("ana", org.id, name="Open", vocation="Open to all", community_id="open").id,
            self.engine.create_community(
                "ana",
                org.id,
                name="Restricted",
                charter=Charter(vocation="On approval", membership_policy=MembershipPolicy(Admission.APPROVAL)),
                visibility=Visibility.RESTRICTED,
                community_id="restricted",
            ).id,
            self.engine.create_community(
                "ana",
                org.id,
                name="Private",
                charter=Charter(vocation="By invitation", membership_policy=MembershipPolicy(Admission.INVITATION)),
                visibility=Visibility.PRIVATE,
                community_id="private",
            ).id,
        ]
        # A few members to start with, so that most commands have someone to act.
        for person in ("ben", "chloe", "dev"):
            self.engine.join(person, "open")
        self.engine.request_membership("ben", "restricted")
        self.engine.approve("ana", "restricted", "ben")
        self.engine.invite("ana", "private", "chloe")
        self.engine.join("chloe", "private")
        self.questions: list[str] = []
        self.answers: list[str] = []
        self.meetings: list[str] = []
        self.contributions: list[tuple[ContributionKind, str]] = []
        self.refusals: Counter[str] = Counter()
        # And a question in each community, one of them answered, for the first commands to
        # act on.
        for asker, cid in (("dev", "open"), ("ben", "restricted"), ("chloe", "private")):
            self.questions.append(self.engine.ask(asker, cid, title="Where to start?", body="Help").id)
            self.contributions.append((ContributionKind.QUESTION, self.questions[-1]))
        self.answers.append(self.engine.answer("ben", self.questions[0], body="Here").id)
        self.contributions.append((ContributionKind.ANSWER, self.answers[-1]))

    def community_of(self, kind: ContributionKind, target: str) -> str:
        found = self.engine.store.get(Ref(kind.value, target))
        assert found is not None
        community_id: str = found.value.community_id
        return community_id

    def person(self, index: int, community_id: str, status: MembershipStatus = MembershipStatus.ACTIVE) -> str:
        """Mostly someone with `status` in the community (so that commands often succeed),
        sometimes anyone at all (so that they are often refused too)."""
        found = sorted(m.person_id for m in self.engine.members(SYSTEM, community_id, statuses=[status]))
        return pick(found, index) if found and index < 14 else pick(PEOPLE, index)

    def run(self, command: Command) -> None:
        name, p, i, j, bits = command
        e = self.engine
        cid = pick(self.communities, i)
        target: tuple[ContributionKind, str] | None = pick(self.contributions, i)
        if name in ("comment", "endorse", "withdraw"):
            if target is None:
                return
            cid = self.community_of(*target)
        if name == "answer":
            if not self.questions:
                return
            target = (ContributionKind.QUESTION, pick(self.questions, i))
            cid = self.community_of(*target)
        if name == "accept":
            if not self.answers:
                return
            target = (ContributionKind.ANSWER, pick(self.answers, i))
            cid = self.community_of(*target)
        if name == "record_attendance":
            if not self.meetings:
                return
            target = (ContributionKind.MEETING, pick(self.meetings, i))
            cid = self.community_of(*target)
        actor = self.person(p, cid)
        if name in STEWARDING and p < 8:
            stewards = sorted(m.person_id for m in e.members(SYSTEM, cid) if m.holds_any(STEWARDS))
            actor = pick(stewards, p) or actor
        other = self.person(j, cid, MembershipStatus.PENDING) if name in ("approve", "decline") else self.person(j, cid)
        match name:
            case "join":
                e.join(pick(PEOPLE, p), cid)
            case "request":
                e.request_membership(pick(PEOPLE, p), cid)
            case "approve":
                e.approve(actor, cid, other)
            case "decline":
                e.decline(actor, cid, other, reason="Not now")
            case "invite":
                e.invite(actor, cid, pick(PEOPLE, j))
            case "leave":
                e.leave(actor, cid)
            case "remove":
                e.remove(actor, cid, other)
            case "assign_role":
                role = pick(ROLES, bits)
                e.assign_role(actor, cid, other, role, tags=["tig"] if role is Role.EXPERT else [])
            case "withdraw_role":
                held = e.membership(SYSTEM, cid, other)
                roles = sorted(held.roles - {Role.MEMBER}) if held is not None and bits % 2 else []
                e.withdraw_role(actor, cid, other, pick(roles, bits) or pick(ROLES, bits))
            case "ask":
                self.questions.append(e.ask(actor, cid, title=f"Question {bits}", body="Help", tags=["tig"]).id)
                self.contributions.append((ContributionKind.QUESTION, self.questions[-1]))
            case "answer":
                assert target is not None
                self.answers.append(e.answer(actor, target[1], body=f"Answer {bits}").id)
                self.contributions.append((ContributionKind.ANSWER, self.answers[-1]))
            case "accept":
                assert target is not None
                if bits % 2:  # the asker, more often than chance would have it
                    question = e.store.get(Ref("question", e.store.get(Ref(*target)).value.question_id))
                    actor = getattr(getattr(question, "value", None), "author_id", actor)
                e.accept(actor, target[1])
            case "comment":
                assert target is not None
                e.comment(actor, target[0], target[1], body="A comment")
            case "endorse":
                assert target is not None
                e.endorse(actor, target[0], target[1])
            case "withdraw":
                assert target is not None
                e.withdraw(actor, target[0], target[1], reason="Changed my mind")
            case "share_resource":
                resource = e.share_resource(actor, cid, title="Guide", location="https://guide", tags=["tig"])
                self.contributions.append((ContributionKind.RESOURCE, resource.id))
            case "record_experience":
                experience = e.record_experience(actor, cid, title="Lesson", body="Learned")
                self.contributions.append((ContributionKind.EXPERIENCE, experience.id))
            case "schedule_meeting":
                start = self.clock.now() + timedelta(days=1)
                meeting = e.schedule_meeting(actor, cid, title="Call", starts_at=start, ends_at=start)
                self.meetings.append(meeting.id)
                self.contributions.append((ContributionKind.MEETING, meeting.id))
            case "record_attendance":
                assert target is not None
                members = sorted(m.person_id for m in e.members(SYSTEM, cid))
                attendees = [person for n, person in enumerate(members) if bits >> n & 1]
                attendees += ["eve"] if bits & 32 else []  # eve is seldom a member
                e.record_attendance(actor, target[1], attendees)
            case "amend_charter":
                current = e.community(SYSTEM, cid).charter
                dropped = {r for n, r in enumerate(ROLES[1:]) if bits >> n & 1}
                charter = attrs.evolve(
                    current,
                    roles=ALL_ROLES - dropped,
                    collaboration_modes=ALL_MODES - ({CollaborationMode.QUESTIONS} if bits & 32 else set()),
                    rules={CharterRule.GIVE_BEFORE_RECEIVE} if bits & 16 else set(),
                )
                e.amend_charter(actor, cid, charter, reason=f"Amendment {bits}")
            case "update_visibility":
                e.update_community(actor, cid, visibility=pick(list(Visibility), bits))
            case "change_stage":
                e.change_stage(actor, cid, pick(STAGES, bits))
            case "wait":
                self.clock.advance(timedelta(minutes=bits + 1))


def check_one_step(scenario: Scenario, command: Command) -> None:
    """Run one command and check that the state changed exactly as its events say."""
    engine = scenario.engine
    before_state = snapshot(engine)
    before_events = engine.store.events(limit=1_000_000)
    before_outbox = engine.store.pending_messages(limit=1_000_000)
    refused: CoplibError | None = None
    try:
        scenario.run(command)
    except CoplibError as error:
        refused = error
    if refused is not None:
        scenario.refusals[type(refused).__name__] += 1
        assert snapshot(engine) == before_state, f"{command} was refused ({refused}) but changed the state"
        assert engine.store.events(limit=1_000_000) == before_events
        assert engine.store.pending_messages(limit=1_000_000) == before_outbox
        return
    after_events = engine.store.events(limit=1_000_000)
    assert after_events[: len(before_events)] == before_events, "recorded events never change"
    new = [r.event for r in after_events[len(before_events) :]]
    after_state = snapshot(engine)
    changed = {ref for ref in after_state.keys() | before_state.keys() if after_state.get(ref) != before_state.get(ref)}
    written = {ref for event in new for ref in touched(event)}
    assert changed == written, f"{command}: changed {changed}, but its events touch {written}"
    for ref in written:
        assert after_state[ref][1] == before_state.get(ref, (None, 0))[1] + 1
    if not new:
        assert engine.store.pending_messages(limit=1_000_000) == before_outbox


def check_invariants(engine: Engine) -> None:
    stored = {ref: value for ref, (value, _) in snapshot(engine).items()}
    recorded = [r.event for r in engine.store.events(limit=1_000_000)]

    # One event for every change: the stored state is exactly what the events give.
    assert replay(recorded) == stored

    communities = {v.id: v for v in stored.values() if isinstance(v, Community)}
    questions = {v.id: v for v in stored.values() if isinstance(v, Question)}
    answers = {v.id: v for v in stored.values() if isinstance(v, Answer)}
    memberships = [v for v in stored.values() if isinstance(v, Membership)]

    for answer in answers.values():
        question = questions.get(answer.question_id)
        assert question is not None, f"answer {answer.id} belongs to no question"
        assert question.community_id == answer.community_id
    for question in questions.values():
        live = [a for a in answers.values() if a.question_id == question.id and not a.withdrawn]
        assert question.answer_count == len(live)
        if question.accepted_answer_id is not None:
            assert question.accepted_answer_id in {a.id for a in live}
            thread = engine.question(SYSTEM, question.id)
            assert thread.accepted_answer is not None and thread.accepted_answer.id == question.accepted_answer_id

    for membership in memberships:
        if membership.roles or membership.expertise:
            assert membership.status is MembershipStatus.ACTIVE, f"{membership} holds roles without being active"
        if membership.active:
            assert Role.MEMBER in membership.roles
            assert membership.roles <= communities[membership.community_id].charter.roles
            assert (Role.EXPERT in membership.roles) == bool(membership.expertise)
    for community in communities.values():
        facilitators = engine.members(SYSTEM, community.id, role=Role.FACILITATOR)
        assert facilitators, f"{community.id} lost its last facilitator"

    # Nothing from a non-member: replay the history and look at the state each event met.
    state: dict[Ref, Any] = {}
    for event in recorded:
        if isinstance(event, CONTRIBUTING) and event.actor_id != SYSTEM:
            assert event.community_id is not None
            membership = state.get(Ref("membership", membership_id(event.community_id, event.actor_id)))
            community = state[Ref("community", event.community_id)]
            assert isinstance(membership, Membership) and membership.active, (
                f"{event.TYPE} by {event.actor_id}, not an active member of the "
                f"{community.visibility.value} community {event.community_id}"
            )
        if isinstance(event, ev.ContributionEndorsed):
            assert event.actor_id != event.target_author_id
        for ref in touched(event):
            state[ref] = apply(ref, state.get(ref), event)


@given(st.lists(commands, min_size=10, max_size=60))
def test_generated_command_sequences_keep_the_invariants(sequence: list[Command]) -> None:
    scenario = Scenario()
    for command in sequence:
        check_one_step(scenario, command)
    check_invariants(scenario.engine)


def test_the_generated_commands_reach_every_kind_of_outcome() -> None:
    """A guard on the generator: a fixed long sequence succeeds and is refused in all the
    ways the engine refuses (so the property above is not vacuous)."""
    scenario = Scenario()
    sequence: list[Command] = [
        ("join", 1, 0, 0, 0),
        ("join", 2, 0, 0, 0),
        ("request", 3, 1, 0, 0),
        ("approve", 0, 1, 3, 0),
        ("invite", 0, 2, 1, 0),
        ("join", 1, 2, 0, 0),
        ("ask", 3, 1, 0, 1),
        ("answer", 2, 0, 0, 2),  # chloe is no member of the restricted community: refused
        ("answer", 0, 0, 0, 2),
        ("accept", 3, 0, 0, 0),
        ("ask", 1, 2, 0, 3),
        ("answer", 5, 1, 0, 0),  # olga left the organisation
        ("endorse", 1, 1, 0, 0),
        ("withdraw", 0, 1, 0, 0),
        ("assign_role", 0, 0, 1, 4),
        ("amend_charter", 0, 0, 0, 8),  # drops the expert role ben holds: refused
        ("leave", 0, 2, 0, 0),  # ana is the last facilitator: refused
        ("accept", 2, 0, 0, 0),
        ("wait", 0, 0, 0, 5),
        ("answer", 4, 1, 0, 9),  # unknown question: the list wraps around, still refused for eve
    ]
    for command in sequence:
        check_one_step(scenario, command)
    check_invariants(scenario.engine)

    assert {"PermissionDeniedError", "CharterViolationError", "ConflictError"} <= set(scenario.refusals)
    assert len(scenario.engine.store.events()) > 20
