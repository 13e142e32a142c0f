"""The conformance kit: the one contract every storage adapter passes, one test class per
capability of the port (`coplib.ports.storage`):

| test class | checks |
|---|---|
| `AggregateStoreContract` | `get`, `get_many` |
| `CommitContract` | `Store.commit`: versions, conflicts, all or nothing, positions returned |
| `EventLogContract` | `events`, `activity`, `count_events` |
| `ReadQueriesContract` | `find`, `count`, `unanswered_questions`, `members`, `communities` |
| `HealthQueriesContract` (`health_contract`) | `question_facts`, `contributor_facts`, `member_facts` |
| `OutboxContract` (in `outbox_contract`) | the outbox: messages, claims, leases, outcomes, requeues |
| `TimersContract` | `find_due` |
| `LifecycleContract` | reopening, `close`, `url` |
| `ConcurrencyContract` | several writers on one database, several threads on one store |
| `EngineContract` | the engine's scenarios on the store |

`StoreContract` is all of them, plus the checks that span them; it is what a store passes.
Subclass it in a test module and override the `make_store` fixture::

    class TestMyStore(StoreContract):
        @pytest.fixture
        def make_store(self, tmp_path):
            return lambda: MyStore(tmp_path / "db")

(while writing an adapter, subclass only the classes of what it does so far). Every class
writes its data with `Store.commit`, through `coplib.testing.samples.SampleHistory`, so each
needs a whole `Store`.

`make_store` returns a zero-argument callable; each call opens a store on the *same* fresh,
empty database (a second connection, or a reopening after `close`). Capability fixtures say
what the adapter can do; where it cannot, the tests check the weaker promise instead (a
second handle rather than a reopening), so nothing is skipped:

- `supports_reopen`: data survives `close()` and a new `make_store()` (False for memory).
- `supports_concurrent_writers`: two handles may write at once, each seeing the other's
  commits (True by default; a store that returns one shared object satisfies it too).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs
import pytest

from coplib.domain import events as ev
from coplib.domain.clock import ManualClock
from coplib.domain.community import Charter, Community, CommunityKind, LifecycleStage, Organisation, Role, Visibility
from coplib.domain.contributions import ContributionKind, Question
from coplib.domain.errors import (
    ConcurrencyConflictError,
    CoplibError,
    InvalidInputError,
    NotFoundError,
    StorageError,
)
from coplib.domain.events import EVENT_TYPES
from coplib.domain.history import AGGREGATE_KINDS, Ref, apply, replay
from coplib.domain.membership import Membership, MembershipStatus, membership_id
from coplib.domain.permissions import SYSTEM
from coplib.ports.storage import Changeset, Filter, Period, RecordedEvent, Store, Write, open_flags_by_finding
from coplib.service.engine import Engine
from coplib.testing._fixtures import StoreFactory, StoreFixtures, every_event, open_engine_on
from coplib.testing._fixtures import ids_of as _ids
from coplib.testing.health_contract import HealthQueriesContract
from coplib.testing.outbox_contract import OutboxContract
from coplib.testing.paging_contract import PagingQueriesContract
from coplib.testing.samples import MONDAY, SampleHistory

__all__ = [
    "AggregateStoreContract",
    "CommitContract",
    "ConcurrencyContract",
    "EngineContract",
    "EventLogContract",
    "HealthQueriesContract",
    "LifecycleContract",
    "OutboxContract",
    "ReadQueriesContract",
    "StoreContract",
    "StoreFactory",
    "StoreFixtures",
    "TimersContract",
    "every_event",
    "open_engine_on",
]


class AggregateStoreContract(StoreFixtures):
    """`AggregateStore`: every kind stored and read back by `get` and `get_many`, misses left out."""

    def test_every_aggregate_kind_is_stored_and_read_back_equal(
        self, store: Store, history: SampleHistory, open_store: StoreFactory
    ) -> None:
        history.every_kind(store)
        # Read back by the writer, and by a fresh handle that has seen nothing (no cache).
        for reader in (store, open_store()):
            for ref in history.state:
                found = reader.get(ref)
                assert found is not None, ref
                assert found.value == history.state[ref], ref
                assert found.version == history.versions[ref], ref
            assert {r: v.value for r, v in reader.get_many(history.state).items()} == history.state

    def test_a_missing_aggregate_reads_as_none(self, store: Store, history: SampleHistory) -> None:
        history.found_organisation(store)
        assert store.get(Ref("organisation", "nobody")) is None
        assert store.get(Ref("community", "s-org-0001")) is None  # right id, wrong kind

    def test_get_many_returns_only_the_aggregates_that_exist(self, store: Store, history: SampleHistory) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        wanted = [Ref("organisation", oid), Ref("community", cid), Ref("question", "missing"), Ref("community", cid)]
        found = store.get_many(wanted)
        assert set(found) == {Ref("organisation", oid), Ref("community", cid)}
        assert found[Ref("community", cid)].value == history.get("community", cid)
        assert found[Ref("community", cid)].version == 1
        assert store.get_many([]) == {}

    def test_get_many_reads_a_long_list_of_mixed_kinds(self, store: Store, history: SampleHistory) -> None:
        """More refs than one statement of a SQL store takes, of several kinds, with misses
        and repeats among them."""
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        asked = [history.ask(store, cid, "ana") for _ in range(30)]
        wanted = [Ref("community", cid), Ref("organisation", oid)]
        wanted += [Ref("question", q) for q in asked]
        wanted += [Ref("question", f"missing-{i}") for i in range(500)]
        wanted += [Ref("answer", q) for q in asked] + [Ref("question", asked[0])]
        found = store.get_many(wanted)
        assert set(found) == {Ref("community", cid), Ref("organisation", oid), *(Ref("question", q) for q in asked)}
        assert all(found[Ref("question", q)].value == history.get("question", q) for q in asked)


class CommitContract(StoreFixtures):
    """`Store.commit`: versions, conflicts, all or nothing, the events it returns with their positions."""

    def test_the_first_write_gives_version_one_and_each_write_adds_one(
        self, store: Store, history: SampleHistory
    ) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        ref = Ref("community", cid)
        found = store.get(ref)
        assert found is not None and found.version == 1
        for expected in (2, 3, 4):
            history.update_community(store, cid, name=f"Welding {expected}")
            found = store.get(ref)
            assert found is not None
            assert found.version == expected
            assert found.value == history.get("community", cid)

    def test_a_stale_write_raises_a_concurrency_conflict_and_changes_nothing(
        self, store: Store, history: SampleHistory
    ) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        history.update_community(store, cid, name="Welding 2")
        ref = Ref("community", cid)
        stale = attrs.evolve(history.get_as("community", cid, Community), name="Lost update")
        before = len(every_event(store))
        with pytest.raises(ConcurrencyConflictError) as caught:
            store.commit(Changeset(writes=(Write(ref, stale, 1),)))
        assert (caught.value.kind, caught.value.id) == ("community", cid)
        assert (caught.value.expected, caught.value.actual) == (1, 2)
        found = store.get(ref)
        assert found is not None and found.version == 2
        assert isinstance(found.value, Community) and found.value.name == "Welding 2"
        assert len(every_event(store)) == before

    def test_creating_an_aggregate_that_exists_raises_a_concurrency_conflict(
        self, store: Store, history: SampleHistory
    ) -> None:
        oid = history.found_organisation(store)
        ref = Ref("organisation", oid)
        duplicate = history.get("organisation", oid)
        with pytest.raises(ConcurrencyConflictError) as caught:
            store.commit(Changeset(writes=(Write(ref, duplicate, 0),)))
        assert (caught.value.kind, caught.value.id, caught.value.expected, caught.value.actual) == (
            "organisation",
            oid,
            0,
            1,
        )
        found = store.get(ref)
        assert found is not None and found.version == 1

    def test_updating_an_aggregate_that_does_not_exist_raises_a_concurrency_conflict(
        self, store: Store, history: SampleHistory
    ) -> None:
        oid = history.found_organisation(store)
        ghost = Ref("organisation", "ghost")
        value = attrs.evolve(history.get_as("organisation", oid, Organisation), id="ghost")
        with pytest.raises(ConcurrencyConflictError) as caught:
            store.commit(Changeset(writes=(Write(ghost, value, 3),)))
        assert (caught.value.expected, caught.value.actual) == (3, None)
        assert store.get(ghost) is None

    @pytest.mark.parametrize("conflict", ["stale update", "duplicate create"])
    def test_a_changeset_whose_last_write_conflicts_leaves_no_write_no_event_and_no_message(
        self, store: Store, history: SampleHistory, conflict: str
    ) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        qid = history.ask(store, cid, "ana", tags=("aluminium",))
        history.update_community(store, cid, name="Welding 2")
        events_before = every_event(store)
        # A unit of work that answers the question (a create and an update, an event, a
        # message) and then, last, writes something that conflicts.
        answer = ev.AnswerPosted(
            **history.base("ben", cid), answer_id="a-new", question_id=qid, asker_id="ana", body="Use argon."
        )
        good = history.changeset([answer], [history.message(answer, "ana", "answer_posted")])
        community = history.get_as("community", cid, Community)
        if conflict == "stale update":
            last = Write(Ref("community", cid), attrs.evolve(community, name="Stale"), 1)
        else:
            last = Write(Ref("organisation", oid), history.get("organisation", oid), 0)
        changes = attrs.evolve(good, writes=(*good.writes, last))
        with pytest.raises(ConcurrencyConflictError):
            store.commit(changes)
        assert store.get(Ref("answer", "a-new")) is None
        question = store.get(Ref("question", qid))
        assert question is not None and question.version == 1 and question.value == history.get("question", qid)
        assert every_event(store) == events_before
        assert store.pending_messages() == []
        assert _ids(store.unanswered_questions(cid)) == [qid]
        assert store.find("answer", Filter(parent_id=qid)) == []
        # And the same unit of work without the bad write goes through afterwards.
        recorded = store.commit(good)
        assert [r.position for r in recorded] == [events_before[-1].position + 1]

    def test_an_empty_changeset_commits_nothing(self, store: Store, history: SampleHistory) -> None:
        history.found_organisation(store)
        assert store.commit(Changeset()) == []
        assert len(every_event(store)) == 1

    def test_writes_without_events_are_stored(self, store: Store, history: SampleHistory) -> None:
        oid = history.found_organisation(store)
        renamed = attrs.evolve(history.get_as("organisation", oid, Organisation), name="Acme Industries")
        assert store.commit(Changeset(writes=(Write(Ref("organisation", oid), renamed, 1),))) == []
        found = store.get(Ref("organisation", oid))
        assert found is not None and found.value == renamed and found.version == 2

    def test_the_stored_state_is_what_replaying_the_stored_events_gives(
        self, store: Store, history: SampleHistory
    ) -> None:
        history.every_kind(store)
        rebuilt = replay(r.event for r in every_event(store))
        assert rebuilt.keys() == history.state.keys()
        for ref, value in rebuilt.items():
            found = store.get(ref)
            assert found is not None and found.value == value, ref

    def test_commit_returns_the_events_with_their_positions_in_order(
        self, store: Store, history: SampleHistory
    ) -> None:
        oid = history.found_organisation(store)
        cid = "c-positions"
        events: list[ev.DomainEvent] = [
            ev.CommunityCreated(
                **history.base("ana", cid),
                organisation_id=oid,
                name="Positions",
                kind=CommunityKind.PRACTICE,
                visibility=Visibility.OPEN,
                stage=LifecycleStage.POTENTIAL,
                tags=frozenset(),
                charter=Charter(vocation="Order"),
            ),
            ev.MemberJoined(**history.base("ana", cid), person_id="ana", via="founder"),
        ]
        recorded = history.commit(store, events)
        assert [r.position for r in recorded] == [2, 3]
        assert [r.event for r in recorded] == events
        assert store.events(after=1) == recorded

    def test_a_failed_commit_never_lets_a_position_be_reused(self, store: Store, history: SampleHistory) -> None:
        oid = history.found_organisation(store)
        stale = ev.OrganisationCreated(**history.base("eve", None), organisation_id=oid, name="Again")
        duplicate = Write(Ref("organisation", oid), history.get("organisation", oid), 0)
        with pytest.raises(ConcurrencyConflictError):
            store.commit(Changeset(writes=(duplicate,), events=(stale,)))
        second = history.found_organisation(store)
        recorded = every_event(store)
        positions = [r.position for r in recorded]
        assert positions[0] == 1
        assert len(positions) == 2 and positions[1] > positions[0]
        assert [getattr(r.event, "organisation_id", None) for r in recorded] == [oid, second]
        assert stale.id not in {r.event.id for r in recorded}


class EventLogContract(StoreFixtures):
    """`EventLog`: positions, `events` paged and by community, `activity`, `count_events` per period."""

    def test_event_positions_increase_strictly_from_one(self, store: Store, history: SampleHistory) -> None:
        oid = history.found_organisation(store)
        first = every_event(store)
        assert [r.position for r in first] == [1]
        history.found_community(store, oid)
        positions = [r.position for r in every_event(store)]
        assert positions == [1, 2, 3, 4]

    def test_the_last_position_is_zero_on_an_empty_log_then_the_last_committed_events(
        self, store: Store, history: SampleHistory
    ) -> None:
        assert store.last_position() == 0
        oid = history.found_organisation(store)
        assert store.last_position() == 1
        history.found_community(store, oid)
        assert store.last_position() == max(r.position for r in every_event(store)) == 4
        stale = ev.OrganisationCreated(**history.base("eve", None), organisation_id=oid, name="Again")
        with pytest.raises(ConcurrencyConflictError):
            store.commit(
                Changeset(
                    writes=(Write(Ref("organisation", oid), history.get("organisation", oid), 0),), events=(stale,)
                )
            )
        assert store.last_position() == 4

    def test_every_event_type_is_read_back_equal_to_what_was_committed(
        self, store: Store, history: SampleHistory
    ) -> None:
        history.every_kind(store)
        assert every_event(store) == history.recorded

    def test_events_are_read_in_position_order_and_paged_with_after_and_limit(
        self, store: Store, history: SampleHistory
    ) -> None:
        history.every_kind(store)
        everything = store.events()
        assert [r.position for r in everything] == list(range(1, len(everything) + 1))
        pages: list[RecordedEvent] = []
        after = 0
        while page := store.events(after=after, limit=4):
            assert len(page) <= 4
            pages.extend(page)
            after = page[-1].position
        assert pages == everything
        assert store.events(after=len(everything)) == []
        assert store.events(after=len(everything) + 100) == []
        assert store.events(limit=0) == []
        assert store.events(after=5, limit=2) == everything[5:7]

    def test_events_of_one_community_leave_out_the_others(self, store: Store, history: SampleHistory) -> None:
        oid = history.found_organisation(store)
        welding = history.found_community(store, oid, name="Welding")
        brazing = history.found_community(store, oid, name="Brazing")
        history.ask(store, welding, "ana")
        history.ask(store, brazing, "ana")
        history.join(store, welding, "ben")
        of_welding = store.events(community_id=welding)
        assert {r.event.community_id for r in of_welding} == {welding}
        assert [r.event.TYPE for r in of_welding] == [
            "community_created",
            "member_joined",
            "role_assigned",
            "question_asked",
            "member_joined",
        ]
        positions = [r.position for r in of_welding]
        assert positions == sorted(positions)
        assert store.events(community_id=welding, after=positions[1], limit=2) == of_welding[2:4]
        assert store.events(community_id="nowhere") == []

    def test_events_newest_first_page_backwards_with_before_and_limit(
        self, store: Store, history: SampleHistory
    ) -> None:
        oid = history.found_organisation(store)
        welding = history.found_community(store, oid, name="Welding")
        brazing = history.found_community(store, oid, name="Brazing")
        for _ in range(3):
            history.ask(store, welding, "ana")
            history.ask(store, brazing, "ana")
        everything = store.events(limit=10_000)
        assert store.events(newest_first=True, limit=10_000) == everything[::-1]
        assert store.events(before=4) == everything[:3]
        assert store.events(before=1) == [] and store.events(after=3, before=4) == []
        # A feed's walk: pages of 2, each before the last one read, give the log reversed.
        of_welding = [r for r in everything if r.event.community_id == welding]
        walked: list[RecordedEvent] = []
        before: int | None = None
        while page := store.events(community_id=welding, before=before, newest_first=True, limit=2):
            assert len(page) <= 2
            walked.extend(page)
            before = page[-1].position
        assert walked == of_welding[::-1]
        middle = of_welding[2].position
        assert store.events(community_id=welding, before=middle, newest_first=True, limit=1) == [of_welding[1]]
        assert store.events(community_id=welding, after=of_welding[0].position, before=middle) == [of_welding[1]]

    def test_activity_lists_a_persons_events_in_the_window_in_position_order(
        self, store: Store, history: SampleHistory
    ) -> None:
        oid = history.found_organisation(store)
        welding = history.found_community(store, oid, name="Welding")
        brazing = history.found_community(store, oid, name="Brazing")
        t = MONDAY + timedelta(days=1)
        history.join(store, welding, "ben", at=t)
        history.join(store, brazing, "ben", at=t + timedelta(hours=1))
        q1 = history.ask(store, welding, "chloe", at=t + timedelta(hours=2))
        history.answer(store, q1, "ben", at=t + timedelta(hours=3))
        history.answer(store, q1, "ana", at=t + timedelta(hours=4))
        history.ask(store, brazing, "ben", at=t + timedelta(hours=5))

        window = store.activity("ben", since=t, until=t + timedelta(hours=5))
        assert [r.event.TYPE for r in window] == ["member_joined", "member_joined", "answer_posted"]
        assert all(r.event.actor_id == "ben" for r in window)
        assert [r.position for r in window] == sorted(r.position for r in window)
        # since is inclusive, until exclusive
        later = store.activity("ben", since=t + timedelta(hours=1), until=t + timedelta(hours=5, microseconds=1))
        assert len(later) == 3
        only_welding = store.activity("ben", since=t, until=t + timedelta(days=1), community_id=welding)
        assert [r.event.TYPE for r in only_welding] == ["member_joined", "answer_posted"]
        assert store.activity("nobody", since=t, until=t + timedelta(days=1)) == []

    def test_count_events_buckets_by_day_by_week_from_monday_and_by_month(
        self, store: Store, history: SampleHistory
    ) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid, at=datetime(2025, 12, 1, tzinfo=UTC))
        other = history.found_community(store, oid, name="Other", at=datetime(2025, 12, 1, 1, tzinfo=UTC))
        times = [
            datetime(2026, 1, 1, 8, tzinfo=UTC),  # a Thursday: its week starts on Monday 29 December 2025
            datetime(2026, 1, 5, 0, 0, tzinfo=UTC),  # Monday, first instant
            datetime(2026, 1, 7, 12, tzinfo=UTC),  # Wednesday
            datetime(2026, 1, 11, 23, 59, 59, 999999, tzinfo=UTC),  # Sunday, last instant
            datetime(2026, 1, 12, 0, 0, tzinfo=UTC),  # the next Monday
            datetime(2026, 2, 1, 10, tzinfo=UTC),  # a Sunday in February: week of 26 January
        ]
        questions = [history.ask(store, cid, "ana", at=when) for when in times]
        history.answer(store, questions[2], "ben", at=datetime(2026, 1, 7, 13, tzinfo=UTC))
        history.ask(store, other, "ana", at=datetime(2026, 1, 7, 12, tzinfo=UTC))
        since, until = datetime(2025, 12, 15, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
        asked = ["question_asked"]

        by_day = store.count_events(cid, since=since, until=until, period=Period.DAY, types=asked)
        assert by_day == {
            date(2026, 1, 1): 1,
            date(2026, 1, 5): 1,
            date(2026, 1, 7): 1,
            date(2026, 1, 11): 1,
            date(2026, 1, 12): 1,
            date(2026, 2, 1): 1,
        }
        assert list(by_day) == sorted(by_day)
        by_week = store.count_events(cid, since=since, until=until, period=Period.WEEK, types=asked)
        assert by_week == {date(2025, 12, 29): 1, date(2026, 1, 5): 3, date(2026, 1, 12): 1, date(2026, 1, 26): 1}
        by_month = store.count_events(cid, since=since, until=until, period=Period.MONTH, types=asked)
        assert by_month == {date(2026, 1, 1): 5, date(2026, 2, 1): 1}
        # every type, and several types
        assert store.count_events(cid, since=since, until=until, period=Period.MONTH) == {
            date(2026, 1, 1): 6,
            date(2026, 2, 1): 1,
        }
        both = store.count_events(
            cid, since=since, until=until, period=Period.MONTH, types=["question_asked", "answer_posted"]
        )
        assert both == {date(2026, 1, 1): 6, date(2026, 2, 1): 1}
        assert store.count_events(cid, since=since, until=until, period=Period.DAY, types=[]) == {}
        # since inclusive, until exclusive
        window = store.count_events(
            cid, since=times[1], until=times[4], period=Period.WEEK, types=asked
        )  # Monday 00:00 to next Monday 00:00
        assert window == {date(2026, 1, 5): 3}
        # every community
        assert store.count_events(None, since=since, until=until, period=Period.DAY, types=asked)[date(2026, 1, 7)] == 2
        assert store.count_events(cid, since=until, until=until + timedelta(days=1), period=Period.DAY) == {}


class ReadQueriesContract(StoreFixtures):
    """`ReadQueries`: `find` and `count` with a `Filter`, the unanswered questions, members, the portfolio."""

    def test_unanswered_questions_are_open_ones_oldest_first(self, store: Store, history: SampleHistory) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        q_late = history.ask(store, cid, "chloe", at=MONDAY + timedelta(hours=3))
        q_early = history.ask(store, cid, "dev", at=MONDAY + timedelta(hours=1))
        q_mid = history.ask(store, cid, "chloe", at=MONDAY + timedelta(hours=2))
        found = store.unanswered_questions(cid)
        assert _ids(found) == [q_early, q_mid, q_late]
        assert all(isinstance(q, Question) for q in found)
        assert found[0] == history.get("question", q_early)
        assert _ids(store.unanswered_questions(cid, limit=2)) == [q_early, q_mid]
        assert store.unanswered_questions("elsewhere") == []

    def test_answered_and_withdrawn_questions_are_not_unanswered(self, store: Store, history: SampleHistory) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        answered = history.ask(store, cid, "chloe")
        withdrawn = history.ask(store, cid, "chloe")
        accepted = history.ask(store, cid, "chloe")
        still_open = history.ask(store, cid, "dev")
        history.answer(store, answered, "ben")
        history.withdraw(store, ContributionKind.QUESTION, withdrawn)
        history.accept(store, history.answer(store, accepted, "ben"))
        assert _ids(store.unanswered_questions(cid)) == [still_open]

    def test_withdrawing_the_only_answer_reopens_the_question(self, store: Store, history: SampleHistory) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        qid = history.ask(store, cid, "chloe", tags=("aluminium",))
        first = history.answer(store, qid, "ben")
        second = history.answer(store, qid, "ana")
        history.withdraw(store, ContributionKind.ANSWER, first)
        assert store.unanswered_questions(cid) == []
        history.accept(store, second)
        history.withdraw(store, ContributionKind.ANSWER, second)
        reopened = store.unanswered_questions(cid, tag="aluminium")
        assert _ids(reopened) == [qid]
        assert reopened[0].answer_count == 0 and reopened[0].accepted_answer_id is None

    def test_open_flags_are_the_moderation_queue_oldest_first_a_page_at_a_time(self, store: Store) -> None:

        clock = ManualClock(MONDAY)
        engine = open_engine_on(store, clock=clock)
        engine.create_organisation("eve", "Acme", organisation_id="acme")
        cid = engine.create_community("ana", "acme", name="Welding", vocation="Weld", community_id="weld").id
        other = engine.create_community("ana", "acme", name="Other", vocation="Other", community_id="other").id
        for person in ("ben", "chloe", "dev"):
            engine.join(person, cid)
            engine.join(person, other)
        questions = [engine.ask("chloe", cid, title=f"Question {n}", body="?") for n in range(5)]
        flags = []
        for question in questions:
            clock.advance(timedelta(minutes=1))
            flags.append(engine.flag("ben", "question", question.id, reason="off-topic").id)
        clock.advance(timedelta(minutes=1))
        flags.append(engine.flag("dev", "question", questions[4].id, reason="spam").id)
        engine.flag("ben", "question", engine.ask("chloe", other, title="Elsewhere", body="?").id, reason="spam")
        engine.dismiss_flags("ana", "question", questions[1].id, note="on topic")  # flags[1]: dismissed
        engine.hide("ana", "question", questions[3].id, reason="off-topic")  # flags[3]: upheld

        wanted = [flags[0], flags[2], flags[4], flags[5]]
        found = store.open_flags(cid)
        assert _ids(found) == wanted
        assert found == open_flags_by_finding(store, cid)
        first = store.open_flags(cid, limit=2)
        assert _ids(first) == wanted[:2]
        last = first[-1]
        assert _ids(store.open_flags(cid, after=(last.created_at, last.id))) == wanted[2:]
        assert store.open_flags("elsewhere") == []

    def test_unanswered_questions_filter_by_tag_and_asked_before(self, store: Store, history: SampleHistory) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        other = history.found_community(store, oid, name="Other")
        t = MONDAY + timedelta(days=1)
        alu_old = history.ask(store, cid, "chloe", tags=("aluminium", "tig"), at=t)
        steel = history.ask(store, cid, "chloe", tags=("steel",), at=t + timedelta(hours=1))
        alu_new = history.ask(store, cid, "dev", tags=("aluminium",), at=t + timedelta(hours=2))
        history.ask(store, other, "dev", tags=("aluminium",), at=t)
        answered = history.ask(store, cid, "dev", tags=("aluminium",), at=t + timedelta(minutes=30))
        history.answer(store, answered, "ben")
        assert _ids(store.unanswered_questions(cid, tag="aluminium")) == [alu_old, alu_new]
        assert _ids(store.unanswered_questions(cid, tag="tig")) == [alu_old]
        assert store.unanswered_questions(cid, tag="copper") == []
        assert _ids(store.unanswered_questions(cid, asked_before=t + timedelta(hours=2))) == [alu_old, steel]
        assert _ids(store.unanswered_questions(cid, tag="aluminium", asked_before=t + timedelta(hours=2))) == [alu_old]
        assert store.unanswered_questions(cid, asked_before=t) == []  # strictly before

    def test_unanswered_questions_page_with_the_after_cursor(self, store: Store, history: SampleHistory) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        t = MONDAY + timedelta(days=1)
        # Three questions asked at the same instant: ties are broken by id.
        ids = [history.ask(store, cid, "chloe", at=t, question_id=f"q-{n}", tags=("x",)) for n in ("c", "a", "b")]
        later = [history.ask(store, cid, "dev", at=t + timedelta(minutes=n), tags=("x",)) for n in (1, 2)]
        expected = [*sorted(ids), *later]
        for tag in (None, "x"):
            seen: list[str] = []
            after: tuple[datetime, str] | None = None
            while page := store.unanswered_questions(cid, tag=tag, limit=2, after=after):
                seen.extend(_ids(page))
                after = (page[-1].created_at, page[-1].id)
            assert seen == expected
        assert _ids(store.unanswered_questions(cid, after=(t, "q-a"))) == ["q-b", "q-c", *later]

    def test_unanswered_questions_of_every_community_when_none_is_given(
        self, store: Store, history: SampleHistory
    ) -> None:
        oid = history.found_organisation(store)
        welding = history.found_community(store, oid)
        brazing = history.found_community(store, oid, name="Brazing")
        q1 = history.ask(store, brazing, "ana", tags=("flux",), at=MONDAY + timedelta(hours=1))
        q2 = history.ask(store, welding, "ana", at=MONDAY + timedelta(hours=2))
        assert _ids(store.unanswered_questions(None)) == [q1, q2]
        assert _ids(store.unanswered_questions(None, tag="flux")) == [q1]

    def test_members_are_the_active_ones_by_default_ordered_by_person(
        self, store: Store, history: SampleHistory
    ) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        other = history.found_community(store, oid, name="Other", founder="eve")
        for person in ("dev", "ben", "chloe"):
            history.join(store, cid, person)
        history.join(store, other, "dev")
        history.leave(store, cid, "chloe")
        members = store.members(cid)
        assert [m.person_id for m in members] == ["ana", "ben", "dev"]
        assert all(isinstance(m, Membership) and m.community_id == cid for m in members)
        assert members[1] == history.get("membership", membership_id(cid, "ben"))
        assert store.members("nowhere") == []

    def test_members_filter_by_statuses(self, store: Store, history: SampleHistory) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        history.invite(store, cid, "ben", roles=[Role.SPONSOR])
        history.request(store, cid, "chloe")
        history.join(store, cid, "dev")
        history.remove(store, cid, "dev")
        history.request(store, cid, "eve")
        history.decline(store, cid, "eve")

        def of(*statuses: MembershipStatus) -> list[str]:
            return [m.person_id for m in store.members(cid, statuses=statuses)]

        assert of(MembershipStatus.INVITED) == ["ben"]
        # The role an invitation offers is kept with it, and held by nobody until they join.
        invited = store.members(cid, statuses=[MembershipStatus.INVITED])[0]
        assert invited == history.get("membership", membership_id(cid, "ben"))
        assert invited.offered_roles == {Role.SPONSOR} and invited.roles == frozenset()
        assert store.members(cid, role=Role.SPONSOR, statuses=list(MembershipStatus)) == []
        assert of(MembershipStatus.PENDING, MembershipStatus.INVITED) == ["ben", "chloe"]
        assert of(MembershipStatus.REMOVED) == ["dev"]
        assert of(MembershipStatus.DECLINED) == ["eve"]
        assert of(*MembershipStatus) == ["ana", "ben", "chloe", "dev", "eve"]
        assert of() == []

    def test_members_filter_by_role_and_by_expertise_tag(self, store: Store, history: SampleHistory) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        other = history.found_community(store, oid, name="Other", founder="eve")
        for person in ("ben", "chloe", "dev"):
            history.join(store, cid, person)
        history.join(store, other, "dev")
        history.assign_role(store, cid, "ben", Role.EXPERT, tags=("aluminium", "tig"))
        history.assign_role(store, cid, "dev", Role.EXPERT, tags=("steel",))
        history.assign_role(store, other, "dev", Role.EXPERT, tags=("aluminium",), actor="eve")
        history.assign_role(store, cid, "chloe", Role.FACILITATOR)

        def people(**filters: Any) -> list[str]:
            return [m.person_id for m in store.members(cid, **filters)]

        assert people(role=Role.FACILITATOR) == ["ana", "chloe"]
        assert people(role=Role.EXPERT) == ["ben", "dev"]
        assert people(tag="aluminium") == ["ben"]
        assert people(role=Role.EXPERT, tag="steel") == ["dev"]
        assert people(role=Role.FACILITATOR, tag="steel") == []
        assert people(role=Role.SPONSOR) == []
        # A withdrawn role and a departure are reflected at once.
        history.withdraw_role(store, cid, "ben", Role.EXPERT)
        assert people(tag="aluminium") == []
        history.leave(store, cid, "chloe")
        assert people(role=Role.FACILITATOR) == ["ana"]
        assert people(role=Role.FACILITATOR, statuses=[MembershipStatus.LEFT]) == []
        assert people(statuses=[MembershipStatus.LEFT]) == ["chloe"]
        # The expertise of a member who left and came back starts empty.
        history.leave(store, cid, "dev")
        history.join(store, cid, "dev")
        assert people(role=Role.EXPERT) == []

    def test_find_filters_by_community_person_and_parent(self, store: Store, history: SampleHistory) -> None:
        oid = history.found_organisation(store)
        welding = history.found_community(store, oid)
        brazing = history.found_community(store, oid, name="Brazing")
        for cid in (welding, brazing):
            history.join(store, cid, "ben")
        q1 = history.ask(store, welding, "ana")
        q2 = history.ask(store, brazing, "ana")
        q3 = history.ask(store, welding, "ben")
        a1 = history.answer(store, q1, "ben")
        a2 = history.answer(store, q1, "ana")
        a3 = history.answer(store, q2, "ben")
        c1 = history.comment(store, ContributionKind.ANSWER, a1, "ana")
        c2 = history.comment(store, ContributionKind.QUESTION, q1, "ben")
        assert _ids(store.find("question")) == [q1, q2, q3]
        assert _ids(store.find("question", Filter(community_id=welding))) == [q1, q3]
        assert _ids(store.find("question", Filter(person_id="ana"))) == [q1, q2]
        assert _ids(store.find("question", Filter(community_id=welding, person_id="ana"))) == [q1]
        assert _ids(store.find("answer", Filter(parent_id=q1))) == [a1, a2]
        assert _ids(store.find("answer", Filter(person_id="ben"))) == [a1, a3]
        assert _ids(store.find("comment", Filter(parent_id=a1))) == [c1]
        assert _ids(store.find("comment", Filter(parent_id=q1))) == [c2]
        assert store.find("answer", Filter(parent_id=q3)) == []
        assert store.find("question", Filter(community_id="nowhere")) == []
        memberships = store.find("membership", Filter(person_id="ben"))
        assert memberships == [
            history.get("membership", membership_id(welding, "ben")),
            history.get("membership", membership_id(brazing, "ben")),
        ]
        assert store.find("answer", Filter(parent_id=q1))[0] == history.get("answer", a1)
        # a community is its own community; charter versions belong to it
        assert _ids(store.find("community", Filter(community_id=brazing))) == [brazing]
        assert len(store.find("charter_version", Filter(community_id=welding))) == 1

    def test_count_gives_how_many_find_returns_for_the_same_filters(self, store: Store, history: SampleHistory) -> None:
        oid = history.found_organisation(store)
        welding = history.found_community(store, oid)
        brazing = history.found_community(store, oid, name="Brazing")
        for cid in (welding, brazing):
            history.join(store, cid, "ben")
        q1 = history.ask(store, welding, "ana")
        history.ask(store, brazing, "ana")
        history.ask(store, welding, "ben")
        history.answer(store, q1, "ben")
        history.answer(store, q1, "ana")
        filters: list[dict[str, Any]] = [
            {},
            {"community_id": welding},
            {"person_id": "ana"},
            {"community_id": welding, "person_id": "ana"},
            {"community_id": "nowhere"},
            {"since": MONDAY, "until": MONDAY + timedelta(days=365)},
            {"until": MONDAY},
        ]
        for kind in ("question", "answer", "membership"):
            for where in filters:
                assert store.count(kind, Filter(**where)) == len(store.find(kind, Filter(**where))), (kind, where)
        assert store.count("question", Filter(community_id=welding)) == 2
        assert store.count("answer", Filter(parent_id=q1)) == 2

    def test_find_bounds_creation_time_since_inclusive_until_exclusive(
        self, store: Store, history: SampleHistory
    ) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        t = MONDAY + timedelta(days=2)
        q = [history.ask(store, cid, "ana", at=t + timedelta(hours=n)) for n in range(4)]
        assert _ids(store.find("question", Filter(since=t + timedelta(hours=1)))) == q[1:]
        assert _ids(store.find("question", Filter(until=t + timedelta(hours=2)))) == q[:2]
        assert (
            _ids(store.find("question", Filter(since=t + timedelta(hours=1), until=t + timedelta(hours=3)))) == q[1:3]
        )
        assert store.find("question", Filter(since=t + timedelta(hours=2), until=t + timedelta(hours=2))) == []

    def test_find_orders_by_creation_time_then_id_and_applies_the_limit(
        self, store: Store, history: SampleHistory
    ) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        t = MONDAY + timedelta(days=2)
        history.ask(store, cid, "ana", at=t + timedelta(hours=1), question_id="q-early-z")
        for name in ("q-b", "q-c", "q-a"):
            history.ask(store, cid, "ana", at=t + timedelta(hours=2), question_id=name)
        history.ask(store, cid, "ana", at=t, question_id="q-first")
        assert _ids(store.find("question")) == ["q-first", "q-early-z", "q-a", "q-b", "q-c"]
        assert _ids(store.find("question", limit=3)) == ["q-first", "q-early-z", "q-a"]
        assert store.find("question", limit=0) == []

    def test_find_of_a_kind_never_returns_another_kind(self, store: Store, history: SampleHistory) -> None:
        refs = history.every_kind(store)
        for kind in refs:
            found = store.find(kind)
            assert found, kind
            expected = sorted(
                (value for ref, value in history.state.items() if ref.kind == kind),
                key=lambda value: _sort_key(value),
            )
            assert found == expected, kind
        assert store.find("no_such_kind") == []

    def test_communities_are_ordered_by_name_then_id_and_filtered_by_organisation(
        self, store: Store, history: SampleHistory
    ) -> None:
        acme = history.found_organisation(store)
        globex = history.found_organisation(store, name="Globex")
        history.found_community(store, acme, name="Welding", community_id="c-2")
        history.found_community(store, acme, name="Brazing", community_id="c-3")
        history.found_community(store, acme, name="Welding", community_id="c-1")
        history.found_community(store, globex, name="Assembly", community_id="c-4")
        assert _ids(store.communities(acme)) == ["c-3", "c-1", "c-2"]
        assert _ids(store.communities()) == ["c-4", "c-3", "c-1", "c-2"]
        assert store.communities("nobody") == []
        history.update_community(store, "c-1", name="Zinc plating")
        assert _ids(store.communities(acme)) == ["c-3", "c-2", "c-1"]
        assert store.communities(acme)[2] == history.get("community", "c-1")


class TimersContract(StoreFixtures):
    """`Timers`: `find_due`, earliest first, settled timers never due."""

    def test_timers_come_due_earliest_first_and_a_settled_one_is_never_due(
        self, store: Store, history: SampleHistory
    ) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        history.ask(store, cid, "chloe")
        asked = history.recorded[-1].event
        history.join(store, cid, "ben")
        joined = history.recorded[-1].event
        t = MONDAY + timedelta(days=1)
        late = history.fail_reaction(store, "welcome", joined, retry_at=t + timedelta(hours=2))
        early = history.fail_reaction(store, "escalate", asked, retry_at=t)
        tie = history.fail_reaction(store, "welcome", asked, retry_at=t)
        settled = history.fail_reaction(store, "digest", asked, retry_at=t)
        history.recover_reaction(store, "digest", asked)
        due = store.find_due("policy_failure", before=t + timedelta(hours=2))  # inclusive
        assert [getattr(f, "id", None) for f in due] == [*sorted([early, tie]), late]
        assert due[0] == history.get("policy_failure", min(early, tie))
        assert len(store.find_due("policy_failure", before=t + timedelta(hours=2), limit=2)) == 2
        assert len(store.find_due("policy_failure", before=t)) == 2
        assert store.find_due("policy_failure", before=t - timedelta(microseconds=1)) == []
        assert settled not in {
            getattr(f, "id", None) for f in store.find_due("policy_failure", before=t + timedelta(days=9))
        }
        # Retried later: the timer moves.
        history.fail_reaction(store, "escalate", asked, retry_at=t + timedelta(hours=3), attempt=2)
        assert [getattr(f, "id", None) for f in store.find_due("policy_failure", before=t + timedelta(hours=2))] == [
            tie,
            late,
        ]

    def test_a_kind_without_timers_has_nothing_due(self, store: Store, history: SampleHistory) -> None:
        history.every_kind(store)
        for kind in ("question", "membership", "community", "preferences"):
            assert store.find_due(kind, before=MONDAY + timedelta(days=365)) == []


class LifecycleContract(StoreFixtures):
    """The store's life: reopened it keeps everything, closed it refuses work, it names its URL."""

    def test_reopening_the_store_keeps_everything(
        self, store: Store, history: SampleHistory, reopen: Callable[[Store], Store]
    ) -> None:
        refs = history.every_kind(store)
        cid = refs["community"].id
        before = _observe(store, history, cid)
        again = reopen(store)
        assert _observe(again, history, cid) == before
        # Writing goes on where it stopped: versions and positions continue.
        qid = history.ask(again, cid, "chloe", tags=("aluminium",))
        last = every_event(again)[-1]
        assert last.position == before["events"][-1].position + 1
        assert last.event.TYPE == "question_asked"
        history.answer(again, qid, "ben")
        found = again.get(Ref("question", qid))
        assert found is not None and found.version == 2

    def test_a_closed_store_refuses_to_work_with_a_storage_error(self, store: Store, history: SampleHistory) -> None:
        history.found_organisation(store)
        store.close()
        with pytest.raises(StorageError):
            store.get(Ref("organisation", "s-org-0001"))
        with pytest.raises(StorageError):
            store.events()
        with pytest.raises(StorageError):
            store.commit(Changeset())
        store.close()  # closing again is harmless

    def test_the_store_names_its_url(self, store: Store) -> None:
        assert isinstance(store.url, str)
        assert ":" in store.url, "a store's url names its scheme"


