"""The engine against a small reference model: plain dicts of memberships, roles, questions,
answers and acceptance, and the rules of DOMAIN.md written out again from scratch. Hypothesis
drives both with the same commands; they must agree on every outcome (done, or refused with
which error) and on the state after each step."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from coplib import (
    SYSTEM,
    Admission,
    Charter,
    ConflictError,
    CoplibError,
    ManualClock,
    MembershipPolicy,
    NotFoundError,
    PermissionDeniedError,
    Role,
    Visibility,
)
from coplib.domain.history import Ref
from coplib.domain.membership import membership_id
from tests.unit.support import START, open_engine

ACTIVE_PEOPLE = ("ana", "ben", "chloe", "dev")
PEOPLE = (*ACTIVE_PEOPLE, "olga", "zed")  # olga left the organisation; zed is unknown to it
#: community -> (visibility, admission)
COMMUNITIES = {
    "open": ("open", "open"),
    "guild": ("restricted", "approval"),
    "club": ("private", "invitation"),
}
ROLES = ("facilitator", "sponsor", "coordinator", "documentalist")
STEWARDS = {"facilitator", "sponsor"}
GATEKEEPERS = {"facilitator", "sponsor", "coordinator"}
MODERATORS = {"facilitator", "documentalist"}

DONE = None  # the expected outcome of a command that goes through


@attrs.define
class QuestionRow:
    community: str
    author: str
    created: datetime
    withdrawn: bool = False
    accepted: str | None = None


@attrs.define
class AnswerRow:
    question: str
    author: str
    withdrawn: bool = False


@attrs.define
class Model:
    """What the engine should hold, in plain dicts, and what it should say to each command."""

    status: dict[tuple[str, str], str] = attrs.field(factory=dict)
    roles: dict[tuple[str, str], set[str]] = attrs.field(factory=dict)
    questions: dict[str, QuestionRow] = attrs.field(factory=dict)
    answers: dict[str, AnswerRow] = attrs.field(factory=dict)

    # -- who is who ---------------------------------------------------------------------------

    def active(self, c: str, p: str) -> bool:
        return self.status.get((c, p)) == "active"

    def holds(self, c: str, p: str, wanted: set[str]) -> bool:
        return self.active(c, p) and bool(self.roles.get((c, p), set()) & wanted)

    def refusal_of_person(self, c: str, p: str) -> type[CoplibError] | None:
        """The checks before any rule: unknown, gone from the organisation, removed."""
        if p not in ACTIVE_PEOPLE or self.status.get((c, p)) == "removed":
            return PermissionDeniedError
        return None

    def seen_by(self, c: str, p: str, outcome: type[CoplibError] | None) -> type[CoplibError] | None:
        """A refusal in a private community that `p` may not see is the answer an unknown id
        gets: to them the community and what it holds do not exist."""
        sees = p in ACTIVE_PEOPLE and self.status.get((c, p)) in ("active", "invited", "pending")
        if outcome is PermissionDeniedError and COMMUNITIES[c][0] == "private" and not sees:
            return NotFoundError
        return outcome

    def needs(self, c: str, p: str, wanted: set[str], *, owner: bool = False) -> type[CoplibError] | None:
        refused = self.refusal_of_person(c, p)
        if refused or self.holds(c, p, wanted) or (owner and self.active(c, p)):
            return refused
        return PermissionDeniedError

    def is_last_facilitator(self, c: str, p: str) -> bool:
        others = [q for q in PEOPLE if q != p and self.holds(c, q, {"facilitator"})]
        return self.holds(c, p, {"facilitator"}) and not others

    def set_status(self, c: str, p: str, status: str) -> None:
        self.status[(c, p)] = status
        self.roles[(c, p)] = set()  # roles go with an active membership, and start afresh

    # -- membership ----------------------------------------------------------------------------

    def join(self, p: str, c: str) -> type[CoplibError] | None:
        visibility, admission = COMMUNITIES[c]
        status = self.status.get((c, p))
        if self.refusal_of_person(c, p) or status == "active":
            return PermissionDeniedError
        if status != "invited" and (visibility == "private" or admission != "open"):
            return PermissionDeniedError
        self.set_status(c, p, "active")
        return DONE

    def request(self, p: str, c: str) -> type[CoplibError] | None:
        visibility, admission = COMMUNITIES[c]
        if self.refusal_of_person(c, p) or self.status.get((c, p)) in ("active", "pending", "invited"):
            return PermissionDeniedError
        if visibility == "private" or admission != "approval":
            return PermissionDeniedError
        self.set_status(c, p, "pending")
        return DONE

    def approve(self, actor: str, c: str, p: str) -> type[CoplibError] | None:
        refused = self.needs(c, actor, GATEKEEPERS)
        if refused:
            return refused
        if self.status.get((c, p)) != "pending":
            return ConflictError
        self.set_status(c, p, "active")
        return DONE

    def invite(self, actor: str, c: str, p: str) -> type[CoplibError] | None:
        refused = self.needs(c, actor, GATEKEEPERS)
        if refused:
            return refused
        if p == "zed":
            return NotFoundError
        if p not in ACTIVE_PEOPLE or self.status.get((c, p)) in ("active", "invited"):
            return ConflictError
        if self.status.get((c, p)) == "removed" and not self.holds(c, actor, STEWARDS):
            return PermissionDeniedError
        self.set_status(c, p, "invited")
        return DONE

    def leave(self, p: str, c: str) -> type[CoplibError] | None:
        if self.refusal_of_person(c, p) or self.status.get((c, p)) not in ("active", "invited", "pending"):
            return PermissionDeniedError
        if self.is_last_facilitator(c, p):
            return ConflictError
        self.set_status(c, p, "left")
        return DONE

    def remove(self, actor: str, c: str, p: str) -> type[CoplibError] | None:
        refused = self.needs(c, actor, STEWARDS)
        if refused:
            return refused
        if self.status.get((c, p)) not in ("active", "invited", "pending") or self.is_last_facilitator(c, p):
            return ConflictError
        self.set_status(c, p, "removed")
        return DONE

    def assign_role(self, actor: str, c: str, p: str, role: str) -> type[CoplibError] | None:
        refused = self.needs(c, actor, STEWARDS)
        if refused:
            return refused
        if not self.active(c, p):
            return ConflictError
        self.roles[(c, p)].add(role)
        return DONE

    def withdraw_role(self, actor: str, c: str, p: str, role: str) -> type[CoplibError] | None:
        refused = self.needs(c, actor, STEWARDS)
        if refused:
            return refused
        if (c, p) not in self.status:
            return NotFoundError
        if role in self.roles[(c, p)] and role == "facilitator" and self.is_last_facilitator(c, p):
            return ConflictError
        self.roles[(c, p)].discard(role)
        return DONE

    # -- questions and answers ------------------------------------------------------------------

    def ask(self, p: str, c: str) -> type[CoplibError] | None:
        return self.needs(c, p, set(), owner=True)

    def answer(self, p: str, q: str) -> type[CoplibError] | None:
        question = self.questions[q]
        refused = self.needs(question.community, p, set(), owner=True)
        if refused:
            return refused
        return ConflictError if question.withdrawn else DONE

    def accept(self, p: str, a: str) -> type[CoplibError] | None:
        answer = self.answers[a]
        question = self.questions[answer.question]
        refused = self.needs(question.community, p, {"facilitator"}, owner=p == question.author)
        if refused:
            return refused
        if answer.withdrawn or question.withdrawn:
            return ConflictError
        question.accepted = a
        return DONE

    def withdraw_answer(self, p: str, a: str) -> type[CoplibError] | None:
        answer = self.answers[a]
        question = self.questions[answer.question]
        # The permission first: what a community holds is nobody else's business.
        refused = self.needs(question.community, p, MODERATORS, owner=p == answer.author)
        if refused:
            return refused
        if answer.withdrawn:
            return ConflictError
        answer.withdrawn = True
        if question.accepted == a:
            question.accepted = None
        return DONE

    def withdraw_question(self, p: str, q: str) -> type[CoplibError] | None:
        question = self.questions[q]
        refused = self.needs(question.community, p, MODERATORS, owner=p == question.author)
        if refused:
            return refused
        if question.withdrawn:
            return ConflictError
        question.withdrawn = True
        return DONE

    def live_answers(self, q: str) -> list[str]:
        return [a for a, row in self.answers.items() if row.question == q and not row.withdrawn]


#: The open community more often: most of the life of a portfolio happens in open ones.
communities = st.sampled_from(("open", "open", "guild", "club"))
roles = st.sampled_from(ROLES)

# Who gives each command, and to whom. People are chosen by what they are in the community
# (a status, a role held, the asker or author, or no membership at all) rather than drawn
# among everyone: else most commands would be refused for the same dull reason, and a wrong
# rule would show only after a few precise steps (a coordinator is named, then accepts an
# answer) that chance alone seldom takes. Each list holds every kind a command can meet; the
# likeliest come first and more than once.
MEMBERSHIP_ACTORS = ("outsider", "left", "removed", "removed", "invited", "pending", "active", "facilitator")
STEWARDS_AND_OTHERS = ("facilitator", "facilitator", "sponsor", "coordinator", "documentalist", "active")
STEWARDS_AND_OTHERS += ("removed", "left", "outsider")
GONE = ("left", "removed", "outsider")
ACTORS: dict[str, tuple[str, ...]] = {
    "join": MEMBERSHIP_ACTORS,
    "request": MEMBERSHIP_ACTORS,
    "leave": MEMBERSHIP_ACTORS,
    "invite": STEWARDS_AND_OTHERS,
    "approve": STEWARDS_AND_OTHERS,
    "remove": STEWARDS_AND_OTHERS,
    "assign_role": STEWARDS_AND_OTHERS,
    "withdraw_role": STEWARDS_AND_OTHERS,
    "ask": ("active", "active", "facilitator", "invited", "pending", "left", "removed", "outsider"),
    "answer": ("active", "active", "facilitator", "asker", "invited", "left", "removed", "outsider"),
    "accept": ("asker", "asker", "facilitator", "coordinator", "sponsor", "documentalist", "active", "author", *GONE),
    "withdraw_answer": ("author", "author", "facilitator", "documentalist", "coordinator", "active", "asker", *GONE),
    "withdraw_question": ("asker", "asker", "facilitator", "documentalist", "coordinator", "active", *GONE),
    "wait": ("active",),
}
TARGETS: dict[str, tuple[str, ...]] = {
    "invite": ("outsider", "outsider", "left", "removed", "invited", "pending", "active"),
    "approve": ("pending", "pending", "active", "invited", "outsider"),
    "remove": ("active", "active", "invited", "pending", "facilitator", "removed", "left", "outsider"),
    "assign_role": ("active", "active", "facilitator", "coordinator", "invited", "left", "outsider"),
    "withdraw_role": ("facilitator", "coordinator", "sponsor", "documentalist", "active", "left", "outsider"),
}
COMMANDS = tuple(ACTORS)
Step = tuple[str, str, str, str]


@st.composite
def steps(draw: st.DrawFn) -> Step:
    """A command, the kind of its actor, the kind of its target person and a role."""
    command = draw(st.sampled_from(COMMANDS))
    actor = draw(st.sampled_from(ACTORS[command]))
    target = draw(st.sampled_from(TARGETS.get(command, ("active",))))
    role = draw(roles) if command in ("assign_role", "withdraw_role") else "member"
    return command, actor, target, role


class EngineAgainstModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(START)
        self.engine = open_engine(self.clock)
        self.model = Model()
        self.engine.create_organisation("ana", "Acme", organisation_id="acme")
        for cid, (visibility, admission) in COMMUNITIES.items():
            charter = Charter(vocation=f"The {cid}", membership_policy=MembershipPolicy(Admission(admission)))
            self.engine.create_community(
                "ana", "acme", name=cid.title(), charter=charter, visibility=Visibility(visibility), community_id=cid
            )
            self.model.status[(cid, "ana")] = "active"
            self.model.roles[(cid, "ana")] = {"facilitator"}
        # A few members to start with, so that not everything is done by ana.
        for p, c in [("ben", "open"), ("chloe", "open"), ("dev", "open"), ("ben", "guild"), ("chloe", "club")]:
            if c == "open":
                self.engine.join(p, c)
            elif c == "guild":
                self.engine.request_membership(p, c)
                self.engine.approve("ana", c, p)
            else:
                self.engine.invite("ana", c, p)
                self.engine.join(p, c)
            self.model.set_status(c, p, "active")
        self.outcomes: list[str] = []

    def both(self, expected: type[CoplibError] | None, command: Callable[[], Any]) -> Any:
        """Run `command` on the engine: it must do what the model expected."""
        if expected is None:
            result = command()
            self.outcomes.append("done")
            return result
        try:
            result = command()
        except expected as refused:
            reason = refused.reason if isinstance(refused, PermissionDeniedError) else str(refused)
        else:
            raise AssertionError(f"the model expected {expected.__name__}, the engine gave {result!r}")
        assert reason, "every refusal says why"
        self.outcomes.append(expected.__name__)
        return None

    # -- the commands, each run on both sides ----------------------------------------------------

    def join(self, p: str, c: str) -> None:
        self.both(self.model.seen_by(c, p, self.model.join(p, c)), lambda: self.engine.join(p, c))

    def request(self, p: str, c: str) -> None:
        self.both(self.model.seen_by(c, p, self.model.request(p, c)), lambda: self.engine.request_membership(p, c))

    def approve(self, actor: str, c: str, p: str) -> None:
        self.both(
            self.model.seen_by(c, actor, self.model.approve(actor, c, p)), lambda: self.engine.approve(actor, c, p)
        )

    def invite(self, actor: str, c: str, p: str) -> None:
        self.both(self.model.seen_by(c, actor, self.model.invite(actor, c, p)), lambda: self.engine.invite(actor, c, p))

    def leave(self, p: str, c: str) -> None:
        self.both(self.model.seen_by(c, p, self.model.leave(p, c)), lambda: self.engine.leave(p, c))

    def remove(self, actor: str, c: str, p: str) -> None:
        self.both(self.model.seen_by(c, actor, self.model.remove(actor, c, p)), lambda: self.engine.remove(actor, c, p))

    def assign_role(self, actor: str, c: str, p: str, role: str) -> None:
        expected = self.model.seen_by(c, actor, self.model.assign_role(actor, c, p, role))
        self.both(expected, lambda: self.engine.assign_role(actor, c, p, role))

    def withdraw_role(self, actor: str, c: str, p: str, role: str) -> None:
        expected = self.model.seen_by(c, actor, self.model.withdraw_role(actor, c, p, role))
        self.both(expected, lambda: self.engine.withdraw_role(actor, c, p, role))

    def ask(self, p: str, c: str) -> None:
        expected = self.model.seen_by(c, p, self.model.ask(p, c))
        question = self.both(expected, lambda: self.engine.ask(p, c, title="Which rod?", body="Help"))
        if question is not None:
            self.model.questions[question.id] = QuestionRow(c, p, self.clock.now())

    def answer(self, p: str, q: str) -> None:
        expected = self.model.seen_by(self.model.questions[q].community, p, self.model.answer(p, q))
        answer = self.both(expected, lambda: self.engine.answer(p, q, body="Nickel rods"))
        if answer is not None:
            self.model.answers[answer.id] = AnswerRow(q, p)

    def accept(self, p: str, a: str) -> None:
        c = self.model.questions[self.model.answers[a].question].community
        self.both(self.model.seen_by(c, p, self.model.accept(p, a)), lambda: self.engine.accept(p, a))

    def withdraw_answer(self, p: str, a: str) -> None:
        c = self.model.questions[self.model.answers[a].question].community
        expected = self.model.seen_by(c, p, self.model.withdraw_answer(p, a))
        self.both(expected, lambda: self.engine.withdraw(p, "answer", a))

    def withdraw_question(self, p: str, q: str) -> None:
        c = self.model.questions[q].community
        expected = self.model.seen_by(c, p, self.model.withdraw_question(p, q))
        self.both(expected, lambda: self.engine.withdraw(p, "question", q))

    def time_passes(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    # -- the same commands, by people chosen for what they are --------------------------------
    # Drawn among everyone, most commands would be refused for the same dull reason; chosen by
    # status and role, they meet every rule (a removed member trying to come back, a
    # coordinator accepting an answer, a facilitator removing herself...).

    def someone(self, c: str, kind: str, index: int) -> str:
        """A person who is `kind` in community `c`: a membership status, a role held, or an
        outsider (no membership at all); anyone, when nobody is."""
        if kind == "outsider":
            found = [p for p in PEOPLE if (c, p) not in self.model.status]
        elif kind in ROLES:
            found = [p for p in PEOPLE if self.model.holds(c, p, {kind})]
        else:
            found = [p for p in PEOPLE if self.model.status.get((c, p)) == kind]
        pool = found or list(PEOPLE)
        return pool[index % len(pool)]

    @rule(step=steps(), c=communities, i=st.integers(0, 5), j=st.integers(0, 5))
    def step(self, step: Step, c: str, i: int, j: int) -> None:
        """One command, with its actor (and target person) chosen by what they are in `c`, or
        in the community of the question or answer it acts on (the `i`-th one asked)."""
        command, actor_kind, target_kind, role = step
        actor, target = self.someone(c, actor_kind, i), self.someone(c, target_kind, j)
        questions, answers = sorted(self.model.questions), sorted(self.model.answers)
        if command in ("answer", "withdraw_question") and questions:
            q = questions[i % len(questions)]
            question = self.model.questions[q]
            actor = question.author if actor_kind == "asker" else self.someone(question.community, actor_kind, j)
            getattr(self, command)(actor, q)
        elif command in ("accept", "withdraw_answer") and answers:
            a = answers[i % len(answers)]
            question = self.model.questions[self.model.answers[a].question]
            if actor_kind in ("asker", "author"):
                actor = question.author if actor_kind == "asker" else self.model.answers[a].author
            else:
                actor = self.someone(question.community, actor_kind, j)
            getattr(self, command)(actor, a)
        elif command in ("join", "request", "leave"):
            getattr(self, command)(actor, c)
        elif command in ("assign_role", "withdraw_role"):
            getattr(self, command)(actor, c, target, role)
        elif command in ("invite", "approve", "remove"):
            getattr(self, command)(actor, c, target)
        elif command == "wait":
            self.time_passes(1 + 97 * i + j)
        else:  # asking, or acting on a question or answer before there is one
            self.ask(actor, c)

    # -- the engine holds what the model holds --------------------------------------------------

    @invariant()
    def memberships_agree(self) -> None:
        for c in COMMUNITIES:
            for p in PEOPLE:
                found = self.engine.store.get(Ref("membership", membership_id(c, p)))
                status = found.value.status.value if found is not None else None  # type: ignore[union-attr]
                assert status == self.model.status.get((c, p)), (c, p)
                expected_roles = {"member", *self.model.roles[(c, p)]} if status == "active" else set()
                held = {r.value for r in found.value.roles} if found is not None else set()  # type: ignore[union-attr]
                assert held == expected_roles, (c, p)

    @invariant()
    def questions_and_answers_agree(self) -> None:
        for qid, row in self.model.questions.items():
            thread = self.engine.question(SYSTEM, qid)
            assert thread.question.withdrawn == row.withdrawn
            assert thread.question.accepted_answer_id == row.accepted
            assert [a.id for a in thread.answers] == self.model.live_answers(qid)
            assert thread.question.answer_count == len(self.model.live_answers(qid))
        for c in COMMUNITIES:
            waiting = sorted(
                (row.created, qid)
                for qid, row in self.model.questions.items()
                if row.community == c and not row.withdrawn and not self.model.live_answers(qid)
            )
            found = self.engine.unanswered_questions(SYSTEM, c)
            assert [q.id for q in found] == [qid for _, qid in waiting]

    @invariant()
    def every_community_keeps_a_facilitator(self) -> None:
        for c in COMMUNITIES:
            assert self.engine.members(SYSTEM, c, role=Role.FACILITATOR)

    def teardown(self) -> None:
        self.engine.close()


#: More runs than the profile's default: a wrong rule shows only after a few precise steps
#: (a coordinator is named, then accepts an answer), and a run takes milliseconds.
EngineAgainstModel.TestCase.settings = settings(
    EngineAgainstModel.TestCase.settings,
    max_examples=max(200, EngineAgainstModel.TestCase.settings.max_examples),
    stateful_step_count=50,
    deadline=None,
)
test_the_engine_agrees_with_the_reference_model = EngineAgainstModel.TestCase


def test_the_model_sees_every_kind_of_outcome() -> None:
    """A guard on the machine: one scripted run meets success and every refusal it checks."""
    machine = EngineAgainstModel()
    machine.join("ben", "open")  # already a member
    machine.join("olga", "open")  # left the organisation
    machine.request("dev", "guild")
    machine.approve("ana", "guild", "dev")
    machine.invite("ana", "club", "zed")  # unknown to the directory
    machine.leave("ana", "open")  # the last facilitator
    machine.ask("dev", "open")
    [question] = machine.model.questions
    machine.answer("chloe", question)
    [answer] = machine.model.answers
    machine.accept("chloe", answer)  # neither the asker nor a facilitator
    machine.accept("dev", answer)
    machine.withdraw_answer("chloe", answer)
    machine.memberships_agree()
    machine.questions_and_answers_agree()
    machine.teardown()

    assert machine.outcomes == [
        "PermissionDeniedError",
        "PermissionDeniedError",
        "done",
        "done",
        "NotFoundError",
        "ConflictError",
        "done",
        "done",
        "PermissionDeniedError",
        "done",
        "done",
    ]
    assert machine.model.questions[question].accepted is None
