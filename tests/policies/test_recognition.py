"""The recognition ledger: contributing pays off at once in points, from the charter's
table, within a daily cap, and withdrawn or moved recognition is reversed, never erased."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

import pytest

import coplib
from coplib import Charter, Community, Engine, InvalidInputError, ManualClock, PluginError
from coplib.domain import events as ev
from coplib.domain import recognition as rc
from coplib.domain.history import AGGREGATE_KINDS, Ref, ref_of, replay
from coplib.domain.recognition import PointsBalance, PointsEntry
from coplib.policies.recognition import RecognitionPolicy, balance, balances, entries
from tests.unit.support import PEOPLE, START, counting_ids

#: The answer guarantee (another policy) is left out: these tests look at recognition alone.
BLOCKED = ("coplib.policy.answer_guarantee",)


def open_world(
    settings: Mapping[str, str] | None = None, *, disabled: Sequence[str] = (), clock: ManualClock | None = None
) -> tuple[Engine, Community]:
    """Acme's welding community, animated by ana, with ben, chloe and dev as members; a
    strict engine, so that a failing policy fails the test."""
    engine = coplib.open(
        "memory://",
        people=PEOPLE,
        clock=clock or ManualClock(START),
        id_factory=counting_ids(),
        strict=True,
        block=list(BLOCKED),
    )
    org = engine.create_organisation("eve", "Acme", organisation_id="acme")
    charter = Charter(
        vocation="Welders help each other",
        policy_settings={"recognition": dict(settings)} if settings else {},
        disabled_policies=frozenset(disabled),
    )
    community = engine.create_community("ana", org.id, name="Welding", charter=charter, community_id="welding")
    for person in ("ben", "chloe", "dev"):
        engine.join(person, community.id)
    return engine, community


def points(engine: Engine, person: str, community_id: str = "welding") -> int:
    found = balance(engine.store, community_id, person)
    return found.points if found is not None else 0


def reasons(engine: Engine, person: str, community_id: str = "welding") -> list[tuple[str, int]]:
    return sorted((e.reason, e.points) for e in entries(engine.store, community_id, person_id=person))


def test_an_accepted_answer_pays_fifteen_to_the_answerer_and_two_to_the_asker() -> None:
    engine, community = open_world()
    question = engine.ask("chloe", community.id, title="Which gas for TIG?", body="Argon or a mix?")
    answer = engine.answer("ben", question.id, body="Pure argon.")

    engine.accept("chloe", answer.id)

    assert reasons(engine, "ben") == [("answer_accepted", 15), ("answer_posted", 2)]
    assert reasons(engine, "chloe") == [("accepted_an_answer", 2), ("question_asked", 1)]
    assert (points(engine, "ben"), points(engine, "chloe")) == (17, 3)


def test_sharing_to_the_repertoire_and_being_endorsed_pay_by_the_default_table() -> None:
    engine, community = open_world()
    resource = engine.share_resource("dev", community.id, title="TIG settings", location="https://wiki/tig")
    engine.record_experience("dev", community.id, title="Cracked weld", body="Preheat the part.")
    engine.endorse("chloe", "resource", resource.id)

    assert reasons(engine, "dev") == [("endorsement_received", 10), ("experience_recorded", 5), ("resource_shared", 5)]
    assert points(engine, "chloe") == 0  # endorsing is no contribution of one's own


def test_answering_and_accepting_ones_own_question_earns_nothing_more() -> None:
    engine, community = open_world()
    question = engine.ask("chloe", community.id, title="Note to self", body="Remember the gas")
    answer = engine.answer("chloe", question.id, body="Argon")

    engine.accept("chloe", answer.id)

    assert reasons(engine, "chloe") == [("question_asked", 1)]


def test_moving_the_acceptance_reverses_the_previous_answerers_fifteen_points() -> None:
    engine, community = open_world()
    question = engine.ask("chloe", community.id, title="Gas?", body="Which one?")
    first = engine.answer("ben", question.id, body="Argon")
    second = engine.answer("dev", question.id, body="Argon with 2% CO2")
    engine.accept("chloe", first.id)

    engine.accept("chloe", second.id)

    ben = entries(engine.store, community.id, person_id="ben")
    reversal = next(e for e in ben if e.is_reversal)
    accepted = next(e for e in ben if e.reason == "answer_accepted" and not e.is_reversal)
    assert (reversal.points, reversal.reverses, reversal.reversal_reason) == (-15, accepted.id, "acceptance_moved")
    moved = [r.event for r in engine.store.events(limit=10_000) if r.event.TYPE == "answer_accepted"][-1]
    assert reversal.cause_event_id == moved.id
    assert (points(engine, "ben"), points(engine, "dev")) == (2, 17)
    assert points(engine, "chloe") == 3  # she still accepted someone else's answer: her +2 stays


def test_accepting_again_after_a_move_pays_again_but_the_same_acceptance_never_pays_twice() -> None:
    engine, community = open_world()
    question = engine.ask("chloe", community.id, title="Gas?", body="Which one?")
    first = engine.answer("ben", question.id, body="Argon")
    second = engine.answer("dev", question.id, body="Mix")
    engine.accept("chloe", first.id)
    engine.accept("chloe", second.id)

    engine.accept("chloe", first.id)
    engine.accept("chloe", first.id)  # already accepted: no event, no pay

    accepted = [e.points for e in entries(engine.store, community.id, person_id="ben") if e.reason == "answer_accepted"]
    assert sorted(accepted) == [-15, 15, 15]
    assert (points(engine, "ben"), points(engine, "dev")) == (17, 2)


def test_withdrawing_an_answer_reverses_its_points_and_the_endorsements_it_received() -> None:
    engine, community = open_world()
    question = engine.ask("chloe", community.id, title="Gas?", body="Which one?")
    answer = engine.answer("ben", question.id, body="Argon")
    engine.endorse("dev", "answer", answer.id)
    engine.endorse("chloe", "answer", answer.id)
    assert points(engine, "ben") == 22

    engine.withdraw("ben", "answer", answer.id, reason="Wrong gas")

    reversals = [e for e in entries(engine.store, community.id, person_id="ben") if e.is_reversal]
    assert sorted((e.reason, e.points, e.reversal_reason) for e in reversals) == [
        ("answer_posted", -2, "contribution_withdrawn"),
        ("endorsement_received", -10, "contribution_withdrawn"),
        ("endorsement_received", -10, "contribution_withdrawn"),
    ]
    assert points(engine, "ben") == 0


def test_withdrawing_the_accepted_answer_takes_back_both_acceptance_awards() -> None:
    engine, community = open_world()
    question = engine.ask("chloe", community.id, title="Gas?", body="Which one?")
    answer = engine.answer("ben", question.id, body="Argon")
    engine.accept("chloe", answer.id)

    engine.withdraw("ana", "answer", answer.id, reason="Off topic")  # the facilitator moderates

    assert (points(engine, "ben"), points(engine, "chloe")) == (0, 1)


def test_withdrawing_a_question_takes_back_the_askers_points_only() -> None:
    engine, community = open_world()
    question = engine.ask("chloe", community.id, title="Gas?", body="Which one?")
    answer = engine.answer("ben", question.id, body="Argon")
    engine.accept("chloe", answer.id)

    engine.withdraw("chloe", "question", question.id)

    assert points(engine, "chloe") == 0
    assert points(engine, "ben") == 17  # the answer was given: it keeps its recognition


def test_attendance_pays_each_attendee_and_a_correction_takes_it_back_from_whoever_it_drops() -> None:
    engine, community = open_world()
    starts = START + timedelta(days=1)
    meeting = engine.schedule_meeting("ana", community.id, title="Monthly", starts_at=starts, ends_at=starts)
    engine.record_attendance("ana", meeting.id, ["ben", "chloe"])

    engine.record_attendance("ana", meeting.id, ["ben", "dev"])

    assert (points(engine, "ben"), points(engine, "chloe"), points(engine, "dev")) == (2, 0, 2)
    chloe = entries(engine.store, community.id, person_id="chloe")
    # Entries of one instant come in the order of their ids, which say nothing of which came first.
    assert {(e.points, e.reversal_reason) for e in chloe} == {(2, None), (-2, "attendance_corrected")}
    assert len(chloe) == 2
    engine.withdraw("ana", "meeting", meeting.id)
    assert (points(engine, "ben"), points(engine, "dev")) == (0, 0)


def test_the_daily_cap_cuts_capped_awards_and_lets_accepted_answers_through() -> None:
    clock = ManualClock(START)
    engine, community = open_world({"daily_cap": "12"}, clock=clock)
    for n in range(4):
        engine.share_resource("dev", community.id, title=f"Sheet {n}", location=f"https://wiki/{n}")
        clock.advance(timedelta(minutes=1))
    question = engine.ask("chloe", community.id, title="Gas?", body="Which one?")
    answer = engine.answer("dev", question.id, body="Argon")
    clock.advance(timedelta(minutes=1))
    engine.accept("chloe", answer.id)

    shared = [(e.requested, e.points) for e in entries(engine.store, community.id, person_id="dev")]
    assert shared == [(5, 5), (5, 5), (5, 2), (5, 0), (2, 0), (15, 15)]
    assert points(engine, "dev") == 27

    clock.advance(timedelta(days=1))  # a new day (UTC): the cap starts again
    engine.share_resource("dev", community.id, title="Sheet 5", location="https://wiki/5")
    assert points(engine, "dev") == 32


def test_the_default_cap_is_two_hundred_points_a_day() -> None:
    engine, community = open_world()
    for n in range(41):
        engine.share_resource("dev", community.id, title=f"Sheet {n}", location=f"https://wiki/{n}")

    found = balance(engine.store, community.id, "dev")
    assert found is not None and (found.points, found.capped_points, found.entries) == (200, 200, 41)


def test_a_reversal_gives_no_room_back_under_the_cap() -> None:
    clock = ManualClock(START)
    engine, community = open_world({"daily_cap": "10"}, clock=clock)
    first = engine.share_resource("dev", community.id, title="One", location="https://wiki/1")
    clock.advance(timedelta(minutes=1))
    engine.share_resource("dev", community.id, title="Two", location="https://wiki/2")
    clock.advance(timedelta(minutes=1))

    engine.withdraw("dev", "resource", first.id)
    clock.advance(timedelta(minutes=1))
    engine.share_resource("dev", community.id, title="Three", location="https://wiki/3")

    assert [e.points for e in entries(engine.store, community.id, person_id="dev")] == [5, 5, -5, 0]


def test_each_community_pays_by_its_own_table() -> None:
    engine, welding = open_world({"answer_posted": "0", "question_asked": "3"})
    painting = engine.create_community("ana", "acme", name="Painting", vocation="Paint", community_id="painting")
    engine.join("ben", painting.id)
    engine.join("chloe", painting.id)
    for community in (welding, painting):
        question = engine.ask("chloe", community.id, title="Q", body="B")
        engine.answer("ben", question.id, body="A")

    assert (points(engine, "ben", "welding"), points(engine, "chloe", "welding")) == (0, 3)
    assert (points(engine, "ben", "painting"), points(engine, "chloe", "painting")) == (2, 1)


def test_a_community_whose_charter_switches_recognition_off_pays_nothing() -> None:
    engine, community = open_world(disabled=["recognition"])
    question = engine.ask("chloe", community.id, title="Q", body="B")
    engine.accept("chloe", engine.answer("ben", question.id, body="A").id)

    assert engine.store.find("points_entry") == []
    assert "points_awarded" not in [r.event.TYPE for r in engine.store.events(limit=10_000)]


def test_bad_settings_are_named_one_by_one_by_the_policy() -> None:
    errors = RecognitionPolicy().settings_errors(
        {"daily_cap": "lots", "answer_accepted": "-3", "cap_exempt": "answer_accepted, free_lunch", "bonus": "1"}
    )

    assert sorted(e.path for e in errors) == ["$.answer_accepted", "$.bonus", "$.cap_exempt", "$.daily_cap"]
    assert RecognitionPolicy().settings_errors({"daily_cap": "none", "answer_accepted": "20"}) == []


def test_a_charter_with_bad_recognition_settings_is_refused_naming_the_setting() -> None:
    engine, community = open_world()
    charter = Charter(vocation="Weld", policy_settings={"recognition": {"daily_cap": "lots", "bonus": "1"}})

    with pytest.raises(InvalidInputError) as on_creation:
        engine.create_community("ana", "acme", name="Painting", charter=charter)
    with pytest.raises(InvalidInputError) as on_amendment:
        engine.amend_charter("ana", community.id, charter, reason="More points")

    for caught in (on_creation, on_amendment):
        assert sorted(e.path for e in caught.value.errors) == [
            "$.charter.policy_settings.recognition.bonus",
            "$.charter.policy_settings.recognition.daily_cap",
        ]


def imported_community(engine: Engine, settings: dict[str, str]) -> str:
    """A community whose charter was stored before settings were checked (an old history)."""
    engine.import_history(
        [
            ev.CommunityCreated(
                id="import-1",
                actor_id=coplib.SYSTEM,
                community_id="old",
                occurred_at=START,
                organisation_id="acme",
                name="Old guild",
                kind=coplib.CommunityKind.PRACTICE,
                visibility=coplib.Visibility.OPEN,
                stage=coplib.LifecycleStage.MATURING,
                tags=frozenset(),
                charter=Charter(vocation="Weld", policy_settings={"recognition": settings}),
            ),
            ev.MemberJoined(
                id="import-2", actor_id="chloe", community_id="old", occurred_at=START, person_id="chloe", via="open"
            ),
        ]
    )
    return "old"


def test_a_reaction_under_bad_stored_settings_fails_with_a_typed_error_naming_the_setting() -> None:
    engine, _ = open_world()
    community_id = imported_community(engine, {"daily_cap": "lots"})

    with pytest.raises(PluginError) as caught:
        engine.ask("chloe", community_id, title="Q", body="B")

    cause = caught.value.__cause__
    assert isinstance(cause, InvalidInputError)
    assert [e.path for e in cause.errors] == ["$.policy_settings.recognition.daily_cap"]
    assert "'old'" in str(cause)


def test_a_lenient_engine_keeps_the_command_and_sets_the_failed_reaction_aside() -> None:
    engine = coplib.open("memory://", people=PEOPLE, clock=ManualClock(START), block=list(BLOCKED))
    engine.create_organisation("eve", "Acme", organisation_id="acme")
    community_id = imported_community(engine, {"daily_cap": "lots"})

    engine.ask("chloe", community_id, title="Q", body="B")

    failed = [r.event for r in engine.store.events(limit=1000) if r.event.TYPE == "policy_reaction_failed"]
    assert [getattr(e, "policy", None) for e in failed] == ["recognition"]
    assert "$.policy_settings.recognition.daily_cap" in getattr(failed[0], "error", "")


def test_every_balance_is_the_sum_of_its_entries_and_replaying_the_events_rebuilds_the_ledger() -> None:
    engine, community = open_world({"daily_cap": "20"})
    question = engine.ask("chloe", community.id, title="Gas?", body="Which one?")
    first = engine.answer("ben", question.id, body="Argon")
    second = engine.answer("dev", question.id, body="Mix")
    engine.endorse("chloe", "answer", first.id)
    engine.endorse("dev", "answer", first.id)
    engine.accept("chloe", first.id)
    engine.accept("chloe", second.id)
    engine.withdraw("dev", "answer", second.id)

    all_entries = [e for e in engine.store.find("points_entry") if isinstance(e, PointsEntry)]
    for found in balances(engine.store, community.id):
        assert found.points == sum(e.points for e in all_entries if e.person_id == found.person_id)
        assert found.entries == sum(e.person_id == found.person_id for e in all_entries)
    stored = {ref_of(v): v for kind in AGGREGATE_KINDS for v in engine.store.find(kind)}
    assert replay(r.event for r in engine.store.events(limit=100_000)) == stored


def test_an_entry_is_never_written_twice_by_a_replayed_event() -> None:
    engine, community = open_world()
    engine.ask("chloe", community.id, title="Q", body="B")
    awarded = next(r.event for r in engine.store.events(limit=1000) if r.event.TYPE == "points_awarded")
    entry = engine.store.get(Ref("points_entry", getattr(awarded, "entry_id", "")))
    assert entry is not None

    with pytest.raises(coplib.ConflictError):
        engine.import_history([awarded])


def test_balances_are_listed_highest_first() -> None:
    engine, community = open_world()
    engine.share_resource("dev", community.id, title="One", location="https://wiki/1")
    engine.ask("chloe", community.id, title="Q", body="B")

    assert [(b.person_id, b.points) for b in balances(engine.store, community.id)] == [("dev", 5), ("chloe", 1)]
    assert isinstance(balances(engine.store, community.id)[0], PointsBalance)


def test_the_ledger_names_are_stable() -> None:
    assert rc.DEFAULT_POINTS == {
        "question_asked": 1,
        "answer_posted": 2,
        "answer_accepted": 15,
        "accepted_an_answer": 2,
        "endorsement_received": 10,
        "resource_shared": 5,
        "experience_recorded": 5,
        "meeting_attended": 2,
        "value_story_credited": 5,
    }
    assert rc.DEFAULT_DAILY_CAP == 200
    assert {"answer_accepted", "accepted_an_answer"} == rc.DEFAULT_CAP_EXEMPT