class ConcurrencyContract(StoreFixtures):
    """Several writers on one database, and several threads on one store, lose nothing."""

    def test_a_second_writer_sees_the_first_writers_commits(
        self, store: Store, history: SampleHistory, second_writer: Callable[[Store], Store]
    ) -> None:
        other = second_writer(store)
        oid = history.found_organisation(store)
        cid = history.found_community(other, oid)
        qid = history.ask(store, cid, "ana")
        found = other.get(Ref("question", qid))
        assert found is not None and found.value == history.get("question", qid)
        assert [r.position for r in other.events()] == [1, 2, 3, 4, 5]
        assert _ids(other.unanswered_questions(cid)) == [qid]

    def test_two_writers_on_one_database_never_lose_an_update(
        self, store: Store, history: SampleHistory, second_writer: Callable[[Store], Store]
    ) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        ref = Ref("community", cid)
        writers = [store, second_writer(store)]
        rounds = 15
        conflicts = [0, 0]
        errors: list[BaseException] = []

        def work(index: int) -> None:
            target = writers[index]
            try:
                for n in range(rounds):
                    while True:
                        current = target.get(ref)
                        assert current is not None
                        assert isinstance(current.value, Community)
                        renamed = attrs.evolve(current.value, name=f"w{index}-{n}")
                        try:
                            target.commit(Changeset(writes=(Write(ref, renamed, current.version),)))
                            break
                        except ConcurrencyConflictError:
                            conflicts[index] += 1
            except BaseException as exc:  # reported to the test thread below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        found = store.get(ref)
        assert found is not None
        assert found.version == 1 + 2 * rounds

    def test_a_store_shared_by_threads_gives_every_event_its_own_position(
        self, store: Store, history: SampleHistory
    ) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        per_thread = 10
        errors: list[BaseException] = []

        def work(index: int) -> None:
            try:
                for n in range(per_thread):
                    ref = Ref("question", f"t{index}-q{n}")
                    event = ev.QuestionAsked(
                        id=f"t{index}-e{n}",
                        actor_id="ana",
                        community_id=cid,
                        occurred_at=MONDAY + timedelta(days=1, seconds=n),
                        question_id=ref.id,
                        title="Which rod?",
                        body="For cast iron.",
                        tags=frozenset(),
                    )
                    question = apply(ref, None, event)
                    store.commit(Changeset(writes=(Write(ref, question, 0),), events=(event,)))
            except BaseException as exc:  # reported to the test thread below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        positions = [r.position for r in every_event(store)]
        assert positions == list(range(1, 4 + 4 * per_thread + 1))
        assert len(store.find("question")) == 4 * per_thread


