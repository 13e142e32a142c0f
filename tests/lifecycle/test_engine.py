"""The lifecycle through the engine, on a controlled clock: the tick evaluates once per complete
month and records what changed; live ticks over a history give the alerts the replay gives; the
facilitator and the sponsor are told in French and English; the facilitator confirms or
overrides the stage; the reads are the health report's, and refuse bad input."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import coplib
from coplib import ManualClock, NotFoundError, PermissionDeniedError
from coplib.domain.community import LifecycleStage
from coplib.domain.errors import InvalidInputError
from coplib.domain.history import Ref
from coplib.health import community_json, render_text
from coplib.notification.messages import render
from coplib.policies.lifecycle import evaluate
from tests.lifecycle.support import (
    FACILITATOR,
    FALLING,
    SPONSOR,
    START,
    found,
    live,
    month_start,
    open_engine,
    recorded,
)


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def falling(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A community whose activity halves and more, ticked on the 1st, 2nd and 5th of each month."""
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path_factory.mktemp('life') / 'c.db'}"
    clock = ManualClock(START)
    with open_engine(url, clock) as engine:
        cid = found(engine)
        reports = live(engine, clock, cid, FALLING, tick_hours=(1, 30, 100))
        yield engine, cid, reports


def test_live_ticks_over_a_history_give_the_alerts_the_replay_gives(falling) -> None:  # type: ignore[no-untyped-def]
    engine, cid, _ = falling
    entered = [e.month for e in recorded(engine, cid, "decline_entered")]
    assert entered, "a fall from 48 to 10 contributions a month must raise an alert"
    report = engine.community_lifecycle(FACILITATOR, cid)
    assert [a.month for a in report.alerts] == entered
    # The same through the health JSON (the replay as at each month's end).
    document = community_json(engine.community_health(FACILITATOR, cid))
    assert [a["month"] for a in document["decline"]["alerts"]] == entered
    assert (
        document["decline"]["declining"]
        == report.declining
        == (report.recorded is not None and report.recorded.declining)
    )
    left = [e.month for e in recorded(engine, cid, "decline_left")]
    replayed_left = [v.month for v in report.alerts]  # months entered; leaving is the next change
    assert all(m > entered[0] for m in left)
    assert len(replayed_left) - len(left) in (0, 1)


def test_the_tick_evaluates_each_complete_month_once_and_never_the_month_under_way(falling) -> None:  # type: ignore[no-untyped-def]
    engine, cid, reports = falling
    assert all(not r.errors for r in reports)
    months = [e.month for e in recorded(engine, cid, "lifecycle_evaluated")]
    # One evaluation per month, in order, each of the month before the tick's: the ticks on
    # the 2nd and the 5th found nothing left to do.
    assert months == sorted(set(months))
    assert months[-1] == (month_start(len(FALLING)) - timedelta(days=1)).strftime("%Y-%m")
    for change in recorded(engine, cid, "lifecycle_evaluated", "decline_entered", "stage_suggested"):
        assert change.month < change.occurred_at.strftime("%Y-%m")


def test_entering_the_declining_state_tells_the_facilitator_and_the_sponsor_in_french_and_english(falling) -> None:  # type: ignore[no-untyped-def]
    engine, cid, _ = falling
    entered = recorded(engine, cid, "decline_entered")
    messages = [e.message for e in engine.outbox(coplib.SYSTEM, limit=10_000) if e.message.topic == "decline_entered"]
    assert sorted({m.recipient_id for m in messages}) == sorted({FACILITATOR, SPONSOR})
    assert len(messages) == 2 * len(entered)
    params = messages[0].params
    english, french = render("decline_entered", params, "en"), render("decline_entered", params, "fr")
    assert "Welders is running out of steam" in english.subject
    assert "s'essouffle" in french.subject
    month = entered[0].month
    assert month in english.body and month in french.body
    assert "contributions went from" in english.body and "since" in english.body
    assert "contributions sont passés de" in french.body and "depuis" in french.body
    # What the charter's animation could do: this charter allows meetings and calls to all.
    assert "schedule a meeting" in english.body and "call to all" in english.body
    assert "réunion" in french.body


def test_the_stage_is_suggested_with_reasons_and_recorded_only_when_it_changes(falling) -> None:  # type: ignore[no-untyped-def]
    engine, cid, _ = falling
    suggested = recorded(engine, cid, "stage_suggested")
    stages = [e.stage for e in suggested]
    assert all(a is not b for a, b in itertools.pairwise(stages))  # a change each time
    assert stages[0] is LifecycleStage.COALESCING
    assert suggested[0].reasons[0].startswith("coalescing: 30 members, 1 month old")
    assert not any(r.startswith("bootstrap mode") for r in suggested[0].reasons)  # 30 of 20 members
    assert LifecycleStage.TRANSFORMATION in stages
    report = engine.community_lifecycle(FACILITATOR, cid)
    assert report.suggested is stages[-1] is report.recorded.suggested
    assert report.since == report.recorded.suggested_since


