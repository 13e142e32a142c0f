"""The answer guarantee, scenario by scenario, on a controlled clock: "ask, and you get a fast
answer" (seeds/000). A question goes at once to the experts of its tags and the asker hears
to whom; while it stays unanswered it climbs the community's ladder in working time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import coplib
from coplib import (
    Charter,
    Engine,
    InvalidInputError,
    LifecycleStage,
    ManualClock,
    PermissionDeniedError,
    Person,
    Role,
    StaticDirectory,
    hookimpl,
)
from coplib.bootstrap.open import default_plugins
from coplib.domain import events as ev
from coplib.domain.guarantee import POLICY_NAME, CloseReason, Route, Watch
from coplib.domain.history import Ref, replay
from coplib.notification.messages import render_message
from coplib.policies.guarantee import TOPICS
from coplib.ports.policy import BasePolicy
from coplib.ports.storage import OutboxMessage
from coplib.service.help_space import watch_list
from tests.unit.support import counting_ids

PARIS = ZoneInfo("Europe/Paris")
#: ana animates (and founded the community), ben is an expert of welding and TIG, chloe of
#: TIG only, eve sponsors, gus coaches; dev and hal are members who ask.
PEOPLE = (
    Person(id="ana", display_name="Ana", locale="fr"),
    Person(id="ben", display_name="Ben", locale="en"),
    Person(id="chloe", display_name="Chloé", locale="fr"),
    Person(id="dev", display_name="Dev", locale="en"),
    Person(id="eve", display_name="Eve", locale="en"),
    Person(id="gus", display_name="Gus", locale="fr"),
    Person(id="hal", display_name="Hal", locale="en"),
)
COMMUNITY = "welding"
#: The community's calendar: Paris office hours. The ladder and target are the defaults
#: ("4wh: experts, facilitator; 1wd: coach, sponsor", target 4wh).
IN_PARIS = {"timezone": "Europe/Paris", "working_days": "mon-fri", "working_hours": "09:00-18:00"}
#: The other built-in policies, left out where a test counts everything a tick does.
OTHER_POLICIES = [
    name
    for name, _ in default_plugins()
    if name.startswith("coplib.policy.") and name != "coplib.policy." + POLICY_NAME
]


def paris(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


#: Friday 9 January 2026, 17:00 in Paris: an hour before the weekend.
FRIDAY_EVENING = paris(1, 9, 17)


def open_engine(clock: ManualClock, url: str = "memory://", **kwargs: Any) -> Engine:
    return coplib.open(url, people=PEOPLE, clock=clock, id_factory=counting_ids(), **kwargs)


def found_community(
    engine: Engine,
    settings: Mapping[str, str] | None = None,
    *,
    disabled: Iterable[str] = (),
    experts: bool = True,
) -> None:
    """The welding community with its people and roles (the clock is left where it was)."""
    engine.create_organisation("eve", "Acme", organisation_id="acme")
    charter = Charter(
        vocation="Welders help each other",
        policy_settings={POLICY_NAME: {**IN_PARIS, **(settings or {})}},
        disabled_policies=frozenset(disabled),
    )
    engine.create_community("ana", "acme", name="Soudure", charter=charter, community_id=COMMUNITY)
    for person in ("ben", "chloe", "dev", "eve", "gus", "hal"):
        engine.join(person, COMMUNITY)
    if experts:
        engine.assign_role("ana", COMMUNITY, "ben", Role.EXPERT, tags=["welding", "tig"])
        engine.assign_role("ana", COMMUNITY, "chloe", Role.EXPERT, tags=["tig"])
    engine.assign_role("ana", COMMUNITY, "eve", Role.SPONSOR)
    engine.assign_role("ana", COMMUNITY, "gus", Role.COACH)


def messages(engine: Engine) -> list[OutboxMessage]:
    """The guarantee's messages in the outbox."""
    return [m for m in engine.store.pending_messages(limit=100_000) if m.topic in TOPICS]


def sent(engine: Engine) -> list[tuple[str, str]]:
    return sorted((m.recipient_id, m.topic) for m in messages(engine))


def guarantee_events(engine: Engine, after: int = 0) -> list[ev.DomainEvent]:
    kinds = (ev.QuestionRouted, ev.QuestionEscalated, ev.WatchClosed)
    return [r.event for r in engine.store.events(after=after, limit=1_000_000) if isinstance(r.event, kinds)]


