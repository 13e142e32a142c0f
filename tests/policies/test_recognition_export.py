"""Exporting the recognition ledger for HR: one community, one period, CSV or JSON, for a
facilitator or the sponsor only."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

import coplib
from coplib import SYSTEM, Engine, InvalidInputError, ManualClock, NotFoundError, PermissionDeniedError, Person, Role
from coplib.service.recognition_export import ENTRY_COLUMNS, recognition_csv, recognition_json
from tests.unit.support import PEOPLE, START, counting_ids

#: A person whose id a spreadsheet would take for a formula.
TRICKY = Person(id="=HYPERLINK(evil)", display_name="Mallory")


def history(clock: ManualClock) -> Engine:
    """Monday: chloe asks, ben answers and is accepted. Tuesday: dev shares a resource.
    Wednesday: the acceptance moves to dev's answer."""
    engine = coplib.open(
        "memory://",
        people=[*PEOPLE, TRICKY],
        clock=clock,
        id_factory=counting_ids(),
        strict=True,
        block=["coplib.policy.answer_guarantee"],
    )
    engine.create_organisation("eve", "Acme", organisation_id="acme")
    engine.create_community("ana", "acme", name="Welding", vocation="Weld", community_id="welding")
    for person in ("ben", "chloe", "dev", "eve", TRICKY.id):
        engine.join(person, "welding")
    engine.assign_role("ana", "welding", "eve", Role.SPONSOR)
    question = engine.ask("chloe", "welding", title="Gas?", body="Which one?")
    answer = engine.answer("ben", question.id, body="Argon")
    engine.accept("chloe", answer.id)
    clock.advance(timedelta(days=1))
    engine.share_resource("dev", "welding", title="Sheet", location="https://wiki/sheet")
    engine.share_resource(TRICKY.id, "welding", title="Trap", location="https://wiki/trap")
    clock.advance(timedelta(days=1))
    second = engine.answer("dev", question.id, body="Mix")
    engine.accept("chloe", second.id)
    return engine


@pytest.fixture
def engine() -> Engine:
    return history(ManualClock(START))


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_lists_each_entry_of_the_period_with_its_reason() -> None:
    engine = history(ManualClock(START))

    text = recognition_csv(engine, "ana", "welding", since=START, until=START + timedelta(days=1))

    assert text.splitlines()[0] == ",".join(ENTRY_COLUMNS)
    found = sorted((r["person_id"], r["reason"], r["points"], r["kind"]) for r in rows(text))
    assert found == [
        ("ben", "answer_accepted", "15", "award"),
        ("ben", "answer_posted", "2", "award"),
        ("chloe", "accepted_an_answer", "2", "award"),
        ("chloe", "question_asked", "1", "award"),
    ]
    assert all(r["created_at"].startswith("2026-01-05T") for r in rows(text))


def test_a_reversal_is_a_line_of_its_own_with_negative_points_and_why(engine: Engine) -> None:
    text = recognition_csv(engine, "eve", "welding", since=START + timedelta(days=2), until=START + timedelta(days=3))

    reversal = next(r for r in rows(text) if r["kind"] == "reversal")
    assert (reversal["person_id"], reversal["points"], reversal["reason"]) == ("ben", "-15", "answer_accepted")
    assert reversal["reversal_reason"] == "acceptance_moved" and reversal["reverses"]


def test_the_totals_sum_the_period_per_person_highest_first(engine: Engine) -> None:
    text = recognition_csv(engine, "ana", "welding", since=START, until=START + timedelta(days=7), totals=True)

    found = [(r["person_id"], r["points"], r["awarded"], r["reversed"]) for r in rows(text)]
    assert found[0] == ("dev", "22", "22", "0")
    assert ("ben", "2", "17", "15") in found
    assert ("chloe", "3", "3", "0") in found


def test_the_json_export_holds_the_period_the_entries_and_the_totals(engine: Engine) -> None:
    document = json.loads(recognition_json(engine, SYSTEM, "welding", since=START, until=START + timedelta(days=7)))

    assert (document["community_id"], document["since"], document["until"]) == (
        "welding",
        "2026-01-05T09:00:00.000000Z",
        "2026-01-12T09:00:00.000000Z",
    )
    assert sum(e["points"] for e in document["entries"]) == sum(t["points"] for t in document["totals"])
    assert {t["person_id"]: t["points"] for t in document["totals"]}["ben"] == 2


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_made_inert(engine: Engine) -> None:
    text = recognition_csv(engine, "ana", "welding", since=START, until=START + timedelta(days=7))

    tricky = [r for r in rows(text) if r["reason"] == "resource_shared" and r["person_id"] != "dev"]
    assert [r["person_id"] for r in tricky] == ["'=HYPERLINK(evil)"]
    assert all(not r["person_id"].startswith("=") for r in rows(text))


def test_only_a_facilitator_or_the_sponsor_may_export(engine: Engine) -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        recognition_csv(engine, "ben", "welding", since=START, until=START + timedelta(days=7))

    assert "facilitator or sponsor" in str(caught.value)
    with pytest.raises(PermissionDeniedError):
        recognition_json(engine, "olga", "welding", since=START, until=START + timedelta(days=7))


def test_an_empty_or_unknown_period_or_community_is_refused_by_name(engine: Engine) -> None:
    with pytest.raises(InvalidInputError) as caught:
        recognition_csv(engine, "ana", "welding", since=START, until=START)
    assert caught.value.errors[0].path == "$.until"
    with pytest.raises(InvalidInputError):
        recognition_csv(engine, "ana", "welding", since=START.replace(tzinfo=None), until=START + timedelta(days=1))
    with pytest.raises(NotFoundError):
        recognition_csv(engine, "ana", "nowhere", since=START, until=START + timedelta(days=1))
