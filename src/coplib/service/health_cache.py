"""The health report kept up to date from the log: one `HealthTally` per community (the last
`HealthCache.limit` communities read), with the position of the community's last event it
reflects. A report over the whole history reads the community's events after that position,
lets the tally take each one, and finishes it: its cost follows the events since the last
report, the weeks and months of the history and its people, not every question and every
contribution again (docs/health.md, "How each indicator is computed"; docs/performance.md).

When the tally cannot take what happened exactly, it is built again from the store's facts,
which is what a report costs without it:

- an event that changes past facts (a withdrawal, a moderator hiding or showing again, an
  erasure in this engine, an event type this module does not know);
- a contribution older than its author's last one (an import of older history);
- more than `MAX_FOLLOWED` events since the last report (reading them would cost more);
- a change of what enters the sums: the charter (the report's settings, the answer
  guarantee's target) or the designated experts.

A tally is built from facts read between two readings of the community's last event
position; when the log moved between them (a command committed meanwhile), the report is
computed from those facts and nothing is kept. A report whose `until` is not after the latest
contribution (a past period) is computed from the facts, the tally kept for the next one.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Final, TypeVar

import attrs

from coplib.domain import events as ev
from coplib.domain.community import Community
from coplib.domain.guarantee import GuaranteeSettings
from coplib.domain.health import HealthSettings, MemberFacts, TargetCheck, left_out
from coplib.domain.health_tally import HealthTally
from coplib.domain.history import Ref
from coplib.ports.storage import Period, Store

__all__ = ["MAX_FOLLOWED", "HealthCache", "Kept"]

T = TypeVar("T")

#: Beyond this many events since the last report, the tally is built again from the facts.
MAX_FOLLOWED: Final = 5_000
#: Events read at a time.
_BATCH: Final = 500
#: The end of time, for facts that hold every contribution.
_END: Final = datetime(9999, 1, 1, tzinfo=UTC)
_DAWN: Final = datetime(1, 1, 1, tzinfo=UTC)

#: Events that change none of the facts a tally holds (the members are read for each report;
#: a change of charter or of experts is seen by the tally's key).
NEUTRAL: Final[frozenset[type[ev.DomainEvent]]] = frozenset(
    {
        ev.OrganisationCreated,
        ev.AdministratorAppointed,
        ev.AdministratorWithdrawn,
        ev.CommunityCreated,
        ev.CommunityUpdated,
        ev.CommunityStageChanged,
        ev.CharterAmended,
        ev.CommunityShared,
        ev.CommunityUnshared,
        ev.MemberInvited,
        ev.MembershipRequested,
        ev.MembershipApproved,
        ev.MembershipDeclined,
        ev.MemberJoined,
        ev.MemberLeft,
        ev.MemberRemoved,
        ev.RoleAssigned,
        ev.RoleWithdrawn,
        ev.ContributionEndorsed,
        ev.AttendanceRecorded,
        ev.PreferencesChanged,
        ev.PolicyReactionFailed,
        ev.PolicyReactionRecovered,
        ev.ReactionsDeferred,
        ev.LogFollowed,
        ev.QuestionRouted,
        ev.QuestionEscalated,
        ev.WatchClosed,
        ev.PointsAwarded,
        ev.PointsReversed,
        ev.ParticipationLevelChanged,
        ev.ParticipationLevelPinned,
        ev.ParticipationReviewed,
        ev.BadgeAwarded,
        ev.BadgeProgressed,
        ev.ContributionRevised,  # texts, tags, places and times of a meeting: no fact of the report
        ev.ThreadStatusChanged,  # a closed question is still a question
        ev.ContributionFlagged,
        ev.FlagsDismissed,
        ev.ValueStoryTold,
        ev.ValueStoryRevised,
        ev.ValueStoryWithdrawn,
        ev.CommunityProposed,
        ev.CandidateRevised,
        ev.CandidateLaunched,
        ev.CandidateDropped,
        ev.LifecycleEvaluated,
        ev.StageSuggested,
        ev.DeclineEntered,
        ev.DeclineLeft,
    }
)

#: The events of a new contribution, and its kind.
_CONTRIBUTIONS: Final[dict[type[ev.DomainEvent], str]] = {
    ev.QuestionAsked: "question",
    ev.AnswerPosted: "answer",
    ev.CommentPosted: "comment",
    ev.ResourceShared: "resource",
    ev.ExperienceRecorded: "experience",
    ev.MeetingScheduled: "meeting",
}


#: The events the value cycles count (`coplib.service._value_cycles`), kept by month.
REFRAMING: Final = (ev.CharterAmended, ev.CommunityStageChanged)


@attrs.define
class _Entry:
    tally: HealthTally
    position: int  # the community's last event the tally reflects
    key: tuple[object, ...]
    #: The community's member facts, until a membership event (None: to be read again).
    members: list[MemberFacts] | None
    #: The reframing events by type and month (`REFRAMING`).
    reframing: dict[str, Counter[date]]

    def reframing_before(self, store: Store, community_id: str, until: datetime) -> dict[str, int]:
        """How many reframing events of each type came before `until`: the months before
        `until`'s from the counts kept, `until`'s own month (up to `until`) from the store, a
        range of the community's index by time."""
        month = until.date().replace(day=1)
        start = datetime.combine(month, time(0), tzinfo=UTC)
        found = {}
        for kind, counts in self.reframing.items():
            recent = store.count_events(community_id, since=start, until=until, period=Period.MONTH, types=[kind])
            found[kind] = sum(n for m, n in counts.items() if m < month) + sum(recent.values())
        return found