def last_position(engine: Engine) -> int:
    recorded = engine.store.events(limit=1_000_000)
    return recorded[-1].position if recorded else 0


def watch_of(engine: Engine, question_id: str) -> Watch:
    found = engine.store.get(Ref("answer_watch", question_id))
    assert found is not None and isinstance(found.value, Watch)
    return found.value


def assert_no_failed_reaction(engine: Engine) -> None:
    failed = [
        r.event
        for r in engine.store.events(limit=1_000_000)
        if isinstance(r.event, ev.PolicyReactionFailed) and r.event.policy == POLICY_NAME
    ]
    assert failed == []


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(paris(1, 5, 9))


@pytest.fixture
def engine(clock: ManualClock) -> Engine:
    opened = open_engine(clock)
    found_community(opened)
    clock.set(FRIDAY_EVENING)
    return opened


# -- routing ------------------------------------------------------------------------------------


def test_a_question_goes_at_once_to_the_experts_of_its_tags_and_the_asker_is_told_to_whom(engine: Engine) -> None:
    question = engine.ask("dev", COMMUNITY, title="Which gas for TIG?", body="On aluminium", tags=["tig"])

    [routed] = guarantee_events(engine)
    assert isinstance(routed, ev.QuestionRouted)
    assert (routed.question_id, routed.asker_id, routed.route) == (question.id, "dev", Route.TAG_EXPERTS)
    assert sorted(routed.experts) == ["ben", "chloe"]
    assert sent(engine) == [
        ("ben", "question_for_expert"),
        ("chloe", "question_for_expert"),
        ("dev", "question_routed"),
    ]
    [to_asker] = [m for m in messages(engine) if m.recipient_id == "dev"]
    assert to_asker.params["people"] in ("Ben, Chloé", "Chloé, Ben")
    assert to_asker.params["title"] == "Which gas for TIG?"
    assert to_asker.created_at == FRIDAY_EVENING
    assert_no_failed_reaction(engine)


def test_the_asker_reads_in_their_language_whom_the_question_went_to(engine: Engine) -> None:
    engine.ask("chloe", COMMUNITY, title="Quel fil ?", body="Pour de l'inox", tags=["welding"])

    [to_asker] = [m for m in messages(engine) if m.recipient_id == "chloe"]
    rendered = render_message(to_asker, PEOPLE[2])
    assert rendered.subject == "Votre question « Quel fil ? » a été transmise"
    assert rendered.body.startswith("Votre question « Quel fil ? » dans Soudure a été transmise à Ben.")
    [to_expert] = [m for m in messages(engine) if m.recipient_id == "ben"]
    assert render_message(to_expert, PEOPLE[1]).body.startswith("Chloé asked “Quel fil ?” in Soudure.")


def test_the_question_opens_a_watch_due_at_its_first_step_in_working_time(engine: Engine) -> None:
    question = engine.ask("dev", COMMUNITY, title="Q", body="B", tags=["tig"])

    watch = watch_of(engine, question.id)
    assert watch.open and watch.steps_taken == 0
    assert watch.due_at == paris(1, 12, 12)  # 4 working hours: one on Friday, three on Monday
    assert watch.asked_at == FRIDAY_EVENING


def test_experts_matching_more_of_its_tags_come_first_and_at_most_max_experts_are_asked(clock: ManualClock) -> None:
    engine = open_engine(clock)
    found_community(engine, {"max_experts": "1"})

    engine.ask("dev", COMMUNITY, title="Q", body="B", tags=["tig", "welding"])

    [routed] = guarantee_events(engine)
    assert isinstance(routed, ev.QuestionRouted)
    assert routed.experts == ("ben",)
    assert sent(engine) == [("ben", "question_for_expert"), ("dev", "question_routed")]


def test_a_question_whose_tags_match_no_expert_goes_to_the_communitys_experts(engine: Engine) -> None:
    engine.ask("dev", COMMUNITY, title="Brazing copper?", body="B", tags=["brazing"])

    [routed] = guarantee_events(engine)
    assert isinstance(routed, ev.QuestionRouted)
    assert (routed.route, sorted(routed.experts)) == (Route.COMMUNITY_EXPERTS, ["ben", "chloe"])