class EngineContract(StoreFixtures):
    """The engine on the store: a community's life end to end, imports, two engines at once."""

    def test_an_engine_runs_a_community_scenario_end_to_end_on_the_store(self, store: Store) -> None:
        from coplib.domain.clock import ManualClock

        clock = ManualClock(MONDAY)
        engine = open_engine_on(store, clock=clock)
        org = engine.create_organisation("eve", "Acme", organisation_id="acme")
        community = engine.create_community(
            "ana", org.id, name="Welding", vocation="Weld better together", tags=["welding"], community_id="welding"
        )
        for person in ("ben", "chloe", "dev"):
            clock.advance(timedelta(minutes=1))
            engine.join(person, community.id)
        engine.assign_role("ana", community.id, "ben", Role.EXPERT, tags=["aluminium"])
        clock.advance(timedelta(hours=1))
        question = engine.ask("chloe", community.id, title="Aluminium porosity?", body="Why?", tags=["aluminium"])
        clock.advance(timedelta(hours=1))
        other = engine.ask("dev", community.id, title="Which gas?", body="Argon or mix?")
        assert _ids(engine.unanswered_questions("ana", community.id)) == [question.id, other.id]
        assert _ids(engine.unanswered_questions("ana", community.id, older_than=timedelta(minutes=30))) == [question.id]
        clock.advance(timedelta(minutes=5))
        answer = engine.answer("ben", question.id, body="Clean the oxide layer first.")
        clock.advance(timedelta(minutes=5))
        engine.accept("chloe", answer.id)
        clock.advance(timedelta(minutes=5))
        engine.comment("chloe", "answer", answer.id, body="It worked!")
        clock.advance(timedelta(minutes=5))
        engine.endorse("chloe", "answer", answer.id)
        assert _ids(engine.unanswered_questions("ana", community.id)) == [other.id]
        thread = engine.question("dev", question.id)
        assert thread.accepted_answer == answer
        assert [m.person_id for m in engine.members("dev", community.id, role=Role.EXPERT)] == ["ben"]
        assert [m.person_id for m in engine.members("dev", community.id, tag="aluminium")] == ["ben"]
        assert _ids(engine.portfolio("dev", org.id)) == [community.id]
        history_ = engine.history("ana", community.id)
        assert [r.position for r in history_] == sorted(r.position for r in history_)
        counts = engine.count_events("ana", community.id, since=MONDAY, until=MONDAY + timedelta(days=7), period="week")
        assert counts == {MONDAY.date(): len(history_)}
        # The answer and the acceptance told the people concerned, through the outbox.
        topics = sorted((m.recipient_id, m.topic) for m in store.pending_messages())
        assert ("chloe", "answer_posted") in topics and ("ben", "answer_accepted") in topics
        assert engine.dispatch().delivered == len(topics)
        assert store.pending_messages() == []
        engine.withdraw("ben", "answer", answer.id)
        assert _ids(engine.unanswered_questions("ana", community.id)) == [question.id, other.id]
        engine.leave("dev", community.id)
        assert [m.person_id for m in engine.members("ana", community.id)] == ["ana", "ben", "chloe"]
        with pytest.raises(NotFoundError):
            engine.question("ana", "no-such-question")
        contributions = engine.contributions_of("ana", "chloe", community_id=community.id)
        assert [c.KIND.value for c in contributions] == ["question", "comment", "endorsement"]

    def test_an_engine_imports_a_whole_history_in_batches(self, store: Store) -> None:
        from coplib.adapters.storage.memory import MemoryStore

        scratch = MemoryStore()
        source = SampleHistory(prefix="imp")
        source.every_kind(scratch)
        events = [r.event for r in every_event(scratch)]
        engine = open_engine_on(store)
        assert engine.import_history(events, batch_size=7) == len(events)
        assert [r.event for r in every_event(store)] == events
        for ref, value in source.state.items():
            found = store.get(ref)
            assert found is not None and found.value == value, ref
        assert store.pending_messages() == []  # an import is not news

    def test_an_import_batch_that_does_not_fit_is_refused_whole_and_earlier_batches_stay(self, store: Store) -> None:
        from coplib.adapters.storage.memory import MemoryStore

        scratch = MemoryStore()
        source = SampleHistory(prefix="imp")
        oid = source.found_organisation(scratch)
        source.found_community(scratch, oid)
        events = [r.event for r in every_event(scratch)]
        engine = open_engine_on(store)
        engine.import_history(events[:1])
        with pytest.raises(CoplibError):
            engine.import_history([*events[1:], events[0]], batch_size=10)  # the organisation again
        assert [r.event for r in every_event(store)] == events[:1]
        assert store.find("community") == []

    def test_two_engines_answering_one_question_at_once_count_every_answer(
        self, store: Store, second_writer: Callable[[Store], Store]
    ) -> None:
        from coplib.domain.clock import ManualClock

        clock = ManualClock(MONDAY)
        counter = iter(range(1_000_000))
        lock = threading.Lock()

        def new_id() -> str:
            with lock:
                return f"id-{next(counter)}"

        engines = [
            open_engine_on(store, clock=clock, id_factory=new_id),
            open_engine_on(second_writer(store), clock=clock, id_factory=new_id),
        ]
        engines[0].create_organisation(SYSTEM, "Acme", organisation_id="acme")
        engines[0].create_community("ana", "acme", name="Welding", vocation="Weld", community_id="welding")
        engines[0].join("ben", "welding")
        question = engines[0].ask("ana", "welding", title="Which wire?", body="For thin steel.")
        per_engine = 8
        errors: list[BaseException] = []

        def work(engine: Engine) -> None:
            try:
                for _ in range(per_engine):
                    while True:
                        try:
                            engine.answer("ben", question.id, body="0.8 mm")
                            break
                        except ConcurrencyConflictError:
                            continue  # the engine's own retries ran out: try the command again
            except BaseException as exc:  # reported to the test thread below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(engine,)) for engine in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        found = store.get(Ref("question", question.id))
        assert found is not None and isinstance(found.value, Question)
        assert found.value.answer_count == 2 * per_engine
        assert len(store.find("answer", Filter(parent_id=question.id))) == 2 * per_engine
        assert found.version == 1 + 2 * per_engine
        assert len([r for r in every_event(store) if r.event.TYPE == "answer_posted"]) == 2 * per_engine


