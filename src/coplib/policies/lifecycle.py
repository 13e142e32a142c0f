"""The lifecycle policy (name ``lifecycle``): once per complete month, on `Engine.tick`, suggest
each community's stage from its health signals and watch it for running out of steam
(*essoufflement*, seeds/003).

`evaluate` is the one computation: the store's health facts (`ReadQueries.question_facts`,
`contributor_facts`, `member_facts`: one query each, never the events one by one) turned into
the monthly series of complete months, the decline detector run as at the end of every month
(`coplib.domain.decline.replay`) and the stage rules on the same months
(`coplib.domain.lifecycle.stage_history`). The tick records what changed since the last month
it evaluated (`StageSuggested`, `DeclineEntered`, `DeclineLeft`, and `LifecycleEvaluated`);
the reads (`Engine.community_lifecycle`, the health report) run the same `evaluate`, so that a
replay over a history gives the alerts the live ticks gave.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Final, cast

import attrs

from coplib.domain import events as ev
from coplib.domain.community import CollaborationMode, Community, Role
from coplib.domain.decline import (
    MonthPoint,
    Verdict,
    month_key,
    monthly_series,
    questions_by_month,
    replay,
)
from coplib.domain.decline import reasons as decline_reasons
from coplib.domain.errors import FieldError, InvalidInputError
from coplib.domain.health import POLICY_NAME as HEALTH_POLICY
from coplib.domain.health import ContributorFacts, HealthSettings, MemberFacts, QuestionFacts
from coplib.domain.history import Ref
from coplib.domain.lifecycle import (
    POLICY_NAME,
    DeclineAlert,
    Lifecycle,
    LifecycleReport,
    LifecycleSettings,
    StageSuggestion,
    lifecycle_id,
    stage_history,
    stage_reasons,
    stage_since,
)
from coplib.domain.lifecycle import settings_errors as lifecycle_settings_errors
from coplib.domain.recognition import invalid_settings
from coplib.ports.hookspecs import hookimpl
from coplib.ports.policy import BasePolicy, Policy, PolicyContext, SettingsMemo
from coplib.ports.storage import Store

log = logging.getLogger("coplib.policies.lifecycle")

#: The message to the facilitators and sponsors when a community starts running out of steam.
DECLINE_TOPIC: Final = "decline_entered"
LOCALES: Final = ("en", "fr")


def lifecycle_settings(community: Community) -> LifecycleSettings:
    """The community's lifecycle settings; unreadable ones (a charter stored before they were
    checked) give the defaults, with a warning."""
    try:
        return LifecycleSettings.parse(community.charter.policy_settings.get(POLICY_NAME, {}))
    except InvalidInputError as exc:
        log.warning("community %s: its lifecycle settings cannot be read (%s); using the defaults", community.id, exc)
        return LifecycleSettings()


def _unattributed(community: Community) -> tuple[str, ...]:
    try:
        return HealthSettings.parse(community.charter.policy_settings.get(HEALTH_POLICY, {})).unattributed
    except InvalidInputError:
        return HealthSettings().unattributed


@attrs.frozen
class Evaluation:
    """A community judged as at the end of each complete month before `until`."""

    community_id: str
    until: datetime
    settings: LifecycleSettings
    points: tuple[MonthPoint, ...]
    verdicts: tuple[Verdict, ...]
    stages: tuple[StageSuggestion, ...]

    @property
    def last_month(self) -> date | None:
        return self.points[-1].month if self.points else None

    @property
    def declining(self) -> bool:
        return bool(self.verdicts) and self.verdicts[-1].declining

    @property
    def alerts(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.entered]

    @property
    def stage(self) -> StageSuggestion | None:
        return self.stages[-1] if self.stages else None

    @property
    def stage_since(self) -> date | None:
        return stage_since(self.stages)

    def stage_reasons(self, locale: str = "en") -> list[str]:
        return stage_reasons(self.stages[-1], self.settings.stage, locale) if self.stages else []


def month_floor(moment: datetime) -> datetime:
    """The first instant of `moment`'s month (UTC): the end of the last complete month."""
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def evaluate(
    store: Store,
    community: Community,
    *,
    until: datetime,
    settings: LifecycleSettings | None = None,
    questions: Sequence[QuestionFacts] | None = None,
    contributors: ContributorFacts | None = None,
    members: Sequence[MemberFacts] | None = None,
    asked: Mapping[date, tuple[int, int]] | None = None,
) -> Evaluation:
    """Judge `community` as at the end of every complete month ending at or before `until`
    (`questions`, `contributors`, `members`: the store's facts, when the caller has them
    already: the questions and contributors at `until` or later in the month under way, the
    contributors' with since None; `asked`: `coplib.domain.decline.questions_by_month` of
    those questions, when the caller has it, and then the questions are not needed)."""
    settings = settings if settings is not None else lifecycle_settings(community)
    if asked is None:
        if questions is None:
            questions = store.question_facts(community.id, until=until, unattributed=_unattributed(community))
        asked = questions_by_month(questions)
    if contributors is None:
        contributors = store.contributor_facts(community.id, since=None, until=until)
    points = monthly_series((), contributors, until=until, start=community.created_at.date(), asked=asked)
    verdicts = replay(points, settings.decline)
    if members is None:
        members = store.member_facts(community.id)
    stages = stage_history(
        points, verdicts, [m.joined_at for m in members], settings.stage, created_at=community.created_at
    )
    return Evaluation(community.id, until, settings, tuple(points), tuple(verdicts), tuple(stages))