def test_without_any_expert_a_question_goes_to_the_facilitators(clock: ManualClock) -> None:
    engine = open_engine(clock)
    found_community(engine, experts=False)

    engine.ask("dev", COMMUNITY, title="Q", body="B", tags=["tig"])

    [routed] = guarantee_events(engine)
    assert isinstance(routed, ev.QuestionRouted)
    assert (routed.route, routed.experts) == (Route.FACILITATORS, ("ana",))
    assert sent(engine) == [("ana", "question_for_facilitator"), ("dev", "question_routed")]


def members_listings(engine: Engine) -> list[tuple[str | None, str | None]]:
    """Records, from now on, each `members` query of the store: (role, tag)."""
    calls: list[tuple[str | None, str | None]] = []
    store: Any = engine.store
    members = store.members

    def counted(community_id: str, *, role: Role | None = None, tag: str | None = None, **kwargs: Any) -> Any:
        calls.append((role.value if role is not None else None, tag))
        return members(community_id, role=role, tag=tag, **kwargs)

    store.members = counted
    return calls


def test_routing_lists_the_experts_once_whatever_the_tags_and_the_facilitators_only_when_needed(
    clock: ManualClock,
) -> None:
    with_experts = open_engine(clock)
    found_community(with_experts)
    listed = members_listings(with_experts)
    with_experts.ask("dev", COMMUNITY, title="Q", body="B", tags=["tig", "welding", "brazing"])
    assert listed == [("expert", None)]

    without = open_engine(clock)
    found_community(without, experts=False)
    listed = members_listings(without)
    without.ask("dev", COMMUNITY, title="Q", body="B", tags=["tig", "welding"])
    assert listed == [("expert", None), ("facilitator", None)]


def test_nobody_is_asked_to_answer_their_own_question(engine: Engine) -> None:
    engine.ask("chloe", COMMUNITY, title="Q", body="B", tags=["tig"])

    [routed] = guarantee_events(engine)
    assert isinstance(routed, ev.QuestionRouted)
    assert routed.experts == ("ben",)


def test_a_member_whom_nobody_can_take_the_question_for_hears_it_is_open_to_all(clock: ManualClock) -> None:
    engine = open_engine(clock)
    engine.create_organisation("eve", "Acme", organisation_id="acme")
    engine.create_community(coplib.SYSTEM, "acme", name="Leaderless", vocation="No steward", community_id="free")
    engine.join("dev", "free")

    engine.ask("dev", "free", title="Anyone?", body="B")

    [routed] = guarantee_events(engine)
    assert isinstance(routed, ev.QuestionRouted)
    assert (routed.route, routed.experts) == (Route.NOBODY, ())
    assert sent(engine) == [("dev", "question_unrouted")]


def test_a_facilitator_asking_where_nobody_else_could_answer_gets_no_message(clock: ManualClock) -> None:
    engine = open_engine(clock)
    found_community(engine, experts=False)

    engine.ask("ana", COMMUNITY, title="Note", body="B")

    [routed] = guarantee_events(engine)
    assert isinstance(routed, ev.QuestionRouted) and routed.route is Route.NOBODY
    assert sent(engine) == []


def test_an_expert_who_left_the_organisation_is_not_asked(engine: Engine) -> None:
    directory = engine.plugin_manager.get_plugin("coplib.directory")
    assert isinstance(directory, StaticDirectory)
    directory.put(Person(id="chloe", display_name="Chloé", locale="fr", active=False))

    engine.ask("dev", COMMUNITY, title="Q", body="B", tags=["tig"])

    [routed] = guarantee_events(engine)
    assert isinstance(routed, ev.QuestionRouted)
    assert routed.experts == ("ben",)


# -- escalation ---------------------------------------------------------------------------------