@attrs.frozen
class Kept:
    """What `HealthCache.read` gives its `use`: the community's tally, its member facts and
    the counts of its reframing events (`REFRAMING`, by type) before the report's end."""

    tally: HealthTally
    members: Sequence[MemberFacts]
    reframing: Mapping[str, int]


class HealthCache:
    """The running tallies of one engine's health reports (thread-safe)."""

    def __init__(self, limit: int = 32) -> None:
        self.limit = limit
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget every tally (after history was rewritten: an erasure)."""
        with self._lock:
            self._entries.clear()

    def read(
        self,
        store: Store,
        community: Community,
        *,
        until: datetime,
        settings: HealthSettings,
        guarantee: GuaranteeSettings,
        use: Callable[[Kept], T],
    ) -> T | None:
        """`use` of the community's tally over its whole history, up to date with the log,
        when it holds for `until` (every contribution before it); None when it does not (the
        caller computes the report from the facts)."""
        with self._lock:
            entry = self._entries.get(community.id)
            if entry is not None and not self._catch_up(store, community.id, entry):
                entry = None
            members = entry.members if entry is not None and entry.members is not None else None
            if members is None:
                members = store.member_facts(community.id)
            experts = frozenset(m.person_id for m in members if m.expert)
            key = (community.charter, experts)
            if entry is not None and entry.key != key:
                entry = None
            if entry is None:
                self._entries.pop(community.id, None)
                entry = self._build(store, community, key, experts, settings, guarantee)
                if entry is None:
                    return None
                self._entries[community.id] = entry
                while len(self._entries) > self.limit:
                    self._entries.popitem(last=False)
            entry.members = members
            self._entries.move_to_end(community.id)
            tally = entry.tally
            if tally.latest is not None and until <= tally.latest:
                return None
            return use(Kept(tally, members, entry.reframing_before(store, community.id, until)))

    @staticmethod
    def _last_position(store: Store, community_id: str) -> int:
        last = store.events(community_id=community_id, newest_first=True, limit=1)
        return last[0].position if last else 0

    def _build(
        self,
        store: Store,
        community: Community,
        key: tuple[object, ...],
        experts: frozenset[str],
        settings: HealthSettings,
        guarantee: GuaranteeSettings,
    ) -> _Entry | None:
        before = self._last_position(store, community.id)
        questions = store.question_facts(community.id, until=_END, unattributed=settings.unattributed)
        contributors = store.contributor_facts(
            community.id, since=None, until=_END, experts=sorted(experts), window=settings.retention_window
        )
        reframing = {
            kind.TYPE: Counter(
                store.count_events(community.id, since=_DAWN, until=_END, period=Period.MONTH, types=[kind.TYPE])
            )
            for kind in REFRAMING
        }
        if self._last_position(store, community.id) != before:
            return None  # a commit came between the reads: the facts may not agree with one position
        tally = HealthTally.of(
            questions,
            contributors,
            since=None,
            experts=experts,
            within_target=TargetCheck(guarantee),
            window=settings.retention_window,
            unattributed=settings.unattributed,
        )
        return _Entry(tally, before, key, None, reframing)

    @staticmethod
    def _catch_up(store: Store, community_id: str, entry: _Entry) -> bool:
        """Let the tally take the community's events after its position; False when one
        cannot be taken (the tally is then in between: the caller drops it)."""
        followed = 0
        while True:
            batch = store.events(community_id=community_id, after=entry.position, limit=_BATCH)
            followed += len(batch)
            if followed > MAX_FOLLOWED:
                return False
            for recorded in batch:
                event = recorded.event
                if not _take(store, entry.tally, event):
                    return False
                if isinstance(event, ev.MembershipEvent):
                    entry.members = None
                elif isinstance(event, REFRAMING):
                    entry.reframing[event.TYPE][event.occurred_at.date().replace(day=1)] += 1
                entry.position = recorded.position
            if len(batch) < _BATCH:
                return True


def _take(store: Store, tally: HealthTally, event: ev.DomainEvent) -> bool:
    """Let the tally take one event; False when it cannot exactly."""
    kind = type(event)
    if kind in NEUTRAL:
        return True
    contribution = _CONTRIBUTIONS.get(kind)
    if contribution is not None:
        if isinstance(event, ev.QuestionAsked):
            tally.ask(event.question_id, event.actor_id, event.occurred_at)
        elif isinstance(event, ev.AnswerPosted):
            tally.answer(event.question_id, event.actor_id, event.occurred_at)
        return tally.contribute(contribution, event.actor_id, event.occurred_at)
    if isinstance(event, ev.AnswerAccepted):
        # Accepted counts when the accepted answer is live (a hidden one may be accepted).
        found = store.get(Ref("answer", event.answer_id))
        tally.accept(event.question_id, found is not None and not left_out(found.value))
        return True
    if isinstance(event, ev.AnswerUnaccepted):
        tally.accept(event.question_id, False)
        return True
    return False  # a withdrawal, a hiding, a showing again, an event of a plugin: build again