def test_the_portfolio_reads_each_communitys_decline_and_stage_from_its_lifecycle() -> None:
    clock = ManualClock(START)
    with open_engine(clock=clock) as engine:
        cid = found(engine)
        # (The ranking itself, the declining first, is tested in tests/value/test_portfolio.py.)
        engine.create_community(FACILITATOR, "acme", name="Brazers", vocation="Braze", community_id="brazers")
        live(engine, clock, cid, FALLING[:13])  # still falling at the end
        clock.advance(month_start(14) - clock.now())

        portfolio = engine.portfolio_health(FACILITATOR, "acme")

        by_id = {e.community_id: e for e in portfolio}
        lifecycle = engine.community_lifecycle(FACILITATOR, cid)
        assert lifecycle.declining and by_id[cid].declining and not by_id["brazers"].declining
        assert by_id[cid].stage is lifecycle.stage is not engine.community(FACILITATOR, cid).stage


def test_a_second_tick_in_the_same_month_records_nothing() -> None:
    clock = ManualClock(START)
    with open_engine(clock=clock) as engine:
        cid = found(engine)
        live(engine, clock, cid, [10, 10])
        before = engine.store.last_position()
        clock.advance(timedelta(days=3))
        engine.tick()
        assert engine.store.last_position() == before


def test_the_facilitator_confirms_or_overrides_the_suggested_stage_and_both_are_readable() -> None:
    clock = ManualClock(START)
    with open_engine(clock=clock) as engine:
        cid = found(engine)
        live(engine, clock, cid, [10, 10, 10])
        report = engine.community_lifecycle(FACILITATOR, cid)
        assert report.suggested is LifecycleStage.COALESCING
        assert report.confirmed is LifecycleStage.POTENTIAL  # set by hand at creation
        engine.change_stage(FACILITATOR, cid, report.suggested)  # confirms
        assert engine.community_lifecycle("p05", cid).confirmed is LifecycleStage.COALESCING
        engine.change_stage(FACILITATOR, cid, LifecycleStage.MATURING)  # overrides
        after = engine.community_lifecycle("p05", cid)
        assert (after.confirmed, after.suggested) == (LifecycleStage.MATURING, LifecycleStage.COALESCING)
        with pytest.raises(PermissionDeniedError):
            engine.change_stage("p05", cid, LifecycleStage.STEWARDSHIP)
        document = community_json(engine.community_health("p05", cid))
        assert document["stage"]["confirmed"] == "maturing"
        assert document["stage"]["name"] == document["stage"]["suggested"] == "coalescing"
        assert document["stage"]["reasons"][0].startswith("coalescing: 30 members, 3 months old")


def test_a_closed_community_is_not_judged_and_shows_its_closed_stage() -> None:
    clock = ManualClock(START)
    with open_engine(clock=clock) as engine:
        cid = found(engine)
        live(engine, clock, cid, [10])
        engine.change_stage(FACILITATOR, cid, LifecycleStage.CLOSED)
        before = len(recorded(engine, cid, "lifecycle_evaluated"))
        clock.advance(timedelta(days=40))
        engine.tick()
        assert len(recorded(engine, cid, "lifecycle_evaluated")) == before
        assert engine.community_lifecycle(FACILITATOR, cid).stage is LifecycleStage.CLOSED


def test_the_health_text_shows_the_stage_and_the_decline_in_both_languages(falling) -> None:  # type: ignore[no-untyped-def]
    engine, cid, _ = falling
    report = engine.community_health(FACILITATOR, cid)
    english, french = render_text(report, "en"), render_text(report, "fr")
    alerts = ", ".join(a.month for a in report.lifecycle.alerts)
    assert "Lifecycle" in english and f"months the detector fired: {alerts}" in english
    assert "Cycle de vie" in french and f"mois où le détecteur s'est déclenché : {alerts}" in french


@pytest.mark.parametrize(
    ("key", "value"),
    [("decline_window_months", "2"), ("bootstrap_members", "many"), ("stewardship_months", "1"), ("colour", "red")],
)
def test_bad_lifecycle_settings_in_a_charter_are_refused_naming_the_key_and_change_nothing(
    key: str, value: str
) -> None:
    with open_engine() as engine:
        cid = found(engine)
        before = engine.store.last_position()
        charter = engine.community(FACILITATOR, cid).charter
        bad = {"lifecycle": {key: value}}
        import attrs

        with pytest.raises(InvalidInputError) as caught:
            engine.amend_charter(FACILITATOR, cid, attrs.evolve(charter, policy_settings=bad), reason="tune")
        assert f"$.charter.policy_settings.lifecycle.{key}" in [e.path for e in caught.value.errors]
        assert engine.store.last_position() == before


