"""Fixtures for the unit tests: an engine on a memory store, an organisation, communities."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from coplib import (
    Admission,
    Charter,
    Community,
    Engine,
    ManualClock,
    MembershipPolicy,
    Organisation,
    RecordingNotifier,
    Visibility,
)
from tests.unit.support import START, open_engine


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def engine(clock: ManualClock) -> Iterator[Engine]:
    with open_engine(clock) as opened:
        yield opened


@pytest.fixture
def notifier(engine: Engine) -> RecordingNotifier:
    [plugin] = [p for p in engine.plugin_manager.get_plugins() if isinstance(p, RecordingNotifier)]
    return plugin


@pytest.fixture
def org(engine: Engine) -> Organisation:
    return engine.create_organisation("eve", "Acme", organisation_id="acme")


@pytest.fixture
def community(engine: Engine, org: Organisation) -> Community:
    """An open community anyone joins, animated by ana (its founder)."""
    return engine.create_community(
        "ana", org.id, name="Welding", vocation="Welders help each other", tags=["welding"], community_id="welding"
    )


@pytest.fixture
def private(engine: Engine, org: Organisation) -> Community:
    """A private community joined by invitation, animated by ana."""
    charter = Charter(vocation="Plant managers compare notes", membership_policy=MembershipPolicy(Admission.INVITATION))
    return engine.create_community(
        "ana", org.id, name="Plant managers", charter=charter, visibility=Visibility.PRIVATE, community_id="managers"
    )


@pytest.fixture
def restricted(engine: Engine, org: Organisation) -> Community:
    """A restricted community joined on approval, animated by ana."""
    charter = Charter(
        vocation="Safety officers share incidents", membership_policy=MembershipPolicy(Admission.APPROVAL)
    )
    return engine.create_community(
        "ana", org.id, name="Safety", charter=charter, visibility=Visibility.RESTRICTED, community_id="safety"
    )