def test_a_question_asked_on_friday_evening_escalates_on_monday_after_four_working_hours_not_on_saturday(
    engine: Engine,
) -> None:
    question = engine.ask("dev", COMMUNITY, title="Which gas?", body="B", tags=["tig"])
    asked = last_position(engine)

    for moment in (paris(1, 10, 9), paris(1, 10, 13), paris(1, 11, 12), paris(1, 12, 11, 59)):
        report = engine.tick(moment)
        assert report.done[POLICY_NAME] == 0
    assert guarantee_events(engine, after=asked) == []

    report = engine.tick(paris(1, 12, 12))

    assert report.done[POLICY_NAME] == 1
    [step] = guarantee_events(engine, after=asked)
    assert isinstance(step, ev.QuestionEscalated)
    assert (step.question_id, step.step, step.audience) == (question.id, 1, ("experts", "facilitator"))
    assert sorted(step.notified) == ["ana", "ben", "chloe"]
    assert step.occurred_at == paris(1, 12, 12)
    assert step.next_due_at == paris(1, 12, 17)  # one working day after Friday 17:00
    reminders = sorted((m.recipient_id, m.topic) for m in messages(engine) if m.event_id == step.id)
    assert reminders == [
        ("ana", "question_escalated"),
        ("ben", "question_reminder"),
        ("chloe", "question_reminder"),
        ("dev", "question_still_waiting"),
    ]
    [to_ana] = [m for m in messages(engine) if m.event_id == step.id and m.recipient_id == "ana"]
    assert (to_ana.params["role"], to_ana.params["hours"], to_ana.params["step"]) == ("facilitator", "4", "1")
    assert render_message(to_ana, PEOPLE[0]).body.startswith(
        "La question « Which gas? » posée par Dev dans Soudure attend une réponse depuis 4 heures ouvrées"
    )
    assert_no_failed_reaction(engine)


def test_after_one_working_day_the_coach_and_the_sponsor_hear_of_it_and_the_ladder_ends(engine: Engine) -> None:
    question = engine.ask("dev", COMMUNITY, title="Q", body="B", tags=["tig"])
    engine.tick(paris(1, 12, 12))
    before = last_position(engine)

    engine.tick(paris(1, 12, 17))

    step, closed = guarantee_events(engine, after=before)
    assert isinstance(step, ev.QuestionEscalated) and isinstance(closed, ev.WatchClosed)
    assert (step.step, step.audience, sorted(step.notified)) == (2, ("coach", "sponsor"), ["eve", "gus"])
    assert step.next_due_at is None
    assert closed.reason is CloseReason.EXHAUSTED
    watch = watch_of(engine, question.id)
    assert (watch.steps_taken, watch.due_at, watch.closed_because) == (2, None, CloseReason.EXHAUSTED)
    assert engine.tick(paris(2, 20, 12)).done[POLICY_NAME] == 0


def test_a_holiday_on_monday_moves_the_first_step_to_tuesday(clock: ManualClock) -> None:
    engine = open_engine(clock)
    found_community(engine, {"holidays": "2026-01-12"})
    clock.set(FRIDAY_EVENING)
    question = engine.ask("dev", COMMUNITY, title="Q", body="B", tags=["tig"])

    assert engine.tick(paris(1, 12, 12)).done[POLICY_NAME] == 0
    assert watch_of(engine, question.id).due_at == paris(1, 13, 12)
    assert engine.tick(paris(1, 13, 12)).done[POLICY_NAME] == 1


def test_a_late_tick_takes_every_step_that_came_due_in_order(engine: Engine) -> None:
    question = engine.ask("dev", COMMUNITY, title="Q", body="B", tags=["tig"])
    asked = last_position(engine)

    report = engine.tick(paris(1, 14, 9))

    assert report.done[POLICY_NAME] == 3
    kinds = [(type(e).__name__, getattr(e, "step", None)) for e in guarantee_events(engine, after=asked)]
    assert kinds == [("QuestionEscalated", 1), ("QuestionEscalated", 2), ("WatchClosed", None)]
    assert not watch_of(engine, question.id).open


def test_an_answer_closes_the_watch_and_nothing_escalates_afterwards(engine: Engine, clock: ManualClock) -> None:
    question = engine.ask("dev", COMMUNITY, title="Q", body="B", tags=["tig"])
    clock.set(paris(1, 12, 10))

    engine.answer("hal", question.id, body="Argon")

    [closed] = [e for e in guarantee_events(engine) if isinstance(e, ev.WatchClosed)]
    assert (closed.question_id, closed.reason, closed.occurred_at) == (question.id, CloseReason.ANSWERED, clock.now())
    assert watch_of(engine, question.id).due_at is None
    before = last_position(engine)
    assert engine.tick(paris(1, 20, 12)).done[POLICY_NAME] == 0
    assert guarantee_events(engine, after=before) == []


def test_a_withdrawn_question_closes_its_watch(engine: Engine) -> None:
    question = engine.ask("dev", COMMUNITY, title="Q", body="B", tags=["tig"])

    engine.withdraw("dev", "question", question.id)

    assert watch_of(engine, question.id).closed_because is CloseReason.WITHDRAWN
    assert engine.tick(paris(1, 20, 12)).done[POLICY_NAME] == 0


