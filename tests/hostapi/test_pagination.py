"""Pagination: walking a list page by page while items arrive skips and repeats nothing that
was there when the walk began, in the list's order (a state machine on memory and SQLite);
a malformed, forged or misplaced cursor is refused, naming ``$.cursor``."""

from __future__ import annotations

import base64
import json
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import coplib
from coplib import SYSTEM, Charter, Engine, InvalidInputError, ManualClock
from coplib.domain.paging import PAGE_MAX, CursorCodec, Page
from tests.unit.support import PEOPLE, START, counting_ids

AUTHORS = ("chloe", "dev")


class Walks(RuleBasedStateMachine):
    """Questions are asked (sometimes at the same instant), answered, and two lists are
    walked a page at a time meanwhile: the newest questions, and a person's contributions.
    The expected order is computed here from what the machine did, not read from coplib."""

    url = "memory://"

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.clock = ManualClock(START)
        url = self.url.replace("{tmp}", self.tmp.name)
        self.engine = coplib.open(url, people=PEOPLE, clock=self.clock, id_factory=counting_ids("q"))
        self.engine.create_organisation("eve", "Acme", organisation_id="acme")
        self.engine.create_community("ana", "acme", name="Welding", vocation="v", community_id="welding")
        for person in AUTHORS:
            self.engine.join(person, "welding")
        self.asked: list[tuple[datetime, str, str]] = []  # (created_at, id, author)
        self.walks: dict[str, dict[str, Any]] = {}

    def teardown(self) -> None:
        self.engine.close()
        self.tmp.cleanup()

    @initialize(n=st.integers(0, 6))
    def some_questions(self, n: int) -> None:
        for i in range(n):
            self.ask(AUTHORS[i % 2], i % 3 == 0)

    @rule(author=st.sampled_from(AUTHORS), same_instant=st.booleans())
    def ask(self, author: str, same_instant: bool) -> None:
        if not same_instant:
            self.clock.advance(timedelta(seconds=30))
        q = self.engine.ask(author, "welding", title="A question", body="Its body")
        self.asked.append((q.created_at, q.id, author))

    def _expected(self, name: str) -> list[str]:
        if name == "newest":
            return [i for _, i, _ in sorted(self.asked, reverse=True)]
        return [i for t, i, a in sorted(self.asked) if a == "chloe"]

    def _read(self, name: str, cursor: str | None, limit: int) -> Page[Any]:
        if name == "newest":
            return self.engine.questions("ben", "welding", cursor=cursor, limit=limit)
        return self.engine.contributions_page("ben", "chloe", kinds=["question"], cursor=cursor, limit=limit)

    @rule(name=st.sampled_from(["newest", "chloe"]), limit=st.integers(1, 4))
    def start_walk(self, name: str, limit: int) -> None:
        self.walks[name] = {"at_start": self._expected(name), "seen": [], "cursor": None, "limit": limit, "done": False}

    @precondition(lambda self: any(not w["done"] for w in self.walks.values()))
    @rule(data=st.data())
    def next_page(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(n for n, w in self.walks.items() if not w["done"])))
        walk = self.walks[name]
        page = self._read(name, walk["cursor"], walk["limit"])
        assert len(page.items) <= walk["limit"]
        assert page.next_cursor is None or len(page.items) == walk["limit"]
        walk["seen"].extend(q.id for q in page.items)
        walk["cursor"] = page.next_cursor
        walk["done"] = page.next_cursor is None

    @invariant()
    def nothing_repeated_and_in_order(self) -> None:
        for name, walk in self.walks.items():
            seen = walk["seen"]
            assert len(seen) == len(set(seen))
            order = self._expected(name)  # every item ever added, in the list's order
            positions = [order.index(i) for i in seen]
            assert positions == sorted(positions)

    @invariant()
    def nothing_skipped_once_done(self) -> None:
        for walk in self.walks.values():
            if walk["done"]:
                assert set(walk["at_start"]) <= set(walk["seen"])


class SQLiteWalks(Walks):
    url = "sqlite:///{tmp}/walks.db"


