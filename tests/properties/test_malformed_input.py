"""Malformed input never gets through the converter: each corrupted field is named by its path
in one `InvalidInputError`, whatever else is wrong beside it."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from coplib import InvalidInputError, Question
from coplib.domain import validation as limits
from coplib.domain.events import EVENT_TYPES, DomainEvent
from coplib.serialization import structure, unstructure
from coplib.testing import strategies as cst

#: For each JSON type, values of other types that no field of that type accepts.
WRONG_FOR: dict[type, list[Any]] = {
    str: [12345, ["text"], {"a": 1}, True, 1.5],
    int: ["12", 1.5, None, [1], True],
    bool: ["yes", 1, None, 0.0],
    list: ["text", {"a": 1}, 7, True],
    dict: [["a"], 3, "text"],
    type(None): [[1], {"unexpected": 1}, 3.5],
}


def wrong_value(current: Any) -> st.SearchStrategy[Any]:
    kind = next(k for k in (bool, int, str, list, dict, type(None)) if isinstance(current, k))  # enums are str
    return st.sampled_from(WRONG_FOR[kind])


def reports(error: InvalidInputError, field: str) -> bool:
    """Whether `error` names `field` or something inside it."""
    top = f"$.{field}"
    return any(e.path == top or e.path.startswith((top + ".", top + "[")) for e in error.errors)


@st.composite
def corrupted_events(draw: st.DrawFn) -> tuple[dict[str, Any], set[str]]:
    """The data of a valid event with some of its fields given a value of the wrong type."""
    data: dict[str, Any] = unstructure(draw(cst.events()))
    fields = sorted(k for k in data if k != "type")
    chosen = draw(st.sets(st.sampled_from(fields), min_size=1))
    for field in chosen:
        data[field] = draw(wrong_value(data[field]))
    return data, chosen


@given(corrupted_events())
def test_every_field_of_the_wrong_type_is_named_in_one_error(corrupted: tuple[dict[str, Any], set[str]]) -> None:
    data, chosen = corrupted

    with pytest.raises(InvalidInputError) as caught:
        structure(data, DomainEvent)

    missed = sorted(f for f in chosen if not reports(caught.value, f))
    assert missed == [], f"{caught.value} does not name {missed}"
    assert all(e.path.startswith("$") and e.message for e in caught.value.errors)


@given(cst.events(), st.dictionaries(st.text(min_size=1).map(lambda k: f"x-{k}"), st.integers(), min_size=1))
def test_unknown_fields_are_refused(event: DomainEvent, extra: dict[str, int]) -> None:
    with pytest.raises(InvalidInputError) as caught:
        structure({**unstructure(event), **extra}, DomainEvent)

    assert all(k in str(caught.value) for k in extra)


@given(cst.events(), st.data())
def test_a_missing_field_is_named(event: DomainEvent, data: st.DataObject) -> None:
    plain = unstructure(event)
    required = [f.name for f in attrs.fields(type(event)) if f.default is attrs.NOTHING]
    dropped = data.draw(st.sets(st.sampled_from(required), min_size=1))

    with pytest.raises(InvalidInputError) as caught:
        structure({k: v for k, v in plain.items() if k not in dropped}, DomainEvent)

    assert all(reports(caught.value, f) for f in dropped)


#: Values of the right type that break a rule of `Question`, by field.
BROKEN_RULES: dict[str, list[Any]] = {
    "id": ["", "has space", "x" * (limits.ID_MAX + 1)],
    "community_id": ["", "tab\there"],
    "author_id": ["line\nbreak"],
    "title": ["", "   ", "t" * (limits.TITLE_MAX + 1)],
    "body": ["", "\n", "b" * (limits.BODY_MAX_BYTES + 1)],
    "tags": [["Not A Tag"], [f"t{i}" for i in range(limits.TAGS_MAX + 1)], ["-starts-with-a-dash"]],
    "answer_count": [-1, -100],
    "accepted_answer_id": ["", "two words"],
}


@given(cst.questions(), st.data())
def test_every_field_breaking_a_domain_rule_is_named_in_one_error(question: Question, data: st.DataObject) -> None:
    plain = unstructure(question)
    chosen = data.draw(st.sets(st.sampled_from(sorted(BROKEN_RULES)), min_size=1))
    for field in chosen:
        plain[field] = data.draw(st.sampled_from(BROKEN_RULES[field]))

    with pytest.raises(InvalidInputError) as caught:
        structure(plain, Question)

    missed = sorted(f for f in chosen if not reports(caught.value, f))
    assert missed == [], f"{caught.value} does not name {missed}"


def test_the_event_types_are_all_generated() -> None:
    assert set(cst.EVENT_STRATEGIES) == set(EVENT_TYPES)