def test_ticking_twice_at_the_same_moment_sends_nothing_twice(engine: Engine) -> None:
    engine.ask("dev", COMMUNITY, title="Q", body="B", tags=["tig"])
    engine.tick(paris(1, 12, 12))
    events, outbox = last_position(engine), sent(engine)

    again = engine.tick(paris(1, 12, 12))

    assert again.done[POLICY_NAME] == 0
    assert last_position(engine) == events
    assert sent(engine) == outbox


def test_a_changed_ladder_applies_to_open_questions_from_their_next_step(engine: Engine) -> None:
    question = engine.ask("dev", COMMUNITY, title="Q", body="B", tags=["tig"])
    community = engine.community("ana", COMMUNITY)
    settings = {**IN_PARIS, "ladder": "4wh: coach; 8wh: sponsor, facilitator"}
    engine.amend_charter(
        "ana",
        COMMUNITY,
        Charter(vocation=community.charter.vocation, policy_settings={POLICY_NAME: settings}),
        reason="the coach answers first",
    )
    before = last_position(engine)

    engine.tick(paris(1, 12, 12))

    [step] = guarantee_events(engine, after=before)
    assert isinstance(step, ev.QuestionEscalated)
    assert (step.audience, step.notified, step.next_due_at) == (("coach",), ("gus",), paris(1, 12, 16))
    assert watch_of(engine, question.id).due_at == paris(1, 12, 16)


def test_a_policy_switched_off_in_the_charter_neither_routes_nor_escalates(clock: ManualClock) -> None:
    engine = open_engine(clock)
    found_community(engine, disabled=[POLICY_NAME])
    clock.set(FRIDAY_EVENING)

    question = engine.ask("dev", COMMUNITY, title="Q", body="B", tags=["tig"])
    engine.tick(paris(1, 14, 12))

    assert guarantee_events(engine) == []
    assert sent(engine) == []
    assert engine.store.get(Ref("answer_watch", question.id)) is None


def test_a_watch_opened_before_the_policy_was_switched_off_closes_quietly_at_its_step(engine: Engine) -> None:
    question = engine.ask("dev", COMMUNITY, title="Q", body="B", tags=["tig"])
    community = engine.community("ana", COMMUNITY)
    engine.amend_charter(
        "ana",
        COMMUNITY,
        Charter(vocation=community.charter.vocation, disabled_policies=frozenset({POLICY_NAME})),
        reason="the experts are on holiday",
    )
    outbox = sent(engine)
    before = last_position(engine)

    engine.tick(paris(1, 12, 12))

    [closed] = guarantee_events(engine, after=before)
    assert isinstance(closed, ev.WatchClosed) and closed.reason is CloseReason.DISABLED
    assert sent(engine) == outbox
    assert watch_of(engine, question.id).due_at is None


def test_a_closed_community_stops_escalating(engine: Engine) -> None:
    question = engine.ask("dev", COMMUNITY, title="Q", body="B", tags=["tig"])
    engine.change_stage("ana", COMMUNITY, LifecycleStage.CLOSED)
    before = last_position(engine)

    engine.tick(paris(1, 12, 12))

    [closed] = guarantee_events(engine, after=before)
    assert isinstance(closed, ev.WatchClosed) and closed.reason is CloseReason.COMMUNITY_CLOSED
    assert watch_of(engine, question.id).due_at is None


def test_a_removed_members_open_question_stops_climbing_the_escalation_ladder(engine: Engine) -> None:
    question = engine.ask("dev", COMMUNITY, title="Q", body="B", tags=["tig"])
    kept = engine.ask("hal", COMMUNITY, title="Q2", body="B", tags=["tig"])
    engine.remove("ana", COMMUNITY, "dev", reason="Left the team")
    before = last_position(engine)

    engine.tick(paris(1, 12, 12))

    closed = [e for e in guarantee_events(engine, after=before) if isinstance(e, ev.WatchClosed)]
    assert [(e.question_id, e.reason) for e in closed] == [(question.id, CloseReason.ASKER_REMOVED)]
    assert watch_of(engine, question.id).due_at is None
    escalated = [e for e in guarantee_events(engine, after=before) if isinstance(e, ev.QuestionEscalated)]
    assert [e.question_id for e in escalated] == [kept.id]  # the other member's question climbs on


