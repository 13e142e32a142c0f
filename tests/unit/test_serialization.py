"""The one converter: JSON-compatible data in and out, UTC timestamps, stable event tags, no
extra keys, no coercion, and every bad field named by its path."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from coplib import (
    Charter,
    InvalidInputError,
    Membership,
    MembershipStatus,
    Person,
    Question,
    RecordedEvent,
    Role,
)
from coplib.domain.events import EVENT_TYPES, DomainEvent, MemberJoined, QuestionAsked
from coplib.serialization import (
    aggregate_from_json,
    aggregate_to_json,
    event_from_json,
    event_to_json,
    format_timestamp,
    make_converter,
    parse_timestamp,
    structure,
    unstructure,
)
from tests.unit.support import START

QUESTION = Question(
    id="q1",
    community_id="welding",
    author_id="dev",
    title="Which rod?",
    body="Cast iron",
    tags=frozenset({"tig", "cast-iron"}),
    created_at=START,
)
ASKED = QuestionAsked(
    id="e1",
    actor_id="dev",
    community_id="welding",
    occurred_at=START,
    question_id="q1",
    title="Which rod?",
    body="Cast iron",
    tags=frozenset({"tig"}),
)


def good_question_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = unstructure(QUESTION)
    data.update(changes)
    return data


def paths_of(error: InvalidInputError) -> list[str]:
    return [e.path for e in error.errors]


def test_timestamps_are_written_in_utc_with_a_fixed_width() -> None:
    paris = timezone(timedelta(hours=1))

    assert format_timestamp(datetime(2026, 1, 5, 10, 0, tzinfo=paris)) == "2026-01-05T09:00:00.000000Z"
    assert format_timestamp(datetime(2026, 1, 5, 9, 0, 0, 5, tzinfo=UTC)) == "2026-01-05T09:00:00.000005Z"


@pytest.mark.parametrize("zone", [UTC, timezone(timedelta(0)), timezone(timedelta(hours=-3))])
def test_an_instant_before_the_year_1000_is_written_with_four_digit_years_and_read_back(zone: timezone) -> None:
    early, later = datetime(999, 12, 31, 23, 0, tzinfo=UTC), datetime(1000, 1, 1, tzinfo=UTC)

    text = format_timestamp(early.astimezone(zone))

    assert text == "0999-12-31T23:00:00.000000Z"
    assert parse_timestamp(text) == early
    assert text < format_timestamp(later)  # text order is still time order


def test_a_timestamp_with_an_offset_is_read_back_in_utc() -> None:
    parsed = parse_timestamp("2026-01-05T10:00:00+01:00")

    assert parsed == START
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["2026-01-05T09:00:00", "yesterday", 1736067600])
def test_a_naive_or_malformed_timestamp_is_refused(text: object) -> None:
    with pytest.raises(InvalidInputError):
        parse_timestamp(text)


def test_a_naive_datetime_cannot_be_written() -> None:
    with pytest.raises(InvalidInputError, match="naive"):
        format_timestamp(datetime(2026, 1, 5, 9, 0))


def test_sets_are_written_as_sorted_lists() -> None:
    data = unstructure(QUESTION)

    assert data["tags"] == ["cast-iron", "tig"]
    assert unstructure(Charter(vocation="V"))["roles"] == sorted(r.value for r in Role)


def test_an_event_is_tagged_by_its_stable_type_name_not_its_class_name() -> None:
    data = unstructure(ASKED)

    assert data["type"] == "question_asked"
    assert structure(data, DomainEvent) == ASKED
    assert structure(data, QuestionAsked) == ASKED


def test_every_event_type_has_a_distinct_snake_case_name() -> None:
    assert all(name == cls.TYPE and name.islower() and " " not in name for name, cls in EVENT_TYPES.items())
    assert len({cls.TYPE for cls in EVENT_TYPES.values()}) == len(EVENT_TYPES)


def test_an_unknown_event_type_is_refused_with_the_known_types() -> None:
    with pytest.raises(InvalidInputError) as caught:
        structure({**unstructure(ASKED), "type": "question_deleted"}, DomainEvent)

    assert paths_of(caught.value) == ["$.type"]
    assert "question_asked" in str(caught.value)


def test_an_event_of_another_type_is_refused_when_a_type_is_expected() -> None:
    with pytest.raises(InvalidInputError, match="expected event type 'member_joined'"):
        structure(unstructure(ASKED), MemberJoined)


def test_extra_keys_are_refused() -> None:
    with pytest.raises(InvalidInputError) as caught:
        structure(good_question_data(votes=3), Question)

    assert "unknown fields: votes" in str(caught.value)


def test_a_missing_field_is_named() -> None:
    data = good_question_data()
    del data["title"]

    with pytest.raises(InvalidInputError) as caught:
        structure(data, Question)

    assert paths_of(caught.value) == ["$.title"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", 5),
        ("withdrawn", "false"),
        ("withdrawn", 0),
        ("answer_count", "3"),
        ("answer_count", True),
        ("answer_count", 2.5),
        ("tags", "tig"),
        ("tags", {"tig": True}),
        ("created_at", 1736067600),
    ],
)
def test_values_are_never_coerced(field: str, value: object) -> None:
    with pytest.raises(InvalidInputError) as caught:
        structure(good_question_data(**{field: value}), Question)

    assert paths_of(caught.value) == [f"$.{field}"]


def test_every_bad_field_is_listed_by_its_path() -> None:
    data = good_question_data(title=7, body=["x"], created_at="2026-01-05T09:00:00", withdrawn="no")

    with pytest.raises(InvalidInputError) as caught:
        structure(data, Question)

    assert sorted(paths_of(caught.value)) == ["$.body", "$.created_at", "$.title", "$.withdrawn"]
    assert caught.value.context == "Question"


def test_every_field_breaking_a_domain_rule_is_listed_too() -> None:
    data = good_question_data(title="", body="   ", tags=["Not a tag"], answer_count=-1)

    with pytest.raises(InvalidInputError) as caught:
        structure(data, Question)

    assert sorted(paths_of(caught.value)) == ["$.answer_count", "$.body", "$.tags[0]", "$.title"]


def test_nested_errors_carry_the_full_path() -> None:
    data = unstructure(Person(id="p", display_name="P", attributes={"site": ["Lyon"]}))
    data["attributes"] = {"site": ["Lyon", 5]}

    with pytest.raises(InvalidInputError) as caught:
        structure(data, Person)

    assert paths_of(caught.value) == ["$.attributes['site'][1]"]


def test_a_rule_broken_deep_inside_an_event_is_named_from_the_top() -> None:
    data = unstructure(ASKED) | {"type": "charter_amended", "version": 1, "reason": "R"}
    for key in ("question_id", "title", "body", "tags"):
        del data[key]
    data["charter"] = unstructure(Charter(vocation="V")) | {"roles": ["member"], "vocation": ""}

    with pytest.raises(InvalidInputError) as caught:
        structure(data, DomainEvent)

    assert sorted(paths_of(caught.value)) == ["$.charter.roles", "$.charter.vocation"]


def test_a_recorded_event_round_trips_with_its_concrete_event() -> None:
    recorded = RecordedEvent(7, ASKED)

    data = unstructure(recorded)

    assert data["event"]["type"] == "question_asked"
    assert data["event"]["title"] == "Which rod?"
    assert structure(data, RecordedEvent) == recorded


def test_events_and_aggregates_round_trip_through_json_text() -> None:
    membership = Membership(
        community_id="welding", person_id="ben", status=MembershipStatus.ACTIVE, since=START, roles={Role.MEMBER}
    )

    assert event_from_json(event_to_json(ASKED)) == ASKED
    assert aggregate_from_json("membership", aggregate_to_json(membership)) == membership
    assert json.loads(event_to_json(ASKED))["occurred_at"] == "2026-01-05T09:00:00.000000Z"


def test_json_text_that_is_not_json_or_of_an_unknown_kind_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="not valid JSON"):
        event_from_json("{not json")
    with pytest.raises(InvalidInputError) as caught:
        aggregate_from_json("planet", "{}")
    assert paths_of(caught.value) == ["$.kind"]


def test_each_converter_is_fresh() -> None:
    assert make_converter() is not make_converter()
