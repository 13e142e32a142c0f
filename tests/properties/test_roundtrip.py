"""Every domain event and every domain object round-trips through the one converter, as data
and as JSON text, and equal values always give the same JSON."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coplib import RecordedEvent
from coplib.domain.events import EVENT_TYPES, DomainEvent
from coplib.domain.history import KIND_OF, Aggregate
from coplib.serialization import (
    aggregate_from_json,
    aggregate_to_json,
    event_from_json,
    event_to_json,
    structure,
    unstructure,
)
from coplib.testing import strategies as cst
from tests.scale import examples


def test_there_is_a_strategy_for_every_event_type() -> None:
    assert set(cst.EVENT_STRATEGIES) == set(EVENT_TYPES)


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
@settings(max_examples=examples(15))
@given(data=st.data())
def test_every_event_round_trips_through_the_converter(type_name: str, data: st.DataObject) -> None:
    event = data.draw(cst.events([type_name]))

    plain = unstructure(event)

    assert plain["type"] == type_name
    assert json.loads(json.dumps(plain)) == plain  # JSON-compatible as it is
    assert structure(plain, DomainEvent) == event
    assert structure(plain, EVENT_TYPES[type_name]) == event
    assert event_from_json(event_to_json(event)) == event


@given(cst.events())
def test_equal_events_give_the_same_json_text(event: DomainEvent) -> None:
    again = event_from_json(event_to_json(event))

    assert event_to_json(again) == event_to_json(event)


@given(st.integers(min_value=1, max_value=2**53), cst.events())
def test_a_recorded_event_round_trips(position: int, event: DomainEvent) -> None:
    recorded = RecordedEvent(position, event)

    assert structure(unstructure(recorded), RecordedEvent) == recorded


AGGREGATE_STRATEGIES = {
    "organisation": cst.organisations,
    "community": cst.communities,
    "charter_version": cst.charter_versions,
    "membership": cst.memberships,
    "question": cst.questions,
    "answer": cst.answers,
    "comment": cst.comments,
    "endorsement": cst.endorsements,
    "resource": cst.resources,
    "experience": cst.experiences,
    "meeting": cst.meetings,
}
# Kinds added by the policies and delivery, built from the events that create them.
AGGREGATE_STRATEGIES.update(
    {kind: functools.partial(cst.aggregates_of, kind) for kind in KIND_OF.values() if kind not in AGGREGATE_STRATEGIES}
)


def test_there_is_a_strategy_for_every_aggregate_kind() -> None:
    assert set(AGGREGATE_STRATEGIES) == set(KIND_OF.values())


@pytest.mark.parametrize("kind", sorted(AGGREGATE_STRATEGIES))
@settings(max_examples=examples(20))
@given(data=st.data())
def test_every_aggregate_round_trips_through_the_converter(kind: str, data: st.DataObject) -> None:
    value: Aggregate = data.draw(AGGREGATE_STRATEGIES[kind]())

    assert KIND_OF[type(value)] == kind
    assert structure(unstructure(value), type(value)) == value
    assert aggregate_from_json(kind, aggregate_to_json(value)) == value


VALUE_STRATEGIES: dict[str, Any] = {
    "person": cst.people,
    "attribute_rule": cst.attribute_rules,
    "membership_policy": cst.membership_policies,
    "charter": cst.charters,
}


@pytest.mark.parametrize("name", sorted(VALUE_STRATEGIES))
@settings(max_examples=examples(30))
@given(data=st.data())
def test_every_value_object_round_trips_through_the_converter(name: str, data: st.DataObject) -> None:
    value = data.draw(VALUE_STRATEGIES[name]())

    plain = unstructure(value)

    assert json.loads(json.dumps(plain)) == plain
    assert structure(plain, type(value)) == value