def test_experts_who_left_the_community_are_replaced_when_the_reminder_comes(engine: Engine) -> None:
    engine.ask("dev", COMMUNITY, title="Q", body="B", tags=["welding"])  # routed to ben alone
    engine.leave("ben", COMMUNITY)
    engine.assign_role("ana", COMMUNITY, "hal", Role.EXPERT, tags=["welding"])
    before = last_position(engine)

    engine.tick(paris(1, 12, 12))

    [step] = guarantee_events(engine, after=before)
    assert isinstance(step, ev.QuestionEscalated)
    assert sorted(step.notified) == ["ana", "hal"]


def test_the_watch_is_what_replaying_the_events_gives(engine: Engine) -> None:
    first = engine.ask("dev", COMMUNITY, title="Q1", body="B", tags=["tig"])
    second = engine.ask("hal", COMMUNITY, title="Q2", body="B", tags=["welding"])
    engine.tick(paris(1, 12, 12))
    engine.answer("ben", second.id, body="A")
    engine.tick(paris(1, 12, 17))

    rebuilt = replay(r.event for r in engine.store.events(limit=1_000_000))

    for question in (first, second):
        ref = Ref("answer_watch", question.id)
        assert rebuilt[ref] == watch_of(engine, question.id)


class FlakyDirectory:
    """A directory that fails while `down` (an LDAP outage), for the people it is asked about."""

    def __init__(self) -> None:
        self.down: set[str] = set()

    @hookimpl
    def coplib_get_person(self, person_id: str) -> Person | None:
        if person_id in self.down:
            raise ConnectionError("directory unreachable")
        return None


def test_a_routing_that_fails_leaves_the_question_asked_and_is_retried_by_tick(clock: ManualClock) -> None:
    flaky = FlakyDirectory()
    engine = open_engine(clock, plugins=[flaky])
    found_community(engine)
    clock.set(FRIDAY_EVENING)
    flaky.down.add("chloe")

    question = engine.ask("dev", COMMUNITY, title="Q", body="B", tags=["tig"])

    assert engine.question("dev", question.id).question.open
    assert engine.store.get(Ref("answer_watch", question.id)) is None
    flaky.down.clear()
    engine.tick(FRIDAY_EVENING + timedelta(minutes=5))
    routed = [e for e in guarantee_events(engine) if isinstance(e, ev.QuestionRouted)]
    assert [sorted(e.experts) for e in routed] == [["ben", "chloe"]]
    assert watch_of(engine, question.id).due_at == paris(1, 12, 12)


def test_a_routing_retried_after_the_question_was_answered_sends_nothing(clock: ManualClock) -> None:
    flaky = FlakyDirectory()
    engine = open_engine(clock, plugins=[flaky])
    found_community(engine)
    clock.set(FRIDAY_EVENING)
    flaky.down.add("chloe")
    question = engine.ask("dev", COMMUNITY, title="Q", body="B", tags=["tig"])
    engine.answer("hal", question.id, body="Argon")
    flaky.down.clear()

    engine.tick(FRIDAY_EVENING + timedelta(minutes=5))

    assert guarantee_events(engine) == []
    assert sent(engine) == []
    recovered = [r.event for r in engine.store.events(limit=1000) if isinstance(r.event, ev.PolicyReactionRecovered)]
    assert [e.policy for e in recovered] == [POLICY_NAME]


# -- the settings in the charter ----------------------------------------------------------------


def test_a_charter_with_bad_guarantee_settings_is_refused_naming_each_setting(clock: ManualClock) -> None:
    engine = open_engine(clock)
    engine.create_organisation("eve", "Acme", organisation_id="acme")
    charter = Charter(
        vocation="V",
        policy_settings={
            POLICY_NAME: {"ladder": "4wh: experts; 1wd: coash", "target": "soon", "timezone": "Paris", "sla": "4h"}
        },
    )

    with pytest.raises(InvalidInputError) as refused:
        engine.create_community("ana", "acme", name="Soudure", charter=charter, community_id=COMMUNITY)

    prefix = f"$.charter.policy_settings.{POLICY_NAME}"
    assert sorted(e.path for e in refused.value.errors) == sorted(
        f"{prefix}{p}" for p in (".sla", ".ladder[1]", ".target", ".timezone")
    )
    assert "coash" in str(refused.value) and "facilitator" in str(refused.value)
    assert engine.store.get(Ref("community", COMMUNITY)) is None


