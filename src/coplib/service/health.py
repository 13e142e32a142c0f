"""The health report's use case: a community's indicators over a period (docs/health.md), for
whoever may read the community, and the same for every community a viewer may read.

The store aggregates the facts (`ReadQueries.question_facts`, `contributor_facts`,
`member_facts`: one query per family, never the events one by one); `coplib.domain.health`
turns them into the report. Also here: the settings-only policy that lets a charter set the
report's settings (``policy_settings["community_health"]``), which the permission-free bulk
path and every charter amendment check like any policy's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import ClassVar, cast

import attrs

from coplib.domain.clock import ensure_utc
from coplib.domain.community import Community
from coplib.domain.errors import CoplibError, FieldError, InvalidInputError
from coplib.domain.health import (
    POLICY_NAME,
    CommunityHealth,
    ContributorFacts,
    HealthSettings,
    MemberFacts,
    TargetCheck,
    settings_errors,
)
from coplib.domain.health_tally import compute_health
from coplib.policies.guarantee import guarantee_settings
from coplib.ports.hookspecs import hookimpl
from coplib.ports.policy import BasePolicy, Policy
from coplib.service._base import check_id
from coplib.service._value_cycles import value_cycles_of
from coplib.service.health_cache import Kept
from coplib.service.lifecycle import lifecycle_report
from coplib.service.queries import Queries

__all__ = ["CommunityHealthPlugin", "CommunityHealthSettings", "HealthReads", "health_settings"]

log = logging.getLogger("coplib.health")


class CommunityHealthSettings(BasePolicy):
    """The health report's settings in a charter (``policy_settings["community_health"]``:
    see `coplib.domain.health.SETTINGS`). It reacts to nothing: it is a policy so that a
    charter's settings are checked where every policy's are."""

    name: ClassVar[str] = POLICY_NAME

    def settings_errors(self, settings: Mapping[str, str]) -> list[FieldError]:
        return settings_errors(settings)


class CommunityHealthPlugin:
    """The built-in plugin (name ``coplib.policy.community_health``) of the report's settings."""

    @hookimpl(trylast=True)
    def coplib_policies(self) -> list[Policy]:
        return [cast(Policy, CommunityHealthSettings())]


def health_settings(community: Community) -> HealthSettings:
    """The report's settings as the community's charter gives them; settings that cannot be
    read (a charter stored before they were checked) give the defaults, with a warning on the
    ``coplib.health`` logger."""
    try:
        return HealthSettings.parse(community.charter.policy_settings.get(POLICY_NAME, {}))
    except InvalidInputError as exc:
        log.warning("community %s: its health settings cannot be read (%s); using the defaults", community.id, exc)
        return HealthSettings()


def _since(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(0), tzinfo=UTC)
    moment = ensure_utc(value, "$.since")  # type: ignore[arg-type]
    if moment.time() != time(0):
        raise InvalidInputError.field(
            "$.since", f"a period starts at the beginning of a UTC day, got {moment.isoformat()}", context="health"
        )
    return moment


def _until(value: object, now: datetime) -> datetime:
    if value is None:
        return now
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(0), tzinfo=UTC)
    return ensure_utc(value, "$.until")  # type: ignore[arg-type]