def report(community: Community, found: Evaluation, record: Lifecycle | None) -> LifecycleReport:
    """The read of `found` (`Engine.community_lifecycle`, the health report's keys)."""
    verdict = found.verdicts[-1] if found.verdicts else None
    since = found.stage_since
    stage = found.stage
    decline_since = None
    if verdict is not None and verdict.declining:
        decline_since = month_key(next(v.month for v in reversed(found.verdicts) if v.entered))
    return LifecycleReport(
        community_id=community.id,
        until=found.until,
        confirmed=community.stage,
        suggested=stage.stage if stage is not None else None,
        since=month_key(since) if since is not None else None,
        reasons={locale: tuple(found.stage_reasons(locale)) for locale in LOCALES},
        bootstrap=stage.bootstrap if stage is not None else True,
        declining=found.declining,
        decline_since=decline_since,
        alerts=tuple(
            DeclineAlert(month_key(v.month), {locale: tuple(decline_reasons(v, locale)) for locale in LOCALES})
            for v in found.alerts
        ),
        recorded=record,
    )


# -- what the charter's animation could do ----------------------------------------------------------

_ADVICE: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {
        "information": "send members proactive, regular, personalised information on what the community offers",
        "meetings": "schedule a meeting of the community (its charter allows meetings)",
        "calls": "launch a call to all on a topic that matters to its members now",
        "core_group": "ask the core group to take up the animation plan again, roles shared out",
        "experts": "organise the experts to answer every question fast (the answer guarantee)",
        "repertoire": "enrich the shared repertoire: ask members for a lesson learned or a case",
        "sponsor": "check with the sponsor that members still have time allocated to the community",
    },
    "fr": {
        "information": "informer les membres de façon proactive, régulière et personnalisée sur ce que la "
        "communauté leur apporte",
        "meetings": "programmer une réunion de la communauté (sa charte prévoit des réunions)",
        "calls": "lancer un appel à tous sur un sujet qui compte pour ses membres aujourd'hui",
        "core_group": "demander au noyau dur de reprendre le plan d'animation, rôles répartis",
        "experts": "organiser les experts pour répondre vite à chaque question (la garantie de réponse)",
        "repertoire": "enrichir le répertoire partagé : demander aux membres un retour d'expérience ou un cas",
        "sponsor": "vérifier avec le sponsor que les membres ont toujours du temps alloué à la communauté",
    },
}


def advice(community: Community, verdict: Verdict) -> list[str]:
    """What the charter's animation could do (keys of the advice texts), from what fell and
    the collaboration modes its charter allows (seeds/002: the animation plan)."""
    fell = {t.signal for t in verdict.falling}
    out = ["information"]
    if "share_answered_within_24h" in fell and community.charter.allows(CollaborationMode.QUESTIONS):
        out.append("experts")
    if community.charter.allows(CollaborationMode.MEETINGS):
        out.append("meetings")
    if community.charter.allows(CollaborationMode.CALLS_TO_ALL):
        out.append("calls")
    if "active_contributors" in fell:
        out.append("core_group")
    if community.charter.allows(CollaborationMode.EXPERIENCES) or community.charter.allows(
        CollaborationMode.SHARED_REPERTOIRE
    ):
        out.append("repertoire")
    out.append("sponsor")
    return out


def decline_params(community: Community, verdict: Verdict) -> dict[str, str]:
    """The parameters of the decline message, in both languages."""
    keys = advice(community, verdict)
    params = {"community": community.name, "month": month_key(verdict.month)}
    for locale in LOCALES:
        params[f"reasons_{locale}"] = "\n".join(f"- {r}" for r in decline_reasons(verdict, locale))
        params[f"advice_{locale}"] = "\n".join(f"- {_ADVICE[locale][k]}" for k in keys)
    return params


