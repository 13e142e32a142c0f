"""Levels of participation as a policy: promote members at once as they take part, review
them when a timer says a demotion may be due, and let a facilitator pin a level.

Read levels with `level_of` and `levels`; pin one with `pin_level`. The settings and the
rules of promotion and demotion are in `coplib.domain.participation`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final, cast

from coplib.domain import events as ev
from coplib.domain.errors import FieldError, InvalidInputError
from coplib.domain.history import Ref
from coplib.domain.membership import Membership, membership_id
from coplib.domain.participation import (
    DEFAULT_WEIGHTS,
    SCORED_LEVELS,
    LevelSettings,
    Participation,
    ParticipationLevel,
    participation_id,
)
from coplib.domain.permissions import SYSTEM
from coplib.domain.recognition import invalid_settings
from coplib.ports.hookspecs import hookimpl
from coplib.ports.policy import POLICY_ACTOR, BasePolicy, Policy, PolicyContext, SettingsMemo
from coplib.ports.storage import Filter, Store

log = logging.getLogger("coplib.policies.levels")

#: The names of the levels in members' messages.
LEVEL_NAMES: Final[Mapping[str, Mapping[ParticipationLevel, str]]] = {
    "en": {
        ParticipationLevel.CORE_GROUP: "core group",
        ParticipationLevel.ACTIVE: "active member",
        ParticipationLevel.OCCASIONAL: "occasional member",
        ParticipationLevel.PERIPHERAL: "peripheral member",
        ParticipationLevel.OUTSIDER: "outsider",
    },
    "fr": {
        ParticipationLevel.CORE_GROUP: "noyau dur",
        ParticipationLevel.ACTIVE: "membre actif",
        ParticipationLevel.OCCASIONAL: "membre occasionnel",
        ParticipationLevel.PERIPHERAL: "membre périphérique",
        ParticipationLevel.OUTSIDER: "extérieur",
    },
}
RAISED_TOPIC: Final = "participation_level_raised"
LOWERED_TOPIC: Final = "participation_level_lowered"

_WEIGHED: Final = frozenset(t for t in ev.EVENT_TYPES if t in DEFAULT_WEIGHTS)
_JOINING: Final = (ev.MemberJoined, ev.MembershipApproved)
_LEAVING: Final = (ev.MemberLeft, ev.MemberRemoved)
#: A timer whose community's settings are broken is looked at again after this long.
_BROKEN_SETTINGS_RETRY: Final = timedelta(days=1)


def _fields(ctx: PolicyContext, community_id: str) -> dict[str, Any]:
    """`PolicyContext.event_fields`, typed for the event constructors."""
    return ctx.event_fields(community_id)


def participation_record(get: Callable[[Ref], object], community_id: str, person_id: str) -> Participation | None:
    found = get(Ref("participation", participation_id(community_id, person_id)))
    return found if isinstance(found, Participation) else None


def _active_member(ctx: PolicyContext, community_id: str, person_id: str) -> bool:
    found = ctx.get(Ref("membership", membership_id(community_id, person_id)))
    return isinstance(found, Membership) and found.active


def notify_level_change(
    ctx: PolicyContext, event: ev.DomainEvent, person_id: str, level: ParticipationLevel, previous: ParticipationLevel
) -> None:
    community = ctx.community(event.community_id)
    params = {
        "community": community.name if community is not None else event.community_id or "",
        "level": level.value,
        **{f"level_{locale}": names[level] for locale, names in LEVEL_NAMES.items()},
    }
    topic = RAISED_TOPIC if level.rank > previous.rank else LOWERED_TOPIC
    ctx.message(person_id, topic, params, key=event.id, community_id=event.community_id, event_id=event.id)


class ParticipationLevelsPolicy(BasePolicy):
    """Levels of participation (policy name ``participation_levels``).

    Settings (``policy_settings["participation_levels"]``, text values): ``window_days``
    (90), the thresholds ``core_group`` (40), ``active`` (12) and ``occasional`` (3) on the
    weighted activity in the window, ``low_water_percent`` (90), ``min_stay_days`` (14),
    ``weights`` (``answer_posted:3,question_asked:2``...) and ``notify`` (``promotions`` to
    active or core group, ``all`` changes, or ``none``).
    """

    name = "participation_levels"
    follows_log = True  # its reactions may follow the commit (BasePolicy.follows_log)
    interests = frozenset({ev.EVENT_TYPES[t] for t in _WEIGHED} | set(_JOINING) | set(_LEAVING))
    #: How many due reviews one tick takes on.
    batch: int = 500

    def __init__(self) -> None:
        self._read = SettingsMemo(lambda settings: LevelSettings.read(settings, self.name))

    def settings_errors(self, settings: Mapping[str, str]) -> list[FieldError]:
        return list(self._read(settings)[1])

    def settings_for(self, ctx: PolicyContext, community_id: str | None) -> LevelSettings:
        """The community's settings; `InvalidInputError` naming each bad one otherwise."""
        settings, errors = self._read(ctx.settings(community_id))
        if errors:
            raise invalid_settings(self.name, community_id, errors)
        return settings

    # -- reacting to activity -----------------------------------------------------------------

    def reads(self, event: ev.DomainEvent) -> Iterable[Ref]:
        community_id = event.community_id
        if community_id is None:
            return ()
        person_id = event.person_id if isinstance(event, (*_LEAVING, *_JOINING)) else event.actor_id
        return [
            Ref("participation", participation_id(community_id, person_id)),
            Ref("membership", membership_id(community_id, person_id)),
        ]

    def react(self, ctx: PolicyContext, event: ev.DomainEvent) -> None:
        community_id = event.community_id
        if community_id is None:
            return
        settings = self.settings_for(ctx, community_id)
        if isinstance(event, _LEAVING):
            self._left(ctx, event, event.person_id)
        elif isinstance(event, _JOINING):
            self._evaluate(ctx, settings, event, event.person_id, trigger=None)
        elif event.actor_id not in (POLICY_ACTOR, SYSTEM):
            self._evaluate(ctx, settings, event, event.actor_id, trigger=event)

    def _activity(
        self,
        ctx: PolicyContext,
        settings: LevelSettings,
        community_id: str,
        person_id: str,
        trigger: ev.DomainEvent | None,
    ) -> list[tuple[datetime, int]]:
        """The person's weighted events in the window ending now, including `trigger` when it
        is not committed yet (a reaction runs before its command commits)."""
        recorded = ctx.store.activity(
            person_id,
            since=ctx.now - settings.window,
            until=ctx.now + timedelta(microseconds=1),
            community_id=community_id,
        )
        activity = [(r.event.occurred_at, settings.weights.get(r.event.TYPE, 0)) for r in recorded]
        if trigger is not None and trigger.id not in {r.event.id for r in recorded}:
            activity.append((trigger.occurred_at, settings.weights.get(trigger.TYPE, 0)))
        return activity

    def _evaluate(
        self,
        ctx: PolicyContext,
        settings: LevelSettings,
        cause: ev.DomainEvent,
        person_id: str,
        trigger: ev.DomainEvent | None,
    ) -> None:
        """Promote at once if the score earns a higher level (never demote here)."""
        assert cause.community_id is not None
        community_id = cause.community_id
        record = participation_record(ctx.get, community_id, person_id)
        if record is not None and record.pinned:
            return
        if (
            record is not None
            and record.level is SCORED_LEVELS[0]
            and (record.due_at is not None or settings.low_water(record.level) <= 0)
        ):
            # At the top already, its review timer set: no score can promote further, and
            # demotions wait for the review. Reading the window (the longest for the most
            # active members) would change nothing.
            return
        if not _active_member(ctx, community_id, person_id):
            return
        activity = self._activity(ctx, settings, community_id, person_id, trigger)
        score = settings.score(activity, now=ctx.now)
        previous = record.level if record is not None else ParticipationLevel.PERIPHERAL
        current = ParticipationLevel.PERIPHERAL if previous is ParticipationLevel.OUTSIDER else previous
        target = settings.level_for(score)
        if target.rank > current.rank:
            review_at = settings.next_review(activity, now=ctx.now, level=target, since=ctx.now)
            self._change(ctx, settings, community_id, person_id, target, previous, score, review_at)
        elif previous is ParticipationLevel.OUTSIDER:  # back in the community
            self._change(ctx, settings, community_id, person_id, current, previous, score, None)
        elif record is not None and record.due_at is None and settings.low_water(record.level) > 0:
            # A timer parked while the policy was off here: set it again.
            review_at = settings.next_review(activity, now=ctx.now, level=record.level, since=record.since)
            ctx.record(
                ev.ParticipationReviewed(
                    **_fields(ctx, community_id), person_id=person_id, score=score, review_at=review_at
                )
            )

    def _left(self, ctx: PolicyContext, cause: ev.DomainEvent, person_id: str) -> None:
        assert cause.community_id is not None
        record = participation_record(ctx.get, cause.community_id, person_id)
        if record is None or record.level is ParticipationLevel.OUTSIDER:
            return
        if record.pinned:
            ctx.record(
                ev.ParticipationLevelPinned(
                    **_fields(ctx, cause.community_id), person_id=person_id, level=None, previous=record.level
                )
            )
        self._change(
            ctx, None, cause.community_id, person_id, ParticipationLevel.OUTSIDER, record.level, record.score, None
        )

    def _change(
        self,
        ctx: PolicyContext,
        settings: LevelSettings | None,
        community_id: str,
        person_id: str,
        level: ParticipationLevel,
        previous: ParticipationLevel,
        score: int,
        review_at: datetime | None,
    ) -> None:
        event = ev.ParticipationLevelChanged(
            **_fields(ctx, community_id),
            person_id=person_id,
            level=level,
            previous=previous,
            score=score,
            review_at=review_at,
        )
        ctx.record(event)
        notify = settings.notify if settings is not None else "none"
        # By default only the milestones are told (active, core group): one answer makes an
        # occasional member, and its badge already says thank you.
        raised = level.rank > previous.rank and level.rank >= ParticipationLevel.ACTIVE.rank
        if level is not ParticipationLevel.OUTSIDER and (notify == "all" or (notify == "promotions" and raised)):
            notify_level_change(ctx, event, person_id, level, previous)

    # -- the passage of time --------------------------------------------------------------------

    def due(self, ctx: PolicyContext) -> int:
        done = 0
        for found in ctx.store.find_due("participation", before=ctx.now, limit=self.batch):
            if not isinstance(found, Participation):
                continue
            record = participation_record(ctx.get, found.community_id, found.person_id)
            if record is None or record.pinned or record.due_at is None or record.due_at > ctx.now:
                continue  # another worker got to it first
            self._review(ctx, record)
            done += 1
        return done

    def _review(self, ctx: PolicyContext, record: Participation) -> None:
        community_id, person_id = record.community_id, record.person_id
        fields = _fields(ctx, community_id)
        if not ctx.enabled(community_id):
            # Switched off here: park the timer (the next activity sets a new one once it is on).
            ctx.record(ev.ParticipationReviewed(**fields, person_id=person_id, score=record.score, review_at=None))
            return
        try:
            settings = self.settings_for(ctx, community_id)
        except InvalidInputError as exc:
            log.warning("participation review of %s in %s put off a day: %s", person_id, community_id, exc)
            later = ctx.now + _BROKEN_SETTINGS_RETRY
            ctx.record(ev.ParticipationReviewed(**fields, person_id=person_id, score=record.score, review_at=later))
            return
        if not _active_member(ctx, community_id, person_id):
            self._change(
                ctx, None, community_id, person_id, ParticipationLevel.OUTSIDER, record.level, record.score, None
            )
            return
        activity = self._activity(ctx, settings, community_id, person_id, None)
        score = settings.score(activity, now=ctx.now)
        target = settings.level_for(score)
        stayed = ctx.now >= record.since + settings.min_stay
        if target.rank > record.level.rank or (stayed and score < settings.low_water(record.level)):
            review_at = settings.next_review(activity, now=ctx.now, level=target, since=ctx.now)
            self._change(ctx, settings, community_id, person_id, target, record.level, score, review_at)
            return
        review_at = settings.next_review(activity, now=ctx.now, level=record.level, since=record.since)
        ctx.record(ev.ParticipationReviewed(**fields, person_id=person_id, score=score, review_at=review_at))