TestWalksOnMemory = Walks.TestCase
TestWalksOnMemory.settings = settings(
    max_examples=20, stateful_step_count=15, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestWalksOnSQLite = SQLiteWalks.TestCase
TestWalksOnSQLite.settings = settings(
    max_examples=8, stateful_step_count=15, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


# -- cursors refused ----------------------------------------------------------------------------------


@pytest.fixture
def cursor(engine: Engine) -> str:
    for i in range(3):
        engine.ask("chloe", "welding", title=f"Question {i}", body="Body")
    page = engine.questions("dev", "welding", limit=1)
    assert page.next_cursor is not None
    return page.next_cursor


def _tampered(cursor: str) -> str:
    head, tag = cursor.split(".")
    body = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    body["k"][1] = "another-id"
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{forged}.{tag}"


@pytest.mark.parametrize(
    "bad",
    [
        lambda c: 42,
        lambda c: "",
        lambda c: "not a cursor",
        lambda c: c + "x",
        lambda c: c.replace(".", ".."),
        lambda c: "A" * 5000,
        lambda c: c[::-1],
        _tampered,
        lambda c: CursorCodec(b"another engine's secret").encode("questions", [], ["x"]),
    ],
    ids=["number", "empty", "text", "suffix", "two-dots", "too-long", "reversed", "forged-key", "other-secret"],
)
def test_a_malformed_or_forged_cursor_is_refused_naming_the_cursor(engine: Engine, cursor: str, bad: Any) -> None:
    with pytest.raises(InvalidInputError) as caught:
        engine.questions("dev", "welding", cursor=bad(cursor), limit=1)
    assert [e.path for e in caught.value.errors] == ["$.cursor"]


def test_a_cursor_names_its_list_its_viewer_and_its_filters(engine: Engine, cursor: str) -> None:
    for misuse in (
        lambda: engine.questions("chloe", "welding", cursor=cursor, limit=1),  # another viewer
        lambda: engine.questions("dev", "welding", order="unanswered", cursor=cursor, limit=1),  # other filters
        lambda: engine.questions("dev", "welding", tag="welding", cursor=cursor, limit=1),
        lambda: engine.history_page("dev", "welding", cursor=cursor),  # another list
        lambda: engine.contributions_page("dev", "chloe", cursor=cursor),
    ):
        with pytest.raises(InvalidInputError) as caught:
            misuse()
        assert [e.path for e in caught.value.errors] == ["$.cursor"]


def test_a_cursor_from_another_engine_on_the_same_store_is_accepted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/coplib.db"
    with coplib.open(url, people=PEOPLE) as first:
        first.create_organisation("eve", "Acme", organisation_id="acme")
        first.create_community("ana", "acme", name="Welding", vocation="v", community_id="welding")
        page = first.history_page("ana", "welding", limit=2)
    with coplib.open(url, people=PEOPLE) as second:
        rest = second.history_page("ana", "welding", cursor=page.next_cursor, limit=100)
        assert [r.position for r in rest] == [r.position for r in second.history("ana", "welding")][2:]


def test_a_host_secret_makes_the_default_cursors_invalid(engine: Engine, cursor: str) -> None:
    engine.cursor_secret = b"a secret of the host, 32 bytes.."
    with pytest.raises(InvalidInputError):
        engine.questions("dev", "welding", cursor=cursor, limit=1)
    with pytest.raises(InvalidInputError) as caught:
        engine.cursor_secret = b"short"
    assert [e.path for e in caught.value.errors] == ["$.cursor_secret"]


@pytest.mark.parametrize("limit", [0, -1, PAGE_MAX + 1, True, "10", 2.5])
def test_a_page_size_out_of_range_is_refused(engine: Engine, limit: Any) -> None:
    with pytest.raises(InvalidInputError) as caught:
        engine.questions("dev", "welding", limit=limit)
    assert [e.path for e in caught.value.errors] == ["$.limit"]


# -- every paged list walks its whole list ----------------------------------------------------------------


def _walk(read: Any, limit: int = 2) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        page = read(cursor=cursor, limit=limit)
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return items


def test_each_paged_list_walks_the_same_items_as_its_whole_list(engine: Engine, clock: ManualClock) -> None:
    for i in range(5):
        clock.advance(timedelta(minutes=1))
        q = engine.ask("chloe", "welding", title=f"Q{i}", body="B", tags=["welding"])
        engine.answer("ben", q.id, body="A")
    for i in range(3):
        engine.amend_charter("ana", "welding", Charter(vocation=f"Welders, version {i}"), reason=f"r{i}")

    assert _walk(lambda **k: engine.members_page("dev", "welding", **k)) == engine.members("dev", "welding")
    assert _walk(lambda **k: engine.history_page("dev", "welding", **k)) == engine.history("dev", "welding")
    assert _walk(lambda **k: engine.charter_history_page("dev", "welding", **k)) == engine.charter_history(
        "dev", "welding"
    )
    assert _walk(lambda **k: engine.contributions_page("dev", "ben", **k)) == engine.contributions_of("dev", "ben")
    assert _walk(lambda **k: engine.portfolio_page("dev", "acme", **k)) == engine.portfolio("dev", "acme")
    assert _walk(lambda **k: engine.outbox_page(SYSTEM, **k), limit=3) == engine.outbox(SYSTEM, limit=10_000)
    assert len(_walk(lambda **k: engine.outbox_page(SYSTEM, **k), limit=3)) > 3
