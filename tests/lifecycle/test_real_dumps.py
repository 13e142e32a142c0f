"""The lifecycle on the real dumps of shared/data (beer, history-meta): the monthly series the
detector reads equal the counts made from the XML with the standard library alone
(tests/health/reference.py); a tick after the import records the replay's alerts and tells only
of a decline still under way; at the end of each dump no alert rests on its last, partial month."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import coplib
from coplib import ManualClock
from coplib.domain.decline import month_end
from coplib.domain.history import Ref
from coplib.importers.stackexchange import import_stackexchange
from coplib.policies.lifecycle import evaluate
from tests.health import reference
from tests.importers.dumps import REAL_DUMPS

LATER = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module", params=["beer", "history-meta"])
def site(request: pytest.FixtureRequest) -> Iterator[tuple[str, coplib.Engine, str, ManualClock]]:
    clock = ManualClock(LATER)
    with coplib.open("memory://", clock=clock, plugins=[coplib.RecordingNotifier()]) as engine:
        report = import_stackexchange(engine, REAL_DUMPS / request.param)
        yield request.param, engine, report.community_id, clock


def _end_of_dump(engine: coplib.Engine, cid: str) -> datetime:
    facts = engine.store.contributor_facts(cid, since=None, until=LATER)
    return max(p.last_at for p in facts.people) + timedelta(seconds=1)


def test_the_monthly_series_are_the_counts_made_from_the_xml(site: Any) -> None:
    name, engine, cid, _ = site
    end = _end_of_dump(engine, cid)
    community = engine.store.get(Ref("community", cid)).value
    points = evaluate(engine.store, community, until=end).points
    expected = reference.figures(REAL_DUMPS / name, until=end)
    monthly, asked = expected["monthly"], expected["questions_per_month"]
    assert points, "a dump of several years has complete months"
    for p in points:
        key = p.month.strftime("%Y-%m")
        assert p.contributions == monthly.get(key, {}).get("contributions", 0), key
        assert p.active_contributors == monthly.get(key, {}).get("active_contributors", 0), key
        assert p.questions == asked.get(key, 0), key
    # Complete months only: the dump's last month, cut short, is not among them.
    assert month_end(points[-1].month) <= end
    assert end.strftime("%Y-%m") not in {p.month.strftime("%Y-%m") for p in points}


def test_a_tick_after_the_import_records_the_replays_alerts_and_tells_only_of_a_decline_under_way(site: Any) -> None:
    _, engine, cid, _ = site
    engine.tick()
    entered = [
        r.event.month
        for r in engine.store.events(community_id=cid, limit=1_000_000)
        if r.event.TYPE == "decline_entered"
    ]
    report = engine.community_lifecycle(coplib.SYSTEM, cid)
    assert [a.month for a in report.alerts] == entered
    told = [e for e in engine.outbox(coplib.SYSTEM, limit=10_000) if e.message.topic == "decline_entered"]
    assert bool(told) == report.declining
    before = engine.store.last_position()
    engine.tick()
    assert engine.store.last_position() == before


def test_at_the_end_of_the_dump_no_alert_rests_on_its_partial_month(site: Any) -> None:
    _, engine, cid, _ = site
    end = _end_of_dump(engine, cid)
    report = engine.community_lifecycle(coplib.SYSTEM, cid, until=end)
    assert all(a.month < end.strftime("%Y-%m") for a in report.alerts)
    assert report.suggested is not None and report.since is not None