def test_amending_a_charter_with_bad_settings_is_refused_and_the_charter_stays(engine: Engine) -> None:
    before = engine.community("ana", COMMUNITY)

    with pytest.raises(InvalidInputError) as refused:
        engine.amend_charter(
            "ana",
            COMMUNITY,
            Charter(vocation="V", policy_settings={POLICY_NAME: {"ladder": "1wd: coach; 4wh: sponsor"}}),
            reason="faster",
        )

    assert [e.path for e in refused.value.errors] == [f"$.charter.policy_settings.{POLICY_NAME}.ladder[1]"]
    assert "later than the one before" in str(refused.value)
    assert engine.community("ana", COMMUNITY) == before


def test_settings_for_a_policy_that_is_not_installed_are_refused(engine: Engine) -> None:
    with pytest.raises(InvalidInputError, match="no policy named 'sla_bot' is installed") as refused:
        engine.amend_charter("ana", COMMUNITY, Charter(vocation="V", policy_settings={"sla_bot": {}}), reason="r")

    assert [e.path for e in refused.value.errors] == ["$.charter.policy_settings.sla_bot"]


def test_good_settings_are_accepted_and_an_empty_ladder_only_routes(clock: ManualClock) -> None:
    engine = open_engine(clock)
    found_community(engine, {"ladder": "none", "target": "2h", "holidays": "05-01, 2026-05-08"})
    clock.set(FRIDAY_EVENING)

    question = engine.ask("dev", COMMUNITY, title="Q", body="B", tags=["tig"])

    assert watch_of(engine, question.id).due_at is None
    assert engine.tick(paris(3, 1, 12)).done[POLICY_NAME] == 0


class OwnGuarantee(BasePolicy):
    """A host's own answer guarantee: same name, its own settings."""

    name = POLICY_NAME

    def settings_errors(self, settings: Mapping[str, str]) -> list[coplib.FieldError]:
        return [coplib.FieldError(f"$.{k}", "this host takes no settings") for k in settings]


class OwnGuaranteePlugin:
    @hookimpl
    def coplib_policies(self) -> list[Any]:
        return [OwnGuarantee()]


def test_a_host_replaces_the_built_in_guarantee_by_blocking_it_by_name(clock: ManualClock) -> None:
    engine = open_engine(clock, plugins=[OwnGuaranteePlugin()], block=["coplib.policy." + POLICY_NAME])
    engine.create_organisation("eve", "Acme", organisation_id="acme")
    engine.create_community("ana", "acme", name="Soudure", vocation="V", community_id=COMMUNITY)
    engine.join("dev", COMMUNITY)

    engine.ask("dev", COMMUNITY, title="Q", body="B")

    assert isinstance(engine.policy(POLICY_NAME), OwnGuarantee)
    assert guarantee_events(engine) == []
    with pytest.raises(InvalidInputError, match="this host takes no settings"):
        engine.amend_charter(
            "ana", COMMUNITY, Charter(vocation="V", policy_settings={POLICY_NAME: {"x": "1"}}), reason="r"
        )


# -- what a tick costs --------------------------------------------------------------------------


