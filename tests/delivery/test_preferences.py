"""Each person's preferences, as the dispatcher respects them: never, unsubscribed topics,
quiet hours (spanning midnight, in the person's time zone), daily and weekly digests grouped
into one message, and the channel each message goes out on."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from coplib import SYSTEM, InvalidInputError, NotFoundError, PermissionDeniedError, Person
from coplib.domain import events as ev
from coplib.domain.preferences import Frequency, Preferences, QuietHours
from coplib.notification.dispatcher import DeliveryPolicy, next_digest_slot
from coplib.ports.storage import DeliveryStatus

from .support import POLICY, START, ScriptedNotifier, make_world, outage

PARIS_NIGHTS = QuietHours(start=time(22, 0), end=time(7, 0), timezone="Europe/Paris")


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# -- setting preferences --------------------------------------------------------------------------


def test_a_person_sets_their_preferences_as_one_event_and_reads_them_back() -> None:
    world = make_world()
    before = len(world.engine.store.events())

    saved = world.engine.set_preferences(
        "ana", "ana", channel="webhook", frequency="daily", quiet_hours=PARIS_NIGHTS, unsubscribed=["role_assigned"]
    )

    assert saved == Preferences(
        person_id="ana",
        updated_at=START,
        channel="webhook",
        frequency=Frequency.DAILY,
        quiet_hours=PARIS_NIGHTS,
        unsubscribed=frozenset({"role_assigned"}),
    )
    assert world.engine.preferences("ana", "ana") == saved
    assert world.engine.preferences(SYSTEM, "ana") == saved
    (recorded,) = world.engine.store.events(after=before)
    assert isinstance(recorded.event, ev.PreferencesChanged)
    assert (recorded.event.actor_id, recorded.event.person_id, recorded.event.community_id) == ("ana", "ana", None)


def test_setting_the_same_preferences_again_records_nothing_and_unset_fields_go_back_to_defaults() -> None:
    world = make_world()
    world.engine.set_preferences("ana", "ana", frequency="weekly", unsubscribed=["answer_posted"])
    count = len(world.engine.store.events())
    world.engine.set_preferences("ana", "ana", frequency=Frequency.WEEKLY, unsubscribed=("answer_posted",))
    assert len(world.engine.store.events()) == count

    world.engine.set_preferences("ana", "ana")
    assert world.engine.preferences("ana", "ana") == Preferences(person_id="ana", updated_at=START)


def test_a_person_without_preferences_has_none_and_gets_every_message_at_once() -> None:
    world = make_world()
    assert world.engine.preferences("ana", "ana") is None
    message = world.answered("ana")
    assert world.dispatch().delivered == 1
    assert world.status(message.id) is DeliveryStatus.DELIVERED


def test_the_host_sets_anyones_preferences_but_a_person_only_their_own() -> None:
    world = make_world()
    assert world.engine.set_preferences(SYSTEM, "ben", frequency="never").frequency is Frequency.NEVER
    with pytest.raises(PermissionDeniedError, match="sets their own preferences only"):
        world.engine.set_preferences("ana", "ben", frequency="daily")
    with pytest.raises(PermissionDeniedError, match="only the person themselves"):
        world.engine.preferences("ana", "ben")
    with pytest.raises(NotFoundError, match="no person with id 'zed'"):
        world.engine.set_preferences(SYSTEM, "zed", frequency="daily")
    assert world.engine.preferences(SYSTEM, "ben") is not None


def test_a_person_who_left_the_organisation_cannot_set_preferences() -> None:
    world = make_world()
    world.directory.put(Person("dev", "Dev Patel", active=False))
    with pytest.raises(PermissionDeniedError, match="has left the organisation"):
        world.engine.set_preferences("dev", "dev", frequency="never")


@pytest.mark.parametrize(
    ("settings", "path"),
    [
        ({"channel": "e mail"}, "$.channel"),
        ({"channel": ""}, "$.channel"),
        ({"frequency": "hourly"}, "$.frequency"),
        ({"quiet_hours": "22:00-07:00"}, "$.quiet_hours"),
        ({"unsubscribed": "answer_posted"}, "$.unsubscribed"),
        ({"unsubscribed": ["answer_posted", 3]}, "$.unsubscribed[1]"),
        ({"unsubscribed": ["answer posted"]}, "$.unsubscribed[0]"),
    ],
)
def test_bad_preferences_are_refused_by_path_and_nothing_changes(settings: dict[str, object], path: str) -> None:
    world = make_world()
    count = len(world.engine.store.events())
    with pytest.raises(InvalidInputError) as caught:
        world.engine.set_preferences("ana", "ana", **settings)  # type: ignore[arg-type]
    assert [e.path for e in caught.value.errors] == [path]
    assert world.engine.preferences("ana", "ana") is None
    assert len(world.engine.store.events()) == count


# -- never and unsubscribed topics ----------------------------------------------------------------


def test_a_person_who_wants_nothing_has_their_messages_dropped_as_unsubscribed() -> None:
    world = make_world()
    world.engine.set_preferences("ana", "ana", frequency="never")
    message = world.answered("ana")

    report = world.dispatch()

    assert (report.dropped, report.delivered) == (1, 0)
    entry = world.entry(message.id)
    assert entry.status is DeliveryStatus.DROPPED
    assert entry.last_error == "unsubscribed: 'ana' wants no messages (frequency never)"
    assert entry.attempts == 0
    assert world.recorder.deliveries == []


def test_an_unsubscribed_topic_is_dropped_while_other_topics_still_arrive() -> None:
    world = make_world()
    world.engine.set_preferences("chloe", "chloe", unsubscribed=["answer_posted"])
    answer_notice = world.answered("chloe")
    world.engine.assign_role("ana", world.community.id, "chloe", "coach")

    report = world.dispatch()

    assert (report.dropped, report.delivered) == (1, 1)
    assert (
        world.entry(answer_notice.id).last_error == "unsubscribed: 'chloe' unsubscribed from the topic 'answer_posted'"
    )
    assert [d.message.topic for d in world.recorder.to("chloe")] == ["role_assigned"]


# -- quiet hours ---------------------------------------------------------------------------------


def test_quiet_hours_spanning_midnight_in_paris_defer_a_message_to_seven_in_the_morning_paris_time() -> None:
    world = make_world(start=utc(2026, 1, 5, 21, 30))  # 22:30 in Paris (UTC+1 in winter)
    world.engine.set_preferences("ana", "ana", quiet_hours=PARIS_NIGHTS)
    message = world.answered("ana")

    report = world.dispatch()

    assert (report.deferred, report.delivered) == (1, 0)
    entry = world.entry(message.id)
    assert (entry.status, entry.attempts, entry.last_error) == (DeliveryStatus.PENDING, 0, None)
    assert entry.next_attempt_at == utc(2026, 1, 6, 6, 0)  # 07:00 in Paris
    world.clock.set(utc(2026, 1, 6, 1, 0))  # 02:00 in Paris: after midnight, still quiet
    assert not world.dispatch()
    world.clock.set(utc(2026, 1, 6, 6, 0))
    assert world.dispatch().delivered == 1
    assert [d.message.id for d in world.recorder.deliveries] == [message.id]


def test_a_message_in_the_small_hours_waits_for_the_same_mornings_end_of_quiet_hours() -> None:
    world = make_world(start=utc(2026, 7, 6, 0, 30))  # 02:30 in Paris (UTC+2 in summer)
    world.engine.set_preferences("ana", "ana", quiet_hours=PARIS_NIGHTS)
    message = world.answered("ana")

    world.dispatch()

    assert world.entry(message.id).next_attempt_at == utc(2026, 7, 6, 5, 0)  # 07:00 in Paris, summer time


def test_outside_quiet_hours_a_message_goes_at_once() -> None:
    world = make_world(start=utc(2026, 1, 5, 20, 59))  # 21:59 in Paris
    world.engine.set_preferences("ana", "ana", quiet_hours=PARIS_NIGHTS)
    world.answered("ana")
    assert world.dispatch().delivered == 1


# -- digests ------------------------------------------------------------------------------------


def test_a_daily_digest_groups_the_days_messages_into_one_delivered_at_the_digest_hour() -> None:
    world = make_world()  # Monday 09:00 UTC
    world.engine.set_preferences("ana", "ana", frequency="daily")
    first = world.answered("ana", title="Argon ?")
    world.advance(hours=3)
    second = world.answered("ana", title="Hélium ?")
    world.advance(hours=6)
    third = world.answered("ana", title="CO2 ?")
    at_once = world.answered("chloe")

    report = world.dispatch()
    assert (report.deferred, report.delivered, report.digests) == (3, 1, 0)
    assert {world.entry(m.id).next_attempt_at for m in (first, second, third)} == {utc(2026, 1, 6, 8, 0)}
    world.clock.set(utc(2026, 1, 6, 7, 59))
    assert not world.dispatch()

    world.clock.set(utc(2026, 1, 6, 8, 0))
    report = world.dispatch()

    assert (report.claimed, report.delivered, report.digests) == (3, 3, 1)
    (digest,) = world.recorder.to("ana")
    assert digest.message.topic == "digest"
    assert digest.message.params["count"] == "3"
    assert digest.message.params["message_ids"] == f"{first.id} {second.id} {third.id}"
    assert digest.rendered.subject == "Votre résumé quotidien (3)"
    lines = digest.message.params["items"].splitlines()
    assert lines == [
        "• Ben Carter a répondu à votre question « Argon ? » dans Soudeurs de Lyon.",
        "• Ben Carter a répondu à votre question « Hélium ? » dans Soudeurs de Lyon.",
        "• Ben Carter a répondu à votre question « CO2 ? » dans Soudeurs de Lyon.",
    ]
    assert {world.status(m.id) for m in (first, second, third)} == {DeliveryStatus.DELIVERED}
    assert [d.message.id for d in world.recorder.to("chloe")] == [at_once.id]
    assert not world.dispatch()


def test_a_weekly_digest_goes_out_on_monday_at_the_digest_hour_of_the_persons_time_zone() -> None:
    world = make_world()  # Monday 5 January, 09:00 UTC: this week's digest has gone
    world.engine.set_preferences(SYSTEM, "ben", frequency="weekly", quiet_hours=PARIS_NIGHTS)
    monday = world.answered("ben")
    world.clock.set(utc(2026, 1, 7, 15, 0))  # Wednesday
    wednesday = world.answered("ben")

    world.dispatch()
    monday_next = utc(2026, 1, 12, 7, 0)  # 08:00 in Paris
    assert {world.entry(m.id).next_attempt_at for m in (monday, wednesday)} == {monday_next}
    world.clock.set(utc(2026, 1, 11, 23, 0))  # Sunday night
    assert not world.dispatch()

    world.clock.set(monday_next)
    report = world.dispatch()

    assert (report.delivered, report.digests) == (2, 1)
    (digest,) = world.recorder.to("ben")
    assert digest.rendered.subject == "Your weekly digest (2)"
    assert digest.message.params["items"].count("Dev Patel answered your question") == 2


def test_a_digest_that_fails_is_retried_as_one_with_the_same_idempotency_key() -> None:
    notifier = ScriptedNotifier(failures=[outage()])
    world = make_world(notifier)
    world.engine.set_preferences("ana", "ana", frequency="daily")
    messages = [world.answered("ana", title=f"Q{n} ?") for n in range(3)]
    world.clock.set(utc(2026, 1, 6, 8, 0))

    failed = world.dispatch()
    assert (failed.retried, failed.digests) == (3, 0)
    assert {world.entry(m.id).attempts for m in messages} == {1}
    assert len({world.entry(m.id).next_attempt_at for m in messages}) == 1
    world.clock.set(world.entry(messages[0].id).next_attempt_at)
    done = world.dispatch()

    assert (done.delivered, done.digests) == (3, 1)
    (digest,) = notifier.delivered
    assert notifier.calls == 2
    assert digest.topic == "digest"
    assert digest.params["count"] == "3"


def test_a_digest_waits_for_the_end_of_quiet_hours_when_its_slot_falls_inside_them() -> None:
    world = make_world()
    early = QuietHours(start=time(22, 0), end=time(9, 30), timezone="Europe/Paris")
    world.engine.set_preferences("ana", "ana", frequency="daily", quiet_hours=early)
    message = world.answered("ana")

    world.dispatch()
    slot = utc(2026, 1, 6, 7, 0)  # 08:00 in Paris: still quiet until 09:30
    assert world.entry(message.id).next_attempt_at == slot
    world.clock.set(slot)
    world.dispatch()
    assert world.entry(message.id).next_attempt_at == utc(2026, 1, 6, 8, 30)
    world.clock.set(utc(2026, 1, 6, 8, 30))
    assert world.dispatch().digests == 1


def test_the_digest_slot_is_the_first_at_or_after_the_moment() -> None:
    at = time(8, 0)
    daily, weekly = Frequency.DAILY, Frequency.WEEKLY
    assert next_digest_slot(utc(2026, 1, 5, 8, 0), daily, at=at, weekday=0, timezone="UTC") == utc(2026, 1, 5, 8, 0)
    assert next_digest_slot(utc(2026, 1, 5, 8, 1), daily, at=at, weekday=0, timezone="UTC") == utc(2026, 1, 6, 8, 0)
    assert next_digest_slot(utc(2026, 1, 5, 7, 0), weekly, at=at, weekday=0, timezone="UTC") == utc(2026, 1, 5, 8, 0)
    assert next_digest_slot(utc(2026, 1, 5, 9, 0), weekly, at=at, weekday=0, timezone="UTC") == utc(2026, 1, 12, 8, 0)
    assert next_digest_slot(utc(2026, 1, 5, 9, 0), weekly, at=at, weekday=4, timezone="UTC") == utc(2026, 1, 9, 8, 0)
    # Across the change to summer time (29 March 2026 in Paris): still 08:00 local.
    paris = next_digest_slot(utc(2026, 3, 28, 12, 0), daily, at=at, weekday=0, timezone="Europe/Paris")
    assert paris == utc(2026, 3, 29, 6, 0)


def test_the_digest_hour_and_time_zone_are_settings_of_the_dispatch() -> None:
    world = make_world()
    world.engine.set_preferences("ana", "ana", frequency="daily")
    message = world.answered("ana")
    evening = DeliveryPolicy(digest_time=time(18, 30), digest_timezone="America/Montreal")
    world.engine.dispatch(policy=evening)
    assert world.entry(message.id).next_attempt_at == utc(2026, 1, 5, 23, 30)


# -- channels -------------------------------------------------------------------------------------


def test_each_message_goes_out_on_the_recipients_channel_or_the_default_one() -> None:
    email = ScriptedNotifier("email")
    webhook = ScriptedNotifier("webhook")
    world = make_world(email, webhook)
    world.engine.set_preferences("ana", "ana", channel="webhook")
    world.engine.set_preferences("chloe", "chloe", channel="pager")
    to_ana = world.answered("ana")
    to_dev = world.answered("dev")
    to_chloe = world.answered("chloe")

    assert world.dispatch().delivered == 3

    assert [m.id for m in webhook.delivered] == [to_ana.id]
    assert [m.id for m in email.delivered] == [to_dev.id]
    # No notifier answers "pager": the catch-all recorder, registered last, takes it.
    assert [(d.message.id, d.channel) for d in world.recorder.deliveries] == [(to_chloe.id, "pager")]


def test_the_default_channel_is_a_setting_of_the_dispatch() -> None:
    chat = ScriptedNotifier("chat")
    world = make_world(chat)
    message = world.answered("dev")
    world.engine.dispatch(policy=DeliveryPolicy(default_channel="chat"))
    assert [m.id for m in chat.delivered] == [message.id]


def test_person_ids_in_a_message_are_shown_as_display_names_and_kept_as_ids() -> None:
    world = make_world()
    message = world.answered("ana")
    assert message.params["actor"] == "ben"

    world.dispatch(policy=POLICY)

    (delivery,) = world.recorder.deliveries
    assert delivery.message.params["actor"] == "Ben Carter"
    assert delivery.message.params["actor_id"] == "ben"
    assert delivery.rendered.body == "Ben Carter a répondu à votre question « Quel gaz ? » dans Soudeurs de Lyon."
    assert world.entry(message.id).message.params["actor"] == "ben", "the outbox keeps the ids"


def test_a_request_names_the_requester_for_the_gatekeepers() -> None:
    from coplib import Admission, Charter, MembershipPolicy

    world = make_world()
    charter = Charter(vocation="Peindre", membership_policy=MembershipPolicy(admission=Admission.APPROVAL))
    org = world.engine.organisation("ana", world.community.organisation_id)
    guarded = world.engine.create_community("ana", org.id, name="Peintres", charter=charter)
    world.engine.request_membership("dev", guarded.id)

    world.dispatch()

    (notice,) = world.recorder.to("ana")
    assert notice.rendered.subject == "Dev Patel demande à rejoindre Peintres"
    assert notice.message.params["person_id"] == "dev"
