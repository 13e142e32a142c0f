"""Badges: recognition now, from event-driven rules, awarded once per person, community and
badge with a message; hosts add their own rules through the ``coplib_badge_rules`` hook."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import pytest

import coplib
from coplib import Charter, Engine, Filter, InvalidInputError, ManualClock, PluginError, Role, hookimpl
from coplib.domain import events as ev
from coplib.domain.history import Ref
from coplib.domain.recognition import PROGRESS_ITEMS_MAX, BadgeProgress, badge_progress_id
from coplib.notification.messages import render
from coplib.policies.badges import BUILT_IN_NAMES, BadgesPolicy, SimpleBadgeRule, badge_rules, badges_of
from coplib.ports.policy import BadgeRule, BadgeView
from tests.unit.support import PEOPLE, START, counting_ids


def open_world(
    settings: Mapping[str, str] | None = None, *, disabled: Sequence[str] = (), plugins: Sequence[object] = ()
) -> tuple[Engine, ManualClock]:
    """Acme's welding community: ana animates; ben, chloe and dev are members."""
    clock = ManualClock(START)
    engine = coplib.open(
        "memory://",
        people=PEOPLE,
        clock=clock,
        id_factory=counting_ids(),
        strict=True,
        plugins=plugins,
        block=["coplib.policy.answer_guarantee"],
    )
    engine.create_organisation("eve", "Acme", organisation_id="acme")
    charter = Charter(
        vocation="Welders help each other",
        policy_settings={"badges": dict(settings)} if settings else {},
        disabled_policies=frozenset(disabled),
    )
    engine.create_community("ana", "acme", name="Welding", charter=charter, community_id="welding")
    for person in ("ben", "chloe", "dev"):
        engine.join(person, "welding")
    return engine, clock


def badges(engine: Engine, person: str) -> list[str]:
    return badges_of(engine.store, "welding", person)


def badge_messages(engine: Engine, person: str) -> list[dict[str, str]]:
    return [
        m.params
        for m in engine.store.pending_messages(limit=1000)
        if m.recipient_id == person and m.topic == "badge_awarded"
    ]


def test_a_first_answer_earns_its_badge_once_with_a_message() -> None:
    engine, _ = open_world()
    question = engine.ask("chloe", "welding", title="Gas?", body="Which one?")

    engine.answer("ben", question.id, body="Argon")
    engine.answer("ben", question.id, body="Or a mix")

    assert badges(engine, "ben") == ["first_answer"]
    [params] = badge_messages(engine, "ben")
    assert render("badge_awarded", params, "en").subject == "New badge in Welding: First answer"
    assert render("badge_awarded", params, "fr").body == (
        "Vous avez obtenu le badge « Première réponse » dans Welding. Merci de votre participation !"
    )


def test_answering_ones_own_question_is_no_first_answer() -> None:
    engine, _ = open_world()
    question = engine.ask("chloe", "welding", title="Gas?", body="Which one?")

    engine.answer("chloe", question.id, body="Argon, I found out")

    assert badges(engine, "chloe") == []


def test_an_answer_accepted_by_someone_else_is_helpful() -> None:
    engine, _ = open_world()
    question = engine.ask("chloe", "welding", title="Gas?", body="Which one?")
    answer = engine.answer("ben", question.id, body="Argon")

    engine.accept("chloe", answer.id)

    assert sorted(badges(engine, "ben")) == ["first_answer", "helpful_answer"]


def test_an_answer_endorsed_as_often_as_the_charter_says_is_helpful() -> None:
    engine, _ = open_world({"helpful_answer.endorsements": "2"})
    question = engine.ask("chloe", "welding", title="Gas?", body="Which one?")
    answer = engine.answer("ben", question.id, body="Argon")

    engine.endorse("chloe", "answer", answer.id)
    assert "helpful_answer" not in badges(engine, "ben")
    engine.endorse("dev", "answer", answer.id)

    assert "helpful_answer" in badges(engine, "ben")


def test_sharing_a_first_resource_and_a_first_experience_earn_their_badges() -> None:
    engine, _ = open_world()

    engine.share_resource("dev", "welding", title="TIG settings", location="https://wiki/tig")
    engine.share_resource("dev", "welding", title="MIG settings", location="https://wiki/mig")
    engine.record_experience("dev", "welding", title="Cracked weld", body="Preheat the part.")

    assert sorted(badges(engine, "dev")) == ["first_experience", "first_resource"]
    assert len(badge_messages(engine, "dev")) == 2


def test_answering_three_newcomers_makes_a_mentor() -> None:
    engine, clock = open_world()
    engine.assign_role("ana", "welding", "dev", Role.NEWCOMER)  # a newcomer by role
    clock.advance(timedelta(days=60))  # chloe joined long ago: no newcomer any more
    engine.join("walt", "welding")  # walt and eve join now: newcomers by date
    engine.join("eve", "welding")
    questions = {p: engine.ask(p, "welding", title=f"Question of {p}", body="Help?") for p in ("chloe", "dev", "walt")}

    engine.answer("ben", questions["chloe"].id, body="Here")
    engine.answer("ben", questions["dev"].id, body="Here")
    engine.answer("ben", questions["walt"].id, body="Here")
    assert "mentor" not in badges(engine, "ben")  # two newcomers so far
    engine.answer("ben", engine.ask("eve", "welding", title="Mine", body="Help?").id, body="Here")

    assert "mentor" in badges(engine, "ben")


