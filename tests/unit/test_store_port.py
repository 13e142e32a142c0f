"""The storage port: split by capability, every method abstract, and the filter of `find` and
`count` a validated value."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta, timezone

import pytest

import coplib
from coplib.ports import (
    EVERYTHING,
    AggregateStore,
    EventLog,
    Filter,
    Outbox,
    ReadQueries,
    Store,
    Timers,
)

CAPABILITIES = (AggregateStore, EventLog, Outbox, Timers, ReadQueries)


def test_a_store_is_every_capability_with_commit_and_close_on_top() -> None:
    assert all(issubclass(Store, capability) for capability in CAPABILITIES)
    mine = {name for capability in CAPABILITIES for name in capability.__abstractmethods__}
    assert Store.__abstractmethods__ == mine | {"commit", "close"}


def test_no_two_capabilities_claim_the_same_method() -> None:
    names = [name for capability in CAPABILITIES for name in capability.__abstractmethods__]
    assert len(names) == len(set(names))


def test_every_public_method_of_the_port_is_abstract() -> None:
    public = {name for name, _ in inspect.getmembers(Store, inspect.isfunction) if not name.startswith("_")}
    assert public == set(Store.__abstractmethods__)


@pytest.mark.parametrize("missing", sorted(Store.__abstractmethods__))
def test_a_store_missing_a_method_cannot_be_built_and_the_error_names_it(missing: str) -> None:
    lacking = type("Lacking", (coplib.MemoryStore,), {missing: getattr(Store, missing)})
    with pytest.raises(TypeError, match=missing):
        lacking()


def test_the_filter_is_exported_where_hosts_and_adapters_look_for_it() -> None:
    assert coplib.Filter is Filter
    assert Filter() == EVERYTHING


def test_a_filter_is_a_frozen_value_given_by_keyword() -> None:
    where = Filter(community_id="c-1", since=datetime(2026, 1, 5, tzinfo=UTC))
    assert where == Filter(since=datetime(2026, 1, 5, tzinfo=UTC), community_id="c-1")
    assert hash(where) == hash(Filter(community_id="c-1", since=datetime(2026, 1, 5, tzinfo=UTC)))
    with pytest.raises(TypeError):
        Filter("c-1")  # type: ignore[misc]


@pytest.mark.parametrize("field", ["community_id", "person_id", "parent_id"])
def test_a_filter_refuses_an_id_that_is_no_string_naming_the_field(field: str) -> None:
    with pytest.raises(
        coplib.InvalidInputError, match=rf"invalid Filter: must be a str, got 42 @ \$\.{field}"
    ) as caught:
        Filter(**{field: 42})  # type: ignore[arg-type]
    assert [e.path for e in caught.value.errors] == [f"$.{field}"]


@pytest.mark.parametrize("field", ["since", "until"])
@pytest.mark.parametrize(
    ("value", "says"),
    [
        (datetime(2026, 1, 5), "naive"),
        (datetime(2026, 1, 5, tzinfo=timezone(timedelta(hours=2))), "must be in UTC"),
        ("2026-01-05", "must be a datetime"),
    ],
    ids=["naive", "offset", "text"],
)
def test_a_filter_refuses_a_time_that_is_not_aware_utc_naming_the_field(field: str, value: object, says: str) -> None:
    with pytest.raises(coplib.InvalidInputError, match=says) as caught:
        Filter(**{field: value})  # type: ignore[arg-type]
    assert [e.path for e in caught.value.errors] == [f"$.{field}"]
    assert str(caught.value).startswith("invalid Filter: ")


def test_find_and_count_take_the_filter_and_nothing_else_as_filters() -> None:
    store = coplib.MemoryStore()
    assert store.find("question", Filter(community_id="c-1"), limit=1) == []
    assert store.count("question", where=Filter(person_id="ana")) == 0
    with pytest.raises(TypeError, match="community_id"):
        store.find("question", community_id="c-1")  # type: ignore[call-arg]
