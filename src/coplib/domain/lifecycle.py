"""Where a community stands: Wenger, McDermott & Snyder's stages of development (potential,
coalescing, maturing, stewardship, transformation) suggested from the health signals, month by
month, with the reasons in words; and the lifecycle policy's settings (the stage thresholds and
the decline detector's, `coplib.domain.decline`).

A young community is in *bootstrap mode* (as Discourse's first 50 users) while it has fewer
members than ``bootstrap_members``: it is coalescing, whatever its age. The suggestion is a
suggestion: the facilitator confirms or overrides it with `change_stage`; both are readable.

Pure and deterministic: `stage_history` runs the rules at the end of every complete month.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Final, NamedTuple

import attrs

from coplib.domain import events as ev
from coplib.domain.community import CommunityId, LifecycleStage
from coplib.domain.decline import DeclineSettings, MonthPoint, Verdict, month_end, theil_sen
from coplib.domain.decline import reasons as decline_reasons
from coplib.domain.errors import FieldError, InvalidInputError
from coplib.domain.recognition import SettingsReader

#: The key of the lifecycle policy's settings in `Charter.policy_settings`.
POLICY_NAME: Final = "lifecycle"
#: The months the growth of questions is read on (the last ones, at least 3).
GROWTH_MONTHS: Final = 6


@attrs.frozen
class StageSettings:
    """The thresholds of the stages (docs/health.md#stage)."""

    potential_members: int = 3  # fewer members, or no contribution yet: potential
    bootstrap_members: int = 50  # fewer members: bootstrap mode, coalescing
    maturing_months: int = 6  # younger: coalescing
    stewardship_months: int = 24  # younger, or questions growing: maturing
    growth_percent: int = 5  # questions growing at least this much a month: still maturing
    shrunk_percent: int = 50  # contributions (6 months' mean) below this % of their peak: transformation
    confirm_months: int = 3  # a new stage is suggested once the rules give it this many months in a row


@attrs.frozen
class LifecycleSettings:
    """The lifecycle policy's settings, as the charter gives them
    (``policy_settings["lifecycle"]``), defaults for what it leaves out."""

    stage: StageSettings = attrs.field(factory=StageSettings)
    decline: DeclineSettings = attrs.field(factory=DeclineSettings)

    @classmethod
    def parse(cls, settings: Mapping[str, str]) -> LifecycleSettings:
        """The settings from their text; `InvalidInputError` naming every bad or unknown key."""
        if not isinstance(settings, Mapping):
            raise InvalidInputError.field("$", f"settings are a mapping of text, got {type(settings).__name__}")
        read = SettingsReader(settings)
        d = StageSettings()
        stage = StageSettings(
            potential_members=read.whole("potential_members", d.potential_members, minimum=1, maximum=100_000),
            bootstrap_members=read.whole("bootstrap_members", d.bootstrap_members, minimum=1, maximum=1_000_000),
            maturing_months=read.whole("maturing_months", d.maturing_months, minimum=1, maximum=240),
            stewardship_months=read.whole("stewardship_months", d.stewardship_months, minimum=1, maximum=600),
            growth_percent=read.whole("growth_percent", d.growth_percent, minimum=0, maximum=1000),
            shrunk_percent=read.whole("shrunk_percent", d.shrunk_percent, minimum=0, maximum=100),
            confirm_months=read.whole("stage_confirm_months", d.confirm_months, minimum=1, maximum=24),
        )
        if not read.errors:
            if stage.bootstrap_members < stage.potential_members:
                read.errors.append(
                    FieldError(
                        "$.bootstrap_members",
                        f"must be at least potential_members ({stage.potential_members}), "
                        f"got {stage.bootstrap_members}",
                    )
                )
            if stage.stewardship_months < stage.maturing_months:
                read.errors.append(
                    FieldError(
                        "$.stewardship_months",
                        f"must be at least maturing_months ({stage.maturing_months}), got {stage.stewardship_months}",
                    )
                )
        decline = DeclineSettings.read(read)
        read.check_unknown(POLICY_NAME)
        if read.errors:
            raise InvalidInputError(read.errors)
        return cls(stage=stage, decline=decline)


def settings_errors(settings: Mapping[str, str]) -> list[FieldError]:
    """What is wrong with a charter's lifecycle settings (empty when nothing)."""
    try:
        LifecycleSettings.parse(settings)
    except InvalidInputError as exc:
        return list(exc.errors)
    return []


#: Every setting with its default and meaning (docs/health.md#stage lists them).
SETTINGS: Final[tuple[tuple[str, str, str], ...]] = (
    ("potential_members", "3", "fewer active members (or no contribution yet): potential"),
    ("bootstrap_members", "50", "fewer active members: bootstrap mode, the community is coalescing"),
    ("maturing_months", "6", "fewer complete months since the first contribution: coalescing"),
    ("stewardship_months", "24", "fewer months, or questions growing: maturing; else stewardship"),
    ("growth_percent", "5", "questions growing at least this many % a month: still maturing"),
    (
        "shrunk_percent",
        "50",
        "contributions of the last 6 months below this % of their highest 6-month mean: transformation",
    ),
    ("stage_confirm_months", "3", "a new stage is suggested once the rules give it this many months in a row"),
    ("decline_window_months", "8", "the months the trend of each signal is tested on"),
    ("decline_min_history_months", "8", "complete months since the first contribution before any alert"),
    ("decline_enter_p_percent", "1", "enter the declining state when Mann–Kendall's p is at most this %..."),
    ("decline_enter_drop_percent", "30", "... and the Theil–Sen line of a count fell at least this % over the window"),
    ("decline_leave_p_percent", "20", "stay declining while p is at most this %..."),
    ("decline_leave_drop_percent", "15", "... and the line fell at least this %"),
    (
        "decline_min_level",
        "10",
        "a count is judged only when a month of the window and the start of its line reach this many",
    ),
    ("decline_min_questions", "10", "a month's share answered within 24 h counts from this many questions"),
    ("decline_share_drop_points", "25", "the share answered within 24 h fell at least this many points (enter)"),
    ("decline_share_leave_points", "10", "... and stays declining while it is at least this many points down"),
    ("decline_confirm_months", "2", "enter once the entering thresholds are met this many month-ends in a row"),
    (
        "decline_collapse_percent",
        "25",
        "a count's last 2 months each at most this % of the median of the window's months before: a collapse",
    ),
)


# -- the signals and the rules ------------------------------------------------------------------------


class StageSignals(NamedTuple):
    """What the stage of a community is inferred from, at the end of `month`."""

    month: date
    members: int  # active members who had joined by the month's end
    age_months: int  # complete months since the first contribution (or the creation)
    contributions: int  # in all, by the month's end
    questions_growth: float | None  # Theil–Sen slope of questions a month / their mean
    declining: bool
    of_peak: float | None = None  # the last 6 months' mean of contributions / the highest such mean since coalescing


class StageSuggestion(NamedTuple):
    """The suggested stage at the end of a month, with the signals it rests on."""

    stage: LifecycleStage
    bootstrap: bool
    signals: StageSignals
    decline: Verdict | None = None
    #: What this month's signals alone say, when the suggestion holds to an earlier stage
    #: until the new one lasts ``stage_confirm_months`` months (else the same as `stage`).
    pending: LifecycleStage | None = None


def questions_growth(points: Sequence[MonthPoint]) -> float | None:
    """How fast questions grow a month, as a share of their mean over the last
    `GROWTH_MONTHS` months (at least 3 months, and some questions; else None)."""
    last = [p.questions for p in points[-GROWTH_MONTHS:]]
    if len(last) < 3 or sum(last) == 0:
        return None
    slope, _ = theil_sen(last)
    return slope / (sum(last) / len(last))


def suggest(signals: StageSignals, settings: StageSettings) -> StageSuggestion:
    """The rules, in order: potential (too few members, or nothing contributed yet);
    transformation (after the bootstrap: running out of steam, or shrunk well below its
    peak); coalescing (bootstrap mode, or young); maturing (not yet old, or questions still
    growing); stewardship."""
    bootstrap = signals.members < settings.bootstrap_members
    growth = signals.questions_growth
    shrunk = signals.of_peak is not None and signals.of_peak * 100 < settings.shrunk_percent
    if signals.members < settings.potential_members or signals.contributions == 0:
        stage = LifecycleStage.POTENTIAL
    elif (signals.declining or shrunk) and not bootstrap and signals.age_months >= settings.maturing_months:
        stage = LifecycleStage.TRANSFORMATION
    elif bootstrap or signals.age_months < settings.maturing_months:
        stage = LifecycleStage.COALESCING
    elif signals.age_months < settings.stewardship_months or (
        growth is not None and growth * 100 >= settings.growth_percent
    ):
        stage = LifecycleStage.MATURING
    else:
        stage = LifecycleStage.STEWARDSHIP
    return StageSuggestion(stage, bootstrap, signals)


def stage_history(
    points: Sequence[MonthPoint],
    verdicts: Sequence[Verdict],
    joined: Sequence[datetime | None],
    settings: StageSettings,
    *,
    created_at: datetime,
) -> list[StageSuggestion]:
    """The suggestion at the end of every complete month of `points` (the decline detector's
    `verdicts` for the same months; `joined`: when each active member joined, None when not
    known, counted from the start)."""
    joined_sorted = sorted(j for j in joined if j is not None)
    always = sum(1 for j in joined if j is None)
    out: list[StageSuggestion] = []
    total = 0
    j = 0
    peak = 0.0
    run = 0
    last_raw: LifecycleStage | None = None
    first = min(points[0].month, created_at.date().replace(day=1)) if points else None
    for i, (point, verdict) in enumerate(zip(points, verdicts, strict=True)):
        end = month_end(point.month)
        while j < len(joined_sorted) and joined_sorted[j] < end:
            j += 1
        total += point.contributions
        window_start = max(0, i + 1 - GROWTH_MONTHS)
        recent = [p.contributions for p in points[window_start : i + 1]]
        mean = sum(recent) / len(recent)
        # The peak is read after the coalescing months: a launch's first burst (a private
        # beta, an opening campaign) is no level to hold the community to.
        if len(recent) == GROWTH_MONTHS and window_start >= settings.maturing_months:
            peak = max(peak, mean)
        assert first is not None
        age = (point.month.year - first.year) * 12 + point.month.month - first.month + 1
        signals = StageSignals(
            month=point.month,
            members=always + j,
            age_months=age,
            contributions=total,
            questions_growth=questions_growth(points[: i + 1]),
            declining=verdict.declining,
            of_peak=mean / peak if peak > 0 else None,
        )
        raw = suggest(signals, settings)._replace(decline=verdict)
        # Hysteresis: a new stage replaces the held one once the rules give it this many
        # months in a row (the first suggestion, and potential, at once).
        run = run + 1 if out and raw.stage is last_raw else 1
        last_raw = raw.stage
        held = out[-1].stage if out else None
        if held is None or raw.stage is held or run >= settings.confirm_months or held is LifecycleStage.POTENTIAL:
            out.append(raw)
        else:
            out.append(raw._replace(stage=held, pending=raw.stage))
    return out


def stage_since(history: Sequence[StageSuggestion]) -> date | None:
    """The first month of the last run of the same suggested stage."""
    if not history:
        return None
    last = history[-1].stage
    since = history[-1].signals.month
    for s in reversed(history):
        if s.stage is not last:
            break
        since = s.signals.month
    return since


# -- words --------------------------------------------------------------------------------------------

STAGE_NAMES: Final[Mapping[str, Mapping[LifecycleStage, str]]] = {
    "en": {stage: stage.value for stage in LifecycleStage},
    "fr": {
        LifecycleStage.POTENTIAL: "potentiel",
        LifecycleStage.COALESCING: "coalescence",
        LifecycleStage.MATURING: "maturation",
        LifecycleStage.STEWARDSHIP: "gestion durable",
        LifecycleStage.TRANSFORMATION: "transformation",
        LifecycleStage.CLOSED: "fermée",
    },
}


def _growth(growth: float | None, locale: str) -> str:
    fr = locale == "fr"
    if growth is None:
        return "trop peu de questions pour une tendance" if fr else "too few questions for a trend"
    pct = round(growth * 100)
    if pct == 0:
        return "questions stables" if fr else "questions steady"
    if fr:
        return f"questions en {'hausse' if pct > 0 else 'baisse'} de {abs(pct)} % par mois"
    return f"questions {'growing' if pct > 0 else 'falling'} {abs(pct)} % a month"


def stage_reasons(suggestion: StageSuggestion, settings: StageSettings, locale: str = "en") -> list[str]:
    """The suggestion in words: the headline ("coalescing: 14 members, 2 months old, questions
    growing 35 % a month"), bootstrap mode, and for transformation what fell."""
    fr = locale == "fr"
    s = suggestion.signals
    name = STAGE_NAMES[locale][suggestion.stage]
    if fr:
        head = f"{name} : {s.members} membres, {s.age_months} mois d'existence, {_growth(s.questions_growth, locale)}"
    else:
        months = "month" if s.age_months == 1 else "months"
        head = f"{name}: {s.members} members, {s.age_months} {months} old, {_growth(s.questions_growth, locale)}"
    out = [head]
    if s.contributions == 0:
        out.append("aucune contribution encore" if fr else "no contribution yet")
    if suggestion.bootstrap:
        out.append(
            f"mode d'amorçage : {s.members} membres sur {settings.bootstrap_members}"
            if fr
            else f"bootstrap mode: {s.members} of {settings.bootstrap_members} members"
        )
    if suggestion.pending is not None:
        pending = STAGE_NAMES[locale][suggestion.pending]
        out.append(
            f"ce mois-ci, les signaux indiquent {pending} : à confirmer sur {settings.confirm_months} mois"
            if fr
            else f"this month's signals point to {pending}: to be confirmed over {settings.confirm_months} months"
        )
    if suggestion.stage is LifecycleStage.TRANSFORMATION:
        if s.of_peak is not None and s.of_peak * 100 < settings.shrunk_percent:
            pct = round(s.of_peak * 100)
            out.append(
                f"contributions à {pct} % de leur plus haut niveau (moyenne sur 6 mois)"
                if fr
                else f"contributions at {pct} % of their peak (6-month mean)"
            )
        if suggestion.decline is not None:
            out.extend(decline_reasons(suggestion.decline, locale))
    return out


def lifecycle_id(community_id: CommunityId) -> str:
    """The id of a community's lifecycle record: the community's."""
    return community_id


@attrs.frozen
class Lifecycle:
    """What the lifecycle policy last said of a community (aggregate ``lifecycle``): the last
    complete month it evaluated, its suggested stage since when, and the decline state with
    the months it entered it (the alerts)."""

    community_id: CommunityId
    evaluated_through: str | None = None  # YYYY-MM
    suggested: LifecycleStage | None = None
    suggested_since: str | None = None
    reasons: tuple[str, ...] = ()
    declining: bool = False
    decline_since: str | None = None
    alerts: tuple[str, ...] = ()
    updated_at: datetime | None = None

    @property
    def id(self) -> str:
        return lifecycle_id(self.community_id)


__all__ = [
    "GROWTH_MONTHS",
    "POLICY_NAME",
    "SETTINGS",
    "STAGE_NAMES",
    "DeclineAlert",
    "Lifecycle",
    "LifecycleReport",
    "LifecycleSettings",
    "StageSettings",
    "StageSignals",
    "StageSuggestion",
    "evolve_lifecycle",
    "lifecycle_id",
    "questions_growth",
    "settings_errors",
    "stage_history",
    "stage_reasons",
    "stage_since",
    "suggest",
]


def evolve_lifecycle(current: Lifecycle | None, event: object) -> Lifecycle:
    """The lifecycle record after one of the policy's events (`coplib.domain.history`)."""
    assert isinstance(event, ev.LifecycleEvaluated | ev.StageSuggested | ev.DeclineEntered | ev.DeclineLeft)
    assert event.community_id is not None
    record = current if current is not None else Lifecycle(community_id=event.community_id)
    through = max(record.evaluated_through or "", event.month)
    match event:
        case ev.StageSuggested():
            record = attrs.evolve(
                record, suggested=event.stage, suggested_since=event.since, reasons=tuple(event.reasons)
            )
        case ev.DeclineEntered():
            alerts = record.alerts if event.month in record.alerts else (*record.alerts, event.month)
            record = attrs.evolve(record, declining=True, decline_since=event.month, alerts=alerts)
        case ev.DeclineLeft():
            record = attrs.evolve(record, declining=False, decline_since=None)
    return attrs.evolve(record, evaluated_through=through, updated_at=event.occurred_at)


# -- the read ---------------------------------------------------------------------------------------


@attrs.frozen
class DeclineAlert:
    """A month in which the detector, run as at its end, entered the declining state, with
    what fell (by locale)."""

    month: str  # YYYY-MM
    reasons: Mapping[str, tuple[str, ...]] = attrs.field(hash=False)


@attrs.frozen
class LifecycleReport:
    """Where a community stands and where it is going, as at `until`: the stage its
    facilitator set (`confirmed`), the stage the signals suggest since when and why, whether
    it is running out of steam and the months the detector fired; and what the lifecycle
    policy last recorded (`recorded`, None before its first tick)."""

    community_id: CommunityId
    until: datetime
    confirmed: LifecycleStage
    suggested: LifecycleStage | None
    since: str | None
    reasons: Mapping[str, tuple[str, ...]] = attrs.field(hash=False)
    bootstrap: bool
    declining: bool
    decline_since: str | None
    alerts: tuple[DeclineAlert, ...]
    recorded: Lifecycle | None

    @property
    def stage(self) -> LifecycleStage:
        """The stage to show: the confirmed one for a closed community, else the suggestion
        (the confirmed stage before the first complete month)."""
        if self.confirmed is LifecycleStage.CLOSED or self.suggested is None:
            return self.confirmed
        return self.suggested