def newcomers(engine: Engine, clock: ManualClock) -> None:
    """Three newcomers: walt and eve join now (by date), dev by role; chloe joined 60 days ago."""
    engine.assign_role("ana", "welding", "dev", Role.NEWCOMER)
    clock.advance(timedelta(days=60))
    for person in ("walt", "eve"):
        engine.join(person, "welding")


def progress(engine: Engine, person: str) -> dict[str, tuple[str, ...]]:
    found = engine.store.get(Ref("badge_progress", badge_progress_id("welding", person, "mentor")))
    assert found is None or isinstance(found.value, BadgeProgress)
    return dict(found.value.progress) if found is not None else {}


def test_a_withdrawn_answer_no_longer_counts_its_newcomer_until_they_are_answered_again() -> None:
    engine, clock = open_world()
    newcomers(engine, clock)
    to_walt = engine.answer("ben", engine.ask("walt", "welding", title="Q1", body="Help?").id, body="Here")
    engine.answer("ben", engine.ask("eve", "welding", title="Q2", body="Help?").id, body="Here")
    engine.withdraw("ben", "answer", to_walt.id, reason="Wrong")
    assert sorted(progress(engine, "ben")) == ["eve"]

    engine.answer("ben", engine.ask("dev", "welding", title="Q3", body="Help?").id, body="Here")
    assert "mentor" not in badges(engine, "ben")  # eve and dev: two newcomers
    engine.answer("ben", engine.ask("walt", "welding", title="Q4", body="Help?").id, body="Here")

    assert "mentor" in badges(engine, "ben")


def test_an_answer_withdrawn_while_badges_were_off_no_longer_counts_once_they_are_back_on() -> None:
    engine, clock = open_world()
    newcomers(engine, clock)
    to_walt = engine.answer("ben", engine.ask("walt", "welding", title="Q1", body="Help?").id, body="Here")
    engine.answer("ben", engine.ask("eve", "welding", title="Q2", body="Help?").id, body="Here")
    off = Charter(vocation="Welders help each other", disabled_policies=frozenset({"badges"}))
    engine.amend_charter("ana", "welding", off, reason="Pause")
    engine.withdraw("ben", "answer", to_walt.id, reason="Wrong")  # no badge policy to hear it
    engine.amend_charter("ana", "welding", Charter(vocation="Welders help each other"), reason="Back")

    engine.answer("ben", engine.ask("dev", "welding", title="Q3", body="Help?").id, body="Here")
    assert "mentor" not in badges(engine, "ben")  # eve and dev: walt's answer was withdrawn
    engine.answer("ben", engine.ask("walt", "welding", title="Q4", body="Help?").id, body="Here")

    assert "mentor" in badges(engine, "ben")


def test_mentor_progress_starts_from_the_answers_given_before_badges_were_switched_on() -> None:
    engine, clock = open_world(disabled=["badges"])
    newcomers(engine, clock)
    for asker in ("walt", "eve"):
        engine.answer("ben", engine.ask(asker, "welding", title=f"Q of {asker}", body="Help?").id, body="Here")
    engine.amend_charter("ana", "welding", Charter(vocation="Welders help each other"), reason="Badges on")

    engine.answer("ben", engine.ask("dev", "welding", title="Q of dev", body="Help?").id, body="Here")

    assert "mentor" in badges(engine, "ben")
    assert sorted(progress(engine, "ben")) == ["dev", "eve", "walt"]


def test_a_mentor_check_reads_as_much_after_a_hundred_answers_as_after_two() -> None:
    engine, clock = open_world()
    newcomers(engine, clock)
    question = engine.ask("walt", "welding", title="Thin sheet?", body="Help?")
    store: Any = engine.store
    find = store.find
    listed: list[str] = []
    store.find = lambda kind, *args, **kw: listed.append(kind) or find(kind, *args, **kw)

    def answering_reads() -> int:
        before = len(listed)
        engine.answer("ben", question.id, body="Try this")
        return len(listed) - before

    first, second = answering_reads(), answering_reads()
    for _ in range(100):
        engine.answer("ben", question.id, body="And this")
    assert (first, second, answering_reads()) == (1, 0, 0)  # the history is read once, to start
    assert progress(engine, "ben") == {"walt": progress(engine, "ben")["walt"]}
    assert len(progress(engine, "ben")["walt"]) == PROGRESS_ITEMS_MAX


def test_attending_three_meetings_makes_a_regular_attendee() -> None:
    engine, _ = open_world()
    meetings = []
    for n in range(3):
        starts = START + timedelta(days=7 * n)
        meetings.append(
            engine.schedule_meeting("ana", "welding", title=f"Monthly {n}", starts_at=starts, ends_at=starts)
        )

    engine.record_attendance("ana", meetings[0].id, ["ben", "chloe"])
    engine.record_attendance("ana", meetings[1].id, ["ben", "chloe"])
    engine.record_attendance("ana", meetings[2].id, ["ben", "dev"])

    assert "regular_attendee" in badges(engine, "ben")
    assert "regular_attendee" not in badges(engine, "chloe")


