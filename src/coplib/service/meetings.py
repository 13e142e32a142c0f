"""Meetings: scheduling one, recording who attended."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from coplib.domain import events as ev
from coplib.domain import validation as v
from coplib.domain.clock import ensure_utc
from coplib.domain.community import (
    CollaborationMode,
    Community,
)
from coplib.domain.contributions import (
    Meeting,
)
from coplib.domain.errors import (
    ConflictError,
    InvalidInputError,
)
from coplib.domain.history import Ref
from coplib.domain.permissions import Action
from coplib.runtime import UnitOfWork
from coplib.service._base import UseCases, check_id, check_strings, need


class MeetingCommands(UseCases):
    """Commands on a community's meetings."""

    def schedule_meeting(
        self,
        actor: str,
        community_id: str,
        *,
        title: str,
        starts_at: datetime,
        ends_at: datetime,
        description: str = "",
        location: str = "",
        tags: Iterable[str] = (),
    ) -> Meeting:
        """Schedule an event of the community (a meeting, a call to all)."""
        ctx = "schedule_meeting"
        actor = check_id("$.actor", actor, ctx)
        try:
            start = ensure_utc(starts_at, "$.starts_at")
            end = ensure_utc(ends_at, "$.ends_at")
        except InvalidInputError as exc:
            raise exc.under("$", context=ctx) from None
        fields = v.check_fields(
            Meeting,
            ctx,
            title=title,
            description=description,
            starts_at=start,
            ends_at=end,
            location=location,
            tags=check_strings("$.tags", tags, ctx),
        )
        mid = self._new_id()

        def unit(uow: UnitOfWork) -> Meeting:
            community = self._open_community(uow, community_id, ctx, actor)
            self._authorise(uow, Action.SCHEDULE_MEETING, actor, community)
            self._require_mode(community, CollaborationMode.MEETINGS)
            uow.record(ev.MeetingScheduled(**self._event_base(actor, community.id), meeting_id=mid, **fields))
            return need(uow, "meeting", mid, Meeting)

        return self._run(unit)

    def record_attendance(self, actor: str, meeting_id: str, attendees: Iterable[str]) -> Meeting:
        """Record who attended a meeting (members only; replaces any earlier list)."""
        ctx = "record_attendance"
        actor = check_id("$.actor", actor, ctx)
        mid = check_id("$.meeting_id", meeting_id, ctx)
        people = frozenset(
            check_id(f"$.attendees[{i}]", p, ctx) for i, p in enumerate(check_strings("$.attendees", attendees, ctx))
        )
        v.check_fields(Meeting, ctx, attendees=people)

        def unit(uow: UnitOfWork) -> Meeting:
            meeting = need(uow, "meeting", mid, Meeting)
            community = need(uow, "community", meeting.community_id, Community)
            self._authorise(
                uow, Action.RECORD_ATTENDANCE, actor, community, owner_id=meeting.author_id, subject=Ref("meeting", mid)
            )
            if meeting.withdrawn:
                raise ConflictError(f"meeting {mid!r} was withdrawn", kind="meeting", id=mid)
            outsiders = sorted(p for p in people if not (m := self._membership(uow, community, p)) or not m.active)
            if outsiders:
                raise InvalidInputError.field(
                    "$.attendees", f"not active members of {community.id!r}: {', '.join(outsiders[:10])}", context=ctx
                )
            if people == meeting.attendees:
                return meeting
            uow.record(ev.AttendanceRecorded(**self._event_base(actor, community.id), meeting_id=mid, attendees=people))
            return need(uow, "meeting", mid, Meeting)

        return self._run(unit)
