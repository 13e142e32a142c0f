"""Value stories and the cycles of value (docs/value-and-launch.md): a member tells a result
that contributions of the community made possible; the cycles of a community over a period,
read from the health report's facts and the store's counts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import cast

from coplib.domain import events as ev
from coplib.domain import validation as v
from coplib.domain.community import Community
from coplib.domain.contributions import CONTRIBUTION_CLASSES, ContributionKind
from coplib.domain.errors import ConflictError, InvalidInputError, NotFoundError
from coplib.domain.history import Ref
from coplib.domain.permissions import Action
from coplib.domain.value import (
    LINKABLE_KINDS,
    STORY_CONTRIBUTIONS_MAX,
    LinkedContribution,
    ValueCycles,
    ValueStory,
)
from coplib.ports.storage import Filter
from coplib.runtime import UnitOfWork
from coplib.service._base import UseCases, check_id, need
from coplib.service._value_cycles import value_cycles_of
from coplib.service.health import HealthReads, _since, _until

__all__ = ["ValueReads", "value_cycles_of"]


def _check_links(value: object, ctx: str) -> list[tuple[ContributionKind | None, str]]:
    """The contributions a story links, as (kind or None, id): a bare id, or a (kind, id) pair."""
    path = "$.contributions"
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidInputError.field(
            path, f"must be a list of contribution ids, got {type(value).__name__}", context=ctx
        )
    items = list(value)
    if not items:
        raise InvalidInputError.field(path, "a value story links at least one contribution", context=ctx)
    if len(items) > STORY_CONTRIBUTIONS_MAX:
        raise InvalidInputError.field(
            path, f"links at most {STORY_CONTRIBUTIONS_MAX} contributions, got {len(items)}", context=ctx
        )
    out: list[tuple[ContributionKind | None, str]] = []
    for i, item in enumerate(items):
        here = f"{path}[{i}]"
        if isinstance(item, tuple) and len(item) == 2:
            kind, cid = item
            try:
                kind_ = ContributionKind(kind)
            except ValueError:
                kind_ = None
            if kind_ not in LINKABLE_KINDS:
                choices = ", ".join(k.value for k in LINKABLE_KINDS)
                raise InvalidInputError.field(here, f"the kind must be one of {choices}; got {kind!r:.40}", context=ctx)
            out.append((kind_, check_id(here, cid, ctx)))
        else:
            out.append((None, check_id(here, item, ctx)))
    return out


class ValueReads(UseCases):
    """Value stories and the cycles of value, as engine methods."""

    def tell_value_story(
        self, actor: str, community_id: str, *, contributions: Iterable[str | tuple[str, str]], result: str
    ) -> ValueStory:
        """Tell a `result` in one's work that `contributions` of the community made possible
        (ids, or (kind, id) pairs when an id is ambiguous): any active member may, crediting
        contributions of the same community that are not withdrawn. The authors of the linked
        contributions are told (and credited, when the charter's points table pays for it)."""
        ctx = "tell_value_story"
        actor = check_id("$.actor", actor, ctx)
        links = _check_links(contributions, ctx)
        fields = v.check_fields(ValueStory, ctx, result=result)
        story_id = self._new_id()

        def unit(uow: UnitOfWork) -> ValueStory:
            community = self._open_community(uow, community_id, ctx, actor, Ref("value_story", story_id))
            self._authorise(uow, Action.TELL_VALUE_STORY, actor, community)
            uow.prefetch(
                [Ref(k.value, cid) for kind, cid in links for k in ((kind,) if kind is not None else LINKABLE_KINDS)]
            )
            linked: list[LinkedContribution] = []
            seen: set[tuple[ContributionKind, str]] = set()
            for i, (kind, cid) in enumerate(links):
                here = f"$.contributions[{i}]"
                kinds = (kind,) if kind is not None else LINKABLE_KINDS
                # Contributions of other communities are not told apart from unknown ids: the
                # actor may not know of them.
                found = [
                    item
                    for k in kinds
                    if isinstance(item := uow.get(Ref(k.value, cid)), CONTRIBUTION_CLASSES)
                    and item.community_id == community.id
                ]
                if not found:
                    raise InvalidInputError.field(here, f"no contribution {cid!r:.60} in this community", context=ctx)
                if len(found) > 1:
                    raise InvalidInputError.field(
                        here, f"{cid!r:.60} names contributions of several kinds: give (kind, id)", context=ctx
                    )
                item = found[0]
                if getattr(item, "withdrawn", False):
                    raise ConflictError(f"{item.KIND.value} {cid!r} was withdrawn", kind=item.KIND.value, id=cid)
                if (item.KIND, item.id) in seen:
                    raise InvalidInputError.field(here, f"links {item.KIND.value} {cid!r:.60} twice", context=ctx)
                seen.add((item.KIND, item.id))
                linked.append(LinkedContribution(item.KIND, item.id, item.author_id))
            uow.record(
                ev.ValueStoryTold(
                    **self._event_base(actor, community.id),
                    story_id=story_id,
                    contributions=tuple(linked),
                    result=fields["result"],
                )
            )
            return need(uow, "value_story", story_id, ValueStory)

        return self._run(unit)

    def _open_story(self, uow: UnitOfWork, sid: str, action: Action, actor: str) -> tuple[ValueStory, Community]:
        """The story a command acts on and its community, once `actor` may take `action` on it
        (its teller counting as the owner): unknown to whoever may not know of its community,
        `ConflictError` once withdrawn."""
        story = uow.get(Ref("value_story", sid))
        if not isinstance(story, ValueStory):
            raise NotFoundError("value_story", sid)
        community = need(uow, "community", story.community_id, Community)
        self._authorise(uow, action, actor, community, owner_id=story.author_id, subject=Ref("value_story", sid))
        if story.withdrawn:
            raise ConflictError(f"value story {sid!r} was withdrawn already", kind="value_story", id=sid)
        return story, community

    def revise_value_story(self, actor: str, story_id: str, *, result: str, reason: str = "") -> ValueStory:
        """Amend a value story's account, `result` (its teller, or a facilitator or
        documentalist of its community, as for a contribution's edit): the story keeps the
        contributions it credits, and their authors' credit stands (to credit others, withdraw
        it and tell another). The same text again records nothing; a withdrawn story is not
        amended (`ConflictError`)."""
        ctx = "revise_value_story"
        actor = check_id("$.actor", actor, ctx)
        sid = check_id("$.story_id", story_id, ctx)
        fields = v.check_fields(ev.ValueStoryRevised, ctx, result=result, reason=reason)

        def unit(uow: UnitOfWork) -> ValueStory:
            story, community = self._open_story(uow, sid, Action.EDIT_CONTRIBUTION, actor)
            if fields["result"] == story.result:
                return story
            uow.record(
                ev.ValueStoryRevised(
                    **self._event_base(actor, community.id),
                    story_id=sid,
                    result=fields["result"],
                    previous=story.result,
                    reason=fields["reason"],
                )
            )
            return need(uow, "value_story", sid, ValueStory)

        return self._run(unit)

    def withdraw_value_story(self, actor: str, story_id: str, *, reason: str = "") -> ValueStory:
        """Take a value story back (its teller, or a facilitator or documentalist of its
        community, as for a contribution): it counts no more in the cycles of value and the
        credit it gave the authors it linked is taken back. Withdrawn twice: `ConflictError`."""
        ctx = "withdraw_value_story"
        actor = check_id("$.actor", actor, ctx)
        sid = check_id("$.story_id", story_id, ctx)
        v.check_fields(ev.ValueStoryWithdrawn, ctx, reason=reason)

        def unit(uow: UnitOfWork) -> ValueStory:
            story, community = self._open_story(uow, sid, Action.WITHDRAW_CONTRIBUTION, actor)
            uow.record(
                ev.ValueStoryWithdrawn(
                    **self._event_base(actor, community.id),
                    story_id=sid,
                    credited=tuple(sorted(story.credited)),
                    reason=reason,
                )
            )
            return need(uow, "value_story", sid, ValueStory)

        return self._run(unit)

    def value_stories(
        self,
        viewer: str,
        community_id: str,
        *,
        since: date | datetime | None = None,
        until: date | datetime | None = None,
    ) -> list[ValueStory]:
        """The value stories told in a community in [since, until), oldest first, for anyone
        who may read the community (not those withdrawn)."""
        ctx = "value_stories"
        viewer = check_id("$.viewer", viewer, ctx)
        start = _since(since)
        end = _until(until, self.clock.now())
        if start is not None and end <= start:
            raise InvalidInputError.field("$.until", "must come after since", context=ctx)
        community = self._community(community_id, ctx)
        self._readable(viewer, community)
        found = self._store.find("value_story", Filter(community_id=community.id, since=start, until=end))
        return [s for s in found if isinstance(s, ValueStory) and not s.withdrawn]

    def value_cycles(
        self,
        viewer: str,
        community_id: str,
        *,
        since: date | datetime | None = None,
        until: date | datetime | None = None,
    ) -> ValueCycles:
        """The five cycles of value of a community over [since, until) (as
        `community_health`, whose report carries them as `value`)."""
        report = cast("HealthReads", self).community_health(viewer, community_id, since=since, until=until)
        assert report.value is not None
        return report.value