def test_a_badge_switched_off_in_the_charter_is_not_awarded_there() -> None:
    engine, _ = open_world({"disabled": "first_answer, first_resource"})
    question = engine.ask("chloe", "welding", title="Gas?", body="Which one?")

    engine.answer("ben", question.id, body="Argon")
    engine.share_resource("ben", "welding", title="Sheet", location="https://wiki/sheet")

    assert badges(engine, "ben") == []


def test_a_community_whose_charter_switches_badges_off_awards_none() -> None:
    engine, _ = open_world(disabled=["badges"])
    question = engine.ask("chloe", "welding", title="Gas?", body="Which one?")

    engine.answer("ben", question.id, body="Argon")

    assert badges(engine, "ben") == []
    assert badge_messages(engine, "ben") == []


def test_badges_can_come_without_messages() -> None:
    engine, _ = open_world({"notify": "no"})
    question = engine.ask("chloe", "welding", title="Gas?", body="Which one?")

    engine.answer("ben", question.id, body="Argon")

    assert badges(engine, "ben") == ["first_answer"]
    assert badge_messages(engine, "ben") == []


def first_question(view: BadgeView, event: ev.DomainEvent) -> Iterable[str]:
    """A host's rule: asking is taking part too. Its threshold is its own setting."""
    if not isinstance(event, ev.QuestionAsked):
        return []
    asked = len(view.store.find("question", Filter(community_id=view.community_id, person_id=event.actor_id))) + 1
    return [event.actor_id] if asked >= view.setting("curious.questions", 1) else []


class HostBadges:
    """A host plugin adding its own badge."""

    @hookimpl
    def coplib_badge_rules(self) -> Iterable[BadgeRule]:
        return [
            SimpleBadgeRule(
                "curious", {"en": "Curious mind", "fr": "Esprit curieux"}, frozenset({ev.QuestionAsked}), first_question
            )
        ]


def test_a_host_adds_its_own_badge_with_its_own_setting() -> None:
    engine, _ = open_world({"curious.questions": "2"}, plugins=[HostBadges()])

    engine.ask("chloe", "welding", title="Gas?", body="Which one?")
    assert badges(engine, "chloe") == []
    engine.ask("chloe", "welding", title="Wire?", body="Which one?")

    assert badges(engine, "chloe") == ["curious"]
    [params] = badge_messages(engine, "chloe")
    assert render("badge_awarded", params, "fr").subject == "Nouveau badge dans Welding : Esprit curieux"


def test_two_rules_for_the_same_badge_are_refused() -> None:
    class Impostor:
        @hookimpl
        def coplib_badge_rules(self) -> Iterable[BadgeRule]:
            return [SimpleBadgeRule("first_answer", {"en": "Mine"}, frozenset({ev.AnswerPosted}), lambda v, e: [])]

    engine = coplib.open("memory://", people=PEOPLE, plugins=[Impostor()], strict=True)

    with pytest.raises(PluginError) as caught:
        badge_rules(engine)
    with pytest.raises(PluginError):  # the policy gathers the rules when it first meets an event
        engine.create_community("ana", engine.create_organisation("eve", "Acme").id, name="Welding", vocation="Weld")

    assert "first_answer" in str(caught.value)


def test_a_rule_without_an_english_title_is_refused_when_made() -> None:
    with pytest.raises(PluginError):
        SimpleBadgeRule("quiet", {"fr": "Discret"}, frozenset({ev.AnswerPosted}), lambda v, e: [])


def test_bad_badge_settings_are_named_and_a_host_badges_settings_are_its_own() -> None:
    errors = BadgesPolicy().settings_errors(
        {
            "mentor.newcomers": "many",
            "regular_attendee.meetings": "0",
            "mentor.colour": "blue",
            "notify": "maybe",
            "disabled": "first answer",
            "curious.questions": "2",
        }
    )

    assert sorted(e.path for e in errors) == [
        "$.disabled",
        "$.mentor.colour",
        "$.mentor.newcomers",
        "$.notify",
        "$.regular_attendee.meetings",
    ]


def test_a_charter_with_bad_badge_settings_is_refused_naming_the_setting() -> None:
    engine, _ = open_world()
    charter = Charter(vocation="Weld", policy_settings={"badges": {"helpful_answer.endorsements": "-1"}})

    with pytest.raises(InvalidInputError) as caught:
        engine.amend_charter("ana", "welding", charter, reason="Harder")

    assert [e.path for e in caught.value.errors] == ["$.charter.policy_settings.badges.helpful_answer.endorsements"]


def test_the_built_in_badges_are_the_documented_ones() -> None:
    documented = {
        "first_answer",
        "helpful_answer",
        "first_resource",
        "first_experience",
        "mentor",
        "regular_attendee",
    }
    assert documented == BUILT_IN_NAMES
