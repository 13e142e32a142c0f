"""The SQLite store reads a key from memory when it knows its current state: it read or wrote
it since another connection last committed (SQLite's ``PRAGMA data_version`` counts those
commits); so with the holders of a role, also forgotten when the store itself commits a
membership. A commit by another connection, another process, sends every read back to the
file; what a store serves from memory is always what the file holds."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from coplib.adapters.storage.sqlite import SQLiteStore
from coplib.domain.community import Role
from coplib.domain.history import Ref
from coplib.domain.membership import membership_id
from coplib.testing.samples import SampleHistory
from tests.scale import examples

PEOPLE = ("ben", "chloe", "dev", "eve")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "coplib.db"


class Statements:
    """The SELECTs a store's connection runs on the aggregates table, from now on."""

    def __init__(self, store: SQLiteStore) -> None:
        self.seen: list[str] = []
        store._connection().set_trace_callback(self.seen.append)

    def reads(self) -> int:
        return sum(1 for sql in self.seen if "FROM aggregates" in sql or "JOIN aggregates" in sql)


@pytest.fixture
def pair(db: Path) -> Iterator[tuple[SQLiteStore, SQLiteStore, SampleHistory, str]]:
    """Two stores on one file (as two processes would hold it), a community written by the first."""
    first, second = SQLiteStore(db), SQLiteStore(db)
    history = SampleHistory()
    cid = history.found_community(first, history.found_organisation(first))
    yield first, second, history, cid
    first.close()
    second.close()


def test_what_a_store_wrote_or_read_is_read_again_from_memory_while_nobody_else_commits(
    pair: tuple[SQLiteStore, SQLiteStore, SampleHistory, str],
) -> None:
    first, _, history, cid = pair
    community, absent = Ref("community", cid), Ref("membership", membership_id(cid, "ben"))
    first.get_many([community, absent])  # the community was written by `first`; the membership is read
    statements = Statements(first)

    found = first.get_many([community, absent])

    assert statements.reads() == 0
    assert found == {community: first.get(community)}
    assert found[community].value == history.get("community", cid)


def test_a_commit_by_another_connection_sends_reads_back_to_the_file(
    pair: tuple[SQLiteStore, SQLiteStore, SampleHistory, str],
) -> None:
    first, second, history, cid = pair
    community, ben = Ref("community", cid), Ref("membership", membership_id(cid, "ben"))
    assert first.get(ben) is None  # known absent
    history.join(second, cid, "ben")
    history.update_community(second, cid, name="Renamed by the other process")
    statements = Statements(first)

    found = first.get_many([community, ben])

    assert statements.reads() == 1
    assert found[community].version == 2 and found[community].value == history.get("community", cid)
    assert found[ben].value == history.get("membership", membership_id(cid, "ben"))


def test_a_store_that_wrote_a_key_after_another_connection_committed_still_reads_the_file(
    pair: tuple[SQLiteStore, SQLiteStore, SampleHistory, str],
) -> None:
    first, second, history, cid = pair
    ben = Ref("membership", membership_id(cid, "ben"))
    assert first.get(ben) is None  # known absent
    history.join(second, cid, "ben")  # another connection commits...
    history.join(first, cid, "chloe")  # ...then this one: its memory of other keys is stale
    statements = Statements(first)

    found = first.get(ben)

    assert statements.reads() == 1
    assert found is not None and found.value == history.get("membership", membership_id(cid, "ben"))


def test_the_holders_of_a_role_are_remembered_until_a_membership_changes_here_or_elsewhere(
    pair: tuple[SQLiteStore, SQLiteStore, SampleHistory, str],
) -> None:
    first, second, history, cid = pair
    history.join(first, cid, "ben")
    history.assign_role(first, cid, "ben", Role.EXPERT, tags=["tig"])

    def experts() -> list[str]:
        return [m.person_id for m in first.members(cid, role=Role.EXPERT)]

    assert experts() == ["ben"]
    statements = Statements(first)
    assert experts() == ["ben"] and statements.reads() == 0  # from memory

    history.join(first, cid, "chloe")
    history.assign_role(first, cid, "chloe", Role.EXPERT)  # this store's own commit
    assert experts() == ["ben", "chloe"] and statements.reads() == 1

    history.withdraw_role(second, cid, "ben", Role.EXPERT)  # another connection's commit
    assert experts() == ["chloe"] and statements.reads() == 2