def test_bad_input_to_the_lifecycle_read_gets_a_typed_error_naming_the_field(tmp_path: Path) -> None:
    with open_engine() as engine:
        cid = found(engine)
        with pytest.raises(InvalidInputError, match=r"\$\.viewer"):
            engine.community_lifecycle("", cid)
        with pytest.raises(InvalidInputError, match=r"\$\.community_id"):
            engine.community_lifecycle(FACILITATOR, "bad id\n")
        with pytest.raises(InvalidInputError, match=r"\$\.until"):
            engine.community_lifecycle(FACILITATOR, cid, until="2024-01-01")  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match=r"\$\.until"):
            engine.community_lifecycle(FACILITATOR, cid, until=datetime(2024, 1, 1))
        with pytest.raises(NotFoundError):
            engine.community_lifecycle(FACILITATOR, "nowhere")
    assert UTC  # the module's times are all UTC


def test_the_health_reports_lifecycle_is_the_lifecycle_read_whatever_the_moment_in_the_month() -> None:
    """The report reuses its own facts (at `until`, mid-month) for the lifecycle (as at the
    month's start): the same answer as the read, which queries at the month's start, though
    the month under way has questions, some answered within 24 hours of the month's start."""
    clock = ManualClock(START)
    with open_engine(clock=clock) as engine:
        cid = found(engine)
        live(engine, clock, cid, FALLING[:12])
        begin = month_start(12)
        for hours in (2, 5, 30, 200):
            clock.advance(begin + timedelta(hours=hours) - clock.now())
            question = engine.ask("p03", cid, title="Which gas?", body="For steel")
            engine.answer("p04", question.id, body="Argon")
        for until in (begin, begin + timedelta(hours=1), begin + timedelta(days=9, hours=5)):
            report = engine.community_health(FACILITATOR, cid, until=until).lifecycle
            read = engine.community_lifecycle(FACILITATOR, cid, until=until)
            assert report.suggested is not None
            assert attrs.evolve(report, recorded=None) == attrs.evolve(read, recorded=None)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.builds(
        lambda level, steady, factors: [level] * steady + [round(level * f) for f in factors],
        st.integers(6, 20),
        st.integers(5, 7),
        st.lists(st.sampled_from([0.0, 0.2, 0.5, 0.8, 1.0, 1.3]), min_size=2, max_size=5),
    ),
    st.lists(st.sampled_from([None, 1, 20, 70, 300]), min_size=12, max_size=12),
    st.integers(0, 50),
)
def test_replaying_a_history_gives_the_changes_the_live_ticks_recorded(
    monthly: list[int], ticks: list[int | None], seed: int
) -> None:
    """Whatever the history and whenever the ticks come (hours into a month, or not at all
    that month: the next tick catches up), the decline changes recorded live are those the
    replay finds, and the read's alerts are the months entered."""
    clock = ManualClock(START)
    with open_engine(clock=clock) as engine:
        cid = found(engine)
        rng = random.Random(seed)
        for i, n in enumerate(monthly):
            if ticks[i] is not None:
                at = month_start(i) + timedelta(hours=ticks[i])
                clock.advance(max(at - clock.now(), timedelta(0)))
                assert not engine.tick().errors
            begin = max(clock.now(), month_start(i))
            for k in sorted(rng.random() for _ in range(n)):
                at = begin + (month_start(i + 1) - begin) * k * 0.9
                if at > clock.now():
                    clock.advance(at - clock.now())
                question = engine.ask("p02", cid, title="Which wire?", body="Thin")
                engine.answer(rng.choice(["p03", "p04", "p05"]), question.id, body="0.8 mm")
        clock.advance(month_start(len(monthly)) + timedelta(hours=2) - clock.now())
        engine.tick()
        live = [(e.month, e.TYPE) for e in recorded(engine, cid, "decline_entered", "decline_left")]
        community = engine.store.get(Ref("community", cid)).value
        replayed = evaluate(engine.store, community, until=month_start(len(monthly)))
        expected = [
            (v.month.strftime("%Y-%m"), "decline_entered" if v.entered else "decline_left")
            for v in replayed.verdicts
            if v.entered or v.left
        ]
        event(f"changes: {len(expected)}")
        assert live == expected
        assert [a.month for a in engine.community_lifecycle(FACILITATOR, cid).alerts] == [
            m for m, kind in live if kind == "decline_entered"
        ]