# -- reading and pinning ------------------------------------------------------------------------


def level_of(store: Store, community_id: str, person_id: str) -> ParticipationLevel:
    """A person's level in a community: outsider unless an active member, peripheral for a
    member the policy has not raised yet."""
    found = store.get(Ref("membership", membership_id(community_id, person_id)))
    if found is None or not isinstance(found.value, Membership) or not found.value.active:
        return ParticipationLevel.OUTSIDER
    record = participation_record(lambda ref: _stored(store, ref), community_id, person_id)
    if record is None or record.level is ParticipationLevel.OUTSIDER:
        return ParticipationLevel.PERIPHERAL
    return record.level


def _stored(store: Store, ref: Ref) -> object:
    found = store.get(ref)
    return found.value if found is not None else None


def levels(store: Store, community_id: str) -> dict[str, ParticipationLevel]:
    """Every active member's level, by person id."""
    out = {m.person_id: ParticipationLevel.PERIPHERAL for m in store.members(community_id)}
    for record in store.find("participation", Filter(community_id=community_id)):
        if (
            isinstance(record, Participation)
            and record.person_id in out
            and record.level is not ParticipationLevel.OUTSIDER
        ):
            out[record.person_id] = record.level
    return out


class ParticipationLevelsPlugin:
    """The default plugin (name ``coplib.policy.participation_levels``)."""

    @hookimpl(trylast=True)
    def coplib_policies(self) -> Iterable[Policy]:
        # `Policy.name` is an instance attribute in the protocol, a class variable here.
        return [cast(Policy, ParticipationLevelsPolicy())]