@settings(max_examples=examples(40), stateful_step_count=30, deadline=None)
class TwoConnections(RuleBasedStateMachine):
    """Two stores on one file write and read in any order; every read equals what a fresh
    connection reads from the file (version and state), and absent is absent there too."""

    @initialize()
    def open_file(self) -> None:
        import tempfile

        self.directory = tempfile.TemporaryDirectory()
        path = Path(self.directory.name) / "coplib.db"
        self.stores = (SQLiteStore(path), SQLiteStore(path))
        self.file = sqlite3.connect(path)
        self.history = SampleHistory()
        self.cid = self.history.found_community(self.stores[0], self.history.found_organisation(self.stores[0]))
        self.renames = 0

    def teardown(self) -> None:
        if hasattr(self, "stores"):
            for store in self.stores:
                store.close()
            self.file.close()
            self.directory.cleanup()

    def on_file(self, ref: Ref) -> int | None:
        row = self.file.execute("SELECT version FROM aggregates WHERE kind = ? AND id = ?", ref).fetchone()
        return None if row is None else int(row[0])

    def refs(self) -> list[Ref]:
        return [Ref("community", self.cid), *(Ref("membership", membership_id(self.cid, p)) for p in PEOPLE)]

    @rule(which=st.integers(0, 1), person=st.sampled_from(PEOPLE))
    def join(self, which: int, person: str) -> None:
        ref = Ref("membership", membership_id(self.cid, person))
        if ref not in self.history.state:
            self.history.join(self.stores[which], self.cid, person)

    @rule(which=st.integers(0, 1))
    def rename(self, which: int) -> None:
        self.renames += 1
        self.history.update_community(self.stores[which], self.cid, name=f"Welding {self.renames}")

    @rule(which=st.integers(0, 1), person=st.sampled_from(PEOPLE), expert=st.booleans())
    def change_role(self, which: int, person: str, expert: bool) -> None:
        ref = Ref("membership", membership_id(self.cid, person))
        membership = self.history.state.get(ref)
        if membership is None or (Role.EXPERT in membership.roles) == expert:  # type: ignore[attr-defined]
            return
        if expert:
            self.history.assign_role(self.stores[which], self.cid, person, Role.EXPERT, tags=["tig"])
        else:
            self.history.withdraw_role(self.stores[which], self.cid, person, Role.EXPERT)

    def experts_on_file(self, tag: str | None) -> list[str]:
        sql = (
            "SELECT r.person_id FROM membership_roles r JOIN aggregates a ON a.kind = 'membership' AND a.id = r.id "
            "WHERE r.community_id = ? AND r.role = 'expert' AND a.status = 'active'"
        )
        params: list[str] = [self.cid]
        if tag is not None:
            sql += " AND EXISTS (SELECT 1 FROM tags t WHERE t.kind = 'membership' AND t.id = a.id AND t.tag = ?)"
            params.append(tag)
        return [row[0] for row in self.file.execute(sql + " ORDER BY r.person_id", params)]

    @rule(which=st.integers(0, 1), tag=st.sampled_from([None, "tig"]))
    def list_experts(self, which: int, tag: str | None) -> None:
        listed = [m.person_id for m in self.stores[which].members(self.cid, role=Role.EXPERT, tag=tag)]
        assert listed == self.experts_on_file(tag)

    @rule(which=st.integers(0, 1), picked=st.lists(st.integers(0, len(PEOPLE)), min_size=1, max_size=4))
    def read(self, which: int, picked: list[int]) -> None:
        refs = [self.refs()[i] for i in picked]
        found = self.stores[which].get_many(refs)
        for ref in refs:
            stored = self.on_file(ref)
            if stored is None:
                assert ref not in found
            else:
                assert found[ref].version == stored
                assert found[ref].value == self.history.state[ref]

    @invariant()
    def single_reads_agree_with_the_file(self) -> None:
        if not hasattr(self, "stores"):
            return
        for store in self.stores:
            for ref in self.refs():
                got = store.get(ref)
                assert (got.version if got is not None else None) == self.on_file(ref)
            experts = [m.person_id for m in store.members(self.cid, role=Role.EXPERT)]
            assert experts == self.experts_on_file(None)


test_two_connections_always_read_what_the_file_holds = TwoConnections.TestCase
