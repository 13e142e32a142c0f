"""A differential state machine: random command sequences run on an engine over the store
under test and on an engine over the in-memory reference store must give the same results,
the same errors and the same observable state, across closing and reopening too.

Plug a database in with `differential_machine`::

    TestSQLiteMatchesMemory = differential_machine(SQLiteDatabase).TestCase

A database is anything with ``open() -> Store`` (a new store on the same data, callable again
after the previous store was closed) and ``dispose()``; the factory makes a fresh, empty one
for each example. Needs hypothesis (a test dependency).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from coplib.adapters.storage.memory import MemoryStore
from coplib.bootstrap.open import default_plugins
from coplib.bootstrap.plugins import make_plugin_manager
from coplib.domain.clock import ManualClock
from coplib.domain.community import Admission, Charter, LifecycleStage, MembershipPolicy, Role, Visibility
from coplib.domain.contributions import ContributionKind
from coplib.domain.errors import CoplibError
from coplib.domain.history import replay
from coplib.domain.membership import MembershipStatus
from coplib.domain.permissions import SYSTEM
from coplib.ports.storage import DeliveryStatus, Filter, Outcome, Period, Store
from coplib.service.engine import Engine
from coplib.testing.contract import every_event
from coplib.testing.samples import MONDAY, IdSequence, sample_people

__all__ = ["Database", "SQLiteDatabase", "StoreDifferential", "differential_machine"]

T = TypeVar("T")

PEOPLE = tuple(p.id for p in sample_people())
ACTORS = (*PEOPLE, SYSTEM)
TAGS = ("aluminium", "steel", "tig")
ROLES = (Role.FACILITATOR, Role.EXPERT, Role.SPONSOR, Role.COORDINATOR, Role.DOCUMENTALIST)
_pick = st.integers(min_value=0, max_value=10_000)


class Database(Protocol):
    """A fresh database for one example of the machine."""

    def open(self) -> Store:
        """A store on this database (again after the previous one was closed)."""
        ...

    def dispose(self) -> None:
        """Remove the database."""
        ...


class SQLiteDatabase:
    """A SQLite file in a temporary directory of its own."""

    def __init__(self) -> None:
        self._directory = Path(tempfile.mkdtemp(prefix="coplib-differential-"))
        self.path = self._directory / "coplib.db"

    def open(self) -> Store:
        from coplib.adapters.storage.sqlite import SQLiteStore

        return SQLiteStore(self.path)

    def dispose(self) -> None:
        shutil.rmtree(self._directory, ignore_errors=True)


def _engine(store: Store, clock: ManualClock, ids: IdSequence, follow: str = "unit") -> Engine:
    pm = make_plugin_manager(defaults=default_plugins(sample_people()))
    return Engine(store, plugin_manager=pm, clock=clock, id_factory=ids, follow=follow)


class StoreDifferential(RuleBasedStateMachine):
    """The reference (memory) and the subject (the database under test) side by side."""

    new_database: ClassVar[Callable[[], Database]]
    #: How both engines run the policies that may follow the log (`coplib.runtime.follower`);
    #: with a follower, both catch up after every command, before they are compared.
    follow: ClassVar[str] = "unit"

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(MONDAY)
        self.database = type(self).new_database()
        self.reference = _engine(MemoryStore(), self.clock, IdSequence(), self.follow)
        self.subject_ids = IdSequence()
        self.subject = _engine(self.database.open(), self.clock, self.subject_ids, self.follow)
        self.organisations: list[str] = []
        self.communities: list[str] = []
        self.contributions: list[tuple[ContributionKind, str]] = []
        self.reopened = 0

    def teardown(self) -> None:
        try:
            self.subject.close()
            self.reference.close()
        finally:
            self.database.dispose()

    # -- running a command on both sides ----------------------------------------------------------

    def both(self, command: Callable[[Engine], T]) -> T | None:
        """Run `command` on both engines: the same value, or the same coplib error."""
        try:
            expected: Any = command(self.reference)
        except CoplibError as exc:
            expected = exc
        try:
            actual: Any = command(self.subject)
        except CoplibError as exc:
            actual = exc
        assert self.reference.drain() == self.subject.drain()
        if isinstance(expected, CoplibError) or isinstance(actual, CoplibError):
            assert (type(actual), str(actual)) == (type(expected), str(expected)), (expected, actual)
            return None
        assert actual == expected
        return expected  # type: ignore[no-any-return]

    @staticmethod
    def _choose(items: list[T], index: int) -> T:
        return items[index % len(items)]

    def _contribution(
        self, index: int, kinds: frozenset[ContributionKind] | None = None
    ) -> tuple[ContributionKind, str]:
        chosen = [c for c in self.contributions if kinds is None or c[0] in kinds] or self.contributions
        return self._choose(chosen, index)

    # -- rules ------------------------------------------------------------------------------------

    @initialize()
    def an_organisation_with_an_open_community(self) -> None:
        org = self.both(lambda e: e.create_organisation("eve", "Acme"))
        assert org is not None
        self.organisations.append(org.id)
        community = self.both(
            lambda e: e.create_community("ana", org.id, name="Welding", vocation="Weld", tags=["tig"])
        )
        assert community is not None
        self.communities.append(community.id)

    @rule(actor=st.sampled_from(PEOPLE))
    def create_organisation(self, actor: str) -> None:
        org = self.both(lambda e: e.create_organisation(actor, f"Organisation of {actor}"))
        if org is not None:
            self.organisations.append(org.id)

    @precondition(lambda self: self.organisations)
    @rule(
        org=_pick,
        founder=st.sampled_from(ACTORS),
        name=st.sampled_from(["Welding", "Brazing", "Assembly", "welding"]),
        visibility=st.sampled_from(list(Visibility)),
        admission=st.sampled_from([Admission.OPEN, Admission.APPROVAL, Admission.INVITATION]),
        tags=st.frozensets(st.sampled_from(TAGS), max_size=2),
    )
    def create_community(
        self, org: int, founder: str, name: str, visibility: Visibility, admission: Admission, tags: frozenset[str]
    ) -> None:
        charter = Charter(vocation=f"{name} together", membership_policy=MembershipPolicy(admission=admission))
        oid = self._choose(self.organisations, org)
        community = self.both(
            lambda e: e.create_community(
                founder, oid, name=name, charter=charter, visibility=visibility, tags=sorted(tags)
            )
        )
        if community is not None:
            self.communities.append(community.id)

    @precondition(lambda self: self.communities)
    @rule(person=st.sampled_from(PEOPLE), community=_pick)
    def join(self, person: str, community: int) -> None:
        cid = self._choose(self.communities, community)
        self.both(lambda e: e.join(person, cid))

    @precondition(lambda self: self.communities)
    @rule(actor=st.sampled_from(ACTORS), community=_pick, person=st.sampled_from(PEOPLE))
    def invite(self, actor: str, community: int, person: str) -> None:
        cid = self._choose(self.communities, community)
        self.both(lambda e: e.invite(actor, cid, person))

    @precondition(lambda self: self.communities)
    @rule(person=st.sampled_from(PEOPLE), community=_pick)
    def request_membership(self, person: str, community: int) -> None:
        cid = self._choose(self.communities, community)
        self.both(lambda e: e.request_membership(person, cid))

    @precondition(lambda self: self.communities)
    @rule(actor=st.sampled_from(ACTORS), community=_pick, person=st.sampled_from(PEOPLE), approve=st.booleans())
    def decide_request(self, actor: str, community: int, person: str, approve: bool) -> None:
        cid = self._choose(self.communities, community)
        if approve:
            self.both(lambda e: e.approve(actor, cid, person))
        else:
            self.both(lambda e: e.decline(actor, cid, person, reason="not now"))

    @precondition(lambda self: self.communities)
    @rule(person=st.sampled_from(PEOPLE), community=_pick)
    def leave(self, person: str, community: int) -> None:
        cid = self._choose(self.communities, community)
        self.both(lambda e: e.leave(person, cid))

    @precondition(lambda self: self.communities)
    @rule(actor=st.sampled_from(ACTORS), community=_pick, person=st.sampled_from(PEOPLE))
    def remove(self, actor: str, community: int, person: str) -> None:
        cid = self._choose(self.communities, community)
        self.both(lambda e: e.remove(actor, cid, person, reason="inactive"))

    @precondition(lambda self: self.communities)
    @rule(
        actor=st.sampled_from(ACTORS),
        community=_pick,
        person=st.sampled_from(PEOPLE),
        role=st.sampled_from(ROLES),
        tags=st.frozensets(st.sampled_from(TAGS), min_size=1, max_size=2),
        withdraw=st.booleans(),
    )
    def change_role(
        self, actor: str, community: int, person: str, role: Role, tags: frozenset[str], withdraw: bool
    ) -> None:
        cid = self._choose(self.communities, community)
        if withdraw:
            self.both(lambda e: e.withdraw_role(actor, cid, person, role))
        else:
            given = sorted(tags) if role is Role.EXPERT else []
            self.both(lambda e: e.assign_role(actor, cid, person, role, tags=given))

    @precondition(lambda self: self.communities)
    @rule(actor=st.sampled_from(ACTORS), community=_pick, closed=st.booleans())
    def change_stage(self, actor: str, community: int, closed: bool) -> None:
        cid = self._choose(self.communities, community)
        stage = LifecycleStage.CLOSED if closed else LifecycleStage.MATURING
        self.both(lambda e: e.change_stage(actor, cid, stage))

    @precondition(lambda self: self.communities)
    @rule(
        person=st.sampled_from(PEOPLE),
        community=_pick,
        tags=st.frozensets(st.sampled_from(TAGS), max_size=2),
        resource=st.booleans(),
    )
    def contribute(self, person: str, community: int, tags: frozenset[str], resource: bool) -> None:
        cid = self._choose(self.communities, community)
        if resource:
            shared = self.both(
                lambda e: e.share_resource(person, cid, title="Guide", location="https://example.org/g", tags=tags)
            )
            if shared is not None:
                self.contributions.append((ContributionKind.RESOURCE, shared.id))
            return
        question = self.both(lambda e: e.ask(person, cid, title="How?", body="Tell me.", tags=sorted(tags)))
        if question is not None:
            self.contributions.append((ContributionKind.QUESTION, question.id))

    @precondition(lambda self: any(k is ContributionKind.QUESTION for k, _ in self.contributions))
    @rule(person=st.sampled_from(PEOPLE), question=_pick)
    def answer(self, person: str, question: int) -> None:
        _, qid = self._contribution(question, frozenset({ContributionKind.QUESTION}))
        answer = self.both(lambda e: e.answer(person, qid, body="Like this."))
        if answer is not None:
            self.contributions.append((ContributionKind.ANSWER, answer.id))

    @precondition(lambda self: any(k is ContributionKind.ANSWER for k, _ in self.contributions))
    @rule(actor=st.sampled_from(ACTORS), answer=_pick)
    def accept(self, actor: str, answer: int) -> None:
        _, aid = self._contribution(answer, frozenset({ContributionKind.ANSWER}))
        self.both(lambda e: e.accept(actor, aid))

    @precondition(lambda self: self.contributions)
    @rule(person=st.sampled_from(PEOPLE), which=_pick)
    def comment(self, person: str, which: int) -> None:
        kind, tid = self._contribution(which)
        comment = self.both(lambda e: e.comment(person, kind, tid, body="Thanks."))
        if comment is not None:
            self.contributions.append((ContributionKind.COMMENT, comment.id))

    @precondition(lambda self: self.contributions)
    @rule(person=st.sampled_from(PEOPLE), which=_pick)
    def endorse(self, person: str, which: int) -> None:
        kind, tid = self._contribution(which)
        self.both(lambda e: e.endorse(person, kind, tid))

    @precondition(lambda self: self.contributions)
    @rule(actor=st.sampled_from(ACTORS), which=_pick)
    def withdraw(self, actor: str, which: int) -> None:
        kind, tid = self._contribution(which)
        self.both(lambda e: e.withdraw(actor, kind, tid, reason="outdated"))

    @rule()
    def dispatch(self) -> None:
        # A fixed worker and jitter: both sides must schedule any retry at the same time.
        self.both(lambda e: e.dispatch(limit=3, worker="dispatcher", random=lambda: 0.5))

    @rule(
        worker=st.sampled_from(["w1", "w2"]),
        limit=st.integers(min_value=1, max_value=3),
        status=st.sampled_from(list(DeliveryStatus)),
        settle=st.booleans(),
    )
    def claim_and_settle(self, worker: str, limit: int, status: DeliveryStatus, settle: bool) -> None:
        """What a dispatcher does with the outbox, on both stores directly."""
        now, lease = self.clock.now(), timedelta(minutes=10)
        claimed = self.both(lambda e: e.store.claim_messages(worker=worker, now=now, lease=lease, limit=limit))
        if not claimed or not settle:
            return
        retry = now + timedelta(minutes=5) if status is DeliveryStatus.PENDING else None
        outcomes = [Outcome(c.message.id, status, now, next_attempt_at=retry, error="refused") for c in claimed]
        self.both(lambda e: e.store.settle_messages(outcomes, worker=worker))

    @rule()
    def requeue_dead_letters(self) -> None:
        dead = [e.message.id for e in self.reference.store.outbox(status=DeliveryStatus.DEAD)]
        now = self.clock.now()
        self.both(lambda e: e.store.requeue([*dead, "unknown"], now=now))

    @rule(minutes=st.sampled_from([0, 1, 30, 60 * 24, 60 * 24 * 9]))
    def advance_clock(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    @rule()
    def close_and_reopen(self) -> None:
        self.subject.close()
        self.subject = _engine(self.database.open(), self.clock, self.subject_ids, self.follow)
        self.reopened += 1

    # -- what must be the same ----------------------------------------------------------------------

    @invariant()
    def the_events_are_the_same(self) -> None:
        assert every_event(self.subject.store) == every_event(self.reference.store)

    @invariant()
    def the_stored_aggregates_are_the_same(self) -> None:
        refs = list(replay(r.event for r in every_event(self.reference.store)))
        expected = self.reference.store.get_many(refs)
        assert self.subject.store.get_many(refs) == expected
        for ref in refs[:5]:
            assert self.subject.store.get(ref) == expected[ref]

    @invariant()
    def the_queries_answer_the_same(self) -> None:
        ref, sub = self.reference.store, self.subject.store
        assert sub.communities() == ref.communities()
        for oid in self.organisations:
            assert sub.communities(oid) == ref.communities(oid)
        until = self.clock.now() + timedelta(days=1)
        for cid in [*self.communities, None]:
            assert sub.unanswered_questions(cid) == ref.unanswered_questions(cid)
            for tag in TAGS:
                assert sub.unanswered_questions(cid, tag=tag, limit=2) == ref.unanswered_questions(
                    cid, tag=tag, limit=2
                )
            assert sub.unanswered_questions(cid, asked_before=self.clock.now()) == ref.unanswered_questions(
                cid, asked_before=self.clock.now()
            )
            for period in Period:
                assert sub.count_events(cid, since=MONDAY, until=until, period=period) == ref.count_events(
                    cid, since=MONDAY, until=until, period=period
                )
            assert sub.events(community_id=cid, after=2, limit=5) == ref.events(community_id=cid, after=2, limit=5)
            for kind in ContributionKind:
                assert sub.find(kind.value, Filter(community_id=cid)) == ref.find(kind.value, Filter(community_id=cid))
            if cid is None:
                continue
            assert sub.members(cid, statuses=list(MembershipStatus)) == ref.members(
                cid, statuses=list(MembershipStatus)
            )
            for role in ROLES:
                assert sub.members(cid, role=role) == ref.members(cid, role=role)
            for tag in TAGS:
                assert sub.members(cid, tag=tag) == ref.members(cid, tag=tag)
        for person in PEOPLE:
            assert sub.activity(person, since=MONDAY, until=until) == ref.activity(person, since=MONDAY, until=until)
            assert sub.find("membership", Filter(person_id=person)) == ref.find("membership", Filter(person_id=person))
        assert sub.pending_messages(limit=1000) == ref.pending_messages(limit=1000)
        assert sub.outbox(limit=1000) == ref.outbox(limit=1000)
        for status in DeliveryStatus:
            assert sub.outbox(status=status, limit=3) == ref.outbox(status=status, limit=3)
        assert sub.find_due("policy_failure", before=until) == ref.find_due("policy_failure", before=until)


def differential_machine(
    new_database: Callable[[], Database], name: str = "StoreDifferentialMachine", *, follow: str = "unit"
) -> type[StoreDifferential]:
    """A `StoreDifferential` subclass whose subject runs on databases from `new_database`
    (both engines with the log follower mode `follow`)."""
    return type(name, (StoreDifferential,), {"new_database": staticmethod(new_database), "follow": follow})
