"""The fast paths build what the generic ones build. The transition function builds state
without re-running validators (`coplib.domain._build`):
what it builds must be exactly what the classes' own ``__init__`` builds from the same fields,
validators and converters included. Checked for every (aggregate kind, event type) transition,
from generated events and generated previous states; the stores' index rows of the most
written kinds come from fast extractors, checked against the generic one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coplib.adapters.storage._index import generic_index_row, index_row
from coplib.domain._build import build, evolve
from coplib.domain.contributions import Question
from coplib.domain.errors import ConflictError
from coplib.domain.history import _CREATORS, _TRANSITIONS, AGGREGATE_KINDS, Ref, apply
from coplib.testing import strategies as cst
from tests.properties.test_stored_loading import assert_identical
from tests.scale import examples

WHEN = datetime(2025, 1, 6, 9, tzinfo=UTC)
TRANSITIONS = sorted(_TRANSITIONS, key=lambda key: (key[0], key[1].__name__))


def rebuilt(value: Any) -> Any:
    """`value` built again through its class's ``__init__`` (every validator and converter runs)."""
    cls = type(value)
    return cls(**{f.name: getattr(value, f.name) for f in attrs.fields(cls)})


@pytest.mark.parametrize(("kind", "event_type"), TRANSITIONS, ids=lambda x: getattr(x, "__name__", x))
@settings(max_examples=examples(25), suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_transition_builds_what_the_validating_constructor_builds(
    kind: str, event_type: type, data: st.DataObject
) -> None:
    event = data.draw(cst.EVENT_STRATEGIES[event_type.TYPE](), label="event")
    creates = (kind, event_type) in _CREATORS
    current = None if creates and data.draw(st.booleans(), label="new") else data.draw(cst.aggregates_of(kind))
    try:
        result = apply(Ref(kind, "x"), current, event)
    except ConflictError:
        return  # refused before anything is built
    assert isinstance(result, AGGREGATE_KINDS[kind])
    assert_identical(result, rebuilt(result))


def test_build_fills_defaults_and_evolve_keeps_the_other_fields() -> None:
    fields: dict[str, Any] = {
        "id": "q1",
        "community_id": "c1",
        "author_id": "p1",
        "title": "A title",
        "body": "A body",
        "tags": frozenset({"t"}),
        "created_at": WHEN,
    }
    question = Question(**fields)
    built = build(Question, **fields)
    assert_identical(built, question)
    answered = evolve(question, answer_count=1)
    assert_identical(answered, attrs.evolve(question, answer_count=1))


def test_a_name_that_is_no_field_is_refused_as_init_would() -> None:
    with pytest.raises(TypeError, match="no field"):
        build(Question, id="q1", colour="red")
    with pytest.raises(TypeError, match="needs a value for"):
        build(Question, id="q1")


@pytest.mark.parametrize("kind", sorted(AGGREGATE_KINDS))
@settings(max_examples=examples(30))
@given(data=st.data())
def test_the_fast_index_rows_are_the_generic_ones(kind: str, data: st.DataObject) -> None:
    value = data.draw(cst.aggregates_of(kind))
    ref = Ref(kind, "x")
    assert index_row(ref, value) == generic_index_row(ref, value)
