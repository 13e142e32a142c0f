"""Moderation: members flag a contribution with a reason; the facilitators read the queue of
open flags, hide a contribution with a reason its author sees, show it again, or dismiss
the flags (docs/host-api.md)."""

from __future__ import annotations

from coplib.domain import events as ev
from coplib.domain import validation as v
from coplib.domain.contributions import (
    CONTRIBUTION_CLASSES,
    Answer,
    Contribution,
    ContributionKind,
)
from coplib.domain.errors import ConflictError
from coplib.domain.history import Ref
from coplib.domain.moderation import REVISABLE, Flag
from coplib.domain.paging import Page, check_page_limit
from coplib.domain.permissions import Action
from coplib.ports.storage import Filter
from coplib.runtime import UnitOfWork
from coplib.service._base import UseCases, check_id, need
from coplib.service.pagination import Paging

_MODERATED = frozenset(REVISABLE)
_PATHS = ("$.kind", "$.contribution_id")


class ModerationCommands(Paging, UseCases):
    """Flags, the moderation queue, hiding."""

    def flag(self, actor: str, kind: ContributionKind | str, contribution_id: str, *, reason: str) -> Flag:
        """Flag someone else's contribution for the facilitators, saying why (once per
        person while their flag is open)."""
        ctx = "flag"
        actor = check_id("$.actor", actor, ctx)
        fields = v.check_fields(ev.ContributionFlagged, ctx, reason=reason)
        flag_id = self._new_id()

        def unit(uow: UnitOfWork) -> Flag:
            target, community = self._open_target(
                uow, kind, contribution_id, _MODERATED, ctx, Action.FLAG_CONTRIBUTION, actor, paths=_PATHS
            )
            if any(f.author_id == actor and f.open for f in self._flags_on(target)):
                raise ConflictError(
                    f"{actor!r} has an open flag on {target.KIND.value} {target.id!r} already", kind="flag"
                )
            uow.record(
                ev.ContributionFlagged(
                    **self._event_base(actor, community.id),
                    flag_id=flag_id,
                    contribution_id=target.id,
                    contribution_kind=target.KIND,
                    target_author_id=target.author_id,
                    **fields,
                )
            )
            return need(uow, "flag", flag_id, Flag)

        return self._run(unit)

    def _flags_on(self, target: Contribution) -> list[Flag]:
        found = self._store.find("flag", Filter(community_id=target.community_id, parent_id=target.id))
        return [f for f in found if isinstance(f, Flag) and f.contribution_kind is target.KIND]

    def moderation_queue(
        self, viewer: str, community_id: str, *, cursor: str | None = None, limit: int = 50
    ) -> Page[Flag]:
        """The open flags of a community, oldest first, a page at a time (its facilitators)."""
        ctx = "moderation_queue"
        viewer = check_id("$.viewer", viewer, ctx)
        limit = check_page_limit(limit, ctx)
        community = self._community(community_id, ctx)
        self._readable(viewer, community, Action.MODERATE)
        scope = ("moderation_queue", viewer, community.id)
        after = self._after_time_id(cursor, scope, ctx)
        found = self._store.open_flags(community.id, limit=limit + 1, after=after)
        return self._page_by_time_id(found, limit, scope, lambda f: (f.created_at, f.id))

    def hide(self, actor: str, kind: ContributionKind | str, contribution_id: str, *, reason: str) -> Contribution:
        """Hide a contribution from everyone but its author and the facilitators (a
        facilitator), with a reason its author is told and sees; the open flags on it are
        upheld, and their authors told."""
        ctx = "hide"
        actor = check_id("$.actor", actor, ctx)
        fields = v.check_fields(ev.ContributionHidden, ctx, reason=reason)

        def unit(uow: UnitOfWork) -> Contribution:
            target, community = self._open_target(
                uow, kind, contribution_id, _MODERATED, ctx, Action.MODERATE, actor, paths=_PATHS
            )
            if getattr(target, "hidden_reason", None) is not None:
                raise ConflictError(f"{target.KIND.value} {target.id!r} is hidden already", kind=target.KIND.value)
            open_flags = tuple(f.id for f in self._flags_on(target) if f.open)
            uow.prefetch([Ref("flag", f) for f in open_flags])
            uow.record(
                ev.ContributionHidden(
                    **self._event_base(actor, community.id),
                    contribution_id=target.id,
                    contribution_kind=target.KIND,
                    author_id=target.author_id,
                    flag_ids=open_flags[:100],
                    question_id=target.question_id if isinstance(target, Answer) else None,
                    **fields,
                )
            )
            return self._reread(uow, target)

        return self._run(unit)

    def unhide(self, actor: str, kind: ContributionKind | str, contribution_id: str) -> Contribution:
        """Show a hidden contribution again (a facilitator)."""
        ctx = "unhide"
        actor = check_id("$.actor", actor, ctx)

        def unit(uow: UnitOfWork) -> Contribution:
            target, community = self._open_target(
                uow, kind, contribution_id, _MODERATED, ctx, Action.MODERATE, actor, paths=_PATHS
            )
            if getattr(target, "hidden_reason", None) is None:
                raise ConflictError(f"{target.KIND.value} {target.id!r} is not hidden", kind=target.KIND.value)
            uow.record(
                ev.ContributionUnhidden(
                    **self._event_base(actor, community.id),
                    contribution_id=target.id,
                    contribution_kind=target.KIND,
                    author_id=target.author_id,
                    question_id=target.question_id if isinstance(target, Answer) else None,
                )
            )
            return self._reread(uow, target)

        return self._run(unit)

    def dismiss_flags(
        self, actor: str, kind: ContributionKind | str, contribution_id: str, *, note: str = ""
    ) -> list[Flag]:
        """Dismiss the open flags on a contribution (a facilitator), with a note their
        authors are told; returns the flags dismissed (none: nothing is recorded)."""
        ctx = "dismiss_flags"
        actor = check_id("$.actor", actor, ctx)
        fields = v.check_fields(ev.FlagsDismissed, ctx, note=note)

        def unit(uow: UnitOfWork) -> list[Flag]:
            target, community = self._open_target(
                uow, kind, contribution_id, _MODERATED, ctx, Action.MODERATE, actor, paths=_PATHS
            )
            open_flags = [f.id for f in self._flags_on(target) if f.open][:100]
            if not open_flags:
                return []
            uow.prefetch([Ref("flag", f) for f in open_flags])
            uow.record(
                ev.FlagsDismissed(
                    **self._event_base(actor, community.id),
                    contribution_id=target.id,
                    contribution_kind=target.KIND,
                    flag_ids=tuple(open_flags),
                    **fields,
                )
            )
            return [need(uow, "flag", f, Flag) for f in open_flags]

        return self._run(unit)

    @staticmethod
    def _reread(uow: UnitOfWork, target: Contribution) -> Contribution:
        found = uow.get(Ref(target.KIND.value, target.id))
        assert isinstance(found, CONTRIBUTION_CLASSES)
        return found
