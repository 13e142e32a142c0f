"""The keyset queries of paging (docs/host-api.md, "Pagination"): `find` with `after` and
`newest_first`, `outbox` with `after`. Every store passes them: a page starts strictly after
the last item of the page before, in the list's order, ties on the time broken by id, and
items added meanwhile never shift a page (no offset)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from coplib.domain.errors import InvalidInputError
from coplib.domain.history import Aggregate
from coplib.ports.storage import Filter, OutboxMessage, Store
from coplib.testing._fixtures import StoreFixtures, ids_of
from coplib.testing.outbox_contract import outbox_message, queue_messages
from coplib.testing.samples import MONDAY, SampleHistory

__all__ = ["PagingQueriesContract"]


def _key(item: Any) -> tuple[datetime, str]:
    return (item.created_at, item.id)


class PagingQueriesContract(StoreFixtures):
    """Keyset paging of `find` and `outbox`."""

    def _questions(self, store: Store, history: SampleHistory) -> tuple[str, list[str]]:
        oid = history.found_organisation(store)
        cid = history.found_community(store, oid)
        # Two at the same instant, to show ties are broken by id.
        times = [MONDAY + timedelta(hours=h) for h in (3, 1, 2, 2, 5)]
        asked = [history.ask(store, cid, "chloe", at=t) for t in times]
        return cid, asked

    def test_find_pages_after_a_key_oldest_first_and_newest_first(self, store: Store, history: SampleHistory) -> None:
        cid, _ = self._questions(store, history)
        where = Filter(community_id=cid)
        everything = store.find("question", where)
        expected = sorted(everything, key=_key)
        assert everything == expected
        for newest_first in (False, True):
            order = expected[::-1] if newest_first else expected
            walked: list[Aggregate] = []
            after = None
            while True:
                page = store.find("question", where, limit=2, after=after, newest_first=newest_first)
                walked.extend(page)
                if len(page) < 2:
                    break
                after = _key(page[-1])
            assert ids_of(walked) == ids_of(order)

    def test_a_page_does_not_shift_when_items_arrive_before_its_key(self, store: Store, history: SampleHistory) -> None:
        cid, _ = self._questions(store, history)
        where = Filter(community_id=cid)
        first = store.find("question", where, limit=2, newest_first=True)
        rest_before = store.find("question", where, after=_key(first[-1]), newest_first=True)
        history.ask(store, cid, "dev", at=MONDAY + timedelta(hours=9))  # newer than every one: before the key
        assert store.find("question", where, after=_key(first[-1]), newest_first=True) == rest_before

    def test_find_with_a_key_combines_with_the_filter(self, store: Store, history: SampleHistory) -> None:
        cid, asked = self._questions(store, history)
        other = history.found_community(store, history.found_organisation(store, name="Other"))
        history.ask(store, other, "chloe", at=MONDAY + timedelta(hours=4))
        by_time = sorted((history.get("question", q) for q in asked), key=_key)
        after = _key(by_time[1])
        found = store.find("question", Filter(community_id=cid, person_id="chloe"), after=after)
        assert ids_of(found) == ids_of(by_time[2:])

    @pytest.mark.parametrize("after", [("2026-01-05", "x"), (MONDAY,), (MONDAY.replace(tzinfo=None), "x"), "x"])
    def test_find_refuses_a_key_that_is_no_time_and_id(self, store: Store, after: Any) -> None:
        with pytest.raises(InvalidInputError):
            store.find("question", after=after)
        with pytest.raises(InvalidInputError):
            store.outbox(after=after)

    def test_the_whole_outbox_pages_after_a_key(self, store: Store) -> None:
        messages = [outbox_message(n) for n in (1, 2, 3, 4, 5)]
        messages.append(outbox_message(6, at=messages[2].created_at))  # a tie, broken by id
        queue_messages(store, messages)
        expected = sorted(messages, key=lambda m: (m.created_at, m.id))
        walked: list[OutboxMessage] = []
        after = None
        while True:
            page = store.outbox(limit=2, after=after)
            walked.extend(e.message for e in page)
            if len(page) < 2:
                break
            after = (page[-1].message.created_at, page[-1].message.id)
        assert [m.id for m in walked] == [m.id for m in expected]
        assert [e.message.id for e in store.outbox(recipient_id="ana", after=after)] == []