class CountingStore(coplib.MemoryStore):
    """The memory store, counting the reads a tick makes and the rows they return."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, ref: Ref) -> Any:
        self.reads += 1
        return super().get(ref)

    def get_many(self, refs: Iterable[Ref]) -> Any:
        found = super().get_many(refs)
        self.reads += 1 + len(found)
        return found

    def find(self, kind: str, *args: Any, **kwargs: Any) -> Any:
        found = super().find(kind, *args, **kwargs)
        self.reads += 1 + len(found)
        return found

    def members(self, community_id: str, **kwargs: Any) -> Any:
        found = super().members(community_id, **kwargs)
        self.reads += 1 + len(found)
        return found

    def unanswered_questions(self, community_id: str | None, **kwargs: Any) -> Any:
        found = super().unanswered_questions(community_id, **kwargs)
        self.reads += 1 + len(found)
        return found

    def find_due(self, kind: str, *, before: datetime, limit: int = 100) -> Any:
        found = super().find_due(kind, before=before, limit=limit)
        self.reads += 1 + len(found)
        return found


def reads_of_a_tick(open_questions: int) -> int:
    """What a tick with two questions due reads, among `open_questions` open ones."""
    from coplib.bootstrap.plugins import make_plugin_manager

    clock = ManualClock(paris(1, 5, 9))
    store = CountingStore()
    defaults = [(n, p) for n, p in default_plugins(PEOPLE) if n not in OTHER_POLICIES]
    engine = Engine(
        store, plugin_manager=make_plugin_manager(defaults=defaults), clock=clock, id_factory=counting_ids()
    )
    found_community(engine)
    clock.set(FRIDAY_EVENING)
    engine.ask("dev", COMMUNITY, title="Due 1", body="B", tags=["tig"])
    engine.ask("hal", COMMUNITY, title="Due 2", body="B", tags=["welding"])
    clock.set(paris(1, 12, 10))
    for i in range(open_questions - 2):
        engine.ask("hal", COMMUNITY, title=f"Later {i}", body="B", tags=["tig"])
    store.reads = 0
    report = engine.tick(paris(1, 12, 12))
    assert report.done[POLICY_NAME] == 2
    return store.reads


def test_a_tick_reads_what_is_due_not_every_open_question() -> None:
    assert reads_of_a_tick(open_questions=60) == reads_of_a_tick(open_questions=3)


# -- the watch list -----------------------------------------------------------------------------


def test_the_watch_list_shows_unanswered_questions_most_urgent_first(engine: Engine, clock: ManualClock) -> None:
    oldest = engine.ask("dev", COMMUNITY, title="Friday", body="B", tags=["tig"])
    clock.set(paris(1, 12, 10))
    middle = engine.ask("hal", COMMUNITY, title="Monday 10:00", body="B", tags=["welding"])
    answered = engine.ask("hal", COMMUNITY, title="Answered", body="B")
    engine.answer("ben", answered.id, body="A")
    clock.set(paris(1, 12, 13))
    newest = engine.ask("dev", COMMUNITY, title="Monday 13:00", body="B")
    clock.set(paris(1, 12, 14))
    engine.tick()

    items = watch_list(engine, "ana", COMMUNITY)

    assert [i.question.id for i in items] == [oldest.id, middle.id, newest.id]
    first, second, third = items
    assert (first.waited_working, first.urgency, first.overdue) == (timedelta(hours=6), 1.5, True)
    assert (first.steps_taken, first.steps, first.next_step_at) == (1, 2, paris(1, 12, 17))
    assert first.waited == paris(1, 12, 14) - FRIDAY_EVENING
    assert (first.target, first.target_at) == ("4wh", paris(1, 12, 12))
    assert sorted(first.routed_to) == ["ben", "chloe"] and first.watched
    assert (second.urgency, second.overdue, second.steps_taken) == (1.0, True, 1)
    assert (third.urgency, third.overdue, third.steps_taken) == (0.25, False, 0)


def test_the_watch_list_is_cut_at_its_limit_keeping_the_most_urgent(engine: Engine, clock: ManualClock) -> None:
    first = engine.ask("dev", COMMUNITY, title="1", body="B")
    clock.advance(timedelta(minutes=1))
    engine.ask("dev", COMMUNITY, title="2", body="B")

    assert [i.question.id for i in watch_list(engine, "ana", COMMUNITY, limit=1)] == [first.id]
    with pytest.raises(InvalidInputError, match="from 1 to 1000"):
        watch_list(engine, "ana", COMMUNITY, limit=0)


def test_only_the_people_who_animate_the_community_see_its_watch_list(engine: Engine) -> None:
    engine.ask("dev", COMMUNITY, title="Q", body="B")

    for viewer in ("ana", "gus", "eve", coplib.SYSTEM):
        assert len(watch_list(engine, viewer, COMMUNITY)) == 1
    with pytest.raises(PermissionDeniedError, match="watch list"):
        watch_list(engine, "hal", COMMUNITY)


def test_a_question_the_guarantee_never_saw_is_listed_unwatched(engine: Engine) -> None:
    engine.import_history(
        [
            ev.QuestionAsked(
                id="imported-1",
                actor_id="dev",
                community_id=COMMUNITY,
                occurred_at=paris(1, 9, 10),
                question_id="old-question",
                title="From the old forum",
                body="B",
                tags=frozenset(),
            )
        ]
    )

    [item] = watch_list(engine, "ana", COMMUNITY)

    assert (item.question.id, item.watched, item.routed_to, item.steps_taken) == ("old-question", False, (), 0)
    assert (item.waited_working, item.urgency) == (timedelta(hours=7), 1.75)  # Friday 10:00 to 17:00