# -- the policy ------------------------------------------------------------------------------------


class LifecyclePolicy(BasePolicy):
    """Stage suggestions and the decline detector, once per complete month (``tick``).

    Settings (``policy_settings["lifecycle"]``, text values; docs/health.md#stage and
    #decline): the stage thresholds and the detector's (``decline_...``)."""

    name = POLICY_NAME
    #: How many communities one tick evaluates; the others wait for the next tick.
    batch: int = 200

    def __init__(self) -> None:
        self._errors = SettingsMemo(lifecycle_settings_errors)

    def settings_errors(self, settings: Mapping[str, str]) -> list[FieldError]:
        return list(self._errors(settings))

    def due(self, ctx: PolicyContext) -> int:
        until = month_floor(ctx.now)
        last = month_key((until.date().replace(day=1) - timedelta(days=1)).replace(day=1))
        done = 0
        for community in ctx.store.communities(None):
            if done >= self.batch:
                break
            if community.closed or not ctx.enabled(community.id):
                continue
            found = ctx.get(Ref("lifecycle", lifecycle_id(community.id)))
            record = found if isinstance(found, Lifecycle) else None
            if record is not None and record.evaluated_through is not None and record.evaluated_through >= last:
                continue
            errors = self.settings_errors(ctx.settings(community.id))
            if errors:
                log.warning(
                    "lifecycle of %s put off: %s", community.id, invalid_settings(self.name, community.id, errors)
                )
                continue
            judged = evaluate(ctx.store, community, until=until)
            if not judged.points:
                continue  # no complete month yet: nothing to judge, nothing recorded
            self.record(ctx, community, record, judged, last)
            done += 1
        return done

    def record(
        self, ctx: PolicyContext, community: Community, record: Lifecycle | None, found: Evaluation, last: str
    ) -> None:
        """Record what changed since `record` was last evaluated, and tell the facilitators
        and sponsors when the community entered the declining state."""
        fields = ctx.event_fields(community.id)
        after = record.evaluated_through if record is not None and record.evaluated_through else ""
        # The changes in the months not evaluated yet, each one a change from the recorded state
        # (a history imported later into a community already judged may replay otherwise
        # before: what was recorded then stays, and the state goes on from it).
        declining = record is not None and record.declining
        new = []
        for verdict in found.verdicts:
            if month_key(verdict.month) > after and verdict.declining is not declining:
                new.append(verdict._replace(entered=verdict.declining, left=not verdict.declining))
                declining = verdict.declining
        event_id = ""
        for verdict in new:
            cls = ev.DeclineEntered if verdict.entered else ev.DeclineLeft
            reasons = [r[:2000] for r in decline_reasons(verdict, "en")][:50]
            event_id = ctx.new_id()
            ctx.record(cls(**{**fields, "id": event_id}, month=month_key(verdict.month), reasons=reasons))
        if new and new[-1].entered:
            # Only the last change is told: a first evaluation over a long history (an import)
            # records every past change but tells only of a decline still under way.
            self._notify(ctx, community, new[-1], event_id)
        stage = found.stage
        since = found.stage_since
        if stage is not None and since is not None and (record is None or record.suggested is not stage.stage):
            ctx.record(
                ev.StageSuggested(
                    **{**fields, "id": ctx.new_id()},
                    month=month_key(stage.signals.month),
                    since=month_key(since),
                    stage=stage.stage,
                    previous=record.suggested if record is not None else None,
                    reasons=[r[:2000] for r in found.stage_reasons("en")][:50],
                )
            )
        ctx.record(ev.LifecycleEvaluated(**{**fields, "id": ctx.new_id()}, month=last))

    def _notify(self, ctx: PolicyContext, community: Community, verdict: Verdict, event_id: str) -> None:
        params = decline_params(community, verdict)
        people: set[str] = set()
        for role in (Role.FACILITATOR, Role.SPONSOR):
            people.update(m.person_id for m in ctx.store.members(community.id, role=role))
        key = f"{community.id}:{month_key(verdict.month)}"
        for person in sorted(people):
            ctx.message(person, DECLINE_TOPIC, params, key=key, community_id=community.id, event_id=event_id)


class LifecyclePlugin:
    """The built-in plugin (name ``coplib.policy.lifecycle``)."""

    @hookimpl(trylast=True)
    def coplib_policies(self) -> Iterable[Policy]:
        return [cast(Policy, LifecyclePolicy())]


__all__ = [
    "DECLINE_TOPIC",
    "Evaluation",
    "LifecyclePlugin",
    "LifecyclePolicy",
    "advice",
    "decline_params",
    "evaluate",
    "lifecycle_settings",
    "month_floor",
    "report",
]
