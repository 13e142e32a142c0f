"""The store's fast paths give what the converter gives: the JSON written for a value is the
converter's, byte for byte; what a store reads back without re-validating it
(`aggregate_from_stored`, `event_from_stored`) is the very value that was written, down to the
type of every field; a document that is not exactly what the writer produces goes through the
validating path and is refused with the same field-path error."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coplib.domain.errors import InvalidInputError
from coplib.domain.history import KIND_OF, Aggregate
from coplib.serialization import (
    aggregate_from_json,
    aggregate_from_stored,
    aggregate_to_json,
    event_from_json,
    event_from_stored,
    event_to_json,
    unstructure,
)
from coplib.testing import strategies as cst
from tests.scale import examples

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


def converter_json(value: Any) -> str:
    """The JSON text the converter itself gives (what the stores wrote before the fast path)."""
    return json.dumps(unstructure(value), separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def assert_identical(found: Any, expected: Any, path: str = "$") -> None:
    """Equal, and of the same type at every level (a set equals a frozenset, a 1 equals a 1.0)."""
    assert type(found) is type(expected), f"{path}: {type(found).__name__} is not {type(expected).__name__}"
    if attrs.has(type(expected)):
        for field in attrs.fields(type(expected)):
            assert_identical(getattr(found, field.name), getattr(expected, field.name), f"{path}.{field.name}")
    elif isinstance(expected, (tuple, list)):
        assert len(found) == len(expected), path
        for i, (a, b) in enumerate(zip(found, expected)):
            assert_identical(a, b, f"{path}[{i}]")
    elif isinstance(expected, dict):
        assert found.keys() == expected.keys(), path
        for key in expected:
            assert_identical(found[key], expected[key], f"{path}[{key!r}]")
    elif isinstance(expected, frozenset):
        assert found == expected, path
        for item in expected:
            assert_identical(next(x for x in found if x == item), item, f"{path}{{{item!r}}}")
    else:
        assert found == expected, path


@pytest.mark.parametrize("type_name", sorted(cst.EVENT_STRATEGIES))
@settings(max_examples=examples(15))
@given(data=st.data())
def test_a_stored_event_reads_back_identical_without_revalidation(type_name: str, data: st.DataObject) -> None:
    event = data.draw(cst.EVENT_STRATEGIES[type_name]())

    assert event_to_json(event) == converter_json(event)
    assert_identical(event_from_stored(event_to_json(event)), event)


@pytest.mark.parametrize("kind", sorted(AGGREGATE_STRATEGIES))
@settings(max_examples=examples(20))
@given(data=st.data())
def test_a_stored_aggregate_reads_back_identical_without_revalidation(kind: str, data: st.DataObject) -> None:
    value: Aggregate = data.draw(AGGREGATE_STRATEGIES[kind]())
    assert KIND_OF[type(value)] == kind

    assert aggregate_to_json(value) == converter_json(value)
    assert_identical(aggregate_from_stored(kind, aggregate_to_json(value)), value)


def _damaged(text: str, change: str) -> str:
    data = json.loads(text)
    if change == "unknown field":
        data["surprise"] = 1
    elif change == "missing field":
        del data["id"]
    elif change == "wrong type":
        data["id"] = 5
    elif change == "naive time":
        data["occurred_at" if "occurred_at" in data else "created_at"] = "2026-01-05T09:00:00"
    return json.dumps(data)


@pytest.mark.parametrize("change", ["unknown field", "missing field", "wrong type", "naive time"])
@settings(max_examples=examples(5))
@given(event=cst.events(["question_asked"]), question=cst.questions())
def test_a_damaged_document_is_refused_as_the_validating_path_refuses_it(
    change: str, event: Any, question: Any
) -> None:
    bad_event = _damaged(event_to_json(event), change)
    with pytest.raises(InvalidInputError) as stored:
        event_from_stored(bad_event)
    with pytest.raises(InvalidInputError) as validated:
        event_from_json(bad_event)
    assert stored.value.errors == validated.value.errors

    bad_question = _damaged(aggregate_to_json(question), change)
    with pytest.raises(InvalidInputError) as stored:
        aggregate_from_stored("question", bad_question)
    with pytest.raises(InvalidInputError) as validated:
        aggregate_from_json("question", bad_question)
    assert stored.value.errors == validated.value.errors