class StoreContract(
    AggregateStoreContract,
    CommitContract,
    EventLogContract,
    ReadQueriesContract,
    HealthQueriesContract,
    OutboxContract,
    TimersContract,
    LifecycleContract,
    ConcurrencyContract,
    EngineContract,
    PagingQueriesContract,
):
    """Every test a `coplib.ports.storage.Store` must pass: each capability's contract, and the
    checks that span them. See the module docstring."""

    def test_the_samples_cover_every_aggregate_kind_and_every_event_type(self) -> None:
        """A kit gap rather than an adapter's fault: a new kind or event type needs a line in
        `coplib.testing.samples.SampleHistory.every_kind`."""
        from coplib.adapters.storage.memory import MemoryStore

        history = SampleHistory()
        refs = history.every_kind(MemoryStore())
        assert set(refs) == set(AGGREGATE_KINDS) == {ref.kind for ref in history.state}
        assert {r.event.TYPE for r in history.recorded} == set(EVENT_TYPES)

    @pytest.mark.parametrize("limit", [-1, True, "5", 2.5], ids=["negative", "bool", "text", "float"])
    def test_a_query_refuses_a_limit_that_is_no_whole_number_and_changes_nothing(
        self, store: Store, history: SampleHistory, limit: Any
    ) -> None:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        history.ask(store, cid, "ana")
        before = store.events(limit=1_000)
        queries: dict[str, Callable[[], object]] = {
            "find": lambda: store.find("question", limit=limit),
            "unanswered_questions": lambda: store.unanswered_questions(cid, limit=limit),
            "events": lambda: store.events(limit=limit),
            "pending_messages": lambda: store.pending_messages(limit=limit),
            "outbox": lambda: store.outbox(limit=limit),
            "claim_messages": lambda: store.claim_messages(
                worker="w", now=MONDAY, lease=timedelta(minutes=1), limit=limit
            ),
            "find_due": lambda: store.find_due("answer_watch", before=MONDAY, limit=limit),
        }
        for name, query in queries.items():
            with pytest.raises(InvalidInputError, match=r"\$\.limit") as refused:
                query()
            assert "whole number" in str(refused.value), name
        assert store.events(limit=1_000) == before


def _sort_key(value: Any) -> tuple[datetime, str]:
    from coplib.adapters.storage._index import index_row
    from coplib.domain.history import ref_of

    row = index_row(ref_of(value), value)
    # Kinds without a creation time (preferences) sort first, as NULL does in SQL.
    return (row.created_at or datetime(1970, 1, 1, tzinfo=UTC), row.id)


def _observe(store: Store, history: SampleHistory, community_id: str) -> dict[str, Any]:
    """Everything a reader can see of `store`, for comparing before and after a reopening."""
    return {
        "aggregates": {ref: store.get(ref) for ref in history.state},
        "events": every_event(store),
        "pending": store.pending_messages(),
        "outbox": store.outbox(limit=10_000),
        "communities": store.communities(),
        "members": store.members(community_id, statuses=list(MembershipStatus)),
        "experts": store.members(community_id, role=Role.EXPERT, tag="aluminium"),
        "unanswered": store.unanswered_questions(None),
        "questions": store.find("question"),
        "counts": store.count_events(
            None, since=MONDAY - timedelta(days=1), until=MONDAY + timedelta(days=60), period=Period.DAY
        ),
    }
