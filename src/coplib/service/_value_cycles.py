"""The cycles of value of a community over the period of its health report, from the store's
counts (`coplib.domain.value`): what `HealthReads` adds to each report as its `value`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from coplib.domain import events as ev
from coplib.domain.community import Community
from coplib.domain.health import CommunityHealth
from coplib.domain.value import ValueCycles, ValueStory
from coplib.domain.value_cycles import compute_value_cycles
from coplib.ports.storage import Filter, Period, Store

#: Where counting the reframing events starts for a report over the whole history.
_DAWN = datetime(1, 1, 1, tzinfo=UTC)


def value_cycles_of(
    store: Store, community: Community, health: CommunityHealth, reframing: Mapping[str, int] | None = None
) -> ValueCycles:
    """The cycles of value of `community` over the period of its `health` report: the store
    counts the endorsements, the value stories and the reframing events of the period (these
    by type in `reframing` when the caller kept them: `coplib.service.health_cache`)."""
    since, until = health.since, health.until
    period = Filter(community_id=community.id, since=since, until=until)
    stories = [s for s in store.find("value_story", period) if isinstance(s, ValueStory) and not s.withdrawn]

    def events_of(kind: str) -> int:
        if reframing is not None:
            return reframing[kind]
        counts = store.count_events(community.id, since=since or _DAWN, until=until, period=Period.MONTH, types=[kind])
        return sum(counts.values())

    return compute_value_cycles(
        health=health,
        endorsements=store.count("endorsement", period),
        stories=stories,
        charter_amendments=events_of(ev.CharterAmended.TYPE),
        stage_changes=events_of(ev.CommunityStageChanged.TYPE),
    )
