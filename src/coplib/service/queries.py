"""The read side: communities, charters, the portfolio, members, threads, the help space,
history. Every read takes a viewer and asks the permission decision point."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta

import attrs

from coplib.domain import validation as v
from coplib.domain.clock import ensure_utc
from coplib.domain.community import (
    CharterVersion,
    Community,
    Organisation,
    Role,
)
from coplib.domain.contributions import (
    CONTRIBUTION_CLASSES,
    Answer,
    Comment,
    Contribution,
    ContributionKind,
    Question,
)
from coplib.domain.errors import (
    CoplibError,
    InvalidInputError,
    NotFoundError,
)
from coplib.domain.history import Ref
from coplib.domain.membership import Membership, MembershipStatus, membership_id
from coplib.domain.permissions import SYSTEM, Action
from coplib.ports.storage import (
    ACTIVE_ONLY,
    Filter,
    Period,
    RecordedEvent,
)
from coplib.service._base import UseCases, check_enum, check_id, check_str


@attrs.frozen
class QuestionThread:
    """A question with its live answers and the comments on them, oldest first."""

    question: Question
    answers: tuple[Answer, ...]
    comments: tuple[Comment, ...]

    @property
    def accepted_answer(self) -> Answer | None:
        return next((a for a in self.answers if a.id == self.question.accepted_answer_id), None)


class Queries(UseCases):
    """Reads, each filtered by what the viewer may see."""

    def community(self, viewer: str, community_id: str) -> Community:
        """A community with its current charter, if the viewer may see it."""
        community = self._community(community_id, "community")
        self._readable(check_id("$.viewer", viewer, "community"), community, Action.SEE)
        return community

    def charter_history(self, viewer: str, community_id: str) -> list[CharterVersion]:
        """Every version of the charter, oldest first."""
        community = self.community(viewer, community_id)
        versions = [
            c
            for c in self._store.find("charter_version", Filter(community_id=community.id))
            if isinstance(c, CharterVersion)
        ]
        return sorted(versions, key=lambda c: c.number)

    def organisation(self, viewer: str, organisation_id: str) -> Organisation:
        """An organisation, if the viewer is one of its people or administers it (to anyone
        else it is unknown: `NotFoundError`). Its `shared_communities` are narrowed to those
        the viewer may see."""
        ctx = "organisation"
        viewer = check_id("$.viewer", viewer, ctx)
        organisation = self._organisation(organisation_id, ctx)
        self._authorise_in_organisation(None, Action.SEE_ORGANISATION, viewer, organisation)
        if viewer == SYSTEM or not organisation.shared_communities:
            return organisation
        seen = frozenset(c.id for c in self._visible(viewer, self._shared_with(organisation)))
        return attrs.evolve(organisation, shared_communities=seen)

    def portfolio(self, viewer: str, organisation_id: str) -> list[Community]:
        """The communities the viewer may see among the organisation's own and those other
        organisations share with it, by name (then id). The organisation must be one the
        viewer may know of (`organisation`)."""
        ctx = "portfolio"
        viewer = check_id("$.viewer", viewer, ctx)
        organisation = self._organisation(organisation_id, ctx)
        self._authorise_in_organisation(None, Action.SEE_ORGANISATION, viewer, organisation)
        held = self._visible(viewer, self._store.communities(organisation.id))
        shared = self._visible(viewer, self._shared_with(organisation))
        return sorted([*held, *shared], key=lambda c: (c.name, c.id)) if shared else held

    def _shared_with(self, organisation: Organisation) -> list[Community]:
        refs = [Ref("community", cid) for cid in sorted(organisation.shared_communities)]
        found = self._store.get_many(refs) if refs else {}
        return [s.value for s in found.values() if isinstance(s.value, Community)]

    def _visible(self, viewer: str, communities: Iterable[Community]) -> list[Community]:
        visible = []
        for community in communities:
            try:
                self._readable(viewer, community, Action.SEE)
            except CoplibError:
                continue
            visible.append(community)
        return visible

    def members(
        self,
        viewer: str,
        community_id: str,
        *,
        role: Role | str | None = None,
        tag: str | None = None,
        statuses: Sequence[MembershipStatus | str] = ACTIVE_ONLY,
    ) -> list[Membership]:
        """Members of a community, by role and by expertise tag."""
        ctx = "members"
        role_ = check_enum("$.role", role, Role, ctx) if role is not None else None
        statuses_ = [check_enum(f"$.statuses[{i}]", s, MembershipStatus, ctx) for i, s in enumerate(statuses)]
        tag_ = v.normalise_tag(check_str("$.tag", tag, ctx)) if tag is not None else None
        community = self._community(community_id, ctx)
        self._readable(check_id("$.viewer", viewer, ctx), community)
        return self._store.members(community.id, role=role_, tag=tag_, statuses=statuses_)

    def membership(self, viewer: str, community_id: str, person_id: str) -> Membership | None:
        """A person's membership of a community (None: never a member, invited or pending).
        Anyone who may read the community reads it; a person always reads their own, except
        in a private community they cannot see, which stays unknown to them."""
        community = self._community(community_id, "membership")
        pid = check_id("$.person_id", person_id, "membership")
        viewer = check_id("$.viewer", viewer, "membership")
        found = self._store.get(Ref("membership", membership_id(community.id, pid)))
        membership = found.value if found and isinstance(found.value, Membership) else None
        if viewer != pid:
            self._readable(viewer, community)
        elif membership is None:
            self._readable(viewer, community, Action.SEE)
        return membership

    def question(self, viewer: str, question_id: str) -> QuestionThread:
        """A question with its live answers and the comments on question and answers."""
        ctx = "question"
        qid = check_id("$.question_id", question_id, ctx)
        found = self._store.get(Ref("question", qid))
        if found is None or not isinstance(found.value, Question):
            raise NotFoundError("question", qid)
        question = found.value
        community = self._community(question.community_id, ctx)
        viewer = check_id("$.viewer", viewer, ctx)
        self._readable(viewer, community, subject=Ref("question", qid))
        shown = self._shown_to(viewer, community)
        if not shown(question):
            raise NotFoundError("question", qid)  # hidden by moderation: unknown to others
        answers = tuple(
            a
            for a in self._store.find("answer", Filter(parent_id=qid))
            if isinstance(a, Answer) and not a.withdrawn and shown(a)
        )
        comments: list[Comment] = []
        for target in (qid, *(a.id for a in answers)):
            comments.extend(
                c
                for c in self._store.find("comment", Filter(parent_id=target))
                if isinstance(c, Comment) and not c.withdrawn and shown(c)
            )
        comments.sort(key=lambda c: (c.created_at, c.id))
        return QuestionThread(question, answers, tuple(comments))

    def _shown_to(self, viewer: str, community: Community) -> Callable[[Contribution], bool]:
        """Whether a contribution of `community` is shown to `viewer`: one that moderation hid
        only to its author and the community's facilitators (docs/host-api.md)."""
        moderator: list[bool] = []

        def shown(item: Contribution) -> bool:
            if getattr(item, "hidden_reason", None) is None or item.author_id == viewer:
                return True
            if not moderator:
                try:
                    self._readable(viewer, community, Action.MODERATE)
                    moderator.append(True)
                except CoplibError:
                    moderator.append(False)
            return moderator[0]

        return shown

    def unanswered_questions(
        self,
        viewer: str,
        community_id: str,
        *,
        tag: str | None = None,
        older_than: timedelta = timedelta(0),
        limit: int = 50,
    ) -> list[Question]:
        """Open questions of a community (optionally of a tag), at least `older_than` old,
        oldest first: the help space to watch."""
        ctx = "unanswered_questions"
        if not isinstance(older_than, timedelta) or older_than < timedelta(0):
            raise InvalidInputError.field("$.older_than", "must be a timedelta >= 0", context=ctx)
        v.check_limit(limit, ctx)
        tag_ = v.normalise_tag(check_str("$.tag", tag, ctx)) if tag is not None else None
        community = self._community(community_id, ctx)
        self._readable(check_id("$.viewer", viewer, ctx), community)
        cutoff = self.clock.now() - older_than if older_than else None
        return self._store.unanswered_questions(community.id, tag=tag_, asked_before=cutoff, limit=limit)

    def contributions_of(
        self,
        viewer: str,
        person_id: str,
        *,
        community_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Iterable[ContributionKind | str] | None = None,
    ) -> list[Contribution]:
        """What a person contributed, oldest first, in the communities the viewer may read."""
        ctx = "contributions_of"
        pid = check_id("$.person_id", person_id, ctx)
        viewer = check_id("$.viewer", viewer, ctx)
        since_ = ensure_utc(since, "$.since") if since is not None else None
        until_ = ensure_utc(until, "$.until") if until is not None else None
        chosen = (
            [check_enum(f"$.kinds[{i}]", k, ContributionKind, ctx) for i, k in enumerate(kinds)]
            if kinds is not None
            else list(ContributionKind)
        )
        cid = None
        if community_id is not None:
            community = self._community(community_id, ctx)
            self._readable(viewer, community)
            cid = community.id
        found: list[Contribution] = []
        for kind in chosen:
            for item in self._store.find(
                kind.value, Filter(community_id=cid, person_id=pid, since=since_, until=until_)
            ):
                assert isinstance(item, CONTRIBUTION_CLASSES)
                found.append(item)
        readable: dict[str, Callable[[Contribution], bool] | None] = {}
        out = []
        for item in sorted(found, key=lambda c: (c.created_at, c.id)):
            if item.community_id not in readable:
                try:
                    owner = self._community(item.community_id, ctx)
                    self._readable(viewer, owner)
                    readable[item.community_id] = self._shown_to(viewer, owner)
                except CoplibError:
                    readable[item.community_id] = None
            shown = readable[item.community_id]
            if shown is not None and shown(item):
                out.append(item)
        return out

    def history(self, viewer: str, community_id: str, *, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """A community's events in order, at most `limit` (up to `QUERY_LIMIT_MAX`) at once:
        page with `after` = the last position seen."""
        ctx = "history"
        v.check_position(after, ctx)
        v.check_limit(limit, ctx)
        community = self._community(community_id, ctx)
        self._readable(check_id("$.viewer", viewer, ctx), community)
        return self._store.events(community_id=community.id, after=after, limit=limit)

    def count_events(
        self,
        viewer: str,
        community_id: str,
        *,
        since: datetime,
        until: datetime,
        period: Period | str = Period.WEEK,
        types: Sequence[str] | None = None,
    ) -> dict[date, int]:
        """Events per period (day, week, month) in [since, until)."""
        ctx = "count_events"
        period_ = check_enum("$.period", period, Period, ctx)
        community = self._community(community_id, ctx)
        self._readable(check_id("$.viewer", viewer, ctx), community)
        return self._store.count_events(
            community.id,
            since=ensure_utc(since, "$.since"),
            until=ensure_utc(until, "$.until"),
            period=period_,
            types=types,
        )
