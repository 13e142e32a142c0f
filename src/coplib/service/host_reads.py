"""The read models a host's views need (docs/host-api.md): a community's questions, "my
communities", a person's profile, upcoming meetings, activity feeds, and the paged forms of
the existing lists. Every read asks the one permission decision point (`_readable`): a
community the viewer may not know of is unknown (`NotFoundError`, as an unknown id), and
lists leave out what the viewer may not read, including contributions hidden by moderation
(shown to their author and the community's facilitators only)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

import attrs

from coplib.domain import validation as v
from coplib.domain.clock import ensure_utc
from coplib.domain.community import CharterVersion, Community, Role
from coplib.domain.contributions import (
    CONTRIBUTION_CLASSES,
    Contribution,
    ContributionKind,
    Meeting,
    Question,
)
from coplib.domain.errors import CoplibError, InvalidInputError
from coplib.domain.history import Ref
from coplib.domain.membership import Membership, MembershipStatus
from coplib.domain.paging import Page, check_page_limit
from coplib.domain.participation import ParticipationLevel
from coplib.domain.permissions import Action
from coplib.ports.storage import ACTIVE_ONLY, DeliveryStatus, Filter, OutboxEntry, RecordedEvent
from coplib.service._base import LEAVABLE, check_enum, check_id, check_str
from coplib.service.benefits import PersonBenefits
from coplib.service.pagination import Paging

T = TypeVar("T")

#: The events an activity feed shows: what people did, not the policies' bookkeeping.
ACTIVITY_TYPES: frozenset[str] = frozenset(
    {
        "community_created",
        "charter_amended",
        "member_joined",
        "member_left",
        "role_assigned",
        "question_asked",
        "answer_posted",
        "answer_accepted",
        "comment_posted",
        "contribution_endorsed",
        "resource_shared",
        "experience_recorded",
        "meeting_scheduled",
        "attendance_recorded",
        "badge_awarded",
        "participation_level_changed",
        "contribution_revised",
        "thread_status_changed",
    }
)
#: How far back a person's activity feed reads by default.
ACTIVITY_WINDOW = timedelta(days=90)
_ORDERS = ("newest", "unanswered")


@attrs.frozen
class MyCommunity:
    """A community of the viewer's, with their membership (active, invited or pending)."""

    community: Community
    membership: Membership


@attrs.frozen
class CommunityProfile:
    """What a person is in one community: level, points, badges, contributions by kind, and
    (for the person and the stewards) what they gave and received over the last 90 days."""

    community_id: str
    membership: Membership | None
    level: ParticipationLevel
    points: int
    badges: tuple[str, ...]
    contributions: dict[str, int] = attrs.field(hash=False)
    benefits: PersonBenefits | None = None


@attrs.frozen
class Profile:
    """A person as the viewer may see them: one `CommunityProfile` per community they share
    that the viewer may read, by community id."""

    person_id: str
    display_name: str
    communities: tuple[CommunityProfile, ...]

    @property
    def points(self) -> int:
        return sum(c.points for c in self.communities)

    @property
    def badges(self) -> tuple[str, ...]:
        return tuple(b for c in self.communities for b in c.badges)