class HealthReads(Queries):
    """The health report, as engine methods."""

    def community_health(
        self,
        viewer: str,
        community_id: str,
        *,
        since: date | datetime | None = None,
        until: date | datetime | None = None,
    ) -> CommunityHealth:
        """The health report of a community over [since, until), for anyone who may read it
        (its members; everyone, for an open community; nobody else: a private community is
        unknown to an outsider). `since` is a day (or the first instant of a UTC day), None
        for the whole history; `until` a day or a moment, by default now."""
        ctx = "community_health"
        viewer = check_id("$.viewer", viewer, ctx)
        start = _since(since)
        end = _until(until, self.clock.now())
        if start is not None and end <= start:
            raise InvalidInputError.field("$.until", "must come after since", context=ctx)
        community = self._community(community_id, ctx)
        self._readable(viewer, community)
        return self._report(community, start, end)

    def health_reports(
        self,
        viewer: str,
        organisation_id: str | None = None,
        *,
        since: date | datetime | None = None,
        until: date | datetime | None = None,
    ) -> list[CommunityHealth]:
        """The health report of every community of the organisation's portfolio (its own and
        those shared with it; of every organisation when None) that the viewer may read, by
        name: the portfolio's health. Communities the viewer may not read are left out, not
        refused; an organisation the viewer may not know of is unknown (`NotFoundError`)."""
        ctx = "health_reports"
        viewer = check_id("$.viewer", viewer, ctx)
        start = _since(since)
        end = _until(until, self.clock.now())
        if start is not None and end <= start:
            raise InvalidInputError.field("$.until", "must come after since", context=ctx)
        # An organisation the viewer may not know of is unknown, as for `portfolio`; the
        # communities other organisations share with it are part of its portfolio.
        communities = (
            self.portfolio(viewer, organisation_id) if organisation_id is not None else self._store.communities(None)
        )
        reports = []
        for community in communities:
            try:
                self._readable(viewer, community)
            except CoplibError:
                continue
            reports.append(self._report(community, start, end))
        return reports

    def _report(self, community: Community, since: datetime | None, until: datetime) -> CommunityHealth:
        settings = health_settings(community)
        guarantee = guarantee_settings(community)
        store = self._store
        target = str(guarantee.target)
        if since is None:
            # Over the whole history: the community's running tally, up to date with the log
            # (coplib.service.health_cache), when it holds for `until`.
            # Finished under the cache's lock; the lifecycle and value cycles are read after it.
            def use(kept: Kept) -> tuple[CommunityHealth, ContributorFacts, Kept]:
                report = kept.tally.finish(
                    community_id=community.id,
                    name=community.name,
                    until=until,
                    members=kept.members,
                    settings=settings,
                    target=target,
                )
                return report, ContributorFacts([], kept.tally.monthly_facts(), []), kept

            found = self._health_cache.read(
                store, community, until=until, settings=settings, guarantee=guarantee, use=use
            )
            if found is not None:
                report, monthly, kept = found
                return self._with_lifecycle(community, until, report, monthly, kept.members, kept.reframing)
        members = store.member_facts(community.id)
        experts = [m.person_id for m in members if m.expert]
        questions = store.question_facts(community.id, until=until, unattributed=settings.unattributed)
        contributors = store.contributor_facts(
            community.id, since=since, until=until, experts=experts, window=settings.retention_window
        )
        report = compute_health(
            community_id=community.id,
            name=community.name,
            since=since,
            until=until,
            questions=questions,
            contributors=contributors,
            members=members,
            settings=settings,
            target=target,
            within_target=TargetCheck(guarantee),
        )
        if since is None:
            return self._with_lifecycle(community, until, report, contributors, members)
        lifecycle = lifecycle_report(store, community, until, members=members)
        return attrs.evolve(report, value=value_cycles_of(store, community, report), lifecycle=lifecycle)

    def _with_lifecycle(
        self,
        community: Community,
        until: datetime,
        report: CommunityHealth,
        contributors: ContributorFacts,
        members: Sequence[MemberFacts],
        reframing: Mapping[str, int] | None = None,
    ) -> CommunityHealth:
        """The report over the whole history with its value cycles (`reframing`: the counts of
        the reframing events, when the running tally kept them) and its lifecycle. Where it
        stands and where it is going (coplib.service.lifecycle), on the same facts: the
        lifecycle reads only the complete months before `until`, whose figures the partial
        month after them does not change; the report's months with questions are its questions
        by month (asked, and answered within 24 hours), counted once."""
        store = self._store
        asked = {p.start: (p.questions, p.answered_within_24h) for p in report.monthly if p.questions}
        lifecycle = lifecycle_report(store, community, until, contributors=contributors, members=members, asked=asked)
        return attrs.evolve(report, value=value_cycles_of(store, community, report, reframing), lifecycle=lifecycle)
