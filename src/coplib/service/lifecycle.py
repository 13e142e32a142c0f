"""The lifecycle reads: where a community stands (the stage its facilitator confirmed and the
stage its health signals suggest) and whether it is running out of steam, with the months the
decline detector would have fired, for whoever may read its health report.

The computation is the lifecycle policy's (`coplib.policies.lifecycle.evaluate`): what the
tick records month by month, replayed over the history up to `until`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time

from coplib.domain.clock import ensure_utc
from coplib.domain.community import Community
from coplib.domain.health import ContributorFacts, MemberFacts, QuestionFacts
from coplib.domain.history import Ref
from coplib.domain.lifecycle import Lifecycle, LifecycleReport, lifecycle_id
from coplib.policies.lifecycle import evaluate, month_floor, report
from coplib.ports.storage import Store
from coplib.service._base import UseCases, check_id

__all__ = ["LifecycleReads", "lifecycle_report"]


class LifecycleReads(UseCases):
    """The lifecycle of a community, as engine methods."""

    def community_lifecycle(
        self, viewer: str, community_id: str, *, until: date | datetime | None = None
    ) -> LifecycleReport:
        """The stage (confirmed and suggested, since when, why) and the decline state with
        its alerts, as at the end of the last complete month before `until` (a day or a
        moment; by default now), for anyone who may read the community (a private community
        is unknown to an outsider)."""
        ctx = "community_lifecycle"
        viewer = check_id("$.viewer", viewer, ctx)
        if until is None:
            end = self.clock.now()
        elif isinstance(until, date) and not isinstance(until, datetime):
            end = datetime.combine(until, time(0), tzinfo=UTC)
        else:
            end = ensure_utc(until, "$.until")
        community = self._community(community_id, ctx)
        self._readable(viewer, community)
        return self._lifecycle(community, end)

    def _lifecycle(self, community: Community, until: datetime) -> LifecycleReport:
        return lifecycle_report(self._store, community, until)


def lifecycle_report(
    store: Store,
    community: Community,
    until: datetime,
    *,
    questions: Sequence[QuestionFacts] | None = None,
    contributors: ContributorFacts | None = None,
    members: Sequence[MemberFacts] | None = None,
    asked: Mapping[date, tuple[int, int]] | None = None,
) -> LifecycleReport:
    """The report as at `until`'s month start, the end of the last complete month
    (`questions`/`contributors`: the store's facts at that moment, the contributors' since
    None, when the caller read them already; `asked`: the questions by month, as
    `coplib.policies.lifecycle.evaluate` takes them)."""
    end = month_floor(until)
    found = evaluate(
        store, community, until=end, questions=questions, contributors=contributors, members=members, asked=asked
    )
    stored = store.get(Ref("lifecycle", lifecycle_id(community.id)))
    record = stored.value if stored is not None and isinstance(stored.value, Lifecycle) else None
    return report(community, found, record)