class HostReads(Paging):
    """Read models and paged lists."""

    # -- the permission filter of contributions --------------------------------------------------

    def _moderator_of(self, viewer: str, community: Community) -> bool:
        try:
            self._readable(viewer, community, Action.MODERATE)
        except CoplibError:
            return False
        return True

    def _shown(self, viewer: str, item: Contribution, moderators: dict[str, bool], community: Community) -> bool:
        """Whether `viewer` sees `item`: live, and not hidden unless they wrote it or moderate."""
        if getattr(item, "withdrawn", False):
            return False
        if getattr(item, "hidden_reason", None) is None or item.author_id == viewer:
            return True
        if community.id not in moderators:
            moderators[community.id] = self._moderator_of(viewer, community)
        return moderators[community.id]

    def _fill(
        self,
        fetch: Callable[[T | None, int], Sequence[T]],
        keep: Callable[[T], bool],
        limit: int,
    ) -> list[T]:
        """Read rows in batches (each after the last row read) until ``limit + 1`` are kept or
        none is left: a filtered page without skipping nor repeating."""
        kept: list[T] = []
        last: T | None = None
        while len(kept) <= limit:
            batch = fetch(last, limit + 1)
            kept.extend(row for row in batch if keep(row))
            if len(batch) <= limit:
                break
            last = batch[-1]
        return kept

    # -- a community's questions -------------------------------------------------------------------

    def questions(
        self,
        viewer: str,
        community_id: str,
        *,
        order: str = "newest",
        tag: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[Question]:
        """A community's questions, a page at a time: ``newest`` first, or the ``unanswered``
        ones (open: no live answer, not closed, locked, hidden nor withdrawn) oldest first;
        of one tag when `tag` is given."""
        ctx = "questions"
        viewer = check_id("$.viewer", viewer, ctx)
        if order not in _ORDERS:
            raise InvalidInputError.field(
                "$.order", f"must be one of {', '.join(_ORDERS)}; got {order!r:.40}", context=ctx
            )
        tag_ = v.normalise_tag(check_str("$.tag", tag, ctx)) if tag is not None else None
        limit = check_page_limit(limit, ctx)
        community = self._community(community_id, ctx)
        self._readable(viewer, community)
        scope = ("questions", viewer, community.id, order, tag_)
        after = self._after_time_id(cursor, scope, ctx)
        if order == "unanswered":
            rows = self._store.unanswered_questions(community.id, tag=tag_, limit=limit + 1, after=after)
            return self._page(rows, limit, scope, lambda q: (q.created_at, q.id))
        moderators: dict[str, bool] = {}

        def fetch(last: Question | None, n: int) -> Sequence[Question]:
            bound = (last.created_at, last.id) if last is not None else after
            found = self._store.find(
                "question", Filter(community_id=community.id), limit=n, after=bound, newest_first=True
            )
            return [q for q in found if isinstance(q, Question)]

        def keep(q: Question) -> bool:
            return (tag_ is None or tag_ in q.tags) and self._shown(viewer, q, moderators, community)

        return self._page(self._fill(fetch, keep, limit), limit, scope, lambda q: (q.created_at, q.id))

    # -- "my communities" ----------------------------------------------------------------------------

    def my_communities(self, viewer: str) -> list[MyCommunity]:
        """The communities the viewer is an active member of, invited to or pending in, by
        name (then id), each with their membership; those they may no longer see are left
        out (a community no longer shared with their organisation)."""
        ctx = "my_communities"
        viewer = check_id("$.viewer", viewer, ctx)
        memberships = [
            m
            for m in self._store.find("membership", Filter(person_id=viewer))
            if isinstance(m, Membership) and m.status in LEAVABLE
        ]
        found = self._store.get_many([Ref("community", m.community_id) for m in memberships])
        out = []
        for m in memberships:
            stored = found.get(Ref("community", m.community_id))
            if stored is None or not isinstance(stored.value, Community):
                continue
            try:
                self._readable(viewer, stored.value, Action.SEE)
            except CoplibError:
                continue
            out.append(MyCommunity(stored.value, m))
        return sorted(out, key=lambda c: (c.community.name, c.community.id))

    # -- a person's profile ------------------------------------------------------------------------

    def profile(self, viewer: str, person_id: str, *, community_id: str | None = None) -> Profile:
        """A person as the viewer may see them: in each community where the person is (or
        was) a member and which the viewer may read (or only `community_id`), their level,
        points, badges and live contributions by kind; what they gave and received (the last
        90 days) for the person themselves and the stewards. An unknown person, or one who
        shares no community the viewer may read, is `NotFoundError` unless `community_id` is
        given and readable."""
        from coplib.domain.errors import NotFoundError
        from coplib.policies import badges as _badges
        from coplib.policies import levels as _levels
        from coplib.policies import recognition as _recognition

        ctx = "profile"
        viewer = check_id("$.viewer", viewer, ctx)
        pid = check_id("$.person_id", person_id, ctx)
        if community_id is not None:
            community = self._community(community_id, ctx)
            self._readable(viewer, community)
            communities = [community]
        else:
            ids = sorted(
                {
                    m.community_id
                    for m in self._store.find("membership", Filter(person_id=pid))
                    if isinstance(m, Membership)
                }
            )
            communities = []
            for cid in ids:
                try:
                    found = self._community(cid, ctx)
                    self._readable(viewer, found)
                except CoplibError:
                    continue
                communities.append(found)
            if not communities and viewer != pid:
                raise NotFoundError("person", pid)
        now = self.clock.now()
        out = []
        for community in communities:
            membership = self.membership(viewer, community.id, pid)  # type: ignore[attr-defined]
            balance = _recognition.balance(self._store, community.id, pid)
            counts = {}
            for kind in ContributionKind:
                items = self._store.find(kind.value, Filter(community_id=community.id, person_id=pid))
                counts[kind.value] = sum(
                    1 for c in items if not getattr(c, "withdrawn", False) and getattr(c, "hidden_reason", None) is None
                )
            benefits = None
            try:
                self._readable(viewer, community, Action.READ_MEMBER_BENEFITS, owner_id=pid)
                benefits = self.person_benefits(  # type: ignore[attr-defined]
                    viewer, community.id, pid, since=now - timedelta(days=90), until=now + timedelta(microseconds=1)
                )
            except CoplibError:
                benefits = None
            out.append(
                CommunityProfile(
                    community_id=community.id,
                    membership=membership,
                    level=_levels.level_of(self._store, community.id, pid),
                    points=balance.points if balance is not None else 0,
                    badges=tuple(_badges.badges_of(self._store, community.id, pid)),
                    contributions=counts,
                    benefits=benefits,
                )
            )
        person = self.person(pid)
        return Profile(pid, person.display_name if person is not None else pid, tuple(out))

    # -- upcoming meetings -------------------------------------------------------------------------

    def upcoming_meetings(
        self,
        viewer: str,
        *,
        community_id: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[Meeting]:
        """Meetings not yet ended, soonest first, a page at a time: of one community, or of
        every community the viewer is an active member of (its cost follows those
        communities' meetings: they are few)."""
        ctx = "upcoming_meetings"
        viewer = check_id("$.viewer", viewer, ctx)
        limit = check_page_limit(limit, ctx)
        if community_id is not None:
            community = self._community(community_id, ctx)
            self._readable(viewer, community)
            communities = [community]
        else:
            communities = [
                c.community for c in self.my_communities(viewer) if c.membership.status is MembershipStatus.ACTIVE
            ]
        scope = ("upcoming_meetings", viewer, tuple(c.id for c in communities) if community_id else None)
        after = self._after_time_id(cursor, scope, ctx)
        now = self.clock.now()
        moderators: dict[str, bool] = {}
        found: list[Meeting] = []
        for community in communities:
            for m in self._store.find("meeting", Filter(community_id=community.id)):
                if (
                    isinstance(m, Meeting)
                    and m.ends_at >= now
                    and (after is None or (m.starts_at, m.id) > after)
                    and self._shown(viewer, m, moderators, community)
                ):
                    found.append(m)
        found.sort(key=lambda m: (m.starts_at, m.id))
        return self._page(found[: limit + 1], limit, scope, lambda m: (m.starts_at, m.id))

    # -- activity feeds ----------------------------------------------------------------------------

    def activity(
        self,
        viewer: str,
        *,
        community_id: str | None = None,
        person_id: str | None = None,
        since: datetime | None = None,
        newest_first: bool = False,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[RecordedEvent]:
        """What people did (`ACTIVITY_TYPES`), in log order (the latest first with
        `newest_first`, a feed's order), a page at a time: in a community (its history,
        filtered), by a person (in the communities the viewer may read; from `since`, by
        default 90 days ago), or by a person in a community. Events on a contribution hidden
        from the viewer stay in the feed as events: the feed names contributions by id, their
        text is read through the reads that filter it."""
        ctx = "activity"
        viewer = check_id("$.viewer", viewer, ctx)
        limit = check_page_limit(limit, ctx)
        pid = check_id("$.person_id", person_id, ctx) if person_id is not None else None
        if community_id is None and pid is None:
            raise InvalidInputError.field("$.community_id", "give a community, a person, or both", context=ctx)
        community = None
        if community_id is not None:
            community = self._community(community_id, ctx)
            self._readable(viewer, community)
        start = ensure_utc(since, "$.since") if since is not None else self.clock.now() - ACTIVITY_WINDOW
        if not isinstance(newest_first, bool):
            raise InvalidInputError.field("$.newest_first", "must be true or false", context=ctx)
        scope = ("activity", viewer, community.id if community else None, pid, start if pid else None, newest_first)
        # The cursor holds the last position returned: the next page is after it in the feed's
        # order (later in the log, or earlier for the newest first).
        mark = self._after_int(cursor, scope, ctx)
        after = mark or 0
        if community is not None and pid is None:

            def fetch(last: RecordedEvent | None, n: int) -> Sequence[RecordedEvent]:
                assert community is not None
                if newest_first:
                    before = last.position if last else mark
                    return self._store.events(community_id=community.id, before=before, newest_first=True, limit=n)
                return self._store.events(community_id=community.id, after=last.position if last else after, limit=n)

            rows = self._fill(fetch, lambda r: r.event.TYPE in ACTIVITY_TYPES, limit)
            return self._page(rows, limit, scope, lambda r: (r.position,))
        assert pid is not None
        readable: dict[str, bool] = {}

        def visible(r: RecordedEvent) -> bool:
            cid = r.event.community_id
            beyond = mark is not None and r.position >= mark if newest_first else r.position <= after
            if beyond or r.event.TYPE not in ACTIVITY_TYPES or cid is None:
                return False
            if cid not in readable:
                try:
                    self._readable(viewer, self._community(cid, ctx))
                    readable[cid] = True
                except CoplibError:
                    readable[cid] = False
            return readable[cid]

        found = self._store.activity(
            pid,
            since=start,
            until=self.clock.now() + timedelta(microseconds=1),
            community_id=community.id if community else None,
        )
        ordered = reversed(found) if newest_first else iter(found)
        rows = [r for r in ordered if visible(r)][: limit + 1]
        return self._page(rows, limit, scope, lambda r: (r.position,))

    # -- the paged forms of the existing lists ---------------------------------------------------

    def members_page(
        self,
        viewer: str,
        community_id: str,
        *,
        role: Role | str | None = None,
        tag: str | None = None,
        statuses: Sequence[MembershipStatus | str] = ACTIVE_ONLY,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[Membership]:
        """`members`, a page at a time, by person id."""
        ctx = "members"
        limit = check_page_limit(limit, ctx)
        everyone = self.members(viewer, community_id, role=role, tag=tag, statuses=statuses)  # type: ignore[attr-defined]
        scope = ("members", viewer, community_id, str(role), tag, tuple(str(s) for s in statuses))
        after = self._after_strs(cursor, scope, ctx, 1)
        rows = [m for m in everyone if after is None or m.person_id > after[0]]
        return self._page(rows[: limit + 1], limit, scope, lambda m: (m.person_id,))

    def portfolio_page(
        self, viewer: str, organisation_id: str, *, cursor: str | None = None, limit: int = 50
    ) -> Page[Community]:
        """`portfolio`, a page at a time, by name then id."""
        ctx = "portfolio"
        limit = check_page_limit(limit, ctx)
        everything = self.portfolio(viewer, organisation_id)  # type: ignore[attr-defined]
        scope = ("portfolio", viewer, organisation_id)
        after = self._after_strs(cursor, scope, ctx, 2)
        rows = [c for c in everything if after is None or (c.name, c.id) > after]
        return self._page(rows[: limit + 1], limit, scope, lambda c: (c.name, c.id))

    def charter_history_page(
        self, viewer: str, community_id: str, *, cursor: str | None = None, limit: int = 50
    ) -> Page[CharterVersion]:
        """`charter_history`, a page at a time, oldest version first."""
        ctx = "charter_history"
        limit = check_page_limit(limit, ctx)
        versions = self.charter_history(viewer, community_id)  # type: ignore[attr-defined]
        scope = ("charter_history", viewer, community_id)
        after = self._after_int(cursor, scope, ctx)
        rows = [c for c in versions if after is None or c.number > after]
        return self._page(rows[: limit + 1], limit, scope, lambda c: (c.number,))

    def unanswered_page(
        self, viewer: str, community_id: str, *, tag: str | None = None, cursor: str | None = None, limit: int = 50
    ) -> Page[Question]:
        """`unanswered_questions`, a page at a time, oldest first (``questions(order="unanswered")``)."""
        return self.questions(viewer, community_id, order="unanswered", tag=tag, cursor=cursor, limit=limit)

    def history_page(
        self, viewer: str, community_id: str, *, cursor: str | None = None, limit: int = 50
    ) -> Page[RecordedEvent]:
        """`history`, a page at a time, in log order (every event, not only the activity)."""
        ctx = "history"
        limit = check_page_limit(limit, ctx)
        community = self._community(community_id, ctx)
        self._readable(check_id("$.viewer", viewer, ctx), community)
        scope = ("history", viewer, community.id)
        after = self._after_int(cursor, scope, ctx) or 0
        rows = self._store.events(community_id=community.id, after=after, limit=limit + 1)
        return self._page(rows, limit, scope, lambda r: (r.position,))

    def contributions_page(
        self,
        viewer: str,
        person_id: str,
        *,
        community_id: str | None = None,
        kinds: Iterable[ContributionKind | str] | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[Contribution]:
        """`contributions_of`, a page at a time, oldest first, in the communities the viewer
        may read, without what moderation hid from them."""
        ctx = "contributions_of"
        viewer = check_id("$.viewer", viewer, ctx)
        pid = check_id("$.person_id", person_id, ctx)
        limit = check_page_limit(limit, ctx)
        chosen = (
            sorted({check_enum(f"$.kinds[{i}]", k, ContributionKind, ctx) for i, k in enumerate(kinds)})
            if kinds is not None
            else list(ContributionKind)
        )
        cid = None
        if community_id is not None:
            community = self._community(community_id, ctx)
            self._readable(viewer, community)
            cid = community.id
        scope = ("contributions", viewer, pid, cid, tuple(k.value for k in chosen))
        after = self._after_time_id(cursor, scope, ctx)
        communities: dict[str, Community | None] = {}
        moderators: dict[str, bool] = {}

        def readable(item: Contribution) -> Community | None:
            if item.community_id not in communities:
                try:
                    c = self._community(item.community_id, ctx)
                    self._readable(viewer, c)
                    communities[item.community_id] = c
                except CoplibError:
                    communities[item.community_id] = None
            return communities[item.community_id]

        def fetch(last: Contribution | None, n: int) -> Sequence[Contribution]:
            bound = (last.created_at, last.id) if last is not None else after
            merged: list[Contribution] = []
            for kind in chosen:
                for item in self._store.find(kind.value, Filter(community_id=cid, person_id=pid), limit=n, after=bound):
                    assert isinstance(item, CONTRIBUTION_CLASSES)
                    merged.append(item)
            merged.sort(key=lambda c: (c.created_at, c.id))
            return merged[:n]

        def keep(item: Contribution) -> bool:
            community = readable(item)
            return community is not None and self._shown(viewer, item, moderators, community)

        return self._page(self._fill(fetch, keep, limit), limit, scope, lambda c: (c.created_at, c.id))

    def outbox_page(
        self,
        viewer: str,
        *,
        status: DeliveryStatus | str | None = None,
        recipient_id: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page[OutboxEntry]:
        """`outbox`, a page at a time, oldest first (the host, `SYSTEM`, only): each page one
        indexed query, however large the outbox."""
        ctx = "outbox"
        viewer = check_id("$.viewer", viewer, ctx)
        status_ = check_enum("$.status", status, DeliveryStatus, ctx) if status is not None else None
        rid = check_id("$.recipient_id", recipient_id, ctx) if recipient_id is not None else None
        limit = check_page_limit(limit, ctx)
        self.runtime.authorise(None, Action.READ_OUTBOX, viewer, None)
        scope = ("outbox", viewer, status_, rid)
        after = self._after_time_id(cursor, scope, ctx)
        rows = self._store.outbox(status=status_, recipient_id=rid, limit=limit + 1, after=after)
        return self._page(rows, limit, scope, lambda e: (e.message.created_at, e.message.id))
